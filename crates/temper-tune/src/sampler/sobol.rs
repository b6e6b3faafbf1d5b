//! Scrambled Sobol quasi-random points (Optuna's `QMCSampler(qmc_type="sobol", scramble=True)`).
//!
//! Points come from `sobol_burley`: Sobol with Joe–Kuo direction numbers, Owen-scrambled by
//! hashing (Burley 2020, "Practical Hash-based Owen Scrambling"), with the index shuffled too,
//! so each seed gives an independent sequence whose power-of-two prefixes stay stratified.
//! Trial `n` takes point `n`; dimension `i` belongs to the space's `i`-th parameter (an
//! inactive conditional parameter leaves its coordinate unused).

use super::{RandomSampler, SampleContext, Sampler, Suggestion};
use crate::error::{TuneError, invalid};

/// Scrambled Sobol sampler; at most 256 parameters and 65 536 trials.
#[derive(Debug, Clone, Copy, Default)]
pub struct SobolSampler;

impl Sampler for SobolSampler {
    fn sample(&self, ctx: &SampleContext<'_>) -> Result<Suggestion, TuneError> {
        if ctx.space.len() > sobol_burley::NUM_DIMENSIONS as usize {
            return Err(invalid(
                "sampler",
                format!(
                    "sobol supports at most {} parameters, the space has {}",
                    sobol_burley::NUM_DIMENSIONS,
                    ctx.space.len()
                ),
            ));
        }
        let index = u32::try_from(ctx.number)
            .ok()
            .filter(|n| *n < (1 << 16))
            .ok_or_else(|| invalid("sampler", "sobol supports at most 65536 trials"))?;
        let seed = (ctx.seed ^ (ctx.seed >> 32)) as u32;
        Ok(ctx
            .space
            .build(|i, spec, _| spec.from_unit(sobol_burley::sample(index, i as u32, seed) as f64))
            .into())
    }

    fn name(&self) -> &'static str {
        "sobol"
    }
}

/// The start-up draw of the model-based samplers (TPE, GP): this trial's scrambled Sobol point,
/// or a random one where Sobol has none (a space over 256 parameters, trials past 65 535).
pub(crate) fn sobol_or_random(ctx: &SampleContext<'_>) -> Result<Suggestion, TuneError> {
    SobolSampler
        .sample(ctx)
        .or_else(|_| RandomSampler.sample(ctx))
}
