//! `[fairness]`: how a run mitigates bias between the groups `[data] groups` declares.
//!
//! - `reweigh` (Kamiran & Calders 2012): each sample of group `g` and class `y` weighs
//!   `n_g · n_y / (n · n_gy)` in the loss, so group and label are independent under the
//!   weights (AIF360's `Reweighing`);
//! - `balanced-sampler`: each epoch draws as many samples as the split holds, a group
//!   uniformly then a sample in it, so every group is seen equally often (PyTorch's
//!   `WeightedRandomSampler` with weights `1 / n_g`, as group DRO's code pairs with it);
//! - `group-dro` (Sagawa et al. 2020, Algorithm 1): online weights `q` over groups, raised by
//!   `exp(step_size · loss_g)` after each batch, and the loss `Σ_g q_g · loss_g`; `step_size`
//!   0.01 is the authors' default (`--robust_step_size`).
//!
//! Groups are a sensitive attribute: they weight and sample, never enter the model. A mixed
//! (MixUp/CutMix) sample counts in the group of its own image.

use serde::{Deserialize, Serialize};
use temper_fair::mitigation::DEFAULT_STEP_SIZE;

use crate::error::TrainError;

/// `[fairness]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FairnessSection {
    /// `none` (default), `reweigh`, `balanced-sampler` or `group-dro`.
    pub mitigation: Mitigation,
    /// group-dro: the step size η of the group weights' exponentiated-gradient update
    /// (default 0.01).
    pub step_size: f64,
}

/// `[fairness] mitigation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mitigation {
    /// Train as usual; groups are only reported.
    #[default]
    None,
    /// Per-sample loss weights from Kamiran & Calders' reweighing.
    Reweigh,
    /// Group-balanced epochs.
    BalancedSampler,
    /// Online group DRO.
    GroupDro,
}

impl Default for FairnessSection {
    fn default() -> Self {
        Self {
            mitigation: Mitigation::None,
            step_size: DEFAULT_STEP_SIZE,
        }
    }
}

impl FairnessSection {
    /// Checks the section against the rest of the experiment: a mitigation needs groups, one
    /// device and no fine-tuning replay (replayed images have no group).
    pub fn validate(
        &self,
        has_groups: bool,
        parallel: bool,
        replay: bool,
    ) -> Result<(), TrainError> {
        if !(self.step_size.is_finite() && self.step_size > 0.0) {
            return Err(TrainError::Config(format!(
                "fairness.step_size: must be a positive number, got {}",
                self.step_size
            )));
        }
        if self.mitigation == Mitigation::None {
            return Ok(());
        }
        let refuse = |why: &str| Err(TrainError::Config(format!("fairness.mitigation: {why}")));
        if !has_groups {
            return refuse("needs groups: set data.groups = \"FILE.csv\"");
        }
        if parallel {
            return refuse("runs on one device; remove train.devices");
        }
        if replay {
            return refuse("replayed images have no group; set finetune.replay = 0");
        }
        Ok(())
    }
}
