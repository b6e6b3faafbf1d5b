//! temper's flex kernels against Burn's own flex ops, on the reference CNN's layers at batch
//! 128 (shared/bench/README.md): each conv block's forward, and forward + backward through
//! autodiff, for `temper_kernels` and for `burn::tensor::module` in the same run.
//!
//! `cargo bench --bench kernels` (add `-- conv2` or `-- pool` to filter).

use std::time::Duration;

use burn::optim::{AdamConfig, Optimizer};
use burn::tensor::module::{conv2d as burn_conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Distribution, Tensor, activation::relu};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use temper_kernels::{AdamHyper, adam_update, conv2d, max_pool2d_relu};

/// The allocator the `temper` binary uses (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 128;

/// The ops on tensors (autodiff flex), each next to Burn's own.
fn bench_kernels(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut group = c.benchmark_group("kernels");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    bench_conv_blocks(&mut group, &device);
    bench_relu_pool(&mut group, &device);
    bench_adam(&mut group);
    group.finish();
}

/// The reference CNN's two convolutions, forward and forward + backward.
fn bench_conv_blocks(group: &mut BenchmarkGroup<'_, WallTime>, device: &Device) {
    // (name, input [c, h, w], output channels)
    for (name, [ci, h, w], co) in [("conv1", [1, 28, 28], 32), ("conv2", [32, 14, 14], 64)] {
        let x = Tensor::<4>::random([BATCH, ci, h, w], Distribution::Normal(0.0, 1.0), device);
        let weight = Tensor::<4>::random([co, ci, 3, 3], Distribution::Normal(0.0, 0.1), device)
            .require_grad();
        let bias = Tensor::<1>::zeros([co], device).require_grad();
        // The first layer's input is data (no gradient); the second's is an activation.
        let x = if ci > 1 { x.require_grad() } else { x };
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        for (impl_name, ours) in [("temper", true), ("burn", false)] {
            let run = |backward: bool| -> Tensor<4> {
                let out = if ours {
                    conv2d(
                        x.clone(),
                        weight.clone(),
                        Some(bias.clone()),
                        options.clone(),
                    )
                } else {
                    burn_conv2d(
                        x.clone(),
                        weight.clone(),
                        Some(bias.clone()),
                        options.clone(),
                    )
                };
                // Flex computes eagerly, so returning the tensor times the whole computation.
                if backward {
                    let grads = out.sum().backward();
                    weight.grad(&grads).unwrap()
                } else {
                    out
                }
            };
            group.bench_function(format!("{name}/forward/{impl_name}"), |b| {
                b.iter(|| run(false))
            });
            group.bench_function(format!("{name}/forward_backward/{impl_name}"), |b| {
                b.iter(|| run(true))
            });
        }
    }
}

/// `max_pool2d(relu(x))` of the first conv block's output, forward + backward.
fn bench_relu_pool(group: &mut BenchmarkGroup<'_, WallTime>, device: &Device) {
    let x = Tensor::<4>::random([BATCH, 32, 28, 28], Distribution::Normal(0.0, 1.0), device)
        .require_grad();
    for (impl_name, ours) in [("temper", true), ("burn", false)] {
        group.bench_function(format!("relu_pool/forward_backward/{impl_name}"), |b| {
            b.iter(|| {
                let out = if ours {
                    max_pool2d_relu(x.clone(), [2, 2], [2, 2])
                } else {
                    max_pool2d(relu(x.clone()), MaxPoolOptions::new([2, 2]))
                };
                let grads = out.sum().backward();
                x.grad(&grads).unwrap()
            })
        });
    }
}

/// The reference MLP's first weight matrix (200,704 of its 203,530 parameters), one Adam step
/// after the first (so both moments exist).
fn bench_adam(group: &mut BenchmarkGroup<'_, WallTime>) {
    let plain = Device::flex();
    let param = Tensor::<2>::random([784, 256], Distribution::Normal(0.0, 0.05), &plain);
    let grad = Tensor::<2>::random([784, 256], Distribution::Normal(0.0, 0.01), &plain);
    let hyper = AdamHyper {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-8,
        weight_decay: None,
    };
    let burn_adam = AdamConfig::new().build();
    let (_, burn_state) = burn_adam.step(1e-3, param.clone(), grad.clone(), None);
    let moments = adam_update(&hyper, 1e-3, 1, &param, &grad, None).unwrap();
    group.bench_function("adam_784x256/temper", |b| {
        b.iter(|| {
            adam_update(
                &hyper,
                1e-3,
                2,
                &param,
                &grad,
                Some((&moments[1], &moments[2])),
            )
        })
    });
    group.bench_function("adam_784x256/burn", |b| {
        b.iter(|| burn_adam.step(1e-3, param.clone(), grad.clone(), burn_state.clone()))
    });
}

/// The slice kernels alone (no autodiff, no tensor wrapping), to see where a step's time goes.
fn bench_slices(c: &mut Criterion) {
    use temper_kernels::conv2d::{Conv2dShape, Wanted, backward, forward};
    use temper_kernels::pool::{self, PoolShape};
    let values = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    };
    let mut group = c.benchmark_group("slices");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (name, [ci, h, w], co, input_grad) in [
        ("conv1", [1, 28, 28], 32, false),
        ("conv2", [32, 14, 14], 64, true),
    ] {
        let s =
            Conv2dShape::new(BATCH, ci, [h, w], co, [3, 3], [1, 1], [(1, 1); 2], [1, 1]).unwrap();
        let x = values(BATCH * ci * h * w);
        let weight = values(co * ci * 9);
        let bias = values(co);
        let g = values(BATCH * co * h * w);
        group.bench_function(format!("{name}/forward"), |b| {
            b.iter(|| forward(&s, &x, &weight, Some(&bias)))
        });
        let wanted = Wanted {
            input: input_grad,
            weight: true,
            bias: true,
        };
        group.bench_function(format!("{name}/backward"), |b| {
            b.iter(|| backward(&s, &x, &weight, &g, wanted))
        });
    }
    // Small maps, where one product per sample is thin: ResNet-20's third stage at 32×32
    // (8×8 pixels) and ResNet-18's layer4 at 64×64 (2×2), batch 64 as in `train_step`.
    const ZOO_BATCH: usize = 64;
    group.throughput(Throughput::Elements(ZOO_BATCH as u64));
    for (name, c_, hw) in [("resnet20_stage3", 64, 8), ("resnet18_layer4", 512, 2)] {
        let s = Conv2dShape::new(
            ZOO_BATCH,
            c_,
            [hw, hw],
            c_,
            [3, 3],
            [1, 1],
            [(1, 1); 2],
            [1, 1],
        )
        .unwrap();
        let x = values(ZOO_BATCH * c_ * hw * hw);
        let weight = values(c_ * c_ * 9);
        let g = values(ZOO_BATCH * c_ * hw * hw);
        group.bench_function(format!("{name}/forward"), |b| {
            b.iter(|| forward(&s, &x, &weight, None))
        });
        let wanted = Wanted {
            input: true,
            weight: true,
            bias: false,
        };
        group.bench_function(format!("{name}/backward"), |b| {
            b.iter(|| backward(&s, &x, &weight, &g, wanted))
        });
    }
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, c_, hw) in [("pool1", 32, 28), ("pool2", 64, 14)] {
        let s = PoolShape::new(BATCH, c_, [hw, hw], [2, 2], [2, 2]).unwrap();
        let x = values(BATCH * c_ * hw * hw);
        let (out, argmax) = pool::forward_relu(&s, &x);
        group.bench_function(format!("{name}/forward"), |b| {
            b.iter(|| pool::forward_relu(&s, &x))
        });
        group.bench_function(format!("{name}/backward"), |b| {
            b.iter(|| pool::backward(&s, &argmax, &out))
        });
    }
    group.finish();
}

/// In a private module, the function `criterion_group!` writes is not public API and needs no
/// documentation.
mod groups {
    use super::*;

    criterion_group!(benches, bench_kernels, bench_slices);
}

criterion_main!(groups::benches);
