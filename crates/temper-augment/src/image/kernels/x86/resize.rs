//! The row pass of [`crate::image::kernels::resize`] on x86-64, 16 output values at a time from a
//! [`RowPlan`]: AVX-512 picks each tap's 16 inputs out of the 32 floats at the chunk's base
//! with one `vpermt2ps`; AVX2 gathers them, 8 at a time. Each value is `0 + v0 w0 + v1 w1 +
//! ...` in tap order (multiply then add, never fused), then rounded as [`crate::image::cpu::raster::q8`],
//! so the bytes equal the portable row pass's.

use std::arch::x86_64::*;

use crate::image::kernels::resize::RowPlan;
use crate::image::kernels::x86::avx2::q8x8;
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
        let [lo, hi] = [0, 8].map(|half| {
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
            q8x8(s)
        });
        // i32 lanes in 0..=255 to 16 bytes in order: pack to u16 (per 128-bit lane, so
        // reorder the 64-bit quarters), then to u8 and take each lane's low 8 bytes.
        let w16 = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(lo, hi));
        let w8 = _mm256_permute4x64_epi64::<0b00_00_10_00>(_mm256_packus_epi16(w16, w16));
        let mut bytes = [0u8; L];
        // SAFETY: a 16-byte write to a 16-byte array.
        unsafe {
            _mm_storeu_si128(
                bytes.as_mut_ptr() as *mut __m128i,
                _mm256_castsi256_si128(w8),
            )
        };
        let dst = &mut out[q * L..];
        let n = dst.len().min(L);
        dst[..n].copy_from_slice(&bytes[..n]);
    }
}
