//! `[fairness] mitigation` in the loop: the parts fixed for a run ([`Mitigator`]: reweighing's
//! per-sample weights, the group-balanced sampler, each image's group) and group DRO's weights,
//! which every step changes and the resume set keeps.

use temper_fair::mitigation::{BalancedSampler, GroupDro, group_mean_losses, reweighing_weights};

use crate::config::fairness_section::{FairnessSection, Mitigation};
use crate::error::TrainError;
use temper_data::ImageData;

fn config(e: impl std::fmt::Display) -> TrainError {
    TrainError::Config(format!("fairness.mitigation: {e}"))
}

/// What a mitigation needs that is fixed for the whole run.
pub(crate) enum Mitigator {
    /// Kamiran & Calders' weight of each pool image (1 outside the training split).
    Reweigh(Vec<f32>),
    /// Group-balanced epochs over the training split (positions in it).
    Sampler(BalancedSampler),
    /// The group of each pool image, their count, and the step size.
    GroupDro {
        groups: Vec<usize>,
        num_groups: usize,
        step_size: f64,
    },
}

impl Mitigator {
    /// The mitigation `section` asks for over the training split `train` of `pool`, whose
    /// images are in the groups `groups` (`num_groups` of them); `None` for `none`.
    pub fn new(
        section: &FairnessSection,
        pool: &dyn ImageData,
        train: &[usize],
        groups: &[usize],
        num_groups: usize,
    ) -> Result<Option<Self>, TrainError> {
        let train_groups: Vec<usize> = train.iter().map(|&i| groups[i]).collect();
        Ok(Some(match section.mitigation {
            Mitigation::None => return Ok(None),
            Mitigation::Reweigh => {
                let labels: Vec<usize> = train.iter().map(|&i| pool.label(i)).collect();
                let w = reweighing_weights(&labels, &train_groups, pool.num_classes(), num_groups)
                    .map_err(config)?;
                let mut weights = vec![1.0f32; pool.len()];
                for (&i, w) in train.iter().zip(w) {
                    weights[i] = w as f32;
                }
                Mitigator::Reweigh(weights)
            }
            Mitigation::BalancedSampler => {
                Mitigator::Sampler(BalancedSampler::new(&train_groups, num_groups).map_err(config)?)
            }
            Mitigation::GroupDro => Mitigator::GroupDro {
                groups: groups.to_vec(),
                num_groups,
                step_size: section.step_size,
            },
        }))
    }

    /// Group DRO's starting weights (uniform), when this is group DRO.
    pub fn fresh_dro(&self) -> Result<Option<GroupDro>, TrainError> {
        match self {
            Mitigator::GroupDro {
                num_groups,
                step_size,
                ..
            } => Ok(Some(
                GroupDro::new(*num_groups, *step_size).map_err(config)?,
            )),
            _ => Ok(None),
        }
    }

    /// Group DRO's weights restored from a resume set's `q`.
    pub fn restore_dro(&self, q: Vec<f64>) -> Result<Option<GroupDro>, TrainError> {
        match self {
            Mitigator::GroupDro {
                num_groups,
                step_size,
                ..
            } => Ok(Some(
                GroupDro::from_state(q, *num_groups, *step_size).map_err(config)?,
            )),
            _ => Ok(None),
        }
    }

    /// The epoch's order: group-balanced draws (as pool indices), or `shuffled` unchanged.
    pub fn order(
        &self,
        train: &[usize],
        shuffled: Vec<usize>,
        seed: u64,
        epoch: usize,
    ) -> Vec<usize> {
        match self {
            Mitigator::Sampler(sampler) => sampler
                .epoch(seed, epoch as u64)
                .into_iter()
                .map(|k| train[k])
                .collect(),
            _ => shuffled,
        }
    }

    /// Whether the loss is weighted per sample.
    pub fn weighs(&self) -> bool {
        !matches!(self, Mitigator::Sampler(_))
    }

    /// The per-sample loss weights of the batch of pool images `indices` (their summed weighted
    /// losses are the step's objective), given their cross-entropies `losses`; group DRO's
    /// weights `dro` are updated first.
    pub fn weights(
        &self,
        indices: &[usize],
        losses: &[f32],
        dro: Option<&mut GroupDro>,
    ) -> Result<Vec<f32>, TrainError> {
        let n = indices.len().max(1) as f32;
        match (self, dro) {
            // A weighted mean: the weights average 1 over the training split.
            (Mitigator::Reweigh(w), _) => Ok(indices.iter().map(|&i| w[i] / n).collect()),
            (
                Mitigator::GroupDro {
                    groups, num_groups, ..
                },
                Some(dro),
            ) => {
                let batch: Vec<usize> = indices.iter().map(|&i| groups[i]).collect();
                let losses: Vec<f64> = losses.iter().map(|&l| l as f64).collect();
                let means = group_mean_losses(&losses, &batch, *num_groups).map_err(config)?;
                dro.update(&means).map_err(config)?;
                let w = dro.batch_sample_weights(&batch).map_err(config)?;
                Ok(w.into_iter().map(|w| w as f32).collect())
            }
            // The plain mean.
            _ => Ok(vec![1.0 / n; indices.len()]),
        }
    }
}
