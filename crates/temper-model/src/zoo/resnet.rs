//! ResNet in torchvision's layout (`torchvision/models/resnet.py`; He et al. 2016,
//! <https://arxiv.org/abs/1512.03385>).
//!
//! - ImageNet stem: 7×7 stride-2 convolution (no bias) → BN → ReLU → 3×3 stride-2 max pool
//!   (padding 1). CIFAR stem (the paper's §4.2 networks): 3×3 stride-1 convolution → BN → ReLU.
//! - Stages `layer1`..`layer4` of basic blocks (two 3×3 convolutions, expansion 1) or
//!   bottlenecks (1×1 → 3×3 → 1×1, expansion 4, the stride on the 3×3 convolution: "ResNet
//!   v1.5", torchvision's choice); each stage after the first halves the resolution in its
//!   first block.
//! - `downsample` = 1×1 convolution (with the stride) → BN wherever a block changes width or
//!   resolution: the paper's shortcut option B. The CIFAR networks use it too, as
//!   chenyaofo/pytorch-cifar-models (`pytorch_cifar_models/resnet.py`) does, whose pretrained
//!   weights have this layout; the paper's CIFAR runs used option A (zero-padded identity,
//!   no parameters), so ResNet-20 here holds 2,752 more values than its 269,722.
//! - Global average pool → dropout (temper's addition, default 0: torchvision has none) → `fc`.
//!
//! torchvision names that differ: `downsample.0` is `downsample.conv` here and `downsample.1`
//! is `downsample.bn`; a CIFAR network leaves `layer4` empty.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::tensor::{Device, Tensor};
use temper_kernels::{Epilogue, batch_norm_module, conv2d_module};
use temper_nn::{DropPath, DropPathConfig};

use super::{check_drop_path, check_image_size, conv, linear_rate};
use crate::error::{ModelError, check_dropout, invalid};
use crate::limits::{check_parameters, conv_parameters, dense_parameters};

/// The residual block of a [`TvResNet`].
#[derive(Config, Debug, PartialEq, Copy)]
pub enum BlockKind {
    /// Two 3×3 convolutions; expansion 1 (ResNet-18/34, the CIFAR ResNets).
    Basic,
    /// 1×1 → 3×3 (stride) → 1×1 convolutions; expansion 4 (ResNet-50 and deeper).
    Bottleneck,
}

impl BlockKind {
    /// Output channels per unit of stage width: 1 or 4, torchvision's `expansion`.
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// The stem of a [`TvResNet`].
#[derive(Config, Debug, PartialEq, Copy)]
pub enum StemKind {
    /// 7×7 stride-2 convolution and a 3×3 stride-2 max pool: two halvings (ImageNet).
    ImageNet,
    /// One 3×3 stride-1 convolution (CIFAR, He et al. 2016 §4.2).
    Cifar,
}

/// Configuration of a [`TvResNet`]; the presets [`resnet18`](Self::resnet18),
/// [`resnet34`](Self::resnet34), [`resnet50`](Self::resnet50), [`resnet20`](Self::resnet20)
/// and [`resnet56`](Self::resnet56) are the published networks.
///
/// Stochastic depth drops residual branches per sample with a rate growing linearly from 0 at
/// the first block to `drop_path` at the last, as [`crate::ResNetConfig`]; it composes with
/// `dropout` before `fc`.
#[derive(Config, Debug)]
pub struct TvResNetConfig {
    /// Channels of the input images.
    #[config(default = 3)]
    pub in_channels: usize,
    /// `[height, width]` of the input images.
    #[config(default = "[224, 224]")]
    pub image_size: [usize; 2],
    /// The residual block.
    #[config(default = "BlockKind::Basic")]
    pub block: BlockKind,
    /// The stem.
    #[config(default = "StemKind::ImageNet")]
    pub stem: StemKind,
    /// Width of each stage (torchvision's `planes`; a stage outputs `width * expansion`
    /// channels); the stem has the first stage's width. One to four stages.
    #[config(default = "vec![64, 128, 256, 512]")]
    pub widths: Vec<usize>,
    /// Blocks per stage, one entry per width.
    #[config(default = "vec![2, 2, 2, 2]")]
    pub layers: Vec<usize>,
    /// Inner width of a bottleneck per 64 units of stage width: its 1×1 and 3×3 convolutions
    /// have `width * width_per_group / 64` channels (torchvision's `width_per_group`, 64 by
    /// default, 128 in Wide ResNet-50-2). Basic blocks take only 64, as torchvision.
    #[config(default = 64)]
    pub width_per_group: usize,
    /// Number of classes.
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Dropout probability before `fc`.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Stochastic-depth rate of the last block.
    #[config(default = 0.0)]
    pub drop_path: f64,
}

/// Most stages: torchvision's four (`layer1`..`layer4`).
pub const MAX_STAGES: usize = 4;

/// Largest `width_per_group`: 1024, eight times Wide ResNet-50-2's 128; the parameter count
/// is checked after it.
const MAX_WIDTH_PER_GROUP: usize = 1024;

/// Most blocks in one stage: 1024, as [`crate::limits::MAX_RESNET_BLOCKS`] in all.
const MAX_STAGE_BLOCKS: usize = crate::limits::MAX_RESNET_BLOCKS;

impl TvResNetConfig {
    /// ResNet-18: basic blocks `[2, 2, 2, 2]`, 11,689,512 parameters for 1000 classes.
    pub fn resnet18() -> Self {
        Self::new()
    }

    /// ResNet-34: basic blocks `[3, 4, 6, 3]`, 21,797,672 parameters for 1000 classes.
    pub fn resnet34() -> Self {
        Self::new().with_layers(vec![3, 4, 6, 3])
    }

    /// ResNet-50: bottlenecks `[3, 4, 6, 3]`, 25,557,032 parameters for 1000 classes.
    pub fn resnet50() -> Self {
        Self::new()
            .with_block(BlockKind::Bottleneck)
            .with_layers(vec![3, 4, 6, 3])
    }

    /// Wide ResNet-50-2 (Zagoruyko & Komodakis 2016, torchvision's `wide_resnet50_2`):
    /// ResNet-50 with bottlenecks twice as wide inside, 68,883,240 parameters for 1000 classes.
    pub fn wide_resnet50_2() -> Self {
        Self::resnet50().with_width_per_group(128)
    }

    /// Inner width of a block of stage width `width`: `width` for basic blocks,
    /// `width * width_per_group / 64` for bottlenecks (torchvision's
    /// `int(planes * (base_width / 64.0))`); `None` on overflow.
    fn inner_width(&self, width: usize) -> Option<usize> {
        match self.block {
            BlockKind::Basic => Some(width),
            BlockKind::Bottleneck => Some(width.checked_mul(self.width_per_group)? / 64),
        }
    }

    /// The CIFAR ResNet of `6n + 2` layers: a 3×3 stem of 16 channels, stages `[16, 32, 64]`
    /// of `n` basic blocks, 10 classes, 32×32 images.
    pub fn cifar(n: usize) -> Self {
        Self::new()
            .with_stem(StemKind::Cifar)
            .with_widths(vec![16, 32, 64])
            .with_layers(vec![n; 3])
            .with_num_classes(10)
            .with_image_size([32, 32])
    }

    /// ResNet-20 (`n = 3`): 272,474 parameters for 10 classes with projection shortcuts.
    pub fn resnet20() -> Self {
        Self::cifar(3)
    }

    /// ResNet-56 (`n = 9`): 855,770 parameters for 10 classes with projection shortcuts.
    pub fn resnet56() -> Self {
        Self::cifar(9)
    }

    /// Stride-2 steps between the image and the pooled features.
    pub fn downsamplings(&self) -> u32 {
        let stem = match self.stem {
            StemKind::ImageNet => 2,
            StemKind::Cifar => 0,
        };
        stem + self.widths.len().saturating_sub(1).min(MAX_STAGES) as u32
    }

    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.in_channels == 0 {
            return Err(invalid("in_channels", "must be positive"));
        }
        if self.widths.is_empty() || self.widths.len() > MAX_STAGES || self.widths.contains(&0) {
            return Err(invalid(
                "channels",
                format!("needs 1 to {MAX_STAGES} stages, every width positive"),
            ));
        }
        if self.layers.len() != self.widths.len() {
            return Err(invalid(
                "channels",
                format!(
                    "{} widths for {} stages of blocks",
                    self.widths.len(),
                    self.layers.len()
                ),
            ));
        }
        if self.layers.iter().any(|&n| n == 0 || n > MAX_STAGE_BLOCKS) {
            return Err(invalid(
                "blocks",
                format!("every stage needs 1 to {MAX_STAGE_BLOCKS} blocks"),
            ));
        }
        self.check_width_per_group()?;
        check_image_size(self.image_size, self.downsamplings())?;
        check_parameters("channels", self.parameters())?;
        if self.num_classes < 2 {
            return Err(invalid("num_classes", "must be at least 2"));
        }
        check_drop_path(self.drop_path)?;
        check_dropout(self.dropout)
    }

    /// Basic blocks take `width_per_group = 64` only (torchvision raises otherwise); a
    /// bottleneck's inner width must be positive at every stage.
    fn check_width_per_group(&self) -> Result<(), ModelError> {
        let wpg = self.width_per_group;
        if self.block == BlockKind::Basic && wpg != 64 {
            return Err(invalid(
                "width_per_group",
                format!("basic blocks take only 64, got {wpg}"),
            ));
        }
        if wpg == 0 || wpg > MAX_WIDTH_PER_GROUP {
            return Err(invalid(
                "width_per_group",
                format!("must be in 1..={MAX_WIDTH_PER_GROUP}, got {wpg}"),
            ));
        }
        if self.widths.iter().any(|&w| self.inner_width(w) == Some(0)) {
            return Err(invalid(
                "width_per_group",
                format!(
                    "{wpg} leaves a stage of {:?} no inner channels",
                    self.widths
                ),
            ));
        }
        Ok(())
    }

    /// Values Burn counts (weights, and four per batch-normalized channel: scale, shift,
    /// running mean and variance); `None` on overflow. Call after the stages are checked.
    pub(crate) fn parameters(&self) -> Option<usize> {
        let stem_k = match self.stem {
            StemKind::ImageNet => 7,
            StemKind::Cifar => 3,
        };
        let mut total = conv_parameters(self.in_channels, self.widths[0], stem_k, 4)?;
        let mut in_ch = self.widths[0];
        let expansion = self.block.expansion();
        for (stage, (&width, &n)) in self.widths.iter().zip(&self.layers).enumerate() {
            let out_ch = width.checked_mul(expansion)?;
            let inner = self.inner_width(width)?;
            for b in 0..n {
                let block = match self.block {
                    BlockKind::Basic => conv_parameters(in_ch, width, 3, 4)?
                        .checked_add(conv_parameters(width, width, 3, 4)?)?,
                    BlockKind::Bottleneck => conv_parameters(in_ch, inner, 1, 4)?
                        .checked_add(conv_parameters(inner, inner, 3, 4)?)?
                        .checked_add(conv_parameters(inner, out_ch, 1, 4)?)?,
                };
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                let downsample = if stride != 1 || in_ch != out_ch {
                    conv_parameters(in_ch, out_ch, 1, 4)?
                } else {
                    0
                };
                total = total.checked_add(block)?.checked_add(downsample)?;
                in_ch = out_ch;
            }
        }
        total.checked_add(dense_parameters(in_ch, &[], self.num_classes)?)
    }

    /// Builds the model on `device`.
    ///
    /// # Panics
    /// When [`validate`](Self::validate) fails.
    pub fn init(&self, device: &Device) -> TvResNet {
        self.validate().expect("valid ResNet config");
        let expansion = self.block.expansion();
        let total: usize = self.layers.iter().sum();
        let mut in_ch = self.widths[0];
        let mut index = 0;
        let mut stages: Vec<Vec<ResidualBlock>> = Vec::with_capacity(MAX_STAGES);
        for (stage, (&width, &n)) in self.widths.iter().zip(&self.layers).enumerate() {
            let blocks = (0..n)
                .map(|b| {
                    let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                    let rate = linear_rate(self.drop_path, index, total);
                    index += 1;
                    let inner = self.inner_width(width).expect("validated widths");
                    let shape = BlockShape {
                        in_ch,
                        inner,
                        out_ch: width * expansion,
                        stride,
                    };
                    let block = ResidualBlock::new(self.block, shape, rate, device);
                    in_ch = width * expansion;
                    block
                })
                .collect();
            stages.push(blocks);
        }
        stages.resize_with(MAX_STAGES, Vec::new);
        let [layer1, layer2, layer3, layer4]: [Vec<ResidualBlock>; MAX_STAGES] =
            stages.try_into().expect("four stages");
        let (stem_k, stem_stride) = match self.stem {
            StemKind::ImageNet => (7, 2),
            StemKind::Cifar => (3, 1),
        };
        TvResNet {
            conv1: conv(
                [self.in_channels, self.widths[0]],
                stem_k,
                stem_stride,
                1,
                device,
            ),
            bn1: BatchNormConfig::new(self.widths[0]).init(device),
            maxpool: (self.stem == StemKind::ImageNet).then(|| {
                MaxPool2dConfig::new([3, 3])
                    .with_strides([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init()
            }),
            layer1,
            layer2,
            layer3,
            layer4,
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dropout: DropoutConfig::new(self.dropout).init(),
            fc: LinearConfig::new(in_ch, self.num_classes).init(device),
            relu: Relu::new(),
        }
    }
}

/// The 1×1 projection shortcut: `bn(conv(x))`, torchvision's `downsample` (`.0`, `.1`).
#[derive(Module, Debug)]
pub struct Downsample {
    conv: Conv2d,
    bn: BatchNorm,
}

/// A basic block or a bottleneck: torchvision's `BasicBlock` (`conv1`, `bn1`, `conv2`, `bn2`)
/// or `Bottleneck` (and `conv3`, `bn3`), with its `downsample` shortcut when the shape changes.
///
/// `relu(bn_last(conv_last(...relu(bn1(conv1(x))))) + shortcut(x))`, the branch passing
/// through drop-path before the sum.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Option<Conv2d>,
    bn3: Option<BatchNorm>,
    downsample: Option<Downsample>,
    drop_path: DropPath,
    relu: Relu,
}

/// The channels and stride of one block.
struct BlockShape {
    in_ch: usize,
    /// Channels of the convolutions inside (a basic block's both, a bottleneck's first two).
    inner: usize,
    out_ch: usize,
    stride: usize,
}

impl ResidualBlock {
    fn new(kind: BlockKind, shape: BlockShape, drop_path: f64, device: &Device) -> Self {
        let BlockShape {
            in_ch,
            inner: width,
            out_ch,
            stride,
        } = shape;
        let bn = |c| BatchNormConfig::new(c).init(device);
        let (conv1, conv2, conv3) = match kind {
            BlockKind::Basic => (
                conv([in_ch, width], 3, stride, 1, device),
                conv([width, width], 3, 1, 1, device),
                None,
            ),
            BlockKind::Bottleneck => (
                conv([in_ch, width], 1, 1, 1, device),
                conv([width, width], 3, stride, 1, device),
                Some(conv([width, out_ch], 1, 1, 1, device)),
            ),
        };
        Self {
            conv1,
            bn1: bn(width),
            conv2,
            bn2: bn(width),
            bn3: conv3.is_some().then(|| bn(out_ch)),
            conv3,
            downsample: (stride != 1 || in_ch != out_ch).then(|| Downsample {
                conv: conv([in_ch, out_ch], 1, stride, 1, device),
                bn: bn(out_ch),
            }),
            drop_path: DropPathConfig::new(drop_path).init(),
            relu: Relu::new(),
        }
    }

    /// The branch's convolutions in order and the shortcut's, if any (for MAC counts).
    pub(crate) fn convs(&self) -> (Vec<&Conv2d>, Option<&Conv2d>) {
        let branch = [Some(&self.conv1), Some(&self.conv2), self.conv3.as_ref()];
        let shortcut = self.downsample.as_ref().map(|d| &d.conv);
        (branch.into_iter().flatten().collect(), shortcut)
    }

    /// # Shapes
    /// - input: `[batch, in_ch, h, w]`
    /// - output: `[batch, width * expansion, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = conv2d_module(&self.conv1, x.clone());
        let mut out = conv2d_module(
            &self.conv2,
            batch_norm_module(&self.bn1, out, Epilogue::Relu),
        );
        let mut last = &self.bn2;
        if let (Some(conv3), Some(bn3)) = (&self.conv3, &self.bn3) {
            out = conv2d_module(conv3, batch_norm_module(last, out, Epilogue::Relu));
            last = bn3;
        }
        let shortcut = match &self.downsample {
            Some(d) => batch_norm_module(&d.bn, conv2d_module(&d.conv, x), Epilogue::None),
            None => x,
        };
        // Without stochastic depth the last normalization, the add and the ReLU are one op.
        if self.drop_path.prob == 0.0 {
            return batch_norm_module(last, out, Epilogue::AddRelu(shortcut));
        }
        let out = batch_norm_module(last, out, Epilogue::None);
        self.relu.forward(self.drop_path.forward(out) + shortcut)
    }
}

/// ResNet in torchvision's layout. Build it with [`TvResNetConfig`].
#[derive(Module, Debug)]
pub struct TvResNet {
    pub(super) conv1: Conv2d,
    bn1: BatchNorm,
    maxpool: Option<MaxPool2d>,
    layer1: Vec<ResidualBlock>,
    layer2: Vec<ResidualBlock>,
    layer3: Vec<ResidualBlock>,
    layer4: Vec<ResidualBlock>,
    avgpool: AdaptiveAvgPool2d,
    dropout: Dropout,
    fc: Linear,
    relu: Relu,
}

impl TvResNet {
    /// The stem convolution, the max pool after it (ImageNet stem) and every block in
    /// forward order (for MAC counts).
    pub(crate) fn layout(&self) -> (&Conv2d, Option<&MaxPool2d>, Vec<&ResidualBlock>) {
        let blocks = [&self.layer1, &self.layer2, &self.layer3, &self.layer4]
            .into_iter()
            .flatten()
            .collect();
        (&self.conv1, self.maxpool.as_ref(), blocks)
    }

    /// Block `index` of stage `stage` (0-based: `layer1` is stage 0).
    #[cfg(test)]
    pub(crate) fn block(&self, stage: usize, index: usize) -> &ResidualBlock {
        [&self.layer1, &self.layer2, &self.layer3, &self.layer4][stage]
            .get(index)
            .expect("block")
    }

    /// Class logits for a batch of images.
    ///
    /// # Shapes
    /// - images: `[batch, in_channels, height, width]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = batch_norm_module(
            &self.bn1,
            conv2d_module(&self.conv1, images),
            Epilogue::Relu,
        );
        if let Some(pool) = &self.maxpool {
            x = pool.forward(x);
        }
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            x = block.forward(x);
        }
        let x: Tensor<2> = self.avgpool.forward(x).flatten(1, 3);
        self.fc.forward(self.dropout.forward(x))
    }
}
