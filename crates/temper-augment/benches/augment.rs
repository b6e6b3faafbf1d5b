//! Images per second of image augmentation: every op alone (one thread), the
//! typical pipeline (random-crop padding 2 + rotate ±15 + hflip) and the standard one (random
//! resized crop + hflip + rotate ±15 + color jitter + Gaussian noise) with one thread and all,
//! on 28x28 gray and 224x224 RGB; and the device path (`apply_batch_device`) for both
//! pipelines on flex and, when an adapter exists, on wgpu.
//!
//! `cargo bench --bench augment` (from the workspace root; `-- op/` etc. to filter)

use std::hint::black_box;
use std::time::Duration;

use burn::tensor::{Device, DeviceKind, Tensor, TensorData};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use image::{GrayImage, RgbImage};
use temper_augment::image::{
    AugImage, AugmentSettings, Pipeline, apply_batch_device, augment_batch, sample_batch,
};

/// The `temper` binary's allocator (`src/main.rs`), so the bench times what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Batch per image size: 128 small images, 32 large ones (about 4.8 MB of RGB).
const SIZES: [(&str, bool, u32, usize); 2] =
    [("gray28", false, 28, 128), ("rgb224", true, 224, 32)];

const OPS: [&str; 28] = [
    r#"{ op = "hflip", p = 1.0 }"#,
    r#"{ op = "vflip", p = 1.0 }"#,
    r#"{ op = "rotate", degrees = 15 }"#,
    r#"{ op = "translate", fraction = [0.1, 0.1] }"#,
    r#"{ op = "scale", range = [0.9, 1.1] }"#,
    r#"{ op = "shear", degrees = 10 }"#,
    r#"{ op = "affine", degrees = 15, translate = [0.1, 0.1], scale = [0.9, 1.1] }"#,
    r#"{ op = "random-crop", padding = 4 }"#,
    r#"{ op = "random-resized-crop", scale = [0.8, 1.0] }"#,
    r#"{ op = "brightness" }"#,
    r#"{ op = "contrast" }"#,
    r#"{ op = "saturation" }"#,
    r#"{ op = "hue", shift = 0.1 }"#,
    r#"{ op = "color-jitter", brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1 }"#,
    r#"{ op = "gamma" }"#,
    r#"{ op = "gaussian-noise", sigma = 0.05 }"#,
    r#"{ op = "salt-and-pepper" }"#,
    r#"{ op = "gaussian-blur" }"#,
    r#"{ op = "sharpness", p = 1.0 }"#,
    r#"{ op = "grayscale", p = 1.0 }"#,
    r#"{ op = "invert", p = 1.0 }"#,
    r#"{ op = "solarize", p = 1.0 }"#,
    r#"{ op = "posterize", p = 1.0 }"#,
    r#"{ op = "equalize", p = 1.0 }"#,
    r#"{ op = "autocontrast", p = 1.0 }"#,
    r#"{ op = "random-erasing", p = 1.0 }"#,
    r#"{ op = "resize", size = 32 }"#,
    r#"{ op = "resize", size = 32, antialias = false }"#,
];

fn pipeline(ops: &str) -> Option<Pipeline> {
    toml::from_str::<AugmentSettings>(&format!("ops = [ {ops} ]"))
        .ok()?
        .pipeline()
        .ok()
}

fn images(rgb: bool, side: u32, n: usize) -> Vec<AugImage> {
    (0..n as u32)
        .map(|i| {
            if rgb {
                AugImage::Rgb(RgbImage::from_fn(side, side, |x, y| {
                    image::Rgb([(x + i) as u8, y as u8, ((x + y) / 2) as u8])
                }))
            } else {
                AugImage::Gray(GrayImage::from_fn(side, side, |x, y| {
                    image::Luma([((x * y + i) % 256) as u8])
                }))
            }
        })
        .collect()
}

fn settle(group: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool")
}

fn bench_ops(c: &mut Criterion) {
    let pool = one_thread();
    for (size, rgb, side, n) in SIZES {
        let imgs = images(rgb, side, n);
        let mut group = c.benchmark_group(format!("op/{size}"));
        settle(&mut group, n);
        for spec in OPS {
            let Some(pipe) = pipeline(spec) else {
                panic!("bench op {spec} does not parse");
            };
            let op = spec.split('"').nth(1).expect("op name");
            let name = if spec.contains("antialias = false") {
                format!("{op}/no-antialias")
            } else {
                op.to_string()
            };
            let mut epoch = 0u32;
            group.bench_function(&name, |b| {
                b.iter(|| {
                    epoch = epoch.wrapping_add(1);
                    pool.install(|| black_box(augment_batch(&imgs, &pipe, 7, epoch, 0)))
                })
            });
        }
        group.finish();
    }
}

/// The two pipelines of the README: typical (random-crop pad 2 + rotate ±15 + hflip) and
/// standard (random resized crop + hflip + rotate ±15 + color jitter + Gaussian noise).
fn typical_and_standard() -> (Pipeline, Pipeline) {
    let typical = pipeline(
        r#"{ op = "random-crop", padding = 2 }, { op = "rotate", degrees = 15 }, { op = "hflip" }"#,
    )
    .expect("typical pipeline");
    let standard = pipeline(
        r#"{ op = "random-resized-crop", scale = [0.8, 1.0] }, { op = "hflip" },
           { op = "rotate", degrees = 15 },
           { op = "color-jitter", brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1 },
           { op = "gaussian-noise", sigma = 0.05 }"#,
    )
    .expect("standard pipeline");
    (typical, standard)
}

fn bench_pipelines(c: &mut Criterion) {
    let (typical, standard) = typical_and_standard();
    let all = rayon::current_num_threads();
    for (pname, pipe) in [("typical", &typical), ("standard", &standard)] {
        for (size, rgb, side, n) in SIZES {
            let imgs = images(rgb, side, n);
            let mut group = c.benchmark_group(format!("cpu/{pname}/{size}"));
            settle(&mut group, n);
            for threads in [1, all] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("thread pool");
                let mut epoch = 0u32;
                group.bench_function(format!("threads{threads}"), |b| {
                    b.iter(|| {
                        epoch = epoch.wrapping_add(1);
                        pool.install(|| black_box(augment_batch(&imgs, pipe, 7, epoch, 0)))
                    })
                });
            }
            group.finish();
        }
    }
}

/// The wgpu device if an adapter exists (a GPU, or lavapipe's software Vulkan on a CPU-only
/// machine), else `None`.
fn wgpu_device() -> Option<Device> {
    std::panic::catch_unwind(|| {
        Device::wgpu_options()
            .device_kind(DeviceKind::DefaultDevice)
            .init()
    })
    .ok()?
    .ok()
}

/// The device path on flex and, when an adapter exists, on wgpu: parameters drawn on the
/// host, pixels uploaded once, ops replayed on the tensor, result read back (so the work is
/// done, not merely queued).
fn bench_device(c: &mut Criterion) {
    let (typical, standard) = typical_and_standard();
    let devices = [("flex", Some(Device::flex())), ("wgpu", wgpu_device())];
    for (dname, device) in devices {
        let Some(device) = device else {
            eprintln!("no wgpu adapter: device-wgpu benches skipped");
            continue;
        };
        for (size, rgb, side, n) in SIZES {
            let imgs = images(rgb, side, n);
            let c_ = if rgb { 3 } else { 1 };
            let s = side as usize;
            let mut raw = Vec::with_capacity(n * c_ * s * s);
            for img in &imgs {
                // Interleaved to planar.
                let px = img.as_raw();
                for ch in 0..c_ {
                    raw.extend((0..s * s).map(|p| px[p * c_ + ch] as f32));
                }
            }
            let mut group = c.benchmark_group(format!("device-{dname}/{size}"));
            settle(&mut group, n);
            for (pname, pipe) in [("typical", &typical), ("standard", &standard)] {
                let mut epoch = 0u32;
                group.bench_function(pname, |b| {
                    b.iter(|| {
                        epoch = epoch.wrapping_add(1);
                        let params = sample_batch(pipe, n, side, side, 7, epoch, 0);
                        let t = Tensor::<4>::from_data(
                            TensorData::new(raw.clone(), [n, c_, s, s]),
                            &device,
                        );
                        let out = apply_batch_device(t, &params).expect("every op runs on device");
                        black_box(out.into_data())
                    })
                });
            }
            group.finish();
        }
    }
}

/// In a private module, the function `criterion_group!` writes is not public API and needs no
/// documentation.
mod groups {
    use super::*;

    criterion_group!(benches, bench_ops, bench_pipelines, bench_device);
}

criterion_main!(groups::benches);
