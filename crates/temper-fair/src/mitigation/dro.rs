//! Online group DRO (Sagawa, Koh, Hashimoto & Liang 2020, "Distributionally Robust Neural
//! Networks for Group Shifts", ICLR, Algorithm 1).
//!
//! Group DRO minimizes the worst group's expected loss, `max_g E[loss | g]`, written as
//! `max_{q ∈ simplex} Σ_g q_g · loss_g` and solved as a game: at each step the adversary's
//! `q` takes an exponentiated-gradient step, then the model a gradient step on the
//! `q`-weighted loss:
//!
//! ```text
//! q_g ← q_g · exp(η · loss_g)   for each group g present in the batch
//! q   ← q / Σ_g q_g
//! robust loss = Σ_g q_g · loss_g   (the updated q, over the present groups)
//! ```
//!
//! `loss_g` is the batch's mean loss over group `g`'s samples. After steps `1..T` in which
//! a group is always present, `q_g ∝ exp(η · Σ_t loss_{g,t})`.
//!
//! This follows the authors' code (`kohpangwei/group_DRO`, `loss.py`,
//! `LossComputer.compute_robust_loss`), which updates every group of the batch at once where
//! Algorithm 1 samples one group per step. There `compute_group_avg` gives an absent group
//! the loss 0, so its `q_g` is multiplied by `exp(0) = 1`: it keeps its value before the
//! normalization, and only the renormalization moves it. Here an absent group is `None`,
//! with the same effect. Left out: the code's generalization adjustment `adj`, which adds
//! `adj / sqrt(n_g)` (training-set group counts) to every group's loss before the update
//! when every `adj` is positive (in place, so the returned robust loss includes it too), and
//! its `normalize_loss` (off by default). The README's commands for all three datasets run
//! with `--generalization_adjustment 0`.
//!
//! The step size η defaults to [`DEFAULT_STEP_SIZE`] = 0.01, the code's
//! `--robust_step_size` default, which the README's commands for the paper's CelebA,
//! Waterbirds and MultiNLI runs do not change. It sets how fast `q` follows a gap: with a loss gap of 1 nat
//! between two groups, their weights' ratio grows by a factor `e^0.01` per step, about `e`
//! every 100 steps.
//!
//! The update runs in log space (`exp(ln q_g + η · loss_g − max)`), so that `η · loss` past
//! 709, where `exp` overflows f64, leaves `q` finite; the reference multiplies in float32,
//! which overflows past 88. A group whose weight falls below f64's smallest positive value
//! (a gap of about 745 in `η · Σ loss`) reaches 0 and stays there, as in the reference.

use crate::FairError;

use super::{check_indices, check_same_length};

/// The default step size η of the `q` update: group DRO's `--robust_step_size` default
/// (`kohpangwei/group_DRO`, `run_expt.py`), which the README's commands for all three of the
/// paper's datasets leave as is.
pub const DEFAULT_STEP_SIZE: f64 = 0.01;

/// How far from 1 a restored `q` may sum: a sum of a few dozen f64 values that summed to 1
/// when saved is off by far less.
const STATE_SUM_TOLERANCE: f64 = 1e-9;

/// The adversary of online group DRO: a distribution `q` over groups, moved by each batch's
/// per-group losses (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDro {
    /// The weight of each group, non-negative, summing to 1.
    q: Vec<f64>,
    /// η, positive and finite.
    step_size: f64,
}

impl GroupDro {
    /// Uniform weights `1 / num_groups` over `num_groups` groups (at least one) and step size
    /// `step_size` (positive and finite; [`DEFAULT_STEP_SIZE`] is the reference's).
    pub fn new(num_groups: usize, step_size: f64) -> Result<Self, FairError> {
        check_step_size(step_size)?;
        if num_groups == 0 {
            return Err(FairError::BadInput(
                "num_groups is 0: group DRO needs at least one group".into(),
            ));
        }
        Ok(Self {
            q: vec![1.0 / num_groups as f64; num_groups],
            step_size,
        })
    }

    /// Moves `q` by one batch: `group_losses[g]` is group `g`'s mean loss in the batch, `None`
    /// when the batch has none of its samples. Returns the new weights, which the step's
    /// [`robust_loss`](Self::robust_loss) uses. A length other than the number of groups, a
    /// loss that is not finite or one that overflows once multiplied by η is refused, and `q`
    /// is then left as it was.
    pub fn update(&mut self, group_losses: &[Option<f64>]) -> Result<&[f64], FairError> {
        self.check_losses(group_losses)?;
        let mut steps = Vec::with_capacity(self.q.len());
        for (g, loss) in group_losses.iter().enumerate() {
            let step = loss.map_or(0.0, |l| self.step_size * l);
            if !step.is_finite() {
                return Err(FairError::BadInput(format!(
                    "group_losses[{g}] times step_size {} overflows",
                    self.step_size
                )));
            }
            steps.push(step);
        }
        // The largest step comes off first, so that a step of 800 next to one of 799 keeps
        // its gap of 1 exact instead of at 800's precision. ln 0 = -inf keeps an underflowed
        // group at 0; the largest log-weight is finite since q sums to 1, and subtracting it
        // leaves every exponent at or below 0.
        let top = steps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let logits: Vec<f64> = (self.q.iter().zip(&steps))
            .map(|(q, s)| q.ln() + (s - top))
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let unnormalized: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = unnormalized.iter().sum();
        for (q, u) in self.q.iter_mut().zip(&unnormalized) {
            *q = u / total;
        }
        Ok(&self.q)
    }

    /// The current weights `q`, one per group, summing to 1.
    pub fn weights(&self) -> &[f64] {
        &self.q
    }

    /// The step size η.
    pub fn step_size(&self) -> f64 {
        self.step_size
    }

    /// `Σ_g q_g · loss_g` over the groups present (`Some`), with the current `q`: after
    /// [`update`](Self::update) with the same losses, the objective of the model's step.
    /// It is not renormalized over the present groups, as in the reference, so a batch
    /// missing a heavy group has a smaller loss.
    pub fn robust_loss(&self, group_losses: &[Option<f64>]) -> Result<f64, FairError> {
        self.check_losses(group_losses)?;
        Ok(self
            .q
            .iter()
            .zip(group_losses)
            .filter_map(|(q, loss)| loss.map(|l| q * l))
            .sum())
    }

    /// Per-sample weights for a batch whose samples belong to `groups`: sample `i` weighs
    /// `q_g / m_g` (`m_g` the batch's samples of its group `g`), so that `Σ_i w_i · loss_i`
    /// is the [`robust_loss`](Self::robust_loss) of the batch's group means — the form a
    /// training step multiplies into its per-sample loss.
    pub fn batch_sample_weights(&self, groups: &[usize]) -> Result<Vec<f64>, FairError> {
        check_indices("groups", groups, "num_groups", self.q.len())?;
        let mut counts = vec![0usize; self.q.len()];
        for &g in groups {
            counts[g] += 1;
        }
        Ok(groups
            .iter()
            .map(|&g| self.q[g] / counts[g] as f64)
            .collect())
    }

    /// The state a checkpoint keeps: `q`. With [`from_state`](Self::from_state) it restores
    /// the weights bit for bit, so a resumed run goes on as an uninterrupted one.
    pub fn to_state(&self) -> Vec<f64> {
        self.q.clone()
    }

    /// Restores a checkpoint's `q` for `num_groups` groups with step size `step_size`. `q`
    /// must have one value per group, each finite and non-negative, summing to 1 within
    /// 1e-9; it is kept as is, not renormalized.
    pub fn from_state(q: Vec<f64>, num_groups: usize, step_size: f64) -> Result<Self, FairError> {
        let fresh = Self::new(num_groups, step_size)?;
        if q.len() != num_groups {
            return Err(FairError::BadInput(format!(
                "saved group DRO weights are {} but num_groups is {num_groups}",
                q.len()
            )));
        }
        if let Some(g) = q.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(FairError::BadInput(format!(
                "saved group DRO weight {g} is {}: each must be finite and non-negative",
                q[g]
            )));
        }
        let sum: f64 = q.iter().sum();
        if (sum - 1.0).abs() > STATE_SUM_TOLERANCE {
            return Err(FairError::BadInput(format!(
                "saved group DRO weights sum to {sum}, not 1"
            )));
        }
        Ok(Self { q, ..fresh })
    }

    /// Checks one batch's per-group losses: one per group, each finite where present.
    fn check_losses(&self, group_losses: &[Option<f64>]) -> Result<(), FairError> {
        if group_losses.len() != self.q.len() {
            return Err(FairError::BadInput(format!(
                "group_losses has {} entries but num_groups is {}: one per group",
                group_losses.len(),
                self.q.len()
            )));
        }
        match group_losses
            .iter()
            .position(|l| l.is_some_and(|l| !l.is_finite()))
        {
            Some(g) => Err(FairError::BadInput(format!(
                "group_losses[{g}] is {}: a loss must be finite",
                group_losses[g].unwrap_or_default()
            ))),
            None => Ok(()),
        }
    }
}

/// Each group's mean of `losses` over the samples of `groups` (one group per sample), `None`
/// for a group with no sample: the input of [`GroupDro::update`], as the reference's
/// `compute_group_avg` forms it (there an absent group's mean is 0 rather than `None`).
pub fn group_mean_losses(
    losses: &[f64],
    groups: &[usize],
    num_groups: usize,
) -> Result<Vec<Option<f64>>, FairError> {
    check_same_length("losses", losses.len(), "groups", groups.len())?;
    check_indices("groups", groups, "num_groups", num_groups)?;
    let mut sums = vec![(0.0f64, 0usize); num_groups];
    for (&loss, &g) in losses.iter().zip(groups) {
        sums[g].0 += loss;
        sums[g].1 += 1;
    }
    Ok(sums
        .into_iter()
        .map(|(sum, count)| (count > 0).then(|| sum / count as f64))
        .collect())
}

/// Checks η: positive and finite.
fn check_step_size(step_size: f64) -> Result<(), FairError> {
    if step_size.is_finite() && step_size > 0.0 {
        Ok(())
    } else {
        Err(FairError::BadInput(format!(
            "step_size is {step_size}: the group DRO step size must be positive and finite \
             (the reference's is {DEFAULT_STEP_SIZE})"
        )))
    }
}

#[cfg(test)]
mod tests;
