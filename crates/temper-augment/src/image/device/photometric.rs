//! Photometric ops of the device path ([`crate::image::device`]) on a batched `[m, C, H, W]` tensor,
//! each the formula of its CPU op in [`photometric`](crate::image::cpu::photometric) with one value per
//! sample: color and tone (brightness, contrast, saturation, hue, gamma, grayscale, invert,
//! solarize, posterize) and the per-channel histogram ops (equalize, autocontrast).

use burn::tensor::{IndexingUpdateOp, Int, Tensor};

use crate::image::cpu::photometric::LUMA;
use crate::image::device::{per_sample, q8};

/// `per_sample(values)` broadcast to `x`'s shape.
fn like(x: &Tensor<4>, values: Vec<f32>) -> Tensor<4> {
    per_sample(values, &x.device()).expand(x.dims())
}

/// `1 - t`.
fn one_minus(t: Tensor<4>) -> Tensor<4> {
    t.neg().add_scalar(1.0)
}

/// `t mod 1` for the `rem_euclid(1.0)` of the CPU path: `t - floor(t)` (both exact on the
/// ranges the hue formulas produce).
fn frac(t: Tensor<4>) -> Tensor<4> {
    t.clone() - t.floor()
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

/// torchvision `_blend`'s cast to uint8 (photometric::blend): clamped to `0..=255`, truncated.
fn trunc8(x: Tensor<4>) -> Tensor<4> {
    x.clamp(0.0, 255.0).floor()
}

/// `blend(v, 0, f) = f v`, truncated (photometric::brightness).
pub(super) fn brightness(x: Tensor<4>, factor: Vec<f32>) -> Tensor<4> {
    let f = like(&x, factor);
    trunc8(x * f)
}

/// `blend(v, mean gray, f)`, truncated, with `gray` the truncated luma
/// (photometric::contrast; the CPU path sums in `f64`, this mean is `f32`).
pub(super) fn contrast(x: Tensor<4>, factor: Vec<f32>) -> Tensor<4> {
    let shape = x.dims();
    let f = like(&x, factor);
    let mean = luma(x.clone())
        .floor()
        .mean_dim(2)
        .mean_dim(3)
        .expand(shape);
    trunc8(x * f.clone() + one_minus(f) * mean)
}

/// `blend(v, gray, f)` per pixel, truncated, with `gray` the truncated luma
/// (photometric::saturation); gray is unchanged.
pub(super) fn saturation(x: Tensor<4>, factor: Vec<f32>) -> Tensor<4> {
    let shape = x.dims();
    if shape[1] != 3 {
        return x;
    }
    let f = like(&x, factor);
    let gray = luma(x.clone()).floor().expand(shape);
    trunc8(x * f.clone() + one_minus(f) * gray)
}

/// `255 clamp(gain (v/255)^gamma, 0, 1)` (photometric::gamma), `(gamma, gain)` per sample.
pub(super) fn gamma(x: Tensor<4>, params: Vec<(f32, f32)>) -> Tensor<4> {
    let gamma = like(&x, params.iter().map(|p| p.0).collect());
    let gain = like(&x, params.iter().map(|p| p.1).collect());
    let powered = x.div_scalar(255.0).powf(gamma);
    q8((powered * gain).clamp(0.0, 1.0).mul_scalar(255.0))
}

/// Truncated luma in every channel (photometric::grayscale); gray is unchanged.
pub(super) fn grayscale(x: Tensor<4>) -> Tensor<4> {
    if x.dims()[1] != 3 {
        return x;
    }
    trunc8(luma(x)).repeat_dim(1, 3)
}

/// `v >= t ? 255 - v : v` (photometric::solarize).
pub(super) fn solarize(x: Tensor<4>, threshold: Vec<f32>) -> Tensor<4> {
    let t = like(&x, threshold);
    let mask = x.clone().greater_equal(t);
    let inverted = x.clone().neg().add_scalar(255.0);
    x.mask_where(mask, inverted)
}

/// `v & !(2^(8-b) - 1) = floor(v / 2^(8-b)) 2^(8-b)` on integers (photometric::posterize,
/// `b` clamped to `0..=8`).
pub(super) fn posterize(x: Tensor<4>, bits: Vec<u8>) -> Tensor<4> {
    let step = like(
        &x,
        bits.iter()
            .map(|&b| 2f32.powi(8 - i32::from(b.min(8))))
            .collect(),
    );
    (x / step.clone()).floor() * step
}

/// Rotates the hue by `shift[i]` turns (photometric::hue): torchvision's `_rgb2hsv`, `h' =
/// (h + shift) mod 1`, `_hsv2rgb`, elementwise with the CPU path's branches as masks (the
/// same `f32` operations in the same order); gray is unchanged.
pub(super) fn hue(x: Tensor<4>, shift: Vec<f32>) -> Tensor<4> {
    let [m, c, h, w] = x.dims();
    if c != 3 {
        return x;
    }
    let plane = [m, 1, h, w];
    let shift = per_sample(shift, &x.device()).expand(plane);
    let rgb = x.div_scalar(255.0);
    let ch = |k: usize| rgb.clone().slice([0..m, k..k + 1, 0..h, 0..w]);
    let (r, g, b) = (ch(0), ch(1), ch(2));
    // rgb_to_hsv.
    let maxc = r.clone().max_pair(g.clone()).max_pair(b.clone());
    let minc = r.clone().min_pair(g.clone()).min_pair(b.clone());
    let cr = maxc.clone() - minc;
    let flat = cr.clone().equal_elem(0.0);
    // Where `cr == 0` the CPU path returns `(0, 0, maxc)`; divide by 1 there instead of 0.
    let crs = cr.clone().mask_fill(flat.clone(), 1.0);
    let s = (cr / maxc.clone().mask_fill(flat.clone(), 1.0)).mask_fill(flat.clone(), 0.0);
    let rc = (maxc.clone() - r.clone()) / crs.clone();
    let gc = (maxc.clone() - g.clone()) / crs.clone();
    let bc = (maxc.clone() - b) / crs;
    let from_r = bc.clone() - gc.clone();
    let from_g = rc.clone().add_scalar(2.0) - bc;
    let from_b = gc.add_scalar(4.0) - rc;
    let hh = from_b
        .mask_where(maxc.clone().equal(g), from_g)
        .mask_where(maxc.clone().equal(r), from_r);
    let hh = frac(hh.div_scalar(6.0).add_scalar(1.0)).mask_fill(flat, 0.0);
    // The shift, then hsv_to_rgb.
    let h6 = frac(hh + shift).mul_scalar(6.0);
    let i = h6.clone().floor();
    let f = h6 - i.clone();
    let i = i.clone() - i.div_scalar(6.0).floor().mul_scalar(6.0);
    let v = maxc;
    let p = (v.clone() * one_minus(s.clone())).clamp(0.0, 1.0);
    let q = (v.clone() * one_minus(s.clone() * f.clone())).clamp(0.0, 1.0);
    let t = (v.clone() * one_minus(s * one_minus(f))).clamp(0.0, 1.0);
    // Sector `i` (0..6) gives (r, g, b) = (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v) (v,p,q).
    let pick = |table: [&Tensor<4>; 6]| {
        (1..6).fold(table[0].clone(), |acc, k| {
            acc.mask_where(i.clone().equal_elem(k as f32), table[k].clone())
        })
    };
    let out_r = pick([&v, &q, &p, &p, &t, &v]);
    let out_g = pick([&t, &v, &v, &q, &p, &p]);
    let out_b = pick([&p, &p, &t, &v, &v, &q]);
    q8(Tensor::cat(vec![out_r, out_g, out_b], 1).mul_scalar(255.0))
}

/// `[m, C, H, W]` as integer rows `[m C, H W]` in `0..=255`.
fn int_rows(x: Tensor<4>) -> Tensor<2, Int> {
    let [m, c, h, w] = x.dims();
    x.reshape([m * c, h * w]).clamp(0.0, 255.0).int()
}

/// Histogram equalization per sample and channel (photometric::equalize, PIL / torchvision
/// `_scale_channel`), in integers: `hist` by scatter-adding ones at the values; `step =
/// floor((HW - hist[max value]) / 255)` (the sum of the nonzero bins but the last);
/// `lut[v] = min(255, floor((cum[v] + floor(step / 2)) / step))` with `cum` the exclusive
/// cumulative sum; the channel is unchanged where `step == 0`. Exact.
pub(super) fn equalize(x: Tensor<4>) -> Tensor<4> {
    let [m, c, h, w] = x.dims();
    let (rows, n) = (m * c, h * w);
    let v = int_rows(x.clone());
    let ones = v.ones_like();
    let hist = Tensor::<2, Int>::zeros([rows, 256], (&x.device(), v.dtype())).scatter(
        1,
        v.clone(),
        ones,
        IndexingUpdateOp::Add,
    );
    let last = hist.clone().gather(1, v.clone().max_dim(1));
    let step = last.neg().add_scalar(n as i64).div_scalar(255);
    let unchanged = step.clone().equal_elem(0).expand([rows, n]);
    let step = step.clamp_min(1).expand([rows, 256]);
    let below = hist.clone().cumsum(1) - hist;
    let lut = ((below + step.clone().div_scalar(2)) / step).clamp_max(255);
    let out = lut
        .gather(1, v)
        .float()
        .mask_where(unchanged, x.reshape([rows, n]));
    out.reshape([m, c, h, w])
}

/// Per sample and channel stretch to `0..255` (photometric::autocontrast): `(v - lo) (255 /
/// (hi - lo))` with `lo` / `hi` the channel's min / max; a constant channel is unchanged.
pub(super) fn autocontrast(x: Tensor<4>) -> Tensor<4> {
    let shape = x.dims();
    let [m, c, h, w] = shape;
    let flat = x.clone().reshape([m, c, h * w]);
    let lo = flat.clone().min_dim(2).reshape([m, c, 1, 1]);
    let hi = flat.max_dim(2).reshape([m, c, 1, 1]);
    let constant = hi.clone().equal(lo.clone());
    let range = (hi - lo.clone()).mask_fill(constant.clone(), 1.0);
    let scale = range.ones_like().mul_scalar(255.0) / range;
    let out = q8((x.clone() - lo.expand(shape)) * scale.expand(shape));
    out.mask_where(constant.expand(shape), x)
}
