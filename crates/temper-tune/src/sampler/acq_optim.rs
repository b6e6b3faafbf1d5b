//! Maximizing log EI over a mixed search space, as Optuna's `optimize_acqf_mixed`
//! (`optuna/_gp/optim_mixed.py`):
//!
//! 1. score `n_preliminary_samples` (default 2048) scrambled-Sobol points;
//! 2. start a local search from the best of them, from `n_local_search − 2` more drawn
//!    without replacement with probability ∝ exp(log EI − max log EI) (Optuna's "roulette"),
//!    and from the best trial observed so far;
//! 3. each local search alternates L-BFGS on the continuous coordinates (in units of their
//!    lengthscales, x/ℓ, which equalizes the curvature; projected-gradient tolerance
//!    √1e-4 = 1e-2, at most 200 iterations) with a search over each discrete coordinate
//!    (every choice of a categorical or of an integer with at most 16 values, else a line
//!    search over its grid), until a full round changes nothing (at most 100 rounds);
//! 4. the best point found wins.
//!
//! Coordinates: one per parameter in space order; a float or integer on its unit scale (an
//! integer's value at the centre of its cell), a categorical as its choice index, compared by
//! Hamming distance in the kernel. Optuna's `GPSampler` models only the parameters every
//! trial has and samples the rest at random; temper models conditional parameters too: an
//! inactive one encodes as 0.5 (numeric) or −1 (categorical, unequal to every choice), and
//! the acquisition function sees each candidate that way ([`Layout::canonical`]), so it is
//! piecewise in the parents' choices and flat in inactive coordinates.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::acq::log_ei;
use super::gp_model::GaussianProcess;
use super::lbfgs::{Stop, minimize_box};
use crate::space::{Distribution, Space};
use crate::value::{ParamValue, Params};

/// Integers with at most this many values are searched exhaustively (Optuna's
/// `MAX_INT_EXHAUSTIVE_SEARCH_PARAMS`).
const MAX_EXHAUSTIVE: usize = 16;
/// Integers with more values than this are optimized as continuous and snapped on decoding.
const MAX_GRID: usize = 4096;
/// Optuna's `tol` of the acquisition optimizer; L-BFGS stops at a gradient of √tol.
const TOL: f64 = 1e-4;
/// Rounds of the alternating local search (Optuna's `max_iter`).
const MAX_ROUNDS: usize = 100;

/// How a coordinate is optimized.
#[derive(Debug, Clone)]
enum Kind {
    /// A float (or a very wide integer): L-BFGS.
    Continuous,
    /// An integer: the unit coordinates of its values, ascending.
    Grid(Vec<f64>),
    /// A categorical with this many choices.
    Categorical(usize),
}

/// The coordinates of a search space.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    kinds: Vec<Kind>,
    /// Per parameter, its conditions: (parent coordinate, allowed choice indices).
    when: Vec<Vec<(usize, Vec<f64>)>>,
    /// Whether each coordinate is categorical (Hamming distance in the kernel).
    pub categorical: Vec<bool>,
}

impl Layout {
    /// The layout of `space`.
    pub fn new(space: &Space) -> Layout {
        let specs = space.params();
        let kinds = specs
            .iter()
            .map(|spec| match &spec.distribution {
                Distribution::Float { .. } => Kind::Continuous,
                Distribution::Int {
                    low, high, step, ..
                } if (((high - low) / step) as usize) < MAX_GRID => Kind::Grid(
                    (0..=(high - low) / step)
                        .filter_map(|k| spec.to_unit(&ParamValue::Int(low + k * step)))
                        .collect(),
                ),
                Distribution::Int { .. } => Kind::Continuous,
                Distribution::Categorical { choices } => Kind::Categorical(choices.len()),
            })
            .collect();
        let when = specs
            .iter()
            .map(|spec| {
                spec.when
                    .iter()
                    .filter_map(|(parent, values)| {
                        let p = specs.iter().position(|s| &s.name == parent)?;
                        let allowed = values
                            .iter()
                            .filter_map(|v| specs[p].to_internal(v))
                            .collect();
                        Some((p, allowed))
                    })
                    .collect()
            })
            .collect();
        let categorical = specs.iter().map(|s| s.is_categorical()).collect();
        Layout {
            kinds,
            when,
            categorical,
        }
    }

    /// The coordinates of `params`, inactive parameters at their placeholder.
    pub fn encode(&self, space: &Space, params: &Params) -> Vec<f64> {
        space
            .params()
            .iter()
            .zip(&self.kinds)
            .map(|(spec, kind)| match (params.get(&spec.name), kind) {
                (Some(v), Kind::Categorical(_)) => spec.to_internal(v).unwrap_or(-1.0),
                (Some(v), _) => spec.to_unit(v).unwrap_or(0.5),
                (None, Kind::Categorical(_)) => -1.0,
                (None, _) => 0.5,
            })
            .collect()
    }

    /// The parameters at `x` (only the active ones).
    pub fn decode(&self, space: &Space, x: &[f64]) -> Params {
        space.build(|i, spec, _| match &spec.distribution {
            Distribution::Categorical { choices } => {
                choices[(x[i].max(0.0) as usize).min(choices.len() - 1)].clone()
            }
            _ => spec.from_unit(x[i]),
        })
    }

    /// `x` with every inactive coordinate at its placeholder (what [`Layout::encode`] gives
    /// for the decoded parameters), and which coordinates are active.
    pub fn canonical(&self, x: &[f64]) -> (Vec<f64>, Vec<bool>) {
        let mut out = x.to_vec();
        let mut active = vec![true; x.len()];
        for i in 0..x.len() {
            active[i] = self.when[i]
                .iter()
                .all(|(p, allowed)| active[*p] && allowed.contains(&x[*p]));
            if !active[i] {
                out[i] = match self.kinds[i] {
                    Kind::Categorical(_) => -1.0,
                    _ => 0.5,
                };
            }
        }
        (out, active)
    }

    /// `x` with every coordinate a valid value (placeholders replaced by the nearest value),
    /// so that a parameter the search activates starts from a real value.
    fn valid(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.kinds)
            .map(|(v, kind)| match kind {
                Kind::Categorical(_) => v.max(0.0),
                Kind::Grid(g) => nearest(g, *v),
                Kind::Continuous => *v,
            })
            .collect()
    }
}

/// The grid value nearest `v`.
fn nearest(grid: &[f64], v: f64) -> f64 {
    grid.iter()
        .copied()
        .min_by(|a, b| (a - v).abs().total_cmp(&(b - v).abs()))
        .unwrap_or(v)
}

/// log EI of a GP posterior below the best standardized loss, over a [`Layout`].
pub(crate) struct Acquisition<'a> {
    /// The fitted GP (standardized losses).
    pub gp: &'a GaussianProcess,
    /// The best standardized loss observed.
    pub best: f64,
    /// The coordinates.
    pub layout: &'a Layout,
}

impl Acquisition<'_> {
    /// log EI at `x`.
    pub fn value(&self, x: &[f64]) -> f64 {
        let (c, _) = self.layout.canonical(x);
        let (m, v) = self.gp.predict(&c);
        log_ei(m, v, self.best).0
    }

    /// log EI at `x` and its gradient (zero on inactive and categorical coordinates).
    pub fn value_grad(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let (c, active) = self.layout.canonical(x);
        let (m, v, dm, dv) = self.gp.predict_with_grad(&c);
        let (f, df_dm, df_dv) = log_ei(m, v, self.best);
        let g = (0..x.len())
            .map(|q| {
                if active[q] {
                    df_dm * dm[q] + df_dv * dv[q]
                } else {
                    0.0
                }
            })
            .collect();
        (f, g)
    }
}

/// Where the acquisition search looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchBudget {
    /// Sobol points scored first.
    pub n_preliminary_samples: usize,
    /// Local searches, the best observed trial's included.
    pub n_local_search: usize,
}

/// The coordinates maximizing log EI; `warm` (the best observed trial) is one start.
pub(crate) fn maximize(
    acq: &Acquisition<'_>,
    warm: &[f64],
    budget: SearchBudget,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let layout = acq.layout;
    let seed: u32 = rng.random();
    let samples: Vec<Vec<f64>> = (0..budget.n_preliminary_samples.max(1))
        .map(|i| {
            (0..layout.kinds.len())
                .map(|q| {
                    // 256 dimensions per seed; further ones take a new scramble.
                    let n = sobol_burley::NUM_DIMENSIONS as usize;
                    let seed = seed.wrapping_add((q / n) as u32 * 0x9E37_79B9);
                    let u = sobol_burley::sample(i as u32, (q % n) as u32, seed) as f64;
                    match &layout.kinds[q] {
                        Kind::Continuous => u,
                        Kind::Grid(g) => nearest(g, u),
                        Kind::Categorical(n) => ((u * *n as f64) as usize).min(n - 1) as f64,
                    }
                })
                .collect()
        })
        .collect();
    let values: Vec<f64> = samples.iter().map(|x| acq.value(x)).collect();
    let best_i = (0..values.len())
        .max_by(|a, b| values[*a].total_cmp(&values[*b]))
        .unwrap_or(0);
    let mut starts = vec![samples[best_i].clone()];
    let mut probs: Vec<f64> = values.iter().map(|v| (v - values[best_i]).exp()).collect();
    probs[best_i] = 0.0;
    for _ in 0..budget.n_local_search.saturating_sub(2) {
        let total: f64 = probs.iter().sum();
        if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            break;
        }
        let mut r = rng.random::<f64>() * total;
        let pick = probs
            .iter()
            .position(|p| {
                r -= p;
                r < 0.0 && *p > 0.0
            })
            .unwrap_or_else(|| probs.iter().rposition(|p| *p > 0.0).unwrap_or(0));
        probs[pick] = 0.0;
        starts.push(samples[pick].clone());
    }
    starts.push(layout.valid(warm));
    let mut winner: Option<(Vec<f64>, f64)> = None;
    for s in starts {
        let (x, f) = local_search(acq, s);
        if winner.as_ref().is_none_or(|w| f > w.1) {
            winner = Some((x, f));
        }
    }
    winner.map(|w| w.0).unwrap_or_else(|| warm.to_vec())
}

/// Alternates L-BFGS on the continuous coordinates with a search over each discrete one
/// until a round changes nothing (Optuna's `local_search_mixed_batched`).
fn local_search(acq: &Acquisition<'_>, mut x: Vec<f64>) -> (Vec<f64>, f64) {
    let layout = acq.layout;
    let mut f = acq.value(&x);
    let discrete: Vec<usize> = (0..x.len())
        .filter(|q| !matches!(layout.kinds[*q], Kind::Continuous))
        .collect();
    // The coordinate changed last: `None` for the continuous step.
    let mut last: Option<usize> = None;
    for _ in 0..MAX_ROUNDS {
        if let Some((xn, fnew)) = gradient_ascent(acq, &x, f) {
            (x, f) = (xn, fnew);
            last = None;
        }
        for &q in &discrete {
            if last == Some(q) {
                return (x, f);
            }
            if let Some((xn, fnew)) = discrete_search(acq, &x, f, q) {
                (x, f) = (xn, fnew);
                last = Some(q);
            }
        }
        if last.is_none() {
            break;
        }
    }
    (x, f)
}

/// L-BFGS over the continuous coordinates in units of their lengthscales; the new point if
/// it improves log EI.
fn gradient_ascent(acq: &Acquisition<'_>, x: &[f64], f: f64) -> Option<(Vec<f64>, f64)> {
    let cont: Vec<usize> = (0..x.len())
        .filter(|q| matches!(acq.layout.kinds[*q], Kind::Continuous))
        .collect();
    if cont.is_empty() {
        return None;
    }
    let ls = acq.gp.hyper().lengthscales();
    let scale: Vec<f64> = cont.iter().map(|q| ls[*q]).collect();
    let z0: Vec<f64> = cont.iter().zip(&scale).map(|(q, l)| x[*q] / l).collect();
    let lo = vec![0.0; cont.len()];
    let hi: Vec<f64> = scale.iter().map(|l| 1.0 / l).collect();
    let mut point = x.to_vec();
    let mut objective = |z: &[f64]| {
        for ((q, l), zi) in cont.iter().zip(&scale).zip(z) {
            point[*q] = zi * l;
        }
        let (v, g) = acq.value_grad(&point);
        let gz = cont.iter().zip(&scale).map(|(q, l)| -g[*q] * l).collect();
        v.is_finite().then_some((-v, gz))
    };
    let stop = Stop {
        max_iter: 200,
        pgtol: TOL.sqrt(),
        ftol: Stop::SCIPY_FTOL,
    };
    let (z, neg, moved) = minimize_box(&mut objective, &z0, &lo, &hi, stop);
    if moved == 0 || -neg <= f {
        return None;
    }
    let mut out = x.to_vec();
    for ((q, l), zi) in cont.iter().zip(&scale).zip(&z) {
        out[*q] = (zi * l).clamp(0.0, 1.0);
    }
    Some((out, -neg))
}

/// The best other value of discrete coordinate `q`, if it improves log EI: every choice of
/// a categorical or small integer, else the grid points at ±1, ±2, ±4, … steps from the
/// current one and 16 evenly spaced ones.
fn discrete_search(acq: &Acquisition<'_>, x: &[f64], f: f64, q: usize) -> Option<(Vec<f64>, f64)> {
    let candidates: Vec<f64> = match &acq.layout.kinds[q] {
        Kind::Continuous => return None,
        Kind::Categorical(n) => (0..*n).map(|c| c as f64).collect(),
        Kind::Grid(g) if g.len() <= MAX_EXHAUSTIVE => g.clone(),
        Kind::Grid(g) => {
            let cur = g.iter().position(|v| *v == x[q]).unwrap_or(0) as i64;
            let n = g.len() as i64;
            let mut idx: Vec<i64> = (0..MAX_EXHAUSTIVE as i64)
                .map(|k| k * (n - 1) / (MAX_EXHAUSTIVE as i64 - 1))
                .collect();
            let mut step = 1;
            while step < n {
                idx.extend([cur - step, cur + step]);
                step *= 2;
            }
            idx.into_iter()
                .filter(|i| (0..n).contains(i))
                .map(|i| g[i as usize])
                .collect()
        }
    };
    let mut best: Option<(Vec<f64>, f64)> = None;
    let mut y = x.to_vec();
    for c in candidates {
        if c == x[q] {
            continue;
        }
        y[q] = c;
        let v = acq.value(&y);
        if v > best.as_ref().map_or(f, |b| b.1) {
            best = Some((y.clone(), v));
        }
    }
    best
}
