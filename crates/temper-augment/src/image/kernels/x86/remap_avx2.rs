//! [`warp_row`] eight pixels at a time with AVX2: each of the four neighbours of eight
//! pixels is fetched with one masked gather of 32-bit words (a pixel's bytes plus what
//! follows; 0 in lanes whose neighbour lies outside the image), split into channels and
//! summed with the same `f32` weights in the same order as [`sample_at`] (whose border
//! branch is the interior sum with 0 for neighbours outside); with a fill, lanes with a
//! neighbour outside become `(S - f) m + f` as there, `m` the inside weights summed in the
//! same order; then rounded like [`q8`]: the bytes are identical (test
//! `warp_kernel_is_the_per_pixel_path_bit_for_bit`). Groups of eight whose neighbours all
//! lie outside are the fill value (0 without one); the last group of a row overlaps the one
//! before it (recomputing the same bytes), and rows narrower than eight pixels, or groups
//! with a read that would pass the buffer's end (the last pixels of the image), go pixel by
//! pixel.

use std::arch::x86_64::*;

use crate::image::cpu::raster::Dims;
use crate::image::kernels::remap::{Kind, pixel};
use crate::image::kernels::x86::avx2::{q8x8, store_rgb8};

/// Byte `SHIFT / 8` of eight 32-bit words, as `f32`.
#[target_feature(enable = "avx2")]
fn byte_f32<const SHIFT: i32>(g: __m256i) -> __m256 {
    let b = _mm256_and_si256(_mm256_srli_epi32::<SHIFT>(g), _mm256_set1_epi32(0xff));
    _mm256_cvtepi32_ps(b)
}

/// Channel `SHIFT / 8` at the four neighbours, summed as `sample_at` does:
/// `((w00 p00 + w01 p01) + w10 p10) + w11 p11`; with `edge`, its lanes with a neighbour
/// outside become `(S - fill) m + fill` ([`Edge`]); then rounded.
#[target_feature(enable = "avx2")]
fn blend<const SHIFT: i32>(w: &[__m256; 4], g: &[__m256i; 4], edge: Option<&Edge>) -> __m256i {
    let s = _mm256_add_ps(
        _mm256_mul_ps(w[0], byte_f32::<SHIFT>(g[0])),
        _mm256_mul_ps(w[1], byte_f32::<SHIFT>(g[1])),
    );
    let s = _mm256_add_ps(s, _mm256_mul_ps(w[2], byte_f32::<SHIFT>(g[2])));
    let s = _mm256_add_ps(s, _mm256_mul_ps(w[3], byte_f32::<SHIFT>(g[3])));
    let Some(e) = edge else {
        return q8x8(s);
    };
    let f = e.fill[SHIFT as usize / 8];
    let masked = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(s, f), e.mask), f);
    q8x8(_mm256_blendv_ps(s, masked, e.border))
}

/// torchvision's mask rule for a group read by gathers: the fill per channel, the mask `m`
/// (the inside neighbours' weights, `((a00 + a01) + a10) + a11` with `a = w` inside and 0
/// outside, as `sample_at` sums them) and which lanes have a neighbour outside.
struct Edge {
    fill: [__m256; 3],
    mask: __m256,
    border: __m256,
}

impl Edge {
    #[target_feature(enable = "avx2")]
    fn new(fill: [f32; 3], w: &[__m256; 4], m: &[__m256i; 4]) -> Edge {
        let a = |k: usize| _mm256_and_ps(w[k], _mm256_castsi256_ps(m[k]));
        let mask = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a(0), a(1)), a(2)), a(3));
        // All four inside exactly when the top-left and bottom-right ones are.
        let all_in = _mm256_castsi256_ps(_mm256_and_si256(m[0], m[3]));
        Edge {
            fill: fill.map(|v| _mm256_set1_ps(v)),
            mask,
            border: _mm256_xor_ps(all_in, _mm256_castsi256_ps(_mm256_set1_epi32(-1))),
        }
    }
}

/// The four neighbours' words of eight pixels whose neighbours all lie inside, read with
/// plain 8-byte loads instead of gathers (an 8-lane gather takes 3.6x as long as four 8-byte
/// loads in a micro-benchmark, and the warp runs about 6% faster): the load at a pixel's
/// offset `b00` holds its top-left neighbour and (from byte `C` on) its top-right one; the
/// load at `b10` the bottom pair.
///
/// # Safety
/// The CPU has AVX2, and every lane of `b00` and `b10` is in `0..=src.len() - 8`.
#[target_feature(enable = "avx2")]
unsafe fn pairs<const C: usize>(src: &[u8], b00: __m256i, b10: __m256i) -> [__m256i; 4] {
    let (mut top, mut bot) = ([0i32; 8], [0i32; 8]);
    // SAFETY: 32-byte unaligned stores into 32-byte arrays.
    unsafe {
        _mm256_storeu_si256(top.as_mut_ptr() as *mut __m256i, b00);
        _mm256_storeu_si256(bot.as_mut_ptr() as *mut __m256i, b10);
    }
    // SAFETY: every offset is in `0..=len - 8` (the caller's guarantee).
    let load = |o: i32| unsafe { (src.as_ptr().add(o as usize) as *const i64).read_unaligned() };
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

/// One output row (`C` = 1 or 3 channels) from its input positions `us`, `vs` (one per
/// output pixel).
///
/// # Panics
/// If `us` or `vs` holds fewer than `d.w` positions or `row` is not `d.w * C` bytes.
#[target_feature(enable = "avx2")]
pub(crate) fn warp_row<const C: usize>(
    src: &[u8],
    d: Dims,
    us: &[f32],
    vs: &[f32],
    fill: Option<[f32; 3]>,
    row: &mut [u8],
) {
    // The vector loads of `us` and `vs` below rely on this.
    assert!(
        us.len() >= d.w && vs.len() >= d.w && row.len() == d.w * C,
        "warp_row: {} and {} positions, {} bytes for a row of {} pixels",
        us.len(),
        vs.len(),
        row.len(),
        d.w
    );
    // Offsets are `i32`: larger images go pixel by pixel (as do rows under 8 pixels).
    if d.w < 8 || src.len() >= i32::MAX as usize {
        for (j, px) in row.chunks_exact_mut(C).enumerate() {
            pixel::<C>(src, d, us[j], vs[j], fill, px);
        }
        return;
    }
    let warp = Warp::<C>::new(src, d, us, vs, fill);
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
            // SAFETY: the CPU has AVX2 (this function's feature), `j0 <= d.w - 8`, and `us`,
            // `vs` hold `d.w` positions (asserted above).
            *p = unsafe { warp.plan(j0) };
        }
        for (p, j0) in plan.iter().zip(starts) {
            warp.write(p, j0, row);
        }
    }
}

/// One row's warp: the inputs and the constants every group of eight pixels uses.
#[derive(Clone, Copy)]
struct Warp<'a, const C: usize> {
    src: &'a [u8],
    d: Dims,
    us: &'a [f32],
    vs: &'a [f32],
    fill: Option<[f32; 3]>,
    /// The value of pixels whose neighbours all lie outside: the fill, or 0.
    fill_u8: [u8; 3],
    /// A 32-bit read at offset `o` stays inside `src` when `o <= last`...
    last: __m256i,
    /// ... and an 8-byte read when `o <= last8`.
    last8: __m256i,
    stride_v: __m256i,
    c_v: __m256i,
}

impl<'a, const C: usize> Warp<'a, C> {
    #[target_feature(enable = "avx2")]
    fn new(src: &'a [u8], d: Dims, us: &'a [f32], vs: &'a [f32], fill: Option<[f32; 3]>) -> Self {
        Warp {
            src,
            d,
            us,
            vs,
            fill,
            fill_u8: fill.map_or([0; 3], |f| f.map(|v| v as u8)),
            last: _mm256_set1_epi32(src.len() as i32 - 4),
            last8: _mm256_set1_epi32(src.len() as i32 - 8),
            stride_v: _mm256_set1_epi32((d.w * C) as i32),
            c_v: _mm256_set1_epi32(C as i32),
        }
    }

    /// The plan of the group of eight pixels at `j0`: weights, masks, offsets and how to
    /// read the neighbours.
    ///
    /// # Safety
    /// The CPU has AVX2, `j0 + 8 <= d.w`, and `us` and `vs` hold `d.w` positions.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn plan(&self, j0: usize) -> Plan {
        let Warp {
            d,
            us,
            vs,
            last,
            last8,
            stride_v,
            c_v,
            ..
        } = *self;
        let (wf, hf) = (d.w as f32, d.h as f32);
        let (all_lanes, one, zero_i) = (
            _mm256_set1_epi32(-1),
            _mm256_set1_ps(1.0),
            _mm256_setzero_si256(),
        );
        // SAFETY: `j0 + 8 <= d.w` and `us`, `vs` hold `d.w` positions (the caller's guarantee).
        let (u, v) = unsafe {
            (
                _mm256_loadu_ps(us.as_ptr().add(j0)),
                _mm256_loadu_ps(vs.as_ptr().add(j0)),
            )
        };
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
        let all_in = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_and_si256(m[0], m[3]))) == 0xff;
        let kind = if _mm256_testz_si256(any, any) == 1 && _mm256_movemask_ps(finite) == 0xff {
            Kind::Fill
        } else if _mm256_testz_si256(past, past) == 0 {
            Kind::Scalar
        } else if all_in && _mm256_testz_si256(all_lanes, _mm256_cmpgt_epi32(b10, last8)) == 1 {
            Kind::Pairs
        } else {
            Kind::Gather
        };
        let (fx, fy) = (_mm256_sub_ps(u, x0), _mm256_sub_ps(v, y0));
        let (gx, gy) = (_mm256_sub_ps(one, fx), _mm256_sub_ps(one, fy));
        let w = [
            _mm256_mul_ps(gx, gy),
            _mm256_mul_ps(fx, gy),
            _mm256_mul_ps(gx, fy),
            _mm256_mul_ps(fx, fy),
        ];
        Plan { kind, w, m, b00 }
    }

    /// Writes the group of eight pixels at `j0` of `row` as `p` says.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn write(&self, p: &Plan, j0: usize, row: &mut [u8]) {
        let Warp {
            src,
            d,
            us,
            vs,
            fill,
            fill_u8,
            stride_v,
            c_v,
            ..
        } = *self;
        let g = match p.kind {
            Kind::Fill => {
                // Every neighbour outside, finite positions: `sample_at` gives
                // `(0 - f) 0 + f = f` with a fill, else `0`.
                for px in row[j0 * C..(j0 + 8) * C].chunks_exact_mut(C) {
                    px.copy_from_slice(&fill_u8[..C]);
                }
                return;
            }
            Kind::Scalar => {
                for k in j0..j0 + 8 {
                    pixel::<C>(src, d, us[k], vs[k], fill, &mut row[k * C..k * C + C]);
                }
                return;
            }
            // SAFETY: the CPU has AVX2 (this function's feature); `Pairs` means every
            // neighbour lies inside the image (so `b00 >= 0`) and every `b10 <= len - 8`.
            Kind::Pairs => unsafe { pairs::<C>(src, p.b00, _mm256_add_epi32(p.b00, stride_v)) },
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
                    _mm256_mask_i32gather_epi32::<1>(_mm256_setzero_si256(), base, off[k], p.m[k])
                })
            }
        };
        let w = &p.w;
        let edge = match (p.kind, fill) {
            (Kind::Gather, Some(f)) => Some(Edge::new(f, w, &p.m)),
            _ => None,
        };
        let edge = edge.as_ref();
        if C == 1 {
            let l = blend::<0>(w, &g, edge);
            // The low byte of each lane, in order: 8 bytes.
            let mask = _mm256_setr_epi8(
                0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1,
                -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
            );
            let p = _mm256_permutevar8x32_epi32(
                _mm256_shuffle_epi8(l, mask),
                _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1),
            );
            let bytes = _mm_cvtsi128_si64(_mm256_castsi256_si128(p)).to_le_bytes();
            row[j0..j0 + 8].copy_from_slice(&bytes);
        } else {
            let (r, gr, b) = (
                blend::<0>(w, &g, edge),
                blend::<8>(w, &g, edge),
                blend::<16>(w, &g, edge),
            );
            store_rgb8(r, gr, b, &mut row[j0 * 3..j0 * 3 + 24]);
        }
    }
}

/// See [`super::mirror_rgb_row`]: a copy of the row is read 15 bytes (5 pixels) at a
/// time from the end and written from the start; pixels that do not fill a last block
/// are copied one by one.
#[target_feature(enable = "avx2")]
pub(crate) fn mirror_rgb_row(row: &mut [u8]) {
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
