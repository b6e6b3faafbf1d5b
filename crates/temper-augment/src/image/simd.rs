//! Run-time CPU dispatch for the pixel kernels: [`multiversion!`] compiles a function three
//! times, for the x86-64 baseline (SSE2), with AVX2 and with AVX-512 enabled, and picks the
//! widest build the CPU runs. The kernels are plain loops written for the auto-vectorizer;
//! AVX2 lets it use 256-bit vectors, byte shuffles (`vpshufb`) and `vroundps`, which the
//! baseline lacks, AVX-512 512-bit vectors. All builds compute the same IEEE operations in
//! the same order (Rust never fuses a multiply and an add on its own), so their outputs are
//! bit-identical. A few kernels are hand-written with AVX2 intrinsics ([`avx2`]).

/// Defines `fn name(args) -> ret { body }` that runs `body` compiled with AVX-512 (F, BW,
/// VL, DQ) or AVX2 when the CPU supports them (checked at run time, cached by std) and the
/// portable build otherwise.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$(const $cg:ident: $ct:ty),*>)?
            ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2 $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? {
                    portable $(::<$($cg),*>)? ($($arg),*)
                }
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
                fn avx512 $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? {
                    portable $(::<$($cg),*>)? ($($arg),*)
                }
                match $crate::image::simd::level() {
                    // SAFETY: `avx512` only differs from `portable` by being compiled with
                    // AVX-512 instructions, and the CPU has them (checked by `level`).
                    $crate::image::simd::Level::Avx512 => {
                        return unsafe { avx512 $(::<$($cg),*>)? ($($arg),*) };
                    }
                    // SAFETY: as above, with AVX2.
                    $crate::image::simd::Level::Avx2 => {
                        return unsafe { avx2 $(::<$($cg),*>)? ($($arg),*) };
                    }
                    $crate::image::simd::Level::Portable => {}
                }
            }
            portable $(::<$($cg),*>)? ($($arg),*)
        }
    };
}

pub(crate) use multiversion;

/// The widest instruction set the kernels may use.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Level {
    /// The x86-64 baseline (or another architecture).
    Portable,
    /// AVX2 (256-bit vectors).
    Avx2,
    /// AVX-512 F/BW/VL/DQ (512-bit vectors).
    Avx512,
}

/// The CPU's level, capped on this thread by [`with_portable`] / [`with_avx2`] (tests).
#[inline(always)]
pub(crate) fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    let cpu = if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512dq")
    {
        Level::Avx512
    } else if std::arch::is_x86_feature_detected!("avx2") {
        Level::Avx2
    } else {
        Level::Portable
    };
    #[cfg(not(target_arch = "x86_64"))]
    let cpu = Level::Portable;
    #[cfg(test)]
    {
        cpu.min(CAP.with(|c| c.get()))
    }
    #[cfg(not(test))]
    {
        cpu
    }
}

#[cfg(test)]
thread_local! {
    static CAP: std::cell::Cell<Level> = const { std::cell::Cell::new(Level::Avx512) };
}

/// Whether the kernels must take their portable build (tests of the dispatch only).
#[inline(always)]
pub(crate) fn portable_only() -> bool {
    level() == Level::Portable
}

/// Runs `f` with the kernels capped at `cap` on this thread.
#[cfg(test)]
fn with_cap<T>(cap: Level, f: impl FnOnce() -> T) -> T {
    let old = CAP.with(|c| c.replace(cap));
    let out = f();
    CAP.with(|c| c.set(old));
    out
}

/// Runs `f` with the kernels forced to their portable build on this thread.
#[cfg(test)]
pub(crate) fn with_portable<T>(f: impl FnOnce() -> T) -> T {
    with_cap(Level::Portable, f)
}

/// Runs `f` with the kernels capped at their AVX2 builds on this thread (on a CPU with
/// AVX-512, the default run takes the AVX-512 builds).
#[cfg(test)]
pub(crate) fn with_avx2<T>(f: impl FnOnce() -> T) -> T {
    with_cap(Level::Avx2, f)
}

/// AVX2 building blocks of the hand-vectorized kernels (eight pixels per vector). Callers
/// must only run them on a CPU with AVX2 (each is `#[target_feature(enable = "avx2")]`).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    /// `raster::q8` on eight lanes, the same byte for every input: clamp to `[0, 255]`
    /// (NaN gives 0, as `max` returns its second operand), round half to even by adding
    /// 2^23, then move ties that went down up (half away from zero). Result in `i32` lanes.
    #[target_feature(enable = "avx2")]
    pub(crate) fn q8x8(v: __m256) -> __m256i {
        let magic = _mm256_set1_ps(8_388_608.0);
        let c = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(255.0));
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
#[cfg(target_arch = "x86_64")]
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
