//! The device path's resize, hue, sharpness, blur, histogram, erase and noise ops against the
//! CPU path (same params, MNIST digits and synthetic RGB, per-sample parameters in one batch,
//! on `Device::flex()`), and every op of the catalogue through `apply_batch_device`.
//! Deterministic ops agree within 1 level per value (1/255, the tolerance of the device path); the
//! histogram ops and constant-fill erase exactly. Noise ops draw another realization on the
//! device, so they are checked against the closed form of the CPU path's distribution.

use std::sync::Mutex;

use burn::tensor::Device;
use image::{GrayImage, RgbImage};
use rand::Rng;

use super::{both, compare, mnist, rgb, to_tensor};
use crate::image::cpu::geometric::{CropParams, ResizeParams};
use crate::image::cpu::pipeline::sample_batch;
use crate::image::cpu::raster::{AugImage, PaddingMode};
use crate::image::device::apply_batch_device;
use crate::image::ops::OP_NAMES;
use crate::image::ops::params::{EraseBox, EraseFill};
use crate::image::ops::settings::AugmentSettings;
use crate::image::{OpParams, apply_all};

/// Burn's RNG is global per backend: tests that draw on the device take this lock and seed,
/// so each sees one fixed stream.
static DEVICE_RNG: Mutex<()> = Mutex::new(());

fn seeded_device(seed: u64) -> Device {
    let device = Device::flex();
    device.seed(seed);
    device
}

#[test]
fn device_resize_matches_cpu() {
    for antialias in [true, false] {
        for (w, h) in [(14, 11), (40, 33), (9, 28)] {
            let mae = both(&format!("resize {w}x{h} {antialias}"), |_, _, _, _| {
                vec![OpParams::Resize(ResizeParams {
                    width: w,
                    height: h,
                    antialias,
                })]
            });
            assert!(
                mae <= 1.0,
                "resize {w}x{h} antialias {antialias}: MAE {mae}"
            );
        }
    }
    // A crop then a resize per sample (a random-resized crop, run as one fused op): boxes of
    // different sizes reaching into constant (per-sample fill), reflect and edge padding.
    let modes = [
        PaddingMode::Constant,
        PaddingMode::Reflect,
        PaddingMode::Edge,
    ];
    let mae = both("crop+resize", |i, rng, _, _| {
        let antialias = i % 2 == 0;
        vec![
            OpParams::Crop(CropParams {
                top: rng.random_range(-4..6),
                left: rng.random_range(-4..6),
                height: rng.random_range(6..26),
                width: rng.random_range(6..30),
                padding_mode: modes[i % 3],
                fill: [(i * 30) as u8, 5, 250],
            }),
            OpParams::Resize(ResizeParams {
                width: 16,
                height: 12,
                antialias,
            }),
        ]
    });
    assert!(mae <= 1.0, "crop+resize: MAE {mae}");
    // Closed form of the antialiased triangle filter (PIL BILINEAR, shrinking 4 -> 2: support
    // widened to 2 pixels): output 0 centres at input 0.5 with weights tri(0.25), tri(0.25),
    // tri(0.75) = 3/7, 3/7, 1/7 on inputs 0, 1, 2; output 1 centres at 2.5 with 1/7, 3/7, 3/7
    // on inputs 1, 2, 3. Row [0, 70, 140, 210] -> [(0 + 210 + 140) / 7, (70 + 420 + 630) / 7].
    let img = AugImage::Gray(GrayImage::from_raw(4, 1, vec![0, 70, 140, 210]).unwrap());
    let params = vec![vec![OpParams::Resize(ResizeParams {
        width: 2,
        height: 1,
        antialias: true,
    })]];
    let out = apply_batch_device(to_tensor(&[img], &Device::flex()), &params).unwrap();
    assert_eq!(
        out.into_data().try_to_vec::<f32>().unwrap(),
        vec![50.0, 160.0]
    );
}

#[test]
fn device_hue_matches_cpu() {
    // Shifts across the whole range (ColorJitter(hue=0.5)), including both ends; gray
    // images are unchanged on both paths.
    let mae = both("hue", |i, rng, _, _| match i {
        0 => vec![OpParams::Hue(0.5)],
        1 => vec![OpParams::Hue(-0.5)],
        _ => vec![OpParams::Hue(rng.random_range(-0.5..0.5))],
    });
    assert!(mae <= 1.0, "hue: MAE {mae}");
    // Every hue sector and the gray axis: pure and mixed primaries, black, white, grays.
    let colours: Vec<u8> = [
        [255, 0, 0],
        [255, 200, 0],
        [90, 255, 10],
        [0, 255, 180],
        [0, 40, 255],
        [200, 0, 255],
        [255, 0, 90],
        [0, 0, 0],
        [255, 255, 255],
        [77, 77, 77],
        [128, 127, 127],
        [1, 2, 3],
    ]
    .concat();
    let img = AugImage::Rgb(RgbImage::from_raw(4, 3, colours).unwrap());
    let shifts = [-0.5, -0.3, -0.1, 0.0, 0.05, 1.0 / 6.0, 0.25, 0.5];
    let images = vec![img; shifts.len()];
    let params: Vec<Vec<OpParams>> = shifts.iter().map(|&s| vec![OpParams::Hue(s)]).collect();
    let (mae, max) = compare(&images, &params);
    println!("hue sectors 3ch: MAE {mae:.4} levels, max {max}");
    assert!(max <= 1.0, "hue sectors: max {max}");
}

#[test]
fn device_sharpness_and_blur_match_cpu() {
    let mae = both("sharpness", |i, rng, _, _| match i {
        0 => vec![OpParams::Sharpness(0.0)],
        _ => vec![OpParams::Sharpness(rng.random_range(0.0..3.0))],
    });
    assert!(mae <= 1.0, "sharpness: MAE {mae}");
    // Per-sample kernel sizes in one batch (torchvision GaussianBlur's odd sizes), sigma
    // in timm's (0.1, 2.0) and beyond; 41 reaches past the 20-row image (reflect folds twice).
    let mae = both("gaussian-blur", |i, rng, _, _| {
        let kernel_size = [1, 3, 5, 9, 23, 41][i % 6];
        vec![OpParams::GaussianBlur {
            kernel_size,
            sigma: rng.random_range(0.1..4.0),
        }]
    });
    assert!(mae <= 1.0, "gaussian-blur: MAE {mae}");
}

#[test]
fn device_histogram_ops_match_cpu_exactly() {
    for (name, op) in [
        ("equalize", OpParams::Equalize),
        ("autocontrast", OpParams::Autocontrast),
    ] {
        assert_eq!(both(name, |_, _, _, _| vec![op.clone()]), 0.0, "{name}");
        // Edge cases in one batch: a constant image (autocontrast and equalize leave it),
        // two values with fewer than 255 pixels below the top one (equalize's step is 0),
        // a narrow range (autocontrast stretches it by 255 / 3).
        let constant = GrayImage::from_raw(16, 16, vec![90; 256]).unwrap();
        let two = GrayImage::from_fn(16, 16, |x, y| {
            image::Luma([if x + y < 3 { 10 } else { 200 }])
        });
        let narrow = GrayImage::from_fn(16, 16, |x, y| image::Luma([100 + ((x * y) % 4) as u8]));
        let images: Vec<AugImage> = [constant, two, narrow]
            .into_iter()
            .map(AugImage::Gray)
            .collect();
        let params = vec![vec![op.clone()]; 3];
        let (mae, max) = compare(&images, &params);
        println!("{name} edge cases 1ch: MAE {mae:.4} levels, max {max}");
        assert_eq!(max, 0.0, "{name} edge cases");
    }
}

/// Boxes per sample: none, one, two overlapping (the later wins), one past the edges
/// (clipped), three with per-box fills.
fn erase_boxes(i: usize, fill: impl Fn(u8) -> EraseFill) -> Vec<EraseBox> {
    let b = |top, left, height, width, v| EraseBox {
        top,
        left,
        height,
        width,
        fill: fill(v),
    };
    match i % 5 {
        0 => vec![],
        1 => vec![b(2, 3, 5, 7, 10)],
        2 => vec![b(0, 0, 8, 8, 200), b(4, 4, 8, 8, 60)],
        3 => vec![b(15, 18, 30, 30, 255)],
        _ => vec![b(1, 1, 2, 2, 1), b(5, 9, 3, 1, 2), b(10, 0, 1, 20, 3)],
    }
}

#[test]
fn device_erase_matches_cpu() {
    let constant = both("erase", |i, _, _, _| {
        vec![OpParams::Erase(erase_boxes(i, |v| {
            EraseFill::Constant([v, v / 2, 255 - v])
        }))]
    });
    assert_eq!(constant, 0.0);
    // Random fill: outside the boxes the image is kept exactly; inside, values are uniform
    // on 0..=255 (mean 127.5, variance (256^2 - 1) / 12), as the CPU path's
    // `rng.random::<u8>()`; the mean of the box values is within 3 standard errors.
    let _lock = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = seeded_device(11);
    let images = rgb(5, 24, 20);
    let params: Vec<Vec<OpParams>> = (0..5)
        .map(|i| {
            vec![OpParams::Erase(erase_boxes(i, |v| {
                EraseFill::Random(v as u64)
            }))]
        })
        .collect();
    let out = apply_batch_device(to_tensor(&images, &device), &params).unwrap();
    let out = out.into_data().try_to_vec::<f32>().unwrap();
    let keep = to_tensor(&images, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let (h, w) = (20, 24);
    let mut inside = Vec::new();
    for (s, p) in params.iter().enumerate() {
        let OpParams::Erase(boxes) = &p[0] else {
            unreachable!()
        };
        for k in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    let i = ((s * 3 + k) * h + y) * w + x;
                    let hit = boxes.iter().any(|b| {
                        (b.top as usize..(b.top + b.height) as usize).contains(&y)
                            && (b.left as usize..(b.left + b.width) as usize).contains(&x)
                    });
                    if hit {
                        inside.push(out[i] as f64);
                    } else {
                        assert_eq!(out[i], keep[i], "sample {s} ({x}, {y}) outside the boxes");
                    }
                }
            }
        }
    }
    let n = inside.len() as f64;
    let mean = inside.iter().sum::<f64>() / n;
    let sd = ((256.0f64 * 256.0 - 1.0) / 12.0).sqrt();
    println!("erase random fill: {n} values, mean {mean:.2}");
    assert!((mean - 127.5).abs() <= 3.0 * sd / n.sqrt(), "mean {mean}");
    assert!(
        inside
            .iter()
            .all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
    );
}

/// `(mean, std)` of `out - in` per sample, over `c h w` values each.
fn diff_stats(out: &[f32], input: &[f32], per: usize) -> Vec<(f64, f64)> {
    out.chunks(per)
        .zip(input.chunks(per))
        .map(|(o, i)| {
            let d: Vec<f64> = o.iter().zip(i).map(|(a, b)| (a - b) as f64).collect();
            let mean = d.iter().sum::<f64>() / per as f64;
            let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (per - 1) as f64;
            (mean, var.sqrt())
        })
        .collect()
}

#[test]
fn device_gaussian_noise_has_the_cpu_distribution() {
    // A flat image at 128 and noise that never reaches 0 or 255 (|255 (mean + 5 sigma)| <
    // 127), so no clipping: out - in = round(255 (mean + sigma z)), with mean 255 mean and
    // variance (255 sigma)^2 + 1/12 (Sheppard's correction for rounding). Sample mean and
    // std within 3 standard errors (sd / sqrt(n) and sd / sqrt(2 (n - 1))), on both paths.
    let _lock = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = seeded_device(5);
    let (w, h) = (64u32, 48u32);
    let noise = [(0.0, 0.02), (0.01, 0.05), (-0.02, 0.03), (0.0, 0.08)];
    let images: Vec<AugImage> = noise
        .iter()
        .map(|_| AugImage::Rgb(RgbImage::from_pixel(w, h, image::Rgb([128; 3]))))
        .collect();
    let params: Vec<Vec<OpParams>> = noise
        .iter()
        .zip(1u64..)
        .map(|(&(mean, sigma), seed)| vec![OpParams::GaussianNoise { mean, sigma, seed }])
        .collect();
    let input = to_tensor(&images, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let dev = apply_batch_device(to_tensor(&images, &device), &params).unwrap();
    let dev = dev.into_data().try_to_vec::<f32>().unwrap();
    let cpu: Vec<AugImage> = images
        .iter()
        .zip(&params)
        .map(|(i, p)| apply_all(i, p))
        .collect();
    let cpu = to_tensor(&cpu, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let per = (3 * w * h) as usize;
    for (path, values) in [("device", &dev), ("cpu", &cpu)] {
        for ((mean, sd), &(m, s)) in diff_stats(values, &input, per).into_iter().zip(&noise) {
            let want_mean = 255.0 * m as f64;
            let want_sd = ((255.0 * s as f64).powi(2) + 1.0 / 12.0).sqrt();
            println!(
                "noise {path} ({m}, {s}): mean {mean:.3} vs {want_mean:.3}, sd {sd:.3} vs {want_sd:.3}"
            );
            let n = per as f64;
            assert!(
                (mean - want_mean).abs() <= 3.0 * want_sd / n.sqrt(),
                "{path} mean"
            );
            assert!(
                (sd - want_sd).abs() <= 3.0 * want_sd / (2.0 * (n - 1.0)).sqrt(),
                "{path} sd"
            );
        }
    }
}

#[test]
fn device_salt_and_pepper_has_the_cpu_distribution() {
    // Pixels of a flat 100 image become 255 with probability amount * salt and 0 with
    // amount * (1 - salt), all channels together; fractions within 3 binomial standard
    // errors sqrt(p (1 - p) / n), on both paths.
    let _lock = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = seeded_device(9);
    let (w, h) = (64u32, 64u32);
    let noise = [(0.01, 0.5), (0.06, 0.4), (0.2, 0.9), (0.5, 0.1)];
    let images: Vec<AugImage> = noise
        .iter()
        .map(|_| AugImage::Rgb(RgbImage::from_pixel(w, h, image::Rgb([100; 3]))))
        .collect();
    let params: Vec<Vec<OpParams>> = noise
        .iter()
        .zip(1u64..)
        .map(|(&(amount, salt), seed)| vec![OpParams::SaltAndPepper { amount, salt, seed }])
        .collect();
    let dev = apply_batch_device(to_tensor(&images, &device), &params).unwrap();
    let dev = dev.into_data().try_to_vec::<f32>().unwrap();
    let cpu: Vec<AugImage> = images
        .iter()
        .zip(&params)
        .map(|(i, p)| apply_all(i, p))
        .collect();
    let cpu = to_tensor(&cpu, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let plane = (w * h) as usize;
    for (path, values) in [("device", &dev), ("cpu", &cpu)] {
        for (s, &(amount, salt)) in noise.iter().enumerate() {
            let ch = |k: usize| &values[(s * 3 + k) * plane..(s * 3 + k + 1) * plane];
            assert!(
                ch(0) == ch(1) && ch(1) == ch(2),
                "{path}: one mask for all channels"
            );
            let frac = |v: f32| ch(0).iter().filter(|&&x| x == v).count() as f64 / plane as f64;
            for (what, got, p) in [
                ("salt", frac(255.0), (amount * salt) as f64),
                ("pepper", frac(0.0), (amount * (1.0 - salt)) as f64),
            ] {
                println!("{path} {what} ({amount}, {salt}): {got:.4} vs {p:.4}");
                let se = (p * (1.0 - p) / plane as f64).sqrt();
                assert!((got - p).abs() <= 3.0 * se, "{path} {what} {got} vs {p}");
            }
        }
    }
}

/// `params` with the noise ops (whose device realization differs) removed and random erase
/// fills made constant, recursively.
fn without_noise(params: &[OpParams]) -> Vec<OpParams> {
    params
        .iter()
        .map(|p| match p {
            OpParams::GaussianNoise { .. } | OpParams::SaltAndPepper { .. } => OpParams::Identity,
            OpParams::Erase(boxes) => OpParams::Erase(
                boxes
                    .iter()
                    .map(|b| EraseBox {
                        fill: EraseFill::Constant([77, 140, 3]),
                        ..*b
                    })
                    .collect(),
            ),
            OpParams::Sequence(s) => OpParams::Sequence(without_noise(s)),
            other => other.clone(),
        })
        .collect()
}

/// Runs `params` (noise included) on the device, then compares the noise-free params with
/// the CPU path; returns the MAE.
fn run_and_compare(name: &str, images: &[AugImage], params: &[Vec<OpParams>]) -> f64 {
    let device = seeded_device(1);
    let out = apply_batch_device(to_tensor(images, &device), params)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(out.dims()[0], images.len());
    let clean: Vec<Vec<OpParams>> = params.iter().map(|p| without_noise(p)).collect();
    let (mae, max) = compare(images, &clean);
    println!(
        "{name} {}ch: MAE {mae:.4} levels, max {max}",
        images[0].channels()
    );
    mae
}

#[test]
fn device_runs_every_op_of_the_catalogue() {
    let _lock = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    // Each op alone with its coin forced (as the every-op test of `image::tests::pipeline`), 8 samples each
    // of MNIST and RGB, so samples draw different parameters.
    for name in OP_NAMES {
        let src = match *name {
            "center-crop" | "resize" => format!("ops = [ {{ op = \"{name}\", size = 20 }} ]"),
            "compose" | "random-apply" | "one-of" => format!(
                "ops = [ {{ op = \"{name}\", ops = [ {{ op = \"equalize\", p = 1.0 }}, \
                 {{ op = \"hue\" }} ] }} ]"
            ),
            "randaugment" | "trivial-augment-wide" | "random-crop" | "random-resized-crop" => {
                format!("ops = [ {{ op = \"{name}\" }} ]")
            }
            _ => format!("ops = [ {{ op = \"{name}\", p = 1.0 }} ]"),
        };
        let pipe = toml::from_str::<AugmentSettings>(&src)
            .unwrap()
            .pipeline()
            .unwrap();
        for images in [mnist(8), rgb(8, 32, 30)] {
            let (w, h) = (images[0].width(), images[0].height());
            let params = sample_batch(&pipe, images.len(), w, h, 3, 0, 0);
            let mae = run_and_compare(name, &images, &params);
            assert!(mae <= 1.0, "{name}: MAE {mae}");
        }
    }
    // A trainer's pipeline (`image::tests::pipeline`'s standard one: crop, rotate, flip, color jitter,
    // noise, random erasing) with each policy after it, for a batch of 64.
    for policy in ["randaugment", "trivial-augment-wide"] {
        let src = format!(
            r#"ops = [ {{ op = "random-crop", padding = 2 }}, {{ op = "rotate", degrees = 15 }},
                       {{ op = "hflip" }}, {{ op = "color-jitter", brightness = 0.4,
                       contrast = 0.4, saturation = 0.4, hue = 0.1 }},
                       {{ op = "gaussian-noise", sigma = [0.0, 0.05] }},
                       {{ op = "random-erasing", value = "random" }} ]
               policy = "{policy}""#
        );
        let pipe = toml::from_str::<AugmentSettings>(&src)
            .unwrap()
            .pipeline()
            .unwrap();
        for images in [mnist(64), rgb(64, 32, 32)] {
            let (w, h) = (images[0].width(), images[0].height());
            let params = sample_batch(&pipe, images.len(), w, h, 42, 1, 0);
            let mae = run_and_compare(policy, &images, &params);
            assert!(mae <= 1.0, "{policy}: MAE {mae}");
        }
    }
}
