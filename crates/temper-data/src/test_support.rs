//! Image files for the readers' tests, written with the `image` crate's encoders.

use std::path::Path;

use image::{GrayImage, Luma, Rgb, RgbImage};

/// Writes a `w` x `h` gray image whose pixel at `(x, y)` is `f(x, y)`, creating its folder.
pub(crate) fn gray(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_fn(w, h, |x, y| Luma([f(x, y)]))
        .save(path)
        .unwrap();
}

/// Writes a `w` x `h` RGB image whose pixel at `(x, y)` is `f(x, y)`, creating its folder.
pub(crate) fn rgb(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_fn(w, h, |x, y| Rgb(f(x, y)))
        .save(path)
        .unwrap();
}

/// A loading progress that ignores its counts.
pub(crate) fn no_progress(_: usize, _: usize) {}
