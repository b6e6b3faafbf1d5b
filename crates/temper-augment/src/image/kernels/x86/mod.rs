//! The hand-written x86-64 kernels (AVX2 and AVX-512 intrinsics) and their building blocks.
//! Every function here is `#[target_feature]`: the callers in [`kernels`](super) run it only
//! at the [`temper_simd::level`] (or [`temper_simd::avx512_vbmi`]) that has its features,
//! and fall back to a plain loop otherwise. Each computes the same IEEE operations in the
//! same order as the plain loop it replaces, so the bytes are identical (the kernel tests
//! compare them at every level the CPU has).

pub(crate) mod blur;
pub(crate) mod color;
pub(crate) mod lut;
pub(crate) mod remap_avx2;
pub(crate) mod remap_avx512;
pub(crate) mod resize;

/// AVX2 building blocks of the hand-vectorized kernels (eight pixels per vector). Callers
/// must only run them on a CPU with AVX2 (each is `#[target_feature(enable = "avx2")]`).
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    /// `raster::q8` on eight lanes, the same byte for every input: clamp to `[0, 255]`
    /// (NaN gives 0, as `max` returns its second operand), round half to even by adding
    /// 2^23, then move ties that went down up (half away from zero). Result in `i32` lanes.
    #[target_feature(enable = "avx2")]
    pub(crate) fn q8x8(v: __m256) -> __m256i {
        let c = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(255.0));
        round_half_up8(c)
    }

    /// [`q8x8`] without its clamp, for values already in `[0, 2^23)` and not NaN: round half
    /// to even by adding 2^23, then move ties that went down up. Result in `i32` lanes.
    #[target_feature(enable = "avx2")]
    pub(crate) fn round_half_up8(c: __m256) -> __m256i {
        let magic = _mm256_set1_ps(8_388_608.0);
        let b = _mm256_add_ps(c, magic);
        let tie = _mm256_cmp_ps::<_CMP_EQ_OQ>(
            _mm256_sub_ps(c, _mm256_sub_ps(b, magic)),
            _mm256_set1_ps(0.5),
        );
        let r = _mm256_sub_epi32(_mm256_castps_si256(b), _mm256_castps_si256(magic));
        // A true comparison is all ones (-1): subtracting it adds 1.
        _mm256_sub_epi32(r, _mm256_castps_si256(tie))
    }

    /// Eight RGB pixels (`px[..24]`) as three `f32` vectors R, G, B. Reads exactly 24 bytes.
    #[target_feature(enable = "avx2")]
    pub(crate) fn load_rgb8(px: &[u8]) -> [__m256; 3] {
        let px = &px[..24];
        // SAFETY: two 16-byte reads at offsets 0 and 8 of a 24-byte slice.
        let (lo, hi) = unsafe {
            (
                _mm_loadu_si128(px.as_ptr() as *const __m128i),
                _mm_loadu_si128(px.as_ptr().add(8) as *const __m128i),
            )
        };
        // Lane 0 holds bytes 0..16 (pixels 0-3 at 3k), lane 1 bytes 8..24 (pixels 4-7 at
        // 4 + 3k); each channel byte goes to the low byte of its pixel's 32-bit lane.
        let v = _mm256_set_m128i(hi, lo);
        let mask = |c: i8| {
            let mut m = [-1i8; 32];
            for k in 0..4 {
                m[4 * k] = 3 * k as i8 + c;
                m[16 + 4 * k] = 4 + 3 * k as i8 + c;
            }
            // SAFETY: a 32-byte read of a 32-byte array.
            unsafe { _mm256_loadu_si256(m.as_ptr() as *const __m256i) }
        };
        let (r, g, b) = (mask(0), mask(1), mask(2));
        [r, g, b].map(|m| _mm256_cvtepi32_ps(_mm256_shuffle_epi8(v, m)))
    }

    /// Writes eight RGB pixels, channels given as `i32` lanes in `0..=255`, to `out[..24]`.
    #[target_feature(enable = "avx2")]
    pub(crate) fn store_rgb8(r: __m256i, g: __m256i, b: __m256i, out: &mut [u8]) {
        let out = &mut out[..24];
        let rgb = _mm256_or_si256(
            r,
            _mm256_or_si256(_mm256_slli_epi32::<8>(g), _mm256_slli_epi32::<16>(b)),
        );
        // Drop each word's 4th byte (12 bytes per 128-bit lane), then join the two lanes'
        // 12 bytes into the low 24.
        let z = -1;
        let mask = _mm256_setr_epi8(
            0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, z, z, z, z, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13,
            14, z, z, z, z,
        );
        let p = _mm256_permutevar8x32_epi32(
            _mm256_shuffle_epi8(rgb, mask),
            _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 3),
        );
        // SAFETY: a 16-byte write at offset 0 and an 8-byte write at offset 16 of a 24-byte
        // slice.
        unsafe {
            _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, _mm256_castsi256_si128(p));
            _mm_storel_epi64(
                out.as_mut_ptr().add(16) as *mut __m128i,
                _mm256_extracti128_si256::<1>(p),
            );
        }
    }
}

/// AVX-512 building blocks of the hand-vectorized kernels (sixteen lanes per vector).
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    /// `raster::q8` on 16 lanes (as [`super::avx2::q8x8`]): clamp to `[0, 255]` (NaN gives
    /// 0), round half to even by adding 2^23, then move ties that went down up. Result in
    /// `i32` lanes.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn q8x16(v: __m512) -> __m512i {
        let magic = _mm512_set1_ps(8_388_608.0);
        let c = _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(255.0));
        let b = _mm512_add_ps(c, magic);
        let tie = _mm512_cmpeq_ps_mask(
            _mm512_sub_ps(c, _mm512_sub_ps(b, magic)),
            _mm512_set1_ps(0.5),
        );
        let r = _mm512_sub_epi32(_mm512_castps_si512(b), _mm512_castps_si512(magic));
        _mm512_mask_add_epi32(r, tie, r, _mm512_set1_epi32(1))
    }
}
