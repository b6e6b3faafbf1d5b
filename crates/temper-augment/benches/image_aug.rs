//! Images per second of the CPU image pipeline on batches of 128, one thread and all threads:
//! the typical pipeline (random-crop padding 2 + rotate ±15 + hflip) and the issue's standard
//! pipeline (random resized crop + hflip + rotate ±15 + color jitter + Gaussian noise), on
//! 28x28 gray and 32x32 RGB.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p temper-augment --bench image_aug`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use image::{GrayImage, RgbImage};
use temper_augment::image::{AugImage, AugmentSettings, Pipeline, augment_batch};

const BATCH: usize = 128;

fn pipeline(ops: &str) -> Pipeline {
    toml::from_str::<AugmentSettings>(&format!("ops = [ {ops} ]"))
        .expect("bench pipeline parses")
        .pipeline()
        .expect("bench pipeline is valid")
}

fn images(rgb: bool) -> Vec<AugImage> {
    (0..BATCH as u32)
        .map(|i| {
            if rgb {
                AugImage::Rgb(RgbImage::from_fn(32, 32, |x, y| {
                    image::Rgb([(x * 8 + i) as u8, (y * 8) as u8, ((x + y) * 4) as u8])
                }))
            } else {
                AugImage::Gray(GrayImage::from_fn(28, 28, |x, y| {
                    image::Luma([((x * y + i) % 256) as u8])
                }))
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let typical = pipeline(
        r#"{ op = "random-crop", padding = 2 }, { op = "rotate", degrees = 15 }, { op = "hflip" }"#,
    );
    let standard = pipeline(
        r#"{ op = "random-resized-crop", scale = [0.8, 1.0] }, { op = "hflip" },
           { op = "rotate", degrees = 15 },
           { op = "color-jitter", brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1 },
           { op = "gaussian-noise", sigma = 0.05 }"#,
    );
    let all = rayon::current_num_threads();
    for (pname, pipe) in [("typical", &typical), ("standard", &standard)] {
        for (iname, rgb) in [("gray28", false), ("rgb32", true)] {
            let imgs = images(rgb);
            let mut group = c.benchmark_group(format!("{pname}/{iname}"));
            group.throughput(Throughput::Elements(BATCH as u64));
            group.sample_size(20);
            group.measurement_time(std::time::Duration::from_secs(3));
            for threads in [1, all] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("thread pool");
                let mut epoch = 0u32;
                group.bench_function(format!("b128_threads{threads}"), |b| {
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

criterion_group!(benches, bench);
criterion_main!(benches);
