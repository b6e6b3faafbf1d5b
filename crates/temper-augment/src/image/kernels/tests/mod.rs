//! The vectorized / fixed-point kernels (`blur`, `remap`, `color`, `lut`, `noise`, `q8`;
//! `resize` in [`resize`]) against straightforward references: the scalar implementations
//! they replaced (kept here verbatim: they are the definition the kernels must match) and
//! closed forms. Each kernel also runs capped at every CPU level the CPU running the tests has
//! ([`assert_every_level`]), which must give the same bytes.

use image::{GrayImage, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::image::cpu::geometric::{AffineParams, affine, affine_per_pixel, hflip};
use crate::image::cpu::photometric::{
    gaussian_blur, gaussian_kernel, gaussian_noise, grayscale, hsv_to_rgb, hue, rgb_to_hsv,
    saturation, sharpness,
};
use crate::image::cpu::raster::{AugImage, Interpolation, PaddingMode, pad_index, q8};
use crate::image::kernels::noise::inverse_normal_cdf;

mod remap;
mod resize;

/// Asserts that `f` gives `want` at every CPU level the CPU runs
/// ([`temper_simd::available`], each through [`temper_simd::with_cap`]).
#[track_caller]
pub(super) fn assert_every_level<T: PartialEq>(want: &T, f: impl Fn() -> T) {
    for level in temper_simd::available() {
        // `==` rather than `assert_eq!`: the values are whole images.
        assert!(temper_simd::with_cap(level, &f) == *want, "at {level:?}");
    }
}

pub(super) fn random_image(rng: &mut ChaCha8Rng, w: u32, h: u32, rgb: bool) -> AugImage {
    let c = if rgb { 3 } else { 1 };
    let data: Vec<u8> = (0..w * h * c).map(|_| rng.random()).collect();
    AugImage::from_raw(w, h, c as usize, data).unwrap()
}

/// Smooth content (a blurred-looking gradient plus a little noise), where interpolation
/// differences are realistic rather than worst-case.
fn natural_image(rng: &mut ChaCha8Rng, w: u32, h: u32) -> AugImage {
    AugImage::Rgb(RgbImage::from_fn(w, h, |x, y| {
        let n: i32 = rng.random_range(-8..8);
        let f = |v: i32| (v + n).clamp(0, 255) as u8;
        image::Rgb([
            f((x * 3) as i32),
            f((y * 2) as i32),
            f(((x + y) * 5 % 256) as i32),
        ])
    }))
}

/// `(max, mean)` absolute difference in levels.
fn diff(a: &AugImage, b: &AugImage) -> (u8, f64) {
    assert_eq!(
        (a.width(), a.height(), a.channels()),
        (b.width(), b.height(), b.channels())
    );
    let (mut max, mut sum) = (0u8, 0u64);
    for (&x, &y) in a.as_raw().iter().zip(b.as_raw()) {
        let d = x.abs_diff(y);
        max = max.max(d);
        sum += d as u64;
    }
    (max, sum as f64 / a.as_raw().len().max(1) as f64)
}

#[test]
fn q8_is_round_then_clamp() {
    let reference = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    let mut values = vec![
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        0.0,
        1e30,
        -1e30,
    ];
    // Every half-integer and integer in range and around it, and their neighbours.
    for k in -20..600 {
        let v = k as f32 * 0.5;
        values.extend([v, v.next_up(), v.next_down()]);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    values.extend((0..200_000).map(|_| rng.random_range(-50.0f32..320.0)));
    values.extend((0..200_000).map(|_| f32::from_bits(rng.random())));
    for v in values {
        assert_eq!(q8(v), reference(v), "{v:?}");
    }
}

/// The scalar blur replaced by `blur.rs` (row pass, then column pass, `f32`, rounded once).
fn blur_reference(img: &AugImage, kernel_size: u32, sigma: f32) -> AugImage {
    let kernel = gaussian_kernel(kernel_size as usize, sigma);
    let r = (kernel.len() / 2) as i64;
    img.map_raw(|src, d| {
        let mut tmp = vec![0f32; d.len()];
        for i in 0..d.h {
            for j in 0..d.w {
                for k in 0..d.c {
                    let mut s = 0.0;
                    for (t, &w) in kernel.iter().enumerate() {
                        let jj = pad_index(j as i64 + t as i64 - r, d.w, PaddingMode::Reflect);
                        s += w * src[(i * d.w + jj.unwrap_or(j)) * d.c + k] as f32;
                    }
                    tmp[(i * d.w + j) * d.c + k] = s;
                }
            }
        }
        let mut out = vec![0u8; d.len()];
        for i in 0..d.h {
            for j in 0..d.w {
                for k in 0..d.c {
                    let mut s = 0.0;
                    for (t, &w) in kernel.iter().enumerate() {
                        let ii = pad_index(i as i64 + t as i64 - r, d.h, PaddingMode::Reflect);
                        s += w * tmp[(ii.unwrap_or(i) * d.w + j) * d.c + k];
                    }
                    out[(i * d.w + j) * d.c + k] = q8(s);
                }
            }
        }
        (d, out)
    })
}

#[test]
fn blur_kernel_matches_the_scalar_reference() {
    // Columns then rows instead of rows then columns: the same sums in another order, so a
    // value may round the other way (one level) when the exact sum is near a half level.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    // Rows of 1 to 120 values: whole and partial 8- and 16-value vectors.
    let sizes = [
        (1, 1),
        (1, 7),
        (7, 1),
        (2, 3),
        (5, 4),
        (16, 5),
        (11, 6),
        (17, 9),
        (40, 33),
    ];
    for (w, h) in sizes {
        for rgb in [false, true] {
            let img = random_image(&mut rng, w, h, rgb);
            for (k, sigma) in [
                (1, 0.5),
                (3, 0.8),
                (5, 1.3),
                (7, 2.0),
                (9, 1.7),
                (11, 3.0),
                (13, 2.5),
                (23, 4.0),
            ] {
                let want = blur_reference(&img, k, sigma);
                let got = gaussian_blur(&img, k, sigma);
                let (max, mae) = diff(&got, &want);
                assert!(
                    max <= 1 && mae < 0.01,
                    "{w}x{h} rgb {rgb} k {k}: max {max} MAE {mae}"
                );
                assert_every_level(&got, || gaussian_blur(&img, k, sigma));
            }
        }
    }
}

/// The float warp replaced by `remap.rs` (`sample_at` per pixel), which `affine` still
/// uses where `remap` declines.
fn affine_reference(img: &AugImage, p: &AffineParams) -> AugImage {
    let m = p.inverse_matrix(img.width(), img.height());
    img.map_raw(|src, d| (d, affine_per_pixel(src, d, &m, p)))
}

#[test]
fn warp_kernel_is_the_per_pixel_path_bit_for_bit() {
    // Same positions, weights and sum order as the per-pixel path: identical bytes, for any
    // matrix (including a zoom that throws every position far outside), size and fill
    // (none, or a value and torchvision's mask rule on the border).
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // Widths below and above the AVX2 path's 8-pixel groups and the AVX-512 path's 16, with
    // and without a partial last group; the 200x120 case also has long interior runs and
    // whole groups outside.
    for (w, h) in [
        (1, 1),
        (2, 2),
        (1, 5),
        (9, 4),
        (16, 3),
        (31, 17),
        (64, 48),
        (200, 120),
    ] {
        for rgb in [false, true] {
            let noise = random_image(&mut rng, w, h, rgb);
            let smooth = natural_image(&mut rng, w, h);
            for t in 0..12 {
                let p = AffineParams {
                    angle: rng.random_range(-180.0..180.0),
                    translate: [rng.random_range(-5.0..5.0), rng.random_range(-5.0..5.0)],
                    scale: if t == 0 {
                        1e-9
                    } else {
                        rng.random_range(0.5..2.0)
                    },
                    shear: [rng.random_range(-20.0..20.0), rng.random_range(-20.0..20.0)],
                    center: None,
                    interpolation: Interpolation::Bilinear,
                    fill: (t % 3 != 1).then(|| [rng.random(), rng.random(), rng.random()]),
                };
                let want = affine_reference(&noise, &p);
                assert_eq!(affine(&noise, &p), want, "{w}x{h} {p:?}");
                assert_every_level(&want, || affine(&noise, &p));
                if rgb {
                    assert_eq!(affine(&smooth, &p), affine_reference(&smooth, &p));
                }
            }
        }
    }
}

/// The scalar colour ops replaced by `color.rs`.
fn hue_reference(img: &AugImage, shift: f32) -> AugImage {
    img.map_raw(|src, d| {
        let mut out = vec![0u8; d.len()];
        for (o, p) in out.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
            let [h, s, v] = rgb_to_hsv([p[0], p[1], p[2]].map(|x| x as f32 / 255.0));
            let rgb = hsv_to_rgb([(h + shift).rem_euclid(1.0), s, v]);
            for k in 0..3 {
                o[k] = q8(rgb[k] * 255.0);
            }
        }
        (d, out)
    })
}

fn luma(p: &[u8]) -> f32 {
    0.2989 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

fn saturation_reference(img: &AugImage, factor: f32) -> AugImage {
    img.map_raw(|src, d| {
        let mut out = vec![0u8; d.len()];
        for (o, p) in out.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
            // torchvision's uint8 rule: the gray image is the truncated luma, the blend
            // is clamped and truncated (`as u8`).
            let gray = luma(p).floor();
            for k in 0..3 {
                o[k] = (factor * p[k] as f32 + (1.0 - factor) * gray) as u8;
            }
        }
        (d, out)
    })
}

#[test]
fn colour_kernels_are_the_scalar_formulas_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // Random pixels, every primary/secondary and gray level, and a partial last chunk.
    let mut img = random_image(&mut rng, 67, 61, true);
    if let AugImage::Rgb(i) = &mut img {
        for (k, px) in i.pixels_mut().take(256).enumerate() {
            let v = k as u8;
            *px = image::Rgb(match k % 4 {
                0 => [v, v, v],
                1 => [v, 0, 255 - v],
                2 => [255, v, 0],
                _ => [0, v, v],
            });
        }
    }
    let shifts = [
        -0.5,
        -0.3,
        -1e-9,
        0.0,
        1e-9,
        0.05,
        1.0 / 6.0,
        1.0 / 3.0,
        0.5,
        1.0,
        2.7,
    ];
    for shift in shifts {
        let want = hue_reference(&img, shift);
        assert_eq!(hue(&img, shift), want, "hue {shift}");
        assert_every_level(&want, || hue(&img, shift));
    }
    for factor in [0.0, 0.3, 0.5, 1.0, 1.4, 3.0, 5.0] {
        let want = saturation_reference(&img, factor);
        assert_eq!(saturation(&img, factor), want, "saturation {factor}");
        assert_every_level(&want, || saturation(&img, factor));
    }
    // torchvision's uint8 rule: the luma cast to uint8, truncating (`as u8`).
    let gray = img.map_raw(|src, d| {
        let out = src
            .chunks_exact(3)
            .flat_map(|p| [luma(p) as u8; 3])
            .collect();
        (d, out)
    });
    assert_eq!(grayscale(&img), gray);
    assert_every_level(&gray, || grayscale(&img));
}

#[test]
fn hue_kernel_is_the_scalar_formula_on_every_colour() {
    // The AVX2 and AVX-512 hue kernels divide with a reciprocal and Markstein's FMA
    // correction instead of `/`; that gives the correctly rounded quotient, so the bytes
    // must equal the plane kernel's (itself the scalar formula bit for bit, test above) on
    // all 2^24 colours, for shifts that hit every sector boundary (0, +-1/6 steps) and a
    // wrap from just below 0.
    let all: Vec<u8> = (0u32..1 << 24)
        .flat_map(|c| [(c >> 16) as u8, (c >> 8) as u8, c as u8])
        .collect();
    let img = AugImage::from_raw(4096, 4096, 3, all).unwrap();
    for shift in [0.0, 0.05, -1.0 / 3.0, 0.5, -1e-9] {
        let want = temper_simd::with_cap(temper_simd::Level::Portable, || hue(&img, shift));
        assert!(hue(&img, shift) == want, "hue {shift}");
        assert_every_level(&want, || hue(&img, shift));
    }
}

/// The scalar `sharpness` replaced by `blur::sharpen` (verbatim, with `blend` inlined).
fn sharpness_reference(img: &AugImage, factor: f32) -> AugImage {
    img.map_raw(|src, d| {
        let mut out = src.to_vec();
        if d.w < 3 || d.h < 3 {
            return (d, out);
        }
        let at = |i: usize, j: usize, k: usize| src[(i * d.w + j) * d.c + k] as f32;
        for i in 1..d.h - 1 {
            for j in 1..d.w - 1 {
                for k in 0..d.c {
                    let mut s = 4.0 * at(i, j, k);
                    for di in 0..3 {
                        for dj in 0..3 {
                            s += at(i + di - 1, j + dj - 1, k);
                        }
                    }
                    let (a, b) = (at(i, j, k), s / 13.0);
                    out[(i * d.w + j) * d.c + k] = q8(factor * a + (1.0 - factor) * b);
                }
            }
        }
        (d, out)
    })
}

#[test]
fn sharpen_kernel_is_the_scalar_formula_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for (w, h) in [(1, 1), (2, 5), (3, 3), (4, 7), (37, 23), (64, 50)] {
        for rgb in [false, true] {
            let img = random_image(&mut rng, w, h, rgb);
            for factor in [0.0, 0.5, 1.0, 1.7, 3.0, -2.0] {
                let want = sharpness_reference(&img, factor);
                assert_eq!(sharpness(&img, factor), want, "{w}x{h} {factor}");
                assert_every_level(&want, || sharpness(&img, factor));
            }
        }
    }
}

#[test]
fn mirror_kernel_is_a_pixel_reversal() {
    // Reference: pixel j of each output row is pixel w - 1 - j of the input row. Widths
    // around the 5-pixel blocks and the 6-pixel minimum of the vector loop.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for w in (1..=23).chain([224]) {
        let img = random_image(&mut rng, w, 3, true);
        let want = img.map_raw(|src, d| {
            let mut out = Vec::with_capacity(src.len());
            for row in src.chunks_exact(d.w * 3) {
                for px in row.chunks_exact(3).rev() {
                    out.extend_from_slice(px);
                }
            }
            (d, out)
        });
        assert_eq!(hflip(&img), want, "{w}");
        assert_every_level(&want, || hflip(&img));
    }
}

#[test]
fn noise_table_is_the_normal_distribution() {
    // Reference quantiles of the standard normal (to 1e-9).
    for (p, z) in [
        (0.5, 0.0),
        (0.975, 1.959963984540054),
        (0.001, -3.090232306167813),
        (0.8413447460685429, 1.0),
        (1e-5, -4.264890793922825),
    ] {
        let got = inverse_normal_cdf(p);
        assert!(
            (got - z).abs() < 1e-8 * z.abs().max(1.0),
            "{p}: {got} vs {z}"
        );
    }
    // A flat image plus noise: the 65,536 quantiles have mean 0 and variance 1 - 2e-4
    // (the tails beyond 4.33 are cut), so the sample of 120,000 values has sd 25.5 within
    // sampling error, mean 128, and no value beyond 4.4 sd.
    let flat = AugImage::Gray(GrayImage::from_pixel(400, 300, image::Luma([128])));
    let out = gaussian_noise(&flat, 0.0, 0.1, 9);
    let n = out.as_raw().len() as f64;
    let mean = out.as_raw().iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = out
        .as_raw()
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!((mean - 128.0).abs() < 0.3, "{mean}");
    assert!((var.sqrt() - 25.5).abs() < 0.3, "{}", var.sqrt());
    assert!(
        out.as_raw()
            .iter()
            .all(|&v| (v as f64 - 128.0).abs() <= 4.4 * 25.5)
    );
    // Same seed, same field; another seed, another field.
    assert_eq!(gaussian_noise(&flat, 0.0, 0.1, 9), out);
    assert_ne!(gaussian_noise(&flat, 0.0, 0.1, 10), out);
}

#[test]
fn table_lookup_is_indexing_on_every_build() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let table: [u8; 256] = std::array::from_fn(|_| rng.random());
    // Every byte value (both halves of the table, both sides of the top bit), then lengths
    // around the 64-byte step.
    let every: Vec<u8> = (0..=255).chain((0..=255).rev()).collect();
    let mut inputs = vec![every];
    for len in [0, 1, 63, 64, 65, 200, 4113] {
        inputs.push((0..len).map(|_| rng.random()).collect());
    }
    for src in inputs {
        let want: Vec<u8> = src.iter().map(|&v| table[usize::from(v)]).collect();
        let run = || {
            let mut out = vec![0u8; src.len()];
            crate::image::kernels::lut::apply(&src, &table, &mut out);
            out
        };
        assert_eq!(run(), want, "{} values", src.len());
        assert_every_level(&want, run);
    }
}

/// The point ops' tables that are byte arithmetic (posterize at every bit count, invert,
/// solarize at several thresholds, the identity) are recognized as such and give the table's
/// bytes at every level; a brightness-like table is not arithmetic.
#[test]
fn arithmetic_tables_are_recognized_and_give_the_tables_bytes_on_every_build() {
    use crate::image::kernels::lut::{Arithmetic, apply};
    let mut tables: Vec<([u8; 256], Arithmetic)> = (0..=8u8)
        .map(|bits| {
            let mask = if bits == 8 {
                0xff
            } else {
                !((1u16 << (8 - bits)) - 1) as u8
            };
            (
                std::array::from_fn(|v| v as u8 & mask),
                Arithmetic::Mask(mask),
            )
        })
        .collect();
    for threshold in [0u8, 1, 128, 200, 255] {
        let table = std::array::from_fn(|v| {
            if v as u8 >= threshold {
                255 - v as u8
            } else {
                v as u8
            }
        });
        tables.push((table, Arithmetic::InvertFrom(threshold)));
    }
    let brighter: [u8; 256] = std::array::from_fn(|v| (v as f32 * 1.3).min(255.0) as u8);
    assert_eq!(Arithmetic::of(&brighter), None);
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let every: Vec<u8> = (0..=255).chain((0..=255).rev()).collect();
    let odd: Vec<u8> = (0..4113).map(|_| rng.random()).collect();
    for (table, kind) in tables {
        assert_eq!(Arithmetic::of(&table), Some(kind));
        for src in [&every, &odd] {
            let want: Vec<u8> = src.iter().map(|&v| table[usize::from(v)]).collect();
            let run = || {
                let mut out = vec![0u8; src.len()];
                apply(src, &table, &mut out);
                out
            };
            assert_eq!(run(), want, "{kind:?}");
            assert_every_level(&want, run);
        }
    }
}

#[test]
fn gray_sum_is_the_sum_of_the_truncated_lumas() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // Up to past the kernels' blocks (2^16 groups of 8 pixels, 2^16 rows of 16).
    for pixels in [0, 1, 15, 16, 17, 1000, 50_176, 512 * 512, (1 << 20) + 21] {
        let src: Vec<u8> = (0..3 * pixels).map(|_| rng.random()).collect();
        let want: u64 = src.chunks_exact(3).map(|p| luma(p) as u64).sum();
        assert_eq!(
            crate::image::kernels::color::gray_sum(&src),
            want,
            "{pixels} pixels"
        );
        assert_every_level(&want, || crate::image::kernels::color::gray_sum(&src));
    }
    // All white: luma 0.2989 * 255 + 0.587 * 255 + 0.114 * 255 = 254.9745 in f32 (the
    // weights sum to 0.9999), gray 254, not 255.
    let white = vec![255u8; 3 * 512 * 512];
    assert_eq!(
        crate::image::kernels::color::gray_sum(&white),
        254 * 512 * 512
    );
}

#[test]
fn trunc8_is_the_saturating_cast() {
    use crate::image::cpu::photometric::trunc8;
    let mut values = vec![
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        0.0,
        f32::MIN_POSITIVE,
        0.5,
        8_388_607.5,
        8_388_608.0,
        1e30,
        -1e30,
    ];
    // Every quarter and the neighbours of every integer and half from -2 to 258.
    for k in -8..=1032 {
        let x = k as f32 / 4.0;
        values.extend([x.next_down(), x, x.next_up()]);
    }
    for x in values {
        assert_eq!(trunc8(x), x as u8, "{x}");
    }
}

/// A vector warp of one gray row: `(src, dims, us, vs, row)`.
#[cfg(target_arch = "x86_64")]
type Warp = fn(&[u8], crate::image::cpu::raster::Dims, &[f32], &[f32], &mut [u8]);

/// Calls `warp` (a vector warp at `level`) with one position fewer than the row has pixels
/// and says whether it panicked; `None` when the CPU lacks `level`.
#[cfg(target_arch = "x86_64")]
fn warp_panics_on_short_positions(level: temper_simd::Level, warp: Warp) -> Option<bool> {
    use crate::image::cpu::raster::Dims;
    if temper_simd::detected() < level {
        return None;
    }
    let d = Dims { w: 32, h: 4, c: 1 };
    let src = vec![7u8; d.len()];
    let positions = vec![1.5f32; d.w - 1];
    let mut row = vec![0u8; d.w];
    let run = std::panic::AssertUnwindSafe(|| warp(&src, d, &positions, &positions, &mut row));
    Some(std::panic::catch_unwind(run).is_err())
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_vector_warps_refuse_fewer_positions_than_pixels() {
    use crate::image::kernels::x86::{remap_avx2, remap_avx512};
    use temper_simd::Level;
    let avx2 = warp_panics_on_short_positions(Level::Avx2, |src, d, us, vs, row| {
        // SAFETY: the CPU has AVX2 (checked by `warp_panics_on_short_positions`).
        unsafe { remap_avx2::warp_row::<1>(src, d, us, vs, Some([0.0; 3]), row) }
    });
    let avx512 = warp_panics_on_short_positions(Level::Avx512, |src, d, us, vs, row| {
        // SAFETY: the CPU has AVX-512 F/BW/VL/DQ (checked as above).
        unsafe { remap_avx512::warp_row::<1>(src, d, us, vs, Some([0.0; 3]), row) };
    });
    assert_ne!(avx2, Some(false), "the AVX2 warp read past its positions");
    assert_ne!(
        avx512,
        Some(false),
        "the AVX-512 warp read past its positions"
    );
}
