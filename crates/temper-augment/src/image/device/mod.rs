//! The on-device path: the CPU path's [`OpParams`] replayed on a batched Burn tensor
//! `[N, C, H, W]` (`f32`, values `0..=255`), with batched tensor ops on the tensor's device and
//! no host round trip for the pixels (only the per-sample parameters, a few floats or indices
//! per sample, and parameter-only tables such as resize weights travel to the device).
//!
//! Same meaning as the CPU path: each op computes its float formula and rounds once to 8 bits
//! (`floor(v + 0.5)` clamped to `0..=255`, which is `f32::round` on the non-negative values
//! the CPU path rounds; Burn's `round` is half-to-even). Every op of the CPU catalogue runs
//! here, in three families:
//!
//! - geometric (`device/geometric.rs`): flips and crops (every
//!   padding mode) are exact; the affine family (rotate / translate / scale / shear) goes
//!   through `grid_sample_2d` and agrees within float error before rounding; resize applies
//!   the CPU path's separable triangle-filter weights as two matrix products, and a crop
//!   directly followed by a resize (a random-resized crop, whose boxes differ in size per
//!   sample) runs as one op with per-sample matrices.
//! - photometric (`device/photometric.rs`): brightness, contrast,
//!   saturation, hue (RGB -> HSV -> RGB elementwise), gamma, grayscale, invert, solarize,
//!   posterize, equalize (per-channel histograms by scatter-add) and autocontrast
//!   (per-channel min / max), each the CPU formula on tensors.
//! - filters, noise and occlusion (`device/filters.rs`): sharpness
//!   and Gaussian blur (per-sample kernels, the CPU path's summation order), erase (per-sample
//!   box masks), Gaussian noise and salt-and-pepper.
//!
//! Random fields are the one difference: Gaussian noise, salt-and-pepper and erase boxes
//! with a random fill draw their pixel-sized fields on the device with Burn's RNG (seed it
//! with [`Device::seed`] for repeatable runs) from the same distribution as the CPU path,
//! instead of uploading the CPU path's ChaCha8 field; the `seed` in those params is not used.
//! Their realizations differ from the CPU path's while the distribution is the same.
//!
//! Samples may carry different ops at the same position (RandAugment, one-of): each position
//! groups the samples by op kind, runs every group as one batch and restores the order.

mod filters;
mod geometric;
mod photometric;

use std::mem::{Discriminant, discriminant};

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::image::cpu::raster::Interpolation;
use crate::image::error::{Result, invalid};
use crate::image::ops::params::OpParams;
use crate::image::ops::params::{CropParams, ResizeParams};
use geometric as geo;
use photometric as photo;

static IDENTITY: OpParams = OpParams::Identity;

/// Applies `params[i]` (in order) to sample `i` of `images` on the tensor's device.
///
/// `images` holds `N` images of `C = 1` or `3` channels with integral values in `0..=255`
/// (as [`AugImage`](super::AugImage) bytes); `params` comes from
/// [`sample_batch`](super::sample_batch) or [`Pipeline::sample_for`](super::Pipeline::sample_for).
/// Nested [`OpParams::Sequence`]s are flattened; shorter lists are padded with identities.
///
/// # Shapes
///
/// - `images`: `[N, C, H, W]`
/// - output: `[N, C, H', W']`, the size every sample's ops produce.
///
/// # Errors
///
/// [`ImageAugError::Invalid`](super::ImageAugError::Invalid) when `params.len() != N`, `C` is
/// not 1 or 3, or the samples' ops would give images of different sizes (checked per
/// position before that position's work).
pub fn apply_batch_device(images: Tensor<4>, params: &[Vec<OpParams>]) -> Result<Tensor<4>> {
    let [n, c, h, w] = images.dims();
    if params.len() != n {
        return Err(invalid(
            "params",
            format!("{} parameter lists for a batch of {n} images", params.len()),
        ));
    }
    if c != 1 && c != 3 {
        return Err(invalid(
            "images",
            format!("has {c} channels, expected 1 (gray) or 3 (RGB)"),
        ));
    }
    let leaves: Vec<Vec<Leaf>> = params
        .iter()
        .map(|list| {
            let mut out = Vec::new();
            list.iter().for_each(|p| flatten(p, &mut out));
            fuse(&out)
        })
        .collect();
    let steps = leaves.iter().map(Vec::len).max().unwrap_or(0);
    let mut x = images;
    let mut size = (w as u32, h as u32);
    for k in 0..steps {
        let step: Vec<Leaf> = leaves
            .iter()
            .map(|l| l.get(k).copied().unwrap_or(Leaf::Op(&IDENTITY)))
            .collect();
        let out = step[0].output_size(size.0, size.1);
        if let Some(i) = step
            .iter()
            .position(|p| p.output_size(size.0, size.1) != out)
        {
            let (ow, oh) = step[i].output_size(size.0, size.1);
            return Err(invalid(
                "params",
                format!(
                    "op {} of sample {i} gives {ow}x{oh} but sample 0 gives {}x{}: a batch needs one size",
                    k + 1,
                    out.0,
                    out.1
                ),
            ));
        }
        x = apply_step(x, &step)?;
        size = out;
    }
    Ok(x)
}

/// The op's TOML-style name, for errors.
pub fn op_name(p: &OpParams) -> &'static str {
    match p {
        OpParams::Identity => "identity",
        OpParams::HFlip => "hflip",
        OpParams::VFlip => "vflip",
        OpParams::Affine(_) => "affine",
        OpParams::Crop(_) => "crop",
        OpParams::Resize(_) => "resize",
        OpParams::Brightness(_) => "brightness",
        OpParams::Contrast(_) => "contrast",
        OpParams::Saturation(_) => "saturation",
        OpParams::Hue(_) => "hue",
        OpParams::Gamma { .. } => "gamma",
        OpParams::Sharpness(_) => "sharpness",
        OpParams::GaussianBlur { .. } => "gaussian-blur",
        OpParams::GaussianNoise { .. } => "gaussian-noise",
        OpParams::SaltAndPepper { .. } => "salt-and-pepper",
        OpParams::Grayscale => "grayscale",
        OpParams::Invert => "invert",
        OpParams::Solarize(_) => "solarize",
        OpParams::Posterize(_) => "posterize",
        OpParams::Equalize => "equalize",
        OpParams::Autocontrast => "autocontrast",
        OpParams::Erase(_) => "erase",
        OpParams::Sequence(_) => "sequence",
    }
}

fn flatten<'a>(p: &'a OpParams, out: &mut Vec<&'a OpParams>) {
    match p {
        OpParams::Sequence(s) => s.iter().for_each(|q| flatten(q, out)),
        _ => out.push(p),
    }
}

/// One device step of a sample: an op, or a crop directly followed by a resize, run as one
/// op (a random-resized crop's boxes differ in size per sample; only the resize makes the
/// batch's sizes equal again).
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Op(&'a OpParams),
    CropResize(&'a CropParams, &'a ResizeParams),
}

impl Leaf<'_> {
    fn output_size(&self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Leaf::Op(p) => p.output_size(width, height),
            Leaf::CropResize(_, r) => (r.width.max(1), r.height.max(1)),
        }
    }
}

/// A sample's flattened ops as [`Leaf`]s, each crop followed by a resize fused.
fn fuse<'a>(ops: &[&'a OpParams]) -> Vec<Leaf<'a>> {
    let mut out = Vec::with_capacity(ops.len());
    let mut k = 0;
    while k < ops.len() {
        match (ops[k], ops.get(k + 1).copied()) {
            (OpParams::Crop(c), Some(OpParams::Resize(r))) => {
                out.push(Leaf::CropResize(c, r));
                k += 2;
            }
            (p, _) => {
                out.push(Leaf::Op(p));
                k += 1;
            }
        }
    }
    out
}

/// Ops that can run as one batch: same variant (`None` for a fused crop-resize) and the same
/// interpolation (the affine family's nearest or bilinear sampler; a resize's antialiasing).
type Kind = (Option<Discriminant<OpParams>>, bool);

fn kind(leaf: &Leaf) -> Kind {
    match leaf {
        Leaf::Op(p) => {
            let flag = match p {
                OpParams::Affine(a) => a.interpolation == Interpolation::Nearest,
                OpParams::Resize(r) => !r.antialias,
                _ => false,
            };
            (Some(discriminant(*p)), flag)
        }
        Leaf::CropResize(_, r) => (None, !r.antialias),
    }
}

/// `idx` as a 1-D index tensor.
pub(super) fn index_tensor(idx: &[usize], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(data, [idx.len()]), device)
}

/// One position of every sample's op list: group by kind, run each group, restore the order.
fn apply_step(x: Tensor<4>, step: &[Leaf]) -> Result<Tensor<4>> {
    let mut groups: Vec<(Kind, Vec<usize>)> = Vec::new();
    for (i, p) in step.iter().enumerate() {
        let k = kind(p);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(i),
            None => groups.push((k, vec![i])),
        }
    }
    if groups.len() == 1 {
        return apply_group(x, step);
    }
    let device = x.device();
    let mut outs = Vec::with_capacity(groups.len());
    let mut order = Vec::with_capacity(step.len());
    for (_, idx) in groups {
        let sub = x.clone().select(0, index_tensor(&idx, &device));
        let ps: Vec<Leaf> = idx.iter().map(|&i| step[i]).collect();
        outs.push(apply_group(sub, &ps)?);
        order.extend(idx);
    }
    let mut inverse = vec![0usize; order.len()];
    for (pos, &i) in order.iter().enumerate() {
        inverse[i] = pos;
    }
    Ok(Tensor::cat(outs, 0).select(0, index_tensor(&inverse, &device)))
}

/// The CPU path's `q8` on a tensor: nearest integer (halves up), clamped to `0..=255`.
pub(super) fn q8(x: Tensor<4>) -> Tensor<4> {
    x.add_scalar(0.5).floor().clamp(0.0, 255.0)
}

/// One value per sample as `[m, 1, 1, 1]`.
pub(super) fn per_sample(values: Vec<f32>, device: &Device) -> Tensor<4> {
    let m = values.len();
    Tensor::from_data(TensorData::new(values, [m, 1, 1, 1]), device)
}

/// `fill[..c]` per sample as `[m, c, 1, 1]`.
pub(super) fn fill_tensor(fills: &[[u8; 3]], c: usize, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = fills
        .iter()
        .flat_map(|f| f[..c].iter().map(|&v| v as f32))
        .collect();
    Tensor::from_data(TensorData::new(values, [fills.len(), c, 1, 1]), device)
}

/// The per-sample field of a group whose members all match `$pat`, as a `Vec`.
macro_rules! field {
    ($ps:expr, $pat:pat => $value:expr) => {
        $ps.iter()
            .filter_map(|p| match p {
                $pat => Some($value),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}

/// Applies leaves of one kind, `leaves[i]` to sample `i` of `x`.
fn apply_group(x: Tensor<4>, leaves: &[Leaf]) -> Result<Tensor<4>> {
    if let Leaf::CropResize(_, r) = leaves[0] {
        let crops = field!(leaves, Leaf::CropResize(c, _) => *c);
        let (ow, oh) = (r.width.max(1) as usize, r.height.max(1) as usize);
        return Ok(geo::crop_resize(x, &crops, ow, oh, r.antialias));
    }
    let ps = field!(leaves, Leaf::Op(p) => *p);
    Ok(match ps[0] {
        OpParams::Identity => x,
        OpParams::HFlip => x.flip([3]),
        OpParams::VFlip => x.flip([2]),
        OpParams::Affine(_) => geo::affine(x, &field!(ps, OpParams::Affine(a) => a)),
        OpParams::Crop(_) => geo::crop(x, &field!(ps, OpParams::Crop(c) => c)),
        // One output size per position (checked by the caller) and one antialiasing (the
        // group's kind), so one filter for the group.
        OpParams::Resize(r) => {
            let (ow, oh) = (r.width.max(1) as usize, r.height.max(1) as usize);
            geo::resize(x, ow, oh, r.antialias)
        }
        OpParams::Brightness(_) => photo::brightness(x, field!(ps, OpParams::Brightness(f) => *f)),
        OpParams::Contrast(_) => photo::contrast(x, field!(ps, OpParams::Contrast(f) => *f)),
        OpParams::Saturation(_) => photo::saturation(x, field!(ps, OpParams::Saturation(f) => *f)),
        OpParams::Hue(_) => photo::hue(x, field!(ps, OpParams::Hue(s) => *s)),
        OpParams::Gamma { .. } => photo::gamma(
            x,
            field!(ps, OpParams::Gamma { gamma, gain } => (*gamma, *gain)),
        ),
        OpParams::Grayscale => photo::grayscale(x),
        OpParams::Invert => x.neg().add_scalar(255.0),
        OpParams::Solarize(_) => photo::solarize(x, field!(ps, OpParams::Solarize(t) => *t)),
        OpParams::Posterize(_) => photo::posterize(x, field!(ps, OpParams::Posterize(b) => *b)),
        OpParams::Equalize => photo::equalize(x),
        OpParams::Autocontrast => photo::autocontrast(x),
        OpParams::Sharpness(_) => filters::sharpness(x, field!(ps, OpParams::Sharpness(f) => *f)),
        OpParams::GaussianBlur { .. } => filters::gaussian_blur(
            x,
            &field!(ps, OpParams::GaussianBlur { kernel_size, sigma } => (*kernel_size, *sigma)),
        ),
        OpParams::GaussianNoise { .. } => filters::gaussian_noise(
            x,
            field!(ps, OpParams::GaussianNoise { mean, sigma, .. } => (*mean, *sigma)),
        ),
        OpParams::SaltAndPepper { .. } => filters::salt_and_pepper(
            x,
            field!(ps, OpParams::SaltAndPepper { amount, salt, .. } => (*amount, *salt)),
        ),
        OpParams::Erase(_) => filters::erase(x, &field!(ps, OpParams::Erase(b) => b.as_slice())),
        OpParams::Sequence(_) => {
            return Err(invalid(
                "params",
                "a nested sequence reached the device ops (flattening failed)",
            ));
        }
    })
}

#[cfg(test)]
mod tests;
