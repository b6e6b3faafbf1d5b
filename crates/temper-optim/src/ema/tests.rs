//! Checks of the EMA against timm ModelEmaV3's formula and hand-rolled averages.
use super::*;
use burn::module::{ParamId, RunningState};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, TensorData};

/// timm's defaults: a constant `decay` without warm-up.
fn constant(decay: f64) -> EmaSettings {
    EmaSettings {
        decay,
        warmup: false,
        ..Default::default()
    }
}

/// timm's warm-up curve, written out independently of `decay_at`.
fn curve(t: f64, gamma: f64, power: f64) -> f64 {
    1.0 - (1.0 + t / gamma).powf(-power)
}

#[test]
fn warmup_decay_matches_timm_formula() {
    let s = EmaSettings {
        warmup: true,
        warmup_power: 2.0 / 3.0,
        ..Default::default()
    };
    // Update 1 has t = 0: the curve is 1 - 1 = 0 (timm returns 0 there outright).
    assert_eq!(s.decay_at(0), 0.0);
    assert_eq!(s.decay_at(1), 0.0);
    // Update 10 has t = 9: 1 - 10^(-2/3) = 0.78456.
    assert!((s.decay_at(10) - curve(9.0, 1.0, 2.0 / 3.0)).abs() < 1e-15);
    assert!((s.decay_at(10) - 0.784_556_531).abs() < 1e-9);
    // Update 1000 has t = 999: 1 - 1000^(-2/3) = 1 - 0.01.
    assert!((s.decay_at(1000) - 0.99).abs() < 1e-12);
    // timm's docstring: power 2/3 "reaches decay factor 0.999 at 31.6K steps";
    // power 3/4 "0.999 at 10K steps". 1 + t = 1000^(3/2) = 31622.8 and 1000^(4/3) = 10^4.
    assert!((s.decay_at(31_623) - 0.999).abs() < 1e-8);
    let short = EmaSettings {
        warmup_power: 0.75,
        ..s.clone()
    };
    assert!((short.decay_at(10_000) - 0.999).abs() < 1e-12);
    // Clamped to [min_decay, decay]: t = 1 gives 1 - 2^(-2/3) = 0.37 < 0.5.
    let floor = EmaSettings {
        min_decay: 0.5,
        ..s.clone()
    };
    assert_eq!(floor.decay_at(2), 0.5);
    assert_eq!(s.decay_at(10_000_000), 0.9999);
    // update_after_step = 3: updates 1..=4 copy, update 5 has t = 1.
    let late = EmaSettings {
        update_after_step: 3,
        ..s.clone()
    };
    assert_eq!(late.decay_at(4), 0.0);
    assert!((late.decay_at(5) - curve(1.0, 1.0, 2.0 / 3.0)).abs() < 1e-15);
    // Without warm-up: the first update copies, then the constant decay.
    let plain = constant(0.9999);
    assert_eq!((plain.decay_at(1), plain.decay_at(2)), (0.0, 0.9999));
}

/// A mapper that fills every float tensor with `value`, keeping ids.
struct Fill(f32);
impl ModuleMapper for Fill {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let v = self.0;
        p.map(|t| t.full_like(v))
    }
}

/// Every float tensor of `m`, flattened in visiting order.
fn values<M: Module>(m: &M) -> Vec<f32> {
    struct Read(Vec<f32>);
    impl ModuleVisitor for Read {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0
                .extend(p.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut r = Read(Vec::new());
    m.visit(&mut r);
    r.0
}

fn ids<M: Module>(m: &M) -> Vec<ParamId> {
    struct Ids(Vec<ParamId>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.push(p.id);
        }
    }
    let mut r = Ids(Vec::new());
    m.visit(&mut r);
    r.0
}

#[test]
fn constant_weights_follow_the_closed_form() {
    // With the weights held at w from update 2 on, ema_k = w + (ema_1 - w) * prod_{t=2..k}
    // decay_t, and ema_1 = w_1 exactly because decay_1 = 0 (timm's first update copies).
    let device = Device::flex();
    let model: Linear = LinearConfig::new(3, 2).init(&device);
    let first = model.clone().map(&mut Fill(1.0));
    let w = model.clone().map(&mut Fill(5.0));
    for settings in [
        constant(0.9),
        EmaSettings {
            warmup_power: 2.0 / 3.0,
            ..Default::default()
        },
        EmaSettings::default(),
    ] {
        let mut ema = ModelEma::new(&model, &settings).unwrap();
        assert_eq!(ema.update(&first).unwrap(), 0.0);
        assert!(values(ema.ema()).iter().all(|&v| v == 1.0));
        let mut prod = 1.0;
        for k in 2..=6 {
            let d = ema.update(&w).unwrap();
            assert_eq!(d, settings.decay_at(k));
            prod *= d;
            let want = 5.0 + (1.0 - 5.0) * prod;
            for v in values(ema.ema()) {
                assert!((v as f64 - want).abs() < 1e-5, "k={k}: {v} vs {want}");
            }
        }
        if !settings.warmup {
            // Without warm-up, prod = decay^5 after updates 2..=6.
            assert!((prod - settings.decay.powi(5)).abs() < 1e-15);
        }
        assert_eq!(ema.step(), 6);
    }
}

#[test]
fn param_ids_survive_optimizer_steps() {
    let device = Device::flex().autodiff();
    let model: Linear = LinearConfig::new(2, 1).init(&device);
    let before = ids(&model);
    let mut optim = SgdConfig::new().init();
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2]), &device);
    let grads = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
    let stepped = optim.step(0.1, model.clone(), grads);
    assert_ne!(values(&stepped), values(&model));
    assert_eq!(ids(&stepped), before);
    assert_eq!(ids(&stepped.valid()), before);
}

#[test]
fn sgd_run_matches_a_hand_rolled_average() {
    let device = Device::flex().autodiff();
    let mut model: Linear = LinearConfig::new(2, 1).init(&device);
    let settings = constant(0.8);
    let mut ema = ModelEma::new(&model, &settings).unwrap();
    let mut optim = SgdConfig::new().init();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 2.0, -1.0, 0.5], [2, 2]),
        &device,
    );
    let mut hand: Vec<f64> = Vec::new();
    for step in 1..=4 {
        let loss = model.forward(x.clone()).powf_scalar(2.0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(0.1, model, grads);
        ema.update(&model).unwrap();
        // ema = d * ema + (1 - d) * w with d = 0 at update 1, 0.8 after.
        let w = values(&model);
        let d = if step == 1 { 0.0 } else { 0.8 };
        hand = if hand.is_empty() {
            w.iter().map(|&v| v as f64).collect()
        } else {
            hand.iter()
                .zip(&w)
                .map(|(e, &v)| d * e + (1.0 - d) * v as f64)
                .collect()
        };
    }
    let got = values(ema.ema());
    for (g, h) in got.iter().zip(&hand) {
        assert!((*g as f64 - h).abs() < 1e-6, "{g} vs {h}");
    }
    let live = values(&model);
    let gap: f32 = got.iter().zip(&live).map(|(a, b)| (a - b).abs()).sum();
    assert!(gap > 1e-4, "the average should lag the model, gap {gap}");
    // The average is detached: no autodiff graph, no gradient requirement.
    assert!(!ema.ema().weight.val().is_require_grad());
    assert_eq!(ids(ema.ema()), ids(&model));
}

#[derive(Module, Debug)]
struct WithStats {
    linear: Linear,
    stats: RunningState<Tensor<1>>,
}

#[test]
fn running_state_buffers_are_averaged_like_timm() {
    // timm (exclude_buffers = False) lerps float buffers too; Burn visits a RunningState
    // as a float tensor with its id. Stats 2 -> updates with 10: 10 + (2 - 10) * 0.5.
    let device = Device::flex();
    let stats = |v: f32, id| RunningState::with_id(id, Tensor::<1>::full([3], v, &device));
    let id = ParamId::new();
    let model = WithStats {
        linear: LinearConfig::new(1, 1).init(&device),
        stats: stats(2.0, id),
    };
    let settings = constant(0.5);
    let mut ema = ModelEma::new(&model, &settings).unwrap();
    ema.update(&model).unwrap(); // copy: stats 2
    let moved = WithStats {
        linear: model.linear.clone(),
        stats: stats(10.0, id),
    };
    ema.update(&moved).unwrap();
    let got = ema
        .ema()
        .stats
        .value()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(got, vec![6.0; 3]);
}

/// Tensors are matched by path (a checkpoint does not keep a running statistic's id), so
/// another model of the same layout is accepted and one of another layout is refused.
#[test]
fn another_model_is_an_error_not_a_panic() {
    let device = Device::flex();
    let a: Linear = LinearConfig::new(2, 1).init(&device);
    let b: Linear = LinearConfig::new(3, 1).init(&device);
    let mut ema = ModelEma::new(&a, &EmaSettings::default()).unwrap();
    let err = ema.update(&b).unwrap_err().to_string();
    assert!(
        err.starts_with("optim.ema: `weight` has 3 elements in the model and 2"),
        "{err}"
    );
    assert_eq!(ema.step(), 0);
    assert_eq!(values(ema.ema()), values(&a));
}

#[test]
fn settings_parse_from_optim_and_validate() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Optim {
        ema: EmaSettings,
    }
    let o: Optim = toml::from_str("ema = { decay = 0.999, warmup = false }").unwrap();
    assert_eq!(o.ema, constant(0.999));
    // timm ModelEmaV3 defaults, but with its warm-up for short runs (power 3/4).
    let d = EmaSettings::default();
    assert_eq!((d.decay, d.min_decay, d.warmup), (0.9999, 0.0, true));
    assert_eq!((d.warmup_gamma, d.warmup_power), (1.0, 0.75));
    let typo = toml::from_str::<Optim>("ema = { decai = 0.9 }").unwrap_err();
    assert!(typo.to_string().contains("unknown field `decai`"), "{typo}");
    let err = |s: EmaSettings| s.validate().unwrap_err().to_string();
    assert_eq!(
        err(EmaSettings {
            decay: 1.5,
            ..d.clone()
        }),
        "optim.ema.decay: must be in [0, 1], got 1.5"
    );
    assert_eq!(
        err(EmaSettings {
            min_decay: 0.99999,
            ..d.clone()
        }),
        "optim.ema.min_decay: must be in [0, decay = 0.9999], got 0.99999"
    );
    assert!(
        err(EmaSettings {
            warmup_power: 0.0,
            ..d.clone()
        })
        .starts_with("optim.ema.warmup_power")
    );
    assert!(
        ModelEma::new(
            &LinearConfig::new(1, 1).init(&Device::flex()),
            &EmaSettings {
                warmup_gamma: f64::NAN,
                ..d
            }
        )
        .is_err()
    );
}

/// The ema of a weight that is 0 at update 1 (which copies it) and 1 from update 2 on, after
/// `n` updates: `1 - prod_{k=2..n} decay_k`, from the decay curve alone.
fn closed_form_after_a_jump(settings: &EmaSettings, n: usize) -> f64 {
    1.0 - (2..=n).map(|k| settings.decay_at(k)).product::<f64>()
}

#[test]
fn default_average_reaches_the_new_weights_within_a_default_length_run() {
    // The default run: 844 optimizer steps. timm's constant 0.9999 keeps
    // 0.9999^843 = 91.9% of the first weights; the default warm-up (power 3/4) forgets them:
    // ln prod = sum ln(1 - (1 + t)^-3/4) over t = 1..843, about -16.
    let n = 844;
    assert!(
        (closed_form_after_a_jump(&constant(0.9999), n) - (1.0 - 0.9999f64.powi(843))).abs()
            < 1e-12
    );
    assert!(closed_form_after_a_jump(&constant(0.9999), n) < 0.1);
    let defaults = EmaSettings::default();
    let want = closed_form_after_a_jump(&defaults, n);
    assert!(want > 1.0 - 1e-6, "{want}");
    // And the average itself follows the closed form.
    let device = Device::flex();
    let model: Linear = LinearConfig::new(1, 1).init(&device);
    let (zero, one) = (
        model.clone().map(&mut Fill(0.0)),
        model.clone().map(&mut Fill(1.0)),
    );
    let mut ema = ModelEma::new(&model, &defaults).unwrap();
    ema.update(&zero).unwrap();
    for _ in 2..=n {
        ema.update(&one).unwrap();
    }
    for v in values(ema.ema()) {
        assert!((v as f64 - want).abs() < 1e-5, "{v} vs {want}");
    }
}

#[test]
fn a_horizon_longer_than_the_run_is_warned_about() {
    // 1 / (1 - 0.9999) = 10,000 updates > 844 steps.
    let warning = constant(0.9999).horizon_warning(844).expect("warns");
    assert!(
        warning.contains("10000 updates") && warning.contains("844 steps"),
        "{warning}"
    );
    assert!(!warning.contains('\n'));
    // The default warm-up's horizon at update 844 is 844^(3/4) = 157 updates.
    assert!((EmaSettings::default().horizon_at(844) - 844f64.powf(0.75)).abs() < 1e-6);
    assert_eq!(EmaSettings::default().horizon_warning(844), None);
    // A constant decay whose horizon fits: 1 / (1 - 0.99) = 100 updates.
    assert_eq!(constant(0.99).horizon_warning(844), None);
    assert_eq!(constant(0.9999).horizon_warning(0), None);
}
