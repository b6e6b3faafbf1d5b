//! Tests of [`super`]: hand-computed steps, every CPU level against a scalar reference bit
//! for bit, and Burn's own Adam.

use burn::tensor::{Device, Distribution};
use temper_simd::{available, with_cap};

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

/// burn-optim's update, one element at a time, in its order of operations (the formula in the
/// module docs): `param · penalty + grad`, `m · β1 + g · (1 − β1)`, `v · β2 + g² · (1 − β2)`,
/// `param − (m · c) / (√v + ε · c2) · lr`, with the step's scalars in `f32` (and moments
/// below the normal range stored as 0).
fn scalar_reference(
    hyper: &AdamHyper,
    lr: f64,
    time: usize,
    param: &[f32],
    grad: &[f32],
    moments: Option<(&[f32], &[f32])>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let t = time as i32;
    let c2 = (1.0 - hyper.beta_2.powi(t)).sqrt();
    let c = c2 / (1.0 - hyper.beta_1.powi(t));
    let eps = hyper.epsilon * c2;
    let lr = lr as f32;
    let (mut p_out, mut m_out, mut v_out) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..param.len() {
        let g = match hyper.weight_decay {
            Some(wd) => param[i] * wd + grad[i],
            None => grad[i],
        };
        let (m, v) = moments.map_or((0.0, 0.0), |(m, v)| (m[i], v[i]));
        let m = flush_subnormal(m * hyper.beta_1 + g * (1.0 - hyper.beta_1));
        let v = flush_subnormal(v * hyper.beta_2 + g * g * (1.0 - hyper.beta_2));
        p_out.push(param[i] - (m * c) / (v.sqrt() + eps) * lr);
        m_out.push(m);
        v_out.push(v);
    }
    (p_out, m_out, v_out)
}

/// Deterministic values in [-scale, scale).
fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Every level this CPU runs (the scalar loop, AVX2 and AVX-512 builds) gives the scalar
/// reference's bits, with and without weight decay, before and after the first step, for
/// lengths that are not a multiple of any vector width (tails) and one split over rayon's
/// threads (where the level must reach the workers).
#[test]
fn every_cpu_level_computes_the_scalar_reference_bit_for_bit() {
    for weight_decay in [None, Some(0.01)] {
        let hyper = AdamHyper {
            beta_1: 0.85,
            beta_2: 0.995,
            epsilon: 1e-7,
            weight_decay,
        };
        for n in [1, 7, 16, 31, 1000, 2 * CHUNK + 13] {
            let param = values(n, 1, 1.0);
            let grad = values(n, 2, 0.1);
            let m = values(n, 3, 0.05);
            // Second moments are never negative.
            let v: Vec<f32> = values(n, 4, 0.01).iter().map(|x| x.abs()).collect();
            for (time, moments) in [(1, None), (4, Some((&m[..], &v[..])))] {
                let expected = scalar_reference(&hyper, 3e-3, time, &param, &grad, moments);
                for level in available() {
                    let (p, m, v) = with_cap(level, || {
                        adam_slices(&hyper, 3e-3, time, &param, &grad, moments)
                    });
                    let what = format!("{level:?}, n {n}, step {time}, decay {weight_decay:?}");
                    assert_eq!(bits(&p), bits(&expected.0), "param, {what}");
                    assert_eq!(bits(&m), bits(&expected.1), "m, {what}");
                    assert_eq!(bits(&v), bits(&expected.2), "v, {what}");
                }
            }
        }
    }
}

/// A weight whose gradient stays 0 has its moments multiplied by β1 and β2 every step; once
/// one leaves f32's normal range (below 2⁻¹²⁶) it is stored as 0, where burn-optim keeps a
/// subnormal. The parameter is bit for bit what the unflushed formula gives, at every level.
#[test]
fn moments_below_the_normal_range_are_stored_as_zero_without_moving_the_parameter() {
    let hyper = AdamHyper {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-5,
        weight_decay: None,
    };
    let tiny = f32::MIN_POSITIVE;
    // Moments just above the normal range (stepping below it) and well inside it.
    let m = [tiny * 1.05, 1e-30, -tiny * 1.05];
    let v = [tiny * 1.0005, 1e-20, tiny * 1.0005];
    let (param, grad) = ([0.5f32, -0.25, 1e-3], [0.0f32; 3]);
    for level in available() {
        let (p, m_new, v_new) = with_cap(level, || {
            adam_slices(&hyper, 1e-3, 900, &param, &grad, Some((&m, &v)))
        });
        assert_eq!(bits(&m_new), bits(&[0.0, 1e-30 * 0.9, 0.0]), "{level:?}");
        assert_eq!(bits(&v_new), bits(&[0.0, 1e-20 * 0.999, 0.0]), "{level:?}");
        // Unflushed, by burn-optim's formula: the moments' subnormal values move nothing.
        let t = 900;
        let c2 = (1.0 - 0.999f32.powi(t)).sqrt();
        let (c, eps) = (c2 / (1.0 - 0.9f32.powi(t)), 1e-5 * c2);
        for i in [0, 2] {
            let (m_sub, v_sub) = (m[i] * 0.9, v[i] * 0.999);
            assert!(
                m_sub != 0.0 && m_sub.abs() < tiny,
                "m is subnormal unflushed"
            );
            let unflushed = param[i] - (m_sub * c) / (v_sub.sqrt() + eps) * 1e-3;
            assert_eq!(p[i].to_bits(), unflushed.to_bits(), "{level:?} param {i}");
        }
    }
}
