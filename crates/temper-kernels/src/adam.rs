//! One Adam update in one pass over the parameter, its gradient and both moments.
//!
//! Burn's `Adam` is a chain of tensor ops (scale, add, square, sqrt, divide, …), each a pass
//! over the parameter with its own allocation and thread dispatch; on the reference MLP those
//! passes took about a fifth of a training step. [`adam_update`] computes the same update per
//! element, in Burn's formulation (burn-optim 0.22 `AdaptiveMomentum::transform`, which is
//! PyTorch's `torch.optim.Adam`):
//!
//! ```text
//! g  = grad + weight_decay · param                 (coupled decay, when set)
//! m  = β1 · m + (1 − β1) · g                       (m = v = 0 before the first step)
//! v  = β2 · v + (1 − β2) · g²
//! c2 = √(1 − β2ᵗ),  c = c2 / (1 − β1ᵗ)
//! param −= lr · c · m / (√v + ε · c2)
//! ```
//!
//! with one difference: a moment that would be subnormal is stored as 0 (see
//! `flush_subnormal` for why and why it changes no parameter).
//!
//! The loop is compiled for each [`temper_simd::Level`] (baseline, AVX2 + FMA, AVX-512) and
//! runs at [`temper_simd::level`], read once on the calling thread and handed to every rayon
//! task. Each level computes the same IEEE operations in the same order, so every level gives
//! the same bits; the tests check each one the CPU has against a scalar reference.

use burn::tensor::{DType, Tensor};
use rayon::prelude::*;
use temper_simd::Level;

use crate::flex::{FlexPrimitive, f32s, flex_tensor, wrap_plain};

/// Adam's hyperparameters, as Burn's `AdamConfig` holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamHyper {
    /// β1, decay of the first moment (Burn's default 0.9).
    pub beta_1: f32,
    /// β2, decay of the second moment (Burn's default 0.999).
    pub beta_2: f32,
    /// ε added to the denominator (Burn's default 1e-5; PyTorch's 1e-8).
    pub epsilon: f32,
    /// Coupled (L2) weight decay: added to the gradient as `weight_decay · param`.
    pub weight_decay: Option<f32>,
}

/// Elements per rayon task: below this a parameter is updated on the calling thread.
const CHUNK: usize = 1 << 16;

/// The update of the formula in the module docs on slices: `time` is the step number
/// (1 for the first); `moments` are `None` before the first step.
///
/// Returns the new `(param, m, v)`.
///
/// # Panics
/// When the slices' lengths differ.
pub fn adam_slices(
    hyper: &AdamHyper,
    lr: f64,
    time: usize,
    param: &[f32],
    grad: &[f32],
    moments: Option<(&[f32], &[f32])>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = param.len();
    assert_eq!(grad.len(), n, "adam gradient length");
    if let Some((m, v)) = moments {
        assert_eq!((m.len(), v.len()), (n, n), "adam moment lengths");
    }
    let &AdamHyper {
        beta_1,
        beta_2,
        epsilon,
        weight_decay,
    } = hyper;
    // The scalars exactly as burn-optim computes them (f32, powi of the step).
    let t = time as i32;
    let c2 = (1.0 - beta_2.powi(t)).sqrt();
    let k = Scalars {
        b1: beta_1,
        b2: beta_2,
        c: c2 / (1.0 - beta_1.powi(t)),
        eps: epsilon * c2,
        lr: lr as f32,
        wd: weight_decay.unwrap_or(0.0),
    };
    let decay = weight_decay.is_some();
    // Before the first step both moments are 0, which the formula turns into Burn's first-step
    // values exactly (0 · β + x = x).
    let zeros;
    let (m, v) = match moments {
        Some(mv) => mv,
        None => {
            zeros = vec![0.0f32; n];
            (&zeros[..], &zeros[..])
        }
    };
    let (mut p_out, mut m_out, mut v_out) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
    // Read once, here: a thread's cap (`temper_simd::with_cap`) does not follow the chunks
    // into rayon's threads.
    let level = temper_simd::level();
    let update = |offset: usize, p_out: &mut [f32], m_out: &mut [f32], v_out: &mut [f32]| {
        let len = p_out.len();
        let ins = [param, grad, m, v].map(|x| &x[offset..][..len]);
        adam_chunk(level, &k, decay, ins, [p_out, m_out, v_out]);
    };
    if n <= CHUNK {
        update(0, &mut p_out, &mut m_out, &mut v_out);
    } else {
        p_out
            .par_chunks_mut(CHUNK)
            .zip(m_out.par_chunks_mut(CHUNK))
            .zip(v_out.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(i, ((p, m), v))| update(i * CHUNK, p, m, v));
    }
    (p_out, m_out, v_out)
}

/// The per-step constants of the update.
struct Scalars {
    b1: f32,
    b2: f32,
    /// √(1 − β2ᵗ) / (1 − β1ᵗ).
    c: f32,
    /// ε · √(1 − β2ᵗ).
    eps: f32,
    lr: f32,
    wd: f32,
}

/// The update of one chunk, `[param, grad, m, v]` in and `[param, m, v]` out, in the vectors
/// of `level`. Every build computes the same IEEE operations in the same order (Rust never
/// contracts `a · b + c` into a fused multiply-add by itself), so results do not depend on the
/// level; the tests check each level against a scalar reference, bit for bit.
///
/// # Panics
/// When `level` is above [`temper_simd::detected`] (a level the CPU may not have).
fn adam_chunk(level: Level, k: &Scalars, decay: bool, ins: [&[f32]; 4], outs: [&mut [f32]; 3]) {
    assert!(
        level <= temper_simd::detected(),
        "adam: CPU level {level:?} is above the detected one"
    );
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        fn avx512(k: &Scalars, decay: bool, ins: [&[f32]; 4], outs: [&mut [f32]; 3]) {
            adam_loop(k, decay, ins, outs)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(k: &Scalars, decay: bool, ins: [&[f32]; 4], outs: [&mut [f32]; 3]) {
            adam_loop(k, decay, ins, outs)
        }
        match level {
            Level::Avx512 => {
                // SAFETY: `level` is at most the detected level (asserted above), and the
                // detected level is `Avx512` only on a CPU with AVX-512 F/BW/DQ/VL, AVX2 and
                // FMA: every feature `avx512` enables.
                return unsafe { avx512(k, decay, ins, outs) };
            }
            Level::Avx2 => {
                // SAFETY: as above: a detected `Avx2` or wider means AVX2 and FMA.
                return unsafe { avx2(k, decay, ins, outs) };
            }
            Level::Portable => {}
        }
    }
    adam_loop(k, decay, ins, outs)
}

/// Two loops rather than a branch per element, so each vectorizes.
#[inline(always)]
fn adam_loop(k: &Scalars, decay: bool, ins: [&[f32]; 4], outs: [&mut [f32]; 3]) {
    if decay {
        adam_elements::<true>(k, ins, outs);
    } else {
        adam_elements::<false>(k, ins, outs);
    }
}

/// `x`, or 0 when it is subnormal (`|x| < f32::MIN_POSITIVE`, about 1.2e-38).
///
/// Why: a weight whose gradient stays exactly 0 (an MNIST border pixel's, a dead unit's) has
/// its first moment multiplied by β1 every step, so after about 800 steps it is subnormal, and
/// x86 CPUs take a microcode assist of about a hundred cycles for every operation on a
/// subnormal operand or result. Measured on the reference MLP, whose 784×256 weight has about
/// 50,000 such entries: the update went from 35% of a training step to a few percent once
/// moments below the normal range were stored as 0 (what a CPU in flush-to-zero mode does,
/// as `torch.set_flush_denormal(True)` sets). A subnormal moment moves its parameter by
/// less than `lr · 1e-38 / ε`, so storing 0 instead changes no parameter's value.
#[inline(always)]
fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE { 0.0 } else { x }
}

#[inline(always)]
fn adam_elements<const DECAY: bool>(
    k: &Scalars,
    [p, g, m, v]: [&[f32]; 4],
    [p_out, m_out, v_out]: [&mut [f32]; 3],
) {
    let len = p_out.len();
    let (p, g, m, v) = (&p[..len], &g[..len], &m[..len], &v[..len]);
    let (m_out, v_out) = (&mut m_out[..len], &mut v_out[..len]);
    for i in 0..len {
        // burn-optim's order of operations: `tensor · penalty + grad`, `m · β1 + g · (1 − β1)`,
        // `v · β2 + g² · (1 − β2)`, `param − (m · c) / (√v + ε') · lr`.
        let g = if DECAY { p[i] * k.wd + g[i] } else { g[i] };
        let m_new = flush_subnormal(m[i] * k.b1 + g * (1.0 - k.b1));
        let v_new = flush_subnormal(v[i] * k.b2 + g * g * (1.0 - k.b2));
        m_out[i] = m_new;
        v_out[i] = v_new;
        p_out[i] = p[i] - (m_new * k.c) / (v_new.sqrt() + k.eps) * k.lr;
    }
}

/// One Adam step of a parameter on flex: the new `[param, m, v]`, or `None` when the tensors
/// are not plain (non-autodiff) `f32` flex tensors, in which case the caller runs Burn's Adam.
/// `time` is the step number (1 for the first); `moments` are `None` before the first step.
pub fn adam_update<const D: usize>(
    hyper: &AdamHyper,
    lr: f64,
    time: usize,
    param: &Tensor<D>,
    grad: &Tensor<D>,
    moments: Option<(&Tensor<D>, &Tensor<D>)>,
) -> Option<[Tensor<D>; 3]> {
    let plain = |t: &Tensor<D>| match (t.dtype(), FlexPrimitive::of(t)?) {
        (DType::F32, FlexPrimitive::Plain(p)) => Some(p),
        _ => None,
    };
    let (p, g) = (plain(param)?, plain(grad)?);
    let moments = match moments {
        Some((m, v)) => Some((plain(m)?, plain(v)?)),
        None => None,
    };
    let dims = param.dims();
    let (p, g) = (f32s(&p), f32s(&g));
    let old = moments.as_ref().map(|(m, v)| (f32s(m), f32s(v)));
    let (p_new, m_new, v_new) = adam_slices(
        hyper,
        lr,
        time,
        &p,
        &g,
        old.as_ref().map(|(m, v)| (&m[..], &v[..])),
    );
    Some([p_new, m_new, v_new].map(|values| wrap_plain(flex_tensor(values, dims))))
}

#[cfg(test)]
mod tests;
