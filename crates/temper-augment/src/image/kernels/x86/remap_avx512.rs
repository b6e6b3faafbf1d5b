//! [`crate::image::kernels::remap`]'s AVX2 warp, sixteen pixels at a time with AVX-512: the same plan per
//! group (fill, pixel by pixel near the buffer's end, plain 8-byte loads where all four
//! neighbours lie inside, masked gathers reading 0 outside elsewhere, then with a fill
//! torchvision's mask rule on the lanes with a neighbour outside), the same `f32`
//! weights, products and sum order as [`crate::image::cpu::raster::sample_at`], so the bytes are those of
//! the per-pixel path (test `warp_kernel_is_the_per_pixel_path_bit_for_bit`, which runs this
//! build, the AVX2 one and the portable one). Neighbour masks are mask registers, so a
//! group's classification costs a few instructions instead of vector compares and moves.

use std::arch::x86_64::*;

use crate::image::cpu::raster::Dims;
use crate::image::kernels::remap::{Kind, pixel};
use crate::image::kernels::x86::avx2::store_rgb8;
use crate::image::kernels::x86::avx512::q8x16;

/// Pixels per group.
const P: usize = 16;

/// Byte `SHIFT / 8` of sixteen 32-bit words, as `f32`.
#[target_feature(enable = "avx512f")]
fn byte_f32<const SHIFT: u32>(g: __m512i) -> __m512 {
    _mm512_cvtepi32_ps(_mm512_and_si512(
        _mm512_srli_epi32::<SHIFT>(g),
        _mm512_set1_epi32(0xff),
    ))
}

/// Channel `SHIFT / 8` at the four neighbours, summed as `sample_at` does:
/// `((w00 p00 + w01 p01) + w10 p10) + w11 p11`; with `edge`, its lanes with a neighbour
/// outside become `(S - fill) m + fill` ([`Edge`]); then rounded.
#[target_feature(enable = "avx512f")]
fn blend<const SHIFT: u32>(w: &[__m512; 4], g: &[__m512i; 4], edge: Option<&Edge>) -> __m512i {
    let s = _mm512_add_ps(
        _mm512_mul_ps(w[0], byte_f32::<SHIFT>(g[0])),
        _mm512_mul_ps(w[1], byte_f32::<SHIFT>(g[1])),
    );
    let s = _mm512_add_ps(s, _mm512_mul_ps(w[2], byte_f32::<SHIFT>(g[2])));
    let s = _mm512_add_ps(s, _mm512_mul_ps(w[3], byte_f32::<SHIFT>(g[3])));
    let Some(e) = edge else {
        return q8x16(s);
    };
    let f = e.fill[SHIFT as usize / 8];
    let masked = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(s, f), e.mask), f);
    q8x16(_mm512_mask_blend_ps(e.border, s, masked))
}

/// torchvision's mask rule for a group read by gathers: the fill per channel, the mask `m`
/// (the inside neighbours' weights, `((a00 + a01) + a10) + a11` with `a = w` inside and 0
/// outside, as `sample_at` sums them) and which lanes have a neighbour outside.
struct Edge {
    fill: [__m512; 3],
    mask: __m512,
    border: __mmask16,
}

impl Edge {
    #[target_feature(enable = "avx512f")]
    fn new(fill: [f32; 3], w: &[__m512; 4], m: &[__mmask16; 4]) -> Edge {
        let a = |k: usize| _mm512_maskz_mov_ps(m[k], w[k]);
        Edge {
            fill: fill.map(|v| _mm512_set1_ps(v)),
            mask: _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a(0), a(1)), a(2)), a(3)),
            // All four inside exactly when the top-left and bottom-right ones are.
            border: !(m[0] & m[3]),
        }
    }
}

/// The four neighbours' words of sixteen pixels whose neighbours all lie inside, from plain
/// 8-byte loads: the load at a pixel's offset `b00` holds its top-left neighbour and (from
/// byte `C` on) its top-right one; the load at `b00 + stride` the bottom pair.
///
/// # Safety
/// The CPU has AVX-512 F, and every lane of `b00` is at least 0 and at most
/// `src.len() - 8 - stride`.
#[target_feature(enable = "avx512f")]
unsafe fn pairs<const C: usize>(src: &[u8], b00: __m512i, stride: usize) -> [__m512i; 4] {
    let mut top = [0i32; P];
    // SAFETY: a 64-byte unaligned store into a 64-byte array.
    unsafe { _mm512_storeu_si512(top.as_mut_ptr().cast(), b00) };
    // SAFETY: every offset plus `stride` is in `0..=len - 8` (the caller's guarantee), so
    // the offset itself is too.
    let load = |o: usize| unsafe { (src.as_ptr().add(o) as *const i64).read_unaligned() };
    let eight = |at: usize, add: usize| {
        let o = |k: usize| top[at + k] as usize + add;
        _mm512_setr_epi64(
            load(o(0)),
            load(o(1)),
            load(o(2)),
            load(o(3)),
            load(o(4)),
            load(o(5)),
            load(o(6)),
            load(o(7)),
        )
    };
    let (t0, t1, b0, b1) = (eight(0, 0), eight(8, 0), eight(0, stride), eight(8, stride));
    // The low dword of each qword, pixels 0-7 from the first vector, 8-15 from the second.
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let lo = |a: __m512i, b: __m512i| _mm512_permutex2var_epi32(a, even, b);
    let right = |a: __m512i| _mm512_srl_epi64(a, _mm_cvtsi32_si128(8 * C as i32));
    [
        lo(t0, t1),
        lo(right(t0), right(t1)),
        lo(b0, b1),
        lo(right(b0), right(b1)),
    ]
}

/// `lo <= x <= hi` per lane (false for NaN).
#[target_feature(enable = "avx512f")]
fn within(x: __m512, lo: f32, hi: f32) -> __mmask16 {
    _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, _mm512_set1_ps(lo))
        & _mm512_cmp_ps_mask::<_CMP_LE_OQ>(x, _mm512_set1_ps(hi))
}

/// One output row (`C` = 1 or 3 channels) from its input positions; `false` (row untouched)
/// for rows under 16 pixels or images of 2^31 bytes or more, which the AVX2 warp takes.
///
/// # Safety
/// The CPU has AVX-512 F, BW, VL and DQ.
///
/// # Panics
/// If `us` or `vs` holds fewer than `d.w` positions or `row` is not `d.w * C` bytes.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2")]
pub(crate) unsafe fn warp_row<const C: usize>(
    src: &[u8],
    d: Dims,
    us: &[f32],
    vs: &[f32],
    fill: Option<[f32; 3]>,
    row: &mut [u8],
) -> bool {
    // The vector loads of `us` and `vs` and the 16-byte row stores below rely on this.
    assert!(
        us.len() >= d.w && vs.len() >= d.w && row.len() == d.w * C,
        "warp_row: {} and {} positions, {} bytes for a row of {} pixels",
        us.len(),
        vs.len(),
        row.len(),
        d.w
    );
    if d.w < P || src.len() >= i32::MAX as usize {
        return false;
    }
    let g = Geometry::new::<C>(src, d);
    // Pixels whose neighbours all lie outside: the fill, or 0.
    let fill_u8 = fill.map_or([0; 3], |f| f.map(|v| v as u8));
    // Group starts: every 16 pixels, the last one overlapping the one before it rather than
    // running past the row.
    for gi in 0..d.w.div_ceil(P) {
        let j0 = (P * gi).min(d.w - P);
        // SAFETY: `us` and `vs` hold `d.w` positions (asserted) and `j0 + 16 <= d.w`.
        let (u, v) = unsafe {
            (
                _mm512_loadu_ps(us.as_ptr().add(j0)),
                _mm512_loadu_ps(vs.as_ptr().add(j0)),
            )
        };
        let Group {
            kind,
            m,
            off,
            x0,
            y0,
        } = g.classify(u, v);
        let words = match kind {
            Kind::Fill => {
                // Every neighbour outside, finite positions: `sample_at` gives
                // `(0 - f) 0 + f = f` with a fill, else `0`.
                for px in row[j0 * C..(j0 + P) * C].chunks_exact_mut(C) {
                    px.copy_from_slice(&fill_u8[..C]);
                }
                continue;
            }
            Kind::Scalar => {
                for k in j0..j0 + P {
                    pixel::<C>(src, d, us[k], vs[k], fill, &mut row[k * C..k * C + C]);
                }
                continue;
            }
            // SAFETY: the CPU has AVX-512 F (this function's feature); `Pairs` means every
            // neighbour lies inside the image (so `b00 >= 0`) and every `b00 + stride <= len - 8`.
            Kind::Pairs => unsafe { pairs::<C>(src, off[0], d.w * C) },
            Kind::Gather => {
                let base = src.as_ptr() as *const i32;
                // SAFETY: a lane is read only where its mask is set, and there the offset is
                // a pixel of the image at most `src.len() - 4` (`Kind` is `Scalar`
                // otherwise).
                [0, 1, 2, 3].map(|k| unsafe {
                    _mm512_mask_i32gather_epi32::<1>(_mm512_setzero_si512(), m[k], off[k], base)
                })
            }
        };
        let fill = fill.filter(|_| matches!(kind, Kind::Gather));
        // SAFETY: `j0 + 16 <= d.w` and `row` is `d.w * C` bytes (asserted).
        unsafe { store::<C>((u, v, x0, y0), (fill, &m), &words, j0, row) };
    }
    true
}

/// A group's classification: how to read its neighbours ([`Kind`]), which lie inside
/// (`m`), their offsets (`off`: top-left, top-right, bottom-left, bottom-right) and the
/// integer parts of the positions.
struct Group {
    kind: Kind,
    m: [__mmask16; 4],
    off: [__m512i; 4],
    x0: __m512,
    y0: __m512,
}

/// The constants of one row's classification.
#[derive(Clone, Copy)]
struct Geometry {
    wf: f32,
    hf: f32,
    /// A 32-bit read at offset `o` stays inside `src` when `o <= last`, an 8-byte read when
    /// `o <= last8`.
    last: __m512i,
    last8: __m512i,
    stride_v: __m512i,
    c_v: __m512i,
}

impl Geometry {
    #[target_feature(enable = "avx512f")]
    fn new<const C: usize>(src: &[u8], d: Dims) -> Self {
        Geometry {
            wf: d.w as f32,
            hf: d.h as f32,
            last: _mm512_set1_epi32(src.len() as i32 - 4),
            last8: _mm512_set1_epi32(src.len() as i32 - 8),
            stride_v: _mm512_set1_epi32((d.w * C) as i32),
            c_v: _mm512_set1_epi32(C as i32),
        }
    }

    /// Classifies the sixteen pixels at input positions `u`, `v`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn classify(&self, u: __m512, v: __m512) -> Group {
        let Geometry {
            wf,
            hf,
            last,
            last8,
            stride_v,
            c_v,
        } = *self;
        let inf = _mm512_set1_ps(f32::INFINITY);
        let floor = |x| _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(x);
        let (x0, y0) = (floor(u), floor(v));
        // Which neighbours lie inside (column x0 / x0 + 1, row y0 / y0 + 1).
        let (x_in0, x_in1) = (within(x0, 0.0, wf - 1.0), within(x0, -1.0, wf - 2.0));
        let (y_in0, y_in1) = (within(y0, 0.0, hf - 1.0), within(y0, -1.0, hf - 2.0));
        let m = [y_in0 & x_in0, y_in0 & x_in1, y_in1 & x_in0, y_in1 & x_in1];
        let finite = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(_mm512_abs_ps(u), inf)
            & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(_mm512_abs_ps(v), inf);
        // Coordinates clamped to [-1, size - 1] (NaN to -1: lanes read nothing then), so
        // the offsets cannot overflow.
        let clamp = |x, hi| {
            _mm512_cvttps_epi32(_mm512_min_ps(
                _mm512_max_ps(x, _mm512_set1_ps(-1.0)),
                _mm512_set1_ps(hi),
            ))
        };
        let b00 = _mm512_add_epi32(
            _mm512_mullo_epi32(clamp(y0, hf - 1.0), stride_v),
            _mm512_mullo_epi32(clamp(x0, wf - 1.0), c_v),
        );
        let b10 = _mm512_add_epi32(b00, stride_v);
        let off = [
            b00,
            _mm512_add_epi32(b00, c_v),
            b10,
            _mm512_add_epi32(b10, c_v),
        ];
        // A read inside the image but past `last`: only near the end of the buffer.
        let past = (0..4).fold(0, |p, k| p | (m[k] & _mm512_cmpgt_epi32_mask(off[k], last)));
        let kind = if m.iter().fold(0, |a, &k| a | k) == 0 && finite == u16::MAX {
            Kind::Fill
        } else if past != 0 {
            Kind::Scalar
        } else if m[0] & m[3] == u16::MAX && _mm512_cmpgt_epi32_mask(b10, last8) == 0 {
            Kind::Pairs
        } else {
            Kind::Gather
        };
        Group {
            kind,
            m,
            off,
            x0,
            y0,
        }
    }
}

/// Blends the four neighbours' `words` of the group at `j0` with the bilinear weights of
/// positions `u`, `v` (integer parts `x0`, `y0`), with a `fill` applies the mask rule to
/// the lanes with a neighbour outside (inside masks `m`), and writes the group's bytes to
/// `row`.
///
/// # Safety
/// The CPU has AVX-512 F/BW/VL/DQ and AVX2, and `j0 + 16` pixels fit in `row`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2")]
unsafe fn store<const C: usize>(
    (u, v, x0, y0): (__m512, __m512, __m512, __m512),
    (fill, m): (Option<[f32; 3]>, &[__mmask16; 4]),
    words: &[__m512i; 4],
    j0: usize,
    row: &mut [u8],
) {
    let one = _mm512_set1_ps(1.0);
    let (fx, fy) = (_mm512_sub_ps(u, x0), _mm512_sub_ps(v, y0));
    let (gx, gy) = (_mm512_sub_ps(one, fx), _mm512_sub_ps(one, fy));
    let w = [
        _mm512_mul_ps(gx, gy),
        _mm512_mul_ps(fx, gy),
        _mm512_mul_ps(gx, fy),
        _mm512_mul_ps(fx, fy),
    ];
    let edge = fill.map(|f| Edge::new(f, &w, m));
    let edge = edge.as_ref();
    if C == 1 {
        let bytes = _mm512_cvtepi32_epi8(blend::<0>(&w, words, edge));
        // SAFETY: a 16-byte write at `j0`, and `j0 + 16 <= row.len()` (the caller's guarantee).
        unsafe { _mm_storeu_si128(row.as_mut_ptr().add(j0).cast(), bytes) };
    } else {
        let (r, gr, b) = (
            blend::<0>(&w, words, edge),
            blend::<8>(&w, words, edge),
            blend::<16>(&w, words, edge),
        );
        let half = |x: __m512i| (_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64::<1>(x));
        let ((r0, r1), (g0, g1), (b0, b1)) = (half(r), half(gr), half(b));
        store_rgb8(r0, g0, b0, &mut row[j0 * 3..j0 * 3 + 24]);
        store_rgb8(r1, g1, b1, &mut row[j0 * 3 + 24..j0 * 3 + 48]);
    }
}
