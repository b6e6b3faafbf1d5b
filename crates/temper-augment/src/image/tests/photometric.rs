//! Photometric ops against hand-computed pixels.

use image::{GrayImage, RgbImage};

use crate::image::cpu::photometric::*;
use crate::image::cpu::raster::AugImage;

fn gray(values: &[u8]) -> AugImage {
    AugImage::Gray(GrayImage::from_raw(values.len() as u32, 1, values.to_vec()).unwrap())
}

fn rgb(pixels: &[[u8; 3]]) -> AugImage {
    let raw = pixels.iter().flatten().copied().collect();
    AugImage::Rgb(RgbImage::from_raw(pixels.len() as u32, 1, raw).unwrap())
}

#[test]
fn brightness_scales_clips_and_truncates_as_torchvision_uint8() {
    // 1.5 v, clipped, truncated (torchvision `_blend` casts to uint8): 10 -> 15,
    // 100 -> 150, 101 -> 151.5 -> 151, 170 -> 255.
    let out = brightness(&gray(&[0, 10, 100, 101, 170, 255]), 1.5);
    assert_eq!(out.as_raw(), &[0, 15, 150, 151, 255, 255]);
    assert_eq!(brightness(&gray(&[0, 99, 255]), 0.0).as_raw(), &[0, 0, 0]);
}

#[test]
fn contrast_blends_with_the_mean_of_the_truncated_luma() {
    // Gray: mean 100, factor 0.5: 0.5 v + 50.
    let out = contrast(&gray(&[0, 100, 200, 100]), 0.5);
    assert_eq!(out.as_raw(), &[50, 100, 150, 100]);
    // RGB: lumas 0.2989*255 = 76.2195 and 0.114*255 = 29.07, truncated to the uint8
    // grayscale 76 and 29 (torchvision `rgb_to_grayscale`), mean 52.5; factor 0 gives
    // 0 v + 1 * 52.5 everywhere, truncated to 52 (the unrounded lumas' mean 52.64 rounds
    // to 53).
    let out = contrast(&rgb(&[[255, 0, 0], [0, 0, 255]]), 0.0);
    assert!(out.as_raw().iter().all(|&v| v == 52), "{:?}", out.as_raw());
    // Factor 2: 2 v - mean: red channel 2*255 - 52.5 clips to 255, 0 -> clips to 0.
    let out = contrast(&rgb(&[[255, 0, 0], [0, 0, 255]]), 2.0);
    assert_eq!(out.as_raw(), &[255, 0, 0, 0, 0, 255]);
}

#[test]
fn saturation_blends_with_the_truncated_luma_and_truncates_as_torchvision_uint8() {
    let red = rgb(&[[255, 0, 0]]);
    // Saturation 0.5 blends with the uint8 gray 76: 0.5 v + 0.5 * 76 -> [165.5, 38, 38],
    // truncated to [165, 38, 38] (with the luma 76.2195 and rounding: 166).
    assert_eq!(saturation(&red, 0.5).as_raw(), &[165, 38, 38]);
    // Where the two rules differ by 2: (0, 0, 33) with factor 3. Luma 0.114 * 33 = 3.762,
    // gray 3; blue 3 * 33 + (1 - 3) * 3 = 99 - 6 = 93, red and green 0 - 6 -> 0. (The
    // unrounded luma would give 99 - 7.524 = 91.476 -> 91.)
    assert_eq!(saturation(&rgb(&[[0, 0, 33]]), 3.0).as_raw(), &[0, 0, 93]);
    // Factor 0.5 on (0, 200, 0): luma 0.587 * 200 = 117.4, gray 117; 0.5 v + 0.5 * 117 =
    // [58.5, 158.5, 58.5] -> [58, 158, 58] (the unrounded luma and rounding: [59, 159, 59]).
    assert_eq!(
        saturation(&rgb(&[[0, 200, 0]]), 0.5).as_raw(),
        &[58, 158, 58]
    );
}

#[test]
fn grayscale_truncates_the_luma_as_torchvision_uint8() {
    // torchvision `rgb_to_grayscale` on uint8 casts `0.2989 R + 0.587 G + 0.114 B` with
    // `.to(uint8)`, which truncates: white 254.9745 -> 254 (the weights sum to 0.9999),
    // (200, 100, 50) 59.78 + 58.7 + 5.7 = 124.18 -> 124, (0, 255, 255) 149.685 + 29.07 =
    // 178.755 -> 178 (rounding would give 255, 124 and 179).
    let out = grayscale(&rgb(&[[255, 255, 255], [200, 100, 50], [0, 255, 255]]));
    assert_eq!(out.as_raw(), &[254, 254, 254, 124, 124, 124, 178, 178, 178]);
}

#[test]
fn saturation_grayscale_and_hue() {
    let red = rgb(&[[255, 0, 0]]);
    // Saturation 0 and grayscale: luma 76.2195 -> 76 in every channel.
    assert_eq!(saturation(&red, 0.0).as_raw(), &[76, 76, 76]);
    assert_eq!(grayscale(&red).as_raw(), &[76, 76, 76]);
    assert_eq!(saturation(&red, 1.0), red);
    // Hue: red (h = 0) + 1/3 turn is green, + 1/2 is cyan, -1/3 is blue.
    assert_eq!(hue(&red, 1.0 / 3.0).as_raw(), &[0, 255, 0]);
    assert_eq!(hue(&red, 0.5).as_raw(), &[0, 255, 255]);
    assert_eq!(hue(&red, -1.0 / 3.0).as_raw(), &[0, 0, 255]);
    // Gray images are unchanged by saturation and hue.
    let g = gray(&[3, 200]);
    assert_eq!(saturation(&g, 0.0), g);
    assert_eq!(hue(&g, 0.25), g);
    // HSV of orange (255, 128, 0): h = (bc - gc)/6 with bc = 1, gc = 127/255.
    let [h, s, v] = rgb_to_hsv([1.0, 128.0 / 255.0, 0.0]);
    assert!((h - (1.0 - 127.0 / 255.0) / 6.0).abs() < 1e-6 && s == 1.0 && v == 1.0);
    let back = hsv_to_rgb([h, s, v]);
    assert!((back[1] - 128.0 / 255.0).abs() < 1e-6);
}

#[test]
fn gamma_curve() {
    // 255 (v/255)^2: 128 -> 64.25 -> 64; 255 stays; gain 2 on 128 with gamma 1 clips to 255.
    assert_eq!(
        gamma(&gray(&[0, 128, 255]), 2.0, 1.0).as_raw(),
        &[0, 64, 255]
    );
    assert_eq!(gamma(&gray(&[64, 128]), 1.0, 2.0).as_raw(), &[128, 255]);
}

#[test]
fn invert_solarize_posterize_on_known_values() {
    assert_eq!(invert(&gray(&[0, 1, 254, 255])).as_raw(), &[255, 254, 1, 0]);
    // Values >= 128 are inverted.
    assert_eq!(
        solarize(&gray(&[0, 127, 128, 255])).as_raw(),
        &[0, 127, 127, 0]
    );
    // 2 bits: mask 0b1100_0000.
    let out = posterize(&gray(&[0, 63, 64, 127, 128, 255]), 2);
    assert_eq!(out.as_raw(), &[0, 0, 64, 64, 128, 192]);
    assert_eq!(posterize(&gray(&[200]), 8).as_raw(), &[200]);
    assert_eq!(posterize(&gray(&[200]), 0).as_raw(), &[0]);
}

fn solarize(img: &AugImage) -> AugImage {
    crate::image::cpu::photometric::solarize(img, 128.0)
}

#[test]
fn equalize_matches_pil() {
    // 1020 pixels, values 0..=3 each 255 times: step = floor(765 / 255) = 3,
    // lut[v] = floor((cum_below[v] + 1) / 3) = [0, 85, 170, 255].
    let values: Vec<u8> = (0..1020).map(|i| (i % 4) as u8).collect();
    let out = equalize(&gray(&values));
    let want: Vec<u8> = values
        .iter()
        .map(|&v| [0, 85, 170, 255][v as usize])
        .collect();
    assert_eq!(out.as_raw(), &want[..]);
    // Too few pixels for a step: unchanged (step = floor(3 / 255) = 0).
    let few = gray(&[0, 1, 2, 3]);
    assert_eq!(equalize(&few), few);
}

#[test]
fn autocontrast_stretches_each_channel() {
    // (v - 50) * 255 / 100: [0, 127.5 -> 128, 255].
    assert_eq!(
        autocontrast(&gray(&[50, 100, 150])).as_raw(),
        &[0, 128, 255]
    );
    // Per channel: R spans 10..20, G is constant (kept), B spans 0..255 (kept).
    let out = autocontrast(&rgb(&[[10, 7, 0], [20, 7, 255]]));
    assert_eq!(out.as_raw(), &[0, 7, 0, 255, 7, 255]);
}

#[test]
fn sharpness_uses_pil_smooth_kernel() {
    // 3x3 with centre 130: smooth(centre) = 5 * 130 / 13 = 50; border unchanged.
    let mut raw = vec![0u8; 9];
    raw[4] = 130;
    let img = AugImage::Gray(GrayImage::from_raw(3, 3, raw).unwrap());
    assert_eq!(sharpness(&img, 0.0).as_raw()[4], 50);
    assert_eq!(sharpness(&img, 1.0), img);
    // Factor 2: 2 * 130 - 50 = 210.
    assert_eq!(sharpness(&img, 2.0).as_raw()[4], 210);
    assert!(
        sharpness(&img, 2.0)
            .as_raw()
            .iter()
            .enumerate()
            .all(|(i, &v)| i == 4 || v == 0)
    );
}

#[test]
fn gaussian_blur_kernel_and_constant_image() {
    // k = 3, sigma = 1: [e^-0.5, 1, e^-0.5] / (1 + 2 e^-0.5) = [0.274069, 0.451863, 0.274069].
    let k = gaussian_kernel(3, 1.0);
    for (got, want) in k.iter().zip([0.274_068_6, 0.451_862_8, 0.274_068_6]) {
        assert!((got - want).abs() < 1e-6, "{k:?}");
    }
    let flat = AugImage::Gray(GrayImage::from_pixel(6, 5, image::Luma([90])));
    assert_eq!(gaussian_blur(&flat, 5, 1.3), flat);
    // A single bright column x = 2 of a 5-wide row blurs to the kernel (reflect padding
    // plays no part away from the border): [0, 0.274, 0.452, 0.274, 0] * 200.
    let mut raw = vec![0u8; 5];
    raw[2] = 200;
    let line = AugImage::Gray(GrayImage::from_raw(5, 1, raw).unwrap());
    assert_eq!(gaussian_blur(&line, 3, 1.0).as_raw(), &[0, 55, 90, 55, 0]);
}

#[test]
fn gaussian_noise_has_the_requested_spread() {
    let flat = AugImage::Gray(GrayImage::from_pixel(100, 100, image::Luma([128])));
    assert_eq!(gaussian_noise(&flat, 0.0, 0.0, 5), flat);
    // sigma 0.1 on the [0, 1] scale is 25.5 levels; 10,000 draws estimate it within ~2%.
    let out = gaussian_noise(&flat, 0.0, 0.1, 5);
    let n = out.as_raw().len() as f64;
    let mean = out.as_raw().iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (out
        .as_raw()
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    assert!(
        (mean - 128.0).abs() < 1.0 && (sd - 25.5).abs() < 1.0,
        "{mean} {sd}"
    );
    assert_eq!(out, gaussian_noise(&flat, 0.0, 0.1, 5));
}

#[test]
fn salt_and_pepper_fractions_and_shared_mask() {
    let flat = AugImage::Rgb(RgbImage::from_pixel(100, 100, image::Rgb([100, 120, 140])));
    assert!(
        salt_and_pepper(&flat, 1.0, 1.0, 1)
            .as_raw()
            .iter()
            .all(|&v| v == 255)
    );
    let out = salt_and_pepper(&flat, 0.5, 0.25, 9);
    let (mut salt, mut pepper) = (0, 0);
    for p in out.as_raw().chunks_exact(3) {
        match p {
            [255, 255, 255] => salt += 1,
            [0, 0, 0] => pepper += 1,
            [100, 120, 140] => {}
            other => panic!("channels not replaced together: {other:?}"),
        }
    }
    // Expected 1250 salt and 3750 pepper of 10,000; binomial sd ~33 and ~43.
    assert!((salt as f64 - 1250.0).abs() < 150.0 && (pepper as f64 - 3750.0).abs() < 200.0);
}
