use super::*;

fn plan(text: &str) -> Result<ModelPlan, TrainError> {
    let section: ModelSection = toml::from_str(text).unwrap();
    section.plan([1, 28, 28], 10)
}

#[test]
fn dropout_kinds_reach_the_models() {
    let Ok(ModelPlan::Cnn(cfg)) = plan("dropout = { kind = \"dropout2d\", p = 0.1 }") else {
        panic!("cnn expected")
    };
    assert_eq!((cfg.dropout_kind, cfg.dropout), (DropoutKind::Spatial, 0.1));
    let Ok(ModelPlan::ResNet(cfg)) =
        plan("kind = \"resnet\"\nblocks = 2\ndropout = { kind = \"drop-path\", p = 0.2 }")
    else {
        panic!("resnet expected")
    };
    assert_eq!((cfg.drop_path, cfg.blocks_per_stage), (0.2, 2));
    let Ok(ModelPlan::Mlp(cfg)) =
        plan("kind = \"mlp\"\ndropout = { kind = \"drop-connect\", p = 0.5 }")
    else {
        panic!("mlp expected")
    };
    assert_eq!(cfg.dropout_kind, DropoutKind::Connect);
}

#[test]
fn misplaced_fields_and_kinds_are_named() {
    let err = |t: &str| plan(t).err().unwrap().to_string();
    assert!(err("kind = \"mlp\"\nchannels = [3]").starts_with("model.channels"));
    assert!(err("blocks = 2").starts_with("model.blocks"));
    assert!(err("kind = \"resnet\"\nhidden = [3]").starts_with("model.hidden"));
    assert!(
        err("kind = \"mlp\"\ndropout = { kind = \"drop-path\", p = 0.1 }")
            .starts_with("model.dropout: drop-path")
    );
    assert!(
        err("kind = \"resnet\"\ndropout = { kind = \"alpha\", p = 0.1 }")
            .starts_with("model.dropout: resnet takes")
    );
}

#[test]
fn resolved_fills_each_architecture_defaults() {
    let resnet = ModelSection {
        kind: ModelKind::ResNet,
        ..Default::default()
    }
    .resolved();
    assert_eq!(resnet.channels, Some(vec![16, 32, 64]));
    assert_eq!((resnet.blocks, resnet.hidden.as_ref()), (Some(1), None));
}

#[test]
fn every_standard_kind_parses_to_its_preset() {
    // (kind, blocks per stage, bottleneck?, stage widths) as in torchvision's resnet.py and
    // He et al. 2016 §4.2.
    let cases: [(&str, &[usize], bool, &[usize]); 5] = [
        ("resnet18", &[2, 2, 2, 2], false, &[64, 128, 256, 512]),
        ("resnet34", &[3, 4, 6, 3], false, &[64, 128, 256, 512]),
        ("resnet50", &[3, 4, 6, 3], true, &[64, 128, 256, 512]),
        ("resnet20", &[3, 3, 3], false, &[16, 32, 64]),
        ("resnet56", &[9, 9, 9], false, &[16, 32, 64]),
    ];
    for (kind, layers, bottleneck, widths) in cases {
        let Ok(ModelPlan::TvResNet(cfg)) = plan(&format!("kind = \"{kind}\"")) else {
            panic!("{kind}: torchvision resnet expected")
        };
        assert_eq!(cfg.layers, layers, "{kind}");
        assert_eq!(cfg.widths, widths, "{kind}");
        assert_eq!(
            cfg.block == temper_model::zoo::BlockKind::Bottleneck,
            bottleneck,
            "{kind}"
        );
        assert_eq!((cfg.in_channels, cfg.num_classes), (1, 10), "{kind}");
    }
    let Ok(ModelPlan::MobileNetV2(cfg)) = plan("kind = \"mobilenet_v2\"\nwidth_mult = 0.5") else {
        panic!("mobilenet_v2 expected")
    };
    // torchvision's head dropout is the default.
    assert_eq!((cfg.width_mult, cfg.dropout), (0.5, 0.2));
    let Ok(ModelPlan::Cnn(cfg)) = plan("pool = \"global\"") else {
        panic!("cnn expected")
    };
    assert!(cfg.global_pool);
}

#[test]
fn head_dropout_and_drop_path_compose_on_residual_kinds() {
    let Ok(ModelPlan::TvResNet(cfg)) =
        plan("kind = \"resnet18\"\ndropout = { p = 0.3 }\ndrop_path = 0.1")
    else {
        panic!("resnet18 expected")
    };
    assert_eq!((cfg.dropout, cfg.drop_path), (0.3, 0.1));
    let Ok(ModelPlan::MobileNetV2(cfg)) =
        plan("kind = \"mobilenet_v2\"\ndropout = { kind = \"drop-path\", p = 0.05 }")
    else {
        panic!("mobilenet_v2 expected")
    };
    assert_eq!((cfg.dropout, cfg.drop_path), (0.2, 0.05));
    let Ok(ModelPlan::ResNet(cfg)) =
        plan("kind = \"resnet\"\ndropout = { p = 0.2 }\ndrop_path = 0.1")
    else {
        panic!("resnet expected")
    };
    assert_eq!((cfg.dropout, cfg.drop_path), (0.2, 0.1));
}

#[test]
fn keys_of_other_kinds_and_bad_values_are_named() {
    let err = |t: &str| plan(t).err().unwrap().to_string();
    let cases = [
        (
            "kind = \"resnet18\"\nwidth_mult = 0.5",
            "model.width_mult: applies",
        ),
        ("kind = \"resnet50\"\nblocks = 2", "model.blocks: applies"),
        ("kind = \"resnet20\"\nhidden = [8]", "model.hidden: applies"),
        (
            "kind = \"resnet\"\npool = \"global\"",
            "model.pool: applies",
        ),
        (
            "kind = \"mobilenet_v2\"\nchannels = [8]",
            "model.channels: applies",
        ),
        ("drop_path = 0.1", "model.drop_path: applies"),
        (
            "kind = \"resnet18\"\nchannels = [8, 16]",
            "model.channels: \"resnet18\" has 4",
        ),
        (
            "kind = \"mobilenet_v2\"\nwidth_mult = 0.0",
            "model.width_mult: must be in",
        ),
        (
            "kind = \"resnet56\"\ndrop_path = 1.5",
            "model.drop_path: must be in",
        ),
        (
            "kind = \"resnet18\"\ndrop_path = 0.1\ndropout = { kind = \"drop-path\", p = 0.1 }",
            "model.drop_path: set either",
        ),
        (
            "kind = \"mobilenet_v2\"\ndropout = { kind = \"dropout2d\", p = 0.1 }",
            "model.dropout: mobilenet_v2 takes",
        ),
    ];
    for (text, prefix) in cases {
        let e = err(text);
        assert!(e.starts_with(prefix), "{text}: {e}");
    }
}

#[test]
fn unknown_kind_and_pool_values_name_their_key() {
    for (text, key) in [
        (
            "[model]\nkind = \"resnet19\"\n",
            "[model] kind: unknown variant `resnet19`",
        ),
        (
            "[model]\npool = \"max\"\n",
            "[model] pool: unknown variant `max`",
        ),
    ] {
        let e = crate::Experiment::from_toml_str(text, "e.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(&format!("e.toml:2: {key}")), "{e}");
    }
}

#[test]
fn images_below_the_smallest_side_are_refused_naming_the_kind() {
    let section = |kind| ModelSection {
        kind,
        ..Default::default()
    };
    // Five stride-2 steps: a 17-pixel side still has two pixels at the last one.
    let r18 = section(ModelKind::ResNet18);
    assert_eq!(r18.min_image_side(), 17);
    r18.plan([3, 17, 17], 10).unwrap();
    assert_eq!(
        r18.plan([3, 16, 300], 10).err().unwrap().to_string(),
        "model.kind: \"resnet18\" needs images of at least 17x17 pixels, got 16x300"
    );
    assert_eq!(section(ModelKind::MobileNetV2).min_image_side(), 17);
    assert_eq!(section(ModelKind::ResNet20).min_image_side(), 3);
    // Two 2x2 max pools (cnn), two halving stages (resnet).
    assert_eq!(section(ModelKind::Cnn).min_image_side(), 4);
    assert_eq!(section(ModelKind::ResNet).min_image_side(), 4);
    assert_eq!(section(ModelKind::Mlp).min_image_side(), 1);
    // A folder's images of unknown size: everything but the size is checked.
    section(ModelKind::ResNet50)
        .validate_any_size(3, 10)
        .unwrap();
    let wide = ModelSection {
        channels: Some(vec![1 << 20; 4]),
        ..section(ModelKind::ResNet18)
    };
    assert!(
        wide.validate_any_size(3, 10)
            .unwrap_err()
            .to_string()
            .starts_with("model.channels: the model would hold")
    );
}

#[test]
fn cifar_and_imagenet_shaped_data_validate_before_loading() {
    for text in [
        "[data]\nsource = 'cifar10:x'\n[model]\nkind = 'resnet56'\n",
        "[data]\nsource = 'cifar10:x'\n[model]\nkind = 'resnet18'\n",
        "[data]\nsource = 'folder:x'\nimage_size = [224, 224]\nchannels = 3\n\
         [model]\nkind = 'mobilenet_v2'\n",
        "[data]\nsource = 'folder:x'\nimage_size = [224, 224]\n[model]\nkind = 'resnet50'\n",
    ] {
        crate::Experiment::from_toml_str(text, "e.toml")
            .unwrap()
            .validate()
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

#[test]
fn resolved_writes_out_the_standard_kinds_defaults() {
    let r50 = ModelSection {
        kind: ModelKind::ResNet50,
        ..Default::default()
    }
    .resolved();
    assert_eq!(r50.channels, Some(vec![64, 128, 256, 512]));
    assert_eq!(r50.dropout.map(|d| d.p), Some(0.0));
    let mobile = ModelSection {
        kind: ModelKind::MobileNetV2,
        ..Default::default()
    }
    .resolved();
    assert_eq!(
        (mobile.width_mult, mobile.dropout.map(|d| d.p)),
        (Some(1.0), Some(0.2))
    );
    // The resolved section plans to the same model.
    assert!(matches!(
        mobile.plan([3, 32, 32], 10),
        Ok(ModelPlan::MobileNetV2(_))
    ));
}

#[test]
fn width_per_group_sizes_bottlenecks_and_names_itself_elsewhere() {
    // wide_resnet50_2 is resnet50 at width_per_group = 128, torchvision's definition.
    let plan = |text: &str| {
        let section: ModelSection = toml::from_str(text).unwrap();
        section.plan([3, 64, 64], 10)
    };
    let Ok(ModelPlan::TvResNet(wide)) = plan("kind = \"wide_resnet50_2\"") else {
        panic!("wide_resnet50_2 expected")
    };
    let Ok(ModelPlan::TvResNet(r50)) = plan("kind = \"resnet50\"\nwidth_per_group = 128") else {
        panic!("resnet50 expected")
    };
    assert_eq!(wide.width_per_group, 128);
    assert_eq!(r50.width_per_group, wide.width_per_group);
    assert_eq!(r50.layers, wide.layers);
    let resolved: ModelSection = toml::from_str("kind = \"wide_resnet50_2\"").unwrap();
    assert_eq!(resolved.resolved().width_per_group, Some(128));
    for (text, expected) in [
        (
            "kind = \"resnet18\"\nwidth_per_group = 128",
            "model.width_per_group: applies to kind = \"resnet50\" or \"wide_resnet50_2\"",
        ),
        (
            "kind = \"resnet50\"\nwidth_per_group = 0",
            "model.width_per_group: must be in 1..=1024, got 0",
        ),
    ] {
        let err = plan(text).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{text}: {err}");
    }
}
