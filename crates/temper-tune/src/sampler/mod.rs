//! Samplers: where the next trial's parameters come from.
//!
//! Every sampler is a pure function of (seed, trial number, the study's stored trials): the
//! random stream of trial `n` is ChaCha8 seeded with `seed` on stream `n`, and whatever state a
//! sampler carries between trials (the GP's fitted hyperparameters) is written to the trial's
//! `attrs` and read back from the history. So a resumed study suggests what an uninterrupted
//! one would have, given the same finished trials.

mod acq;
mod acq_optim;
mod gp;
mod gp_fit;
mod gp_model;
mod grid;
mod lbfgs;
mod parzen;
mod random;
mod sobol;
mod tpe;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{TuneError, invalid};
use crate::space::Space;
use crate::trial::{Direction, Trial};
use crate::value::Params;

pub use acq::expected_improvement;
pub use gp::{GpSampler, GpSettings};
pub use gp_model::{GaussianProcess, GpHyper};
pub use grid::GridSampler;
pub use random::RandomSampler;
pub use sobol::SobolSampler;
pub use tpe::{TpeSampler, TpeSettings};

/// What a sampler sees when asked for trial `number`.
pub struct SampleContext<'a> {
    /// The search space.
    pub space: &'a Space,
    /// Every trial of the study so far, in number order (running ones included).
    pub trials: &'a [Trial],
    /// The number of the trial being sampled.
    pub number: u64,
    /// The study's seed.
    pub seed: u64,
    /// Whether smaller or larger values are better.
    pub direction: Direction,
}

impl<'a> SampleContext<'a> {
    /// The random stream of this trial: ChaCha8 seeded with the study seed, on stream
    /// `number`, so it depends on nothing but (seed, number).
    pub fn rng(&self) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(self.number);
        rng
    }

    /// Complete trials with a finite value.
    pub fn complete(&self) -> impl Iterator<Item = &'a Trial> + 'a {
        let trials: &'a [Trial] = self.trials;
        trials
            .iter()
            .filter(|t| t.complete_value().is_some_and(f64::is_finite))
    }
}

/// A suggestion: the parameters, plus attributes to store on the trial.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suggestion {
    /// The suggested parameters.
    pub params: Params,
    /// Attributes to store on the trial (the GP's fitted hyperparameters).
    pub attrs: BTreeMap<String, f64>,
}

impl From<Params> for Suggestion {
    fn from(params: Params) -> Self {
        Suggestion {
            params,
            attrs: BTreeMap::new(),
        }
    }
}

/// A search strategy.
pub trait Sampler: Send {
    /// Parameters for trial `ctx.number`; only the active parameters of `ctx.space` are set.
    fn sample(&self, ctx: &SampleContext<'_>) -> Result<Suggestion, TuneError>;
    /// A short name (`"tpe"`, `"gp"`, ...).
    fn name(&self) -> &'static str;
}

/// A sampler chosen by name with its settings, as the `temper tune` command line and
/// experiment files give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SamplerKind {
    /// `kind = "random"`: [`RandomSampler`].
    Random,
    /// `kind = "sobol"`: [`SobolSampler`].
    Sobol,
    /// `kind = "grid"`: [`GridSampler`].
    Grid {
        /// Points per float parameter without an explicit `grid`. Default 5; at least 1.
        #[serde(default = "default_grid_points")]
        points_per_float: usize,
    },
    /// `kind = "tpe"`: [`TpeSampler`].
    Tpe(#[serde(default)] TpeSettings),
    /// `kind = "gp"`: [`GpSampler`].
    Gp(#[serde(default)] GpSettings),
}

fn default_grid_points() -> usize {
    5
}

impl SamplerKind {
    /// `random`, `sobol`, `grid`, `tpe` or `gp` with default settings.
    pub fn parse(name: &str) -> Result<SamplerKind, TuneError> {
        Ok(match name {
            "random" => SamplerKind::Random,
            "sobol" => SamplerKind::Sobol,
            "grid" => SamplerKind::Grid {
                points_per_float: default_grid_points(),
            },
            "tpe" => SamplerKind::Tpe(TpeSettings::default()),
            "gp" => SamplerKind::Gp(GpSettings::default()),
            other => {
                return Err(invalid(
                    "sampler",
                    format!("unknown sampler {other:?}; expected tpe, gp, random, grid or sobol"),
                ));
            }
        })
    }

    /// The name [`parse`](Self::parse) takes.
    pub fn name(&self) -> &'static str {
        match self {
            SamplerKind::Random => "random",
            SamplerKind::Sobol => "sobol",
            SamplerKind::Grid { .. } => "grid",
            SamplerKind::Tpe(_) => "tpe",
            SamplerKind::Gp(_) => "gp",
        }
    }

    /// The sampler, its settings validated.
    pub fn build(&self) -> Result<Box<dyn Sampler>, TuneError> {
        Ok(match self {
            SamplerKind::Random => Box::new(RandomSampler),
            SamplerKind::Sobol => Box::new(SobolSampler),
            SamplerKind::Grid { points_per_float } => {
                if *points_per_float == 0 {
                    return Err(invalid("sampler.points_per_float", "must be >= 1"));
                }
                Box::new(GridSampler::new(*points_per_float))
            }
            SamplerKind::Tpe(s) => Box::new(TpeSampler::new(s.clone())?),
            SamplerKind::Gp(s) => Box::new(GpSampler::new(s.clone())?),
        })
    }
}

#[cfg(test)]
mod tests;
