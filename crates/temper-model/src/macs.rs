//! Multiply-accumulates (MACs) of one image's forward pass.
//!
//! Every convolution counts `out_c * (in_c / groups) * kh * kw * out_h * out_w` and every
//! linear layer `in * out` ([`temper_compress::efficiency`]); pooling, normalization,
//! activations, biases and residual additions count nothing. That is the convention of fvcore
//! (`fvcore/nn/jit_handles.py`, `conv_flop_jit`, one MAC counted as one "flop"), of ptflops
//! and of the `GFLOPS` torchvision publishes per weight (`_ops` in
//! `torchvision/models/resnet.py`: 1.814 for ResNet-18), all of which count the MACs of
//! convolutions and linear layers, since they dominate the cost.
//!
//! A convolution's output side is PyTorch's `floor((n + pad - d (k - 1) - 1) / s) + 1`
//! (`torch.nn.Conv2d`'s shape formula), read from the layer's stride, padding, dilation and
//! groups; a linear layer's size is its weight's. The small ResNet and MobileNetV2 do not
//! expose their layers, so their strides are those their configs build (documented where
//! used), and the hand counts in the tests check them.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;
use temper_compress::efficiency::{conv2d_macs, linear_macs};

use crate::zoo::{INVERTED_RESIDUAL_SETTING, TvResNet};
use crate::{Classifier, Cnn};

impl Classifier {
    /// Multiply-accumulates of one forward pass on one image of `shape` = `[channels, height,
    /// width]`: every convolution (`conv2d_macs` with its output size from stride, padding and
    /// dilation) and linear layer (`linear_macs`); pooling, normalization, activations and
    /// additions are not counted (the convention of fvcore, ptflops and torchvision's published
    /// GFLOPS). The channels are the model's own (its first layer's weight); an MLP counts its
    /// layers whatever the shape.
    pub fn macs_per_image(&self, shape: [usize; 3]) -> u64 {
        let hw = [shape[1], shape[2]];
        let mut layers = Layers::default();
        self.visit(&mut layers);
        let convs = match self {
            Classifier::Mlp(_) => 0,
            Classifier::Cnn(m) => cnn_macs(m, hw),
            Classifier::TvResNet(m) => tv_resnet_macs(m, hw),
            Classifier::ResNet(_) => resnet_macs(&layers.convs, hw),
            Classifier::MobileNetV2(_) => mobilenet_macs(&layers.convs, hw),
        };
        convs + layers.linear
    }
}

/// A convolution's geometry.
struct Geometry {
    /// The weight's `[out, in / groups, kh, kw]`.
    dims: [usize; 4],
    stride: [usize; 2],
    padding: PaddingConfig2d,
    dilation: [usize; 2],
    groups: usize,
}

impl Geometry {
    fn of(conv: &Conv2d) -> Self {
        Self {
            dims: conv.weight.dims(),
            stride: conv.stride,
            padding: conv.padding.clone(),
            dilation: conv.dilation,
            groups: conv.groups,
        }
    }

    /// A convolution as temper's configs build it: padding `(k - 1) / 2`, no dilation.
    fn built(dims: [usize; 4], stride: usize, groups: usize) -> Self {
        let [ph, pw] = [(dims[2] - 1) / 2, (dims[3] - 1) / 2];
        Self {
            dims,
            stride: [stride; 2],
            padding: PaddingConfig2d::Explicit(ph, pw, ph, pw),
            dilation: [1, 1],
            groups,
        }
    }

    /// MACs on an `hw` input, and the output's `[height, width]`.
    fn apply(&self, hw: [usize; 2]) -> (u64, [usize; 2]) {
        let [out_c, in_per_group, kh, kw] = self.dims;
        let kernel = [kh, kw];
        let pad = total_padding(&self.padding, hw, kernel, self.stride);
        let out = [0, 1].map(|i| {
            window_out(
                hw[i],
                pad[i],
                kernel[i],
                self.stride[i],
                self.dilation[i],
                false,
            )
        });
        let in_c = in_per_group * self.groups;
        (conv2d_macs(in_c, out_c, kernel, self.groups, out), out)
    }
}

/// Padding added to each axis (both sides together), as Burn's `PaddingConfig2d` resolves it:
/// `Explicit(top, left, bottom, right)`; `Same` pads `(ceil(n / s) - 1) s + k - n`.
fn total_padding(
    padding: &PaddingConfig2d,
    hw: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> [usize; 2] {
    match padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Same => [0, 1].map(|i| {
            let out = hw[i].div_ceil(stride[i].max(1));
            (out.saturating_sub(1) * stride[i] + kernel[i]).saturating_sub(hw[i])
        }),
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top + bottom, left + right],
    }
}

/// Output side of a sliding window: `floor((n + pad - d (k - 1) - 1) / s) + 1`, PyTorch's
/// formula for `Conv2d` and `MaxPool2d`; with `ceil`, rounded up unless the last window would
/// start in the end padding (`ceil_mode`, PyTorch's `pooling_output_shape`). 0 when the
/// window does not fit.
fn window_out(n: usize, pad: usize, k: usize, s: usize, d: usize, ceil: bool) -> usize {
    let span = d * k.saturating_sub(1) + 1;
    let padded = n + pad;
    if padded < span {
        return 0;
    }
    let s = s.max(1);
    let steps = padded - span;
    let mut out = if ceil { steps.div_ceil(s) } else { steps / s } + 1;
    if ceil && (out - 1) * s >= n + pad / 2 {
        out -= 1;
    }
    out
}

fn pool_out(pool: &MaxPool2d, hw: [usize; 2]) -> [usize; 2] {
    let pad = total_padding(&pool.padding, hw, pool.kernel_size, pool.stride);
    [0, 1].map(|i| {
        let (k, s, d) = (pool.kernel_size[i], pool.stride[i], pool.dilation[i]);
        window_out(hw[i], pad[i], k, s, d, pool.ceil_mode)
    })
}

/// Runs `convs` one after the other from `hw`: their MACs and the output size.
fn chain<'a>(convs: impl IntoIterator<Item = &'a Geometry>, hw: [usize; 2]) -> (u64, [usize; 2]) {
    convs.into_iter().fold((0, hw), |(total, hw), g| {
        let (macs, out) = g.apply(hw);
        (total + macs, out)
    })
}

/// Every convolution block: the convolution, then the pool.
fn cnn_macs(cnn: &Cnn, mut hw: [usize; 2]) -> u64 {
    let (convs, pool) = cnn.trunk();
    let mut total = 0;
    for conv in convs {
        let (macs, out) = Geometry::of(conv).apply(hw);
        total += macs;
        hw = pool_out(pool, out);
    }
    total
}

/// The stem and its pool, then each block's branch and, on its input, its shortcut.
fn tv_resnet_macs(model: &TvResNet, hw: [usize; 2]) -> u64 {
    let (stem, pool, blocks) = model.layout();
    let (mut total, mut hw) = Geometry::of(stem).apply(hw);
    if let Some(pool) = pool {
        hw = pool_out(pool, hw);
    }
    for block in blocks {
        let (branch, shortcut) = block.convs();
        let branch: Vec<Geometry> = branch.into_iter().map(Geometry::of).collect();
        let (macs, out) = chain(&branch, hw);
        total += macs;
        if let Some(conv) = shortcut {
            total += Geometry::of(conv).apply(hw).0;
        }
        hw = out;
    }
    total
}

/// temper's small ResNet (`ResNetConfig::init`): a stride-1 3×3 stem; per block two 3×3
/// convolutions, the first with the block's stride, and a 1×1 projection with the same
/// stride. A block has a projection exactly when it halves the resolution: the first block of
/// every stage after the first (the first stage keeps the stem's width).
fn resnet_macs(convs: &[(String, [usize; 4])], hw: [usize; 2]) -> u64 {
    let find = |name: String| convs.iter().find(|(p, _)| *p == name).map(|(_, d)| *d);
    let Some(stem) = find("stem.weight".to_owned()) else {
        return 0;
    };
    let (mut total, mut hw) = Geometry::built(stem, 1, 1).apply(hw);
    for i in 0.. {
        let Some(conv1) = find(format!("blocks.{i}.conv1.weight")) else {
            break;
        };
        let conv2 = find(format!("blocks.{i}.conv2.weight")).expect("a block's second conv");
        let projection = find(format!("blocks.{i}.projection.weight"));
        let stride = if projection.is_some() { 2 } else { 1 };
        let branch = [
            Geometry::built(conv1, stride, 1),
            Geometry::built(conv2, 1, 1),
        ];
        let (macs, out) = chain(&branch, hw);
        total += macs;
        if let Some(dims) = projection {
            total += Geometry::built(dims, stride, 1).apply(hw).0;
        }
        hw = out;
    }
    total
}

/// MobileNetV2 (`MobileNetV2Config::init`): `features.0` is the stride-2 3×3 stem, `features.1`
/// .. are the inverted residual blocks of [`INVERTED_RESIDUAL_SETTING`] (the stride `s` on the
/// first repeat's depthwise 3×3, one group per channel; 1×1 expansion and projection), the
/// last feature the 1×1 convolution to 1280 channels. Padding is `(k - 1) / 2` throughout.
fn mobilenet_macs(convs: &[(String, [usize; 4])], mut hw: [usize; 2]) -> u64 {
    let block_strides: Vec<usize> = INVERTED_RESIDUAL_SETTING
        .iter()
        .flat_map(|&[_, _, n, s]| (0..n).map(move |i| if i == 0 { s } else { 1 }))
        .collect();
    let mut total = 0;
    for k in 0.. {
        let prefix = format!("features.{k}.");
        let layer: Vec<(&str, [usize; 4])> = convs
            .iter()
            .filter_map(|(p, d)| Some((p.strip_prefix(&prefix)?, *d)))
            .collect();
        if layer.is_empty() {
            break;
        }
        let stride = match k {
            0 => 2,
            k => block_strides.get(k - 1).copied().unwrap_or(1),
        };
        let geometry: Vec<Geometry> = layer
            .iter()
            .map(|&(name, dims)| match name {
                "depthwise.conv.weight" => Geometry::built(dims, stride, dims[0]),
                "conv.weight" => Geometry::built(dims, stride, 1),
                _ => Geometry::built(dims, 1, 1),
            })
            .collect();
        let (macs, out) = chain(&geometry, hw);
        total += macs;
        hw = out;
    }
    total
}

/// Collects every convolution weight with its path (enum variants left out) and sums the
/// linear layers' MACs: in every temper model the 2-D float parameters are exactly the linear
/// weights (`[in, out]`), as normalization keeps 1-D vectors and convolutions 4-D tensors.
#[derive(Default)]
struct Layers {
    path: Vec<String>,
    convs: Vec<(String, [usize; 4])>,
    linear: u64,
}

impl ModuleVisitor for Layers {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        let variant = container_type.starts_with("Enum:");
        self.path.push(if variant {
            String::new()
        } else {
            name.to_owned()
        });
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        match *param.dims().as_slice() {
            [inputs, outputs] => self.linear += linear_macs(inputs, outputs),
            [o, i, kh, kw] => {
                let path: Vec<&str> = self
                    .path
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(String::as_str)
                    .collect();
                self.convs.push((path.join("."), [o, i, kh, kw]));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
