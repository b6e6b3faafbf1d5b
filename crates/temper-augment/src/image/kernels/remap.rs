//! The bilinear warp behind [`crate::image::cpu::geometric::affine`]: the same arithmetic as
//! [`crate::image::cpu::raster::sample_at`] per pixel (input position in `f64` then `f32`, weights
//! `(1 - fx)(1 - fy)`, ... in `f32`, the same sum order), so the bytes are identical to the
//! per-pixel path (test `warp_kernel_is_the_per_pixel_path_bit_for_bit`); a CPU result that
//! differs from the device's float result by a rounding flip would be amplified by the ops
//! after it. Border pixels follow `sample_at`'s rule: the zero-padded sum `S`, and with a
//! fill `f` torchvision's mask rule `(S - f) m + f`, `m` the inside neighbours' weight.
//! What is faster: a row's input positions are computed in one vectorized pass;
//! with AVX-512 sixteen pixels at a time (`x86/remap_avx512.rs`; AVX2 in
//! `x86/remap_avx2.rs`), with AVX2 eight, fetch their neighbours (8-byte loads where all lie
//! inside, masked gathers reading 0 for neighbours outside elsewhere, the mask rule applied
//! to the lanes with a neighbour outside) and blend them as vectors, and groups entirely
//! outside are the fill value (0 without one); without, pixels whose 2x2 neighbourhood lies
//! inside the image take a branch-free path, RGB summed as one 4-lane vector, into an `f32`
//! row rounded in one vectorized pass, and only the others go through `sample_at`. Also
//! here: the AVX2 row mirror of `hflip` on RGB.

use crate::image::cpu::raster::{Dims, Interpolation, q8, sample_at};
#[cfg(target_arch = "x86_64")]
use temper_simd::Level;
use temper_simd::multiversion;

/// Warps `src` (dims `d`, 1 or 3 channels) with the inverse matrix `m` of
/// [`crate::image::cpu::geometric::AffineParams::inverse_matrix`] (centred coordinates),
/// bilinear, zeros outside, or torchvision's mask rule with a `fill` ([`sample_at`]).
/// `None` unless there are 1 or 3 channels.
pub(crate) fn affine_bilinear(
    src: &[u8],
    d: Dims,
    m: &[f64; 6],
    fill: Option<[u8; 3]>,
) -> Option<Vec<u8>> {
    if d.c != 1 && d.c != 3 {
        return None;
    }
    let mut out = vec![0u8; d.len()];
    if d.len() == 0 {
        return Some(out);
    }
    let fill = fill.map(|f| f.map(f32::from));
    let (mut us, mut vs) = (vec![0f32; d.w], vec![0f32; d.w]);
    let mut sums = vec![0f32; d.w * d.c + 1];
    // The centred column coordinates, as `geometric::affine` computes them.
    let hw = d.w as f64 * 0.5;
    let xs: Vec<f64> = (0..d.w).map(|j| j as f64 + 0.5 - hw).collect();
    let level = temper_simd::level();
    for (i, row) in out.chunks_exact_mut(d.w * d.c).enumerate() {
        positions(m, d, i, &xs, &mut us, &mut vs);
        #[cfg(target_arch = "x86_64")]
        if level >= Level::Avx2 {
            warp_row_x86(level, src, d, (&us, &vs), fill, row);
            continue;
        }
        if d.c == 1 {
            warp_row::<1, 1>(src, d, &us, &vs, fill, &mut sums, row);
        } else {
            warp_row::<3, 4>(src, d, &us, &vs, fill, &mut sums, row);
        }
    }
    Some(out)
}

/// One output row with the AVX-512 warp (16 pixels a step) where it takes the row, else
/// with the AVX2 one; `level` is AVX2 or wider.
#[cfg(target_arch = "x86_64")]
fn warp_row_x86(
    level: Level,
    src: &[u8],
    d: Dims,
    (us, vs): (&[f32], &[f32]),
    fill: Option<[f32; 3]>,
    row: &mut [u8],
) {
    use crate::image::kernels::x86::{remap_avx2, remap_avx512};
    if level == Level::Avx512 {
        // SAFETY: the CPU has AVX-512 F/BW/VL/DQ (`temper_simd::level` checked them).
        let done = unsafe {
            if d.c == 1 {
                remap_avx512::warp_row::<1>(src, d, us, vs, fill, row)
            } else {
                remap_avx512::warp_row::<3>(src, d, us, vs, fill, row)
            }
        };
        if done {
            return;
        }
    }
    // SAFETY: the CPU has AVX2 (`level` is at least `Avx2`).
    unsafe {
        if d.c == 1 {
            remap_avx2::warp_row::<1>(src, d, us, vs, fill, row);
        } else {
            remap_avx2::warp_row::<3>(src, d, us, vs, fill, row);
        }
    }
}

multiversion! {
    /// Input positions `(u, v)` of row `i`'s pixels (centred column coordinates `xs`), as
    /// `geometric::affine` computes them: `m0 x + m1 y + m2 + hw - 0.5` summed left to right
    /// (`m1 y` is the same product for the whole row).
    fn positions(m: &[f64; 6], d: Dims, i: usize, xs: &[f64], us: &mut [f32], vs: &mut [f32]) {
        let (hw, hh) = (d.w as f64 * 0.5, d.h as f64 * 0.5);
        let y = i as f64 + 0.5 - hh;
        let (m1y, m4y) = (m[1] * y, m[4] * y);
        for ((u, v), &x) in us.iter_mut().zip(vs.iter_mut()).zip(xs) {
            *u = (m[0] * x + m1y + m[2] + hw - 0.5) as f32;
            *v = (m[3] * x + m4y + m[5] + hh - 0.5) as f32;
        }
    }
}

multiversion! {
    /// One output row from its input positions: `C` channels summed in `L >= C` lanes (RGB
    /// as 4 floats; the 4th lane reads the next byte and its sum is overwritten by the next
    /// pixel's) into `sums`, then rounded.
    fn warp_row<const C: usize, const L: usize>(
        src: &[u8],
        d: Dims,
        us: &[f32],
        vs: &[f32],
        fill: Option<[f32; 3]>,
        sums: &mut [f32],
        row: &mut [u8],
    ) {
        let stride = d.w * C;
        for (j, (&u, &v)) in us.iter().zip(vs).enumerate() {
            let (x0, y0) = (u.floor(), v.floor());
            let (fx, fy) = (u - x0, v - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let b00 = (y0 as usize)
                .wrapping_mul(stride)
                .wrapping_add((x0 as usize).wrapping_mul(C));
            // `sample_at`'s interior test, and room for the 4th lane of the last pixel.
            let inside = x0 >= 0
                && y0 >= 0
                && (x0 as usize) + 1 < d.w
                && (y0 as usize) + 1 < d.h
                && b00 + stride + C + L <= src.len();
            let out = &mut sums[j * C..j * C + L];
            if inside {
                let (w00, w01) = ((1.0 - fx) * (1.0 - fy), fx * (1.0 - fy));
                let (w10, w11) = ((1.0 - fx) * fy, fx * fy);
                let p00 = &src[b00..b00 + L];
                let p01 = &src[b00 + C..b00 + C + L];
                let p10 = &src[b00 + stride..b00 + stride + L];
                let p11 = &src[b00 + stride + C..b00 + stride + C + L];
                for k in 0..L {
                    out[k] = w00 * p00[k] as f32
                        + w01 * p01[k] as f32
                        + w10 * p10[k] as f32
                        + w11 * p11[k] as f32;
                }
            } else {
                let mut px = [0f32; 3];
                sample_at(src, d, u, v, Interpolation::Bilinear, fill, &mut px);
                out[..C].copy_from_slice(&px[..C]);
            }
        }
        let n = row.len();
        for (o, &s) in row.iter_mut().zip(&sums[..n]) {
            *o = q8(s);
        }
    }
}

/// One pixel through `sample_at`, rounded: the vector warps' fallback near the buffer's end.
pub(crate) fn pixel<const C: usize>(
    src: &[u8],
    d: Dims,
    u: f32,
    v: f32,
    fill: Option<[f32; 3]>,
    out: &mut [u8],
) {
    let mut px = [0f32; 3];
    sample_at(src, d, u, v, Interpolation::Bilinear, fill, &mut px);
    for k in 0..C {
        out[k] = q8(px[k]);
    }
}

/// How a vector warp computes a group of pixels (8 with AVX2, 16 with AVX-512).
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Every neighbour outside: the fill value (0 without one).
    Fill,
    /// A read would pass the buffer's end: pixel by pixel ([`pixel`]).
    Scalar,
    /// Every neighbour inside: plain 8-byte loads of neighbour pairs.
    Pairs,
    /// Masked gathers reading 0 for neighbours outside (then the mask rule with a fill).
    Gather,
}

/// Mirrors an RGB row in place (pixel order reversed, channel order kept) with byte
/// shuffles, five pixels per 16-byte vector; `false` (row untouched) without AVX2.
pub(crate) fn mirror_rgb_row(row: &mut [u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if temper_simd::level() >= Level::Avx2 {
        // SAFETY: the CPU has AVX2 (`temper_simd::level` checked it).
        unsafe { crate::image::kernels::x86::remap_avx2::mirror_rgb_row(row) };
        return true;
    }
    let _ = row;
    false
}
