//! The experiment file's compression tables: `[prune]`, `[distill]`, `[quantize]` and
//! `[optim] swa = { .. }`. Each is read with serde (`deny_unknown_fields`: a misspelt key is an
//! error, not a silently ignored setting) and checked as a whole by `validate`, whose errors
//! name the TOML key.
//!
//! SWA's learning rate follows PyTorch's `SWALR` (`torch/optim/swa_utils.py`); see
//! [`SwaSettings::lr_at`] for its closed form.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{CompressError, invalid};
use crate::schedule::PruningSchedule;

/// What pruning removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneKind {
    /// Single weights, by magnitude (masks; the tensors keep their shape).
    #[default]
    Unstructured,
    /// Whole output channels (filters), by L1 norm (Li et al. 2017); the layers shrink.
    Channels,
}

/// Over which weights the magnitude threshold is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneScope {
    /// Each tensor loses the same fraction (`torch.nn.utils.prune.l1_unstructured`).
    #[default]
    Layer,
    /// One threshold over all pruned tensors together
    /// (`torch.nn.utils.prune.global_unstructured`): layers with many small weights lose more.
    Global,
}

/// `[prune]`. Defaults are TF-MOT's `PolynomialDecay` and Zhu & Gupta's (2017).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneSettings {
    /// Default `"unstructured"`.
    pub kind: PruneKind,
    /// The target fraction of weights zeroed (unstructured) or of each layer's filters removed
    /// (channels), in [0, 1). Default 0.5.
    pub sparsity: f64,
    /// Default `"layer"`. Channels are always ranked per layer.
    pub scope: PruneScope,
    /// Optimizer steps before the first pruning. Default 0 (TF-MOT's `begin_step`).
    pub begin_step: usize,
    /// Absent: prune once, at `begin_step`. Present: ramp the sparsity up until this step
    /// (Zhu & Gupta's `t0 + n Δt`), which must be after `begin_step` by a multiple of
    /// `frequency` so that the last pruning reaches the target. Unstructured only.
    pub end_step: Option<usize>,
    /// Steps between mask updates of the ramp (Zhu & Gupta's `Δt`). Default 100, TF-MOT's.
    pub frequency: usize,
    /// Sparsity at `begin_step` (`s_i`), in [0, sparsity]. Default 0.
    pub initial_sparsity: f64,
    /// Exponent of the ramp. Default 3 (Zhu & Gupta's eq. 1, TF-MOT's default).
    pub power: f64,
    /// Channels only: epochs of fine-tuning after the filters are removed. Default 10, a
    /// quarter of Li et al.'s retraining of pruned CIFAR-10 networks (40 epochs at a fixed
    /// rate of 0.001; 20 on ImageNet), sized for temper's short runs; raise it toward 40 for
    /// their full recipe. 0 skips fine-tuning.
    pub finetune_epochs: usize,
}

impl Default for PruneSettings {
    fn default() -> Self {
        Self {
            kind: PruneKind::Unstructured,
            sparsity: 0.5,
            scope: PruneScope::Layer,
            begin_step: 0,
            end_step: None,
            frequency: 100,
            initial_sparsity: 0.0,
            power: 3.0,
            finetune_epochs: 10,
        }
    }
}

impl PruneSettings {
    /// Checks every value; an error names the key as `prune.<field>`.
    pub fn validate(&self) -> Result<(), CompressError> {
        if !(self.sparsity.is_finite() && (0.0..1.0).contains(&self.sparsity)) {
            return Err(invalid(
                "prune.sparsity",
                format!("must be in [0, 1), got {}", self.sparsity),
            ));
        }
        if self.frequency == 0 {
            return Err(invalid("prune.frequency", "must be at least 1, got 0"));
        }
        if !(self.initial_sparsity.is_finite()
            && (0.0..=self.sparsity).contains(&self.initial_sparsity))
        {
            return Err(invalid(
                "prune.initial_sparsity",
                format!(
                    "must be in [0, sparsity = {}], got {}",
                    self.sparsity, self.initial_sparsity
                ),
            ));
        }
        if !(self.power.is_finite() && self.power > 0.0) {
            return Err(invalid(
                "prune.power",
                format!("must be positive, got {}", self.power),
            ));
        }
        if self.kind == PruneKind::Channels && self.scope == PruneScope::Global {
            return Err(invalid(
                "prune.scope",
                "kind = \"channels\" ranks filters within each layer (Li et al. 2017); \
                 use scope = \"layer\"",
            ));
        }
        if let Some(end) = self.end_step {
            self.validate_end_step(end)?;
        }
        Ok(())
    }

    fn validate_end_step(&self, end: usize) -> Result<(), CompressError> {
        if self.kind == PruneKind::Channels {
            return Err(invalid(
                "prune.end_step",
                "kind = \"channels\" prunes once, at begin_step; remove end_step",
            ));
        }
        if end <= self.begin_step {
            return Err(invalid(
                "prune.end_step",
                format!("must be after begin_step = {}, got {end}", self.begin_step),
            ));
        }
        if !(end - self.begin_step).is_multiple_of(self.frequency) {
            return Err(invalid(
                "prune.end_step",
                format!(
                    "end_step - begin_step = {} must be a multiple of frequency = {}, or the \
                     last pruning (at step {}) stops short of the target sparsity",
                    end - self.begin_step,
                    self.frequency,
                    end - (end - self.begin_step) % self.frequency
                ),
            ));
        }
        Ok(())
    }

    /// The schedule these settings describe: one shot at `begin_step` without `end_step`,
    /// else Zhu & Gupta's ramp.
    pub fn schedule(&self) -> PruningSchedule {
        match self.end_step {
            None => PruningSchedule::one_shot(self.sparsity, self.begin_step),
            Some(end) => PruningSchedule::polynomial(
                self.initial_sparsity,
                self.sparsity,
                self.begin_step,
                end,
                self.frequency,
                self.power,
            ),
        }
    }
}

/// The shape of SWALR's anneal from the run's learning rate to SWA's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SwaAnneal {
    /// `alpha(t) = (1 - cos(pi t)) / 2`, SWALR's default.
    #[default]
    Cos,
    /// `alpha(t) = t`.
    Linear,
}

/// `swa = { .. }` in the `[optim]` section: stochastic weight averaging (Izmailov et al.
/// 2018, arXiv:1803.05407) with PyTorch's `SWALR` learning rate. `start_epoch` and `lr` have
/// no default, as `SWALR`'s `swa_lr` has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwaSettings {
    /// The 1-based epoch from which weights are averaged (at its end, and every epoch's end
    /// after), and from which the learning rate anneals to `lr`.
    pub start_epoch: usize,
    /// SWALR's `swa_lr`: the constant rate once annealed. Positive and finite.
    pub lr: f64,
    /// Epochs of the anneal from the run's rate to `lr`. Default 10, SWALR's.
    #[serde(default = "default_anneal_epochs")]
    pub anneal_epochs: usize,
    /// Default `"cos"`, SWALR's.
    #[serde(default)]
    pub anneal: SwaAnneal,
}

fn default_anneal_epochs() -> usize {
    10
}

impl SwaSettings {
    /// Checks every value against a run of `epochs` epochs; an error names the key as
    /// `optim.swa.<field>`.
    pub fn validate(&self, epochs: usize) -> Result<(), CompressError> {
        if self.start_epoch == 0 || self.start_epoch > epochs {
            return Err(invalid(
                "optim.swa.start_epoch",
                format!(
                    "must be in 1..={epochs} (the run's epochs), got {}",
                    self.start_epoch
                ),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(invalid(
                "optim.swa.lr",
                format!("must be positive, got {}", self.lr),
            ));
        }
        Ok(())
    }

    /// The learning rate of the `k`-th epoch since `start_epoch` (`k` = 0 for `start_epoch`
    /// itself), annealing from `lr0`, the rate the run had when SWA started, to `lr`.
    ///
    /// PyTorch's `SWALR.get_lr` keeps `lr_n = swa_lr * a_n + lr0 * (1 - a_n)` after its `n`-th
    /// call, with `a_n = anneal(clamp(n / anneal_epochs, 0, 1))`: it recovers `lr0` from the
    /// previous rate (`_get_initial_lr(lr, swa_lr, a_{n-1}) = (lr - a_{n-1} swa_lr) /
    /// (1 - a_{n-1})`) and interpolates again. The constructor makes call `n = 0` (`a_0 = 0`:
    /// the rate stays `lr0`), and PyTorch's documented loop calls `swa_scheduler.step()` at the
    /// end of each SWA epoch, so epoch `k` trains at `lr_k`. With `anneal_epochs = 0`, SWALR
    /// takes `n = max(1, n)`, so every epoch, the first included, trains at `swa_lr`.
    pub fn lr_at(&self, k: usize, lr0: f64) -> f64 {
        let t = if self.anneal_epochs == 0 {
            1.0
        } else {
            (k as f64 / self.anneal_epochs as f64).min(1.0)
        };
        let alpha = match self.anneal {
            SwaAnneal::Cos => (1.0 - (std::f64::consts::PI * t).cos()) / 2.0,
            SwaAnneal::Linear => t,
        };
        self.lr * alpha + lr0 * (1.0 - alpha)
    }
}

/// `[distill]`: knowledge distillation from a finished run (Hinton et al. 2015,
/// arXiv:1503.02531). Defaults are the KD baseline of Tian et al.'s RepDistiller (CRD, 2020,
/// arXiv:1910.10699; its README's `--distill kd -r 0.1 -a 0.9` and `--kd_T 4`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillSettings {
    /// The teacher: a finished run directory. Required.
    pub teacher: PathBuf,
    /// Softmax temperature of both models' soft targets, positive. Default 4 (RepDistiller's
    /// `kd_T`; Hinton et al. try 1 to 20).
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// The weight of the soft (teacher) term, in [0, 1]; the hard-label term gets
    /// `1 - alpha`. Default 0.9 (RepDistiller's KD weight 0.9 against cross-entropy 0.1).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
}

fn default_temperature() -> f64 {
    4.0
}

fn default_alpha() -> f64 {
    0.9
}

impl DistillSettings {
    /// Checks every value; an error names the key as `distill.<field>`.
    pub fn validate(&self) -> Result<(), CompressError> {
        if self.teacher.as_os_str().is_empty() {
            return Err(invalid("distill.teacher", "must name a run directory"));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(invalid(
                "distill.temperature",
                format!("must be positive, got {}", self.temperature),
            ));
        }
        if !(self.alpha.is_finite() && (0.0..=1.0).contains(&self.alpha)) {
            return Err(invalid(
                "distill.alpha",
                format!("must be in [0, 1], got {}", self.alpha),
            ));
        }
        Ok(())
    }
}

/// How many scales an int8 tensor has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuantScheme {
    /// One scale for the whole tensor.
    PerTensor,
    /// One scale per output channel (the leading axis): the default, since channels' ranges
    /// differ by orders of magnitude in convolution weights (Krishnamoorthi 2018,
    /// arXiv:1806.08342, §3.1).
    #[default]
    PerChannel,
}

/// `[quantize]`, and the flags of `temper quantize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantizeSettings {
    /// Default `"per-channel"`.
    pub scheme: QuantScheme,
    /// Images run through the model to calibrate and to measure the accuracy drop, in
    /// 1..=10,000. Default 256.
    pub calibration_images: usize,
}

impl Default for QuantizeSettings {
    fn default() -> Self {
        Self {
            scheme: QuantScheme::PerChannel,
            calibration_images: 256,
        }
    }
}

impl QuantizeSettings {
    /// Checks every value; an error names the key as `quantize.<field>`.
    pub fn validate(&self) -> Result<(), CompressError> {
        if !(1..=10_000).contains(&self.calibration_images) {
            return Err(invalid(
                "quantize.calibration_images",
                format!("must be in 1..=10000, got {}", self.calibration_images),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
