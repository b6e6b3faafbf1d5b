//! The resize kernel (`kernels/resize.rs`, `kernels/x86/resize.rs`): bit for bit the `image` crate's
//! triangle filter with antialiasing, within float error of the bilinear definition (and
//! PyTorch's and OpenCV's figures) without, the same bytes in every build.

use image::GrayImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{assert_every_level, random_image};
use crate::image::cpu::geometric::{CropParams, ResizeParams, crop, crop_resize, resize};
use crate::image::cpu::raster::{AugImage, PaddingMode, q8};

#[test]
fn resize_kernel_is_the_image_crate_bit_for_bit() {
    use image::imageops::{FilterType, resize as image_resize};
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let sizes = [(1, 1), (3, 1), (1, 4), (5, 7), (28, 28), (37, 23), (64, 50)];
    let targets = [
        (1, 1),
        (2, 9),
        (9, 2),
        (32, 32),
        (14, 14),
        (100, 61),
        (28, 41),
    ];
    for (w, h) in sizes {
        for (ow, oh) in targets {
            let g = random_image(&mut rng, w, h, false);
            let c = random_image(&mut rng, w, h, true);
            let p = ResizeParams {
                width: ow,
                height: oh,
                antialias: true,
            };
            let (AugImage::Gray(gi), AugImage::Rgb(ci)) = (&g, &c) else {
                unreachable!()
            };
            let want_g = AugImage::Gray(image_resize(gi, ow, oh, FilterType::Triangle));
            let want_c = AugImage::Rgb(image_resize(ci, ow, oh, FilterType::Triangle));
            assert_eq!(resize(&g, &p), want_g, "{w}x{h} -> {ow}x{oh} gray");
            assert_eq!(resize(&c, &p), want_c, "{w}x{h} -> {ow}x{oh} rgb");
            assert_every_level(&want_c, || resize(&c, &p));
        }
    }
}

#[test]
fn resize_kernel_is_the_image_crate_bit_for_bit_at_augmentation_sizes() {
    use image::imageops::{FilterType, resize as image_resize};
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // Random-resized-crop boxes enlarged to 224 (the permuting / gathering row pass), a 7x
    // shrink (15 taps per output), and a 1.5x shrink (row plan for gray, none for RGB).
    let cases = [
        ((200, 181), (224, 224)),
        ((190, 224), (224, 224)),
        ((150, 170), (224, 224)),
        ((224, 224), (32, 32)),
        ((224, 224), (150, 100)),
    ];
    for ((w, h), (ow, oh)) in cases {
        for rgb in [false, true] {
            let img = random_image(&mut rng, w, h, rgb);
            let want = match &img {
                AugImage::Gray(g) => AugImage::Gray(image_resize(g, ow, oh, FilterType::Triangle)),
                AugImage::Rgb(c) => AugImage::Rgb(image_resize(c, ow, oh, FilterType::Triangle)),
            };
            let p = ResizeParams {
                width: ow,
                height: oh,
                antialias: true,
            };
            let what = format!("{w}x{h} -> {ow}x{oh} rgb {rgb}");
            assert_eq!(resize(&img, &p), want, "{what}");
            assert_every_level(&want, || resize(&img, &p));
        }
    }
}

/// Bilinear interpolation without antialiasing in `f64`, as OpenCV `INTER_LINEAR` and
/// torchvision `antialias=False` define it: output `o` samples input `s = (o + 0.5) r - 0.5`
/// from its two neighbours, the edges replicated.
fn bilinear_reference(img: &AugImage, ow: usize, oh: usize) -> Vec<f64> {
    let (w, h, c) = (img.width() as usize, img.height() as usize, img.channels());
    let taps = |n_in: usize, n_out: usize, o: usize| {
        let s = (o as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5;
        let i0 = s.floor();
        let f = s - i0;
        let at = |i: f64| (i.max(0.0) as usize).min(n_in - 1);
        [(at(i0), 1.0 - f), (at(i0 + 1.0), f)]
    };
    let src = img.as_raw();
    let mut out = Vec::with_capacity(ow * oh * c);
    for oy in 0..oh {
        for ox in 0..ow {
            for k in 0..c {
                let mut v = 0.0;
                for (y, wy) in taps(h, oh, oy) {
                    for (x, wx) in taps(w, ow, ox) {
                        v += wy * wx * src[(y * w + x) * c + k] as f64;
                    }
                }
                out.push(v);
            }
        }
    }
    out
}

#[test]
fn resize_without_antialiasing_is_bilinear_interpolation() {
    let no_aa = |width, height| ResizeParams {
        width,
        height,
        antialias: false,
    };
    // PyTorch 2.15 `F.interpolate(x, size=(3, 4), mode="bilinear", align_corners=False,
    // antialias=False)` of this 7x2 image, before rounding; OpenCV 5.0 `cv2.resize(..,
    // (4, 3), interpolation=INTER_LINEAR)` gives [37, 181, 229, 22, 98, 99, 176, 34, 159,
    // 17, 123, 44] (11-bit fixed point, ties to even: within 1).
    let row = [0, 100, 200, 50, 255, 10, 30, 255, 0, 7, 90, 128, 64, 33];
    let img = AugImage::Gray(GrayImage::from_raw(7, 2, row.to_vec()).unwrap());
    let torch = [
        37.5, 181.25, 229.375, 22.5, 98.4375, 99.3125, 176.3125, 33.5625, 159.375, 17.375, 123.25,
        44.625,
    ];
    let opencv = [37, 181, 229, 22, 98, 99, 176, 34, 159, 17, 123, 44];
    let out = resize(&img, &no_aa(4, 3));
    for ((&got, &t), &cv) in out.as_raw().iter().zip(&torch).zip(&opencv) {
        assert_eq!(got, q8(t), "rounded half away from zero");
        assert!((got as i32 - cv).abs() <= 1);
    }
    // 224 -> 32 samples input 7o + 3 exactly ((o + 0.5) 7 - 0.5): a pure pick, where the
    // antialiased filter averages about 15 inputs a side.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let big = random_image(&mut rng, 224, 224, true);
    let small = resize(&big, &no_aa(32, 32));
    let src = big.as_raw();
    for (i, &v) in small.as_raw().iter().enumerate() {
        let (o, k) = (i / 3, i % 3);
        let (oy, ox) = (o / 32, o % 32);
        assert_eq!(v, src[((7 * oy + 3) * 224 + 7 * ox + 3) * 3 + k]);
    }
    // Any sizes, shrinking and enlarging: within float error of the definition, the same
    // bytes on every build.
    let sizes = [(1, 1), (3, 1), (5, 7), (28, 28), (37, 23), (224, 200)];
    let targets = [(1, 1), (2, 9), (32, 32), (100, 61), (224, 224), (13, 150)];
    for (w, h) in sizes {
        for (ow, oh) in targets {
            for rgb in [false, true] {
                let img = random_image(&mut rng, w, h, rgb);
                let p = no_aa(ow, oh);
                let got = resize(&img, &p);
                let want = bilinear_reference(&img, ow as usize, oh as usize);
                for (&g, &r) in got.as_raw().iter().zip(&want) {
                    assert!(
                        (g as f64 - r).abs() <= 0.5 + 1e-3,
                        "{w}x{h} -> {ow}x{oh}: {g} vs {r}"
                    );
                }
                assert_every_level(&got, || resize(&img, &p));
            }
        }
    }
}

#[test]
fn crop_resize_at_the_crop_window_edges_is_the_plain_loop_at_every_level() {
    // Boxes touching each edge of a 50x41 image, and a 1-pixel box in its corner, enlarged
    // (the AVX2 row pass permutes) or shrunk, to rows that are not whole 8- or 16-value
    // chunks, with and without antialiasing. The reference is `crop` then `resize` at the
    // portable level, the plain loops.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let images = [
        random_image(&mut rng, 50, 41, true),
        random_image(&mut rng, 50, 41, false),
    ];
    let boxes = [
        (0, 0, 41, 50),
        (0, 7, 30, 43),
        (11, 0, 30, 37),
        (5, 9, 36, 41),
        (40, 49, 1, 1),
    ];
    for img in &images {
        for (top, left, height, width) in boxes {
            let c = CropParams {
                top,
                left,
                height,
                width,
                padding_mode: PaddingMode::Constant,
                fill: [0; 3],
            };
            for (ow, oh) in [(53, 47), (61, 5), (1, 1), (45, 45), (19, 60)] {
                for antialias in [true, false] {
                    let r = ResizeParams {
                        width: ow,
                        height: oh,
                        antialias,
                    };
                    let want = temper_simd::with_cap(temper_simd::Level::Portable, || {
                        resize(&crop(img, &c), &r)
                    });
                    assert_every_level(&want, || crop_resize(img, &c, &r).expect("box inside"));
                }
            }
        }
    }
}

#[test]
fn fused_crop_resize_equals_crop_then_resize() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let img = random_image(&mut rng, 40, 30, true);
    for _ in 0..20 {
        let (h, w) = (rng.random_range(1..=30u32), rng.random_range(1..=40u32));
        let c = CropParams {
            top: rng.random_range(0..=30 - h) as i64,
            left: rng.random_range(0..=40 - w) as i64,
            height: h,
            width: w,
            padding_mode: PaddingMode::Constant,
            fill: [0; 3],
        };
        let r = ResizeParams {
            width: rng.random_range(1..50),
            height: rng.random_range(1..50),
            antialias: true,
        };
        let fused = crop_resize(&img, &c, &r).expect("box inside");
        assert_eq!(fused, resize(&crop(&img, &c), &r));
    }
    // A box reaching into padding is not fused.
    let outside = CropParams {
        top: -1,
        left: 0,
        height: 5,
        width: 5,
        padding_mode: PaddingMode::Constant,
        fill: [0; 3],
    };
    let r = ResizeParams {
        width: 3,
        height: 3,
        antialias: true,
    };
    assert!(crop_resize(&img, &outside, &r).is_none());
}
