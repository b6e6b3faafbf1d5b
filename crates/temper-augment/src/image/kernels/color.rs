//! The per-pixel colour kernels behind [`crate::image::cpu::photometric`]'s `hue`, `saturation` and
//! `grayscale` on RGB: pixels in chunks of [`N`], split into three `f32` channel arrays,
//! transformed by branch-free code over the arrays (the compiler vectorizes it), then
//! rounded and interleaved back. With AVX2, eight pixels at a time are split into channel
//! vectors by byte shuffles and computed as vectors (hand-written: the compiler does not
//! vectorize the interleaved loads and stores well); the last `n % 8` pixels take the plane
//! path; hue also has an AVX-512 version (16 pixels at a time, 1.7x faster than AVX2, measured
//! with `cargo bench --bench augment hue` and `TEMPER_CPU_LEVEL=avx2`). The arithmetic is the scalar formulas' (torchvision `_rgb2hsv` / `_hsv2rgb`,
//! `_blend` with the truncated luma), operation for operation, with each branch replaced by a select, so
//! the bytes are the same as the scalar code's, in every build (tests in `kernels/tests.rs`).

use crate::image::cpu::photometric::LUMA;
use crate::image::cpu::raster::q8;
#[cfg(target_arch = "x86_64")]
use temper_simd::Level;
use temper_simd::multiversion;

#[cfg(target_arch = "x86_64")]
use crate::image::kernels::x86::color::{avx2, avx512};

/// Pixels per chunk.
const N: usize = 64;

type Planes = [[f32; N]; 3];

/// Runs `$body` (with the chunk's planes as `$p`) over `$src` (RGB) chunk by chunk, writing
/// the rounded result to `$out`. A macro rather than a function taking a closure so that the
/// body is compiled inside the caller, with its target features.
macro_rules! map_planes {
    ($src:expr, $out:expr, |$p:ident| $body:block) => {{
        let mut $p: Planes = [[0.0; N]; 3];
        for (s, o) in $src.chunks(3 * N).zip($out.chunks_mut(3 * N)) {
            let n = s.len() / 3;
            for (i, px) in s.chunks_exact(3).enumerate() {
                $p[0][i] = px[0] as f32;
                $p[1][i] = px[1] as f32;
                $p[2][i] = px[2] as f32;
            }
            $body
            for (i, px) in o[..3 * n].chunks_exact_mut(3).enumerate() {
                px[0] = q8($p[0][i]);
                px[1] = q8($p[1][i]);
                px[2] = q8($p[2][i]);
            }
        }
    }};
}

/// `x mod 1` for `x` in `[-1, 2)`, as `x.rem_euclid(1.0)`: `x - trunc(x)` is `fmod(x, 1)`
/// exactly, and a negative remainder gets 1 added.
#[inline(always)]
fn wrap01(x: f32) -> f32 {
    let r = x - x.trunc();
    if r < 0.0 { r + 1.0 } else { r }
}

multiversion! {
    /// [`crate::image::cpu::photometric::hue`] on RGB bytes.
    // The lane index runs over three planes at once.
    #[allow(clippy::needless_range_loop)]
    fn hue_planes(src: &[u8], out: &mut [u8], shift: f32) {
        map_planes!(src, out, |p| {
            for i in 0..N {
                let (r, g, b) = (p[0][i] / 255.0, p[1][i] / 255.0, p[2][i] / 255.0);
                // rgb_to_hsv
                let maxc = r.max(g).max(b);
                let minc = r.min(g).min(b);
                let cr = maxc - minc;
                let gray = cr == 0.0;
                let s = cr / maxc;
                let (rc, gc, bc) = ((maxc - r) / cr, (maxc - g) / cr, (maxc - b) / cr);
                let h = if maxc == r {
                    bc - gc
                } else if maxc == g {
                    2.0 + rc - bc
                } else {
                    4.0 + gc - rc
                };
                let h = wrap01(h / 6.0 + 1.0);
                let (h, s) = if gray { (0.0, 0.0) } else { (h, s) };
                let v = maxc;
                // shift, then hsv_to_rgb
                let h = wrap01(h + shift);
                let i6 = (h * 6.0).floor();
                let f = h * 6.0 - i6;
                let pp = (v * (1.0 - s)).clamp(0.0, 1.0);
                let q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
                let t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
                // Sector i6 mod 6 (h may be 1.0 after wrapping a tiny negative: sector 6 = 0).
                let s0 = i6 == 0.0 || i6 == 6.0;
                let (s1, s2, s3, s4) = (i6 == 1.0, i6 == 2.0, i6 == 3.0, i6 == 4.0);
                let s5 = !(s0 || s1 || s2 || s3 || s4);
                let ro = if s0 || s5 { v } else if s1 { q } else if s4 { t } else { pp };
                let go = if s0 { t } else if s1 || s2 { v } else if s3 { q } else { pp };
                let bo = if s0 || s1 { pp } else if s2 { t } else if s5 { q } else { v };
                p[0][i] = ro * 255.0;
                p[1][i] = go * 255.0;
                p[2][i] = bo * 255.0;
            }
        });
    }
}

/// `floor(x)` for `x` in `[0, 2^23)`: adding and subtracting 2^23 rounds to the nearest
/// integer (ties to even), minus one where that rounded up. The luma's truncation to uint8
/// in a form that vectorizes without SSE4.1 (`f32::floor` is a library call on the x86-64
/// baseline); the AVX2 kernel's `_mm256_round_ps` gives the same value.
#[inline(always)]
fn floor_small(x: f32) -> f32 {
    const MAGIC: f32 = 8_388_608.0;
    let r = (x + MAGIC) - MAGIC;
    if r > x { r - 1.0 } else { r }
}

multiversion! {
    /// [`crate::image::cpu::photometric::saturation`] on RGB bytes: `blend(v, gray, factor)`
    /// truncated, with `gray` the truncated luma; `- 0.5` makes `map_planes`' rounding
    /// truncate (`photometric::trunc8`).
    fn saturation_planes(src: &[u8], out: &mut [u8], factor: f32) {
        map_planes!(src, out, |p| {
            for i in 0..N {
                let l = LUMA[0] * p[0][i] + LUMA[1] * p[1][i] + LUMA[2] * p[2][i];
                let gray = floor_small(l);
                for c in p.iter_mut() {
                    c[i] = factor * c[i] + (1.0 - factor) * gray - 0.5;
                }
            }
        });
    }
}

multiversion! {
    /// [`crate::image::cpu::photometric::grayscale`] on RGB bytes: the truncated luma in
    /// every channel (an integer, which `map_planes`' rounding keeps).
    fn grayscale_planes(src: &[u8], out: &mut [u8]) {
        map_planes!(src, out, |p| {
            for i in 0..N {
                let l = floor_small(LUMA[0] * p[0][i] + LUMA[1] * p[1][i] + LUMA[2] * p[2][i]);
                for c in p.iter_mut() {
                    c[i] = l;
                }
            }
        });
    }
}

/// Runs `$avx2(src, out, args..)` on the whole groups of eight pixels at level AVX2 or above,
/// then `$planes` on the rest.
macro_rules! dispatch {
    ($src:ident, $out:ident, $avx2:path, $planes:path $(, $arg:expr)*) => {{
        #[cfg(target_arch = "x86_64")]
        if temper_simd::level() >= Level::Avx2 {
            let n = $src.len() / 24 * 24;
            // SAFETY: the CPU has AVX2 and FMA (`temper_simd::level` checked them).
            unsafe { $avx2(&$src[..n], &mut $out[..n] $(, $arg)*) };
            $planes(&$src[n..], &mut $out[n..] $(, $arg)*);
            return;
        }
        $planes($src, $out $(, $arg)*)
    }};
}

/// [`crate::image::cpu::photometric::hue`] on RGB bytes.
pub(crate) fn hue_rgb(src: &[u8], out: &mut [u8], shift: f32) {
    #[cfg(target_arch = "x86_64")]
    if temper_simd::level() == Level::Avx512 {
        // Groups of 16 pixels with AVX-512, then the rest as without it.
        let n = src.len() / 48 * 48;
        // SAFETY: the CPU has AVX-512 F/BW/VL/DQ and FMA (`temper_simd::level` checked them).
        unsafe { avx512::hue(&src[..n], &mut out[..n], shift) };
        let (src, out) = (&src[n..], &mut out[n..]);
        dispatch!(src, out, avx2::hue, hue_planes, shift);
        return;
    }
    dispatch!(src, out, avx2::hue, hue_planes, shift)
}

/// [`crate::image::cpu::photometric::saturation`] on RGB bytes: `blend(v, gray, factor)`
/// truncated, `gray` the truncated luma.
pub(crate) fn saturation_rgb(src: &[u8], out: &mut [u8], factor: f32) {
    dispatch!(src, out, avx2::saturation, saturation_planes, factor)
}

/// [`crate::image::cpu::photometric::grayscale`] on RGB bytes: the truncated luma in every
/// channel.
pub(crate) fn grayscale_rgb(src: &[u8], out: &mut [u8]) {
    dispatch!(src, out, avx2::grayscale, grayscale_planes)
}

/// The sum over RGB pixels of their uint8 gray value, the luma `LUMA[0] r + LUMA[1] g +
/// LUMA[2] b` in `f32` (left to right, as torchvision's `rgb_to_grayscale`) truncated:
/// `contrast`'s mean. Integer sums are exact in any order, so every level gives the same
/// total. With AVX2, eight pixels at a time split by byte shuffles and summed in `i32`
/// lanes (`x86/color.rs`); the last `n % 8` pixels, and every pixel without AVX2, through
/// [`gray_sum_planes`]. (On one 224x224 RGB image the hand-written kernel takes 8.5 us where
/// the auto-vectorized loop takes 15 us at AVX-512 and 18 us at AVX2, and the earlier `f64`
/// accumulators 28 us: `contrast` as a whole went from 35 to 15 us; the bench figures are
/// `cargo bench --bench augment -- contrast`.)
pub(crate) fn gray_sum(src: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if temper_simd::level() >= Level::Avx2 {
        let n = src.len() / 24 * 24;
        // SAFETY: the CPU has AVX2 (`temper_simd::level` checked it).
        let head = unsafe { avx2::gray_sum(&src[..n]) };
        return head + gray_sum_planes(&src[n..]);
    }
    gray_sum_planes(src)
}

multiversion! {
    /// [`gray_sum`] as a plain loop: 16 `f32` accumulators side by side (a single chain of
    /// dependent additions would take 4 cycles a pixel), which add whole numbers exactly
    /// while below 2^24: a block of 2^16 pixels per accumulator gives each at most
    /// 2^16 + 15 grays (255 times that is below 2^24) before the block's total moves into a
    /// `u64`. (`f32` rather than `f64` accumulators: no
    /// conversion per pixel, 75 -> 57 us on 224x224 RGB without AVX2.)
    fn gray_sum_planes(src: &[u8]) -> u64 {
        const P: usize = 16;
        let gray = |px: &[u8]| {
            floor_small(LUMA[0] * px[0] as f32 + LUMA[1] * px[1] as f32 + LUMA[2] * px[2] as f32)
        };
        let mut total = 0u64;
        for block in src.chunks((3 * P) << 16) {
            let mut acc = [0f32; P];
            let mut chunks = block.chunks_exact(3 * P);
            for chunk in &mut chunks {
                for (a, px) in acc.iter_mut().zip(chunk.chunks_exact(3)) {
                    *a += gray(px);
                }
            }
            for px in chunks.remainder().chunks_exact(3) {
                acc[0] += gray(px);
            }
            total += acc.iter().map(|&a| a as u64).sum::<u64>();
        }
        total
    }
}
