//! Masks on a real Burn module: counts, which weights, and zeros that survive optimizer steps.
use super::*;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Device;

#[derive(Module, Debug)]
struct TwoLayers {
    first: Linear,
    second: Linear,
}

impl TwoLayers {
    fn new(device: &Device) -> Self {
        Self {
            first: LinearConfig::new(6, 5).init(device),
            second: LinearConfig::new(5, 3).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.second.forward(self.first.forward(x))
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn zeros(v: &[f32]) -> usize {
    v.iter().filter(|x| **x == 0.0).count()
}

#[test]
fn covered_tensors_are_the_weights_not_the_biases() {
    let model = TwoLayers::new(&Device::flex());
    let covered = covered_tensors(&model);
    let paths: Vec<&str> = covered.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["first.weight", "second.weight"]);
    // Burn's linear weight is [in, out].
    assert_eq!(covered[0].shape, [6, 5]);
}

#[test]
fn layer_masks_zero_the_smallest_weights_of_each_tensor() {
    let model = TwoLayers::new(&Device::flex());
    let before = values(model.first.weight.val());
    let masks = PruneMasks::compute(&model, 0.5, PruneScope::Layer);
    let pruned = masks.apply(model);
    let after = values(pruned.first.weight.val());
    // round(0.5 · 30) = 15 and round(0.5 · 15) = 7.5 → 8 (half to even), 15 + 8 of 45.
    assert_eq!(zeros(&after), 15);
    assert_eq!(zeros(&values(pruned.second.weight.val())), 8);
    assert_eq!(masks.pruned(), 23);
    assert_eq!(masks.covered(), 45);
    // The 15 zeroed are the 15 smallest magnitudes; the others are unchanged.
    let mut order: Vec<usize> = (0..before.len()).collect();
    order.sort_by(|&a, &b| before[a].abs().total_cmp(&before[b].abs()));
    for (rank, &i) in order.iter().enumerate() {
        let expected = if rank < 15 { 0.0 } else { before[i] };
        assert_eq!(after[i], expected, "weight {i} (rank {rank})");
    }
    // Biases are never pruned.
    assert_eq!(zeros(&values(pruned.first.bias.unwrap().val())), 0);
}

#[test]
fn global_masks_zero_the_smallest_weights_across_tensors() {
    let model = TwoLayers::new(&Device::flex());
    let mut all: Vec<f32> = values(model.first.weight.val());
    all.extend(values(model.second.weight.val()));
    let masks = PruneMasks::compute(&model, 0.6, PruneScope::Global);
    let pruned = masks.apply(model);
    let mut after = values(pruned.first.weight.val());
    after.extend(values(pruned.second.weight.val()));
    // round(0.6 · 45) = 27 zeros in all, the 27 smallest of one sort of all magnitudes.
    assert_eq!(zeros(&after), 27);
    let mut sorted: Vec<f32> = all.iter().map(|w| w.abs()).collect();
    sorted.sort_by(f32::total_cmp);
    let threshold = sorted[26];
    for (w, a) in all.iter().zip(&after) {
        if w.abs() < threshold {
            assert_eq!(*a, 0.0);
        } else if w.abs() > threshold {
            assert_eq!(a, w);
        }
    }
}

#[test]
fn pruned_weights_stay_zero_after_adam_steps_when_the_masks_are_reapplied() {
    let device = Device::flex().autodiff();
    let model = TwoLayers::new(&device);
    let masks = PruneMasks::compute(&model, 0.5, PruneScope::Layer);
    let mut model = masks.apply(model);
    let mut optim = AdamConfig::new().init();
    let x = Tensor::<2>::ones([4, 6], &device);
    let mut unmasked_zeros = usize::MAX;
    for _ in 0..3 {
        let loss = model.forward(x.clone()).powi_scalar(2).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let stepped = optim.step(1e-2, model, grads);
        // Without the masks Adam moves the pruned weights away from zero.
        unmasked_zeros = unmasked_zeros.min(zeros(&values(stepped.first.weight.val())));
        model = masks.apply(stepped);
        assert_eq!(zeros(&values(model.first.weight.val())), 15);
        assert!(model.first.weight.val().is_require_grad());
    }
    assert!(unmasked_zeros < 15, "the step moved no pruned weight");
}

#[test]
fn masks_round_trip_through_a_module_shaped_record() {
    let model = TwoLayers::new(&Device::flex());
    let masks = PruneMasks::compute(&model, 0.3, PruneScope::Global);
    let stored = masks.as_module(TwoLayers::new(&Device::flex()));
    let back = PruneMasks::from_module(&stored).unwrap();
    assert_eq!(
        (back.covered(), back.pruned()),
        (masks.covered(), masks.pruned())
    );
    let a = values(
        masks
            .apply(TwoLayers::new(&Device::flex()))
            .second
            .weight
            .val(),
    );
    let fresh = TwoLayers::new(&Device::flex());
    let b = values(back.apply(fresh.clone()).second.weight.val());
    let c = values(masks.apply(fresh).second.weight.val());
    assert_eq!(b, c);
    assert_eq!(zeros(&a), zeros(&b));
}

#[test]
fn a_mask_record_holding_other_values_than_zero_and_one_is_refused() {
    let model = TwoLayers::new(&Device::flex());
    let err = PruneMasks::from_module(&model).unwrap_err().to_string();
    assert!(err.contains("pruning mask `first.weight` holds"), "{err}");
}
