use super::*;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

/// One step of `settings` on `w = [[1.0]]` (no bias) with loss `sum(w * x)`, x = 2, so the
/// gradient is exactly 2.
fn one_step(settings: &OptimizerSettings) -> f32 {
    let device = Device::flex().autodiff();
    let mut model: Linear = LinearConfig::new(1, 1).with_bias(false).init(&device);
    model.weight = model
        .weight
        .map(|_| Tensor::from_data(TensorData::new(vec![1.0f32], [1, 1]), &device).require_grad());
    let mut optim = settings.init().unwrap();
    let x = Tensor::<2>::from_data(TensorData::new(vec![2.0f32], [1, 1]), &device);
    let grads = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
    let model = optim.step(settings.resolve().unwrap().learning_rate(), model, grads);
    model.weight.val().into_data().try_to_vec::<f32>().unwrap()[0]
}

#[test]
fn first_steps_match_pytorch_update_rules() {
    // SGD, lr 0.1: w - lr * g = 1 - 0.1 * 2 = 0.8.
    let sgd = OptimizerSettings {
        kind: OptimizerKind::Sgd,
        lr: Some(0.1),
        ..Default::default()
    };
    assert!((one_step(&sgd) - 0.8).abs() < 1e-6);
    // SGD with coupled weight decay 0.5: g' = 2 + 0.5 * 1 = 2.5, w = 1 - 0.25 = 0.75.
    let sgd_wd = OptimizerSettings {
        weight_decay: Some(0.5),
        ..sgd.clone()
    };
    assert!((one_step(&sgd_wd) - 0.75).abs() < 1e-6);
    // Adam's first step is lr * m_hat / (sqrt(v_hat) + eps) = lr * g/|g| ≈ lr:
    // 1 - 1e-3 (Kingma & Ba 2015, Algorithm 1).
    let adam = OptimizerSettings::preset(OptimizerKind::Adam);
    assert!(
        (one_step(&adam) - 0.999).abs() < 1e-6,
        "{}",
        one_step(&adam)
    );
    // AdamW: decoupled decay first, w(1 - lr * wd) = 1 - 1e-5, then the Adam step 1e-3.
    let adamw = OptimizerSettings::preset(OptimizerKind::AdamW);
    assert!((one_step(&adamw) - (1.0 - 1e-5 - 1e-3)).abs() < 1e-6);
}

#[test]
fn presets_state_pytorch_defaults() {
    let a = OptimizerSettings::preset(OptimizerKind::Adam);
    assert_eq!(a.eps, Some(1e-8));
    assert_eq!(a.betas, Some([0.9, 0.999]));
    let r = OptimizerSettings::preset(OptimizerKind::RmsProp);
    assert_eq!((r.momentum, r.alpha), (Some(0.0), Some(0.99)));
    let s = OptimizerSettings::preset(OptimizerKind::Sgd);
    assert_eq!((s.dampening, s.betas), (Some(0.0), None));
    assert_eq!(
        OptimizerSettings::preset(OptimizerKind::AdaGrad).eps,
        Some(1e-10)
    );
}

#[test]
fn fields_that_do_not_apply_are_named() {
    let bad = OptimizerSettings {
        kind: OptimizerKind::Sgd,
        betas: Some([0.9, 0.99]),
        ..Default::default()
    };
    let err = bad.resolve().unwrap_err().to_string();
    assert_eq!(err, "optim.betas: does not apply to sgd");
    let neg = OptimizerSettings {
        lr: Some(-1.0),
        ..Default::default()
    };
    assert!(
        neg.resolve()
            .unwrap_err()
            .to_string()
            .starts_with("optim.lr")
    );
}

#[test]
fn every_preset_builds_and_steps() {
    for kind in [
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
        OptimizerKind::AdaGrad,
        OptimizerKind::RmsProp,
    ] {
        let w = one_step(&OptimizerSettings::preset(kind));
        // Largest first step is RMSprop's: lr * g / sqrt((1 - alpha) * g^2) = 0.1.
        assert!((0.85..1.0).contains(&w), "{kind:?} moved w to {w}");
    }
}

// ---------------------------------------------------------------------------------------------
// Exact update rules. `reference` transcribes the algorithm boxes of the torch.optim
// documentation (SGD, Adam, AdamW, Adagrad, RMSprop; PyTorch 2.x) in f64, element by element;
// `trajectory` runs temper's optimizer on the same weights and gradients. Adagrad's state
// starts at `initial_accumulator_value` as in `torch/optim/adagrad.py` (`torch.full_like`; the
// documentation box writes `state_sum_0 <- 0` but the code and the `tau` input say otherwise).
// ---------------------------------------------------------------------------------------------

const W0: [f64; 3] = [1.0, -2.0, 0.5];
/// The gradient of each of three steps (loss `sum(w * g_t)`, so the gradient is `g_t`).
const G: [[f64; 3]; 3] = [[2.0, -1.0, 0.5], [-1.0, 3.0, 0.25], [0.5, 0.5, -2.0]];
/// Learning-rate multipliers of the three steps, as a schedule would pass them.
const LR_SCALE: [f64; 3] = [1.0, 0.5, 0.25];

/// The weights after each of the three steps of `settings` (a bias-free 3 -> 1 Linear).
fn trajectory(settings: &OptimizerSettings) -> Vec<[f64; 3]> {
    let device = Device::flex().autodiff();
    let mut model: Linear = LinearConfig::new(3, 1).with_bias(false).init(&device);
    let w0: Vec<f32> = W0.iter().map(|v| *v as f32).collect();
    model.weight = model
        .weight
        .map(|_| Tensor::from_data(TensorData::new(w0, [3, 1]), &device).require_grad());
    let mut optim = settings.init().unwrap();
    let lr = settings.resolve().unwrap().learning_rate();
    let mut out = Vec::new();
    for (g, scale) in G.iter().zip(LR_SCALE) {
        let x = g.iter().map(|v| *v as f32).collect::<Vec<_>>();
        let x = Tensor::<2>::from_data(TensorData::new(x, [1, 3]), &device);
        let grads = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
        model = optim.step(lr * scale, model, grads);
        let w = model.weight.val().into_data().try_to_vec::<f32>().unwrap();
        out.push([w[0] as f64, w[1] as f64, w[2] as f64]);
    }
    out
}

/// PyTorch's documented algorithms, per element, in f64.
fn reference(settings: &OptimizerSettings) -> Vec<[f64; 3]> {
    let r = settings.resolve().unwrap();
    let get = |v: Option<f64>| v.unwrap_or(0.0);
    let wd = get(r.weight_decay);
    let decoupled = r.weight_decay_mode == Some(WeightDecayMode::Decoupled);
    let (mu, damp, eps, alpha) = (get(r.momentum), get(r.dampening), get(r.eps), get(r.alpha));
    let [b1, b2] = r.betas.unwrap_or([0.0, 0.0]);
    let mut w = W0;
    let mut buf = [0.0; 3]; // SGD / RMSprop momentum buffer b
    let (mut m, mut v, mut g_ave) = ([0.0; 3], [0.0; 3], [0.0; 3]);
    let mut v_max = [0.0f64; 3]; // AMSGrad's max_exp_avg_sqs
    let amsgrad = r.amsgrad == Some(true);
    let mut sum = [get(r.initial_accumulator_value); 3];
    let mut out = Vec::new();
    for t in 1..=3 {
        let lr = r.learning_rate() * LR_SCALE[t - 1];
        for i in 0..3 {
            let mut g = G[t - 1][i];
            if decoupled {
                w[i] *= 1.0 - lr * wd; // AdamW: theta <- theta - gamma * lambda * theta
            } else {
                g += wd * w[i]; // g <- g + lambda * theta
            }
            match r.kind {
                OptimizerKind::Sgd => {
                    if mu != 0.0 {
                        buf[i] = if t == 1 {
                            g
                        } else {
                            mu * buf[i] + (1.0 - damp) * g
                        };
                        g = if r.nesterov == Some(true) {
                            g + mu * buf[i]
                        } else {
                            buf[i]
                        };
                    }
                    w[i] -= lr * g;
                }
                OptimizerKind::Adam | OptimizerKind::AdamW => {
                    m[i] = b1 * m[i] + (1.0 - b1) * g;
                    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                    let m_hat = m[i] / (1.0 - b1.powi(t as i32));
                    // amsgrad: v_max <- max(v_max, v_t); denom = sqrt(v_max) / sqrt(bc2) + eps.
                    v_max[i] = v_max[i].max(v[i]);
                    let v_used = if amsgrad { v_max[i] } else { v[i] };
                    let denom = v_used.sqrt() / (1.0 - b2.powi(t as i32)).sqrt() + eps;
                    w[i] -= lr * m_hat / denom;
                }
                OptimizerKind::AdaGrad => {
                    let clr = lr / (1.0 + (t - 1) as f64 * get(r.lr_decay));
                    sum[i] += g * g;
                    w[i] -= clr * g / (sum[i].sqrt() + eps);
                }
                OptimizerKind::RmsProp => {
                    v[i] = alpha * v[i] + (1.0 - alpha) * g * g;
                    let mut v_tilde = v[i];
                    if r.centered == Some(true) {
                        g_ave[i] = alpha * g_ave[i] + (1.0 - alpha) * g;
                        v_tilde -= g_ave[i] * g_ave[i];
                    }
                    let step = g / (v_tilde.sqrt() + eps);
                    if mu > 0.0 {
                        buf[i] = mu * buf[i] + step;
                        w[i] -= lr * buf[i];
                    } else {
                        w[i] -= lr * step;
                    }
                }
                OptimizerKind::SgdHd | OptimizerKind::AdamHd => {
                    unreachable!("resolve maps the -hd kinds to sgd and adam")
                }
            }
        }
        out.push(w);
    }
    out
}

fn with(kind: OptimizerKind, edit: impl FnOnce(&mut OptimizerSettings)) -> OptimizerSettings {
    let mut s = OptimizerSettings {
        kind,
        lr: Some(0.1),
        ..Default::default()
    };
    edit(&mut s);
    s
}

/// Every option of every kind away from its preset, one at a time (or in the pairs that
/// interact), named for the failure message.
fn variants() -> Vec<(&'static str, OptimizerSettings)> {
    use OptimizerKind::*;
    use WeightDecayMode::*;
    vec![
        ("sgd momentum", with(Sgd, |s| s.momentum = Some(0.9))),
        (
            "sgd dampening",
            with(Sgd, |s| (s.momentum, s.dampening) = (Some(0.9), Some(0.5))),
        ),
        (
            "sgd nesterov",
            with(Sgd, |s| (s.momentum, s.nesterov) = (Some(0.9), Some(true))),
        ),
        (
            "sgd coupled decay",
            with(Sgd, |s| {
                (s.momentum, s.weight_decay) = (Some(0.9), Some(0.1))
            }),
        ),
        (
            "sgd decoupled decay",
            with(Sgd, |s| {
                (s.momentum, s.weight_decay) = (Some(0.9), Some(0.5));
                s.weight_decay_mode = Some(Decoupled);
            }),
        ),
        ("adam betas", with(Adam, |s| s.betas = Some([0.8, 0.9]))),
        ("adam eps", with(Adam, |s| s.eps = Some(0.1))),
        (
            "adam coupled decay",
            with(Adam, |s| s.weight_decay = Some(0.1)),
        ),
        (
            "adam decoupled decay",
            with(Adam, |s| {
                (s.weight_decay, s.weight_decay_mode) = (Some(0.5), Some(Decoupled))
            }),
        ),
        ("adamw decay", with(AdamW, |s| s.weight_decay = Some(0.5))),
        // beta2 0.5 lets v_t fall below an earlier v_t, so v_max matters from step 2 on.
        (
            "adam amsgrad",
            with(Adam, |s| {
                (s.amsgrad, s.betas) = (Some(true), Some([0.8, 0.5]))
            }),
        ),
        (
            "adam amsgrad coupled decay",
            with(Adam, |s| {
                (s.amsgrad, s.betas, s.weight_decay) = (Some(true), Some([0.8, 0.5]), Some(0.1))
            }),
        ),
        (
            "adam amsgrad decoupled decay",
            with(Adam, |s| {
                (s.amsgrad, s.betas, s.weight_decay) = (Some(true), Some([0.8, 0.5]), Some(0.5));
                s.weight_decay_mode = Some(Decoupled);
            }),
        ),
        (
            "adamw amsgrad",
            with(AdamW, |s| {
                (s.amsgrad, s.betas, s.weight_decay) = (Some(true), Some([0.8, 0.5]), Some(0.5))
            }),
        ),
        ("adamw eps", with(AdamW, |s| s.eps = Some(0.1))),
        (
            "adagrad lr_decay",
            with(AdaGrad, |s| s.lr_decay = Some(0.5)),
        ),
        (
            "adagrad initial accumulator",
            with(AdaGrad, |s| s.initial_accumulator_value = Some(0.5)),
        ),
        ("adagrad eps", with(AdaGrad, |s| s.eps = Some(0.1))),
        (
            "adagrad coupled decay",
            with(AdaGrad, |s| s.weight_decay = Some(0.1)),
        ),
        (
            "adagrad decoupled decay",
            with(AdaGrad, |s| {
                (s.weight_decay, s.weight_decay_mode) = (Some(0.5), Some(Decoupled))
            }),
        ),
        ("rmsprop alpha", with(RmsProp, |s| s.alpha = Some(0.9))),
        ("rmsprop eps", with(RmsProp, |s| s.eps = Some(0.1))),
        (
            "rmsprop momentum",
            with(RmsProp, |s| s.momentum = Some(0.9)),
        ),
        (
            "rmsprop centered",
            with(RmsProp, |s| s.centered = Some(true)),
        ),
        (
            "rmsprop centered momentum",
            with(RmsProp, |s| {
                (s.centered, s.momentum) = (Some(true), Some(0.5))
            }),
        ),
        (
            "rmsprop coupled decay",
            with(RmsProp, |s| s.weight_decay = Some(0.1)),
        ),
        (
            "rmsprop decoupled decay",
            with(RmsProp, |s| {
                (s.weight_decay, s.weight_decay_mode) = (Some(0.5), Some(Decoupled))
            }),
        ),
    ]
}

/// Every preset and every option, three steps each, against the reference.
#[test]
fn every_rule_matches_pytorch_for_three_steps() {
    use OptimizerKind::*;
    let mut cases: Vec<(String, OptimizerSettings)> = [Sgd, Adam, AdamW, AdaGrad, RmsProp]
        .into_iter()
        .map(|k| (format!("{k:?} preset"), OptimizerSettings::preset(k)))
        .collect();
    cases.extend(variants().into_iter().map(|(n, s)| (n.to_string(), s)));
    for (name, settings) in &cases {
        let (got, want) = (trajectory(settings), reference(settings));
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            for i in 0..3 {
                assert!(
                    (g[i] - w[i]).abs() < 5e-6,
                    "{name}, step {}: {g:?} vs PyTorch {w:?}",
                    t + 1
                );
            }
        }
    }
}

/// A few of the reference values worked out by hand, so the reference itself is checked.
#[test]
fn the_reference_matches_hand_worked_steps() {
    // SGD, lr 0.1 (then 0.05), momentum 0.9, element 0: b1 = g1 = 2, w1 = 1 - 0.1 * 2 = 0.8;
    // b2 = 0.9 * 2 + (-1) = 0.8, w2 = 0.8 - 0.05 * 0.8 = 0.76.
    let t = trajectory(&with(OptimizerKind::Sgd, |s| s.momentum = Some(0.9)));
    assert!((t[0][0] - 0.8).abs() < 1e-6 && (t[1][0] - 0.76).abs() < 1e-6);
    // Adagrad, lr 0.1, initial accumulator 0.5, eps 1e-10, element 0:
    // sum = 0.5 + 4 = 4.5, w1 = 1 - 0.1 * 2 / sqrt(4.5) = 0.905719...
    let t = trajectory(&with(OptimizerKind::AdaGrad, |s| {
        s.initial_accumulator_value = Some(0.5)
    }));
    assert!(
        (t[0][0] - (1.0 - 0.2 / 4.5f64.sqrt())).abs() < 1e-6,
        "{}",
        t[0][0]
    );
    // Adagrad lr_decay 0.5: step 2 uses lr 0.05 / (1 + 0.5) and sum = 4 + 1 = 5:
    // w2 = (1 - 0.1 * 2 / 2) - 0.05 / 1.5 * (-1) / sqrt(5) = 0.9 + 0.0149071...
    let t = trajectory(&with(OptimizerKind::AdaGrad, |s| s.lr_decay = Some(0.5)));
    let w2 = 0.9 + 0.05 / 1.5 / 5f64.sqrt();
    assert!((t[1][0] - w2).abs() < 1e-6, "{} vs {w2}", t[1][0]);
    // RMSprop centered, lr 0.1, alpha 0.99, element 0, step 1: v = 0.01 * 4, g_ave = 0.02,
    // v~ = 0.04 - 0.0004 = 0.0396, w1 = 1 - 0.1 * 2 / sqrt(0.0396) = -0.005037...
    let t = trajectory(&with(OptimizerKind::RmsProp, |s| s.centered = Some(true)));
    let w1 = 1.0 - 0.2 / 0.0396f64.sqrt();
    assert!((t[0][0] - w1).abs() < 1e-5, "{} vs {w1}", t[0][0]);
}

#[test]
fn adam_with_decoupled_decay_is_adamw() {
    let adam = OptimizerSettings {
        kind: OptimizerKind::Adam,
        weight_decay: Some(0.3),
        weight_decay_mode: Some(WeightDecayMode::Decoupled),
        ..Default::default()
    };
    let adamw = OptimizerSettings {
        kind: OptimizerKind::AdamW,
        weight_decay: Some(0.3),
        ..Default::default()
    };
    for (a, b) in trajectory(&adam).iter().zip(trajectory(&adamw)) {
        for i in 0..3 {
            assert!((a[i] - b[i]).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn weight_decay_mode_defaults_by_kind_and_misplaced_options_are_named() {
    use WeightDecayMode::*;
    let mode = |k| OptimizerSettings::preset(k).weight_decay_mode;
    assert_eq!(mode(OptimizerKind::AdamW), Some(Decoupled));
    for k in [
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::AdaGrad,
    ] {
        assert_eq!(mode(k), Some(Coupled));
    }
    let bad = OptimizerSettings {
        kind: OptimizerKind::AdamW,
        weight_decay_mode: Some(Coupled),
        ..Default::default()
    };
    assert!(
        bad.resolve()
            .unwrap_err()
            .to_string()
            .starts_with("optim.weight_decay_mode: adamw")
    );
    let bad = OptimizerSettings {
        kind: OptimizerKind::Adam,
        initial_accumulator_value: Some(0.1),
        ..Default::default()
    };
    assert_eq!(
        bad.resolve().unwrap_err().to_string(),
        "optim.initial_accumulator_value: does not apply to adam"
    );
    let bad = OptimizerSettings {
        kind: OptimizerKind::AdaGrad,
        initial_accumulator_value: Some(-0.1),
        ..Default::default()
    };
    assert!(
        bad.resolve()
            .unwrap_err()
            .to_string()
            .starts_with("optim.initial_accumulator_value: must be >= 0")
    );
    let bad = OptimizerSettings {
        clip: Some(GradClipSettings::Norm(-1.0)),
        ..Default::default()
    };
    assert!(bad.init().is_err());
}

#[test]
fn clip_settings_reach_the_optimizer() {
    // Per-tensor `value = 0.5` is installed by init(): SGD lr 1 on gradient 2 moves w by 0.5.
    let clipped = OptimizerSettings {
        kind: OptimizerKind::Sgd,
        lr: Some(1.0),
        clip: Some(GradClipSettings::Value(0.5)),
        ..Default::default()
    };
    assert!((one_step(&clipped) - 0.5).abs() < 1e-6);

    // `global_norm` goes through clip_gradients: gradient (2) has norm 2; max 1 -> 1 / (2 +
    // 1e-6); without a global setting the gradients pass through untouched.
    let device = Device::flex().autodiff();
    let model: Linear = LinearConfig::new(1, 1).with_bias(false).init(&device);
    let x = Tensor::<2>::from_data(TensorData::new(vec![2.0f32], [1, 1]), &device);
    let grads = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
    let global = OptimizerSettings {
        clip: Some(GradClipSettings::GlobalNorm(1.0)),
        ..Default::default()
    };
    let (grads, total) = global.clip_gradients(grads, &model);
    assert!((total.unwrap() - 2.0).abs() < 1e-6);
    let g = grads
        .get::<2>(model.weight.id)
        .unwrap()
        .into_scalar::<f32>();
    assert!((g as f64 - 2.0 / (2.0 + 1e-6)).abs() < 1e-6);
    let (grads, total) = OptimizerSettings::default().clip_gradients(grads, &model);
    assert_eq!(total, None);
    assert_eq!(grads.len(), 1);
}

#[test]
fn amsgrad_steps_with_the_running_maximum_of_the_second_moment() {
    // PyTorch's Adam(amsgrad=True), betas (0.5, 0.5), lr 0.1 then 0.05 and 0.025, element 0
    // with gradients 2, -1, 0.5:
    // t = 1: m = 1, v = v_max = 2, m_hat = 2, v_hat = 4, w = 1 - 0.1 * 2 / 2 = 0.9.
    // t = 2: m = 0 (no move), v = 1.5, v_max = 2.
    // t = 3: m = 0.25, m_hat = 0.25 / 0.875, v = 0.875 but v_max = 2:
    //        w = 0.9 - 0.025 * (0.25 / 0.875) / sqrt(2 / 0.875) = 0.895275...
    // Plain Adam divides by sqrt(0.875 / 0.875) = 1 instead: 0.892857...
    let ams = |kind, on| {
        trajectory(&with(kind, |s| {
            (s.amsgrad, s.betas, s.weight_decay) = (Some(on), Some([0.5, 0.5]), Some(0.0))
        }))
    };
    let m_hat = 0.25 / 0.875;
    let want = 0.9 - 0.025 * m_hat / (2.0f64 / 0.875).sqrt();
    for kind in [OptimizerKind::Adam, OptimizerKind::AdamW] {
        let t = ams(kind, true);
        assert!(
            (t[0][0] - 0.9).abs() < 1e-6 && (t[1][0] - 0.9).abs() < 1e-6,
            "{t:?}"
        );
        assert!(
            (t[2][0] - want).abs() < 1e-6,
            "{kind:?}: {} vs {want}",
            t[2][0]
        );
        let plain = ams(kind, false);
        assert!(
            (plain[2][0] - (0.9 - 0.025 * m_hat)).abs() < 1e-6,
            "{plain:?}"
        );
    }
    // Only Adam and AdamW have it, as in PyTorch.
    for kind in [
        OptimizerKind::Sgd,
        OptimizerKind::AdaGrad,
        OptimizerKind::RmsProp,
    ] {
        let bad = with(kind, |s| s.amsgrad = Some(true));
        let err = bad.resolve().unwrap_err().to_string();
        assert!(err.starts_with("optim.amsgrad: does not apply to"), "{err}");
    }
    assert_eq!(
        OptimizerSettings::preset(OptimizerKind::Adam).amsgrad,
        Some(false)
    );
    assert_eq!(OptimizerSettings::preset(OptimizerKind::Sgd).amsgrad, None);
}
