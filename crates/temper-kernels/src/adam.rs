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

use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

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
    let update = |offset: usize, p_out: &mut [f32], m_out: &mut [f32], v_out: &mut [f32]| {
        let len = p_out.len();
        let ins = [param, grad, m, v].map(|x| &x[offset..][..len]);
        adam_chunk(&k, decay, ins, [p_out, m_out, v_out]);
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

/// The update of one chunk, `[param, grad, m, v]` in and `[param, m, v]` out, in the widest
/// vectors the CPU has. Every build computes the same IEEE operations in the same order (Rust
/// never contracts `a · b + c` into a fused multiply-add by itself), so results do not depend
/// on the CPU.
fn adam_chunk(k: &Scalars, decay: bool, ins: [&[f32]; 4], outs: [&mut [f32]; 3]) {
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
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the CPU has the features `avx512` is compiled for (checked just above).
            return unsafe { avx512(k, decay, ins, outs) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above, for AVX2 and FMA.
            return unsafe { avx2(k, decay, ins, outs) };
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
        let m_new = m[i] * k.b1 + g * (1.0 - k.b1);
        let v_new = v[i] * k.b2 + g * g * (1.0 - k.b2);
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
mod tests {
    use burn::tensor::{Device, Distribution};

    use super::*;

    /// Three steps, by hand from the module's formula, for one element: p = 1, g = 0.5 every
    /// step, lr 0.1, β = (0.9, 0.999), ε = 1e-8, no decay. With a constant gradient m̂ = g and
    /// v̂ = g² after bias correction, so each step moves p by lr · g/(|g| + ε) ≈ lr.
    #[test]
    fn three_steps_of_a_constant_gradient_move_by_the_learning_rate() {
        let hyper = AdamHyper {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: None,
        };
        let (mut p, mut m, mut v) = (vec![1.0f32], None::<Vec<f32>>, None::<Vec<f32>>);
        for t in 1..=3 {
            let moments = m.as_deref().zip(v.as_deref());
            let (np, nm, nv) = adam_slices(&hyper, 0.1, t, &p, &[0.5], moments);
            (p, m, v) = (np, Some(nm), Some(nv));
        }
        // m_t = 0.5 (1 − 0.9ᵗ), v_t = 0.25 (1 − 0.999ᵗ): each update is lr · 0.5 / (0.5 + ε), so
        // p = 1 − 3 · 0.1 = 0.7 up to ε and f32 rounding (the sum of three steps, ~1e-6).
        assert!(
            (p[0] - (1.0 - 3.0 * 0.1 * 0.5 / (0.5 + 1e-8))).abs() < 1e-5,
            "{}",
            p[0]
        );
        assert!((m.unwrap()[0] - 0.5 * (1.0 - 0.9f32.powi(3))).abs() < 1e-7);
        assert!((v.unwrap()[0] - 0.25 * (1.0 - 0.999f32.powi(3))).abs() < 1e-8);
    }

    /// Against Burn's own `Adam` (burn-optim), element by element, over five steps with coupled
    /// weight decay, on a tensor large enough to be split over threads.
    #[test]
    fn equals_burns_adam_over_several_steps() {
        use burn::optim::decay::WeightDecayConfig;
        use burn::optim::{AdamConfig, Optimizer};
        let device = Device::flex();
        device.seed(5);
        let hyper = AdamHyper {
            beta_1: 0.8,
            beta_2: 0.99,
            epsilon: 1e-6,
            weight_decay: Some(0.01),
        };
        let burn_adam = AdamConfig::new()
            .with_beta_1(0.8)
            .with_beta_2(0.99)
            .with_epsilon(1e-6)
            .with_weight_decay(Some(WeightDecayConfig::new(0.01)))
            .build();
        let mut ours = Tensor::<2>::random([300, 400], Distribution::Normal(0.0, 1.0), &device);
        let mut theirs = ours.clone();
        let mut moments: Option<(Tensor<2>, Tensor<2>)> = None;
        let mut state = None;
        for t in 1..=5 {
            let grad = Tensor::<2>::random([300, 400], Distribution::Normal(0.0, 1.0), &device);
            let [p, m, v] = adam_update(
                &hyper,
                1e-2,
                t,
                &ours,
                &grad,
                moments.as_ref().map(|(m, v)| (m, v)),
            )
            .expect("flex f32 tensors");
            (ours, moments) = (p, Some((m, v)));
            (theirs, state) = burn_adam.step(1e-2, theirs, grad, state);
        }
        let a = ours.into_data().try_to_vec::<f32>().unwrap();
        let b = theirs.into_data().try_to_vec::<f32>().unwrap();
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1e-3))
            .fold(0.0, f32::max);
        assert!(worst < 1e-5, "largest relative difference {worst}");
    }

    #[test]
    fn tensors_off_flex_are_left_to_burn() {
        #[allow(deprecated)] // ndarray stands for "a backend that is not flex"
        let device = Device::ndarray();
        let x = Tensor::<1>::zeros([4], &device);
        let hyper = AdamHyper {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: None,
        };
        assert!(adam_update(&hyper, 1e-3, 1, &x, &x, None).is_none());
        let ad = Tensor::<1>::zeros([4], &Device::flex().autodiff());
        assert!(adam_update(&hyper, 1e-3, 1, &ad, &ad, None).is_none());
    }
}
