//! Training steps per second of the reference models (shared/bench/README.md): MLP
//! 784-256-10 and the 2-conv CNN, Adam lr 1e-3, cross-entropy, batch 128, on each CPU backend
//! and on wgpu when an adapter exists. Criterion reports throughput in samples per second.
//!
//! The standard architectures follow (`bench_zoo`): ResNet-20 on 3x32x32 and ResNet-18 on
//! 3x64x64 images, batch 64, on flex.
//!
//! `cargo bench --bench train_step` (add `-- mlp` or `-- cnn/flex` to filter).
//! Software wgpu adapters (lavapipe) run the CNN at ~10 samples/s; their CNN case runs only
//! with `TEMPER_BENCH_SLOW=1`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use temper_data::{ImageBatcher, ImageDataset, Normalization, bundled_mnist};
use temper_model::{Classifier, CnnConfig, MlpConfig, ResNetConfig, TvResNetConfig};
use temper_optim::{OptimizerKind, OptimizerSettings, RegularizationSettings};
use temper_train::{DeviceChoice, ModelKind, Stepper, select_device, wgpu_adapters};

/// The allocator the `temper` binary uses (src/main.rs) with its setting
/// (`temper::allocator`), so the bench times what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 128;

fn bench_train_step(c: &mut Criterion) {
    temper::allocator::keep_freed_pages();
    let mnist = bundled_mnist().expect("bundled MNIST");
    let batcher = ImageBatcher::new(Normalization::mnist(), [1, 28, 28]);
    let adapters = wgpu_adapters();
    let hardware_gpu = adapters.iter().any(|a| a.hardware);
    let slow_ok = std::env::var_os("TEMPER_BENCH_SLOW").is_some();

    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(8));

    for kind in [ModelKind::Mlp, ModelKind::Cnn] {
        for backend in [
            DeviceChoice::Flex,
            DeviceChoice::NdArray,
            DeviceChoice::Wgpu,
        ] {
            if backend == DeviceChoice::Wgpu
                && (adapters.is_empty() || (kind == ModelKind::Cnn && !hardware_gpu && !slow_ok))
            {
                continue;
            }
            let device = select_device(backend).expect("device").device.autodiff();
            device.seed(0);
            // An Option so `train_step` can take the model by value inside `iter`.
            let mut model: Option<Classifier> = Some(match kind {
                ModelKind::Mlp => MlpConfig::new().init(&device).into(),
                ModelKind::Cnn => CnnConfig::new().init(&device).into(),
                ModelKind::ResNet => ResNetConfig::new().init(&device).into(),
                other => unreachable!("{other:?} is not in the benchmarked kinds"),
            });
            let mut stepper = Stepper::new(
                &OptimizerSettings::preset(OptimizerKind::Adam),
                &RegularizationSettings::default(),
            )
            .unwrap();
            let mut start = 0;
            let name = format!(
                "{}/{backend}",
                if kind == ModelKind::Mlp { "mlp" } else { "cnn" }
            );
            group.bench_function(name, |b| {
                b.iter(|| {
                    // Walk through the training set so every step sees new images, as in training.
                    let indices: Vec<usize> = (start..start + BATCH).collect();
                    start = (start + BATCH) % (mnist.train.len() - BATCH);
                    let batch = batcher.batch_indices(&mnist.train, &indices, &device);
                    let (m, out) = stepper.step(model.take().unwrap(), batch, 1e-3);
                    model = Some(m);
                    // Reading the loss waits for the device, so asynchronous backends are timed
                    // for the work they did, not for queuing it.
                    out.loss.into_scalar::<f32>()
                })
            });
        }
    }
    group.finish();
    bench_zoo(c);
}

/// The standard architectures on colour images (batch 64, Adam lr 1e-3, flex): `resnet20` at
/// 3x32x32 (CIFAR) and `resnet18` at 3x64x64, on seeded random pixels (the time of a step does
/// not depend on them); `benches/torch_zoo_bench.py` times the same steps in PyTorch.
fn bench_zoo(c: &mut Criterion) {
    const ZOO_BATCH: usize = 64;
    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(ZOO_BATCH as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for (name, side, config) in [
        ("resnet20", 32, TvResNetConfig::resnet20()),
        (
            "resnet18",
            64,
            TvResNetConfig::resnet18().with_num_classes(10),
        ),
    ] {
        let shape = [3, side, side];
        let data = random_images(ZOO_BATCH * 4, shape);
        let batcher = ImageBatcher::new(Normalization::fit(&data, &[0]), shape);
        let device = select_device(DeviceChoice::Flex)
            .expect("flex")
            .device
            .autodiff();
        device.seed(0);
        let mut model: Option<Classifier> =
            Some(config.with_image_size([side, side]).init(&device).into());
        let mut stepper = Stepper::new(
            &OptimizerSettings::preset(OptimizerKind::Adam),
            &RegularizationSettings::default(),
        )
        .unwrap();
        let mut start = 0;
        group.bench_function(format!("{name}/flex"), |b| {
            b.iter(|| {
                let indices: Vec<usize> = (start..start + ZOO_BATCH).collect();
                start = (start + ZOO_BATCH) % (data.len() - ZOO_BATCH);
                let batch = batcher.batch_indices(&data, &indices, &device);
                let (m, out) = stepper.step(model.take().unwrap(), batch, 1e-3);
                model = Some(m);
                out.loss.into_scalar::<f32>()
            })
        });
    }
    group.finish();
}

/// `n` images of `shape` with seeded uniform pixels and labels in 0..10.
fn random_images(n: usize, shape: [usize; 3]) -> ImageDataset {
    let len = shape.iter().product::<usize>() * n;
    // A 64-bit LCG (Knuth's MMIX constants): reproducible without another dependency.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 56) as u8
    };
    let pixels = (0..len).map(|_| next()).collect();
    let labels = (0..n).map(|_| next() % 10).collect();
    let names = (0..10).map(|k| k.to_string()).collect();
    ImageDataset::new(pixels, labels, shape, names)
}

/// Holds the group: `criterion_group!` writes a `pub fn`, which at the crate root would need a
/// doc of its own (`missing_docs`).
mod group {
    criterion::criterion_group!(benches, super::bench_train_step);
}
criterion_main!(group::benches);
