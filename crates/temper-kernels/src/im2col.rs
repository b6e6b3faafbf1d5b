//! The patch ("im2col") matrix of one sample and its adjoint.
//!
//! Row `(ci, ky, kx)` of the patch matrix holds, for every output pixel `(oy, ox)`, the input
//! value that kernel tap `(ky, kx)` of channel `ci` sees there, or 0 in the padding:
//! `patches[(ci·kh + ky)·kw + kx][oy·ow + ox] = x[ci][oy·sy + ky·dy − pt][ox·sx + kx·dx − pl]`.
//! A convolution is then `weight[co × patch] · patches[patch × pixels]`.
//!
//! Both functions take the patch matrix's leading dimension `ld` (the distance between its
//! rows, as BLAS's `lda`): `ld = pixels` for one sample alone, and `ld = G·pixels`, starting
//! at column `g·pixels`, for sample `g` of a group of `G` whose patch matrices sit side by
//! side so that one product covers them all (Caffe's `im2col_cpu`, BVLC/caffe
//! src/caffe/util/im2col.cpp, writes one sample densely).

use crate::conv2d::Conv2dShape;

/// The output columns `ox` whose input column `ox·stride + offset` lies in `0..width`, as a
/// half-open range (empty when none does).
fn valid_columns(out_width: usize, stride: usize, offset: isize, width: usize) -> (usize, usize) {
    let stride = stride as isize;
    // First ox with ox·stride + offset ≥ 0.
    let start = if offset >= 0 {
        0
    } else {
        (-offset + stride - 1) / stride
    };
    // Last ox with ox·stride + offset ≤ width − 1.
    let last = width as isize - 1 - offset;
    let end = if last < 0 { 0 } else { last / stride + 1 };
    let end = (end as usize).min(out_width);
    let start = (start as usize).min(end);
    (start, end)
}

/// Calls `row(patch_row, ci, input_row_offset_y, input_col_offset_x)` for each row of the
/// patch matrix in order, where the offsets are `ky·dy − pt` and `kx·dx − pl`.
fn for_each_patch_row(shape: &Conv2dShape, mut row: impl FnMut(usize, usize, isize, isize)) {
    let [kh, kw] = shape.kernel;
    let mut r = 0;
    for ci in 0..shape.channels_in {
        for ky in 0..kh {
            let dy = (ky * shape.dilation[0]) as isize - shape.padding[0].0 as isize;
            for kx in 0..kw {
                let dx = (kx * shape.dilation[1]) as isize - shape.padding[1].0 as isize;
                row(r, ci, dy, dx);
                r += 1;
            }
        }
    }
}

/// Whether a `patch_len × pixels` matrix with leading dimension `ld` fits in `len` elements.
fn fits(shape: &Conv2dShape, len: usize, ld: usize) -> bool {
    let pixels = shape.out_pixels();
    ld >= pixels && (shape.patch_len() - 1) * ld + pixels <= len
}

/// Fills `patches` (`patch_len × out_pixels`, row-major, rows `ld` apart) from one sample `x`
/// (`[ci, h, w]`); the columns between `out_pixels` and `ld` are left as they are.
pub(crate) fn im2col(shape: &Conv2dShape, x: &[f32], patches: &mut [f32], ld: usize) {
    let [h, w] = shape.input;
    let [oh, ow] = shape.output;
    let [sy, sx] = shape.stride;
    let pixels = oh * ow;
    debug_assert!(fits(shape, patches.len(), ld));
    for_each_patch_row(shape, |r, ci, dy, dx| {
        let plane = &x[ci * h * w..][..h * w];
        let dst = &mut patches[r * ld..][..pixels];
        let (start, end) = valid_columns(ow, sx, dx, w);
        for (oy, drow) in dst.chunks_exact_mut(ow).enumerate() {
            let iy = (oy * sy) as isize + dy;
            if iy < 0 || iy >= h as isize {
                drow.fill(0.0);
                continue;
            }
            let srow = &plane[iy as usize * w..][..w];
            drow[..start].fill(0.0);
            drow[end..].fill(0.0);
            if start < end {
                let first = (start * sx) as isize + dx;
                if sx == 1 {
                    drow[start..end].copy_from_slice(&srow[first as usize..][..end - start]);
                } else {
                    for (d, s) in drow[start..end]
                        .iter_mut()
                        .zip(srow[first as usize..].iter().step_by(sx))
                    {
                        *d = *s;
                    }
                }
            }
        }
    });
}

/// The adjoint of [`im2col`]: adds each patch-matrix entry (rows `ld` apart) back onto the
/// input pixel it was read from, so `grad_x += im2colᵀ(grad_patches)`. Padding entries are
/// dropped.
pub(crate) fn col2im_add(shape: &Conv2dShape, patches: &[f32], ld: usize, grad_x: &mut [f32]) {
    let [h, w] = shape.input;
    let [oh, ow] = shape.output;
    let [sy, sx] = shape.stride;
    let pixels = oh * ow;
    debug_assert!(fits(shape, patches.len(), ld));
    for_each_patch_row(shape, |r, ci, dy, dx| {
        let plane = &mut grad_x[ci * h * w..][..h * w];
        let src = &patches[r * ld..][..pixels];
        let (start, end) = valid_columns(ow, sx, dx, w);
        if start >= end {
            return;
        }
        for (oy, srow) in src.chunks_exact(ow).enumerate() {
            let iy = (oy * sy) as isize + dy;
            if iy < 0 || iy >= h as isize {
                continue;
            }
            let drow = &mut plane[iy as usize * w..][..w];
            let first = ((start * sx) as isize + dx) as usize;
            if sx == 1 {
                for (d, s) in drow[first..][..end - start]
                    .iter_mut()
                    .zip(&srow[start..end])
                {
                    *d += *s;
                }
            } else {
                for (d, s) in drow[first..].iter_mut().step_by(sx).zip(&srow[start..end]) {
                    *d += *s;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_columns_match_brute_force() {
        for width in 1..8 {
            for stride in 1..4 {
                for offset in -4..5isize {
                    for out_width in 0..10 {
                        let valid: Vec<usize> = (0..out_width)
                            .filter(|&ox| {
                                let ix = (ox * stride) as isize + offset;
                                ix >= 0 && ix < width as isize
                            })
                            .collect();
                        let (s, e) = valid_columns(out_width, stride, offset, width);
                        assert_eq!(
                            (s..e).collect::<Vec<_>>(),
                            valid,
                            "{width} {stride} {offset}"
                        );
                    }
                }
            }
        }
    }

    /// A 3×3 input, one channel, a 2×2 kernel, padding 1 on the left/top only: the patch matrix
    /// written out by hand from the definition in the module docs.
    #[test]
    fn patch_matrix_of_a_small_image_is_the_hand_computed_one() {
        let shape =
            Conv2dShape::new(1, 1, [3, 3], 1, [2, 2], [1, 1], [(1, 0), (1, 0)], [1, 1]).unwrap();
        assert_eq!(shape.output, [3, 3]);
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut p = vec![f32::NAN; 4 * 9];
        im2col(&shape, &x, &mut p, 9);
        #[rustfmt::skip]
        let expected = [
            // tap (0,0): x[oy-1][ox-1]
            0., 0., 0., 0., 1., 2., 0., 4., 5.,
            // tap (0,1): x[oy-1][ox]
            0., 0., 0., 1., 2., 3., 4., 5., 6.,
            // tap (1,0): x[oy][ox-1]
            0., 1., 2., 0., 4., 5., 0., 7., 8.,
            // tap (1,1): x[oy][ox]
            1., 2., 3., 4., 5., 6., 7., 8., 9.,
        ];
        assert_eq!(p, expected);
    }

    /// `col2im_add` is the adjoint of `im2col`: ⟨im2col(x), p⟩ = ⟨x, col2im(p)⟩ for any x, p,
    /// over strides, dilations and asymmetric padding.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        let mut seed = 1u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for (stride, dilation, padding) in [
            ([1, 1], [1, 1], [(1, 1), (1, 1)]),
            ([2, 1], [1, 2], [(0, 2), (1, 0)]),
            ([3, 2], [2, 1], [(2, 2), (0, 0)]),
        ] {
            let shape =
                Conv2dShape::new(1, 2, [7, 6], 1, [3, 2], stride, padding, dilation).unwrap();
            let x: Vec<f32> = (0..2 * 42).map(|_| next()).collect();
            let p: Vec<f32> = (0..shape.patch_len() * shape.out_pixels())
                .map(|_| next())
                .collect();
            let mut ix = vec![0.0; p.len()];
            im2col(&shape, &x, &mut ix, shape.out_pixels());
            let mut cp = vec![0.0; x.len()];
            col2im_add(&shape, &p, shape.out_pixels(), &mut cp);
            let lhs: f64 = ix.iter().zip(&p).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&cp).map(|(a, b)| (a * b) as f64).sum();
            assert!((lhs - rhs).abs() < 1e-5, "{lhs} vs {rhs} for {shape:?}");
        }
    }

    /// Sample `g` of a group of three, written at column `g·pixels` of a matrix whose rows are
    /// `3·pixels` apart: its block equals the sample's dense patch matrix, the other columns
    /// keep their values, and col2im reading that block is still im2col's adjoint.
    #[test]
    fn a_sample_placed_in_a_group_matrix_fills_only_its_block() {
        let shape =
            Conv2dShape::new(1, 2, [5, 4], 1, [3, 2], [2, 1], [(1, 0), (0, 1)], [1, 2]).unwrap();
        let (k, l) = (shape.patch_len(), shape.out_pixels());
        let ld = 3 * l;
        let x: Vec<f32> = (0..2 * 20).map(|v| (v as f32 * 0.37).sin()).collect();
        let mut dense = vec![0.0; k * l];
        im2col(&shape, &x, &mut dense, l);
        for g in 0..3 {
            let mut group = vec![f32::NAN; k * ld];
            im2col(&shape, &x, &mut group[g * l..], ld);
            for (r, row) in group.chunks_exact(ld).enumerate() {
                for (c, v) in row.iter().enumerate() {
                    if c / l == g {
                        assert_eq!(v.to_bits(), dense[r * l + c % l].to_bits(), "{g} {r} {c}");
                    } else {
                        assert!(v.is_nan(), "column {c} of row {r} written for sample {g}");
                    }
                }
            }
            // ⟨im2col(x), p⟩ over the block = ⟨x, col2im(p's block)⟩.
            let p: Vec<f32> = (0..k * ld).map(|v| (v as f32 * 0.11).cos()).collect();
            let mut cp = vec![0.0; x.len()];
            col2im_add(&shape, &p[g * l..], ld, &mut cp);
            let lhs: f64 = (0..k * l)
                .map(|i| dense[i] as f64 * p[(i / l) * ld + g * l + i % l] as f64)
                .sum();
            let rhs: f64 = x.iter().zip(&cp).map(|(a, b)| (a * b) as f64).sum();
            assert!((lhs - rhs).abs() < 1e-5, "{lhs} vs {rhs} for sample {g}");
        }
    }
}
