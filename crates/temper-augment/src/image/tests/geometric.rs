//! Geometric ops against hand-computed pixels.

use image::{GrayImage, RgbImage};

use crate::image::OpParams;
use crate::image::cpu::geometric::{
    AffineParams, CropParams, ResizeParams, affine, crop, hflip, resize,
};
use crate::image::cpu::pipeline::sample_rng;
use crate::image::cpu::raster::{AugImage, Interpolation, PaddingMode, pad_index};
use crate::image::ops::common::Size;
use crate::image::ops::geometric::{
    CenterCropConfig, RandomCropConfig, RandomResizedCropConfig, ResizeConfig,
};

/// A `w x h` gray image whose pixel `(i, j)` is `i * w + j` (distinct values).
fn ramp(w: u32, h: u32) -> AugImage {
    AugImage::Gray(GrayImage::from_fn(w, h, |x, y| {
        image::Luma([(y * w + x) as u8])
    }))
}

fn px(img: &AugImage, x: u32, y: u32) -> u8 {
    img.as_raw()[(y * img.width() + x) as usize * img.channels()]
}

#[test]
fn hflip_mirrors_columns_and_twice_is_identity() {
    let img = ramp(3, 2); // rows [0 1 2], [3 4 5]
    let f = hflip(&img);
    assert_eq!(f.as_raw(), &[2, 1, 0, 5, 4, 3]);
    assert_eq!(hflip(&f), img);
    let rgb = AugImage::Rgb(RgbImage::from_fn(5, 3, |x, y| {
        image::Rgb([x as u8, y as u8, 7])
    }));
    assert_eq!(hflip(&hflip(&rgb)), rgb);
}

#[test]
fn rotation_by_90_is_transpose_then_vflip() {
    // Counter-clockwise by 90 degrees (torchvision F.rotate): new[i][j] = old[j][W-1-i],
    // i.e. vflip(transpose(old)). Pixel centres map onto pixel centres, so bilinear is exact.
    for interp in [Interpolation::Bilinear, Interpolation::Nearest] {
        let img = ramp(6, 6);
        let out = affine(&img, &AffineParams::rotation(90.0, interp, [0; 3]));
        for i in 0..6 {
            for j in 0..6 {
                assert_eq!(px(&out, j, i), px(&img, 5 - i, j), "({i}, {j}) {interp:?}");
            }
        }
        // A clockwise quarter turn is transpose then hflip: new[i][j] = old[H-1-j][i].
        let cw = affine(&img, &AffineParams::rotation(-90.0, interp, [0; 3]));
        for i in 0..6 {
            for j in 0..6 {
                assert_eq!(px(&cw, j, i), px(&img, i, 5 - j));
            }
        }
    }
}

#[test]
fn inverse_matrix_matches_torchvision_closed_forms() {
    // Pure zoom s: M^-1 = diag(1/s, 1/s); pure translation t: x' = x - t.
    let zoom = AffineParams {
        scale: 2.0,
        ..AffineParams::identity()
    };
    assert_eq!(zoom.inverse_matrix(8, 8), [0.5, 0.0, 0.0, 0.0, 0.5, 0.0]);
    let shift = AffineParams {
        translate: [3.0, -2.0],
        ..AffineParams::identity()
    };
    assert_eq!(shift.inverse_matrix(8, 8), [1.0, 0.0, -3.0, 0.0, 1.0, 2.0]);
    // Shear x by 45 degrees about the centre: RSS = [[1, -tan 45], [0, 1]] (torchvision's
    // b = -cos(0) tan(sx)), so the inverse is [[1, 1], [0, 1]].
    let shear = AffineParams {
        shear: [45.0, 0.0],
        ..AffineParams::identity()
    };
    let m = shear.inverse_matrix(8, 8);
    for (got, want) in m.iter().zip([1.0, 1.0, 0.0, 0.0, 1.0, 0.0]) {
        assert!((got - want).abs() < 1e-12, "{m:?}");
    }
}

#[test]
fn translation_by_whole_and_half_pixels() {
    // Row [0 100 200 250]. tx = 1: out[j] = in[j - 1], column 0 is the fill.
    let img = AugImage::Gray(GrayImage::from_raw(4, 1, vec![0, 100, 200, 250]).unwrap());
    let t = |tx: f32, fill: u8| {
        affine(
            &img,
            &AffineParams {
                translate: [tx, 0.0],
                fill: Some([fill; 3]),
                ..AffineParams::identity()
            },
        )
    };
    assert_eq!(t(1.0, 9).as_raw(), &[9, 0, 100, 200]);
    // tx = 0.5: out[j] = (in[j-1] + in[j]) / 2; column 0 has its left neighbour outside:
    // torchvision's mask rule with S = 0.5 * 0 and mask m = 0.5 gives (0 - 9) 0.5 + 9 = 4.5,
    // which rounds to 5: [5, 50, 150, 225].
    assert_eq!(t(0.5, 9).as_raw(), &[5, 50, 150, 225]);
}

#[test]
fn crop_copies_exactly_and_pads_by_mode() {
    let img = ramp(5, 4);
    let c = |top, left, h, w, mode| {
        crop(
            &img,
            &CropParams {
                top,
                left,
                height: h,
                width: w,
                padding_mode: mode,
                fill: [77; 3],
            },
        )
    };
    let inner = c(1, 2, 2, 3, PaddingMode::Constant);
    assert_eq!(inner.as_raw(), &[7, 8, 9, 12, 13, 14]);
    // One row above the image: constant fill, edge repeats row 0, reflect reads row 1,
    // symmetric repeats row 0.
    assert_eq!(c(-1, 0, 1, 2, PaddingMode::Constant).as_raw(), &[77, 77]);
    assert_eq!(c(-1, 0, 1, 2, PaddingMode::Edge).as_raw(), &[0, 1]);
    assert_eq!(c(-1, 0, 1, 2, PaddingMode::Reflect).as_raw(), &[5, 6]);
    assert_eq!(c(-1, 0, 1, 2, PaddingMode::Symmetric).as_raw(), &[0, 1]);
    // numpy.pad([0 1 2], 3, 'reflect') = [3 2 1 | 0 1 2 | 1 0 1]... for n = 3:
    let reflect: Vec<_> = (-3..6)
        .map(|i| pad_index(i, 3, PaddingMode::Reflect).unwrap())
        .collect();
    assert_eq!(reflect, [1, 2, 1, 0, 1, 2, 1, 0, 1]);
    let symmetric: Vec<_> = (-3..6)
        .map(|i| pad_index(i, 3, PaddingMode::Symmetric).unwrap())
        .collect();
    assert_eq!(symmetric, [2, 1, 0, 0, 1, 2, 2, 1, 0]);
}

#[test]
fn random_crop_with_padding_stays_within_the_padding() {
    // RandomCrop(28, padding=2) on 28x28: top/left in -2..=2, every offset reached.
    let cfg = RandomCropConfig {
        padding: crate::image::ops::common::Sides::All(2),
        ..RandomCropConfig::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..400 {
        let OpParams::Crop(c) = cfg.sample(&mut sample_rng(1, 0, i), 28, 28) else {
            panic!("not a crop");
        };
        assert!(
            (-2..=2).contains(&c.top) && (-2..=2).contains(&c.left),
            "{c:?}"
        );
        assert_eq!((c.width, c.height), (28, 28));
        seen.insert((c.top, c.left));
    }
    assert_eq!(seen.len(), 25);
    // Crop larger than the image: torchvision pad_if_needed pads the shortfall on both sides.
    let big = RandomCropConfig {
        size: Some(Size::Square(6)),
        ..RandomCropConfig::default()
    };
    for i in 0..50 {
        let OpParams::Crop(c) = big.sample(&mut sample_rng(2, 0, i), 4, 4) else {
            panic!("not a crop");
        };
        assert!(
            (-2..=0).contains(&c.top) && (-2..=0).contains(&c.left),
            "{c:?}"
        );
    }
}

#[test]
fn center_crop_offsets_follow_torchvision_rounding() {
    let cc = |n: u32, s: u32| {
        let cfg = CenterCropConfig {
            size: Size::Square(s),
        };
        match cfg.sample(&mut sample_rng(0, 0, 0), n, n) {
            OpParams::Crop(c) => c.top,
            p => panic!("{p:?}"),
        }
    };
    assert_eq!(cc(5, 3), 1); // round(1.0)
    assert_eq!(cc(4, 3), 0); // round(0.5) = 0, half to even as Python
    assert_eq!(cc(6, 3), 2); // round(1.5) = 2
    assert_eq!(cc(3, 6), -1); // pad floor(3/2) = 1 on top
}

#[test]
fn random_resized_crop_boxes_respect_scale_and_ratio() {
    let cfg = RandomResizedCropConfig::default(); // scale [0.08, 1], ratio [3/4, 4/3]
    let (w, h) = (64u32, 48u32);
    for i in 0..500 {
        let [top, left, bh, bw] = cfg.crop_box(&mut sample_rng(3, 1, i), w, h);
        assert!(top + bh <= h && left + bw <= w && bh > 0 && bw > 0);
        let area = (bh * bw) as f64 / (w * h) as f64;
        let ratio = bw as f64 / bh as f64;
        // w and h are rounded to integers: allow their half-pixel error.
        let slack = 0.5 / bh.min(bw) as f64;
        assert!(
            area >= 0.08 * (1.0 - 2.0 * slack) - 1e-9 && area <= 1.0,
            "area {area}"
        );
        assert!(
            ratio >= 0.75 * (1.0 - 2.0 * slack) && ratio <= 4.0 / 3.0 * (1.0 + 2.0 * slack),
            "ratio {ratio} for {bw}x{bh}"
        );
    }
    // Scale range with no feasible try (ratio far from the image's): the fallback crops the
    // whole height at the closest ratio, centred. 64x8 with ratio [1, 1]: 8x8 at left 28.
    let square = RandomResizedCropConfig {
        scale: [1.0, 1.0],
        ratio: [1.0, 1.0],
        ..RandomResizedCropConfig::default()
    };
    assert_eq!(
        square.crop_box(&mut sample_rng(0, 0, 0), 64, 8),
        [0, 28, 8, 8]
    );
    // The sampled op resizes to the input size by default.
    let p = cfg.sample(&mut sample_rng(3, 1, 0), w, h);
    assert_eq!(p.output_size(w, h), (w, h));
}

#[test]
fn resize_is_pil_bilinear() {
    // 2 -> 4 columns: output centres at input positions -0.25, 0.25, 0.75, 1.25; taps outside
    // the image are dropped and weights renormalized (PIL), so [0, 255] -> [0, 64, 191, 255].
    let img = AugImage::Gray(GrayImage::from_raw(2, 1, vec![0, 255]).unwrap());
    let out = resize(
        &img,
        &ResizeParams {
            width: 4,
            height: 1,
            antialias: true,
        },
    );
    assert_eq!(out.as_raw(), &[0, 64, 191, 255]);
    // A constant image stays constant under any resize.
    let flat = AugImage::Gray(GrayImage::from_pixel(7, 5, image::Luma([123])));
    let small = resize(
        &flat,
        &ResizeParams {
            width: 3,
            height: 2,
            antialias: true,
        },
    );
    assert!(small.as_raw().iter().all(|&v| v == 123));
}

#[test]
fn antialias_reaches_the_resize_params() {
    let rng = || sample_rng(3, 1, 0);
    let resize_of = |p: OpParams| match p {
        OpParams::Resize(r) => r,
        OpParams::Sequence(ops) => match ops.last() {
            Some(OpParams::Resize(r)) => *r,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let on: ResizeConfig = toml::from_str("size = 32").unwrap();
    let off: ResizeConfig = toml::from_str("size = 32\nantialias = false").unwrap();
    assert!(
        resize_of(on.sample(&mut rng(), 64, 64)).antialias,
        "default on"
    );
    let r = resize_of(off.sample(&mut rng(), 64, 64));
    assert_eq!((r.width, r.height, r.antialias), (32, 32, false));
    let rrc: RandomResizedCropConfig = toml::from_str("antialias = false").unwrap();
    assert!(!resize_of(rrc.sample(&mut rng(), 64, 64)).antialias);
    assert!(RandomResizedCropConfig::default().antialias);
}
