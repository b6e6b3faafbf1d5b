//! Training-mode batch normalization on contiguous `f32` buffers, with the residual add and
//! ReLU that follow it in a residual network fused into the same passes, forward and backward.
//!
//! For channel `c` over the `n = batch · pixels` values it sees (Ioffe & Szegedy 2015,
//! <https://arxiv.org/abs/1502.03167>, algorithm 1; biased variance, as Burn's
//! `batch_norm_train` and PyTorch's normalization use):
//!
//! ```text
//! μ = Σx / n      σ² = Σ(x − μ)² / n      s = 1 / √(σ² + ε)
//! y = γ·s·(x − μ) + β   [+ r]   [relu]
//! ```
//!
//! and, with `g = ∂L/∂y` masked by `y > 0` when the ReLU is fused and `x̂ = s·(x − μ)`:
//!
//! ```text
//! ∂L/∂β = Σg      ∂L/∂γ = Σ g·x̂      ∂L/∂r = g
//! ∂L/∂x = γ·s·(g − ∂L/∂β / n − x̂ · ∂L/∂γ / n)
//! ```
//!
//! Why: Burn 0.22's flex computes the statistics through two transposed copies and about
//! eight elementwise passes, and its backward through twelve more, each a sweep over the
//! whole activation; ReLU and the residual add are two more nodes each way. Here the forward
//! is two read passes per channel (the mean, then the squared deviations, while the channel
//! is in cache) and one write pass; the backward one read pass per channel and one write.
//!
//! Layout: `[batch, channels, pixels]`, row-major (NCHW with the spatial dimensions flattened).
//! Statistics are summed per channel in parallel (rayon over channels), the elementwise passes
//! run in parallel over samples. Sums run in 16 `f32` lanes within one sample's plane and in
//! `f64` across planes, in a fixed order: the result does not depend on scheduling, and every
//! CPU level computes the same IEEE operations in the same order (bit-identical outputs).

use rayon::prelude::*;
use temper_simd::{Level, multiversion};

/// The sizes of one batch normalization: `[batch, channels, pixels]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchNormShape {
    /// Number of samples.
    pub batch: usize,
    /// Channels (features normalized separately).
    pub channels: usize,
    /// Values per channel and sample (`height · width`).
    pub pixels: usize,
}

impl BatchNormShape {
    /// Elements of the activation.
    pub fn len(&self) -> usize {
        self.batch * self.channels * self.pixels
    }

    /// Whether the activation is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values a channel's statistics are taken over: `batch · pixels`.
    fn count(&self) -> usize {
        self.batch * self.pixels
    }

    /// Sample `b`'s plane of channel `c` in a `[batch, channels, pixels]` buffer.
    fn plane<'a>(&self, data: &'a [f32], b: usize, c: usize) -> &'a [f32] {
        &data[(b * self.channels + c) * self.pixels..][..self.pixels]
    }
}

/// The batch's statistics, per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics {
    /// `μ`.
    pub mean: Vec<f32>,
    /// `σ²`, biased (divided by `n`).
    pub variance: Vec<f32>,
}

/// What follows the normalization in the same pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fused {
    /// A residual `r` of the activation's shape is added.
    pub residual: bool,
    /// ReLU is applied last.
    pub relu: bool,
}

/// The forward pass: `relu?(γ·s·(x − μ) + β + r?)` and the batch's statistics.
///
/// # Panics
/// When a slice's length does not match `shape`.
pub fn forward(
    shape: &BatchNormShape,
    x: &[f32],
    [gamma, beta]: [&[f32]; 2],
    residual: Option<&[f32]>,
    relu: bool,
    epsilon: f64,
) -> (Vec<f32>, Statistics) {
    assert_eq!(x.len(), shape.len(), "batch norm input length");
    assert!(
        gamma.len() == shape.channels && beta.len() == shape.channels,
        "batch norm gamma/beta length"
    );
    if let Some(r) = residual {
        assert_eq!(r.len(), shape.len(), "batch norm residual length");
    }
    let level = temper_simd::level();
    let stats = statistics(shape, x, level);
    // y = a·x + b per channel, with a = γ·s and b = β − a·μ.
    let (a, b): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .map(|c| {
            let s = inv_std(stats.variance[c], epsilon);
            let a = gamma[c] as f64 * s;
            (a as f32, (beta[c] as f64 - a * stats.mean[c] as f64) as f32)
        })
        .unzip();
    let out = map_planes(shape, level, x, residual, |c, x, r, out| {
        affine_plane(x, r, [a[c], b[c]], relu, out)
    });
    (out, stats)
}

/// A new activation computed plane by plane, in parallel over samples at `level`:
/// `plane(c, x, r, out)` for every sample's channel `c`, with `x`'s and the residual's plane
/// (empty without one).
fn map_planes(
    shape: &BatchNormShape,
    level: Level,
    x: &[f32],
    residual: Option<&[f32]>,
    plane: impl Fn(usize, &[f32], &[f32], &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = vec![0.0f32; shape.len()];
    let per_sample = shape.channels * shape.pixels;
    if per_sample > 0 {
        out.par_chunks_mut(per_sample)
            .enumerate()
            .for_each(|(n, out)| {
                temper_simd::with_cap(level, || {
                    for (c, out) in out.chunks_exact_mut(shape.pixels).enumerate() {
                        let r = residual.map_or(&[][..], |r| shape.plane(r, n, c));
                        plane(c, shape.plane(x, n, c), r, out);
                    }
                })
            });
    }
    out
}

/// Evaluation with the running statistics: `relu?((x − mean) / √(var + ε) · γ + β + r?)`,
/// computed per element in `f32` in the order of Burn's `batch_norm` (subtract, divide,
/// multiply, add, then the residual and the ReLU), so the bytes are Burn's.
///
/// # Panics
/// When a slice's length does not match `shape`.
pub fn inference(
    shape: &BatchNormShape,
    x: &[f32],
    [gamma, beta, mean, var]: [&[f32]; 4],
    residual: Option<&[f32]>,
    relu: bool,
    epsilon: f64,
) -> Vec<f32> {
    assert_eq!(x.len(), shape.len(), "batch norm input length");
    assert!(
        [gamma, beta, mean, var]
            .iter()
            .all(|v| v.len() == shape.channels),
        "batch norm parameter length"
    );
    if let Some(r) = residual {
        assert_eq!(r.len(), shape.len(), "batch norm residual length");
    }
    let level = temper_simd::level();
    map_planes(shape, level, x, residual, |c, x, r, out| {
        let std = (var[c] + epsilon as f32).sqrt();
        normalize_plane(x, r, [mean[c], std, gamma[c], beta[c]], relu, out)
    })
}

multiversion! {
    /// `out = relu?((x − mean) / std · γ + β + r?)` over one plane (`r` empty: no residual).
    fn normalize_plane(x: &[f32], r: &[f32], k: [f32; 4], relu_after: bool, out: &mut [f32]) {
        let [mean, std, gamma, beta] = k;
        let y = |x: f32| (x - mean) / std * gamma + beta;
        match (r.is_empty(), relu_after) {
            (true, false) => out.iter_mut().zip(x).for_each(|(o, &x)| *o = y(x)),
            (true, true) => out.iter_mut().zip(x).for_each(|(o, &x)| *o = relu(y(x))),
            (false, false) => {
                for ((o, &x), &r) in out.iter_mut().zip(x).zip(r) {
                    *o = y(x) + r;
                }
            }
            (false, true) => {
                for ((o, &x), &r) in out.iter_mut().zip(x).zip(r) {
                    *o = relu(y(x) + r);
                }
            }
        }
    }
}

/// `1 / √(σ² + ε)` in `f64`.
fn inv_std(variance: f32, epsilon: f64) -> f64 {
    1.0 / (variance as f64 + epsilon).sqrt()
}

/// The batch's mean and biased variance per channel, two passes over each channel.
fn statistics(shape: &BatchNormShape, x: &[f32], level: Level) -> Statistics {
    let n = shape.count().max(1) as f64;
    let (mean, variance) = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            temper_simd::with_cap(level, || {
                let sum: f64 = (0..shape.batch).map(|b| sum(shape.plane(x, b, c))).sum();
                let mean = (sum / n) as f32;
                let squares: f64 = (0..shape.batch)
                    .map(|b| squared_deviations(shape.plane(x, b, c), mean))
                    .sum();
                (mean, (squares / n) as f32)
            })
        })
        .unzip();
    Statistics { mean, variance }
}

/// Lanes of the sums: 16 `f32` accumulators, one AVX-512 vector or two AVX2 ones.
const LANES: usize = 16;

/// Adds the lanes and the remainder in `f64`, in a fixed order.
fn reduce(lanes: [f32; LANES], rest: impl Iterator<Item = f32>) -> f64 {
    let mut total = 0.0f64;
    for v in lanes.into_iter().chain(rest) {
        total += v as f64;
    }
    total
}

multiversion! {
    /// `Σ v`, lane by lane.
    fn sum(v: &[f32]) -> f64 {
        let mut acc = [0.0f32; LANES];
        let chunks = v.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (a, x) in acc.iter_mut().zip(chunk) {
                *a += x;
            }
        }
        reduce(acc, rest.iter().copied())
    }
}

multiversion! {
    /// `Σ (v − mean)²`, lane by lane.
    fn squared_deviations(v: &[f32], mean: f32) -> f64 {
        let mut acc = [0.0f32; LANES];
        let chunks = v.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (a, x) in acc.iter_mut().zip(chunk) {
                let d = x - mean;
                *a += d * d;
            }
        }
        reduce(acc, rest.iter().map(|x| (x - mean) * (x - mean)))
    }
}

/// ReLU as Burn's: values `≤ 0` become 0, NaN passes through.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v <= 0.0 { 0.0 } else { v }
}

multiversion! {
    /// `out = relu?(a·x + b + r)` over one plane; `r` is empty when there is no residual.
    fn affine_plane(x: &[f32], r: &[f32], ab: [f32; 2], relu_after: bool, out: &mut [f32]) {
        let [a, b] = ab;
        match (r.is_empty(), relu_after) {
            (true, false) => out.iter_mut().zip(x).for_each(|(o, &x)| *o = a * x + b),
            (true, true) => out.iter_mut().zip(x).for_each(|(o, &x)| *o = relu(a * x + b)),
            (false, false) => {
                for ((o, &x), &r) in out.iter_mut().zip(x).zip(r) {
                    *o = a * x + b + r;
                }
            }
            (false, true) => {
                for ((o, &x), &r) in out.iter_mut().zip(x).zip(r) {
                    *o = relu(a * x + b + r);
                }
            }
        }
    }
}

/// What the backward pass reads besides the output gradient.
#[derive(Debug, Clone, Copy)]
pub struct Saved<'a> {
    /// The forward input.
    pub x: &'a [f32],
    /// The forward output (read only for the ReLU's mask; empty without ReLU).
    pub output: &'a [f32],
    /// `γ`.
    pub gamma: &'a [f32],
    /// The batch's statistics.
    pub stats: &'a Statistics,
    /// `ε`.
    pub epsilon: f64,
}

/// Gradients of the inputs.
#[derive(Debug, Default)]
pub struct Gradients {
    /// `∂L/∂x`, `[batch, channels, pixels]`.
    pub input: Vec<f32>,
    /// `∂L/∂γ`, `[channels]`.
    pub gamma: Vec<f32>,
    /// `∂L/∂β`, `[channels]`.
    pub beta: Vec<f32>,
    /// `∂L/∂r` (the masked output gradient), when a residual was added.
    pub residual: Option<Vec<f32>>,
}

/// The backward pass of [`forward`] with the same `shape`, residual and ReLU settings.
///
/// # Panics
/// When a slice's length does not match `shape` (`saved.output` only when `relu`).
pub fn backward(shape: &BatchNormShape, saved: Saved, fused: Fused, grad_out: &[f32]) -> Gradients {
    assert_eq!(
        grad_out.len(),
        shape.len(),
        "batch norm output-gradient length"
    );
    assert_eq!(saved.x.len(), shape.len(), "batch norm input length");
    if fused.relu {
        assert_eq!(saved.output.len(), shape.len(), "batch norm output length");
    }
    let level = temper_simd::level();
    let mask = |b: usize, c: usize| {
        if fused.relu {
            shape.plane(saved.output, b, c)
        } else {
            &[][..]
        }
    };
    // Per channel: Σg and Σg·(x − μ).
    let (beta, centred): (Vec<f64>, Vec<f64>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            temper_simd::with_cap(level, || {
                (0..shape.batch).fold((0.0, 0.0), |(sg, sgx), b| {
                    let (g, gx) = gradient_sums(
                        shape.plane(grad_out, b, c),
                        mask(b, c),
                        shape.plane(saved.x, b, c),
                        saved.stats.mean[c],
                    );
                    (sg + g, sgx + gx)
                })
            })
        })
        .unzip();
    let n = shape.count().max(1) as f64;
    // ∂L/∂x = a·g − k·(x − μ) − a·Σg/n with a = γ·s, k = a·s·∂L/∂γ/n.
    let mut coefficients = Vec::with_capacity(shape.channels);
    let mut gamma_grad = Vec::with_capacity(shape.channels);
    for c in 0..shape.channels {
        let s = inv_std(saved.stats.variance[c], saved.epsilon);
        let dgamma = centred[c] * s;
        let a = saved.gamma[c] as f64 * s;
        gamma_grad.push(dgamma as f32);
        coefficients.push(Coefficients {
            a: a as f32,
            k: (a * s * dgamma / n) as f32,
            offset: (a * beta[c] / n) as f32,
            mean: saved.stats.mean[c],
        });
    }
    let mut input = vec![0.0f32; shape.len()];
    let mut residual = fused.residual.then(|| vec![0.0f32; shape.len()]);
    let per_sample = shape.channels * shape.pixels;
    if per_sample > 0 {
        let rows = input.par_chunks_mut(per_sample).enumerate();
        let task = |n: usize, dx: &mut [f32], dr: Option<&mut [f32]>| {
            temper_simd::with_cap(level, || {
                input_gradient_sample(shape, saved, &coefficients, fused, grad_out, n, dx, dr)
            })
        };
        match residual.as_mut() {
            Some(r) => rows
                .zip(r.par_chunks_mut(per_sample))
                .for_each(|((n, dx), dr)| task(n, dx, Some(dr))),
            None => rows.for_each(|(n, dx)| task(n, dx, None)),
        }
    }
    Gradients {
        input,
        gamma: gamma_grad,
        beta: beta.iter().map(|&v| v as f32).collect(),
        residual,
    }
}

/// One channel's input-gradient coefficients: `∂L/∂x = a·g − k·(x − μ) − offset`.
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    a: f32,
    k: f32,
    offset: f32,
    mean: f32,
}

/// Sample `n`'s input gradient (and residual gradient) over every channel.
#[allow(clippy::too_many_arguments)]
fn input_gradient_sample(
    shape: &BatchNormShape,
    saved: Saved,
    coefficients: &[Coefficients],
    fused: Fused,
    grad_out: &[f32],
    n: usize,
    dx: &mut [f32],
    mut dr: Option<&mut [f32]>,
) {
    let p = shape.pixels;
    for (c, k) in coefficients.iter().enumerate() {
        let dx = &mut dx[c * p..][..p];
        let dy = shape.plane(grad_out, n, c);
        let out = if fused.relu {
            shape.plane(saved.output, n, c)
        } else {
            &[][..]
        };
        input_gradient_plane(dy, out, shape.plane(saved.x, n, c), *k, dx);
        if let Some(dr) = dr.as_deref_mut() {
            masked_plane(dy, out, &mut dr[c * p..][..p]);
        }
    }
}

/// `g = dy`, zeroed where the ReLU's output is `≤ 0` (`out` empty: no ReLU), as Burn's
/// `relu_backward` masks.
#[inline(always)]
fn masked(dy: f32, out: f32) -> f32 {
    if out <= 0.0 { 0.0 } else { dy }
}

multiversion! {
    /// `(Σg, Σg·(x − mean))` over one plane, lane by lane.
    fn gradient_sums(dy: &[f32], out: &[f32], x: &[f32], mean: f32) -> (f64, f64) {
        let mut g_acc = [0.0f32; LANES];
        let mut gx_acc = [0.0f32; LANES];
        let lanes = dy.len() / LANES * LANES;
        let g_at = |i: usize| if out.is_empty() { dy[i] } else { masked(dy[i], out[i]) };
        if out.is_empty() {
            for (dy, x) in dy[..lanes].chunks_exact(LANES).zip(x.chunks_exact(LANES)) {
                for l in 0..LANES {
                    g_acc[l] += dy[l];
                    gx_acc[l] += dy[l] * (x[l] - mean);
                }
            }
        } else {
            let chunks = dy[..lanes].chunks_exact(LANES).zip(out.chunks_exact(LANES));
            for ((dy, out), x) in chunks.zip(x.chunks_exact(LANES)) {
                for l in 0..LANES {
                    let g = masked(dy[l], out[l]);
                    g_acc[l] += g;
                    gx_acc[l] += g * (x[l] - mean);
                }
            }
        }
        let rest = lanes..dy.len();
        (
            reduce(g_acc, rest.clone().map(g_at)),
            reduce(gx_acc, rest.map(|i| g_at(i) * (x[i] - mean))),
        )
    }
}

multiversion! {
    /// `dx = a·g − k·(x − μ) − offset` over one plane.
    fn input_gradient_plane(dy: &[f32], out: &[f32], x: &[f32], k: Coefficients, dx: &mut [f32]) {
        if out.is_empty() {
            for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
                *dx = k.a * dy - k.k * (x - k.mean) - k.offset;
            }
        } else {
            for (((dx, &dy), &out), &x) in dx.iter_mut().zip(dy).zip(out).zip(x) {
                *dx = k.a * masked(dy, out) - k.k * (x - k.mean) - k.offset;
            }
        }
    }
}

multiversion! {
    /// `dr = g` over one plane (`out` empty: no ReLU, a copy).
    fn masked_plane(dy: &[f32], out: &[f32], dr: &mut [f32]) {
        if out.is_empty() {
            dr.copy_from_slice(dy);
        } else {
            for ((dr, &dy), &out) in dr.iter_mut().zip(dy).zip(out) {
                *dr = masked(dy, out);
            }
        }
    }
}

#[cfg(test)]
mod tests;
