use burn::module::{Module, Param};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::*;
use crate::{OptimizerKind, OptimizerSettings, freeze};

/// One scalar weight: the smallest layer whose gradient a test can set exactly.
#[derive(Module, Debug)]
struct Scalar {
    w: Param<Tensor<1>>,
}

/// `stem`, two `blocks` and a `head`: four stages.
#[derive(Module, Debug)]
struct Net {
    stem: Scalar,
    blocks: Vec<Scalar>,
    head: Scalar,
}

/// A model wrapped in an enum, as a multi-architecture model type is.
#[derive(Module, Debug)]
enum Wrapped {
    Classifier(Net),
}

/// A ResNet's layout in miniature.
#[derive(Module, Debug)]
struct Resnetish {
    conv1: Linear,
    bn1: BatchNorm,
    layer1: Vec<Linear>,
    fc: Linear,
}

/// A head of two parts, only one of which is the classifier.
#[derive(Module, Debug)]
struct Head {
    norm: Scalar,
    output: Scalar,
}

#[derive(Module, Debug)]
struct Vit {
    blocks: [Scalar; 2],
    head: Head,
}

fn scalar(v: f32, device: &Device) -> Scalar {
    Scalar {
        w: Param::from_tensor(Tensor::from_data(TensorData::new(vec![v], [1]), device)),
    }
}

fn net(device: &Device, blocks: usize) -> Net {
    Net {
        stem: scalar(1.0, device),
        blocks: (0..blocks)
            .map(|i| scalar(2.0 + i as f32, device))
            .collect(),
        head: scalar(10.0, device),
    }
}

fn value(p: &Param<Tensor<1>>) -> f32 {
    p.val().into_data().try_to_vec::<f32>().unwrap()[0]
}

fn weights(n: &Net) -> Vec<f32> {
    std::iter::once(&n.stem)
        .chain(&n.blocks)
        .chain([&n.head])
        .map(|s| value(&s.w))
        .collect()
}

/// Gradients of `sum_k c[k] * w_k` over the stages in order: exactly `c`.
fn grads(n: &Net, c: &[f32]) -> GradientsParams {
    let layers: Vec<&Scalar> = std::iter::once(&n.stem)
        .chain(&n.blocks)
        .chain([&n.head])
        .collect();
    let loss = layers
        .iter()
        .zip(c)
        .map(|(s, &c)| s.w.val().mul_scalar(c))
        .reduce(|a, b| a + b)
        .unwrap();
    GradientsParams::from_grads(loss.sum().backward(), n)
}

#[test]
fn stages_are_first_segments_with_the_index_of_a_vec() {
    let device = Device::flex();
    let model = Resnetish {
        conv1: LinearConfig::new(2, 2).init(&device),
        bn1: BatchNormConfig::new(2).init(&device),
        layer1: vec![
            LinearConfig::new(2, 2).init(&device),
            LinearConfig::new(2, 2).init(&device),
        ],
        fc: LinearConfig::new(2, 3).init(&device),
    };
    let stages = Stages::of(&model);
    assert_eq!(
        stages.names(),
        ["conv1", "bn1", "layer1.0", "layer1.1", "fc"]
    );
    assert_eq!(
        stages.stages()[2].paths,
        ["layer1.0.weight", "layer1.0.bias"]
    );
    // The running statistics are float values of their layer's stage.
    assert_eq!(stages.stages()[1].ids.len(), 4);
    assert_eq!(stages.stage_of("layer1.1.bias"), Some(3));
    assert_eq!(stages.stage_of_id(model.fc.weight.id), Some(4));
    assert_eq!(stages.stage_of("layer1"), None);
}

#[test]
fn a_leading_enum_variant_is_not_a_stage() {
    let device = Device::flex();
    let stages = Stages::of(&Wrapped::Classifier(net(&device, 2)));
    assert_eq!(stages.names(), ["stem", "blocks.0", "blocks.1", "head"]);
    assert_eq!(stages.stage_of("Classifier.blocks.1.w"), Some(2));
}

#[test]
fn array_elements_are_stages_and_a_named_head_moves_last() {
    let device = Device::flex();
    let model = Vit {
        blocks: [scalar(1.0, &device), scalar(2.0, &device)],
        head: Head {
            norm: scalar(3.0, &device),
            output: scalar(4.0, &device),
        },
    };
    let stages = Stages::of(&model);
    assert_eq!(stages.names(), ["blocks.0", "blocks.1", "head"]);
    let stages = stages.with_head("head.output", "finetune.head").unwrap();
    assert_eq!(
        stages.names(),
        ["blocks.0", "blocks.1", "head", "head.output"]
    );
    assert_eq!(stages.stage_of("head.norm.w"), Some(2));
    assert_eq!(stages.stage_of("head.output.w"), Some(3));
}

#[test]
fn a_head_prefix_moves_its_stage_to_the_end_and_matches_whole_segments() {
    let device = Device::flex();
    let stages = Stages::of(&net(&device, 1));
    let moved = stages.clone().with_head("stem", "finetune.head").unwrap();
    assert_eq!(moved.names(), ["blocks.0", "head", "stem"]);
    // "hea" is a prefix of the text "head" but of no path segment.
    let err = stages.with_head("hea", "finetune.head").unwrap_err();
    assert_eq!(
        err.to_string(),
        "finetune.head: \"hea\" is the path prefix of no parameter of the model (paths look \
         like \"stem.w\")"
    );
}

#[test]
fn layer_decay_factors_are_powers_of_decay_from_the_head_down() {
    let device = Device::flex();
    let stages = Stages::of(&net(&device, 2));
    let decay = LayerDecay::new(&stages, 0.5, "finetune.layer_decay").unwrap();
    // timm: decay ** (layer_max - i), layer_max = 3.
    assert_eq!(decay.factors(), [0.125, 0.25, 0.5, 1.0]);
    let one = LayerDecay::new(&stages, 1.0, "finetune.layer_decay").unwrap();
    assert_eq!(one.factors(), [1.0; 4]);
    for bad in [0.0, -0.5, 1.5, f64::NAN] {
        let err = LayerDecay::new(&stages, bad, "finetune.layer_decay").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("finetune.layer_decay: must be in (0, 1]"),
            "{err}"
        );
    }
}

/// Plain SGD: `w_k <- w_k - lr * decay^(S - 1 - k) * g_k`.
#[test]
fn sgd_moves_each_stage_by_lr_times_its_decay_power_times_its_gradient() {
    let device = Device::flex().autodiff();
    let model = net(&device, 1);
    let stages = Stages::of(&model);
    let decay = LayerDecay::new(&stages, 0.5, "finetune.layer_decay").unwrap();
    let before = weights(&model);
    let c = [3.0, -2.0, 4.0];
    let g = grads(&model, &c);
    let mut optim = SgdConfig::new().init();
    let model = decay.step(&mut optim, 0.1, model, g);
    let after = weights(&model);
    let factors = [0.25, 0.5, 1.0];
    let expected: Vec<f32> = (0..3)
        .map(|k| before[k] - 0.1 * factors[k] * c[k])
        .collect();
    for (got, want) in after.iter().zip(&expected) {
        assert!((got - want).abs() < 1e-6, "{after:?} vs {expected:?}");
    }
}

/// Adam's second update from gradients `g1` then `g2` at rate `lr` (Kingma & Ba 2015,
/// Algorithm 1, PyTorch's defaults: betas (0.9, 0.999), eps 1e-8).
fn adam_second_update(lr: f64, g1: f64, g2: f64) -> f64 {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let m = b1 * (1.0 - b1) * g1 + (1.0 - b1) * g2;
    let v = b2 * (1.0 - b2) * g1 * g1 + (1.0 - b2) * g2 * g2;
    let (m_hat, v_hat) = (m / (1.0 - b1 * b1), v / (1.0 - b2 * b2));
    lr * m_hat / (v_hat.sqrt() + eps)
}

/// Two layer-decayed Adam updates keep each parameter's moments and step count: the second
/// update matches Adam's closed form (a reset state would move by `lr` exactly, a doubled
/// step count would bias-correct differently), and splitting the gradients per stage and
/// stepping each stage at its own rate gives the same weights.
#[test]
fn adam_state_advances_once_per_parameter_per_layer_decayed_update() {
    let device = Device::flex().autodiff();
    let settings = OptimizerSettings::preset(OptimizerKind::Adam);
    let (lr, c1, c2) = (0.1, [1.0f32, -2.0, 0.5], [3.0f32, 1.0, -4.0]);
    let fused = {
        let model = net(&device, 1);
        let decay = LayerDecay::new(&Stages::of(&model), 0.5, "l").unwrap();
        let mut optim = settings.init().unwrap();
        let g = grads(&model, &c1);
        let model = decay.step(&mut optim, lr, model, g);
        let mid = weights(&model);
        let g = grads(&model, &c2);
        let model = decay.step(&mut optim, lr, model, g);
        (mid, weights(&model))
    };
    let split = {
        let mut model = net(&device, 1);
        let stages = Stages::of(&model);
        let decay = LayerDecay::new(&stages, 0.5, "l").unwrap();
        let mut optim = settings.init().unwrap();
        for c in [c1, c2] {
            let g = grads(&model, &c);
            for (stage_grads, factor) in stages
                .split_gradients(&model, g)
                .into_iter()
                .zip(decay.factors())
            {
                model = optim.step(lr * factor, model, stage_grads);
            }
        }
        weights(&model)
    };
    let factors = [0.25, 0.5, 1.0];
    let expected: Vec<f64> = (0..3)
        .map(|k| {
            let second = adam_second_update(lr * factors[k], c1[k].into(), c2[k].into());
            f64::from(fused.0[k]) - second
        })
        .collect();
    let (after, expected) = (&fused.1, &expected);
    for ((got, want), split) in after.iter().zip(expected).zip(&split) {
        assert!(
            (f64::from(*got) - want).abs() < 1e-5,
            "{after:?} vs {expected:?}"
        );
        assert!((got - split).abs() < 1e-6, "{after:?} vs split {split}");
    }
}

#[test]
fn split_gradients_gives_each_stage_exactly_its_parameters_gradients() {
    let device = Device::flex().autodiff();
    let model = net(&device, 2);
    let stages = Stages::of(&model);
    let split = stages.split_gradients(&model, grads(&model, &[1.0, 2.0, 3.0, 4.0]));
    assert_eq!(split.len(), 4);
    let layers = [&model.stem, &model.blocks[0], &model.blocks[1], &model.head];
    for (k, set) in split.iter().enumerate() {
        assert_eq!(set.len(), 1);
        let g = set.get::<1>(layers[k].w.id).unwrap();
        assert_eq!(g.into_data().try_to_vec::<f32>().unwrap(), [k as f32 + 1.0]);
    }
}

/// ULMFiT §3.2: epoch 1 trains the last stage, then one more stage every `every` epochs.
#[test]
fn unfreezing_adds_one_stage_from_the_top_every_few_epochs() {
    let each = Unfreeze::new(1, "finetune.unfreeze_every").unwrap();
    let firsts: Vec<usize> = (1..=6).map(|e| each.trainable_from(e, 4)).collect();
    assert_eq!(firsts, [3, 2, 1, 0, 0, 0]);
    let two = Unfreeze::new(2, "finetune.unfreeze_every").unwrap();
    let firsts: Vec<usize> = (1..=8).map(|e| two.trainable_from(e, 4)).collect();
    assert_eq!(firsts, [3, 3, 2, 2, 1, 1, 0, 0]);
    assert_eq!(two.trainable_from(0, 4), 3);
    assert_eq!(two.trainable_from(5, 0), 0);
    let err = Unfreeze::new(0, "finetune.unfreeze_every").unwrap_err();
    assert_eq!(
        err.to_string(),
        "finetune.unfreeze_every: must be at least 1 epoch"
    );
}

#[test]
fn unfreezing_sets_require_grad_by_stage_and_keeps_user_frozen_parameters_frozen() {
    let device = Device::flex().autodiff();
    let model = net(&device, 2);
    let stages = Stages::of(&model);
    let (mut model, frozen) =
        freeze(model, &["blocks.1.*".to_string()], "finetune.freeze").unwrap();
    let unfreeze = Unfreeze::new(1, "finetune.unfreeze_every").unwrap();
    let expected = [
        [false, false, false, true],
        [false, false, false, true],
        [false, true, false, true],
        [true, true, false, true],
    ];
    for (epoch, want) in (1..=4).zip(expected) {
        model = unfreeze.apply(model, &stages, epoch, &frozen);
        let got = [&model.stem, &model.blocks[0], &model.blocks[1], &model.head]
            .map(|s| s.w.val().is_require_grad());
        assert_eq!(got, want, "epoch {epoch}");
    }
}

fn bn_model(device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(2).init(device);
    bn.gamma = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![2.0f32, -1.0], [2]),
        device,
    ));
    bn.beta = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![0.5f32, 0.3], [2]),
        device,
    ));
    bn
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// A frozen BatchNorm normalizes with its running statistics, `(x - rm) / sqrt(rv + eps) *
/// gamma + beta` (PyTorch's `BatchNorm` in eval mode), leaves them unchanged, and still passes
/// gradients to `gamma`; an unfrozen one updates its running mean.
#[test]
fn frozen_batch_norm_uses_and_keeps_its_running_statistics() {
    let device = Device::flex().autodiff();
    let bn = bn_model(&device);
    // Training forwards move the running statistics away from (0, 1).
    for _ in 0..3 {
        let x = Tensor::<3>::random([4, 2, 3], Distribution::Normal(1.0, 2.0), &device);
        let _ = bn.forward(x);
    }
    // `value_sync`: `value` may lag one update behind.
    let (rm, rv) = (
        to_vec(bn.running_mean.value_sync()),
        to_vec(bn.running_var.value_sync()),
    );
    // Unfrozen, the running mean left its initial zeros.
    assert!(rm.iter().all(|m| m.abs() > 1e-3), "{rm:?}");

    let (frozen, count) = freeze_batch_norm(bn);
    assert_eq!(count, 1);
    // `valid` then `train`, as a validation pass between epochs does, keeps it frozen.
    let frozen = frozen.valid().train();
    let x = Tensor::<3>::random([4, 2, 3], Distribution::Normal(-1.0, 3.0), &device);
    let y = frozen.forward(x.clone());
    assert_eq!(to_vec(frozen.running_mean.value_sync()), rm);
    assert_eq!(to_vec(frozen.running_var.value_sync()), rv);

    let (xs, ys) = (to_vec(x), to_vec(y.clone()));
    let (gamma, beta) = ([2.0f32, -1.0], [0.5f32, 0.3]);
    for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
        let c = (i / 3) % 2;
        let expected = (x - rm[c]) / (rv[c] + 1e-5).sqrt() * gamma[c] + beta[c];
        assert!((y - expected).abs() < 1e-5, "{i}: {y} vs {expected}");
    }
    let g = y.sum().backward();
    assert!(frozen.gamma.val().grad(&g).is_some());
}

#[test]
fn freezing_batch_norm_finds_nested_layers_and_leaves_others_alone() {
    let device = Device::flex();
    let model = Resnetish {
        conv1: LinearConfig::new(2, 2).init(&device),
        bn1: BatchNormConfig::new(2).init(&device),
        layer1: vec![],
        fc: LinearConfig::new(2, 3).init(&device),
    };
    let (model, count) = freeze_batch_norm(vec![model]);
    assert_eq!(count, 1);
    assert!(!model[0].bn1.training.is_enabled());
}
