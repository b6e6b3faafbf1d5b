//! Bias mitigation: three ways to keep a model from serving the largest group at the expense
//! of the others, each a building block the trainer (or a user's own loop) applies.
//!
//! - **Reweighing** ([`reweighing_weights`], [`cell_weights`]; Kamiran & Calders 2012, AIF360's
//!   `Reweighing`): before training, every sample of group `g` and class `y` weighs
//!   `(n_g · n_y / n) / n_gy`, the count that cell would have if group and label were
//!   independent over its observed count. Under these weights group and label are
//!   independent and each group and each class keeps its size.
//! - **Group-balanced sampling** ([`BalancedSampler`]; PyTorch's `WeightedRandomSampler` with
//!   per-sample weights `1 / n_g` and `replacement=True`, as group DRO's `--reweight_groups`
//!   builds it): each epoch draws `n` indices, every non-empty group with probability `1 / G`.
//! - **Online group DRO** ([`GroupDro`]; Sagawa et al. 2020, Algorithm 1): during training, a
//!   distribution `q` over groups rises on the groups whose loss is high
//!   (`q_g ← q_g · exp(η · loss_g)`, renormalized) and the step minimizes `Σ_g q_g · loss_g`,
//!   which tracks the worst group's loss rather than the average.
//!
//! The three combine: the reference group DRO runs (`kohpangwei/group_DRO`, README's commands)
//! pass `--reweight_groups --robust`, the balanced sampler feeding group DRO, so that every
//! group appears in most batches and its `q_g` moves at every step.
//!
//! Inputs are class indices (`labels`) and group indices (`groups`), one per sample, with the
//! counts `num_classes` and `num_groups`; a length that differs or an index out of range is
//! [`FairError::BadInput`] naming the argument and the sample, never a panic.

mod dro;
mod reweighing;
mod sampler;

pub use dro::{DEFAULT_STEP_SIZE, GroupDro, group_mean_losses};
pub use reweighing::{cell_weights, reweighing_weights};
pub use sampler::BalancedSampler;

use crate::FairError;

/// Checks that `values` (the argument `name`) holds only indices below `bound`, the value of
/// the argument `bound_name`.
fn check_indices(
    name: &str,
    values: &[usize],
    bound_name: &str,
    bound: usize,
) -> Result<(), FairError> {
    match values.iter().position(|&v| v >= bound) {
        Some(i) => Err(FairError::BadInput(format!(
            "{name}[{i}] = {} is out of range: {bound_name} is {bound}",
            values[i]
        ))),
        None => Ok(()),
    }
}

/// Checks that two per-sample arguments have one entry per sample each.
fn check_same_length(
    name: &str,
    len: usize,
    other_name: &str,
    other_len: usize,
) -> Result<(), FairError> {
    if len == other_len {
        Ok(())
    } else {
        Err(FairError::BadInput(format!(
            "{name} has {len} entries but {other_name} has {other_len}: one each per sample"
        )))
    }
}
