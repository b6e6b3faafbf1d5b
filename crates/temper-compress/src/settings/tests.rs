use super::*;

fn key_of(err: CompressError) -> String {
    match err {
        CompressError::Invalid { key, .. } => key,
        other => panic!("expected a settings error, got {other}"),
    }
}

#[test]
fn prune_defaults_are_tf_mot_and_zhu_gupta_and_valid() {
    let s: PruneSettings = toml::from_str("").unwrap();
    assert_eq!(s, PruneSettings::default());
    assert_eq!((s.frequency, s.power, s.begin_step), (100, 3.0, 0));
    s.validate().unwrap();
}

#[test]
fn each_out_of_range_prune_value_names_its_key() {
    let base = PruneSettings {
        end_step: Some(1000),
        ..PruneSettings::default()
    };
    base.validate().unwrap();
    let cases: [(&str, PruneSettings); 9] = [
        (
            "prune.sparsity",
            PruneSettings {
                sparsity: 1.0,
                ..base.clone()
            },
        ),
        (
            "prune.sparsity",
            PruneSettings {
                sparsity: f64::NAN,
                ..base.clone()
            },
        ),
        (
            "prune.frequency",
            PruneSettings {
                frequency: 0,
                ..base.clone()
            },
        ),
        (
            "prune.initial_sparsity",
            PruneSettings {
                initial_sparsity: 0.6,
                ..base.clone()
            },
        ),
        (
            "prune.power",
            PruneSettings {
                power: 0.0,
                ..base.clone()
            },
        ),
        (
            "prune.end_step",
            PruneSettings {
                begin_step: 1000,
                ..base.clone()
            },
        ),
        (
            "prune.end_step",
            PruneSettings {
                end_step: Some(1050),
                ..base.clone()
            },
        ),
        (
            "prune.end_step",
            PruneSettings {
                kind: PruneKind::Channels,
                ..base.clone()
            },
        ),
        (
            "prune.scope",
            PruneSettings {
                kind: PruneKind::Channels,
                scope: PruneScope::Global,
                end_step: None,
                ..base.clone()
            },
        ),
    ];
    for (key, s) in cases {
        assert_eq!(key_of(s.validate().unwrap_err()), key, "{s:?}");
    }
}

#[test]
fn prune_settings_make_their_schedule() {
    let gradual: PruneSettings =
        toml::from_str("sparsity = 0.8\nbegin_step = 100\nend_step = 1100\nfrequency = 50")
            .unwrap();
    gradual.validate().unwrap();
    let s = gradual.schedule();
    assert_eq!(s, PruningSchedule::polynomial(0.0, 0.8, 100, 1100, 50, 3.0));
    assert_eq!(s.last_prune_step(), 1100);
    let once = PruneSettings {
        begin_step: 7,
        ..PruneSettings::default()
    }
    .schedule();
    assert_eq!(once, PruningSchedule::one_shot(0.5, 7));
}

#[test]
fn settings_round_trip_through_toml() {
    let prune = PruneSettings {
        kind: PruneKind::Channels,
        sparsity: 0.25,
        finetune_epochs: 3,
        ..PruneSettings::default()
    };
    let text = toml::to_string(&prune).unwrap();
    assert!(text.contains("kind = \"channels\""), "{text}");
    assert_eq!(toml::from_str::<PruneSettings>(&text).unwrap(), prune);

    let swa: SwaSettings =
        toml::from_str("start_epoch = 8\nlr = 0.05\nanneal = \"linear\"").unwrap();
    assert_eq!((swa.anneal_epochs, swa.anneal), (10, SwaAnneal::Linear));
    assert_eq!(
        toml::from_str::<SwaSettings>(&toml::to_string(&swa).unwrap()).unwrap(),
        swa
    );

    let distill: DistillSettings = toml::from_str("teacher = \"runs/big\"").unwrap();
    assert_eq!((distill.temperature, distill.alpha), (4.0, 0.9));
    let back = toml::from_str::<DistillSettings>(&toml::to_string(&distill).unwrap()).unwrap();
    assert_eq!(back, distill);

    let quant: QuantizeSettings = toml::from_str("scheme = \"per-tensor\"").unwrap();
    assert_eq!(quant.scheme, QuantScheme::PerTensor);
    assert_eq!(quant.calibration_images, 256);
    let back = toml::from_str::<QuantizeSettings>(&toml::to_string(&quant).unwrap()).unwrap();
    assert_eq!(back, quant);
}

#[test]
fn unknown_keys_and_a_missing_teacher_are_refused() {
    assert!(toml::from_str::<PruneSettings>("sparsty = 0.5").is_err());
    assert!(toml::from_str::<QuantizeSettings>("bits = 4").is_err());
    assert!(toml::from_str::<DistillSettings>("temperature = 2.0").is_err());
    assert!(
        toml::from_str::<SwaSettings>("start_epoch = 3").is_err(),
        "lr is required"
    );
}

#[test]
fn each_out_of_range_swa_distill_and_quantize_value_names_its_key() {
    let swa = SwaSettings {
        start_epoch: 5,
        lr: 0.01,
        anneal_epochs: 10,
        anneal: SwaAnneal::Cos,
    };
    swa.validate(5).unwrap();
    let late = swa.validate(4).unwrap_err();
    assert_eq!(key_of(late), "optim.swa.start_epoch");
    let zero = SwaSettings {
        start_epoch: 0,
        ..swa.clone()
    }
    .validate(5)
    .unwrap_err();
    assert_eq!(key_of(zero), "optim.swa.start_epoch");
    for lr in [0.0, -1.0, f64::INFINITY] {
        let err = SwaSettings { lr, ..swa.clone() }.validate(5).unwrap_err();
        assert_eq!(key_of(err), "optim.swa.lr");
    }

    let distill = DistillSettings {
        teacher: "runs/t".into(),
        temperature: 4.0,
        alpha: 0.9,
    };
    distill.validate().unwrap();
    let cases = [
        (
            "distill.teacher",
            DistillSettings {
                teacher: PathBuf::new(),
                ..distill.clone()
            },
        ),
        (
            "distill.temperature",
            DistillSettings {
                temperature: 0.0,
                ..distill.clone()
            },
        ),
        (
            "distill.alpha",
            DistillSettings {
                alpha: 1.5,
                ..distill.clone()
            },
        ),
        (
            "distill.alpha",
            DistillSettings {
                alpha: f64::NAN,
                ..distill.clone()
            },
        ),
    ];
    for (key, s) in cases {
        assert_eq!(key_of(s.validate().unwrap_err()), key);
    }

    for n in [0, 10_001] {
        let q = QuantizeSettings {
            calibration_images: n,
            ..QuantizeSettings::default()
        };
        assert_eq!(
            key_of(q.validate().unwrap_err()),
            "quantize.calibration_images"
        );
    }
    QuantizeSettings {
        calibration_images: 10_000,
        ..QuantizeSettings::default()
    }
    .validate()
    .unwrap();
}

#[test]
fn swa_lr_matches_pytorch_swalr_epoch_by_epoch() {
    // torch 2.15 (CPU), the rate each SWA epoch trains at when `swa_scheduler.step()` ends
    // every epoch, as in PyTorch's documented loop:
    //   import torch
    //   from torch.optim.swa_utils import SWALR
    //   def run(lr0, swa_lr, anneal_epochs, strategy, epochs):
    //       p = torch.nn.Parameter(torch.zeros(1))
    //       opt = torch.optim.SGD([p], lr=lr0)
    //       s = SWALR(opt, swa_lr=swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    //       out = []
    //       for _ in range(epochs):
    //           out.append(opt.param_groups[0]["lr"])
    //           opt.step(); s.step()
    //       return out
    //   print([repr(x) for x in run(0.1, 0.01, 4, "cos", 7)])  # and each case below
    let cases: [(f64, f64, usize, SwaAnneal, &[f64]); 5] = [
        (
            0.1,
            0.01,
            4,
            SwaAnneal::Cos,
            &[
                0.1,
                0.08681980515339464,
                0.055,
                0.023180194846605363,
                0.01,
                0.01,
                0.01,
            ],
        ),
        (
            0.1,
            0.01,
            4,
            SwaAnneal::Linear,
            &[
                0.1,
                0.07750000000000001,
                0.05500000000000001,
                0.0325,
                0.01,
                0.01,
                0.01,
            ],
        ),
        (
            0.05,
            0.2,
            3,
            SwaAnneal::Cos,
            &[0.05, 0.0875, 0.1625, 0.2, 0.2],
        ),
        (0.1, 0.01, 0, SwaAnneal::Cos, &[0.01, 0.01, 0.01]),
        (0.1, 0.01, 1, SwaAnneal::Linear, &[0.1, 0.01, 0.01]),
    ];
    for (lr0, swa_lr, anneal_epochs, anneal, want) in cases {
        let s = SwaSettings {
            start_epoch: 1,
            lr: swa_lr,
            anneal_epochs,
            anneal,
        };
        for (k, &w) in want.iter().enumerate() {
            let got = s.lr_at(k, lr0);
            // SWALR recovers lr0 from the previous rate each step, so it differs from the
            // closed form by rounding only.
            assert!(
                (got - w).abs() <= 1e-12 * w,
                "{anneal:?} A={anneal_epochs} k={k}: {got} vs {w}"
            );
        }
    }
}
