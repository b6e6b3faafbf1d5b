//! Data parallelism with BatchNorm: what a step over shards is, exactly, and where it differs
//! from the whole-batch step.
//!
//! Each shard normalizes with its own batch statistics (PyTorch DDP without `SyncBatchNorm`;
//! "ghost batch normalization", Hoffer et al. 2017), so the update is the size-weighted sum of
//! the shards' gradients, each computed as one device would on that shard alone; and the
//! running statistics are the first shard's (DDP's default `broadcast_buffers`: rank 0's
//! buffers).

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Device, Tensor};
use temper_data::{ImageBatch, ImageBatcher, Normalization, bundled_mnist};
use temper_model::{Classifier, ResNetConfig};
use temper_optim::{OptimizerKind, OptimizerSettings, RegularizationSettings};

use super::training::SEEDED;
use crate::Stepper;
use crate::classifier::classification_output;

/// Every float tensor of the model (parameters and running statistics) by id, with its rank.
fn tensors(model: &Classifier) -> BTreeMap<ParamId, (usize, Vec<f32>)> {
    struct All(BTreeMap<ParamId, (usize, Vec<f32>)>);
    impl ModuleVisitor for All {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let values = p.val().into_data().convert::<f32>().try_to_vec::<f32>();
            self.0.insert(p.id, (D, values.unwrap()));
        }
    }
    let mut all = All(BTreeMap::new());
    model.valid().visit(&mut all);
    all.0
}

/// A copy that shares nothing with `model` (a clone shares BatchNorm's running state).
fn detached(model: &Classifier) -> Classifier {
    model.valid().train()
}

/// The size-weighted sum of the gradients of `shards`, each computed on its own.
fn weighted_gradients(model: &Classifier, shards: &[ImageBatch], n: usize) -> GradientsParams {
    let mut sum = GradientsAccumulator::<Classifier>::new();
    for shard in shards {
        let weight = shard.targets.dims()[0] as f32 / n as f32;
        let loss = classification_output(model, shard.clone()).loss;
        let grads = GradientsParams::from_grads(loss.mul_scalar(weight).backward(), model);
        sum.accumulate(model, grads);
    }
    sum.grads()
}

fn largest_relative_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(1e-3))
        .fold(0f32, f32::max)
}

#[test]
fn a_parallel_step_with_batch_norm_is_the_sum_of_per_shard_steps_with_the_first_shards_statistics()
{
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let data = bundled_mnist().unwrap().train;
    let indices: Vec<usize> = (0..64).collect();
    let batcher = ImageBatcher::new(Normalization::fit(&data, &indices), data.image_shape());
    let batch = batcher.batch_indices(&data, &indices, &device);
    let halves: Vec<ImageBatch> = [0..32, 32..64]
        .into_iter()
        .map(|r| batcher.batch_indices(&data, &indices[r], &device))
        .collect();
    device.seed(5);
    let config = ResNetConfig::new().with_channels(vec![4, 8]);
    let start = Classifier::ResNet(config.init(&device));
    let before = tensors(&start);

    // Plain SGD: the update is -lr times the gradient, so the gradient can be read back.
    let lr = 0.1;
    let sgd = OptimizerSettings {
        kind: OptimizerKind::Sgd,
        ..OptimizerSettings::default()
    };
    let mut stepper = Stepper::new(&sgd, &RegularizationSettings::default()).unwrap();
    let devices = [device.clone(), device.clone()];
    let (stepped, _) = stepper.step_parallel(detached(&start), batch.clone(), None, lr, &devices);
    let after = tensors(&stepped);

    let per_shard = weighted_gradients(&detached(&start), &halves, 64);
    let whole = weighted_gradients(&detached(&start), std::slice::from_ref(&batch), 64);
    // Running statistics: what one forward pass over the first half alone leaves.
    let first_only = detached(&start);
    let _ = classification_output(&first_only, halves[0].clone());
    let first_only = tensors(&first_only);

    let (mut params, mut buffers) = (0, 0);
    let (mut shard_gap, mut whole_gap) = (0f32, 0f32);
    for (id, (rank, old)) in &before {
        let new = &after[id].1;
        if first_only[id].1 != *old {
            // Changed by a forward pass alone: a running statistic.
            buffers += 1;
            let gap = largest_relative_difference(&first_only[id].1, new);
            assert!(gap < 1e-5, "running statistic {id}: {gap}");
            continue;
        }
        params += 1;
        let applied: Vec<f32> = old
            .iter()
            .zip(new)
            .map(|(o, n)| (o - n) / lr as f32)
            .collect();
        let gap = |g: &GradientsParams| {
            largest_relative_difference(&flat_gradient(g, *id, *rank, old.len()), &applied)
        };
        shard_gap = shard_gap.max(gap(&per_shard));
        whole_gap = whole_gap.max(gap(&whole));
    }
    assert!(
        params > 0 && buffers > 0,
        "{params} parameters, {buffers} buffers"
    );
    assert!(
        shard_gap < 1e-3,
        "per-shard gradients differ by {shard_gap}"
    );
    // The difference from the whole-batch step that `SyncBatchNorm` would remove.
    assert!(
        whole_gap > 1e-2,
        "whole-batch gradients differ only by {whole_gap}"
    );
}

/// The gradient of parameter `id` (of rank `rank`) flattened; zeros when it has none.
fn flat_gradient(grads: &GradientsParams, id: ParamId, rank: usize, len: usize) -> Vec<f32> {
    let flat = |data: burn::tensor::TensorData| data.convert::<f32>().try_to_vec::<f32>().unwrap();
    let grad = match rank {
        1 => grads.get::<1>(id).map(|g| flat(g.into_data())),
        2 => grads.get::<2>(id).map(|g| flat(g.into_data())),
        4 => grads.get::<4>(id).map(|g| flat(g.into_data())),
        other => panic!("no parameter of rank {other} in this model"),
    };
    grad.unwrap_or_else(|| vec![0.0; len])
}
