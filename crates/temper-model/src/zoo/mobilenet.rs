//! MobileNetV2 in torchvision's layout (`torchvision/models/mobilenetv2.py`; Sandler et al.
//! 2018, <https://arxiv.org/abs/1801.04381>).
//!
//! `features`: a 3×3 stride-2 stem of 32 channels → BN → ReLU6; inverted residual blocks per
//! row `(t, c, n, s)` of the table (expansion, channels, repeats, stride of the first repeat);
//! a 1×1 convolution to 1280 channels → BN → ReLU6. Then global average pooling, dropout 0.2
//! and a linear `classifier`. Widths are `_make_divisible(c * width_mult, 8)`; the last conv
//! keeps 1280 below `width_mult = 1` (`max(1.0, width_mult)`), as torchvision.
//!
//! torchvision names that differ: `features.N` is `features.N` here as well (the enum variant
//! `Conv`/`Block` is a path segment Burn's stores can skip), but inside, a `ConvBnAct`'s `.0`,
//! `.1` are `conv`, `bn`, and a block's `conv.0`.. are `expand`, `depthwise`, `project`,
//! `project_bn` in that order (without `expand` when `t = 1`); `classifier.1` is `classifier`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::activation::Relu6;
use burn::nn::conv::Conv2d;
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, Linear, LinearConfig,
};
use burn::tensor::{Device, Tensor};
use temper_kernels::conv2d_module;
use temper_nn::{DropPath, DropPathConfig};

use super::{check_drop_path, check_image_size, conv, linear_rate};
use crate::error::{ModelError, check_dropout, invalid};
use crate::limits::{MAX_WIDTH_MULT, check_parameters, conv_parameters, dense_parameters};

/// The `(t, c, n, s)` rows of MobileNetV2: expansion, output channels, repeats, first stride
/// (the paper's Table 2, torchvision's `inverted_residual_setting`).
pub const INVERTED_RESIDUAL_SETTING: [[usize; 4]; 7] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
];

/// torchvision's `_make_divisible(v, divisor)` (`torchvision/models/_utils.py`, from
/// TensorFlow's slim MobileNet): `v` rounded to the nearest multiple of `divisor`, at least
/// `divisor`, and raised by one `divisor` when rounding lost more than 10%.
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    // Python's `int(v + d / 2) // d * d`: truncation, then floor division.
    let rounded = ((v + d / 2.0) as usize / divisor * divisor).max(divisor);
    if (rounded as f64) < 0.9 * v {
        rounded + divisor
    } else {
        rounded
    }
}

/// Configuration of a [`MobileNetV2`]; the defaults are torchvision's `mobilenet_v2()`
/// (3,504,872 parameters for 1000 classes).
///
/// Stochastic depth (temper's addition, default 0; torchvision has none) drops the branch of
/// the blocks that have a residual connection, at a rate linear in the block index as timm's
/// EfficientNet family; it composes with `dropout` before the classifier.
#[derive(Config, Debug)]
pub struct MobileNetV2Config {
    /// Channels of the input images.
    #[config(default = 3)]
    pub in_channels: usize,
    /// `[height, width]` of the input images.
    #[config(default = "[224, 224]")]
    pub image_size: [usize; 2],
    /// Number of classes.
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Multiplier of every width, in `(0, 8]`.
    #[config(default = 1.0)]
    pub width_mult: f64,
    /// Dropout probability before the classifier: torchvision's 0.2.
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Stochastic-depth rate of the last residual block.
    #[config(default = 0.0)]
    pub drop_path: f64,
}

/// One block of the network: `(in_ch, out_ch, stride, expansion)`.
type BlockShape = (usize, usize, usize, usize);

impl MobileNetV2Config {
    /// Stride-2 steps: the stem and the four rows whose `s` is 2.
    pub fn downsamplings(&self) -> u32 {
        1 + INVERTED_RESIDUAL_SETTING
            .iter()
            .filter(|row| row[3] == 2)
            .count() as u32
    }

    fn stem_width(&self) -> usize {
        make_divisible(32.0 * self.width_mult, 8)
    }

    fn last_width(&self) -> usize {
        make_divisible(1280.0 * self.width_mult.max(1.0), 8)
    }

    /// The blocks' shapes, in order.
    fn blocks(&self) -> Vec<BlockShape> {
        let mut in_ch = self.stem_width();
        let mut shapes = Vec::new();
        for [t, c, n, s] in INVERTED_RESIDUAL_SETTING {
            let out_ch = make_divisible(c as f64 * self.width_mult, 8);
            for i in 0..n {
                shapes.push((in_ch, out_ch, if i == 0 { s } else { 1 }, t));
                in_ch = out_ch;
            }
        }
        shapes
    }

    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.in_channels == 0 {
            return Err(invalid("in_channels", "must be positive"));
        }
        if !(self.width_mult.is_finite() && self.width_mult > 0.0)
            || self.width_mult > MAX_WIDTH_MULT
        {
            return Err(invalid(
                "width_mult",
                format!("must be in (0, {MAX_WIDTH_MULT}], got {}", self.width_mult),
            ));
        }
        check_image_size(self.image_size, self.downsamplings())?;
        check_parameters("width_mult", self.parameters())?;
        if self.num_classes < 2 {
            return Err(invalid("num_classes", "must be at least 2"));
        }
        check_drop_path(self.drop_path)?;
        check_dropout(self.dropout)
    }

    /// Values Burn counts (weights, and four per batch-normalized channel); `None` on
    /// overflow. Call after `width_mult` is checked.
    pub(crate) fn parameters(&self) -> Option<usize> {
        let mut total = conv_parameters(self.in_channels, self.stem_width(), 3, 4)?;
        let mut in_ch = self.stem_width();
        for (inp, out, _, t) in self.blocks() {
            let hidden = inp.checked_mul(t)?;
            if t != 1 {
                total = total.checked_add(conv_parameters(inp, hidden, 1, 4)?)?;
            }
            // Depthwise: one 3×3 filter per channel.
            total = total
                .checked_add(conv_parameters(1, hidden, 3, 4)?)?
                .checked_add(conv_parameters(hidden, out, 1, 4)?)?;
            in_ch = out;
        }
        total
            .checked_add(conv_parameters(in_ch, self.last_width(), 1, 4)?)?
            .checked_add(dense_parameters(self.last_width(), &[], self.num_classes)?)
    }

    /// Builds the model on `device`.
    ///
    /// # Panics
    /// When [`validate`](Self::validate) fails.
    pub fn init(&self, device: &Device) -> MobileNetV2 {
        self.validate().expect("valid MobileNetV2 config");
        let stem = self.stem_width();
        let mut features = vec![MobileNetFeature::Conv(ConvBnAct::new(
            [self.in_channels, stem],
            3,
            2,
            1,
            device,
        ))];
        let shapes = self.blocks();
        let total = shapes.len();
        for (index, &shape) in shapes.iter().enumerate() {
            let rate = linear_rate(self.drop_path, index, total);
            features.push(MobileNetFeature::Block(InvertedResidual::new(
                shape, rate, device,
            )));
        }
        let in_ch = shapes.last().map_or(stem, |s| s.1);
        let last = self.last_width();
        features.push(MobileNetFeature::Conv(ConvBnAct::new(
            [in_ch, last],
            1,
            1,
            1,
            device,
        )));
        // torchvision: `nn.init.normal_(m.weight, 0, 0.01)`, `nn.init.zeros_(m.bias)`.
        let mut classifier = LinearConfig::new(last, self.num_classes)
            .with_initializer(Initializer::Normal {
                mean: 0.0,
                std: 0.01,
            })
            .init(device);
        classifier.bias = Some(Param::from_tensor(Tensor::zeros(
            [self.num_classes],
            device,
        )));
        MobileNetV2 {
            features,
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier,
        }
    }
}

/// Convolution → BN → ReLU6: torchvision's `Conv2dNormActivation` (`.0` conv, `.1` BN).
#[derive(Module, Debug)]
pub struct ConvBnAct {
    conv: Conv2d,
    bn: BatchNorm,
    act: Relu6,
}

impl ConvBnAct {
    fn new(
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        device: &Device,
    ) -> Self {
        Self {
            conv: conv(channels, kernel, stride, groups, device),
            bn: BatchNormConfig::new(channels[1]).init(device),
            act: Relu6::new(),
        }
    }

    /// # Shapes
    /// - input: `[batch, in, h, w]`
    /// - output: `[batch, out, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.act
            .forward(self.bn.forward(conv2d_module(&self.conv, x)))
    }
}

/// The inverted residual block: 1×1 expansion (when `t > 1`) → depthwise 3×3 (stride) →
/// linear 1×1 projection → BN, plus the input when the stride is 1 and the width unchanged.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    expand: Option<ConvBnAct>,
    depthwise: ConvBnAct,
    project: Conv2d,
    project_bn: BatchNorm,
    residual: bool,
    drop_path: DropPath,
}

impl InvertedResidual {
    fn new((inp, out, stride, t): BlockShape, drop_path: f64, device: &Device) -> Self {
        let hidden = inp * t;
        Self {
            expand: (t != 1).then(|| ConvBnAct::new([inp, hidden], 1, 1, 1, device)),
            depthwise: ConvBnAct::new([hidden, hidden], 3, stride, hidden, device),
            project: conv([hidden, out], 1, 1, 1, device),
            project_bn: BatchNormConfig::new(out).init(device),
            residual: stride == 1 && inp == out,
            drop_path: DropPathConfig::new(drop_path).init(),
        }
    }

    /// # Shapes
    /// - input: `[batch, in, h, w]`
    /// - output: `[batch, out, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = x.clone();
        if let Some(expand) = &self.expand {
            y = expand.forward(y);
        }
        let y = self
            .project_bn
            .forward(conv2d_module(&self.project, self.depthwise.forward(y)));
        if self.residual {
            x + self.drop_path.forward(y)
        } else {
            y
        }
    }
}

/// One entry of [`MobileNetV2`]'s `features`: a plain convolution (the stem and the last
/// 1×1) or an inverted residual block.
// Nineteen of these live per model; boxing would save a few kilobytes and hide the modules
// from the derive, as for `Classifier`.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum MobileNetFeature {
    /// Convolution → BN → ReLU6.
    Conv(ConvBnAct),
    /// An inverted residual block.
    Block(InvertedResidual),
}

/// MobileNetV2 in torchvision's layout. Build it with [`MobileNetV2Config`].
#[derive(Module, Debug)]
pub struct MobileNetV2 {
    features: Vec<MobileNetFeature>,
    dropout: Dropout,
    classifier: Linear,
}

impl MobileNetV2 {
    /// `features[index]`.
    #[cfg(test)]
    pub(crate) fn feature(&self, index: usize) -> &MobileNetFeature {
        &self.features[index]
    }

    /// Class logits for a batch of images.
    ///
    /// # Shapes
    /// - images: `[batch, in_channels, height, width]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for feature in &self.features {
            x = match feature {
                MobileNetFeature::Conv(m) => m.forward(x),
                MobileNetFeature::Block(m) => m.forward(x),
            };
        }
        // Global average pooling, torchvision's `adaptive_avg_pool2d(x, (1, 1))`.
        let x: Tensor<2> = x.mean_dim(3).mean_dim(2).flatten(1, 3);
        self.classifier.forward(self.dropout.forward(x))
    }
}
