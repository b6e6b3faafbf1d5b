//! The bilinear warp behind [`super::geometric::affine`]: the same arithmetic as
//! [`super::raster::sample_at`] per pixel (input position in `f64` then `f32`, weights
//! `(1 - fx)(1 - fy)`, ... in `f32`, the same sum order), so the bytes are identical to the
//! per-pixel path (test `warp_kernel_is_the_per_pixel_path_bit_for_bit`); a CPU result that
//! differs from the device's float result by a rounding flip would be amplified by the ops
//! after it. What is faster: a row's input positions are computed in one vectorized pass;
//! with AVX-512 sixteen pixels at a time (`remap_avx512.rs`), with AVX2 eight, fetch their
//! neighbours (8-byte loads where all lie inside, masked gathers with the fill value for
//! neighbours outside elsewhere) and blend them as vectors, and groups entirely outside are
//! the fill value; without,
//! pixels whose 2x2 neighbourhood lies inside the image take a branch-free path, RGB summed
//! as one 4-lane vector, into an `f32` row rounded in one vectorized pass, and only the
//! others go through `sample_at`. Also here: the AVX2 row mirror of `hflip` on RGB.

use super::raster::{Dims, Interpolation, q8, sample_at};
use super::simd::multiversion;

/// Warps `src` (dims `d`, 1 or 3 channels) with the inverse matrix `m` of
/// [`super::geometric::AffineParams::inverse_matrix`] (centred coordinates), bilinear, `fill`
/// outside. `None` unless there are 1 or 3 channels.
pub(crate) fn affine_bilinear(src: &[u8], d: Dims, m: &[f64; 6], fill: [u8; 3]) -> Option<Vec<u8>> {
    if d.c != 1 && d.c != 3 {
        return None;
    }
    let mut out = vec![0u8; d.len()];
    if d.len() == 0 {
        return Some(out);
    }
    let fill = fill.map(|v| v as f32);
    let (mut us, mut vs) = (vec![0f32; d.w], vec![0f32; d.w]);
    let mut sums = vec![0f32; d.w * d.c + 1];
    // The centred column coordinates, as `geometric::affine` computes them.
    let hw = d.w as f64 * 0.5;
    let xs: Vec<f64> = (0..d.w).map(|j| j as f64 + 0.5 - hw).collect();
    for (i, row) in out.chunks_exact_mut(d.w * d.c).enumerate() {
        positions(m, d, i, &xs, &mut us, &mut vs);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && !super::simd::portable_only() {
            if super::simd::level() == super::simd::Level::Avx512 {
                // SAFETY: the CPU has AVX-512 (`level` checked it).
                let done = unsafe {
                    if d.c == 1 {
                        super::remap_avx512::warp_row::<1>(src, d, &us, &vs, &fill, row)
                    } else {
                        super::remap_avx512::warp_row::<3>(src, d, &us, &vs, &fill, row)
                    }
                };
                if done {
                    continue;
                }
            }
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe {
                if d.c == 1 {
                    avx2::warp_row::<1>(src, d, &us, &vs, &fill, row);
                } else {
                    avx2::warp_row::<3>(src, d, &us, &vs, &fill, row);
                }
            }
            continue;
        }
        if d.c == 1 {
            warp_row::<1, 1>(src, d, &us, &vs, &fill, &mut sums, row);
        } else {
            warp_row::<3, 4>(src, d, &us, &vs, &fill, &mut sums, row);
        }
    }
    Some(out)
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
        fill: &[f32; 3],
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
    fill: &[f32; 3],
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
    /// Every neighbour outside: the fill value.
    Fill,
    /// A read would pass the buffer's end: pixel by pixel ([`pixel`]).
    Scalar,
    /// Every neighbour inside: plain 8-byte loads of neighbour pairs.
    Pairs,
    /// Masked gathers, the fill value for neighbours outside.
    Gather,
}

/// Mirrors an RGB row in place (pixel order reversed, channel order kept) with byte
/// shuffles, five pixels per 16-byte vector; `false` (row untouched) without AVX2.
pub(crate) fn mirror_rgb_row(row: &mut [u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && !super::simd::portable_only() {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { avx2::mirror_rgb_row(row) };
        return true;
    }
    let _ = row;
    false
}

/// [`warp_row`] eight pixels at a time with AVX2: each of the four neighbours of eight
/// pixels is fetched with one masked gather of 32-bit words (a pixel's bytes plus what
/// follows; the packed fill value in lanes whose neighbour lies outside the image), split
/// into channels and summed with the same `f32` weights in the same order as
/// [`sample_at`] (whose border branch is the interior sum with the fill value for neighbours
/// outside), then rounded like [`q8`]: the bytes are identical (test
/// `warp_kernel_is_the_per_pixel_path_bit_for_bit`). Groups of eight whose neighbours all
/// lie outside are the fill value; the last group of a row overlaps the one before it
/// (recomputing the same bytes), and rows narrower than eight pixels, or groups with a read
/// that would pass the buffer's end (the last pixels of the image), go pixel by pixel.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::super::raster::Dims;
    use super::super::simd::avx2::{q8x8, store_rgb8};
    use super::{Kind, pixel};

    /// Byte `SHIFT / 8` of eight 32-bit words, as `f32`.
    #[target_feature(enable = "avx2")]
    fn byte_f32<const SHIFT: i32>(g: __m256i) -> __m256 {
        let b = _mm256_and_si256(_mm256_srli_epi32::<SHIFT>(g), _mm256_set1_epi32(0xff));
        _mm256_cvtepi32_ps(b)
    }

    /// Channel `SHIFT / 8` at the four neighbours, summed as `sample_at` does:
    /// `((w00 p00 + w01 p01) + w10 p10) + w11 p11`, then rounded.
    #[target_feature(enable = "avx2")]
    fn blend<const SHIFT: i32>(w: &[__m256; 4], g: &[__m256i; 4]) -> __m256i {
        let s = _mm256_add_ps(
            _mm256_mul_ps(w[0], byte_f32::<SHIFT>(g[0])),
            _mm256_mul_ps(w[1], byte_f32::<SHIFT>(g[1])),
        );
        let s = _mm256_add_ps(s, _mm256_mul_ps(w[2], byte_f32::<SHIFT>(g[2])));
        q8x8(_mm256_add_ps(
            s,
            _mm256_mul_ps(w[3], byte_f32::<SHIFT>(g[3])),
        ))
    }

    /// The four neighbours' words of eight pixels whose neighbours all lie inside, read with
    /// plain 8-byte loads instead of gathers (an 8-lane gather took 3.6x as long as four
    /// 8-byte loads in a micro-benchmark on the Zen 5 test machine; the warp got about 6%
    /// faster): the load at a
    /// pixel's offset `b00` holds its top-left neighbour and (from byte `C` on) its
    /// top-right one; the load at `b10` the bottom pair. Needs every `b10 <= len - 8`
    /// (then `b00 < b10` too).
    #[target_feature(enable = "avx2")]
    fn pairs<const C: usize>(src: &[u8], b00: __m256i, b10: __m256i) -> [__m256i; 4] {
        let (mut top, mut bot) = ([0i32; 8], [0i32; 8]);
        // SAFETY: 32-byte unaligned stores into 32-byte arrays.
        unsafe {
            _mm256_storeu_si256(top.as_mut_ptr() as *mut __m256i, b00);
            _mm256_storeu_si256(bot.as_mut_ptr() as *mut __m256i, b10);
        }
        // SAFETY: every offset is in `0..=len - 8` (the caller's condition).
        let load =
            |o: i32| unsafe { (src.as_ptr().add(o as usize) as *const i64).read_unaligned() };
        // Qwords ordered so that the dword shuffle below puts pixel k in lane k.
        let t = |o: &[i32; 8]| {
            let a = _mm256_setr_epi64x(load(o[0]), load(o[1]), load(o[4]), load(o[5]));
            let b = _mm256_setr_epi64x(load(o[2]), load(o[3]), load(o[6]), load(o[7]));
            (a, b)
        };
        let ((ta, tb), (ba, bb)) = (t(&top), t(&bot));
        // The low dword of each qword: per 128-bit lane, a.q0 a.q1 b.q0 b.q1.
        let lo = |a: __m256i, b: __m256i| {
            _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(
                _mm256_castsi256_ps(a),
                _mm256_castsi256_ps(b),
            ))
        };
        let right = |a: __m256i| _mm256_srl_epi64(a, _mm_cvtsi32_si128(8 * C as i32));
        [
            lo(ta, tb),
            lo(right(ta), right(tb)),
            lo(ba, bb),
            lo(right(ba), right(bb)),
        ]
    }

    /// `lo <= x <= hi` per lane (false for NaN).
    #[target_feature(enable = "avx2")]
    fn within(x: __m256, lo: f32, hi: f32) -> __m256i {
        _mm256_castps_si256(_mm256_and_ps(
            _mm256_cmp_ps::<_CMP_GE_OQ>(x, _mm256_set1_ps(lo)),
            _mm256_cmp_ps::<_CMP_LE_OQ>(x, _mm256_set1_ps(hi)),
        ))
    }

    /// One output row (`C` = 1 or 3 channels) from its input positions.
    #[target_feature(enable = "avx2")]
    pub(super) fn warp_row<const C: usize>(
        src: &[u8],
        d: Dims,
        us: &[f32],
        vs: &[f32],
        fill: &[f32; 3],
        row: &mut [u8],
    ) {
        let stride = d.w * C;
        // Offsets are `i32`: larger images go pixel by pixel (as do rows under 8 pixels).
        if d.w < 8 || src.len() >= i32::MAX as usize {
            for (j, px) in row.chunks_exact_mut(C).enumerate() {
                pixel::<C>(src, d, us[j], vs[j], fill, px);
            }
            return;
        }
        let (wf, hf) = (d.w as f32, d.h as f32);
        let fill_u8 = fill.map(|v| v as u8);
        let fill_word =
            _mm256_set1_epi32(i32::from_le_bytes([fill_u8[0], fill_u8[1], fill_u8[2], 0]));
        // A 32-bit read at offset `o` stays inside `src` when `o <= last`.
        let last = _mm256_set1_epi32(src.len() as i32 - 4);
        // ... and an 8-byte read when `o <= last8`.
        let (last8, all_lanes) = (
            _mm256_set1_epi32(src.len() as i32 - 8),
            _mm256_set1_epi32(-1),
        );
        let (stride_v, c_v) = (
            _mm256_set1_epi32(stride as i32),
            _mm256_set1_epi32(C as i32),
        );
        let one = _mm256_set1_ps(1.0);
        // Two passes over chunks of up to `G` groups of 8 pixels: first the weights, masks
        // and offsets (pure arithmetic), then the reads and sums. Shorter dependency chains
        // per loop iteration let the CPU overlap more iterations than one pass would.
        const G: usize = 8;
        let zero_i = _mm256_setzero_si256();
        let mut plan = [Plan {
            kind: Kind::Fill,
            w: [_mm256_setzero_ps(); 4],
            m: [zero_i; 4],
            b00: zero_i,
        }; G];
        // Group starts: every 8 pixels, the last one overlapping the one before it rather
        // than running past the row.
        let n_groups = d.w.div_ceil(8);
        for first in (0..n_groups).step_by(G) {
            let starts = (first..n_groups.min(first + G)).map(|g| (8 * g).min(d.w - 8));
            for (p, j0) in plan.iter_mut().zip(starts.clone()) {
                // SAFETY: `us` and `vs` hold `d.w` positions and `j0 + 8 <= d.w`.
                let u = unsafe { _mm256_loadu_ps(us.as_ptr().add(j0)) };
                let v = unsafe { _mm256_loadu_ps(vs.as_ptr().add(j0)) };
                let (x0, y0) = (_mm256_floor_ps(u), _mm256_floor_ps(v));
                // Which neighbours lie inside (column x0 / x0 + 1, row y0 / y0 + 1).
                let (x_in0, x_in1) = (within(x0, 0.0, wf - 1.0), within(x0, -1.0, wf - 2.0));
                let (y_in0, y_in1) = (within(y0, 0.0, hf - 1.0), within(y0, -1.0, hf - 2.0));
                let m = [
                    _mm256_and_si256(y_in0, x_in0),
                    _mm256_and_si256(y_in0, x_in1),
                    _mm256_and_si256(y_in1, x_in0),
                    _mm256_and_si256(y_in1, x_in1),
                ];
                let any = _mm256_or_si256(_mm256_or_si256(m[0], m[1]), _mm256_or_si256(m[2], m[3]));
                let abs = |x| _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
                let inf = _mm256_set1_ps(f32::INFINITY);
                let finite = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_LT_OQ>(abs(u), inf),
                    _mm256_cmp_ps::<_CMP_LT_OQ>(abs(v), inf),
                );
                // Coordinates clamped to [-1, size - 1] (NaN to -1: lanes read nothing
                // then), so the offsets cannot overflow.
                let clamp = |x, hi| {
                    _mm256_cvttps_epi32(_mm256_min_ps(
                        _mm256_max_ps(x, _mm256_set1_ps(-1.0)),
                        _mm256_set1_ps(hi),
                    ))
                };
                let b00 = _mm256_add_epi32(
                    _mm256_mullo_epi32(clamp(y0, hf - 1.0), stride_v),
                    _mm256_mullo_epi32(clamp(x0, wf - 1.0), c_v),
                );
                let b10 = _mm256_add_epi32(b00, stride_v);
                let off = [
                    b00,
                    _mm256_add_epi32(b00, c_v),
                    b10,
                    _mm256_add_epi32(b10, c_v),
                ];
                // A read inside the image but past `last`: only near the end of the buffer.
                let mut past = zero_i;
                for k in 0..4 {
                    past = _mm256_or_si256(
                        past,
                        _mm256_and_si256(m[k], _mm256_cmpgt_epi32(off[k], last)),
                    );
                }
                let all_in =
                    _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_and_si256(m[0], m[3]))) == 0xff;
                p.kind = if _mm256_testz_si256(any, any) == 1 && _mm256_movemask_ps(finite) == 0xff
                {
                    Kind::Fill
                } else if _mm256_testz_si256(past, past) == 0 {
                    Kind::Scalar
                } else if all_in
                    && _mm256_testz_si256(all_lanes, _mm256_cmpgt_epi32(b10, last8)) == 1
                {
                    Kind::Pairs
                } else {
                    Kind::Gather
                };
                let (fx, fy) = (_mm256_sub_ps(u, x0), _mm256_sub_ps(v, y0));
                let (gx, gy) = (_mm256_sub_ps(one, fx), _mm256_sub_ps(one, fy));
                p.w = [
                    _mm256_mul_ps(gx, gy),
                    _mm256_mul_ps(fx, gy),
                    _mm256_mul_ps(gx, fy),
                    _mm256_mul_ps(fx, fy),
                ];
                p.m = m;
                p.b00 = b00;
            }
            for (p, j0) in plan.iter().zip(starts) {
                let g = match p.kind {
                    Kind::Fill => {
                        // Every neighbour outside, finite positions: `sample_at` sums
                        // `w fill` over weights adding up to 1 within a few ulps, which
                        // rounds to `fill` exactly.
                        for px in row[j0 * C..(j0 + 8) * C].chunks_exact_mut(C) {
                            px.copy_from_slice(&fill_u8[..C]);
                        }
                        continue;
                    }
                    Kind::Scalar => {
                        for k in j0..j0 + 8 {
                            pixel::<C>(src, d, us[k], vs[k], fill, &mut row[k * C..k * C + C]);
                        }
                        continue;
                    }
                    Kind::Pairs => pairs::<C>(src, p.b00, _mm256_add_epi32(p.b00, stride_v)),
                    Kind::Gather => {
                        let b10 = _mm256_add_epi32(p.b00, stride_v);
                        let off = [
                            p.b00,
                            _mm256_add_epi32(p.b00, c_v),
                            b10,
                            _mm256_add_epi32(b10, c_v),
                        ];
                        let base = src.as_ptr() as *const i32;
                        // SAFETY: a lane is read only where its mask is set, and there the
                        // offset is a pixel of the image at most `src.len() - 4` (`Kind`
                        // is `Scalar` otherwise).
                        [0, 1, 2, 3].map(|k| unsafe {
                            _mm256_mask_i32gather_epi32::<1>(fill_word, base, off[k], p.m[k])
                        })
                    }
                };
                let w = &p.w;
                if C == 1 {
                    let l = blend::<0>(w, &g);
                    // The low byte of each lane, in order: 8 bytes.
                    let mask = _mm256_setr_epi8(
                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12,
                        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                    );
                    let p = _mm256_permutevar8x32_epi32(
                        _mm256_shuffle_epi8(l, mask),
                        _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1),
                    );
                    let bytes = _mm_cvtsi128_si64(_mm256_castsi256_si128(p)).to_le_bytes();
                    row[j0..j0 + 8].copy_from_slice(&bytes);
                } else {
                    let (r, gr, b) = (blend::<0>(w, &g), blend::<8>(w, &g), blend::<16>(w, &g));
                    store_rgb8(r, gr, b, &mut row[j0 * 3..j0 * 3 + 24]);
                }
            }
        }
    }

    /// See [`super::mirror_rgb_row`]: a copy of the row is read 15 bytes (5 pixels) at a
    /// time from the end and written from the start; pixels that do not fill a last block
    /// are copied one by one.
    #[target_feature(enable = "avx2")]
    pub(super) fn mirror_rgb_row(row: &mut [u8]) {
        let src = row.to_vec();
        let w = src.len() / 3;
        // Output bytes 3q + k (q < 5) come from source byte 3 (4 - q) + k + 1 of a load that
        // starts one byte before the five source pixels; byte 15 is a don't-care.
        let mask = _mm_setr_epi8(13, 14, 15, 10, 11, 12, 7, 8, 9, 4, 5, 6, 1, 2, 3, 0);
        let mut j = 0;
        // A block at `j` loads source bytes `3 (w - 5 - j) - 1 ..+ 16` and stores output
        // bytes `3 j ..+ 16`: both inside the row while `j + 6 <= w`.
        while j + 6 <= w {
            let s = 3 * (w - 5 - j) - 1;
            // SAFETY: `s + 16 <= 3 w` and `3 j + 16 <= 3 w` (see above); unaligned.
            unsafe {
                let v = _mm_loadu_si128(src.as_ptr().add(s) as *const __m128i);
                let v = _mm_shuffle_epi8(v, mask);
                _mm_storeu_si128(row.as_mut_ptr().add(3 * j) as *mut __m128i, v);
            }
            j += 5;
        }
        for (o, s) in row[3 * j..]
            .chunks_exact_mut(3)
            .zip(src[..3 * (w - j)].chunks_exact(3).rev())
        {
            o.copy_from_slice(s);
        }
    }

    /// A group's weights (`w00, w01, w10, w11`), neighbour masks and top-left offsets.
    #[derive(Clone, Copy)]
    struct Plan {
        kind: Kind,
        w: [__m256; 4],
        m: [__m256i; 4],
        b00: __m256i,
    }
}
