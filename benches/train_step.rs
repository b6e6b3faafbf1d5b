//! Training steps per second of the reference models (shared/bench/README.md): MLP
//! 784-256-10 and the 2-conv CNN, Adam lr 1e-3, cross-entropy, batch 128, on each CPU backend
//! and on wgpu when an adapter exists. Criterion reports throughput in samples per second.
//!
//! `cargo bench --bench train_step` (add `-- mlp` or `-- cnn/flex` to filter).
//! Software wgpu adapters (lavapipe) run the CNN at ~10 samples/s; their CNN case runs only
//! with `TEMPER_BENCH_SLOW=1`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use temper_data::{ImageBatcher, Normalization, bundled_mnist};
use temper_model::{Classifier, CnnConfig, MlpConfig, ResNetConfig};
use temper_optim::{OptimizerKind, OptimizerSettings, RegularizationSettings};
use temper_train::{DeviceChoice, ModelKind, Stepper, select_device, wgpu_adapters};

/// The allocator the `temper` binary uses (src/main.rs), so the bench times what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 128;

fn bench_train_step(c: &mut Criterion) {
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
}

/// Holds the group: `criterion_group!` writes a `pub fn`, which at the crate root would need a
/// doc of its own (`missing_docs`).
mod group {
    criterion::criterion_group!(benches, super::bench_train_step);
}
criterion_main!(group::benches);
