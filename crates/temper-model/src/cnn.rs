use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::Tensor;

use temper_kernels::{conv2d_module, max_pool2d_relu};

use crate::dense::{DenseHead, check_head, unsupported_kind};
use crate::error::{ModelError, check_conv_trunk};
use crate::limits::{check_parameters, conv_parameters, dense_parameters, halved, halvings};
use temper_nn::{Dropout2d, Dropout2dConfig, DropoutKind};

/// Configuration of a small convolutional classifier: per entry of `channels`, a 3×3 convolution
/// (padding 1) → ReLU → 2×2 max-pool; then `Linear → ReLU → Dropout` per hidden width and a
/// linear output layer.
///
/// The head reads the last feature map flattened (the default, `channels × h × w` inputs, so
/// it grows with the image) or, with `global_pool`, its per-channel means (global average
/// pooling, Lin et al. 2013, <https://arxiv.org/abs/1312.4400>; `channels` inputs whatever
/// the image size).
///
/// The defaults are the reference CNN of `shared/bench` and of PyTorch's MNIST example
/// lineage: Conv(1→32) → Conv(32→64) → Linear(3136→128) → Dropout 0.25 → Linear(128→10).
#[derive(Config, Debug)]
pub struct CnnConfig {
    /// Channels of the input images.
    #[config(default = 1)]
    pub in_channels: usize,
    /// `[height, width]` of the input images.
    #[config(default = "[28, 28]")]
    pub image_size: [usize; 2],
    /// Output channels of each convolution block.
    #[config(default = "vec![32, 64]")]
    pub channels: Vec<usize>,
    /// Widths of the fully connected hidden layers.
    #[config(default = "vec![128]")]
    pub hidden: Vec<usize>,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Dropout probability (of units, weights or channels, per `dropout_kind`).
    #[config(default = 0.25)]
    pub dropout: f64,
    /// `Standard`/`Alpha`/`Connect` act in the dense head; `Spatial` drops whole channels after
    /// every convolution block instead.
    #[config(default = "DropoutKind::Standard")]
    pub dropout_kind: DropoutKind,
    /// Average each channel of the last feature map before the head instead of flattening it.
    #[config(default = false)]
    pub global_pool: bool,
}

/// Small convolutional classifier. Build it with [`CnnConfig`].
#[derive(Module, Debug)]
pub struct Cnn {
    convs: Vec<Conv2d>,
    pool: MaxPool2d,
    spatial_dropout: Option<Dropout2d>,
    head: DenseHead,
    /// Not in the record, so checkpoints written before the option existed still load.
    #[module(skip)]
    global_pool: bool,
}

impl CnnConfig {
    /// Spatial size after all pooling stages (each halves, rounding down).
    fn feature_size(&self) -> [usize; 2] {
        let k = halvings(self.channels.len());
        [halved(self.image_size[0], k), halved(self.image_size[1], k)]
    }

    /// Parameters of the convolutions (`None` on overflow).
    fn trunk_parameters(&self) -> Option<usize> {
        let mut in_ch = self.in_channels;
        let mut total = 0usize;
        for &out in &self.channels {
            total = total.checked_add(conv_parameters(in_ch, out, 3, 1)?)?;
            in_ch = out;
        }
        Some(total)
    }

    /// Features the dense head reads: last block's channels × the pooled height × width.
    fn head_input(&self) -> Option<usize> {
        if self.global_pool {
            return self.channels.last().copied();
        }
        let [h, w] = self.feature_size();
        self.channels.last()?.checked_mul(h)?.checked_mul(w)
    }

    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), ModelError> {
        check_conv_trunk(
            self.in_channels,
            &self.channels,
            self.image_size,
            halvings(self.channels.len()),
            "block",
        )?;
        check_head(&self.hidden, self.num_classes, self.dropout)?;
        let trunk = self.trunk_parameters();
        check_parameters("channels", trunk)?;
        let head = self
            .head_input()
            .and_then(|input| dense_parameters(input, &self.hidden, self.num_classes));
        check_parameters(
            "hidden",
            trunk.zip(head).and_then(|(a, b)| a.checked_add(b)),
        )?;
        match self.dropout_kind {
            DropoutKind::Path => Err(unsupported_kind(DropoutKind::Path, "cnn")),
            DropoutKind::Connect if self.hidden.is_empty() => {
                Err(unsupported_kind(DropoutKind::Connect, "this cnn"))
            }
            _ => Ok(()),
        }
    }

    /// Builds the model on `device`.
    ///
    /// # Panics
    /// When [`validate`](Self::validate) fails.
    pub fn init(&self, device: &burn::tensor::Device) -> Cnn {
        self.validate().expect("valid CNN config");
        let mut in_ch = self.in_channels;
        let convs = self
            .channels
            .iter()
            .map(|&out| {
                let conv = Conv2dConfig::new([in_ch, out], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device);
                in_ch = out;
                conv
            })
            .collect();
        let head_input = self.head_input().expect("validated");
        Cnn {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            spatial_dropout: (self.dropout_kind == DropoutKind::Spatial)
                .then(|| Dropout2dConfig::new(self.dropout).init()),
            global_pool: self.global_pool,
            head: DenseHead::new(
                head_input,
                &self.hidden,
                self.num_classes,
                self.dropout,
                self.dropout_kind,
                device,
            ),
        }
    }
}

impl Cnn {
    /// The convolutions in forward order and the pool after each (for MAC counts).
    pub(crate) fn trunk(&self) -> (&[Conv2d], &MaxPool2d) {
        (&self.convs, &self.pool)
    }

    /// Class logits for a batch of images.
    ///
    /// # Shapes
    /// - images: `[batch, in_channels, height, width]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for conv in &self.convs {
            // = pool(relu(conv(x))), on temper's kernels when on flex.
            let (kernel, stride) = (self.pool.kernel_size, self.pool.stride);
            x = max_pool2d_relu(conv2d_module(conv, x), kernel, stride);
            if let Some(dropout) = &self.spatial_dropout {
                x = dropout.forward(x);
            }
        }
        if self.global_pool {
            x = x.mean_dim(3).mean_dim(2);
        }
        self.head.forward(x.flatten(1, 3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn the_reference_cnn_has_pytorchs_output_shape_and_parameter_count() {
        let device = Device::flex();
        let model = CnnConfig::new().init(&device);
        let out = model.forward(Tensor::zeros([2, 1, 28, 28], &device));
        assert_eq!(out.dims(), [2, 10]);
        // PyTorch's count for the reference CNN: conv1 320, conv2 18_496,
        // fc 3136*128+128 = 401_536, out 1_290.
        assert_eq!(model.num_params(), 421_642);
        // The size limit counts what Burn counts.
        let cfg = CnnConfig::new();
        let head = dense_parameters(cfg.head_input().unwrap(), &cfg.hidden, cfg.num_classes);
        assert_eq!(
            cfg.trunk_parameters().zip(head).map(|(a, b)| a + b),
            Some(421_642)
        );
    }

    #[test]
    fn spatial_dropout_zeroes_whole_feature_maps_in_training() {
        // With p close to 1 every channel is dropped after the first block, so the logits
        // collapse to the head's response to an all-zero feature map: the same for every
        // image (a channel surviving the second block's dropout sees zeros too). The test
        // fails only if one of the 2 x 32 first-block channels survives: 1 - (1 - 1e-6)^64,
        // about 6e-5 per run (p = 0.999 made that 6%, and CI once hit it). Burn's RNG is
        // shared with concurrently running tests, so seeding cannot pin the draw.
        let device = Device::flex().autodiff();
        let model = CnnConfig::new()
            .with_dropout(1.0 - 1e-6)
            .with_dropout_kind(DropoutKind::Spatial)
            .init(&device);
        let images =
            Tensor::<4>::random([2, 1, 28, 28], burn::tensor::Distribution::Default, &device);
        let out = model
            .forward(images)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let (a, b) = out.split_at(10);
        let same = a
            .iter()
            .zip(b)
            .filter(|(x, y)| (*x - *y).abs() < 1e-6)
            .count();
        assert!(same >= 9, "logits of the two images: {a:?} vs {b:?}");
    }

    #[test]
    fn global_pooling_keeps_the_head_the_same_for_every_image_size() {
        // The head reads 64 channel means: 64*128 + 128 + 128*10 + 10 = 9_610 values after
        // the convolutions' 320 + 18_496, at 28x28 as at 224x224.
        let device = Device::flex();
        for side in [28, 224] {
            let cfg = CnnConfig::new()
                .with_image_size([side, side])
                .with_global_pool(true);
            let model = cfg.init(&device);
            assert_eq!(model.num_params(), 320 + 18_496 + 9_610, "{side}");
            let out = model.forward(Tensor::zeros([2, 1, side, side], &device));
            assert_eq!(out.dims(), [2, 10]);
        }
        assert_eq!(CnnConfig::new().head_input(), Some(3136));
    }

    #[test]
    fn too_many_pools_for_the_image_is_an_error() {
        let cfg = CnnConfig::new()
            .with_image_size([4, 4])
            .with_channels(vec![8, 8, 8]);
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("model.channels")
        );
    }
}
