use super::*;
use crate::{OptimizerKind, OptimizerSettings};
use burn::module::ParamGroup;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, TensorData};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (*x as f64 - y).abs() < tol)
}

/// A 3 -> 2 Linear with weight `W` (Burn stores it `[d_input, d_output]`) and bias `B`.
const W: [f32; 6] = [0.5, -1.5, 0.0, 2.0, -0.25, 1.0];
const B: [f32; 2] = [0.75, -2.0];

fn linear(device: &Device) -> Linear {
    let mut m: Linear = LinearConfig::new(3, 2).init(device);
    m.weight = m
        .weight
        .map(|_| Tensor::from_data(TensorData::new(W.to_vec(), [3, 2]), device).require_grad());
    m.bias = m.bias.map(|b| {
        b.map(|_| Tensor::from_data(TensorData::new(B.to_vec(), [2]), device).require_grad())
    });
    m
}

fn settings(l1: f64, l2: f64) -> RegularizationSettings {
    RegularizationSettings {
        l1,
        l2,
        ..Default::default()
    }
}

/// The penalty's value and its gradients with respect to weight and bias (`None` when the
/// parameter is not part of the penalty's graph).
fn penalty_and_grads(s: &RegularizationSettings, m: &Linear) -> (f32, Vec<f32>, Option<Vec<f32>>) {
    let p = s.penalty(m).expect("a penalty");
    let value = p.clone().into_scalar::<f32>();
    let grads = p.backward();
    let gw = m.weight.val().grad(&grads).map(values).unwrap_or_default();
    let gb = m.bias.as_ref().unwrap().val().grad(&grads).map(values);
    (value, gw, gb)
}

#[test]
fn penalty_gradients_match_the_closed_forms() {
    let device = Device::flex().autodiff();
    let m = linear(&device);
    let sign = |w: f32| {
        if w > 0.0 {
            1.0
        } else if w < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    let abs_sum: f64 = W.iter().map(|w| w.abs() as f64).sum(); // 5.25
    let sq_sum: f64 = W.iter().map(|w| (w * w) as f64).sum(); // 7.5625

    // L1 = l1 * sum|w| = 0.3 * 5.25; gradient l1 * sign(w), 0 at w = 0 (Burn's abs
    // backward is sign(w), the subgradient 0 at the kink).
    let (v, gw, gb) = penalty_and_grads(&settings(0.3, 0.0), &m);
    assert!((v as f64 - 0.3 * abs_sum).abs() < 1e-5, "{v}");
    let want: Vec<f64> = W.iter().map(|&w| 0.3 * sign(w)).collect();
    assert!(close(&gw, &want, 1e-6), "{gw:?}");
    assert_eq!(gb, None, "biases are rank 1 and excluded by default");

    // L2 = (l2 / 2) * sum w^2 = 0.25 * 7.5625; gradient l2 * w (PyTorch's weight_decay).
    let (v, gw, _) = penalty_and_grads(&settings(0.0, 0.5), &m);
    assert!((v as f64 - 0.25 * sq_sum).abs() < 1e-5, "{v}");
    let want: Vec<f64> = W.iter().map(|&w| 0.5 * w as f64).collect();
    assert!(close(&gw, &want, 1e-6), "{gw:?}");

    // Elastic net: both terms and both gradients add.
    let (v, gw, _) = penalty_and_grads(&settings(0.3, 0.5), &m);
    assert!((v as f64 - 0.3 * abs_sum - 0.25 * sq_sum).abs() < 1e-5);
    let want: Vec<f64> = W.iter().map(|&w| 0.3 * sign(w) + 0.5 * w as f64).collect();
    assert!(close(&gw, &want, 1e-6), "{gw:?}");

    assert!(settings(0.0, 0.0).penalty(&m).is_none());
}

#[test]
fn biases_follow_the_filter() {
    let device = Device::flex().autodiff();
    let m = linear(&device);
    // include the bias (a Linear visited on its own reports the bare field names `weight`
    // and `bias`; inside a model it would be `*.bias`): it joins the weights, gradient l2 * b.
    let with_bias = RegularizationSettings {
        include: vec!["bias".into()],
        ..settings(0.0, 0.5)
    };
    let (v, gw, gb) = penalty_and_grads(&with_bias, &m);
    let b_sq: f64 = B.iter().map(|b| (b * b) as f64).sum(); // 4.5625
    assert!((v as f64 - 0.25 * (7.5625 + b_sq)).abs() < 1e-5, "{v}");
    assert_eq!(gw.len(), 6);
    assert!(close(&gb.unwrap(), &[0.375, -1.0], 1e-6));

    // Bias only: include it, exclude the weight.
    let bias_only = RegularizationSettings {
        exclude: vec!["weight".into()],
        ..with_bias.clone()
    };
    let p = bias_only.penalty(&m).unwrap();
    assert!((p.clone().into_scalar::<f32>() as f64 - 0.25 * b_sq).abs() < 1e-5);
    let grads = p.backward();
    assert!(m.weight.val().grad(&grads).is_none());

    // Everything excluded: no penalty at all.
    let none = RegularizationSettings {
        exclude: vec!["*".into()],
        ..with_bias
    };
    assert!(none.penalty(&m).is_none());
}

#[derive(Module, Debug)]
struct Head {
    hidden: Vec<Linear>,
    output: Linear,
}

#[derive(Module, Debug)]
struct Net {
    head: Head,
}

#[derive(Module, Debug)]
enum Wrapped {
    Net(Net),
}

fn net(device: &Device) -> Net {
    Net {
        head: Head {
            hidden: vec![
                LinearConfig::new(4, 3).init(device),
                LinearConfig::new(3, 3).init(device),
            ],
            output: LinearConfig::new(3, 2).init(device),
        },
    }
}

#[test]
fn paths_are_the_ones_burn_reports() {
    let device = Device::flex().autodiff();
    let n = net(&device);
    let weights = settings(0.0, 1.0).penalized_paths(&n);
    assert_eq!(
        weights,
        [
            "head.hidden.0.weight",
            "head.hidden.1.weight",
            "head.output.weight"
        ]
    );
    // Burn resolves the same strings: freezing exactly those paths freezes exactly those
    // parameters, and the penalty then skips them (nothing left to penalize).
    let frozen = n.freeze_group(ParamGroup::from_paths(weights));
    assert!(!frozen.head.hidden[0].weight.val().is_require_grad());
    assert!(!frozen.head.output.weight.val().is_require_grad());
    let bias = frozen.head.hidden[0].bias.as_ref().unwrap().val();
    assert!(bias.is_require_grad());
    assert!(settings(0.0, 1.0).penalty(&frozen).is_none());

    // include / exclude by pattern.
    let s = RegularizationSettings {
        include: vec!["head.output.*".into()],
        exclude: vec!["*hidden.1.*".into()],
        ..settings(0.0, 1.0)
    };
    let n = net(&device);
    assert_eq!(
        s.penalized_paths(&n),
        [
            "head.hidden.0.weight",
            "head.output.weight",
            "head.output.bias"
        ]
    );
    assert!(s.check_patterns(&n).is_ok());
    // Inside an enum the variant name is a path segment: `head.output.*` no longer matches
    // (the output weight stays, by the rank rule; its bias goes).
    let w = Wrapped::Net(n);
    assert_eq!(
        s.penalized_paths(&w),
        ["Net.head.hidden.0.weight", "Net.head.output.weight"]
    );
    let err = s.check_patterns(&w).unwrap_err().to_string();
    assert!(err.starts_with("regularization.include: pattern \"head.output.*\" matches no"));
}

#[test]
fn exclude_globs_match_paths_and_bad_settings_are_named() {
    assert!(glob_match("*", "a.b"));
    assert!(glob_match("*.bias", "head.hidden.0.bias"));
    assert!(!glob_match("*.bias", "head.hidden.0.bias_scale"));
    assert!(glob_match("head.*.weight", "head.hidden.0.weight"));
    assert!(glob_match("a*b*c", "aXbYbZc"));
    assert!(!glob_match("a*b*c", "aXbYbZ"));
    assert!(!glob_match("head", "head.weight"));

    assert!(settings(0.1, 0.2).validate().is_ok());
    let err = |s: RegularizationSettings| s.validate().unwrap_err().to_string();
    assert!(err(settings(-0.1, 0.0)).starts_with("regularization.l1: must be finite"));
    assert!(err(settings(0.0, f64::NAN)).starts_with("regularization.l2:"));
    for bad in ["", "head..weight", ".bias", "head weight", "head/weight"] {
        let s = RegularizationSettings {
            exclude: vec![bad.into()],
            ..Default::default()
        };
        assert!(
            err(s).starts_with("regularization.exclude: pattern"),
            "{bad:?}"
        );
    }
}

/// SplitMix64 (Steele et al. 2014) and Box-Muller: seeded normal samples without a
/// dependency on the RNG crates.
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn sample(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Gradient descent on `0.5 * mean((X w - y)^2) + penalty` for a bias-free 2 -> 1 Linear,
/// from w = (1, 1): 400 steps at lr 0.1 (the smooth part converges: Hessian eigenvalues are
/// about 1 and 0.5 (+ l2), so the error shrinks by (1 - 0.05)^400 ~ 1e-9), then 400 steps
/// with lr decaying as 0.1 * 0.98^k to 3e-5 (the diminishing step sizes of the subgradient
/// method, which let L1 settle at its kink).
fn fit(x: &[[f64; 2]], y: &[f64], reg: &RegularizationSettings) -> [f64; 2] {
    let device = Device::flex().autodiff();
    let n = x.len();
    let mut model: Linear = LinearConfig::new(2, 1).with_bias(false).init(&device);
    model.weight = model.weight.map(|_| {
        Tensor::from_data(TensorData::new(vec![1.0f32; 2], [2, 1]), &device).require_grad()
    });
    let flat: Vec<f32> = x.iter().flat_map(|r| [r[0] as f32, r[1] as f32]).collect();
    let xs = Tensor::<2>::from_data(TensorData::new(flat, [n, 2]), &device);
    let ys = Tensor::<2>::from_data(
        TensorData::new(y.iter().map(|v| *v as f32).collect(), [n, 1]),
        &device,
    );
    let sgd = OptimizerSettings::preset(OptimizerKind::Sgd);
    let mut optim = sgd.init().unwrap();
    for step in 0..800 {
        let lr = if step < 400 {
            0.1
        } else {
            0.1 * 0.98f64.powi(step - 400)
        };
        let err = model.forward(xs.clone()) - ys.clone();
        let loss = err.square().mean().mul_scalar(0.5) + reg.penalty(&model).unwrap();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
    }
    let w = values(model.weight.val());
    [w[0] as f64, w[1] as f64]
}

#[test]
fn l1_zeroes_an_irrelevant_feature_and_l2_does_not() {
    // y = 3 x0 + e with e ~ N(0, 0.5^2); the irrelevant feature x1 = e + 0.5 u (u ~ N(0, 1))
    // carries half its variance from the noise, so least squares *uses* it (OLS w1 ~
    // cov(x1, e) / var(x1) = 0.25 / 0.5 = 0.5). L1 zeroes w1 exactly when the correlation of
    // x1 with the residual stays below l1 (the lasso KKT condition |mean(x1 r)| <= l1, here
    // ~0.25 <= 0.5 with sampling error ~0.02), while L2 only shrinks it (ridge w1 ~
    // 0.25 / (0.5 + l2) = 0.25).
    let mut rng = Normal(20240611);
    let n = 256;
    let (mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let x0 = rng.sample();
        let e = 0.5 * rng.sample();
        let x1 = e + 0.5 * rng.sample();
        x.push([x0, x1]);
        y.push(3.0 * x0 + e);
    }
    let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
    let (s00, s01, s11) = (
        mean(&|i| x[i][0] * x[i][0]),
        mean(&|i| x[i][0] * x[i][1]),
        mean(&|i| x[i][1] * x[i][1]),
    );
    let (s0y, s1y) = (mean(&|i| x[i][0] * y[i]), mean(&|i| x[i][1] * y[i]));
    let coef = 0.5;

    // Lasso: with w1 = 0 and w0 > 0 the stationarity condition gives
    // w0 = (mean(x0 y) - l1) / mean(x0^2); w1 = 0 is optimal iff |mean(x1 (y - w0 x0))| <= l1.
    let w0_lasso = (s0y - coef) / s00;
    let kkt = (s1y - w0_lasso * s01).abs();
    assert!(kkt < 0.8 * coef, "data does not make w1 = 0 optimal: {kkt}");
    let [w0, w1] = fit(&x, &y, &settings(coef, 0.0));
    // Once lr is 3e-5 the subgradient iterate oscillates around 0 within
    // lr * (l1 + |smooth gradient|) < 3e-5 * 1, far below the bound.
    assert!(w1.abs() < 1e-3, "L1 left w1 = {w1}");
    assert!((w0 - w0_lasso).abs() < 1e-3, "{w0} vs {w0_lasso}");

    // Ridge: (X'X / n + l2 I) w = X'y / n, solved in closed form (2 x 2).
    let (a, b, d) = (s00 + coef, s01, s11 + coef);
    let det = a * d - b * b;
    let ridge = [(d * s0y - b * s1y) / det, (a * s1y - b * s0y) / det];
    let [w0, w1] = fit(&x, &y, &settings(0.0, coef));
    assert!(w1 > 1e-2, "L2 shrank w1 to {w1}");
    assert!((w0 - ridge[0]).abs() < 1e-3 && (w1 - ridge[1]).abs() < 1e-3);
}
