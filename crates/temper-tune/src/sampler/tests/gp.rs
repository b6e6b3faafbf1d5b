//! GP: checks of the model and the acquisition.

use super::*;

use super::acq::{STABILIZING_NOISE, log_ei, log_h};
use super::acq_optim::{Acquisition, Layout};
use super::gp_fit::log_prior;
use super::gp_model::{MIN_NOISE_VAR, log_marginal_likelihood};

/// Eight points of a 2-D design with one categorical input of 3 choices, and a smooth
/// target on them.
fn mixed_data() -> (Vec<Vec<f64>>, Vec<bool>, Vec<f64>) {
    let x: Vec<Vec<f64>> = (0..8)
        .map(|i| vec![i as f64 / 7.0, ((i * 3) % 8) as f64 / 7.0, (i % 3) as f64])
        .collect();
    let y = x.iter().map(|v| v[0] * v[0] - v[1] + 0.3 * v[2]).collect();
    (x, vec![false, false, true], y)
}

/// Central difference of `f` along coordinate `i`.
fn central(f: impl Fn(&[f64]) -> f64, x: &[f64], i: usize, h: f64) -> f64 {
    let (mut a, mut b) = (x.to_vec(), x.to_vec());
    a[i] += h;
    b[i] -= h;
    (f(&a) - f(&b)) / (2.0 * h)
}

#[test]
fn gp_posterior_interpolates_and_ei_vanishes_at_the_best() {
    // Noise-free data (noise variance 1e-10): the posterior mean passes through every
    // observation and the variance there is ~0 (R&W eq. 2.19 with K* = K).
    let x: Vec<Vec<f64>> = [0.0, 0.2, 0.45, 0.7, 1.0]
        .iter()
        .map(|v| vec![*v])
        .collect();
    let y: Vec<f64> = x.iter().map(|v| (6.0 * v[0]).sin()).collect();
    let hyper = GpHyper {
        inv_sq_lengthscales: vec![1.0 / 0.09],
        kernel_scale: 1.0,
        noise_var: 1e-10,
    };
    let gp = GaussianProcess::fit(x.clone(), vec![false], &y, hyper).unwrap();
    for (xi, yi) in x.iter().zip(&y) {
        let (m, v) = gp.predict(xi);
        assert!(
            (m - yi).abs() < 1e-6 && v < 1e-8,
            "x={xi:?}: mean {m} vs {yi}, var {v}"
        );
    }
    // EI at the observed best is (best - μ)Φ + σφ with μ = best, σ ≈ 0: zero.
    let best = y.iter().copied().fold(f64::INFINITY, f64::min);
    let at_best = &x[y.iter().position(|v| *v == best).unwrap()];
    let (m, v) = gp.predict(at_best);
    assert!(expected_improvement(m, v.sqrt(), best) < 1e-5);
    // Between observations EI is positive; closed form at μ = best, σ = 1 is φ(0) = 0.39894.
    assert!((expected_improvement(0.0, 1.0, 0.0) - 0.398_942_280_401_432_7).abs() < 1e-12);
    let (m, v) = gp.predict(&[0.85]);
    assert!(v > 1e-3 && expected_improvement(m, v.sqrt(), best) > 0.0);
}

#[test]
fn gp_prior_variance_is_the_kernel_scale_and_matern_matches_its_closed_form() {
    // One observation at 0 with noise σ²: at distance r (λ = 1) the Matérn-5/2 covariance is
    // k = s (1 + √5 r + 5r²/3) e^{−√5 r}, so the posterior variance is s − k²/(s + σ²) and the
    // mean k y / (s + σ²) (R&W eq. 2.19 with one point).
    let h = GpHyper {
        inv_sq_lengthscales: vec![1.0],
        kernel_scale: 2.0,
        noise_var: 0.5,
    };
    let gp = GaussianProcess::fit(vec![vec![0.0]], vec![false], &[1.5], h).unwrap();
    let r: f64 = 0.7;
    let k = 2.0 * (1.0 + 5f64.sqrt() * r + 5.0 * r * r / 3.0) * (-(5f64.sqrt()) * r).exp();
    let (m, v) = gp.predict(&[r]);
    assert!((m - k * 1.5 / 2.5).abs() < 1e-12, "{m}");
    assert!((v - (2.0 - k * k / 2.5)).abs() < 1e-12, "{v}");
}

#[test]
fn categorical_inputs_use_the_hamming_distance() {
    // Choices 0 and 2 are as far apart as 0 and 1 (Optuna's Hamming distance), so one
    // observation at choice 0 predicts the same at choices 1 and 2.
    let h = GpHyper {
        inv_sq_lengthscales: vec![0.5],
        kernel_scale: 1.0,
        noise_var: 1e-6,
    };
    let gp = GaussianProcess::fit(vec![vec![0.0]], vec![true], &[1.0], h).unwrap();
    let (m1, v1) = gp.predict(&[1.0]);
    let (m2, v2) = gp.predict(&[2.0]);
    assert_eq!((m1, v1), (m2, v2));
    // r² = λ · 1 = 0.5: k = (1 + √2.5 + 2.5/3) e^{−√2.5}.
    let k = (1.0 + 2.5f64.sqrt() + 2.5 / 3.0) * (-(2.5f64.sqrt())).exp();
    assert!((m1 - k / (1.0 + 1e-6)).abs() < 1e-12);
}

#[test]
fn gp_marginal_likelihood_gradient_matches_finite_differences() {
    let (x, cat, y) = mixed_data();
    let raw = [-0.5, 0.8, 0.1, 0.2, -3.0];
    let (_, g) = log_marginal_likelihood(&x, &cat, &y, &raw).unwrap();
    for (i, gi) in g.iter().enumerate() {
        let fd = central(
            |t| log_marginal_likelihood(&x, &cat, &y, t).unwrap().0,
            &raw,
            i,
            1e-5,
        );
        assert!(
            (fd - gi).abs() < 1e-6 * fd.abs().max(1.0),
            "θ{i}: {fd} vs {gi}"
        );
    }
}

#[test]
fn gp_marginal_likelihood_matches_the_gaussian_density() {
    // Two points: C = [[s + σ², k], [k, s + σ²]] and ln N(y; 0, C) + ln 2π =
    // −½ yᵀC⁻¹y − ½ ln det C (the constant is left out, as in Optuna).
    let x = vec![vec![0.2], vec![0.5]];
    let y = [0.4, -1.1];
    let raw = [0.3f64, -0.2, -2.0];
    let (l, s, nv) = (raw[0].exp(), raw[1].exp(), MIN_NOISE_VAR + raw[2].exp());
    let r = (l * 0.09f64).sqrt();
    let k = s * (1.0 + 5f64.sqrt() * r + 5.0 * r * r / 3.0) * (-(5f64.sqrt()) * r).exp();
    let (a, det) = (s + nv, (s + nv).powi(2) - k * k);
    let quad = (a * y[0] * y[0] - 2.0 * k * y[0] * y[1] + a * y[1] * y[1]) / det;
    let expected = -0.5 * quad - 0.5 * det.ln();
    let (lml, _) = log_marginal_likelihood(&x, &[false], &y, &raw).unwrap();
    assert!((lml - expected).abs() < 1e-12, "{lml} vs {expected}");
}

#[test]
fn prior_is_optunas_default_log_prior_with_its_gradient() {
    // Optuna's default_log_prior: Σ −(0.1/λ + 0.1λ) + Gamma(2, 1) on s + Gamma(1.1, 30) on σ²,
    // each Gamma as (k − 1) ln x − rate · x. The Gamma log-density differs from that by its
    // normalizing constant only, so differences between two points must agree with
    // ln Γ-pdf(x; k, rate) = k ln rate − ln Γ(k) + (k − 1) ln x − rate x.
    let gamma_pdf_ln =
        |x: f64, k: f64, rate: f64| k * rate.ln() - libm::lgamma(k) + (k - 1.0) * x.ln() - rate * x;
    let a = [0.4, -0.7, 0.3, -3.0];
    let b = [-1.2, 0.5, -0.6, -5.5];
    let h = |r: &[f64]| GpHyper::from_raw(r);
    let closed = |r: &[f64]| {
        let p = h(r);
        let ls: f64 = p
            .inv_sq_lengthscales
            .iter()
            .map(|l| -(0.1 / l + 0.1 * l))
            .sum();
        ls + gamma_pdf_ln(p.kernel_scale, 2.0, 1.0) + gamma_pdf_ln(p.noise_var, 1.1, 30.0)
    };
    let diff = log_prior(&a).0 - log_prior(&b).0;
    assert!((diff - (closed(&a) - closed(&b))).abs() < 1e-12);
    let (_, g) = log_prior(&a);
    for (i, gi) in g.iter().enumerate() {
        let fd = central(|r| log_prior(r).0, &a, i, 1e-6);
        assert!(
            (fd - gi).abs() < 1e-7 * fd.abs().max(1.0),
            "θ{i}: {fd} vs {gi}"
        );
    }
}

#[test]
fn log_ei_equals_log_of_ei_where_representable() {
    // Where EI = σ (zΦ(z) + φ(z)) is a normal float (z ≥ −37: φ(−37) ≈ 1e-298), log EI must
    // equal ln EI of the direct formula; both branches of ln h meet at z = −25.
    for z in [
        -37.0, -30.0, -25.0, -24.9, -10.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0,
    ] {
        let (sigma, best) = (0.3, 1.0);
        let mean = best - z * sigma;
        let var = sigma * sigma - STABILIZING_NOISE;
        let direct = expected_improvement(mean, sigma, best).ln();
        let (l, _, _) = log_ei(mean, var, best);
        // Below z ≈ −25 the direct form has lost ~z² digits' worth of cancellation: compare
        // with a tolerance of z² ulps relative.
        let tol = 1e-13 * (1.0 + z * z) * direct.abs().max(1.0);
        assert!(
            (l - direct).abs() < tol.max(1e-12),
            "z={z}: {l} vs {direct}"
        );
    }
    let below = log_h(-25.0 - 1e-12).0;
    let above = log_h(-25.0).0;
    assert!((below - above).abs() < 1e-9, "{below} vs {above}");
}

#[test]
fn log_ei_stays_finite_far_in_the_tail() {
    // As z → −∞, h(z) = φ(z) u (1 − 3u + 15u² − …) with u = 1/z² (Abramowitz & Stegun
    // 26.2.12; the next term, 105u³, is below 3e-8 at z = −40), where EI itself underflows to
    // 0 (z = −40 already gives φ ≈ 1e-348).
    for z in [-40.0f64, -1e3, -1e6] {
        let u = 1.0 / (z * z);
        let expected = -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (u * (1.0 - 3.0 * u + 15.0 * u * u)).ln();
        let (l, d) = log_h(z);
        assert!(l.is_finite() && d.is_finite() && d > 0.0);
        assert!(
            (l - expected).abs() < 1e-9 * expected.abs(),
            "z={z}: {l} vs {expected}"
        );
        // d ln h/dz = Φ/h ≈ −z + 2/|z| for z → −∞ (the derivative of the expansion above).
        assert!((d - (-z + 2.0 / z.abs())).abs() < 1e-3 * d, "z={z}: {d}");
    }
    assert_eq!(expected_improvement(40.0, 1.0, 0.0), 0.0);
}

#[test]
fn log_ei_derivatives_match_finite_differences() {
    for (mean, var) in [(0.2, 0.5), (1.5, 0.01), (9.0, 0.04), (-0.3, 2.0)] {
        let (_, dm, dv) = log_ei(mean, var, 0.0);
        let f = |p: &[f64]| log_ei(p[0], p[1], 0.0).0;
        let fm = central(f, &[mean, var], 0, 1e-6);
        let fv = central(f, &[mean, var], 1, 1e-7 * var);
        assert!((fm - dm).abs() < 1e-5 * fm.abs().max(1.0), "{fm} vs {dm}");
        assert!((fv - dv).abs() < 1e-5 * fv.abs().max(1.0), "{fv} vs {dv}");
    }
}

#[test]
fn acquisition_gradient_matches_finite_differences() {
    let sp = space(
        "a = { uniform = [0.0, 1.0] }\nb = { log_uniform = [1e-3, 1.0] }\n\
         c = { choice = [\"x\", \"y\", \"z\"] }",
    );
    let layout = Layout::new(&sp);
    let (x, cat, y) = mixed_data();
    assert_eq!(cat, layout.categorical);
    let raw = [1.2, 0.4, 0.0, 0.1, -4.0];
    let gp = GaussianProcess::fit(x, cat, &y, GpHyper::from_raw(&raw)).unwrap();
    let acq = Acquisition {
        gp: &gp,
        best: -0.8,
        layout: &layout,
    };
    for p in [[0.31, 0.62, 1.0], [0.9, 0.05, 2.0], [0.5, 0.5, 0.0]] {
        let (v, g) = acq.value_grad(&p);
        assert_eq!(v, acq.value(&p));
        for (q, gq) in g.iter().take(2).enumerate() {
            let fd = central(|z| acq.value(z), &p, q, 1e-6);
            assert!(
                (fd - gq).abs() < 1e-5 * fd.abs().max(1.0),
                "{p:?} q{q}: {fd} vs {gq}"
            );
        }
        assert_eq!(g[2], 0.0, "no gradient along a categorical");
    }
}

#[test]
fn layout_encodes_conditionals_with_placeholders_and_round_trips() {
    let sp = space(
        r#"
kind = { choice = ["a", "b"] }
n = { int = [1, 3] }
lr = { log_uniform = [1e-3, 1e-1], when = { kind = ["a"] } }
opt = { choice = ["sgd", "adam"], when = { kind = ["a"] } }
"#,
    );
    let layout = Layout::new(&sp);
    let names: Vec<&str> = sp.params().iter().map(|p| p.name.as_str()).collect();
    let at = |x: &[f64], key: &str| x[names.iter().position(|n| *n == key).unwrap()];
    let mut p = Params::new();
    p.insert("kind".to_string(), V::Str("b".into()));
    p.insert("n".to_string(), V::Int(3));
    let x = layout.encode(&sp, &p);
    // n = 3 is the centre of the last of three cells of [0.5, 3.5]: (3 − 0.5)/3 = 5/6.
    assert!((at(&x, "n") - 5.0 / 6.0).abs() < 1e-12);
    assert_eq!(
        (at(&x, "kind"), at(&x, "lr"), at(&x, "opt")),
        (1.0, 0.5, -1.0)
    );
    assert_eq!(layout.decode(&sp, &x), p);
    // Switching the parent to "a" activates the children with the coordinates' values; back
    // to "b", the canonical form puts their placeholders back.
    let mut y = x.clone();
    y[names.iter().position(|n| *n == "kind").unwrap()] = 0.0;
    y[names.iter().position(|n| *n == "lr").unwrap()] = 0.5;
    y[names.iter().position(|n| *n == "opt").unwrap()] = 1.0;
    let q = layout.decode(&sp, &y);
    sp.check(&q).unwrap();
    assert!((q.float("lr").unwrap() - 1e-2).abs() < 1e-12, "{q:?}");
    assert_eq!(layout.canonical(&x).0, x);
    assert_eq!(layout.encode(&sp, &q), layout.canonical(&y).0);
}

#[test]
fn gp_sampler_finds_the_branin_minimum() {
    // Branin on [-5, 10] × [0, 15] has global minimum 0.397887 (Surjanovic & Bingham);
    // 10 random trials then 30 GP trials reach within 0.01 of it (random search's median
    // regret after 40 trials is about 0.5, `examples/regret.rs`).
    let sp = space("x = { uniform = [-5.0, 10.0] }\ny = { uniform = [0.0, 15.0] }");
    let branin = |p: &Params| {
        let (x1, x2) = (p.float("x").unwrap(), p.float("y").unwrap());
        let pi = std::f64::consts::PI;
        let b = 5.1 / (4.0 * pi * pi);
        (x2 - b * x1 * x1 + 5.0 / pi * x1 - 6.0).powi(2)
            + 10.0 * (1.0 - 1.0 / (8.0 * pi)) * x1.cos()
            + 10.0
    };
    for seed in [0, 1] {
        let mut s = study(sp.clone(), SamplerKind::parse("gp").unwrap(), seed);
        let best = drive(&mut s, 40, branin)
            .iter()
            .map(branin)
            .fold(f64::INFINITY, f64::min);
        assert!(best - 0.397887 < 0.01, "seed {seed}: best {best}");
    }
}

#[test]
fn upper_tail_compression_keeps_the_better_half_and_the_order() {
    // Losses 0..=4 and 100: median (index 3 of 6) m = 3, c = m − min = 3. The better half is
    // unchanged; 4 ↦ 3 + 3 ln(1 + 1/3), 100 ↦ 3 + 3 ln(1 + 97/3).
    let l = [2.0, 0.0, 100.0, 1.0, 3.0, 4.0];
    let w = crate::sampler::gp::compress_upper_tail(&l);
    assert_eq!(&w[..2], &[2.0, 0.0]);
    assert_eq!((w[3], w[4]), (1.0, 3.0));
    assert!((w[5] - (3.0 + 3.0 * (4.0f64 / 3.0).ln())).abs() < 1e-12);
    assert!((w[2] - (3.0 + 3.0 * (100.0f64 / 3.0).ln())).abs() < 1e-12);
    assert!(w[5] > w[4] && w[2] > w[5]);
    // All equal: nothing to compress.
    assert_eq!(
        crate::sampler::gp::compress_upper_tail(&[5.0; 3]),
        vec![5.0; 3]
    );
}

#[test]
fn gp_settings_out_of_range_are_errors_naming_the_key() {
    let bad = [
        (
            GpSettings {
                n_preliminary_samples: 0,
                ..GpSettings::default()
            },
            "sampler.n_preliminary_samples",
        ),
        (
            GpSettings {
                n_preliminary_samples: (1 << 16) + 1,
                ..GpSettings::default()
            },
            "sampler.n_preliminary_samples",
        ),
        (
            GpSettings {
                n_local_search: 1,
                ..GpSettings::default()
            },
            "sampler.n_local_search",
        ),
        (
            GpSettings {
                max_history: 1,
                ..GpSettings::default()
            },
            "sampler.max_history",
        ),
    ];
    for (settings, key) in bad {
        match GpSampler::new(settings) {
            Err(TuneError::Invalid { field, .. }) => assert_eq!(field, key),
            other => panic!("{key}: {other:?}"),
        }
    }
}
