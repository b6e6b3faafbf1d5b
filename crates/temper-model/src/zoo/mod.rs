//! Standard architectures in torchvision's layout: [`TvResNet`] (ResNet-18/34/50 and the
//! CIFAR ResNet-20/56 of He et al. 2016) and [`MobileNetV2`].
//!
//! Field names follow torchvision's parameter names (`conv1`, `bn1`, `layer1`..`layer4`,
//! `downsample`, `fc`; `features`, `classifier`) so that its weights can be loaded by name;
//! where torchvision numbers the children of an `nn.Sequential` the field names and the
//! mapping are given on each type. Every convolution is initialized as torchvision does,
//! Kaiming-normal in `fan_out` mode (`nn.init.kaiming_normal_(w, mode="fan_out")`, std
//! `sqrt(2 / (out_channels * kh * kw))`); batch normalization starts at weight 1, bias 0
//! (Burn's default, as torchvision's explicit init).

mod mobilenet;
mod resnet;

pub use mobilenet::{
    ConvBnAct, INVERTED_RESIDUAL_SETTING, InvertedResidual, MobileNetFeature, MobileNetV2,
    MobileNetV2Config, make_divisible,
};
pub use resnet::{
    BlockKind, Downsample, MAX_STAGES, ResidualBlock, StemKind, TvResNet, TvResNetConfig,
};

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::tensor::Device;

use crate::error::{ModelError, invalid};

/// A `k`×`k` convolution without bias, padding `(k - 1) / 2`, torchvision's init.
///
/// The standard deviation is computed here rather than with Burn's `KaimingNormal`, because
/// Burn divides the fan-out of a grouped convolution by the group count and PyTorch does not
/// (`torch.nn.init._calculate_fan_in_and_fan_out` reads `weight.size(0) * kh * kw`): for a
/// depthwise 3×3 convolution of 96 channels PyTorch's fan-out is 864, Burn's 9.
pub(crate) fn conv(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    groups: usize,
    device: &Device,
) -> Conv2d {
    let pad = (kernel - 1) / 2;
    let fan_out = (channels[1] * kernel * kernel) as f64;
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: (2.0 / fan_out).sqrt(),
        })
        .init(device)
}

/// Smallest image side a network with `downsamplings` stride-2 steps accepts:
/// `2^(downsamplings - 1) + 1`.
///
/// Each stride-2 step here (a 7×7 convolution with padding 3, a 3×3 convolution or max pool
/// with padding 1, a 1×1 convolution) maps a side `s` to `ceil(s / 2)`, so any side gives a
/// non-empty output; but once a step meets a 1-pixel map, its 3×3 window sees that one pixel
/// and padding, and the stage degenerates into a 1×1 convolution. The bound is the smallest
/// side whose map still has two pixels at the last step: 17 for torchvision's ResNets and
/// MobileNetV2 (five steps, so 28×28 MNIST works), 3 for the CIFAR ResNets (two). Keras'
/// `obtain_input_shape` is stricter and asks for 32 (`keras/applications/imagenet_utils.py`),
/// the total stride.
pub fn min_image_side(downsamplings: u32) -> usize {
    match downsamplings {
        0 => 1,
        k => (1usize << (k - 1).min(62)) + 1,
    }
}

/// Refuses images smaller than [`min_image_side`] of `downsamplings`, naming `model.kind`.
pub(crate) fn check_image_size(
    image_size: [usize; 2],
    downsamplings: u32,
) -> Result<(), ModelError> {
    let min = min_image_side(downsamplings);
    let [h, w] = image_size;
    if h < min || w < min {
        return Err(invalid(
            "kind",
            format!("this architecture needs images of at least {min}x{min} pixels, got {h}x{w}"),
        ));
    }
    Ok(())
}

/// Checks a drop-path rate, naming `model.drop_path`.
pub(crate) fn check_drop_path(p: f64) -> Result<(), ModelError> {
    if p.is_finite() && (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(invalid("drop_path", format!("must be in [0, 1), got {p}")))
    }
}

/// The stochastic-depth rate of block `index` of `total`: linear from 0 at the first block to
/// `rate` at the last (Huang et al. 2016; timm's `drop_path_rate`), as in [`crate::ResNet`].
pub(crate) fn linear_rate(rate: f64, index: usize, total: usize) -> f64 {
    if total > 1 {
        rate * index as f64 / (total - 1) as f64
    } else {
        rate
    }
}

#[cfg(test)]
mod tests;
