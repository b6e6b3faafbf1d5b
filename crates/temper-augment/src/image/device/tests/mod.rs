//! The device path against the CPU path: same params, same images (MNIST digits from the
//! bundled copy and synthetic RGB), on `Device::flex()`. Flips and crops must agree exactly;
//! the affine family and the photometric ops within a mean absolute error of 1 level on the
//! 0..255 scale: both paths compute the same `f32` formulas, so they may differ only where a
//! rounding flips one 8-bit level. The other ops (resize, hue, filters, histograms, erase,
//! noise) are in [`ops`].

use burn::tensor::{Device, DeviceKind, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::image::cpu::geometric::{AffineParams, CropParams, ResizeParams};
use crate::image::cpu::pipeline::sample_batch;
use crate::image::cpu::raster::{AugImage, Interpolation, PaddingMode};
use crate::image::device::apply_batch_device;
use crate::image::error::ImageAugError;
use crate::image::ops::settings::AugmentSettings;
use crate::image::{OpParams, apply_all};

mod ops;

/// The first `n` training digits (28x28 gray).
pub(super) fn mnist(n: usize) -> Vec<AugImage> {
    let data = temper_data::bundled_mnist().unwrap().train;
    (0..n)
        .map(|i| AugImage::from_raw(28, 28, 1, data.image(i).to_vec()).unwrap())
        .collect()
}

/// Smooth RGB gradients with a per-sample offset and a bright square (edges for the
/// interpolation to cross), `w x h`.
pub(super) fn rgb(n: usize, w: u32, h: u32) -> Vec<AugImage> {
    (0..n)
        .map(|k| {
            let mut raw = Vec::with_capacity((w * h * 3) as usize);
            for y in 0..h {
                for x in 0..w {
                    let square = (w / 4..w / 2).contains(&x) && (h / 3..h * 2 / 3).contains(&y);
                    raw.push(((x * 255) / w.max(2)) as u8);
                    raw.push(((y * 200) / h.max(2) + 20 * k as u32).min(255) as u8);
                    raw.push(if square {
                        250
                    } else {
                        (37 * k as u32 % 128) as u8
                    });
                }
            }
            AugImage::from_raw(w, h, 3, raw).unwrap()
        })
        .collect()
}

/// `[N, C, H, W]` with the bytes as `f32` values.
pub(super) fn to_tensor(images: &[AugImage], device: &Device) -> Tensor<4> {
    let (w, h, c) = (
        images[0].width() as usize,
        images[0].height() as usize,
        images[0].channels(),
    );
    let mut data = Vec::with_capacity(images.len() * c * h * w);
    for img in images {
        for k in 0..c {
            data.extend(img.as_raw().iter().skip(k).step_by(c).map(|&v| v as f32));
        }
    }
    Tensor::from_data(TensorData::new(data, [images.len(), c, h, w]), device)
}

/// `(mean, max)` absolute difference between the CPU path and the device path, in levels.
pub(super) fn compare(images: &[AugImage], params: &[Vec<OpParams>]) -> (f64, f32) {
    compare_on(&Device::flex(), images, params)
}

pub(super) fn compare_on(
    device: &Device,
    images: &[AugImage],
    params: &[Vec<OpParams>],
) -> (f64, f32) {
    let out = apply_batch_device(to_tensor(images, device), params).unwrap();
    let cpu: Vec<AugImage> = images
        .iter()
        .zip(params)
        .map(|(img, p)| apply_all(img, p))
        .collect();
    assert_eq!(
        out.dims(),
        [
            cpu.len(),
            cpu[0].channels(),
            cpu[0].height() as usize,
            cpu[0].width() as usize
        ]
    );
    let got = out.into_data().try_to_vec::<f32>().unwrap();
    let want = to_tensor(&cpu, device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let (mut sum, mut max) = (0f64, 0f32);
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.fract() == 0.0 && (0.0..=255.0).contains(g),
            "{g} is not a level"
        );
        let d = (g - w).abs();
        sum += d as f64;
        max = max.max(d);
    }
    (sum / got.len() as f64, max)
}

/// Each op on both image sets, one op list per sample from `make(sample index, rng)`.
pub(super) fn both(
    name: &str,
    make: impl Fn(usize, &mut ChaCha8Rng, u32, u32) -> Vec<OpParams>,
) -> f64 {
    let mut worst = 0f64;
    for images in [mnist(8), rgb(6, 24, 20)] {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (w, h) = (images[0].width(), images[0].height());
        let params: Vec<Vec<OpParams>> =
            (0..images.len()).map(|i| make(i, &mut rng, w, h)).collect();
        let (mae, max) = compare(&images, &params);
        // Printed for the closing note (cargo test -- --nocapture).
        println!(
            "{name} {}ch: MAE {mae:.4} levels, max {max}",
            images[0].channels()
        );
        // Float error can move a value across a rounding boundary, never further.
        assert!(max <= 1.0, "{name}: max difference {max} levels");
        worst = worst.max(mae);
    }
    worst
}

#[test]
fn device_flips_match_cpu_exactly() {
    let mae = both("flips", |i, _, _, _| match i % 4 {
        0 => vec![OpParams::HFlip],
        1 => vec![OpParams::VFlip],
        2 => vec![OpParams::Identity],
        _ => vec![OpParams::HFlip, OpParams::VFlip],
    });
    assert_eq!(mae, 0.0);
}

#[test]
fn device_crops_match_cpu_exactly() {
    // torchvision RandomCrop(size=H, padding=4): box offsets in [-4, 4], constant fill that
    // differs per sample, plus a smaller centre-style crop for every sample.
    let padded = both("random-crop", |i, rng, w, h| {
        vec![OpParams::Crop(CropParams {
            top: rng.random_range(-4..=4),
            left: rng.random_range(-4..=4),
            height: h,
            width: w,
            padding_mode: PaddingMode::Constant,
            fill: [(i * 40) as u8, 7, 200],
        })]
    });
    assert_eq!(padded, 0.0);
    let smaller = both("crop", |_, rng, _, _| {
        vec![OpParams::Crop(CropParams {
            top: rng.random_range(0..=6),
            left: rng.random_range(-2..=3),
            height: 14,
            width: 19,
            padding_mode: PaddingMode::Constant,
            fill: [0; 3],
        })]
    });
    assert_eq!(smaller, 0.0);
    // Edge / reflect / symmetric padding (torchvision padding_mode), mixed with constant in
    // one batch.
    let modes = [
        PaddingMode::Edge,
        PaddingMode::Reflect,
        PaddingMode::Symmetric,
        PaddingMode::Constant,
    ];
    let mixed = both("crop padding modes", |i, rng, w, h| {
        vec![OpParams::Crop(CropParams {
            top: rng.random_range(-5..=5),
            left: rng.random_range(-5..=5),
            height: h,
            width: w,
            padding_mode: modes[i % 4],
            fill: [90, 7, 200],
        })]
    });
    assert_eq!(mixed, 0.0);
}

fn random_affine(rng: &mut ChaCha8Rng, interpolation: Interpolation, i: usize) -> AffineParams {
    AffineParams {
        angle: rng.random_range(-30.0..30.0),
        translate: [rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0)],
        scale: rng.random_range(0.8..1.2),
        shear: [rng.random_range(-10.0..10.0), rng.random_range(-5.0..5.0)],
        center: (i % 3 == 2).then_some([10.0, 9.0]),
        interpolation,
        // Every third sample without a fill (zeros outside, no mask), the others with one.
        fill: (i % 3 != 1).then_some([(i * 30) as u8, 128, 0]),
    }
}

#[test]
fn device_affine_matches_cpu_within_one_level() {
    for interp in [Interpolation::Bilinear, Interpolation::Nearest] {
        let mae = both(&format!("affine {interp:?}"), |i, rng, _, _| {
            vec![OpParams::Affine(random_affine(rng, interp, i))]
        });
        assert!(mae <= 1.0, "{interp:?}: MAE {mae}");
    }
    // Rotations only (RandomRotation(30)), per-sample angles.
    let mae = both("rotate", |_, rng, _, _| {
        vec![OpParams::Affine(AffineParams::rotation(
            rng.random_range(-30.0..30.0),
            Interpolation::Bilinear,
            [0; 3],
        ))]
    });
    assert!(mae <= 1.0, "rotate: MAE {mae}");
}

#[test]
fn device_rotation_by_90_is_transpose_then_vflip() {
    // Counter-clockwise by 90 degrees (torchvision F.rotate): new[i][j] = old[j][W-1-i], on a
    // 5x5 image of distinct values; every sampling position is a pixel centre, so bilinear
    // and nearest are exact. Clockwise (-90): new[i][j] = old[H-1-j][i].
    let n = 5usize;
    let old: Vec<u8> = (0..25).map(|v| (v * 10) as u8).collect();
    let img = AugImage::from_raw(5, 5, 1, old.clone()).unwrap();
    let device = Device::flex();
    for interp in [Interpolation::Bilinear, Interpolation::Nearest] {
        let params = vec![
            vec![OpParams::Affine(AffineParams::rotation(
                90.0, interp, [0; 3],
            ))],
            vec![OpParams::Affine(AffineParams::rotation(
                -90.0, interp, [0; 3],
            ))],
        ];
        let out = apply_batch_device(to_tensor(&[img.clone(), img.clone()], &device), &params)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for i in 0..n {
            for j in 0..n {
                let ccw = old[j * n + (n - 1 - i)] as f32;
                let cw = old[(n - 1 - j) * n + i] as f32;
                assert_eq!(out[i * n + j], ccw, "{interp:?} ccw ({i}, {j})");
                assert_eq!(out[25 + i * n + j], cw, "{interp:?} cw ({i}, {j})");
            }
        }
    }
}

#[test]
fn device_photometric_ops_match_cpu_within_one_level() {
    type Make = fn(&mut ChaCha8Rng) -> OpParams;
    let ops: [(&str, Make); 8] = [
        ("brightness", |r| {
            OpParams::Brightness(r.random_range(0.5..1.6))
        }),
        ("contrast", |r| OpParams::Contrast(r.random_range(0.3..1.8))),
        ("saturation", |r| {
            OpParams::Saturation(r.random_range(0.0..2.0))
        }),
        ("gamma", |r| OpParams::Gamma {
            gamma: r.random_range(0.5..2.0),
            gain: r.random_range(0.8..1.2),
        }),
        ("grayscale", |_| OpParams::Grayscale),
        ("invert", |_| OpParams::Invert),
        ("solarize", |r| {
            OpParams::Solarize(r.random_range(0.0..256.0))
        }),
        ("posterize", |r| OpParams::Posterize(r.random_range(0..=8))),
    ];
    for (name, make) in ops {
        let mae = both(name, |_, rng, _, _| vec![make(rng)]);
        assert!(mae <= 1.0, "{name}: MAE {mae}");
    }
}

#[test]
fn device_mixed_ops_per_sample_keep_sample_order() {
    // Different ops at the same position (as RandAugment draws them), nested sequences and
    // lists of different lengths: grouping by op and restoring the order must not mix up
    // samples.
    let mae = both("mixed", |i, rng, _, _| match i % 5 {
        0 => vec![OpParams::HFlip, OpParams::Brightness(1.3)],
        1 => vec![
            OpParams::Affine(random_affine(rng, Interpolation::Bilinear, i)),
            OpParams::Invert,
        ],
        2 => vec![OpParams::Sequence(vec![
            OpParams::Solarize(100.0),
            OpParams::Posterize(3),
        ])],
        3 => vec![OpParams::Identity],
        _ => vec![
            OpParams::Contrast(0.6),
            OpParams::VFlip,
            OpParams::Grayscale,
        ],
    });
    assert!(mae <= 1.0, "mixed: MAE {mae}");
}

#[test]
fn device_replays_a_sampled_pipeline() {
    // Params drawn by the CPU path's sampler for a config a trainer would use.
    let settings: AugmentSettings = toml::from_str(
        r#"ops = [ { op = "random-crop", padding = 4 }, { op = "rotate", degrees = 15 },
                   { op = "hflip" }, { op = "color-jitter", brightness = 0.4, contrast = 0.4 } ]"#,
    )
    .unwrap();
    let pipe = settings.pipeline().unwrap();
    let images = mnist(16);
    let params = sample_batch(&pipe, images.len(), 28, 28, 7, 3, 100);
    let (mae, max) = compare(&images, &params);
    println!("pipeline 1ch: MAE {mae:.4} levels, max {max}");
    assert!(mae <= 1.0, "pipeline: MAE {mae}");
}

#[test]
fn device_rejects_ragged_sizes_and_bad_batches() {
    let device = Device::flex();
    let images = to_tensor(&mnist(2), &device);
    let run = |p: Vec<Vec<OpParams>>| apply_batch_device(images.clone(), &p);
    let small = OpParams::Crop(CropParams {
        top: 0,
        left: 0,
        height: 10,
        width: 10,
        padding_mode: PaddingMode::Constant,
        fill: [0; 3],
    });
    let err = run(vec![vec![small], vec![OpParams::Identity]]).unwrap_err();
    assert!(matches!(err, ImageAugError::Invalid { .. }), "{err}");
    // A resize to another size than its neighbour's, inside a nested sequence.
    let resize = |s: u32| {
        OpParams::Resize(ResizeParams {
            width: s,
            height: s,
            antialias: true,
        })
    };
    let err = run(vec![
        vec![OpParams::Sequence(vec![OpParams::Invert, resize(14)])],
        vec![OpParams::Sequence(vec![OpParams::Equalize, resize(20)])],
    ])
    .unwrap_err();
    assert!(
        err.to_string().contains("op 2 of sample 1 gives 20x20"),
        "{err}"
    );
    let err = run(vec![vec![OpParams::HFlip]]).unwrap_err();
    assert!(matches!(err, ImageAugError::Invalid { .. }), "{err}");
    let two = Tensor::<4>::zeros([1, 2, 4, 4], &device);
    let err = apply_batch_device(two, &[vec![OpParams::Identity]]).unwrap_err();
    assert!(err.to_string().contains("2 channels"), "{err}");
}

#[test]
fn device_path_on_wgpu_matches_cpu() {
    // The trainer's target: the GPU. Lavapipe (software Vulkan) stands in where there is no
    // GPU; with no adapter at all the test is skipped, except on CI (which installs one).
    let device = std::panic::catch_unwind(|| {
        Device::wgpu_options()
            .device_kind(DeviceKind::DefaultDevice)
            .init()
    });
    let Ok(Ok(device)) = device else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but no wgpu adapter exists: install mesa-vulkan-drivers"
        );
        eprintln!("no wgpu adapter on this machine: wgpu test not run");
        return;
    };
    let images = mnist(16);
    let settings: AugmentSettings = toml::from_str(
        r#"ops = [ { op = "random-crop", padding = 4, fill = 30 }, { op = "vflip" },
                   { op = "affine", degrees = 20, translate = [0.1, 0.1], scale = [0.9, 1.1],
                     shear = 8 }, { op = "posterize", bits = 3, p = 0.5 }, { op = "invert" } ]"#,
    )
    .unwrap();
    let params = sample_batch(&settings.pipeline().unwrap(), images.len(), 28, 28, 1, 0, 0);
    let (mae, max) = compare_on(&device, &images, &params);
    println!("wgpu pipeline 1ch: MAE {mae:.4} levels, max {max}");
    assert!(mae <= 1.0, "wgpu: MAE {mae}");
    // The resampling, color, filter, histogram (integer scatter-add) and erase ops, on RGB.
    let images = rgb(8, 32, 30);
    let settings: AugmentSettings = toml::from_str(
        r#"ops = [ { op = "random-resized-crop", size = 24, scale = [0.4, 1.0] },
                   { op = "hue", shift = 0.4 }, { op = "sharpness", p = 1.0, factor = [0, 3] },
                   { op = "gaussian-blur", p = 0.5, kernel_size = 5 }, { op = "equalize" },
                   { op = "autocontrast" }, { op = "random-erasing", p = 1.0, value = [9, 8, 7] },
                   { op = "resize", size = [20, 18] } ]"#,
    )
    .unwrap();
    let params = sample_batch(&settings.pipeline().unwrap(), images.len(), 32, 30, 2, 0, 0);
    let (mae, max) = compare_on(&device, &images, &params);
    println!("wgpu new ops 3ch: MAE {mae:.4} levels, max {max}");
    assert!(mae <= 1.0, "wgpu new ops: MAE {mae}");
    // The noise ops draw with the device's RNG: they run and give levels (their statistics
    // are checked on flex in `ops`).
    let noise = [
        OpParams::GaussianNoise {
            mean: 0.0,
            sigma: 0.1,
            seed: 0,
        },
        OpParams::SaltAndPepper {
            amount: 0.1,
            salt: 0.5,
            seed: 0,
        },
    ];
    let params: Vec<Vec<OpParams>> = (0..8).map(|i| vec![noise[i % 2].clone()]).collect();
    let out = apply_batch_device(to_tensor(&images, &device), &params).unwrap();
    let out = out.into_data().try_to_vec::<f32>().unwrap();
    assert!(
        out.iter()
            .all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
    );
}
