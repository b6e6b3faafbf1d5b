//! Images per second of the streaming loader: an ImageFolder of JPEGs decoded, cropped by
//! `random-resized-crop` to 224 at each image's own size, flipped, normalized with ImageNet's
//! statistics and batched by 64 — torchvision's ImageNet training transform — on 1 and 2
//! worker threads, from the JPEG files (`cold`) and from the decoded cache (`cache`, short
//! side 256). One iteration is one epoch over the folder through `temper_train::for_each_batch`,
//! the loader a run uses; Criterion reports images per second.
//!
//! The folder: `TEMPER_BENCH_JPEGS=DIR` (e.g. made by `benches/make_jpeg_folder.py DIR`, which
//! `benches/torch_loader_bench.py DIR` measures PyTorch's `DataLoader` on: run both on the same
//! files), else 2,000 synthetic 500x375 JPEGs written to a temporary folder first.
//!
//! `cargo bench --bench loader` (add `-- cold` or `-- cache` to filter).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use temper_data::{
    CacheOptions, FolderOptions, ImageData, Normalization, StreamOptions, open_image_folder,
};
use temper_train::{Experiment, IMAGENET_MEAN, IMAGENET_STD, for_each_batch};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Synthetic images when no folder is given: 10 classes of 200.
const IMAGES: usize = 2_000;

/// Writes `IMAGES` 500x375 JPEGs (quality 90) of smooth gradients with a few shapes and a
/// little noise, so they compress like photographs (about 30-60 KB each).
fn write_jpegs(dir: &Path) {
    let mut state = 12_345u32;
    let mut noise = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 28) as u8
    };
    for n in 0..IMAGES {
        let class = dir.join(format!("class{}", n % 10));
        std::fs::create_dir_all(&class).unwrap();
        let (cx, cy, r) = (
            (n * 37 % 500) as i64,
            (n * 53 % 375) as i64,
            40 + (n % 90) as i64,
        );
        let img = image::RgbImage::from_fn(500, 375, |x, y| {
            let (dx, dy) = (x as i64 - cx, y as i64 - cy);
            let inside = dx * dx + dy * dy < r * r;
            let base = [(x / 2) as u8, (y * 2 / 3) as u8, ((x + y) / 4) as u8];
            let shade = if inside { 90 } else { 0 };
            image::Rgb(base.map(|v| v.wrapping_add(shade).saturating_add(noise())))
        });
        let file = std::fs::File::create(class.join(format!("{n}.jpg"))).unwrap();
        let mut encoder =
            image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 90);
        encoder.encode_image(&img).unwrap();
    }
}

/// The experiment of the measured pipeline on `workers` threads.
fn experiment(dir: &Path, workers: usize) -> Experiment {
    Experiment::from_toml_str(
        &format!(
            "[data]\nsource = \"folder:{}\"\nimage_size = [224, 224]\nchannels = 3\n\
             workers = {workers}\nprefetch = 2\n\
             [train]\nbatch_size = 64\n\
             [augment]\nops = [{{ op = \"random-resized-crop\", size = 224 }}, \
             {{ op = \"hflip\" }}]\n",
            dir.display()
        ),
        "loader.toml",
    )
    .unwrap()
}

fn bench_loader(c: &mut Criterion) {
    temper::allocator::keep_freed_pages();
    let tmp = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("TEMPER_BENCH_JPEGS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            write_jpegs(&tmp.path().join("jpegs"));
            tmp.path().join("jpegs")
        }
    };
    let folder = FolderOptions {
        image_size: Some([224, 224]),
        channels: Some(3),
        test_fraction: 0.0,
        ..FolderOptions::default()
    };
    let cache = CacheOptions {
        dir: tmp.path().join("cache"),
        short_side: 256,
    };
    let normalization = Normalization {
        mean: IMAGENET_MEAN.to_vec(),
        std: IMAGENET_STD.to_vec(),
    };
    let mut group = c.benchmark_group("loader");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    for (name, cache) in [("cold", None), ("cache", Some(cache))] {
        let options = StreamOptions {
            folder: folder.clone(),
            cache,
        };
        let splits = open_image_folder(&dir, &options, &|_, _| {}).unwrap();
        let data: &dyn ImageData = &splits.train;
        let indices: Vec<usize> = (0..data.len()).collect();
        group.throughput(Throughput::Elements(data.len() as u64));
        for workers in [1, 2] {
            let exp = experiment(&dir, workers);
            group.bench_function(format!("{name}/workers={workers}"), |b| {
                let mut epoch = 0;
                b.iter(|| {
                    epoch += 1;
                    let mut images = 0;
                    for_each_batch(&exp, data, &normalization, &indices, epoch, |_, batch| {
                        images += batch.labels.len();
                        std::hint::black_box(&batch.values);
                        Ok(())
                    })
                    .unwrap();
                    assert_eq!(images, indices.len());
                })
            });
        }
    }
    group.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_loader(&mut c);
}

criterion_main!(benches);
