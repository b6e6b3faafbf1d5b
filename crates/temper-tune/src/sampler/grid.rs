//! Exhaustive grid search (Optuna's `GridSampler`): every combination of the parameters' grid
//! values, conditional parameters only where their condition holds, each point tried once in
//! an order shuffled by the seed; then [`TuneError::GridExhausted`].

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{SampleContext, Sampler, Suggestion};
use crate::error::{TuneError, invalid};
use crate::space::Space;
use crate::value::Params;

/// Largest grid the sampler enumerates.
const MAX_GRID: usize = 1_000_000;

/// Grid search over explicit `grid` values, all choices / integers, and `points_per_float`
/// evenly spaced points per float (log-spaced for log floats).
#[derive(Debug, Clone, Copy)]
pub struct GridSampler {
    points_per_float: usize,
}

impl GridSampler {
    /// A grid with `points_per_float` points per float parameter that has no explicit grid.
    pub fn new(points_per_float: usize) -> Self {
        GridSampler { points_per_float }
    }

    /// Every grid point in enumeration order (parents first, values in grid order).
    pub fn points(&self, space: &Space) -> Result<Vec<Params>, TuneError> {
        let mut out = Vec::new();
        self.extend(space, 0, Params::new(), &mut out)?;
        Ok(out)
    }

    fn extend(
        &self,
        space: &Space,
        i: usize,
        partial: Params,
        out: &mut Vec<Params>,
    ) -> Result<(), TuneError> {
        let Some(spec) = space.params().get(i) else {
            if out.len() >= MAX_GRID {
                return Err(invalid(
                    "sampler",
                    format!("grid has more than {MAX_GRID} points"),
                ));
            }
            out.push(partial);
            return Ok(());
        };
        if !Space::is_active(spec, &partial) {
            return self.extend(space, i + 1, partial, out);
        }
        for v in spec.grid_values(self.points_per_float) {
            let mut p = partial.clone();
            p.insert(spec.name.clone(), v);
            self.extend(space, i + 1, p, out)?;
        }
        Ok(())
    }
}

impl Sampler for GridSampler {
    fn sample(&self, ctx: &SampleContext<'_>) -> Result<Suggestion, TuneError> {
        let mut points = self.points(ctx.space)?;
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        points.shuffle(&mut rng);
        let n = points.len();
        points
            .into_iter()
            .find(|p| !ctx.trials.iter().any(|t| &t.params == p))
            .map(Suggestion::from)
            .ok_or(TuneError::GridExhausted(n))
    }

    fn name(&self) -> &'static str {
        "grid"
    }
}
