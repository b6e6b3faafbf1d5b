//! Pipelines, policies, occlusion, mixing, settings and the preview grid.

use image::{GrayImage, RgbImage};

use crate::image::cpu::mix::{
    CutmixConfig, MixConfig, MixParams, MixupConfig, apply_mix, mix_batch,
};
use crate::image::ops::occlusion::RandomErasingConfig;
use crate::image::ops::params::EraseFill;
use crate::image::ops::policy::{AUTO_AUGMENT_OPS, AutoAugmentOp, RandAugmentConfig, magnitude};
use crate::image::*;
use crate::image::{OpParams, apply};

fn noise_image(w: u32, h: u32, seed: u32) -> AugImage {
    AugImage::Rgb(RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 31 + y * 17 + seed * 7) % 256;
        image::Rgb([v as u8, (v * 3 % 256) as u8, (255 - v) as u8])
    }))
}

fn standard() -> Pipeline {
    let toml = r#"
        ops = [ { op = "random-crop", padding = 2 }, { op = "rotate", degrees = 15 },
                { op = "hflip" }, { op = "color-jitter", brightness = 0.4, contrast = 0.4,
                saturation = 0.4, hue = 0.1 }, { op = "gaussian-noise", sigma = [0.0, 0.05] },
                { op = "random-erasing", value = "random" } ]
        policy = "randaugment"
    "#;
    toml::from_str::<AugmentSettings>(toml)
        .unwrap()
        .pipeline()
        .unwrap()
}

#[test]
fn batch_is_bit_identical_at_any_thread_count_and_order() {
    let images: Vec<AugImage> = (0..24).map(|i| noise_image(32, 32, i)).collect();
    let pipe = standard();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| augment_batch(&images, &pipe, 42, 3, 100))
    };
    let one = run(1);
    assert_eq!(one, run(4));
    // Sample 100 + i's result depends only on (seed, epoch, index): alone, or in another
    // batch split, it is the same.
    assert_eq!(pipe.augment(&images[5], 42, 3, 105), one[5]);
    assert_eq!(augment_batch(&images[10..], &pipe, 42, 3, 110), one[10..]);
    // Another epoch or seed changes the draws.
    assert_ne!(augment_batch(&images, &pipe, 42, 4, 100), one);
    assert_ne!(augment_batch(&images, &pipe, 43, 3, 100), one);
    // The sampled parameters are what augment applies (the device path's contract).
    let params = sample_batch(&pipe, 24, 32, 32, 42, 3, 100);
    assert_eq!(apply_all(&images[7], &params[7]), one[7]);
}

#[test]
fn randaugment_applies_exactly_n_ops_with_torchvision_magnitudes() {
    for n in [0, 1, 2, 5] {
        let cfg = RandAugmentConfig {
            n,
            ..RandAugmentConfig::default()
        };
        for i in 0..50 {
            let p = cfg.sample(&mut sample_rng(7, 0, i), 32, 32);
            let OpParams::Sequence(ops) = &p else {
                panic!("{p:?}")
            };
            assert_eq!(ops.len(), n as usize);
            assert!(ops.iter().all(|o| !matches!(o, OpParams::Sequence(_))));
        }
    }
    // m = 9 of 31 bins: linspace(0, hi, 31)[9] = 0.3 hi.
    let mag = |op, k, wide| magnitude(op, 31, k, 331, 331, wide).map(|(m, _)| m);
    use AutoAugmentOp::*;
    assert!((mag(Rotate, 9, false).unwrap() - 9.0).abs() < 1e-5);
    assert!((mag(ShearX, 9, false).unwrap() - 0.09).abs() < 1e-6);
    assert!((mag(TranslateX, 9, false).unwrap() - 45.0).abs() < 1e-4); // 0.3 * 150
    assert!((mag(Brightness, 9, false).unwrap() - 0.27).abs() < 1e-6);
    assert!((mag(Solarize, 9, false).unwrap() - 178.5).abs() < 1e-4);
    assert_eq!(mag(Posterize, 9, false), Some(7.0)); // 8 - round(9 / 7.5)
    assert_eq!(mag(Posterize, 30, false), Some(4.0));
    assert_eq!(mag(Posterize, 30, true), Some(2.0)); // 8 - round(30 / 5)
    assert!((mag(Rotate, 30, true).unwrap() - 135.0).abs() < 1e-4);
    assert_eq!(mag(Equalize, 9, false), None);
    assert_eq!(AUTO_AUGMENT_OPS.len(), 14);
    // Every op is drawn eventually (uniform choice over 14).
    let mut kinds = std::collections::BTreeSet::new();
    for i in 0..400 {
        if let OpParams::Sequence(ops) =
            RandAugmentConfig::default().sample(&mut sample_rng(1, 0, i), 32, 32)
        {
            for o in ops {
                kinds.insert(
                    format!("{o:?}")
                        .split(['(', ' '])
                        .next()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    // Identity, Affine (shear/translate/rotate), Brightness, Saturation, Contrast, Sharpness,
    // Posterize, Solarize, Autocontrast, Equalize.
    assert_eq!(kinds.len(), 10, "{kinds:?}");
}

#[test]
fn random_erasing_boxes_have_area_and_ratio_in_range() {
    let cfg = RandomErasingConfig {
        p: 1.0,
        value: crate::image::ops::occlusion::EraseValue::All(7),
        ..RandomErasingConfig::default()
    };
    let img = noise_image(40, 30, 1);
    let mut erased = 0;
    for i in 0..300 {
        let p = cfg.sample(&mut sample_rng(5, 0, i), 40, 30);
        let OpParams::Erase(boxes) = &p else { continue };
        erased += 1;
        let b = boxes[0];
        assert!(b.top + b.height <= 30 && b.left + b.width <= 40);
        let area = (b.height * b.width) as f64 / 1200.0;
        let slack = 1.0 / b.height.min(b.width) as f64;
        assert!(
            area >= 0.02 * (1.0 - slack) && area <= 0.33 * (1.0 + slack),
            "{area}"
        );
        let ratio = b.height as f64 / b.width as f64;
        assert!(
            ratio >= 0.3 * (1.0 - slack) && ratio <= 3.3 * (1.0 + slack),
            "{ratio}"
        );
        assert_eq!(b.fill, EraseFill::Constant([7; 3]));
        // Inside the box every value is 7; outside nothing changed.
        let out = apply(&img, &p);
        for y in 0..30 {
            for x in 0..40 {
                let inside = (b.top..b.top + b.height).contains(&y)
                    && (b.left..b.left + b.width).contains(&x);
                let (o, s) = (out.to_rgb(), img.to_rgb());
                let want = if inside { [7; 3] } else { s.get_pixel(x, y).0 };
                assert_eq!(o.get_pixel(x, y).0, want);
            }
        }
    }
    assert!(erased > 250, "only {erased} of 300 erased"); // a try fails rarely
}

fn batch(n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    // Sample i is constant i + 1, so every output value tells which samples it mixes.
    (0..n)
        .flat_map(|i| std::iter::repeat_n(i as f32 + 1.0, c * h * w))
        .collect()
}

#[test]
fn mixup_mixes_with_one_lambda_and_rows_sum_to_one() {
    let cfg = MixConfig {
        mixup: Some(MixupConfig { alpha: 0.4 }),
        label_smoothing: 0.1,
        ..MixConfig::default()
    };
    let (n, c, h, w) = (5, 2, 3, 4);
    let mut x = batch(n, c, h, w);
    let labels = [0, 1, 2, 3, 4];
    let (targets, params) = mix_batch(&cfg, &mut x, [n, c, h, w], &labels, 6, 11, 0, 0).unwrap();
    let MixParams::MixUp { lambda } = params else {
        panic!("{params:?}")
    };
    for i in 0..n {
        // x_i = lambda (i + 1) + (1 - lambda) (n - i), identical for every value of sample i.
        let want = lambda * (i as f32 + 1.0) + (1.0 - lambda) * (n - i) as f32;
        let per = c * h * w;
        assert!(
            x[i * per..(i + 1) * per]
                .iter()
                .all(|v| (v - want).abs() < 1e-5)
        );
        let row = &targets[i * 6..(i + 1) * 6];
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // off = 0.1 / 6, on - off = 0.9: label i gets lambda * 0.9 more, n-1-i (1-lambda) * 0.9.
        let off = 0.1 / 6.0;
        let mut want_row = [off; 6];
        want_row[labels[i]] += lambda * 0.9;
        want_row[labels[n - 1 - i]] += (1.0 - lambda) * 0.9;
        for (g, w) in row.iter().zip(want_row) {
            assert!((g - w).abs() < 1e-6, "{row:?} vs {want_row:?}");
        }
    }
}

#[test]
fn cutmix_lambda_is_the_kept_area_fraction() {
    let cfg = MixConfig {
        cutmix: Some(CutmixConfig { alpha: 1.0 }),
        ..MixConfig::default()
    };
    let (n, c, h, w) = (4, 3, 16, 20);
    for b in 0..30 {
        let mut x = batch(n, c, h, w);
        let (targets, params) =
            mix_batch(&cfg, &mut x, [n, c, h, w], &[0, 1, 2, 3], 4, 9, 2, b).unwrap();
        let MixParams::CutMix { lambda, .. } = params else {
            panic!("{params:?}")
        };
        for i in 0..n {
            let plane = &x[i * c * h * w..i * c * h * w + h * w];
            let kept = plane.iter().filter(|&&v| v == i as f32 + 1.0).count();
            let pasted = plane.iter().filter(|&&v| v == (n - i) as f32).count();
            assert_eq!(kept + pasted, h * w);
            assert!((kept as f32 / (h * w) as f32 - lambda).abs() < 1e-6);
            assert!((targets[i * 4 + i] - lambda).abs() < 1e-6);
        }
    }
    // No mix: images untouched, targets one-hot.
    let mut x = batch(2, 1, 2, 2);
    apply_mix(&mut x, [2, 1, 2, 2], &MixParams::None).unwrap();
    assert_eq!(x, batch(2, 1, 2, 2));
    let t = soft_targets(&[1, 0], 3, &MixParams::None, 0.0).unwrap();
    assert_eq!(t, [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    assert!(soft_targets(&[3], 3, &MixParams::None, 0.0).is_err());
    // Uniform logits: cross-entropy ln K for any target distribution.
    let ce = soft_cross_entropy(&[0.5; 6], &[0.2, 0.3, 0.5, 1.0, 0.0, 0.0], 3);
    assert!((ce - 3f32.ln()).abs() < 1e-6);
}

#[test]
fn settings_parse_and_name_the_op_and_field_on_error() {
    let s: AugmentSettings = toml::from_str(
        r#"
        ops = [ { op = "random-resized-crop", scale = [0.8, 1.0] }, { op = "rotate", degrees = 15 },
                { op = "hflip", p = 0.5 } ]
        policy = "randaugment"
        n = 3
        m = 12
        mixup = { alpha = 0.2 }
        cutmix = { alpha = 1.0 }
        label_smoothing = 0.1
        "#,
    )
    .unwrap();
    let pipe = s.pipeline().unwrap();
    assert_eq!(pipe.ops().len(), 4);
    assert_eq!(pipe.ops()[3].name(), "randaugment");
    assert!(s.uses_soft_targets());
    assert_eq!(s.mix().unwrap().mixup, Some(MixupConfig { alpha: 0.2 }));
    let err = |src: &str| {
        toml::from_str::<AugmentSettings>(src)
            .unwrap_err()
            .message()
            .to_string()
    };
    let e = err(r#"ops = [ { op = "rotate", degree = 15 } ]"#);
    assert!(
        e.starts_with("augment.ops[0]: unknown field `degree`"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let e = err(r#"ops = [ { op = "twirl" } ]"#);
    assert!(
        e.contains("unknown op \"twirl\"") && e.contains("random-resized-crop"),
        "{e}"
    );
    let e = err(r#"ops = [ { op = "hflip", p = 1.5 } ]"#);
    assert_eq!(e, "augment.ops[0].p = 1.5 must be in [0, 1] (op \"hflip\")");
    let e =
        err(r#"ops = [ { op = "one-of", ops = [ { op = "gaussian-blur", kernel_size = 4 } ] } ]"#);
    assert!(
        e.starts_with("augment.ops[0].ops[0].kernel_size = 4 must be odd"),
        "{e}"
    );
    let e = err(r#"ops = [ { op = "resize", size = 32, antialias = "no" } ]"#);
    assert!(
        e.starts_with("augment.ops[0]: invalid type") && e.contains("boolean"),
        "{e}"
    );
    let e = err(r#"ops = [ { degrees = 3 } ]"#);
    assert!(e.contains("missing field `op`"), "{e}");
    assert!(err("colour = 1").contains("unknown field `colour`"));
    let bad_mix: AugmentSettings = toml::from_str("mixup = { alpha = -1.0 }").unwrap();
    assert_eq!(
        bad_mix.mix().unwrap_err().to_string(),
        "mixup.alpha: -1 must be positive"
    );
    // Every op parses from its name alone (all fields have defaults) except those with a
    // required size or op list.
    for name in OP_NAMES {
        let src = format!("ops = [ {{ op = \"{name}\" }} ]");
        let ok = toml::from_str::<AugmentSettings>(&src).is_ok();
        let needs = ["center-crop", "resize", "compose", "random-apply", "one-of"];
        assert_eq!(ok, !needs.contains(name), "{name}");
    }
}

#[test]
fn every_op_runs_on_gray_and_rgb_with_stable_shapes() {
    let gray = AugImage::Gray(GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([(x * 9 + y) as u8])
    }));
    let rgb = noise_image(32, 32, 3);
    for name in OP_NAMES {
        let src = match *name {
            "center-crop" | "resize" => format!("ops = [ {{ op = \"{name}\", size = 20 }} ]"),
            "compose" | "random-apply" | "one-of" => {
                format!("ops = [ {{ op = \"{name}\", ops = [ {{ op = \"invert\" }} ] }} ]")
            }
            // Force the coin so every op really runs (policies and crops have no `p`).
            "randaugment" | "trivial-augment-wide" | "random-crop" | "random-resized-crop" => {
                format!("ops = [ {{ op = \"{name}\" }} ]")
            }
            _ => format!("ops = [ {{ op = \"{name}\", p = 1.0 }} ]"),
        };
        let pipe = toml::from_str::<AugmentSettings>(&src)
            .unwrap()
            .pipeline()
            .unwrap();
        for img in [&gray, &rgb] {
            for i in 0..4 {
                let out = pipe.augment(img, 1, 0, i);
                let want = if ["center-crop", "resize"].contains(name) {
                    20
                } else {
                    img.width()
                };
                assert_eq!(
                    (out.width(), out.channels()),
                    (want, img.channels()),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn preview_grid_layout_and_nchw_export() {
    let images: Vec<AugImage> = (0..2).map(|i| noise_image(28, 28, i)).collect();
    let pipe = standard();
    let grid = preview_grid(&images, &pipe, 5, 3);
    // 2 + 4 * (28 + 2) wide, 2 + 2 * (28 + 2) high; the first cell is the original.
    assert_eq!(grid.dimensions(), (122, 62));
    assert_eq!(grid.get_pixel(2, 2), images[0].to_rgb().get_pixel(0, 0));
    assert_eq!(
        grid.get_pixel(2 + 27, 32 + 27),
        images[1].to_rgb().get_pixel(27, 27)
    );
    assert_eq!(grid.get_pixel(0, 0).0, [128; 3]);
    // NCHW: channel planes, v / 255.
    let img = AugImage::Rgb(RgbImage::from_raw(2, 1, vec![0, 51, 102, 153, 204, 255]).unwrap());
    let (x, shape) = to_nchw_f32(&[img.clone(), img]).unwrap();
    assert_eq!(shape, [2, 3, 1, 2]);
    assert_eq!(&x[..6], &[0.0, 0.6, 0.2, 0.8, 0.4, 1.0]);
    let gray = AugImage::Gray(GrayImage::new(2, 1));
    assert!(
        to_nchw_f32(&[noise_image(2, 1, 0), gray])
            .unwrap_err()
            .to_string()
            .starts_with("image 1")
    );
}
