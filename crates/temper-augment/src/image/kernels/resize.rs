//! The separable resize behind [`crate::image::cpu::geometric::resize`] and the fused crop + resize of
//! `random-resized-crop`. With antialiasing it is the `image` crate's `resize(..,
//! FilterType::Triangle)` (PIL `BILINEAR`), computed the same way in the same order, so the
//! bytes are identical (test `resize_kernel_is_the_image_crate_bit_for_bit`); without, plain
//! bilinear interpolation on half-pixel centres (OpenCV `INTER_LINEAR`, torchvision
//! `antialias=False`). Faster than the `image` crate because:
//! - the weight tables are built once per call and axis, with zero-weight end taps dropped;
//! - the column pass sums all of an output row's input rows block by block in registers;
//! - the row pass runs 16 output values per AVX-512 vector, each tap one two-register
//!   permute of the column pass's row when the taps are near each other, as when enlarging;
//!   AVX2 runs 8 per vector, each tap two one-register permutes and a blend where the taps
//!   of 8 values lie within 16 inputs (an enlarging crop), gathers otherwise (see
//!   `kernels/x86/resize.rs`);
//! - each output row is appended to the image as it is made, with no zeroed image first;
//! - there is no 4-channel `f32` intermediate image, and a crop box is read in place.

use std::cell::RefCell;
use std::rc::Rc;

use crate::image::cpu::raster::q8;
use temper_simd::{Level, multiversion};

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

/// The filter taps of one axis: output `o` reads inputs `first[o] .. first[o] + count[o]`
/// with weights `weights[o * taps ..][.. count[o]]`; the rest of its `taps` weights are zero.
pub(crate) struct Taps {
    pub first: Vec<usize>,
    pub count: Vec<usize>,
    pub taps: usize,
    pub weights: Vec<f32>,
}

multiversion! {
    /// The triangle filter for `input -> output` samples (both at least 1) as `image`'s
    /// `horizontal_sample` / `vertical_sample` compute it (same `f32` expressions): output
    /// `o` centres at `s = (o + 0.5) r` (`r = input / output`), reads inputs
    /// `floor(s - R) ..< ceil(s + R)` clamped to the input with weight
    /// `tri((i - (s - 0.5)) / R)`, normalized to sum 1. `R = max(r, 1)` with `antialias` (the
    /// support widened when shrinking), else 1: plain bilinear interpolation, where clamping
    /// and renormalizing at the edges equals OpenCV's replicated border. Zero weights at
    /// either end are dropped: adding `+0` to a sum of non-negative terms changes nothing.
    pub(crate) fn taps(input: usize, output: usize, antialias: bool) -> Taps {
        let ratio = input as f32 / output as f32;
        let sratio = if ratio < 1.0 || !antialias { 1.0 } else { ratio };
        let support = sratio;
        // At most `2 support + 1` inputs per output (the floor and ceil add one each).
        let max = (2.0 * support).ceil() as usize + 2;
        let mut first = Vec::with_capacity(output);
        let mut count = Vec::with_capacity(output);
        let mut sums = Vec::with_capacity(output);
        let mut raw = vec![0f32; output * max];
        for (o, ws) in raw.chunks_exact_mut(max).enumerate() {
            let centre = (o as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, input as i64 - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, input as i64);
            let centre = centre - 0.5;
            let n = (right - left) as usize;
            for (k, w) in ws[..n].iter_mut().enumerate() {
                let d = (left + k as i64) as f32 - centre;
                // Dividing by 1 is exact: skip it.
                let x = if sratio == 1.0 { d } else { d / sratio };
                *w = if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 };
            }
            sums.push(ws[..n].iter().fold(0.0, |s, &w| s + w));
            let lead = ws[..n - 1].iter().take_while(|&&w| w == 0.0).count();
            let trail = ws[lead + 1..n].iter().rev().take_while(|&&w| w == 0.0).count();
            let kept = n - lead - trail;
            ws.copy_within(lead..lead + kept, 0);
            ws[kept..].fill(0.0);
            first.push(left as usize + lead);
            count.push(kept);
        }
        let taps = count.iter().copied().max().unwrap_or(1);
        // Normalized in one pass over all weights (the divisions vectorize; zero stays zero).
        let mut weights = Vec::with_capacity(output * taps);
        let mut divisors = Vec::with_capacity(output * taps);
        for (ws, &sum) in raw.chunks_exact(max).zip(&sums) {
            weights.extend_from_slice(&ws[..taps]);
            divisors.extend(std::iter::repeat_n(sum, taps));
        }
        for (w, &d) in weights.iter_mut().zip(&divisors) {
            *w /= d;
        }
        Taps {
            first,
            count,
            taps,
            weights,
        }
    }
}

/// The tables of one axis: its [`Taps`] and, for the row pass, its [`RowPlan`].
struct Axis {
    taps: Taps,
    plan: Option<RowPlan>,
}

/// The tables of an `input -> output` axis, with the row plan for `channels` if given, from
/// a small per-thread cache: they depend on the sizes alone, and building them costs about
/// as much as resizing a small image (a random-resized crop draws from a few dozen box
/// sizes).
fn axis(input: usize, output: usize, antialias: bool, channels: Option<usize>) -> Rc<Axis> {
    const SLOTS: usize = 64;
    type Key = (usize, usize, bool, Option<usize>);
    type Slot = Option<(Key, Rc<Axis>)>;
    thread_local! {
        static CACHE: RefCell<Vec<Slot>> = RefCell::new(vec![None; SLOTS]);
    }
    let key = (input, output, antialias, channels);
    let slot = (input.wrapping_mul(31) ^ output.wrapping_mul(17) ^ channels.unwrap_or(7)) % SLOTS;
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((k, hit)) = &cache[slot]
            && *k == key
        {
            return hit.clone();
        }
        let taps = taps(input, output, antialias);
        let plan = channels.and_then(|c| RowPlan::new(&taps, c));
        let made = Rc::new(Axis { taps, plan });
        cache[slot] = Some((key, made.clone()));
        made
    })
}

/// Resizes `src` to `ow x oh` (both at least 1; `src` not empty).
pub(crate) fn resize(src: Window<'_>, ow: usize, oh: usize, antialias: bool) -> Vec<u8> {
    let (c, n_in) = (src.c, src.w * src.c);
    let rows = axis(src.h, oh, antialias, None);
    let cols = axis(src.w, ow, antialias, Some(c));
    let level = temper_simd::level();
    let (rows, plan) = (
        &rows.taps,
        cols.plan.as_ref().filter(|_| level != Level::Portable),
    );
    let cols = &cols.taps;
    // The column pass's row, then zeros: padded taps (zero weight), the 4th lane of an RGB
    // pixel read as 4 floats and the row plan's 32-float windows read zeros past the row.
    let mut acc = vec![0f32; n_in + (cols.taps * c + 1).max(RowPlan::REACH)];
    // The portable row passes' `f32` row; the row plan writes bytes directly.
    let mut sums = if plan.is_some() {
        Vec::new()
    } else {
        vec![0f32; ow * c + 1]
    };
    // Each row is made in `row` and appended: zeroing the whole output first cost 10% of a
    // random-resized crop (`cargo bench --bench augment -- random-resized-crop`).
    let mut out = Vec::with_capacity(ow * oh * c);
    let mut row = vec![0u8; ow * c];
    let out_row = &mut row[..];
    let mut inputs: Vec<&[u8]> = Vec::with_capacity(rows.taps);
    for oy in 0..oh {
        let n = rows.count[oy];
        inputs.clear();
        inputs.extend((rows.first[oy]..rows.first[oy] + n).map(|i| src.row(i)));
        column_pass(
            &mut acc[..n_in],
            &inputs,
            &rows.weights[oy * rows.taps..][..n],
        );
        if let Some(plan) = plan {
            plan.run(level, &acc, out_row);
            out.extend_from_slice(out_row);
            continue;
        }
        let (f, w) = (&cols.first[..], &cols.weights[..]);
        match (c, cols.taps) {
            (1, 2) => row_fixed::<1, 1, 2>(&acc, f, w, &mut sums, out_row),
            (1, 3) => row_fixed::<1, 1, 3>(&acc, f, w, &mut sums, out_row),
            (3, 2) => row_fixed::<3, 4, 2>(&acc, f, w, &mut sums, out_row),
            (3, 3) => row_fixed::<3, 4, 3>(&acc, f, w, &mut sums, out_row),
            (3, 4) => row_fixed::<3, 4, 4>(&acc, f, w, &mut sums, out_row),
            (1, t) => row_pass::<1>(&acc, f, w, t, out_row),
            (3, t) => row_lanes::<3, 4>(&acc, f, w, t, &mut sums, out_row),
            _ => unreachable!("1 or 3 channels"),
        }
        out.extend_from_slice(out_row);
    }
    out
}

multiversion! {
    /// `acc = sum_t w_t rows_t` in tap order, as `image`'s `vertical_sample` sums
    /// `0 + v0 w0 + v1 w1 + ...` (`0 + x` is `x` for these non-negative terms), 64 values at
    /// a time held in registers across the taps, so `acc` is written once.
    fn column_pass(acc: &mut [f32], rows: &[&[u8]], ws: &[f32]) {
        let n = acc.len();
        let big = n / 64 * 64;
        let small = big + (n - big) / 16 * 16;
        for at in (0..big).step_by(64) {
            column_block::<64>(&mut acc[at..at + 64], rows, ws, at);
        }
        for at in (big..small).step_by(16) {
            column_block::<16>(&mut acc[at..at + 16], rows, ws, at);
        }
        for at in small..n {
            column_block::<1>(&mut acc[at..at + 1], rows, ws, at);
        }
    }
}

/// [`column_pass`] on `acc = values at .. at + B`, summed in `B` registers' worth of lanes.
#[inline(always)]
fn column_block<const B: usize>(acc: &mut [f32], rows: &[&[u8]], ws: &[f32], at: usize) {
    let mut s = [0f32; B];
    let r0 = &rows[0][at..at + B];
    for k in 0..B {
        s[k] = r0[k] as f32 * ws[0];
    }
    for (row, &w) in rows[1..].iter().zip(&ws[1..]) {
        let r = &row[at..at + B];
        for k in 0..B {
            s[k] += r[k] as f32 * w;
        }
    }
    acc.copy_from_slice(&s);
}

/// The row pass of a resize as 16-value chunks of an output row (`kernels/x86/resize.rs` runs it):
/// output value `16 q + l` (pixel `x`, channel `k`) sums `acc[base[q] + index[q, t, l]] *
/// weight[q, t, l]` over taps `t` in order, where `base[q]` is the first input of the
/// chunk's first pixel and every index is below [`RowPlan::REACH`]. For AVX2, where one
/// permute picks from 8 floats, `half_base` and `half_index` hold the same taps for halves
/// of [`RowPlan::HALF`] values, every index below [`RowPlan::HALF_REACH`]; both are empty
/// when the taps spread wider (AVX2 then gathers from `base` and `index`). Only
/// [`RowPlan::new`] makes plans for the kernels (bases ascending, indices below the reach:
/// the vector kernels rely on both); [`RowPlan::run`] checks the lengths.
pub(crate) struct RowPlan {
    pub len: usize,
    pub taps: usize,
    pub base: Vec<u32>,
    pub index: Vec<u8>,
    pub weight: Vec<f32>,
    pub half_base: Vec<u32>,
    pub half_index: Vec<i32>,
}

impl RowPlan {
    /// Values per chunk.
    pub const LANES: usize = 16;
    /// How far past its base a chunk may read: the two vectors AVX-512 permutes from.
    pub const REACH: usize = 32;
    /// Values per AVX2 half chunk.
    pub const HALF: usize = 8;
    /// How far past its base a half chunk may read: the two vectors AVX2 permutes from.
    pub const HALF_REACH: usize = 16;

    /// The plan of `cols` for `c` channels, or `None` when a chunk's taps spread wider than
    /// [`Self::REACH`] (RGB shrunk by more than about 1.3x, gray by 1.8x) or off x86-64.
    fn new(cols: &Taps, c: usize) -> Option<RowPlan> {
        if !cfg!(target_arch = "x86_64") {
            return None;
        }
        let (len, taps) = (cols.first.len() * c, cols.taps);
        let chunks = len.div_ceil(Self::LANES);
        let base: Vec<u32> = (0..chunks)
            .map(|q| (cols.first[q * Self::LANES / c] * c) as u32)
            .collect();
        let mut index = vec![0u8; chunks * taps * Self::LANES];
        let mut weight = vec![0f32; chunks * taps * Self::LANES];
        for (x, &f) in cols.first.iter().enumerate() {
            for k in 0..c {
                let j = x * c + k;
                let (q, l) = (j / Self::LANES, j % Self::LANES);
                for t in 0..taps {
                    let rel = (f + t) * c + k - base[q] as usize;
                    if rel >= Self::REACH {
                        return None;
                    }
                    let at = (q * taps + t) * Self::LANES + l;
                    index[at] = rel as u8;
                    weight[at] = cols.weights[x * taps + t];
                }
            }
        }
        let (half_base, half_index) = Self::halves(cols, c, &index, &base).unwrap_or_default();
        Some(RowPlan {
            len,
            taps,
            base,
            index,
            weight,
            half_base,
            half_index,
        })
    }

    /// The AVX2 tables of a plan's chunks split into halves of [`Self::HALF`] values: each
    /// half's base (the first input value of its first output pixel; a half past the row's
    /// end repeats the last base) and its taps' indices from that base, laid out as `index`
    /// (`(chunk * taps + t) * LANES + lane`), or `None` when a half's taps spread over
    /// [`Self::HALF_REACH`] values or more (RGB shrunk, as in test
    /// `half_plans_cover_enlarging_crops_and_not_a_shrink`).
    fn halves(cols: &Taps, c: usize, index: &[u8], base: &[u32]) -> Option<(Vec<u32>, Vec<i32>)> {
        let (len, taps) = (cols.first.len() * c, cols.taps);
        let mut half_base: Vec<u32> = Vec::with_capacity(2 * base.len());
        for h in 0..2 * base.len() {
            let j = h * Self::HALF;
            let b = match half_base.last() {
                Some(&last) if j >= len => last,
                _ => (cols.first[j / c] * c) as u32,
            };
            half_base.push(b);
        }
        let mut half_index = vec![0i32; index.len()];
        for j in 0..len {
            let (q, l) = (j / Self::LANES, j % Self::LANES);
            // The chunk-relative index moved to the half's base.
            let shift = half_base[j / Self::HALF] - base[q];
            for t in 0..taps {
                let at = (q * taps + t) * Self::LANES + l;
                let rel = u32::from(index[at]) - shift;
                if rel as usize >= Self::HALF_REACH {
                    return None;
                }
                half_index[at] = rel as i32;
            }
        }
        Some((half_base, half_index))
    }

    /// One output row from the column pass's row `acc` (at least [`Self::REACH`] floats
    /// past the last base) at `level`, AVX2 or wider (the value of [`temper_simd::level`]).
    ///
    /// # Panics
    /// If `out` is not [`Self::len`](RowPlan) bytes, `acc` too short, the plan's tables not
    /// `taps * LANES` entries per chunk, or `level` is `Portable`.
    fn run(&self, level: Level, acc: &[f32], out: &mut [u8]) {
        // The bases grow with the output position: the last one reaches furthest.
        let last = self.base.last().map_or(0, |&b| b as usize);
        let entries = self.base.len() * self.taps * Self::LANES;
        // The vector kernels' unchecked reads rely on these.
        assert!(
            out.len() == self.len && last + Self::REACH <= acc.len(),
            "row plan: {} output bytes for {}, {} column sums for {}",
            out.len(),
            self.len,
            acc.len(),
            last + Self::REACH
        );
        assert!(
            self.index.len() == entries && self.weight.len() == entries,
            "row plan: tables of {} indices and {} weights, not {entries}",
            self.index.len(),
            self.weight.len()
        );
        let half_last = self.half_base.last().map_or(0, |&b| b as usize);
        assert!(
            self.half_index.len() == entries
                && self.half_base.len() == 2 * self.base.len()
                && half_last + Self::HALF_REACH <= acc.len()
                || self.half_index.is_empty() && self.half_base.is_empty(),
            "row plan: half tables of {} indices and {} bases for {} chunks",
            self.half_index.len(),
            self.half_base.len(),
            self.base.len()
        );
        assert!(
            level <= temper_simd::detected(),
            "{level:?} is above the CPU's level"
        );
        #[cfg(target_arch = "x86_64")]
        {
            use crate::image::kernels::x86::resize::{row_avx2, row_avx2_permute, row_avx512};
            match level {
                // SAFETY: the CPU has AVX-512 F/BW/VL (`level` is the CPU's or lower, asserted);
                // `acc` is long enough and the tables whole (asserted).
                Level::Avx512 => return unsafe { row_avx512(self, acc, out) },
                Level::Avx2 if !self.half_index.is_empty() => {
                    // SAFETY: the CPU has AVX2; `acc` holds `HALF_REACH` values from every
                    // half base and the half tables are whole (asserted).
                    return unsafe { row_avx2_permute(self, acc, out) };
                }
                // SAFETY: the CPU has AVX2; as above.
                Level::Avx2 => return unsafe { row_avx2(self, acc, out) },
                Level::Portable => {}
            }
        }
        unreachable!("a row plan is only made for AVX2 or AVX-512")
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
        // `T` is a constant here: the tap loop unrolls.
        row_lanes_body::<C, L>(acc, first, weights, T, sums, out);
    }
}

multiversion! {
    /// [`row_fixed`] with any number of taps (a strong downscale's 15 or more): each pixel's
    /// chain of `taps` dependent additions overlaps the next pixels' in the CPU.
    fn row_lanes<const C: usize, const L: usize>(
        acc: &[f32],
        first: &[usize],
        weights: &[f32],
        taps: usize,
        sums: &mut [f32],
        out: &mut [u8],
    ) {
        row_lanes_body::<C, L>(acc, first, weights, taps, sums, out);
    }
}

/// The body of [`row_fixed`] and [`row_lanes`].
#[inline(always)]
fn row_lanes_body<const C: usize, const L: usize>(
    acc: &[f32],
    first: &[usize],
    weights: &[f32],
    taps: usize,
    sums: &mut [f32],
    out: &mut [u8],
) {
    let n = out.len();
    for (x, (&f, ws)) in first.iter().zip(weights.chunks_exact(taps)).enumerate() {
        let src = &acc[f * C..f * C + (taps - 1) * C + L];
        let mut s = [0f32; L];
        for (t, &w) in ws.iter().enumerate() {
            let v = &src[t * C..t * C + L];
            for k in 0..L {
                s[k] += v[k] * w;
            }
        }
        sums[x * C..x * C + L].copy_from_slice(&s);
    }
    for (o, &v) in out.iter_mut().zip(&sums[..n]) {
        *o = q8(v);
    }
}

#[cfg(test)]
mod tests;
