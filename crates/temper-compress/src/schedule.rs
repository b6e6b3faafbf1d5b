//! When the pruning masks are recomputed and at what sparsity: Zhu & Gupta, "To prune, or not
//! to prune" (2017, arXiv:1710.01878), eq. 1, as TF-MOT implements it in
//! `tensorflow_model_optimization/python/core/sparsity/keras/pruning_schedule.py`
//! (`PolynomialDecay`, `ConstantSparsity`).
//!
//! ```text
//! s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n Δt))^3      for t in {t0, t0 + Δt, .., t0 + n Δt}
//! ```
//!
//! The sparsity rises fast at first, while redundant weights are plentiful, and slowly near
//! the target `s_f`. TF-MOT evaluates the curve at any step with `p = clamp((t - t0) /
//! (end - t0), 0, 1)` and `s = s_f + (s_i - s_f)(1 - p)^power` (`power` 3 is the paper's), and
//! recomputes the masks only where `_should_prune_in_step` holds: `begin <= t <= end` and
//! `(t - begin) % frequency == 0`. Between those steps the masks stay as they are, so the
//! sparsity of the model is the curve's value at the last pruning step.
//!
//! `step` is TF-MOT's: the optimizer's iteration count, the number of optimizer steps done so
//! far (0 before the first). The masks for step `t` are computed from the weights after `t`
//! steps and applied before step `t + 1` is taken. Before `begin` the sparsity is 0 (no mask
//! yet); TF-MOT's curve would give `s_i` there, but no mask exists to hold it.
//!
//! A one-shot schedule (`end_step` absent in `[prune]`) prunes once, at `begin`, to the target,
//! and keeps those masks (TF-MOT's `ConstantSparsity` would recompute them every `frequency`
//! steps; with the masks applied after each step the surviving weights never fall below the
//! pruned ones' zero, so recomputing would only move the tie-breaks).

/// A pruning schedule: one shot, or Zhu & Gupta's polynomial ramp.
#[derive(Debug, Clone, PartialEq)]
pub struct PruningSchedule {
    initial: f64,
    target: f64,
    begin: usize,
    /// `None` for one shot.
    end: Option<usize>,
    frequency: usize,
    power: f64,
}

impl PruningSchedule {
    /// Prune once, after `step` optimizer steps, to `sparsity`.
    pub fn one_shot(sparsity: f64, step: usize) -> Self {
        Self {
            initial: sparsity,
            target: sparsity,
            begin: step,
            end: None,
            frequency: 1,
            power: 1.0,
        }
    }

    /// Zhu & Gupta's ramp from `initial` at `begin_step` to `target` at `end_step`, masks
    /// recomputed every `frequency` steps (0 is taken as 1). An `end_step <= begin_step`
    /// reaches the target at `begin_step`; [`PruneSettings::validate`] refuses it.
    ///
    /// [`PruneSettings::validate`]: crate::settings::PruneSettings::validate
    pub fn polynomial(
        initial: f64,
        target: f64,
        begin_step: usize,
        end_step: usize,
        frequency: usize,
        power: f64,
    ) -> Self {
        Self {
            initial,
            target,
            begin: begin_step,
            end: Some(end_step),
            frequency: frequency.max(1),
            power,
        }
    }

    /// The sparsity the masks should have after `step` optimizer steps: 0 before `begin`, the
    /// curve in between, the target from `end` on (from `begin` on for one shot). Masks take
    /// it only where [`prunes_at`](Self::prunes_at) holds.
    pub fn sparsity_at(&self, step: usize) -> f64 {
        if step < self.begin {
            return 0.0;
        }
        let Some(end) = self.end else {
            return self.target;
        };
        if end <= self.begin {
            return self.target;
        }
        let p = ((step - self.begin) as f64 / (end - self.begin) as f64).min(1.0);
        self.target + (self.initial - self.target) * (1.0 - p).powf(self.power)
    }

    /// Whether the masks are recomputed after `step` optimizer steps: TF-MOT's
    /// `_should_prune_in_step` (`begin <= step <= end` and `(step - begin) % frequency == 0`);
    /// one shot: `step == begin`.
    pub fn prunes_at(&self, step: usize) -> bool {
        match self.end {
            None => step == self.begin,
            Some(end) => {
                step >= self.begin
                    && step <= end
                    && (step - self.begin).is_multiple_of(self.frequency)
            }
        }
    }

    /// The step of the first pruning.
    pub fn begin_step(&self) -> usize {
        self.begin
    }

    /// The last step at which masks are recomputed: `begin` for one shot, else the last
    /// multiple of `frequency` after `begin` that is not past `end`.
    pub fn last_prune_step(&self) -> usize {
        match self.end {
            None => self.begin,
            Some(end) if end <= self.begin => self.begin,
            Some(end) => end - (end - self.begin) % self.frequency,
        }
    }

    /// The final sparsity.
    pub fn target(&self) -> f64 {
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zhu & Gupta's eq. 1 written out with power 3, at a step `t` on the grid.
    fn zhu_gupta(s_i: f64, s_f: f64, t0: usize, n: usize, dt: usize, t: usize) -> f64 {
        s_f + (s_i - s_f) * (1.0 - (t - t0) as f64 / (n * dt) as f64).powi(3)
    }

    #[test]
    fn sparsity_follows_zhu_and_gupta_equation_one() {
        // t0 = 1000, Δt = 100, n = 10: end = 2000.
        let s = PruningSchedule::polynomial(0.1, 0.8, 1000, 2000, 100, 3.0);
        for t in [1000, 1100, 1500, 1900, 2000] {
            let want = zhu_gupta(0.1, 0.8, 1000, 10, 100, t);
            assert!((s.sparsity_at(t) - want).abs() < 1e-12, "t = {t}");
        }
        assert!((s.sparsity_at(1000) - 0.1).abs() < 1e-15);
        assert!((s.sparsity_at(2000) - 0.8).abs() < 1e-15);
        assert_eq!(s.sparsity_at(5000), 0.8, "after the end");
        assert_eq!(s.sparsity_at(999), 0.0, "before the beginning");
    }

    #[test]
    fn sparsity_matches_tf_mot_polynomial_decay_values() {
        // TF-MOT PolynomialDecay.__call__: p = min(1, max(0, (step - begin) / (end - begin)));
        // sparsity = (initial - final) * (1 - p)^power + final. By hand for initial 0,
        // final 0.5, begin 0, end 1000, power 3:
        // step 250: p = 0.25, 0.5 - 0.5 * 0.75^3 = 0.5 - 0.2109375 = 0.2890625
        // step 500: 0.5 - 0.5 * 0.125 = 0.4375
        // step 900: 0.5 - 0.5 * 0.001 = 0.4995
        let s = PruningSchedule::polynomial(0.0, 0.5, 0, 1000, 100, 3.0);
        for (step, want) in [(0, 0.0), (250, 0.2890625), (500, 0.4375), (900, 0.4995)] {
            assert!((s.sparsity_at(step) - want).abs() < 1e-12, "step {step}");
        }
        // power 1 is a straight line: step 300 of 0..1000 toward 0.9 from 0.
        let linear = PruningSchedule::polynomial(0.0, 0.9, 0, 1000, 100, 1.0);
        assert!((linear.sparsity_at(300) - 0.27).abs() < 1e-12);
    }

    #[test]
    fn prunes_at_follows_tf_mot_should_prune_in_step() {
        let s = PruningSchedule::polynomial(0.0, 0.5, 200, 1000, 100, 3.0);
        let pruned: Vec<usize> = (0..=1500).filter(|&t| s.prunes_at(t)).collect();
        assert_eq!(pruned, vec![200, 300, 400, 500, 600, 700, 800, 900, 1000]);
        assert_eq!(s.last_prune_step(), 1000);
        // An end off the frequency grid: TF-MOT's rule stops at the last grid step before it.
        let off = PruningSchedule::polynomial(0.0, 0.5, 0, 250, 100, 3.0);
        assert_eq!((0..400).filter(|&t| off.prunes_at(t)).count(), 3);
        assert_eq!(off.last_prune_step(), 200);
    }

    #[test]
    fn one_shot_prunes_once_at_its_step_to_the_target() {
        let s = PruningSchedule::one_shot(0.7, 40);
        assert_eq!(
            (0..1000).filter(|&t| s.prunes_at(t)).collect::<Vec<_>>(),
            [40]
        );
        assert_eq!(s.sparsity_at(39), 0.0);
        assert_eq!(s.sparsity_at(40), 0.7);
        assert_eq!(s.sparsity_at(900), 0.7);
        assert_eq!(s.last_prune_step(), 40);
    }
}
