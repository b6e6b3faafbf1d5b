//! Geometric ops of the device path ([`crate::image::device`]): the affine family, crops and resize
//! on a batched `[m, C, H, W]` tensor, one group of samples of the same op kind at a time.

use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode, PadMode};
use burn::tensor::{Int, Tensor, TensorData};

use crate::image::cpu::raster::{Interpolation, PaddingMode, pad_index};
use crate::image::device::{fill_tensor, per_sample, q8};
use crate::image::kernels::resize;
use crate::image::ops::params::{AffineParams, CropParams};

/// The affine family through `grid_sample_2d`. Output pixel `(i, j)` has centred coordinates
/// `x = j + 0.5 - W/2`, `y = i + 0.5 - H/2`; the inverse matrix maps them to centred input
/// coordinates `(x', y')` (geometric::affine). With `align_corners = false` the grid value
/// `g` reads input pixel index `((g + 1) W - 1) / 2`, which equals `x' + W/2 - 0.5` (the CPU
/// path's `u`) for `g = 2 x' / W`. Outside the image, torchvision's `_apply_grid_transform`
/// (as the CPU path's `sample_at`): bilinear samples without a fill are the zeros-padded
/// sample `S`; with a fill `f`, a channel of ones sampled with the image gives the mask `m`
/// and the sample is `(S - f) m + f` (the CPU path takes `m = 1` where all four neighbours
/// lie inside; here `m` is 1 within float error there). Nearest: zeros padding on
/// `image - f` plus `f` (`f = 0` without a fill) reads `f` outside; Burn rounds half-way
/// positions to even (PyTorch's `nearbyint`), the CPU path away from zero, so the two differ
/// only where a position falls exactly half-way between pixels.
pub(super) fn affine(x: Tensor<4>, ps: &[&AffineParams]) -> Tensor<4> {
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
    let fills: Vec<[u8; 3]> = ps.iter().map(|p| p.fill.unwrap_or([0; 3])).collect();
    let fill = fill_tensor(&fills, c, &device).expand([m, c, h, w]);
    if ps[0].interpolation == Interpolation::Nearest || ps.iter().all(|p| p.fill.is_none()) {
        // Nearest reads `f` outside; bilinear without any fill is `S` (every `f` is 0).
        let sampled = (x - fill.clone()).grid_sample_2d(grid, options);
        return q8(sampled + fill);
    }
    let ones = Tensor::<4>::ones([m, 1, h, w], &device);
    let sampled = Tensor::cat(vec![x, ones], 1).grid_sample_2d(grid, options);
    let s = sampled.clone().slice([0..m, 0..c, 0..h, 0..w]);
    // Samples without a fill keep `S`: their mask is taken as 1 (and their `f` is 0).
    let masked = per_sample(
        ps.iter()
            .map(|p| f32::from(u8::from(p.fill.is_some())))
            .collect(),
        &device,
    )
    .expand([m, 1, h, w]);
    let mask = sampled.slice([0..m, c..c + 1, 0..h, 0..w]) * masked.clone() - masked + 1.0;
    q8((s - fill.clone()) * mask.expand([m, c, h, w]) + fill)
}

/// The batch prepared for crop boxes `ps`: for constant padding it is padded once by the
/// largest overhang of a constant-mode box on each side, as `image - fill` padded with 0
/// (`fill` is added back after, so every sample gets its own fill).
struct PaddedBatch {
    /// `[m, C, H + top + bottom, W + left + right]`.
    base: Tensor<4>,
    /// Rows added above.
    top: usize,
    /// Columns added on the left.
    left: usize,
    /// `[m, C, 1, 1]` fills to add back, when the batch was padded.
    fill: Option<Tensor<4>>,
}

fn pad_for_boxes(x: Tensor<4>, ps: &[&CropParams]) -> PaddedBatch {
    let [m, c, h, w] = x.dims();
    let constant = |p: &&&CropParams| p.padding_mode == PaddingMode::Constant;
    let over = |start: fn(&CropParams) -> i64, len: fn(&CropParams) -> u32, n: usize| {
        let before = ps
            .iter()
            .filter(constant)
            .map(|p| (-start(p)).max(0))
            .max()
            .unwrap_or(0);
        let after = ps
            .iter()
            .filter(constant)
            .map(|p| (start(p) + len(p) as i64 - n as i64).max(0))
            .max()
            .unwrap_or(0);
        (before as usize, after as usize)
    };
    let (pt, pb) = over(|p| p.top, |p| p.height, h);
    let (pl, pr) = over(|p| p.left, |p| p.width, w);
    if pt + pb + pl + pr == 0 {
        return PaddedBatch {
            base: x,
            top: 0,
            left: 0,
            fill: None,
        };
    }
    let fills: Vec<[u8; 3]> = ps.iter().map(|p| p.fill).collect();
    let fill = fill_tensor(&fills, c, &x.device());
    let base =
        (x - fill.clone().expand([m, c, h, w])).pad([(pt, pb), (pl, pr)], PadMode::Constant(0.0));
    PaddedBatch {
        base,
        top: pt,
        left: pl,
        fill: Some(fill),
    }
}

/// Index into the padded batch of position `start + k` of a dimension of size `n` padded by
/// `pad` before: constant boxes read the padding, the other modes the index the CPU path's
/// `pad_index` maps to.
fn source_index(p: &CropParams, start: i64, k: usize, n: usize, pad: usize) -> usize {
    match p.padding_mode {
        PaddingMode::Constant => (start + k as i64 + pad as i64) as usize,
        mode => pad_index(start + k as i64, n, mode).map_or(0, |i| i + pad),
    }
}

/// Crops: rows and columns of the padded batch ([`pad_for_boxes`]) are gathered per sample.
/// Exact.
pub(super) fn crop(x: Tensor<4>, ps: &[&CropParams]) -> Tensor<4> {
    let device = x.device();
    let [m, c, h, w] = x.dims();
    let (oh, ow) = (ps[0].height as usize, ps[0].width as usize);
    let padded = pad_for_boxes(x, ps);
    let (wp, pt, pl) = (padded.base.dims()[3], padded.top, padded.left);
    let rows: Vec<i64> = ps
        .iter()
        .flat_map(|p| (0..oh).map(move |r| source_index(p, p.top, r, h, pt) as i64))
        .collect();
    let cols: Vec<i64> = ps
        .iter()
        .flat_map(|p| (0..ow).map(move |j| source_index(p, p.left, j, w, pl) as i64))
        .collect();
    let rows = Tensor::<4, Int>::from_data(TensorData::new(rows, [m, 1, oh, 1]), &device)
        .expand([m, c, oh, wp]);
    let cols = Tensor::<4, Int>::from_data(TensorData::new(cols, [m, 1, 1, ow]), &device)
        .expand([m, c, oh, ow]);
    let out = padded.base.gather(2, rows).gather(3, cols);
    match padded.fill {
        Some(fill) => out + fill.expand([m, c, oh, ow]),
        None => out,
    }
}

/// A crop followed by a resize to `(ow, oh)`, per sample (a random-resized crop: the boxes
/// differ in size, the output does not). Both are linear maps of rows and of columns, so
/// sample `i` becomes `A_i X_i B_i^T`: `A_i = Wv_i S_i`, the [`triangle_weights`] of its box
/// height times the one-hot selection of the box's rows in the padded batch
/// ([`pad_for_boxes`]), and `B_i` likewise for columns. The fill (added back after) passes
/// through unchanged because every weight row sums to 1. Agrees with the CPU path's crop then
/// resize within float error before rounding, as [`resize`] does.
pub(super) fn crop_resize(
    x: Tensor<4>,
    ps: &[&CropParams],
    ow: usize,
    oh: usize,
    antialias: bool,
) -> Tensor<4> {
    let device = x.device();
    let [m, c, h, w] = x.dims();
    let padded = pad_for_boxes(x, ps);
    let [_, _, hp, wp] = padded.base.dims();
    // `[m, out, padded n]`: output `o` of sample `i` reads padded index `src(p, k)` of its
    // box's position `k` with the resize weight of `k`.
    let maps = |out: usize,
                np: usize,
                len: fn(&CropParams) -> u32,
                src: &dyn Fn(&CropParams, usize) -> usize| {
        let mut a = vec![0f32; m * out * np];
        for (i, p) in ps.iter().enumerate() {
            let n = len(p) as usize;
            let weights = triangle_weights(n, out, antialias);
            for o in 0..out {
                for k in 0..n {
                    a[(i * out + o) * np + src(p, k)] += weights[o * n + k];
                }
            }
        }
        Tensor::<4>::from_data(TensorData::new(a, [m, 1, out, np]), &device)
    };
    let a = maps(oh, hp, |p| p.height, &|p, k| {
        source_index(p, p.top, k, h, padded.top)
    });
    let b = maps(ow, wp, |p| p.width, &|p, k| {
        source_index(p, p.left, k, w, padded.left)
    });
    let a = a.expand([m, c, oh, hp]);
    let b = b.swap_dims(2, 3).expand([m, c, wp, ow]);
    let out = a.matmul(padded.base).matmul(b);
    q8(match padded.fill {
        Some(fill) => out + fill.expand([m, c, oh, ow]),
        None => out,
    })
}

/// The CPU path's resize ([`geometric::resize`](crate::image::cpu::geometric::resize)) as two matrix
/// products: a vertical pass `Wv x` then a horizontal pass `(Wv x) Wh^T`, with the weight
/// matrices built on the host from the sizes alone by [`triangle_weights`] (the CPU path's
/// own tables), the intermediate kept in `f32` and rounded once, as on the CPU. The
/// products add the zero weights outside each window too and may sum in another order, so
/// the result agrees within float error before rounding. Same size: unchanged (a copy on
/// the CPU path).
pub(super) fn resize(x: Tensor<4>, ow: usize, oh: usize, antialias: bool) -> Tensor<4> {
    let [m, c, h, w] = x.dims();
    if (ow, oh) == (w, h) {
        return x;
    }
    let device = x.device();
    let wv = Tensor::<4>::from_data(
        TensorData::new(triangle_weights(h, oh, antialias), [1, 1, oh, h]),
        &device,
    )
    .expand([m, c, oh, h]);
    let wh = Tensor::<4>::from_data(
        TensorData::new(triangle_weights(w, ow, antialias), [1, 1, ow, w]),
        &device,
    )
    .swap_dims(2, 3)
    .expand([m, c, w, ow]);
    q8(wv.matmul(x).matmul(wh))
}

/// `[n_out, n_in]` row-major weights of the CPU path's filter ([`resize::taps`], the same
/// `f32` arithmetic), zero outside each output's taps.
fn triangle_weights(n_in: usize, n_out: usize, antialias: bool) -> Vec<f32> {
    let taps = resize::taps(n_in, n_out, antialias);
    let mut out = vec![0f32; n_out * n_in];
    for (o, row) in out.chunks_exact_mut(n_in).enumerate() {
        let (first, n) = (taps.first[o], taps.count[o]);
        row[first..first + n].copy_from_slice(&taps.weights[o * taps.taps..][..n]);
    }
    out
}
