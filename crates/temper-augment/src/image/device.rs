//! The on-device path: the CPU path's [`OpParams`] replayed on a batched Burn tensor
//! `[N, C, H, W]` (`f32`, values `0..=255`), with batched tensor ops on the tensor's device and
//! no host round trip for the pixels (only the per-sample parameters, a few floats or indices
//! per sample, travel to the device).
//!
//! Same meaning as the CPU path: each op computes its float formula and rounds once to 8 bits
//! (`floor(v + 0.5)` clamped to `0..=255`, which is `f32::round` on the non-negative values
//! the CPU path rounds; Burn's `round` is half-to-even). Flips and crops are exact; the affine
//! family goes through `grid_sample_2d` (bilinear or nearest, zeros padding,
//! `align_corners = false`) and agrees with the CPU path within float error before rounding.
//!
//! Covered: identity, flips, affine (rotate / translate / scale / shear), crops (every
//! padding mode), brightness, contrast, saturation, gamma, grayscale, invert, solarize,
//! posterize. Any other op
//! gives [`ImageAugError::NotOnDevice`] before any work is done, so a caller can fall back to
//! the CPU path.
//!
//! Samples may carry different ops at the same position (RandAugment, one-of): each position
//! groups the samples by op kind, runs every group as one batch and restores the order.

use std::mem::{Discriminant, discriminant};

use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode, PadMode};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::error::{ImageAugError, Result, invalid};
use super::geometric::{AffineParams, CropParams};
use super::params::OpParams;
use super::photometric::LUMA;
use super::raster::{Interpolation, PaddingMode, pad_index};

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
/// [`ImageAugError::NotOnDevice`] naming the first op the device path lacks (checked before
/// any work); [`ImageAugError::Invalid`] when `params.len() != N`, `C` is not 1 or 3, or the
/// samples' ops would give images of different sizes.
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
    let leaves: Vec<Vec<&OpParams>> = params
        .iter()
        .map(|list| {
            let mut out = Vec::new();
            list.iter().for_each(|p| flatten(p, &mut out));
            out
        })
        .collect();
    for p in leaves.iter().flatten() {
        check_supported(p)?;
    }
    let steps = leaves.iter().map(Vec::len).max().unwrap_or(0);
    let mut x = images;
    let mut size = (w as u32, h as u32);
    for k in 0..steps {
        let step: Vec<&OpParams> = leaves
            .iter()
            .map(|l| l.get(k).copied().unwrap_or(&IDENTITY))
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

fn check_supported(p: &OpParams) -> Result<()> {
    match p {
        OpParams::Identity
        | OpParams::HFlip
        | OpParams::VFlip
        | OpParams::Affine(_)
        | OpParams::Brightness(_)
        | OpParams::Contrast(_)
        | OpParams::Gamma { .. }
        | OpParams::Grayscale
        | OpParams::Invert
        | OpParams::Solarize(_)
        | OpParams::Posterize(_) => Ok(()),
        OpParams::Crop(_) | OpParams::Saturation(_) => Ok(()),
        other => Err(ImageAugError::NotOnDevice {
            op: op_name(other).to_string(),
        }),
    }
}

type Kind = (Discriminant<OpParams>, bool);

/// Ops that can run as one batch: same variant (and, for the affine family, the same
/// interpolation, which selects the sampler).
fn kind(p: &OpParams) -> Kind {
    let nearest = matches!(p, OpParams::Affine(a) if a.interpolation == Interpolation::Nearest);
    (discriminant(p), nearest)
}

fn index_tensor(idx: &[usize], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(data, [idx.len()]), device)
}

/// One position of every sample's op list: group by kind, run each group, restore the order.
fn apply_step(x: Tensor<4>, step: &[&OpParams]) -> Result<Tensor<4>> {
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
        let ps: Vec<&OpParams> = idx.iter().map(|&i| step[i]).collect();
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
fn q8(x: Tensor<4>) -> Tensor<4> {
    x.add_scalar(0.5).floor().clamp(0.0, 255.0)
}

/// One value per sample as `[m, 1, 1, 1]`.
fn per_sample(values: Vec<f32>, device: &Device) -> Tensor<4> {
    let m = values.len();
    Tensor::from_data(TensorData::new(values, [m, 1, 1, 1]), device)
}

/// `fill[..c]` per sample as `[m, c, 1, 1]`.
fn fill_tensor(fills: &[[u8; 3]], c: usize, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = fills
        .iter()
        .flat_map(|f| f[..c].iter().map(|&v| v as f32))
        .collect();
    Tensor::from_data(TensorData::new(values, [fills.len(), c, 1, 1]), device)
}

/// Applies ops of one kind, `ps[i]` to sample `i` of `x`.
fn apply_group(x: Tensor<4>, ps: &[&OpParams]) -> Result<Tensor<4>> {
    let device = x.device();
    let shape = x.dims();
    let c = shape[1];
    let scalars = |f: fn(&OpParams) -> f32| {
        per_sample(ps.iter().map(|p| f(p)).collect(), &device).expand(shape)
    };
    Ok(match ps[0] {
        OpParams::Identity => x,
        OpParams::HFlip => x.flip([3]),
        OpParams::VFlip => x.flip([2]),
        OpParams::Affine(_) => {
            let a: Vec<&AffineParams> = ps
                .iter()
                .filter_map(|p| match p {
                    OpParams::Affine(a) => Some(a),
                    _ => None,
                })
                .collect();
            affine(x, &a)
        }
        OpParams::Crop(_) => {
            let cs: Vec<&CropParams> = ps
                .iter()
                .filter_map(|p| match p {
                    OpParams::Crop(c) => Some(c),
                    _ => None,
                })
                .collect();
            crop(x, &cs)
        }
        // blend(v, 0, f) = f v (photometric::brightness).
        OpParams::Brightness(_) => q8(x * scalars(|p| match p {
            OpParams::Brightness(f) => *f,
            _ => 1.0,
        })),
        // blend(v, mean luma, f) (photometric::contrast).
        OpParams::Contrast(_) => {
            let f = scalars(|p| match p {
                OpParams::Contrast(f) => *f,
                _ => 1.0,
            });
            let mean = luma(x.clone()).mean_dim(2).mean_dim(3).expand(shape);
            q8(x * f.clone() + (f.neg().add_scalar(1.0)) * mean)
        }
        // blend(v, luma, f) per pixel (photometric::saturation); gray is unchanged.
        OpParams::Saturation(_) if c == 3 => {
            let f = scalars(|p| match p {
                OpParams::Saturation(f) => *f,
                _ => 1.0,
            });
            let l = luma(x.clone()).expand(shape);
            q8(x * f.clone() + f.neg().add_scalar(1.0) * l)
        }
        OpParams::Saturation(_) => x,
        // 255 clamp(gain (v/255)^gamma, 0, 1) (photometric::gamma).
        OpParams::Gamma { .. } => {
            let gamma = scalars(|p| match p {
                OpParams::Gamma { gamma, .. } => *gamma,
                _ => 1.0,
            });
            let gain = scalars(|p| match p {
                OpParams::Gamma { gain, .. } => *gain,
                _ => 1.0,
            });
            let powered = x.div_scalar(255.0).powf(gamma);
            q8((powered * gain).clamp(0.0, 1.0).mul_scalar(255.0))
        }
        // Rounded luma in every channel (photometric::grayscale); gray is unchanged.
        OpParams::Grayscale if c == 3 => q8(luma(x)).repeat_dim(1, 3),
        OpParams::Grayscale => x,
        OpParams::Invert => x.neg().add_scalar(255.0),
        // v >= t ? 255 - v : v (photometric::solarize).
        OpParams::Solarize(_) => {
            let t = scalars(|p| match p {
                OpParams::Solarize(t) => *t,
                _ => f32::INFINITY,
            });
            let mask = x.clone().greater_equal(t);
            let inverted = x.clone().neg().add_scalar(255.0);
            x.mask_where(mask, inverted)
        }
        // v & !(2^(8-b) - 1) = floor(v / 2^(8-b)) 2^(8-b) on integers (photometric::posterize).
        OpParams::Posterize(_) => {
            let step = scalars(|p| match p {
                OpParams::Posterize(b) => 2f32.powi(8 - i32::from((*b).min(8))),
                _ => 1.0,
            });
            (x / step.clone()).floor() * step
        }
        other => {
            return Err(ImageAugError::NotOnDevice {
                op: op_name(other).to_string(),
            });
        }
    })
}

/// `[m, 1, H, W]` luma `0.2989 R + 0.587 G + 0.114 B` of RGB, or the values of gray.
fn luma(x: Tensor<4>) -> Tensor<4> {
    let [m, c, h, w] = x.dims();
    if c == 1 {
        return x;
    }
    let ch = |k: usize| x.clone().slice([0..m, k..k + 1, 0..h, 0..w]);
    ch(0).mul_scalar(LUMA[0]) + ch(1).mul_scalar(LUMA[1]) + ch(2).mul_scalar(LUMA[2])
}

/// The affine family through `grid_sample_2d`. Output pixel `(i, j)` has centred coordinates
/// `x = j + 0.5 - W/2`, `y = i + 0.5 - H/2`; the inverse matrix maps them to centred input
/// coordinates `(x', y')` (geometric::affine). With `align_corners = false` the grid value
/// `g` reads input pixel index `((g + 1) W - 1) / 2`, which equals `x' + W/2 - 0.5` (the CPU
/// path's `u`) for `g = 2 x' / W`. Zeros padding on `image - fill` plus `fill` makes
/// out-of-image neighbours read the fill value, as the CPU path's `sample_at` does.
/// Nearest: Burn rounds half-way positions to even (PyTorch's `nearbyint`), the CPU path away
/// from zero, so the two differ only where a position falls exactly half-way between pixels.
fn affine(x: Tensor<4>, ps: &[&AffineParams]) -> Tensor<4> {
    let device = x.device();
    let [m, c, h, w] = x.dims();
    let mats: Vec<f32> = ps
        .iter()
        .flat_map(|p| p.inverse_matrix(w as u32, h as u32).map(|v| v as f32))
        .collect();
    let mat = Tensor::<2>::from_data(TensorData::new(mats, [m, 6]), &device);
    let coef = |k: usize| {
        mat.clone()
            .slice([0..m, k..k + 1])
            .reshape([m, 1, 1])
            .expand([m, h, w])
    };
    let xs: Vec<f32> = (0..w).map(|j| j as f32 + 0.5 - w as f32 * 0.5).collect();
    let ys: Vec<f32> = (0..h).map(|i| i as f32 + 0.5 - h as f32 * 0.5).collect();
    let xs = Tensor::<3>::from_data(TensorData::new(xs, [1, 1, w]), &device).expand([m, h, w]);
    let ys = Tensor::<3>::from_data(TensorData::new(ys, [1, h, 1]), &device).expand([m, h, w]);
    let u = coef(0) * xs.clone() + coef(1) * ys.clone() + coef(2);
    let v = coef(3) * xs + coef(4) * ys + coef(5);
    let grid: Tensor<4> = Tensor::stack(
        vec![u.mul_scalar(2.0 / w as f32), v.mul_scalar(2.0 / h as f32)],
        3,
    );
    let mode = match ps[0].interpolation {
        Interpolation::Nearest => InterpolateMode::Nearest,
        Interpolation::Bilinear => InterpolateMode::Bilinear,
    };
    let options = GridSampleOptions::new(mode)
        .with_padding_mode(GridSamplePaddingMode::Zeros)
        .with_align_corners(false);
    let fills: Vec<[u8; 3]> = ps.iter().map(|p| p.fill).collect();
    let fill = fill_tensor(&fills, c, &device).expand([m, c, h, w]);
    let sampled = (x - fill.clone()).grid_sample_2d(grid, options);
    q8(sampled + fill)
}

/// Crops: rows and columns are gathered per sample. For constant padding the batch is first
/// padded once by the largest overhang of a constant-mode box on each side (padding
/// `image - fill` with 0 and adding `fill` back after, so every sample gets its own fill);
/// edge, reflect and symmetric boxes read the index the CPU path's `pad_index` maps to.
/// Exact.
fn crop(x: Tensor<4>, ps: &[&CropParams]) -> Tensor<4> {
    let device = x.device();
    let [m, c, h, w] = x.dims();
    let (oh, ow) = (ps[0].height as usize, ps[0].width as usize);
    let constant = |p: &&&CropParams| p.padding_mode == PaddingMode::Constant;
    let over = |start: fn(&CropParams) -> i64, len: usize, n: usize| {
        let before = ps
            .iter()
            .filter(constant)
            .map(|p| (-start(p)).max(0))
            .max()
            .unwrap_or(0);
        let after = ps
            .iter()
            .filter(constant)
            .map(|p| (start(p) + len as i64 - n as i64).max(0))
            .max()
            .unwrap_or(0);
        (before as usize, after as usize)
    };
    let (pt, pb) = over(|p| p.top, oh, h);
    let (pl, pr) = over(|p| p.left, ow, w);
    let padded = pt + pb + pl + pr > 0;
    let fills: Vec<[u8; 3]> = ps.iter().map(|p| p.fill).collect();
    let fill = fill_tensor(&fills, c, &device);
    let base = if padded {
        (x - fill.clone().expand([m, c, h, w])).pad([(pt, pb), (pl, pr)], PadMode::Constant(0.0))
    } else {
        x
    };
    let wp = w + pl + pr;
    // Index into the padded batch of position `start + k` of a dimension of size `n`.
    let index = |p: &CropParams, start: i64, k: i64, n: usize, pad: usize| match p.padding_mode {
        PaddingMode::Constant => start + k + pad as i64,
        mode => pad_index(start + k, n, mode).map_or(0, |i| i + pad) as i64,
    };
    let rows: Vec<i64> = ps
        .iter()
        .flat_map(|p| (0..oh as i64).map(move |r| index(p, p.top, r, h, pt)))
        .collect();
    let cols: Vec<i64> = ps
        .iter()
        .flat_map(|p| (0..ow as i64).map(move |j| index(p, p.left, j, w, pl)))
        .collect();
    let rows = Tensor::<4, Int>::from_data(TensorData::new(rows, [m, 1, oh, 1]), &device)
        .expand([m, c, oh, wp]);
    let cols = Tensor::<4, Int>::from_data(TensorData::new(cols, [m, 1, 1, ow]), &device)
        .expand([m, c, oh, ow]);
    let out = base.gather(2, rows).gather(3, cols);
    if padded {
        out + fill.expand([m, c, oh, ow])
    } else {
        out
    }
}
