//! The colour kernels ([`hue_rgb`](crate::image::kernels::color::hue_rgb), saturation,
//! grayscale) with AVX2 and AVX-512 intrinsics.

/// The AVX2 kernels: the plane kernels' operations in the same order on `__m256` (selects
/// as blends), over whole groups of eight pixels (`src.len()` a multiple of 24).
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    use crate::image::cpu::photometric::LUMA;
    use crate::image::kernels::x86::avx2::{load_rgb8, q8x8, store_rgb8};

    /// `LUMA . rgb`, summed left to right.
    #[target_feature(enable = "avx2")]
    fn luma([r, g, b]: [__m256; 3]) -> __m256 {
        let s = _mm256_add_ps(
            _mm256_mul_ps(_mm256_set1_ps(LUMA[0]), r),
            _mm256_mul_ps(_mm256_set1_ps(LUMA[1]), g),
        );
        _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(LUMA[2]), b))
    }

    /// The truncated luma in every channel, as the plane kernel.
    #[target_feature(enable = "avx2")]
    pub(crate) fn grayscale(src: &[u8], out: &mut [u8]) {
        for (s, o) in src.chunks_exact(24).zip(out.chunks_exact_mut(24)) {
            let l = luma(load_rgb8(s));
            let l = q8x8(_mm256_round_ps::<
                { _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC },
            >(l));
            store_rgb8(l, l, l, o);
        }
    }

    /// [`gray_sum`](crate::image::kernels::color::gray_sum) over whole groups of eight
    /// pixels (`src.len()` a multiple of 24): the luma as the plane kernel computes it,
    /// truncated by the conversion to `i32` (the luma lies in `[0, 255)`, where truncation is
    /// the floor), summed in `i32` lanes, four independent chains; a block of at most 2^16
    /// groups adds at most 255 * 2^16 per lane, far from overflow. Integer sums are exact
    /// in any order, so the total is the plane kernel's.
    #[target_feature(enable = "avx2")]
    pub(crate) fn gray_sum(src: &[u8]) -> u64 {
        let gray = |s: &[u8]| _mm256_cvttps_epi32(luma(load_rgb8(s)));
        let mut total = 0u64;
        for block in src.chunks(24 << 16) {
            let mut acc = [_mm256_setzero_si256(); 4];
            let mut fours = block.chunks_exact(96);
            for s in &mut fours {
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_add_epi32(*a, gray(&s[24 * k..]));
                }
            }
            for s in fours.remainder().chunks_exact(24) {
                acc[0] = _mm256_add_epi32(acc[0], gray(s));
            }
            let sum = _mm256_add_epi32(
                _mm256_add_epi32(acc[0], acc[1]),
                _mm256_add_epi32(acc[2], acc[3]),
            );
            let mut lanes = [0i32; 8];
            // SAFETY: a 32-byte unaligned store into a 32-byte array.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sum) };
            total += lanes.iter().map(|&v| v as u64).sum::<u64>();
        }
        total
    }

    /// `x as u8` on eight lanes (`photometric::trunc8`): clamp to `[0, 255]` (NaN gives 0,
    /// as `max` returns its second operand), then convert truncating. Result in `i32` lanes.
    #[target_feature(enable = "avx2")]
    fn trunc8x8(x: __m256) -> __m256i {
        let c = _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(255.0));
        _mm256_cvttps_epi32(c)
    }

    /// `f v + (1 - f) floor(luma)`, truncated, as the plane kernel.
    #[target_feature(enable = "avx2")]
    pub(crate) fn saturation(src: &[u8], out: &mut [u8], factor: f32) {
        let (f, g) = (_mm256_set1_ps(factor), _mm256_set1_ps(1.0 - factor));
        for (s, o) in src.chunks_exact(24).zip(out.chunks_exact_mut(24)) {
            let p = load_rgb8(s);
            let gray = _mm256_round_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(luma(p));
            let l = _mm256_mul_ps(g, gray);
            let [r, gr, b] = p.map(|c| trunc8x8(_mm256_add_ps(_mm256_mul_ps(f, c), l)));
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
    pub(crate) fn hue(src: &[u8], out: &mut [u8], shift: f32) {
        let set = _mm256_set1_ps;
        let (one, shift) = (set(1.0), set(shift));
        let (inv255, inv6) = (set(1.0 / 255.0), set(1.0 / 6.0));
        let eq = |a, b| _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b);
        let or = |a, b| _mm256_or_ps(a, b);
        // Two passes over chunks of `G` groups (rgb -> shifted hsv into registers spilled to
        // the stack, then hsv -> rgb): shorter dependency chains per loop iteration let the
        // CPU overlap more iterations (1.8x faster than one pass, measured with
        // `cargo bench --bench augment hue`).
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
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    use crate::image::kernels::x86::avx2::{load_rgb8, store_rgb8};
    use crate::image::kernels::x86::avx512::q8x16;

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

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    pub(crate) fn hue(src: &[u8], out: &mut [u8], shift: f32) {
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
