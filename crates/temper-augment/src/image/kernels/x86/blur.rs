//! The separable blur of [`crate::image::kernels::blur`] with AVX2 intrinsics, for kernels
//! of up to 11 taps: each input row is converted to `f32` once (the plain loop converts it
//! once for every output row it reaches, `K` times), the column pass sums the `K` converted
//! rows, the row pass sums the `K` shifted views of the padded row. Every sum is the plain
//! loop's, `k0 v0 + k1 v1 + ...` in tap order, multiply then add (never fused), 8 values per
//! vector (the plain loop's leading `0 +` changes nothing: a Gaussian's terms are
//! non-negative, never `-0`); the rounding packs 16 sums at a time. The bytes equal the
//! plain loop's (test `blur_kernel_matches_the_scalar_reference` runs every level).

use std::arch::x86_64::*;

use crate::image::kernels::x86::avx2::q8x8;

/// `values[..]` as `f32` into `out` (the same length).
///
/// # Safety
/// The CPU has AVX2; `out.len() == values.len()`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn widen(values: &[u8], out: &mut [f32]) {
    let n = values.len();
    let whole = n / 8 * 8;
    for x in (0..whole).step_by(8) {
        // SAFETY: an 8-byte read at `x + 8 <= n` of `values` and a 32-byte write at the same
        // position of `out` (as long, the caller's guarantee).
        unsafe {
            let b = _mm_loadl_epi64(values.as_ptr().add(x) as *const __m128i);
            let v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
            _mm256_storeu_ps(out.as_mut_ptr().add(x), v);
        }
    }
    for (o, &v) in out[whole..n].iter_mut().zip(&values[whole..]) {
        *o = v as f32;
    }
}

/// `out[x] = sum_t kernel[t] rows[t][x]` in tap order (the plain column pass on `f32` rows).
///
/// # Safety
/// The CPU has AVX2; every row is at least `out.len()` long.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn column<const K: usize>(
    rows: &[&[f32]; K],
    kernel: &[f32; K],
    out: &mut [f32],
) {
    let n = out.len();
    let whole = n / 8 * 8;
    let k: [__m256; K] = kernel.map(|w| _mm256_set1_ps(w));
    for x in (0..whole).step_by(8) {
        // SAFETY: 32-byte reads at `x + 8 <= n` of rows at least `n` long (the caller's
        // guarantee) and a 32-byte write at the same position of `out`.
        unsafe {
            let mut s = _mm256_mul_ps(k[0], _mm256_loadu_ps(rows[0].as_ptr().add(x)));
            for t in 1..K {
                let v = _mm256_loadu_ps(rows[t].as_ptr().add(x));
                s = _mm256_add_ps(s, _mm256_mul_ps(k[t], v));
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(x), s);
        }
    }
    for x in whole..n {
        let mut s = kernel[0] * rows[0][x];
        for t in 1..K {
            s += kernel[t] * rows[t][x];
        }
        out[x] = s;
    }
}

/// `out[x] = q8(sum_t kernel[t] pad[x + t c])` in tap order (the plain row pass).
///
/// # Safety
/// The CPU has AVX2.
///
/// # Panics
/// If `pad.len() < out.len() + (K - 1) c`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn row<const K: usize>(pad: &[f32], c: usize, kernel: &[f32; K], out: &mut [u8]) {
    let n = out.len();
    assert!(
        pad.len() >= n + (K - 1) * c,
        "blur row: padded row too short"
    );
    let whole = n / 16 * 16;
    let k: [__m256; K] = kernel.map(|w| _mm256_set1_ps(w));
    let p = pad.as_ptr();
    for x in (0..whole).step_by(16) {
        // SAFETY: 32-byte reads at `x + 8 + t c` and `x + 16 + t c <= n + (K - 1) c`
        // (asserted), and a 16-byte write at `x + 16 <= n` of `out`.
        unsafe {
            let (lo, hi) = (q8x8(taps(p.add(x), c, &k)), q8x8(taps(p.add(x + 8), c, &k)));
            // i32 lanes in 0..=255 to 16 bytes in order: pack to u16 per 128-bit lane,
            // reorder the quarters, pack to u8.
            let w16 = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(lo, hi));
            let w8 = _mm256_packus_epi16(w16, w16);
            let w8 = _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b00_00_10_00>(w8));
            _mm_storeu_si128(out.as_mut_ptr().add(x) as *mut __m128i, w8);
        }
    }
    for x in whole..n {
        let mut s = kernel[0] * pad[x];
        for t in 1..K {
            s += kernel[t] * pad[x + t * c];
        }
        out[x] = crate::image::cpu::raster::q8(s);
    }
}

/// `sum_t k[t] p[t c ..][..8]` in tap order.
///
/// # Safety
/// The CPU has AVX2; `p` is valid for reads of `(K - 1) c + 8` floats.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn taps<const K: usize>(p: *const f32, c: usize, k: &[__m256; K]) -> __m256 {
    // SAFETY: reads of 8 floats at `t c`, `t < K` (the caller's guarantee).
    unsafe {
        let mut s = _mm256_mul_ps(k[0], _mm256_loadu_ps(p));
        for (t, &w) in k.iter().enumerate().skip(1) {
            s = _mm256_add_ps(s, _mm256_mul_ps(w, _mm256_loadu_ps(p.add(t * c))));
        }
        s
    }
}
