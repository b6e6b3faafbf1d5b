//! Tests of [`super`]: the forward pass against the definition in `f64`, the backward pass
//! against central finite differences of that definition, and every CPU level bit for bit.

use super::*;

/// Deterministic values in `[-0.5, 0.5) · scale + shift`.
fn values(n: usize, seed: u32, scale: f32, shift: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * scale + shift
        })
        .collect()
}

/// The layer straight from its definition, in `f64`: `relu?(γ(x − μ)/√(σ² + ε) + β + r?)`.
fn reference(
    shape: &BatchNormShape,
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    residual: Option<&[f64]>,
    relu: bool,
    epsilon: f64,
) -> Vec<f64> {
    let (c_n, p) = (shape.channels, shape.pixels);
    let n = (shape.batch * p) as f64;
    let index = |b: usize, c: usize, i: usize| (b * c_n + c) * p + i;
    let mut out = vec![0.0; x.len()];
    for c in 0..c_n {
        let all = || (0..shape.batch).flat_map(move |b| (0..p).map(move |i| index(b, c, i)));
        let mean = all().map(|j| x[j]).sum::<f64>() / n;
        let var = all().map(|j| (x[j] - mean).powi(2)).sum::<f64>() / n;
        for j in all() {
            let mut y = gamma[c] * (x[j] - mean) / (var + epsilon).sqrt() + beta[c];
            if let Some(r) = residual {
                y += r[j];
            }
            out[j] = if relu { y.max(0.0) } else { y };
        }
    }
    out
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&v| v as f64).collect()
}

fn assert_close(actual: &[f32], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what} length");
    let scale = expected.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (*a as f64 - e).abs() <= tolerance * scale,
            "{what}[{i}]: {a} vs {e} (scale {scale})"
        );
    }
}

/// Shapes with planes shorter than, equal to and longer than the 16 lanes, one sample, and
/// a mean far from zero (the variance must not cancel).
fn shapes() -> Vec<(BatchNormShape, f32)> {
    let s = |batch, channels, pixels| BatchNormShape {
        batch,
        channels,
        pixels,
    };
    vec![
        (s(3, 2, 5), 0.0),
        (s(2, 3, 16), 0.3),
        (s(4, 2, 37), -0.2),
        (s(1, 4, 49), 0.0),
        (s(5, 3, 64), 20.0),
    ]
}

const FUSIONS: [Fused; 4] = [
    Fused {
        residual: false,
        relu: false,
    },
    Fused {
        residual: false,
        relu: true,
    },
    Fused {
        residual: true,
        relu: false,
    },
    Fused {
        residual: true,
        relu: true,
    },
];

#[test]
fn forward_equals_the_definition_with_and_without_residual_and_relu() {
    for (shape, shift) in shapes() {
        let x = values(shape.len(), 1, 2.0, shift);
        let gamma = values(shape.channels, 2, 1.0, 1.0);
        let beta = values(shape.channels, 3, 1.0, 0.0);
        let r = values(shape.len(), 4, 1.0, 0.0);
        for fused in FUSIONS {
            let residual = fused.residual.then_some(&r[..]);
            let (out, stats) = forward(&shape, &x, [&gamma, &beta], residual, fused.relu, 1e-5);
            let rr = widen(&r);
            let expected = reference(
                &shape,
                &widen(&x),
                &widen(&gamma),
                &widen(&beta),
                fused.residual.then_some(&rr[..]),
                fused.relu,
                1e-5,
            );
            assert_close(
                &out,
                &expected,
                1e-5,
                &format!("{shape:?} {fused:?} output"),
            );
            // The statistics: mean and biased variance of channel 0, from the definition.
            let c0: Vec<f64> = (0..shape.batch)
                .flat_map(|b| widen(shape.plane(&x, b, 0)))
                .collect();
            let mean = c0.iter().sum::<f64>() / c0.len() as f64;
            let var = c0.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / c0.len() as f64;
            assert!((stats.mean[0] as f64 - mean).abs() <= 1e-6 * mean.abs().max(1.0));
            assert!((stats.variance[0] as f64 - var).abs() <= 1e-5 * var);
        }
    }
}

/// `L = Σ w·y` for fixed random `w`: its gradients by the kernel against central finite
/// differences of the `f64` definition (step 1e-6; the ReLU's kinks are far from every
/// perturbed point for these seeds, which the difference of one-sided quotients checks).
#[test]
fn backward_equals_finite_differences_of_the_definition() {
    let eps = 1e-5;
    for (shape, shift) in shapes().into_iter().take(4) {
        let x = values(shape.len(), 5, 2.0, shift);
        let gamma = values(shape.channels, 6, 1.0, 1.0);
        let beta = values(shape.channels, 7, 1.0, 0.0);
        let r = values(shape.len(), 8, 1.0, 0.0);
        let w = values(shape.len(), 9, 2.0, 0.0);
        for fused in FUSIONS {
            let (out, stats) = forward(
                &shape,
                &x,
                [&gamma, &beta],
                fused.residual.then_some(&r[..]),
                fused.relu,
                eps,
            );
            let saved = Saved {
                x: &x,
                output: &out,
                gamma: &gamma,
                stats: &stats,
                epsilon: eps,
            };
            let grads = backward(&shape, saved, fused, &w);

            let (xs, gs, bs, rs, ws) =
                (widen(&x), widen(&gamma), widen(&beta), widen(&r), widen(&w));
            let loss = |x: &[f64], g: &[f64], b: &[f64], r: &[f64]| -> f64 {
                let y = reference(
                    &shape,
                    x,
                    g,
                    b,
                    fused.residual.then_some(r),
                    fused.relu,
                    eps,
                );
                y.iter().zip(&ws).map(|(y, w)| y * w).sum()
            };
            let numeric = |which: usize, len: usize| -> Vec<f64> {
                (0..len)
                    .map(|i| {
                        let at = |h: f64| {
                            let mut v = [xs.clone(), gs.clone(), bs.clone(), rs.clone()];
                            v[which][i] += h;
                            loss(&v[0], &v[1], &v[2], &v[3])
                        };
                        let h = 1e-6;
                        let (up, mid, down) = (at(h), at(0.0), at(-h));
                        assert!(
                            ((up - mid) - (mid - down)).abs() < 1e-9,
                            "a ReLU kink lies within the step"
                        );
                        (up - down) / (2.0 * h)
                    })
                    .collect()
            };
            let what = |name: &str| format!("{shape:?} {fused:?} d{name}");
            assert_close(&grads.input, &numeric(0, x.len()), 1e-4, &what("x"));
            assert_close(&grads.gamma, &numeric(1, gamma.len()), 1e-4, &what("gamma"));
            assert_close(&grads.beta, &numeric(2, beta.len()), 1e-4, &what("beta"));
            match (&grads.residual, fused.residual) {
                (Some(dr), true) => assert_close(dr, &numeric(3, r.len()), 1e-4, &what("r")),
                (None, false) => {}
                (dr, _) => panic!("residual gradient {:?} for {fused:?}", dr.is_some()),
            }
        }
    }
}

/// Every CPU level computes the same bytes, forward and backward, on a plane long enough for
/// the vector loops and with a remainder.
#[test]
fn every_cpu_level_gives_the_same_bytes() {
    let shape = BatchNormShape {
        batch: 3,
        channels: 4,
        pixels: 83,
    };
    let x = values(shape.len(), 11, 3.0, 0.5);
    let gamma = values(4, 12, 1.0, 1.0);
    let beta = values(4, 13, 1.0, 0.0);
    let r = values(shape.len(), 14, 1.0, 0.0);
    let dy = values(shape.len(), 15, 1.0, 0.0);
    let fused = Fused {
        residual: true,
        relu: true,
    };
    let run = |level: Level| {
        temper_simd::with_cap(level, || {
            let (out, stats) = forward(&shape, &x, [&gamma, &beta], Some(&r), true, 1e-5);
            let saved = Saved {
                x: &x,
                output: &out,
                gamma: &gamma,
                stats: &stats,
                epsilon: 1e-5,
            };
            let g = backward(&shape, saved, fused, &dy);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            [
                bits(&out),
                bits(&stats.mean),
                bits(&stats.variance),
                bits(&g.input),
                bits(&g.gamma),
                bits(&g.beta),
                bits(g.residual.as_deref().unwrap()),
            ]
        })
    };
    let portable = run(Level::Portable);
    for level in temper_simd::available() {
        assert!(run(level) == portable, "{level:?} differs from portable");
    }
}

/// An empty batch gives empty outputs and finite (zero-count) statistics without panicking.
#[test]
fn an_empty_batch_is_no_work() {
    let shape = BatchNormShape {
        batch: 0,
        channels: 2,
        pixels: 4,
    };
    let (out, stats) = forward(&shape, &[], [&[1.0, 1.0], &[0.0, 0.0]], None, true, 1e-5);
    assert!(out.is_empty());
    assert_eq!(stats.mean, [0.0, 0.0]);
    assert_eq!(stats.variance, [0.0, 0.0]);
}
