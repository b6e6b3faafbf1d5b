//! The row pass of [`crate::image::kernels::resize`] on x86-64, 16 output values at a time
//! from a [`RowPlan`]: AVX-512 picks each tap's 16 inputs out of the 32 floats at the chunk's
//! base with one `vpermt2ps`; AVX2 picks them 8 at a time from the 16 floats at each half
//! chunk's base with two `vpermps` and a blend (twice the images/s of gathering them in a
//! random-resized crop, `cargo bench --bench augment -- random-resized-crop` with
//! `TEMPER_CPU_LEVEL=avx2`), or gathers them where the taps spread wider. Each value is
//! `0 + v0 w0 + v1 w1 + ...` in tap order (multiply then add, never fused), then rounded as
//! [`crate::image::cpu::raster::q8`], so the bytes equal the portable row pass's.

use std::arch::x86_64::*;

use crate::image::kernels::resize::RowPlan;
use crate::image::kernels::x86::avx2::{q8x8, round_half_up8};
use crate::image::kernels::x86::avx512::q8x16;

/// One output row (`out.len() == plan.len`) from the column pass's row `acc`.
///
/// # Safety
/// The CPU has AVX-512 F, BW and VL, `acc` holds [`RowPlan::REACH`] floats from every
/// base of `plan`, and `plan`'s tables hold `taps * LANES` entries per base
/// ([`RowPlan::run`] asserts both).
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) unsafe fn row_avx512(plan: &RowPlan, acc: &[f32], out: &mut [u8]) {
    const L: usize = RowPlan::LANES;
    let taps = plan.taps;
    for (q, &base) in plan.base.iter().enumerate() {
        let base = base as usize;
        // SAFETY: the caller guarantees `acc[base..base + 32]`; the plan holds `taps * 16`
        // indices and weights per chunk.
        let s = unsafe {
            let lo = _mm512_loadu_ps(acc.as_ptr().add(base));
            let hi = _mm512_loadu_ps(acc.as_ptr().add(base + L));
            let mut s = _mm512_setzero_ps();
            for t in 0..taps {
                let at = (q * taps + t) * L;
                let index = _mm512_cvtepu8_epi32(_mm_loadu_si128(
                    plan.index.as_ptr().add(at) as *const __m128i
                ));
                let w = _mm512_loadu_ps(plan.weight.as_ptr().add(at));
                let v = _mm512_permutex2var_ps(lo, index, hi);
                s = _mm512_add_ps(s, _mm512_mul_ps(v, w));
            }
            s
        };
        let bytes = _mm512_cvtepi32_epi8(q8x16(s));
        let dst = &mut out[q * L..];
        let n = dst.len().min(L);
        let mask = ((1u32 << n) - 1) as u16;
        // SAFETY: writes the first `n <= dst.len()` bytes of `dst`.
        unsafe { _mm_mask_storeu_epi8(dst.as_mut_ptr() as *mut i8, mask, bytes) };
    }
}

/// [`row_avx512`] on AVX2: each tap's 8 inputs gathered.
///
/// # Safety
/// As [`row_avx512`] with AVX2 instead of AVX-512, and every index of `plan` is below
/// [`RowPlan::REACH`] (as [`RowPlan::new`] makes them).
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn row_avx2(plan: &RowPlan, acc: &[f32], out: &mut [u8]) {
    const L: usize = RowPlan::LANES;
    let taps = plan.taps;
    for (q, &base) in plan.base.iter().enumerate() {
        let src = acc[base as usize..].as_ptr();
        let mut sums = [_mm256_setzero_si256(); 2];
        for (h, sum) in sums.iter_mut().enumerate() {
            let half = 8 * h;
            // SAFETY: indices below 32 from `src` (the caller's guarantee); the plan holds
            // `taps * 16` indices and weights per chunk.
            let s = unsafe {
                let mut s = _mm256_setzero_ps();
                for t in 0..taps {
                    let at = (q * taps + t) * L + half;
                    let index = _mm256_cvtepu8_epi32(_mm_loadl_epi64(
                        plan.index.as_ptr().add(at) as *const __m128i
                    ));
                    let w = _mm256_loadu_ps(plan.weight.as_ptr().add(at));
                    let v = _mm256_i32gather_ps::<4>(src, index);
                    s = _mm256_add_ps(s, _mm256_mul_ps(v, w));
                }
                s
            };
            *sum = q8x8(s);
        }
        store16(sums[0], sums[1], &mut out[q * L..]);
    }
}

/// Writes 16 `i32` lanes in `0..=255` (`lo` then `hi`) as bytes to the start of `dst`, or
/// as many as it holds.
#[target_feature(enable = "avx2")]
fn store16(lo: __m256i, hi: __m256i, dst: &mut [u8]) {
    // Pack to u16 (per 128-bit lane, so reorder the 64-bit quarters), then to u8 and take
    // each lane's low 8 bytes.
    let w16 = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(lo, hi));
    let w8 = _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b00_00_10_00>(
        _mm256_packus_epi16(w16, w16),
    ));
    if dst.len() >= 16 {
        // SAFETY: a 16-byte write to a slice of at least 16 bytes.
        unsafe { _mm_storeu_si128(dst.as_mut_ptr() as *mut __m128i, w8) };
        return;
    }
    let mut bytes = [0u8; 16];
    // SAFETY: a 16-byte write to a 16-byte array.
    unsafe { _mm_storeu_si128(bytes.as_mut_ptr() as *mut __m128i, w8) };
    let n = dst.len();
    dst.copy_from_slice(&bytes[..n]);
}

/// [`row_avx512`] on AVX2 from the plan's half tables: each half of 8 values reads the 16
/// floats at its base as two vectors, and each tap picks its 8 inputs with a permute of
/// each (`vpermps` uses an index's low 3 bits) and a blend on the index's bit 3, where a
/// gather of 8 floats costs several times as much.
///
/// # Safety
/// As [`row_avx512`] with AVX2 instead of AVX-512; `acc` holds [`RowPlan::HALF_REACH`]
/// floats from every half base and the half tables hold `taps * LANES` indices per chunk,
/// each below [`RowPlan::HALF_REACH`] (as [`RowPlan::run`] asserts and
/// [`RowPlan::new`] makes them).
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn row_avx2_permute(plan: &RowPlan, acc: &[f32], out: &mut [u8]) {
    // SAFETY: the caller's guarantees, passed on.
    unsafe {
        match plan.taps {
            1 => permute_taps::<1>(plan, acc, out),
            2 => permute_taps::<2>(plan, acc, out),
            3 => permute_taps::<3>(plan, acc, out),
            _ => permute_taps::<0>(plan, acc, out),
        }
    }
}

/// [`row_avx2_permute`] with `T` taps, or `plan.taps` when `T` is 0: a constant count
/// unrolls the tap loop (an enlarging crop has 2 taps), 1.3x faster.
///
/// # Safety
/// As [`row_avx2_permute`]; `T` is 0 or `plan.taps`.
#[target_feature(enable = "avx2")]
unsafe fn permute_taps<const T: usize>(plan: &RowPlan, acc: &[f32], out: &mut [u8]) {
    const L: usize = RowPlan::LANES;
    let taps = if T == 0 { plan.taps } else { T };
    for (q, hb) in plan.half_base.chunks_exact(2).enumerate() {
        // A loop rather than a closure over the halves: the closure is not inlined.
        let mut sums = [_mm256_setzero_si256(); 2];
        for (half, sum) in sums.iter_mut().enumerate() {
            let src = acc[hb[half] as usize..].as_ptr();
            // SAFETY: 16 floats from `src` (the caller's guarantee); the plan holds
            // `taps * 16` indices and weights per chunk.
            let s = unsafe {
                let (a, b) = (_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(8)));
                let mut s = _mm256_setzero_ps();
                for t in 0..taps {
                    let at = (q * taps + t) * L + 8 * half;
                    let index =
                        _mm256_loadu_si256(plan.half_index.as_ptr().add(at) as *const __m256i);
                    let w = _mm256_loadu_ps(plan.weight.as_ptr().add(at));
                    let high = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(index));
                    let v = _mm256_blendv_ps(
                        _mm256_permutevar8x32_ps(a, index),
                        _mm256_permutevar8x32_ps(b, index),
                        high,
                    );
                    s = _mm256_add_ps(s, _mm256_mul_ps(v, w));
                }
                s
            };
            // `q8` without its clamp: the sums are of non-negative values with non-negative
            // weights, so at least 0 and never NaN, and `store16`'s saturating packs turn
            // anything above 255 (the weights' rounding may give 255.00002) into 255, as the
            // clamp would.
            *sum = round_half_up8(s);
        }
        store16(sums[0], sums[1], &mut out[q * L..]);
    }
}
