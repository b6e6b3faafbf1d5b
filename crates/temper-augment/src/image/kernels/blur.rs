//! The separable Gaussian blur kernel behind [`crate::image::cpu::photometric::gaussian_blur`]: per output
//! row, a column pass (the kernel's rows weighted into one `f32` row, reflect-padded rows
//! picked by index) then a row pass over that row (interleaved channels as one flat row of
//! `w * c` values, taps `c` apart, the reflect padding written into the row buffer's margins
//! so the hot loop has no border case). Both passes run over whole rows, so the compiler
//! vectorizes them; kernels of up to 11 taps get a version with the tap count fixed at compile
//! time (one pass per direction, the sum in a register), longer ones one pass per tap. With
//! AVX2 (and above), kernels of up to 11 taps run the hand-written passes of `x86/blur.rs`
//! instead, which convert each input row to `f32` once rather than once per output row
//! reading it, and round 16 values per pack: about 1.25x the plain loop's images/s on
//! 224x224 RGB with a 3x3 kernel (`cargo bench --bench augment -- gaussian-blur`, with and
//! without `TEMPER_CPU_LEVEL=avx2`).

use crate::image::cpu::raster::{PaddingMode, pad_index, q8};
use temper_simd::multiversion;

/// Blurs `src` (`h` rows of `w` pixels of `c` interleaved channels) with the odd 1-D
/// `kernel` along columns and rows, reflect padding (torchvision `gaussian_blur`).
pub(crate) fn blur(src: &[u8], w: usize, h: usize, c: usize, kernel: &[f32]) -> Vec<u8> {
    if src.is_empty() {
        return Vec::new();
    }
    let k = kernel.len();
    let r = k / 2;
    let n = w * c;
    let reflect = |i: i64, len: usize| {
        pad_index(i, len, PaddingMode::Reflect).expect("reflect padding always maps inside")
    };
    // Source column of each margin pixel: `r` on the left, `r` on the right.
    let left: Vec<usize> = (0..r).map(|p| reflect(p as i64 - r as i64, w)).collect();
    let right: Vec<usize> = (0..r).map(|p| reflect((w + p) as i64, w)).collect();
    #[cfg(target_arch = "x86_64")]
    if temper_simd::level() >= temper_simd::Level::Avx2 {
        let m = Margins {
            c,
            left: &left,
            right: &right,
        };
        let run = match k {
            1 => blur_avx2::<1>,
            3 => blur_avx2::<3>,
            5 => blur_avx2::<5>,
            7 => blur_avx2::<7>,
            9 => blur_avx2::<9>,
            11 => blur_avx2::<11>,
            _ => |_: &[u8], _: usize, _: &[f32], _: Margins<'_>| None,
        };
        if let Some(out) = run(src, h, kernel, m) {
            return out;
        }
    }
    let mut pad = vec![0f32; n + 2 * r * c];
    let mut acc = vec![0f32; if k > 11 { n } else { 0 }];
    let mut out = vec![0u8; src.len()];
    let mut rows: Vec<&[u8]> = Vec::with_capacity(k);
    for (i, out_row) in out.chunks_exact_mut(n.max(1)).enumerate() {
        rows.clear();
        rows.extend((0..k).map(|t| {
            let y = reflect(i as i64 + t as i64 - r as i64, h);
            &src[y * n..(y + 1) * n]
        }));
        let m = Margins {
            c,
            left: &left,
            right: &right,
        };
        match k {
            1 => row_fixed::<1>(&rows, kernel, &mut pad, m, out_row),
            3 => row_fixed::<3>(&rows, kernel, &mut pad, m, out_row),
            5 => row_fixed::<5>(&rows, kernel, &mut pad, m, out_row),
            7 => row_fixed::<7>(&rows, kernel, &mut pad, m, out_row),
            9 => row_fixed::<9>(&rows, kernel, &mut pad, m, out_row),
            11 => row_fixed::<11>(&rows, kernel, &mut pad, m, out_row),
            _ => row_any(&rows, kernel, &mut pad, &mut acc, m, out_row),
        }
    }
    out
}

/// [`blur`] with a `K`-tap kernel and the AVX2 kernels of `x86/blur.rs` (the caller checked
/// the level): each input row converted to `f32` once into a ring of `K` rows (the rows an
/// output row reads, reflected or not, lie within `K` consecutive indices, so row `y` has
/// slot `y mod K` to itself), then per output row the column pass, the margins and the row
/// pass, the row appended to the output (no zeroed image first). Always `Some`; the
/// `Option` lets kernel sizes without a build share the dispatch.
#[cfg(target_arch = "x86_64")]
fn blur_avx2<const K: usize>(
    src: &[u8],
    h: usize,
    kernel: &[f32],
    m: Margins<'_>,
) -> Option<Vec<u8>> {
    use crate::image::kernels::x86::blur::{column, row, widen};
    let n = src.len() / h;
    let r = K / 2;
    let kern: [f32; K] = kernel.try_into().expect("K taps");
    let off = m.left.len() * m.c;
    let mut ring = vec![0f32; K * n];
    let mut held = [usize::MAX; K];
    let mut pad = vec![0f32; n + 2 * off];
    let mut line = vec![0u8; n];
    let mut out = Vec::with_capacity(src.len());
    let reflect =
        |i: i64| pad_index(i, h, PaddingMode::Reflect).expect("reflect padding always maps inside");
    for i in 0..h {
        let ys: [usize; K] = std::array::from_fn(|t| reflect(i as i64 + t as i64 - r as i64));
        for &y in &ys {
            if held[y % K] != y {
                held[y % K] = y;
                // SAFETY: the caller checked AVX2; both slices are `n` long.
                unsafe { widen(&src[y * n..][..n], &mut ring[y % K * n..][..n]) };
            }
        }
        let rows: [&[f32]; K] = std::array::from_fn(|t| &ring[ys[t] % K * n..][..n]);
        // SAFETY: AVX2 as above; every row is `n` long, as the column.
        unsafe { column(&rows, &kern, &mut pad[off..off + n]) };
        m.fill(&mut pad, n);
        // SAFETY: AVX2 as above (`row` checks the padded row's length).
        unsafe { row(&pad, m.c, &kern, &mut line) };
        out.extend_from_slice(&line);
    }
    Some(out)
}

/// The reflect padding of a row: channel count and the source column of each margin pixel.
#[derive(Clone, Copy)]
struct Margins<'a> {
    c: usize,
    left: &'a [usize],
    right: &'a [usize],
}

impl Margins<'_> {
    /// Fills the margins of `pad` (`left.len()` pixels, the row, `right.len()` pixels).
    #[inline(always)]
    fn fill(&self, pad: &mut [f32], n: usize) {
        let (c, off) = (self.c, self.left.len() * self.c);
        for (p, &col) in self.left.iter().enumerate() {
            for ch in 0..c {
                pad[p * c + ch] = pad[off + col * c + ch];
            }
        }
        for (p, &col) in self.right.iter().enumerate() {
            for ch in 0..c {
                pad[off + n + p * c + ch] = pad[off + col * c + ch];
            }
        }
    }
}

multiversion! {
    /// One output row with a `K`-tap kernel: column pass into the middle of `pad`, margins,
    /// row pass into `out`.
    fn row_fixed<const K: usize>(
        rows: &[&[u8]],
        kernel: &[f32],
        pad: &mut [f32],
        m: Margins<'_>,
        out: &mut [u8],
    ) {
        let n = out.len();
        let c = m.c;
        let kern: [f32; K] = kernel.try_into().expect("K taps");
        let off = m.left.len() * c;
        let src: [&[u8]; K] = std::array::from_fn(|t| &rows[t][..n]);
        for (x, a) in pad[off..off + n].iter_mut().enumerate() {
            let mut s = 0.0;
            for t in 0..K {
                s += kern[t] * src[t][x] as f32;
            }
            *a = s;
        }
        m.fill(pad, n);
        let taps: [&[f32]; K] = std::array::from_fn(|t| &pad[t * c..t * c + n]);
        for (x, o) in out.iter_mut().enumerate() {
            let mut s = 0.0;
            for t in 0..K {
                s += kern[t] * taps[t][x];
            }
            *o = q8(s);
        }
    }
}

multiversion! {
    /// One output row with any kernel: one pass per tap in each direction.
    fn row_any(
        rows: &[&[u8]],
        kernel: &[f32],
        pad: &mut [f32],
        acc: &mut [f32],
        m: Margins<'_>,
        out: &mut [u8],
    ) {
        let n = out.len();
        let c = m.c;
        let off = m.left.len() * c;
        let mid = &mut pad[off..off + n];
        mid.fill(0.0);
        for (row, &k) in rows.iter().zip(kernel) {
            for (a, &v) in mid.iter_mut().zip(&row[..n]) {
                *a += k * v as f32;
            }
        }
        m.fill(pad, n);
        let acc = &mut acc[..n];
        acc.fill(0.0);
        for (t, &k) in kernel.iter().enumerate() {
            for (a, &v) in acc.iter_mut().zip(&pad[t * c..t * c + n]) {
                *a += k * v;
            }
        }
        for (o, &a) in out.iter_mut().zip(acc.iter()) {
            *o = q8(a);
        }
    }
}

/// `sharpness` on interleaved bytes (`h` rows of `w` pixels of `c` channels): on interior
/// pixels `blend(x, smooth / 13, factor)` with `smooth = 4 x + the 3x3 neighbourhood` (the
/// centre weighs 5), the one-pixel border unchanged. The neighbourhood sum is of integers
/// below 2^12, which `f32` adds exactly in any order, so summing it as `u16` and converting
/// gives the float sum of the scalar formula bit for bit; the division and blend are the
/// formula's own `f32` operations (test `sharpen_kernel_is_the_scalar_formula_bit_for_bit`).
pub(crate) fn sharpen(src: &[u8], w: usize, h: usize, c: usize, factor: f32) -> Vec<u8> {
    let mut out = src.to_vec();
    if w < 3 || h < 3 {
        return out;
    }
    let n = w * c;
    for i in 1..h - 1 {
        let rows = &src[(i - 1) * n..(i + 2) * n];
        sharpen_row(rows, n, c, factor, &mut out[i * n..(i + 1) * n]);
    }
    out
}

multiversion! {
    /// The interior values of the middle one of three rows `rows` (`n` values each), taps
    /// `c` apart.
    fn sharpen_row(rows: &[u8], n: usize, c: usize, factor: f32, out: &mut [u8]) {
        let m = n - 2 * c;
        let g = 1.0 - factor;
        let tap = |r: usize, dx: usize| &rows[r * n + dx..r * n + dx + m];
        let (u0, u1, u2) = (tap(0, 0), tap(0, c), tap(0, 2 * c));
        let (r0, r1, r2) = (tap(1, 0), tap(1, c), tap(1, 2 * c));
        let (d0, d1, d2) = (tap(2, 0), tap(2, c), tap(2, 2 * c));
        let out = &mut out[c..c + m];
        for x in 0..m {
            let v = |s: &[u8]| u16::from(s[x]);
            let s = 4 * v(r1)
                + v(u0) + v(u1) + v(u2)
                + v(r0) + v(r1) + v(r2)
                + v(d0) + v(d1) + v(d2);
            let a = r1[x] as f32;
            out[x] = q8(factor * a + g * (s as f32 / 13.0));
        }
    }
}
