use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::*;
use crate::{CnnConfig, DropoutKind, MlpConfig, ResNetConfig};

/// PyTorch's parameter count of `Conv2d(i, o, 3)` with bias: `o * i * 9 + o`.
fn conv3(i: usize, o: usize) -> usize {
    o * i * 9 + o
}

/// PyTorch's parameter count of `Linear(i, o)` with bias: `i * o + o`.
fn linear(i: usize, o: usize) -> usize {
    i * o + o
}

fn cnn(global_pool: bool) -> CnnConfig {
    CnnConfig::new()
        .with_channels(vec![8, 16])
        .with_hidden(vec![32])
        .with_global_pool(global_pool)
}

fn mlp() -> MlpConfig {
    MlpConfig::new().with_hidden(vec![64, 32]).with_dropout(0.3)
}

fn logits(model: &Classifier, images: Tensor<4>) -> Vec<f32> {
    model
        .forward(images)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}\n{a:?}\n{b:?}");
    }
}

/// The slim model, its widths and the masked large model's logits against the slim one's.
fn check_equivalence(model: Classifier, fraction: f64) -> (Classifier, SlimWidths) {
    let device = Device::flex();
    let plan = model.channel_plan(fraction).unwrap();
    let (slim, widths) = model.slim(&plan).unwrap();
    let masked = model.mask_channels(&plan);
    let images = Tensor::<4>::random([3, 1, 28, 28], Distribution::Default, &device);
    assert_close(
        &logits(&slim, images.clone()),
        &logits(&masked, images.clone()),
    );
    // Pruning changed the function: the masked model is not the original.
    assert_ne!(logits(&model, images.clone()), logits(&masked, images));
    (slim, widths)
}

#[test]
fn a_slim_cnn_computes_what_the_masked_cnn_computes() {
    let device = Device::flex();
    for global_pool in [false, true] {
        let cfg = cnn(global_pool);
        let (slim, widths) = check_equivalence(cfg.init(&device).into(), 0.5);
        // round(0.5 * 8) = 4 of 8 and 8 of 16 filters, 16 of 32 units removed.
        assert_eq!(widths.channels, Some(vec![4, 8]));
        assert_eq!(widths.hidden, vec![16]);
        // 28 -> 14 -> 7 after two pools: the head reads 8 * 7 * 7 features, or 8 means.
        let features = if global_pool { 8 } else { 8 * 7 * 7 };
        let expected = conv3(1, 4) + conv3(4, 8) + linear(features, 16) + linear(16, 10);
        assert_eq!(slim.num_params(), expected, "global_pool {global_pool}");
        // The config with the slim widths builds the same model: the record loads into it.
        let small: Classifier = cfg
            .with_channels(widths.channels.unwrap())
            .with_hidden(widths.hidden)
            .init(&device)
            .into();
        // Its MACs are the smaller network's: conv 1 -> 4 at 28x28, 4 -> 8 at 14x14, the head.
        let macs = (4 * 9 * 784 + 8 * 4 * 9 * 196 + features * 16 + 16 * 10) as u64;
        assert_eq!(slim.macs_per_image([1, 28, 28]), macs);
        assert_eq!(small.macs_per_image([1, 28, 28]), macs);
        let loaded = small.load_record(slim.clone().into_record());
        let images = Tensor::<4>::random([2, 1, 28, 28], Distribution::Default, &device);
        assert_eq!(logits(&loaded, images.clone()), logits(&slim, images));
    }
}

#[test]
fn a_slim_mlp_computes_what_the_masked_mlp_computes() {
    let device = Device::flex();
    for kind in [DropoutKind::Standard, DropoutKind::Connect] {
        let cfg = mlp().with_dropout_kind(kind);
        let (slim, widths) = check_equivalence(cfg.init(&device).into(), 0.25);
        // round(0.25 * 64) = 16 and round(0.25 * 32) = 8 units removed.
        assert_eq!(widths.channels, None);
        assert_eq!(widths.hidden, vec![48, 24]);
        let expected = linear(784, 48) + linear(48, 24) + linear(24, 10);
        assert_eq!(slim.num_params(), expected, "{kind:?}");
        let small: Classifier = cfg.with_hidden(widths.hidden).init(&device).into();
        let loaded = small.load_record(slim.clone().into_record());
        let images = Tensor::<4>::random([2, 1, 28, 28], Distribution::Default, &device);
        assert_eq!(logits(&loaded, images.clone()), logits(&slim, images));
    }
}

/// Replaces every float parameter of shape `dims` with `values`, counting them.
struct SetWeight {
    dims: Vec<usize>,
    values: Vec<f32>,
    hits: usize,
}

impl ModuleMapper for SetWeight {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if param.dims().as_slice() != self.dims.as_slice() {
            return param;
        }
        self.hits += 1;
        let data = TensorData::new(self.values.clone(), self.dims.clone());
        param.map(|t| Tensor::from_data(data, &t.device()))
    }
}

#[test]
fn the_filters_and_units_with_the_largest_l1_norms_are_kept() {
    let device = Device::flex();
    // Conv 1 -> 4, 3x3: filter j holds nine copies of s_j, so its L1 norm is 9 |s_j|:
    // 18, 9, 36, 27. Removing round(0.5 * 4) = 2 keeps filters 2 and 3.
    let signs = [2.0f32, -1.0, -4.0, 3.0];
    let conv: Vec<f32> = signs.iter().flat_map(|&s| [s; 9]).collect();
    let model: Classifier = CnnConfig::new()
        .with_channels(vec![4])
        .with_hidden(vec![4])
        .init(&device)
        .into();
    let mut set = SetWeight {
        dims: vec![4, 1, 3, 3],
        values: conv,
        hits: 0,
    };
    let model = model.map(&mut set);
    // Linear 784 -> 4 (4 channels of 14 x 14 after the pool) as Burn stores it, [in, out]:
    // unit o's incoming weights are column o. Column norms by hand: unit 0 784 * 0.5,
    // unit 1 784 * 0.1, unit 2 784 * 1.0, unit 3 784 * 0.2: units 0 and 2 stay.
    let column = [0.5f32, -0.1, 1.0, 0.2];
    let dense: Vec<f32> = (0..784).flat_map(|_| column).collect();
    let mut set_dense = SetWeight {
        dims: vec![784, 4],
        values: dense,
        hits: 0,
    };
    let model = model.map(&mut set_dense);
    assert_eq!((set.hits, set_dense.hits), (1, 1));
    let plan = model.channel_plan(0.5).unwrap();
    let expected = [("convs.0", vec![2, 3]), ("head.hidden.0", vec![0, 2])];
    assert_eq!(plan.layers.len(), 2);
    for (layer, (name, kept)) in plan.layers.iter().zip(expected) {
        assert_eq!(layer.name, name);
        assert_eq!(layer.kept, kept, "{name}");
        assert_eq!(layer.of, 4);
    }
}

/// Whether every float parameter is an autodiff tensor that requires a gradient.
struct AllTracked(bool);

impl ModuleVisitor for AllTracked {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        self.0 &= t.device().is_autodiff() && t.is_require_grad();
    }
}

#[test]
fn the_slim_model_stays_in_training_mode_and_keeps_its_dropout() {
    let device = Device::flex().autodiff();
    let model: Classifier = mlp().init(&device).into();
    let plan = model.channel_plan(0.5).unwrap();
    let (slim, _) = model.slim(&plan).unwrap();
    let mut tracked = AllTracked(true);
    slim.visit(&mut tracked);
    assert!(tracked.0, "the slim model's parameters train");
    // Dropout 0.3 still acts in training mode: the same image gives different logits.
    let image = Tensor::<4>::ones([1, 1, 28, 28], &device);
    let twice = Tensor::cat(vec![image.clone(), image], 0);
    let out = logits(&slim, twice);
    assert_ne!(out[..10], out[10..]);
    // And in validation mode it is off.
    let valid = slim.valid();
    let image = Tensor::<4>::ones([2, 1, 28, 28], &Device::flex());
    let out = logits(&valid, image);
    assert_eq!(out[..10], out[10..]);
}

#[test]
fn channel_pruning_refuses_a_resnet_and_a_foreign_plan() {
    let device = Device::flex();
    let resnet: Classifier = ResNetConfig::new().init(&device).into();
    let err = resnet.channel_plan(0.5).unwrap_err().to_string();
    assert!(err.contains("channel pruning covers mlp and cnn"), "{err}");
    assert!(err.contains("resnet"), "{err}");
    let cnn: Classifier = cnn(false).init(&device).into();
    let plan = cnn.channel_plan(0.5).unwrap();
    let mlp: Classifier = mlp().init(&device).into();
    assert!(mlp.slim(&plan).is_err());
    assert!(cnn.channel_plan(1.0).is_err());
    assert!(cnn.channel_plan(f64::NAN).is_err());
}
