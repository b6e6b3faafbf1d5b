use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::tensor::{Device, Tensor};
use temper_kernels::{Epilogue, batch_norm_module, conv2d_module};
use temper_nn::{DropPath, DropPathConfig};

use crate::error::{ModelError, check_conv_trunk, check_dropout, invalid};
use crate::limits::{
    MAX_RESNET_BLOCKS, check_parameters, conv_parameters, dense_parameters, halvings,
};

/// Configuration of a small residual network for small images (He et al. 2016,
/// <https://arxiv.org/abs/1512.03385>): a 3×3 stem, stages of basic blocks (two 3×3
/// convolutions with batch normalization and an identity or 1×1-projection shortcut; the first
/// block of every stage after the first halves the resolution), global average pooling, dropout
/// and a linear classifier.
///
/// Stochastic depth drops whole residual branches per sample (Huang et al. 2016,
/// <https://arxiv.org/abs/1603.09382>), with a rate that grows linearly from 0 at the first
/// block to `drop_path` at the last — the schedule of the paper and of timm's `drop_path_rate`.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Channels of the input images.
    #[config(default = 1)]
    pub in_channels: usize,
    /// `[height, width]` of the input images.
    #[config(default = "[28, 28]")]
    pub image_size: [usize; 2],
    /// Channels of each stage (the stem has the first stage's width).
    #[config(default = "vec![16, 32, 64]")]
    pub channels: Vec<usize>,
    /// Basic blocks per stage.
    #[config(default = 1)]
    pub blocks_per_stage: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Stochastic-depth rate of the last block.
    #[config(default = 0.0)]
    pub drop_path: f64,
    /// Dropout probability before the classifier.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// One basic residual block: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    /// 1×1 convolution and normalization when the block changes width or resolution.
    projection: Option<Conv2d>,
    projection_bn: Option<BatchNorm>,
    drop_path: DropPath,
    activation: Relu,
}

impl BasicBlock {
    fn new(in_ch: usize, out_ch: usize, stride: usize, drop_path: f64, device: &Device) -> Self {
        let conv3 = |i, o, s| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device)
        };
        let project = in_ch != out_ch || stride != 1;
        Self {
            conv1: conv3(in_ch, out_ch, stride),
            bn1: BatchNormConfig::new(out_ch).init(device),
            conv2: conv3(out_ch, out_ch, 1),
            bn2: BatchNormConfig::new(out_ch).init(device),
            projection: project.then(|| {
                Conv2dConfig::new([in_ch, out_ch], [1, 1])
                    .with_stride([stride, stride])
                    .with_bias(false)
                    .init(device)
            }),
            projection_bn: project.then(|| BatchNormConfig::new(out_ch).init(device)),
            drop_path: DropPathConfig::new(drop_path).init(),
            activation: Relu::new(),
        }
    }

    /// # Shapes
    /// - input: `[batch, in_ch, h, w]`
    /// - output: `[batch, out_ch, h / stride, w / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let branch = conv2d_module(&self.conv1, x.clone());
        let branch = batch_norm_module(&self.bn1, branch, Epilogue::Relu);
        let branch = conv2d_module(&self.conv2, branch);
        let shortcut = match (&self.projection, &self.projection_bn) {
            (Some(conv), Some(bn)) => batch_norm_module(bn, conv2d_module(conv, x), Epilogue::None),
            _ => x,
        };
        // Without stochastic depth the second normalization, the add and the ReLU are one op.
        if self.drop_path.prob == 0.0 {
            return batch_norm_module(&self.bn2, branch, Epilogue::AddRelu(shortcut));
        }
        let branch = batch_norm_module(&self.bn2, branch, Epilogue::None);
        self.activation
            .forward(self.drop_path.forward(branch) + shortcut)
    }
}

/// Small residual network classifier. Build it with [`ResNetConfig`].
#[derive(Module, Debug)]
pub struct ResNet {
    stem: Conv2d,
    stem_bn: BatchNorm,
    blocks: Vec<BasicBlock>,
    pool: AdaptiveAvgPool2d,
    dropout: Dropout,
    classifier: Linear,
    activation: Relu,
}

impl ResNetConfig {
    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), ModelError> {
        // The first stage keeps the resolution; every later one halves it.
        check_conv_trunk(
            self.in_channels,
            &self.channels,
            self.image_size,
            halvings(self.channels.len().saturating_sub(1)),
            "stage",
        )?;
        // The `[model]` key of `blocks_per_stage` is `blocks`.
        if self.blocks_per_stage == 0 {
            return Err(invalid("blocks", "must be at least 1"));
        }
        let total = self.channels.len().checked_mul(self.blocks_per_stage);
        if total.is_none_or(|t| t > MAX_RESNET_BLOCKS) {
            return Err(invalid(
                "blocks",
                format!(
                    "{} stages of {} blocks; at most {MAX_RESNET_BLOCKS} blocks in all",
                    self.channels.len(),
                    self.blocks_per_stage
                ),
            ));
        }
        check_parameters("channels", self.parameters())?;
        if self.num_classes < 2 {
            return Err(invalid("num_classes", "must be at least 2"));
        }
        if !(self.drop_path.is_finite() && (0.0..1.0).contains(&self.drop_path)) {
            return Err(invalid(
                "dropout",
                format!("drop-path rate must be in [0, 1), got {}", self.drop_path),
            ));
        }
        check_dropout(self.dropout)
    }

    /// Trainable values and batch-normalization statistics (`None` on overflow). Call after
    /// the block count is checked: it walks every block.
    fn parameters(&self) -> Option<usize> {
        // Batch normalization keeps four values per channel: scale, shift, running mean and
        // variance.
        let mut total = conv_parameters(self.in_channels, self.channels[0], 3, 4)?;
        let mut in_ch = self.channels[0];
        for (stage, &out_ch) in self.channels.iter().enumerate() {
            for b in 0..self.blocks_per_stage {
                let block = conv_parameters(in_ch, out_ch, 3, 4)?
                    .checked_add(conv_parameters(out_ch, out_ch, 3, 4)?)?;
                let projection = if in_ch != out_ch || (stage > 0 && b == 0) {
                    conv_parameters(in_ch, out_ch, 1, 4)?
                } else {
                    0
                };
                total = total.checked_add(block)?.checked_add(projection)?;
                in_ch = out_ch;
            }
        }
        total.checked_add(dense_parameters(in_ch, &[], self.num_classes)?)
    }

    /// Builds the model on `device`.
    ///
    /// # Panics
    /// When [`validate`](Self::validate) fails.
    pub fn init(&self, device: &Device) -> ResNet {
        self.validate().expect("valid ResNet config");
        let total = self.channels.len() * self.blocks_per_stage;
        let mut blocks = Vec::with_capacity(total);
        let mut in_ch = self.channels[0];
        for (stage, &out_ch) in self.channels.iter().enumerate() {
            for b in 0..self.blocks_per_stage {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                let index = blocks.len();
                // Linear stochastic-depth schedule: 0 for the first block, drop_path for the last.
                let rate = if total > 1 {
                    self.drop_path * index as f64 / (total - 1) as f64
                } else {
                    self.drop_path
                };
                blocks.push(BasicBlock::new(in_ch, out_ch, stride, rate, device));
                in_ch = out_ch;
            }
        }
        ResNet {
            stem: Conv2dConfig::new([self.in_channels, self.channels[0]], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            stem_bn: BatchNormConfig::new(self.channels[0]).init(device),
            blocks,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(in_ch, self.num_classes).init(device),
            activation: Relu::new(),
        }
    }
}

impl ResNet {
    /// Class logits for a batch of images.
    ///
    /// # Shapes
    /// - images: `[batch, in_channels, height, width]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = batch_norm_module(
            &self.stem_bn,
            conv2d_module(&self.stem, images),
            Epilogue::Relu,
        );
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x: Tensor<2> = self.pool.forward(x).flatten(1, 3);
        self.classifier.forward(self.dropout.forward(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resnet_output_shape_and_parameter_count_match_a_hand_count() {
        let device = Device::flex();
        let model = ResNetConfig::new().init(&device);
        let out = model.forward(Tensor::zeros([2, 1, 28, 28], &device));
        assert_eq!(out.dims(), [2, 10]);
        // Hand count: stem 1*16*9 + bn 32; stage 1 block 2*(16*16*9) + 2*32;
        // stage 2 block 16*32*9 + 32*32*9 + 2*64 + proj 16*32 + 64;
        // stage 3 block 32*64*9 + 64*64*9 + 2*128 + proj 32*64 + 128; classifier 64*10 + 10.
        let expected = (144 + 32)
            + (2 * 2304 + 64)
            + (4608 + 9216 + 128 + 512 + 64)
            + (18432 + 36864 + 256 + 2048 + 128)
            + 650;
        // Burn's num_params also counts BatchNorm's running mean and variance (PyTorch keeps
        // them as buffers): 2 per channel over 16 + 2*16 + 3*32 + 3*64 = 336 BN channels.
        assert_eq!(model.num_params(), expected + 2 * 336);
        // The size limit counts what Burn counts.
        assert_eq!(ResNetConfig::new().parameters(), Some(model.num_params()));
    }

    #[test]
    fn too_many_stages_for_the_image_is_an_error() {
        let cfg = ResNetConfig::new()
            .with_image_size([2, 2])
            .with_channels(vec![4, 4, 4]);
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("model.channels")
        );
    }
}
