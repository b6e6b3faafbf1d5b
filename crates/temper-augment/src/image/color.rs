//! The per-pixel colour kernels behind [`super::photometric`]'s `hue`, `saturation` and
//! `grayscale` on RGB: pixels in chunks of [`N`], split into three `f32` channel arrays,
//! transformed by branch-free code over the arrays (the compiler vectorizes it), then
//! rounded and interleaved back. With AVX2, eight pixels at a time are split into channel
//! vectors by byte shuffles and computed as vectors (hand-written: the compiler does not
//! vectorize the interleaved loads and stores well); the last `n % 8` pixels take the plane
//! path; hue also has an AVX-512 version (16 pixels at a time, 1.7x faster than AVX2 on the
//! Zen 5 test machine). The arithmetic is the scalar formulas' (torchvision `_rgb2hsv` / `_hsv2rgb`,
//! `_blend` with luma), operation for operation, with each branch replaced by a select, so
//! the bytes are the same as the scalar code's, in every build (tests in `kernel_tests.rs`).

use super::photometric::LUMA;
use super::raster::q8;
use super::simd::multiversion;

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
    /// [`super::photometric::hue`] on RGB bytes.
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

multiversion! {
    /// [`super::photometric::saturation`] on RGB bytes: `blend(v, luma, factor)`.
    fn saturation_planes(src: &[u8], out: &mut [u8], factor: f32) {
        map_planes!(src, out, |p| {
            for i in 0..N {
                let l = LUMA[0] * p[0][i] + LUMA[1] * p[1][i] + LUMA[2] * p[2][i];
                for c in p.iter_mut() {
                    c[i] = factor * c[i] + (1.0 - factor) * l;
                }
            }
        });
    }
}

multiversion! {
    /// [`super::photometric::grayscale`] on RGB bytes: the luma in every channel.
    fn grayscale_planes(src: &[u8], out: &mut [u8]) {
        map_planes!(src, out, |p| {
            for i in 0..N {
                let l = LUMA[0] * p[0][i] + LUMA[1] * p[1][i] + LUMA[2] * p[2][i];
                for c in p.iter_mut() {
                    c[i] = l;
                }
            }
        });
    }
}

/// Runs `$avx2(src, out, args..)` on the whole groups of eight pixels when the CPU has AVX2
/// (and the tests do not force the portable build), then `$planes` on the rest.
macro_rules! dispatch {
    ($src:ident, $out:ident, $avx2:path, $planes:path $(, $arg:expr)*) => {{
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && !super::simd::portable_only() {
            let n = $src.len() / 24 * 24;
            // SAFETY: the CPU has AVX2 (checked just above), and FMA for `avx2::hue`
            // (checked by `hue_rgb` before it dispatches).
            unsafe { $avx2(&$src[..n], &mut $out[..n] $(, $arg)*) };
            $planes(&$src[n..], &mut $out[n..] $(, $arg)*);
            return;
        }
        $planes($src, $out $(, $arg)*)
    }};
}

/// [`super::photometric::hue`] on RGB bytes.
pub(crate) fn hue_rgb(src: &[u8], out: &mut [u8], shift: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if !std::arch::is_x86_feature_detected!("fma") {
            return hue_planes(src, out, shift);
        }
        if super::simd::level() == super::simd::Level::Avx512 {
            // Groups of 16 pixels with AVX-512, then the rest as without it.
            let n = src.len() / 48 * 48;
            // SAFETY: the CPU has AVX-512 F/BW/VL/DQ (checked by `level`) and FMA.
            unsafe { avx512::hue(&src[..n], &mut out[..n], shift) };
            let (src, out) = (&src[n..], &mut out[n..]);
            dispatch!(src, out, avx2::hue, hue_planes, shift);
            return;
        }
    }
    dispatch!(src, out, avx2::hue, hue_planes, shift)
}

/// [`super::photometric::saturation`] on RGB bytes: `blend(v, luma, factor)`.
pub(crate) fn saturation_rgb(src: &[u8], out: &mut [u8], factor: f32) {
    dispatch!(src, out, avx2::saturation, saturation_planes, factor)
}

/// [`super::photometric::grayscale`] on RGB bytes: the luma in every channel.
pub(crate) fn grayscale_rgb(src: &[u8], out: &mut [u8]) {
    dispatch!(src, out, avx2::grayscale, grayscale_planes)
}

/// The AVX2 kernels: the plane kernels' operations in the same order on `__m256` (selects
/// as blends), over whole groups of eight pixels (`src.len()` a multiple of 24).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::super::photometric::LUMA;
    use super::super::simd::avx2::{load_rgb8, q8x8, store_rgb8};

    /// `LUMA . rgb`, summed left to right.
    #[target_feature(enable = "avx2")]
    fn luma([r, g, b]: [__m256; 3]) -> __m256 {
        let s = _mm256_add_ps(
            _mm256_mul_ps(_mm256_set1_ps(LUMA[0]), r),
            _mm256_mul_ps(_mm256_set1_ps(LUMA[1]), g),
        );
        _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(LUMA[2]), b))
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn grayscale(src: &[u8], out: &mut [u8]) {
        for (s, o) in src.chunks_exact(24).zip(out.chunks_exact_mut(24)) {
            let l = q8x8(luma(load_rgb8(s)));
            store_rgb8(l, l, l, o);
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn saturation(src: &[u8], out: &mut [u8], factor: f32) {
        let (f, g) = (_mm256_set1_ps(factor), _mm256_set1_ps(1.0 - factor));
        for (s, o) in src.chunks_exact(24).zip(out.chunks_exact_mut(24)) {
            let p = load_rgb8(s);
            let l = _mm256_mul_ps(g, luma(p));
            let [r, gr, b] = p.map(|c| q8x8(_mm256_add_ps(_mm256_mul_ps(f, c), l)));
            store_rgb8(r, gr, b, o);
        }
    }

    /// `wrap01`: `x - trunc(x)`, plus 1 where negative.
    #[target_feature(enable = "avx2")]
    fn wrap01(x: __m256) -> __m256 {
        let r = _mm256_sub_ps(
            x,
            _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(x),
        );
        let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(r, _mm256_setzero_ps());
        _mm256_blendv_ps(r, _mm256_add_ps(r, _mm256_set1_ps(1.0)), neg)
    }

    /// `x.clamp(0, 1)` for non-NaN `x`.
    #[target_feature(enable = "avx2")]
    fn clamp01(x: __m256) -> __m256 {
        _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(1.0))
    }

    /// `a / b` from `y = 1 / b` (rounded to nearest) without a division: `q = a y`, the
    /// residual `a - b q` (exact with a fused multiply-add), then `q + residual y`
    /// (Markstein's correction), the correctly rounded quotient, i.e. the same `f32` as
    /// `a / b`. Checked against `/` on every input the hue kernel can meet (test
    /// `hue_kernel_is_the_scalar_formula_on_every_colour`).
    #[target_feature(enable = "avx2,fma")]
    fn div(a: __m256, b: __m256, y: __m256) -> __m256 {
        let q = _mm256_mul_ps(a, y);
        let r = _mm256_fnmadd_ps(b, q, a);
        _mm256_fmadd_ps(r, y, q)
    }

    /// Needs FMA as well as AVX2 (see [`div`]).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn hue(src: &[u8], out: &mut [u8], shift: f32) {
        let set = _mm256_set1_ps;
        let (one, shift) = (set(1.0), set(shift));
        let (inv255, inv6) = (set(1.0 / 255.0), set(1.0 / 6.0));
        let eq = |a, b| _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b);
        let or = |a, b| _mm256_or_ps(a, b);
        // Two passes over chunks of `G` groups (rgb -> shifted hsv into registers spilled to
        // the stack, then hsv -> rgb): shorter dependency chains per loop iteration let the
        // CPU overlap more iterations (1.8x faster than one pass on the Zen 5 test machine).
        const G: usize = 8;
        let zero = _mm256_setzero_ps();
        let (mut h6s, mut sats, mut vs) = ([zero; G], [zero; G], [zero; G]);
        for (sc, oc) in src.chunks(24 * G).zip(out.chunks_mut(24 * G)) {
            for (k, s) in sc.chunks_exact(24).enumerate() {
                let [r, g, b] = load_rgb8(s).map(|c| div(c, set(255.0), inv255));
                // rgb_to_hsv
                let maxc = _mm256_max_ps(_mm256_max_ps(r, g), b);
                let minc = _mm256_min_ps(_mm256_min_ps(r, g), b);
                let cr = _mm256_sub_ps(maxc, minc);
                let gray = eq(cr, zero);
                let sat = _mm256_div_ps(cr, maxc);
                let inv_cr = _mm256_div_ps(one, cr);
                let [rc, gc, bc] = [r, g, b].map(|c| div(_mm256_sub_ps(maxc, c), cr, inv_cr));
                let h_r = _mm256_sub_ps(bc, gc);
                let h_g = _mm256_sub_ps(_mm256_add_ps(set(2.0), rc), bc);
                let h_b = _mm256_sub_ps(_mm256_add_ps(set(4.0), gc), rc);
                let h = _mm256_blendv_ps(_mm256_blendv_ps(h_b, h_g, eq(maxc, g)), h_r, eq(maxc, r));
                let h = wrap01(_mm256_add_ps(div(h, set(6.0), inv6), one));
                let (h, sat) = (_mm256_andnot_ps(gray, h), _mm256_andnot_ps(gray, sat));
                // shift
                h6s[k] = _mm256_mul_ps(wrap01(_mm256_add_ps(h, shift)), set(6.0));
                sats[k] = sat;
                vs[k] = maxc;
            }
            for (k, o) in oc.chunks_exact_mut(24).enumerate() {
                // hsv_to_rgb
                let (h6, sat, v) = (h6s[k], sats[k], vs[k]);
                let i6 = _mm256_floor_ps(h6);
                let f = _mm256_sub_ps(h6, i6);
                let pp = clamp01(_mm256_mul_ps(v, _mm256_sub_ps(one, sat)));
                let q = clamp01(_mm256_mul_ps(v, _mm256_sub_ps(one, _mm256_mul_ps(sat, f))));
                let t = _mm256_mul_ps(sat, _mm256_sub_ps(one, f));
                let t = clamp01(_mm256_mul_ps(v, _mm256_sub_ps(one, t)));
                let s0 = or(eq(i6, set(0.0)), eq(i6, set(6.0)));
                let (s1, s2, s3, s4) = (
                    eq(i6, one),
                    eq(i6, set(2.0)),
                    eq(i6, set(3.0)),
                    eq(i6, set(4.0)),
                );
                let s5 = _mm256_andnot_ps(
                    or(or(s0, s1), or(or(s2, s3), s4)),
                    _mm256_castsi256_ps(_mm256_set1_epi32(-1)),
                );
                // The scalar kernel's if-chains; the sectors exclude each other.
                let ro = _mm256_blendv_ps(
                    _mm256_blendv_ps(_mm256_blendv_ps(pp, t, s4), q, s1),
                    v,
                    or(s0, s5),
                );
                let go = _mm256_blendv_ps(
                    _mm256_blendv_ps(_mm256_blendv_ps(pp, q, s3), v, or(s1, s2)),
                    t,
                    s0,
                );
                let bo = _mm256_blendv_ps(
                    _mm256_blendv_ps(_mm256_blendv_ps(v, q, s5), t, s2),
                    pp,
                    or(s0, s1),
                );
                let [ro, go, bo] = [ro, go, bo].map(|c| q8x8(_mm256_mul_ps(c, set(255.0))));
                store_rgb8(ro, go, bo, o);
            }
        }
    }
}

/// [`avx2::hue`] on sixteen pixels at a time: the same operations on `__m512` (compares
/// give masks, selects are masked blends), loaded and stored as two groups of eight.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::super::simd::avx2::{load_rgb8, store_rgb8};

    /// `a / b` from `y = 1 / b`, as [`super::avx2`]'s `div` (Markstein's correction).
    #[target_feature(enable = "avx512f,fma")]
    fn div(a: __m512, b: __m512, y: __m512) -> __m512 {
        let q = _mm512_mul_ps(a, y);
        let r = _mm512_fnmadd_ps(b, q, a);
        _mm512_fmadd_ps(r, y, q)
    }

    /// `wrap01`: `x - trunc(x)`, plus 1 where negative.
    #[target_feature(enable = "avx512f")]
    fn wrap01(x: __m512) -> __m512 {
        let r = _mm512_sub_ps(
            x,
            _mm512_roundscale_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(x),
        );
        let neg = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(r, _mm512_setzero_ps());
        _mm512_mask_add_ps(r, neg, r, _mm512_set1_ps(1.0))
    }

    /// `x.clamp(0, 1)` for non-NaN `x`.
    #[target_feature(enable = "avx512f")]
    fn clamp01(x: __m512) -> __m512 {
        _mm512_min_ps(_mm512_max_ps(x, _mm512_setzero_ps()), _mm512_set1_ps(1.0))
    }

    /// `q8` on sixteen lanes (as `simd::avx2::q8x8`); result in `i32` lanes.
    #[target_feature(enable = "avx512f")]
    fn q8x16(v: __m512) -> __m512i {
        let magic = _mm512_set1_ps(8_388_608.0);
        let c = _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(255.0));
        let b = _mm512_add_ps(c, magic);
        let tie = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(
            _mm512_sub_ps(c, _mm512_sub_ps(b, magic)),
            _mm512_set1_ps(0.5),
        );
        let r = _mm512_sub_epi32(_mm512_castps_si512(b), _mm512_castps_si512(magic));
        _mm512_mask_add_epi32(r, tie, r, _mm512_set1_epi32(1))
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    pub(super) fn hue(src: &[u8], out: &mut [u8], shift: f32) {
        let set = _mm512_set1_ps;
        let (one, shift) = (set(1.0), set(shift));
        let (inv255, inv6) = (set(1.0 / 255.0), set(1.0 / 6.0));
        let eq = |a, b| _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b);
        // Two passes over chunks of `G` groups, as in `avx2::hue`.
        const G: usize = 8;
        let zero = _mm512_setzero_ps();
        let (mut h6s, mut sats, mut vs) = ([zero; G], [zero; G], [zero; G]);
        for (sc, oc) in src.chunks(48 * G).zip(out.chunks_mut(48 * G)) {
            for (k, s) in sc.chunks_exact(48).enumerate() {
                let (lo, hi) = (load_rgb8(&s[..24]), load_rgb8(&s[24..]));
                let join =
                    |a: __m256, b: __m256| _mm512_insertf32x8::<1>(_mm512_castps256_ps512(a), b);
                let [r, g, b] = [0, 1, 2].map(|c| div(join(lo[c], hi[c]), set(255.0), inv255));
                // rgb_to_hsv
                let maxc = _mm512_max_ps(_mm512_max_ps(r, g), b);
                let minc = _mm512_min_ps(_mm512_min_ps(r, g), b);
                let cr = _mm512_sub_ps(maxc, minc);
                let gray = eq(cr, zero);
                let sat = _mm512_div_ps(cr, maxc);
                let inv_cr = _mm512_div_ps(one, cr);
                let [rc, gc, bc] = [r, g, b].map(|c| div(_mm512_sub_ps(maxc, c), cr, inv_cr));
                let h_r = _mm512_sub_ps(bc, gc);
                let h_g = _mm512_sub_ps(_mm512_add_ps(set(2.0), rc), bc);
                let h_b = _mm512_sub_ps(_mm512_add_ps(set(4.0), gc), rc);
                let h = _mm512_mask_blend_ps(eq(maxc, g), h_b, h_g);
                let h = _mm512_mask_blend_ps(eq(maxc, r), h, h_r);
                let h = wrap01(_mm512_add_ps(div(h, set(6.0), inv6), one));
                let (h, sat) = (
                    _mm512_maskz_mov_ps(!gray, h),
                    _mm512_maskz_mov_ps(!gray, sat),
                );
                // shift
                h6s[k] = _mm512_mul_ps(wrap01(_mm512_add_ps(h, shift)), set(6.0));
                sats[k] = sat;
                vs[k] = maxc;
            }
            for (k, o) in oc.chunks_exact_mut(48).enumerate() {
                // hsv_to_rgb
                let (h6, sat, v) = (h6s[k], sats[k], vs[k]);
                let i6 = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(h6);
                let f = _mm512_sub_ps(h6, i6);
                let pp = clamp01(_mm512_mul_ps(v, _mm512_sub_ps(one, sat)));
                let q = clamp01(_mm512_mul_ps(v, _mm512_sub_ps(one, _mm512_mul_ps(sat, f))));
                let t = _mm512_mul_ps(sat, _mm512_sub_ps(one, f));
                let t = clamp01(_mm512_mul_ps(v, _mm512_sub_ps(one, t)));
                let s0 = eq(i6, set(0.0)) | eq(i6, set(6.0));
                let (s1, s2, s3, s4) = (
                    eq(i6, one),
                    eq(i6, set(2.0)),
                    eq(i6, set(3.0)),
                    eq(i6, set(4.0)),
                );
                let s5 = !(s0 | s1 | s2 | s3 | s4);
                // The scalar kernel's if-chains; the sectors exclude each other.
                let sel = |m, a, b| _mm512_mask_blend_ps(m, a, b);
                let ro = sel(s0 | s5, sel(s1, sel(s4, pp, t), q), v);
                let go = sel(s0, sel(s1 | s2, sel(s3, pp, q), v), t);
                let bo = sel(s0 | s1, sel(s2, sel(s5, v, q), t), pp);
                let [ro, go, bo] = [ro, go, bo].map(|c| q8x16(_mm512_mul_ps(c, set(255.0))));
                let half = |x: __m512i, k: usize| {
                    if k == 0 {
                        _mm512_castsi512_si256(x)
                    } else {
                        _mm512_extracti64x4_epi64::<1>(x)
                    }
                };
                for (k, o) in o.chunks_exact_mut(24).enumerate() {
                    store_rgb8(half(ro, k), half(go, k), half(bo, k), o);
                }
            }
        }
    }
}

multiversion! {
    /// The sum over RGB pixels of their luma `LUMA[0] r + LUMA[1] g + LUMA[2] b`, each luma
    /// in `f32` (left to right, as the scalar code), summed in `f64`: `contrast`'s mean. 16
    /// accumulators side by side (a single chain of dependent additions would take 4 cycles
    /// a pixel). Up to 2^18 pixels (512 x 512) every partial sum is exact, whatever the
    /// order: each nonzero luma is at least 0.114, so a multiple of 2^-27, and a total below
    /// 2^18 * 2^8 = 2^26 needs fewer than 53 bits. So the result is the sequential sum's;
    /// beyond, it is as accurate and still deterministic.
    pub(crate) fn luma_sum(src: &[u8]) -> f64 {
        const P: usize = 16;
        let mut acc = [0f64; P];
        let mut chunks = src.chunks_exact(3 * P);
        for chunk in &mut chunks {
            for (a, px) in acc.iter_mut().zip(chunk.chunks_exact(3)) {
                *a += (LUMA[0] * px[0] as f32 + LUMA[1] * px[1] as f32 + LUMA[2] * px[2] as f32)
                    as f64;
            }
        }
        let mut sum: f64 = acc.iter().sum();
        for px in chunks.remainder().chunks_exact(3) {
            sum += (LUMA[0] * px[0] as f32 + LUMA[1] * px[1] as f32 + LUMA[2] * px[2] as f32)
                as f64;
        }
        sum
    }
}
