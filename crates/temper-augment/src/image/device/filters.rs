//! Filter, noise and occlusion ops of the device path ([`crate::image::device`]) on a batched
//! `[m, C, H, W]` tensor: sharpness and Gaussian blur (each the CPU op's sums, in the CPU
//! op's order, as shifted slices of the tensor weighted per sample), erase (per-sample box
//! masks), and Gaussian noise and salt-and-pepper drawn with the device's RNG.

use burn::tensor::{Distribution, Tensor, TensorData};

use crate::image::cpu::photometric::gaussian_kernel;
use crate::image::cpu::raster::{PaddingMode, pad_index};
use crate::image::device::{fill_tensor, index_tensor, per_sample, q8};
use crate::image::ops::params::{EraseBox, EraseFill};

/// `blend(v, smooth(v), f)` on interior pixels, border pixels kept (photometric::sharpness):
/// `smooth = (4 v + sum of the 3x3 neighbourhood) / 13`, summed in the CPU path's order
/// (centre times 4, then the nine neighbours row by row), so the result is the CPU path's.
pub(super) fn sharpness(x: Tensor<4>, factor: Vec<f32>) -> Tensor<4> {
    let [m, c, h, w] = x.dims();
    if h < 3 || w < 3 {
        return x;
    }
    let (ih, iw) = (h - 2, w - 2);
    let at = |di: usize, dj: usize| x.clone().slice([0..m, 0..c, di..di + ih, dj..dj + iw]);
    let centre = at(1, 1);
    let mut sum = centre.clone().mul_scalar(4.0);
    for di in 0..3 {
        for dj in 0..3 {
            sum = sum + at(di, dj);
        }
    }
    let smooth = sum.div_scalar(13.0);
    let f = per_sample(factor, &x.device()).expand([m, c, ih, iw]);
    let blended = q8(centre * f.clone() + f.neg().add_scalar(1.0) * smooth);
    x.slice_assign([0..m, 0..c, 1..h - 1, 1..w - 1], blended)
}

/// Separable Gaussian blur with reflect padding (photometric::gaussian_blur), per-sample
/// `(kernel_size, sigma)`: each sample's normalized kernel ([`gaussian_kernel`]) sits centred
/// in a common odd width `2R + 1` (`R` the largest radius, zero weights outside), the image is
/// padded by gathering the CPU path's reflect indices, and each pass is the sum over taps of
/// shifted slices times the per-sample tap weight, in the CPU path's tap order (the extra
/// zero taps add exact zeros), with the horizontal pass first and one rounding at the end.
pub(super) fn gaussian_blur(x: Tensor<4>, params: &[(u32, f32)]) -> Tensor<4> {
    let kernels: Vec<Vec<f32>> = params
        .iter()
        .map(|&(k, sigma)| gaussian_kernel(k as usize, sigma))
        .collect();
    let r = kernels.iter().map(|k| k.len() / 2).max().unwrap_or(0);
    let device = x.device();
    // Weight of offset `t - R` for every sample, as [m, 1, 1, 1].
    let taps: Vec<Tensor<4>> = (0..2 * r + 1)
        .map(|t| {
            let w: Vec<f32> = kernels
                .iter()
                .map(|k| {
                    (t + k.len() / 2)
                        .checked_sub(r)
                        .and_then(|i| k.get(i))
                        .copied()
                        .unwrap_or(0.0)
                })
                .collect();
            per_sample(w, &device)
        })
        .collect();
    let tmp = blur_pass(x, &taps, r, 3);
    q8(blur_pass(tmp, &taps, r, 2))
}

/// One pass of [`gaussian_blur`] along `dim` (2 rows, 3 columns).
fn blur_pass(x: Tensor<4>, taps: &[Tensor<4>], r: usize, dim: usize) -> Tensor<4> {
    let shape = x.dims();
    let n = shape[dim];
    let idx: Vec<usize> = (0..n + 2 * r)
        .map(|j| pad_index(j as i64 - r as i64, n, PaddingMode::Reflect).unwrap_or(0))
        .collect();
    let index = index_tensor(&idx, &x.device());
    let padded = x.select(dim, index);
    // `taps` has 2R + 1 >= 1 entries; the sum runs in tap order, as the CPU path's.
    let term = |t: usize| padded.clone().narrow(dim, t, n) * taps[t].clone().expand(shape);
    (1..taps.len()).fold(term(0), |acc, t| acc + term(t))
}

/// `q8(v + 255 (mean + sigma z))` (photometric::gaussian_noise), `(mean, sigma)` per sample,
/// with `z` standard normal drawn on the device (`Distribution::Normal(0, 1)`): the CPU
/// path's distribution, another realization.
pub(super) fn gaussian_noise(x: Tensor<4>, params: Vec<(f32, f32)>) -> Tensor<4> {
    let shape = x.dims();
    let device = x.device();
    let mean = per_sample(params.iter().map(|p| p.0).collect(), &device).expand(shape);
    let sigma = per_sample(params.iter().map(|p| p.1).collect(), &device).expand(shape);
    let z = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    q8(x + (mean + sigma * z).mul_scalar(255.0))
}

/// Impulse noise (photometric::salt_and_pepper), `(amount, salt)` per sample: one device
/// uniform `u` in `[0, 1)` per pixel, shared by the channels; white where `u < amount salt`,
/// black where `amount salt <= u < amount`. The CPU path's distribution, another realization.
pub(super) fn salt_and_pepper(x: Tensor<4>, params: Vec<(f32, f32)>) -> Tensor<4> {
    let shape = x.dims();
    let [m, _, h, w] = shape;
    let plane = [m, 1, h, w];
    let device = x.device();
    let u = Tensor::<4>::random(plane, Distribution::Default, &device);
    let white = per_sample(params.iter().map(|&(a, s)| a * s).collect(), &device).expand(plane);
    let black = per_sample(params.iter().map(|p| p.0).collect(), &device).expand(plane);
    let is_white = u.clone().lower(white).expand(shape);
    let is_black = u.lower(black).expand(shape);
    x.mask_fill(is_black, 0.0).mask_fill(is_white, 255.0)
}

/// Overwrites each sample's boxes, in order, with their fill (occlusion::erase): box `k` of
/// every sample at once, as a mask `top <= row < top + height`, `left <= col < left + width`
/// (rows and columns past the image simply match nothing, the CPU path's clipping). A
/// constant fill is exact; a random fill is uniform in `0..=255` per value, drawn on the
/// device (the CPU path's distribution, another realization).
pub(super) fn erase(x: Tensor<4>, boxes: &[&[EraseBox]]) -> Tensor<4> {
    let shape = x.dims();
    let [m, c, h, w] = shape;
    let plane = [m, 1, h, w];
    let device = x.device();
    let coords = |n: usize, dims: [usize; 4]| {
        let v: Vec<f32> = (0..n).map(|i| i as f32).collect();
        Tensor::<4>::from_data(TensorData::new(v, dims), &device).expand(plane)
    };
    let rows = coords(h, [1, 1, h, 1]);
    let cols = coords(w, [1, 1, 1, w]);
    let count = boxes.iter().map(|b| b.len()).max().unwrap_or(0);
    let mut out = x;
    for k in 0..count {
        // Sample `i`'s box `k` (an empty box where it has fewer).
        let get = |f: fn(&EraseBox) -> f32| {
            let v = boxes
                .iter()
                .map(|b| b.get(k).map_or(0.0, f))
                .collect::<Vec<f32>>();
            per_sample(v, &device).expand(plane)
        };
        let top = get(|b| b.top as f32);
        let bottom = get(|b| b.top as f32 + b.height as f32);
        let left = get(|b| b.left as f32);
        let right = get(|b| b.left as f32 + b.width as f32);
        let inside = rows
            .clone()
            .greater_equal(top)
            .bool_and(rows.clone().lower(bottom))
            .bool_and(cols.clone().greater_equal(left))
            .bool_and(cols.clone().lower(right))
            .expand(shape);
        let fills: Vec<[u8; 3]> = boxes
            .iter()
            .map(|b| match b.get(k).map(|b| b.fill) {
                Some(EraseFill::Constant(v)) => v,
                _ => [0; 3],
            })
            .collect();
        let mut fill = fill_tensor(&fills, c, &device).expand(shape);
        let random =
            |b: &&[EraseBox]| matches!(b.get(k).map(|b| b.fill), Some(EraseFill::Random(_)));
        if boxes.iter().any(random) {
            let is_random = per_sample(
                boxes
                    .iter()
                    .map(|b| if random(b) { 1.0 } else { 0.0 })
                    .collect(),
                &device,
            )
            .greater_elem(0.5)
            .expand(shape);
            let noise = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 256.0), &device)
                .floor()
                .clamp(0.0, 255.0);
            fill = fill.mask_where(is_random, noise);
        }
        out = out.mask_where(inside, fill);
    }
    out
}
