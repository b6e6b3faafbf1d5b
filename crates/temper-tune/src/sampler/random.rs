//! Independent uniform sampling (on the log scale for log parameters), Optuna's
//! `RandomSampler`.

use rand::Rng;

use super::{SampleContext, Sampler, Suggestion};
use crate::error::TuneError;

/// Draws every active parameter uniformly on its unit scale.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSampler;

impl Sampler for RandomSampler {
    fn sample(&self, ctx: &SampleContext<'_>) -> Result<Suggestion, TuneError> {
        let mut rng = ctx.rng();
        Ok(ctx
            .space
            .build(|_, spec, _| spec.from_unit(rng.random::<f64>()))
            .into())
    }

    fn name(&self) -> &'static str {
        "random"
    }
}
