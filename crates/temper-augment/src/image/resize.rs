//! The separable resize behind [`super::geometric::resize`] and the fused crop + resize of
//! `random-resized-crop`: the `image` crate's `resize(.., FilterType::Triangle)` (PIL
//! `BILINEAR` with antialiasing), computed the same way in the same order, so the bytes are
//! identical (test `resize_kernel_is_the_image_crate_bit_for_bit`), but with the weight
//! tables built once per call and per axis, the column pass run over whole rows (vectorized)
//! into one reused `f32` row, and no 4-channel `f32` intermediate image. The source may be a
//! window of a larger image (a crop box inside it), read in place.

use super::raster::q8;
use super::simd::multiversion;

/// A window of an interleaved 8-bit image: `h` rows of `w` pixels of `c` channels, row `i`
/// starting at `data[offset + i * stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Window<'a> {
    pub data: &'a [u8],
    pub offset: usize,
    pub stride: usize,
    pub w: usize,
    pub h: usize,
    pub c: usize,
}

impl<'a> Window<'a> {
    fn row(&self, i: usize) -> &'a [u8] {
        let s = self.offset + i * self.stride;
        &self.data[s..s + self.w * self.c]
    }
}

/// The filter taps of one axis: output `o` reads inputs `first[o] .. first[o] + taps`, with
/// weights `weights[o * taps ..][.. taps]` (zero past the `image` crate's own taps).
struct Taps {
    first: Vec<usize>,
    taps: usize,
    weights: Vec<f32>,
}

/// `image::imageops::sample`'s triangle filter for `input -> output` samples, as its
/// `horizontal_sample` / `vertical_sample` compute it (same `f32` expressions).
fn taps(input: usize, output: usize) -> Taps {
    let ratio = input as f32 / output as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = sratio;
    let mut ranges = Vec::with_capacity(output);
    let mut all: Vec<f32> = Vec::new();
    for o in 0..output {
        let centre = (o as f32 + 0.5) * ratio;
        let left = ((centre - support).floor() as i64).clamp(0, input as i64 - 1);
        let right = ((centre + support).ceil() as i64).clamp(left + 1, input as i64);
        let centre = centre - 0.5;
        let start = all.len();
        let mut sum = 0.0;
        for i in left..right {
            let x = (i as f32 - centre) / sratio;
            let w = if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 };
            all.push(w);
            sum += w;
        }
        for w in &mut all[start..] {
            *w /= sum;
        }
        ranges.push((left as usize, start, all.len() - start));
    }
    let taps = ranges.iter().map(|r| r.2).max().unwrap_or(1);
    let mut first = Vec::with_capacity(output);
    let mut weights = vec![0f32; output * taps];
    for (o, &(left, start, n)) in ranges.iter().enumerate() {
        first.push(left);
        weights[o * taps..o * taps + n].copy_from_slice(&all[start..start + n]);
    }
    Taps {
        first,
        taps,
        weights,
    }
}

/// Resizes `src` to `ow x oh` (both at least 1; `src` not empty).
pub(crate) fn resize(src: Window<'_>, ow: usize, oh: usize) -> Vec<u8> {
    let (c, n_in) = (src.c, src.w * src.c);
    let rows = taps(src.h, oh);
    let cols = taps(src.w, ow);
    // The column pass's row, plus `cols.taps` zero pixels so that padded taps (and the 4th
    // lane of an RGB pixel read as 4 floats) read zeros.
    let mut acc = vec![0f32; n_in + cols.taps * c + 1];
    let mut sums = vec![0f32; ow * c + 1];
    let mut out = vec![0u8; ow * oh * c];
    for (oy, out_row) in out.chunks_exact_mut(ow * c).enumerate() {
        let ws = &rows.weights[oy * rows.taps..(oy + 1) * rows.taps];
        let first = rows.first[oy];
        // Taps past the input (zero weight) would read past it: stop at the last row.
        let n_taps = rows.taps.min(src.h - first);
        for (t, &w) in ws[..n_taps].iter().enumerate() {
            column_tap(&mut acc[..n_in], src.row(first + t), w, t == 0);
        }
        let (f, w) = (&cols.first[..], &cols.weights[..]);
        match (c, cols.taps) {
            (1, 2) => row_fixed::<1, 1, 2>(&acc, f, w, &mut sums, out_row),
            (1, 3) => row_fixed::<1, 1, 3>(&acc, f, w, &mut sums, out_row),
            (3, 2) => row_fixed::<3, 4, 2>(&acc, f, w, &mut sums, out_row),
            (3, 3) => row_fixed::<3, 4, 3>(&acc, f, w, &mut sums, out_row),
            (3, 4) => row_fixed::<3, 4, 4>(&acc, f, w, &mut sums, out_row),
            (1, t) => row_pass::<1>(&acc, f, w, t, out_row),
            (3, t) => row_pass::<3>(&acc, f, w, t, out_row),
            _ => unreachable!("1 or 3 channels"),
        }
    }
    out
}

multiversion! {
    /// `acc = w row` (first tap) or `acc += w row`, as `image`'s `vertical_sample` sums
    /// `0 + v0 w0 + v1 w1 + ...` (`0 + x` is `x` for these non-negative terms).
    fn column_tap(acc: &mut [f32], row: &[u8], w: f32, first: bool) {
        if first {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = v as f32 * w;
            }
        } else {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v as f32 * w;
            }
        }
    }
}

multiversion! {
    /// One output row from the column pass's row: `image`'s `horizontal_sample` (sum from 0 in
    /// tap order, zero-weight padding taps adding `+0`, then rounded and clamped). Eight
    /// output pixels are summed side by side, tap by tap: each sum keeps its order, and the
    /// 8 C independent chains keep the adder busy (one pixel's chain of `taps` dependent
    /// additions would leave it idle, as in a strong downscale with 15 taps).
    fn row_pass<const C: usize>(
        acc: &[f32],
        first: &[usize],
        weights: &[f32],
        taps: usize,
        out: &mut [u8],
    ) {
        const P: usize = 8;
        let whole = first.len() / P * P;
        for ((px, fs), ws) in out[..whole * C]
            .chunks_exact_mut(P * C)
            .zip(first.chunks_exact(P))
            .zip(weights.chunks_exact(P * taps))
        {
            let mut s = [[0f32; C]; P];
            for t in 0..taps {
                for p in 0..P {
                    let w = ws[p * taps + t];
                    let src = &acc[(fs[p] + t) * C..(fs[p] + t + 1) * C];
                    for k in 0..C {
                        s[p][k] += src[k] * w;
                    }
                }
            }
            for p in 0..P {
                for k in 0..C {
                    px[p * C + k] = q8(s[p][k]);
                }
            }
        }
        for ((px, &f), ws) in out[whole * C..]
            .chunks_exact_mut(C)
            .zip(&first[whole..])
            .zip(weights[whole * taps..].chunks_exact(taps))
        {
            let src = &acc[f * C..(f + taps) * C];
            let mut s = [0f32; C];
            for (t, &w) in ws.iter().enumerate() {
                for k in 0..C {
                    s[k] += src[t * C + k] * w;
                }
            }
            for k in 0..C {
                px[k] = q8(s[k]);
            }
        }
    }
}

multiversion! {
    /// [`row_pass`] with `T` taps, each pixel's `C` channels summed in `L >= C` lanes (RGB as
    /// 4 floats, one vector; the 4th lane reads the next value and its result is overwritten
    /// by the next pixel's), into the `f32` row `sums` (`L - C` longer than the output row),
    /// then rounded in one pass over the row.
    fn row_fixed<const C: usize, const L: usize, const T: usize>(
        acc: &[f32],
        first: &[usize],
        weights: &[f32],
        sums: &mut [f32],
        out: &mut [u8],
    ) {
        let n = out.len();
        for (x, (&f, ws)) in first.iter().zip(weights.chunks_exact(T)).enumerate() {
            let src = &acc[f * C..f * C + (T - 1) * C + L];
            let mut s = [0f32; L];
            for t in 0..T {
                let w = ws[t];
                for k in 0..L {
                    s[k] += src[t * C + k] * w;
                }
            }
            sums[x * C..x * C + L].copy_from_slice(&s);
        }
        for (o, &v) in out.iter_mut().zip(&sums[..n]) {
            *o = q8(v);
        }
    }
}
