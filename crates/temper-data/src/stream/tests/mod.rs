//! Tests of the streaming reader on small folders written with the `image` crate's encoders:
//! it gives the in-memory reader's images (`same.rs`), keeps, reuses and rebuilds its decoded
//! cache (`cache.rs`), and survives damaged caches and files (`hostile.rs`).

use std::path::{Path, PathBuf};

pub(super) use crate::test_support::{gray, no_progress, rgb};

use super::{CacheOptions, StreamOptions, StreamSplits, open_image_folder};
use crate::dataset::ImageData;
use crate::folder::FolderOptions;

mod cache;
mod hostile;
mod same;

/// A folder of three classes mixing gray and RGB, PNG and JPEG images of different sizes
/// (one in a sub-folder), with varied pixels so that a resize or a channel change shows.
fn mixed_folder(dir: &Path) {
    let ramp = |x: u32, y: u32| (x * 13 + y * 7) as u8;
    rgb(&dir.join("ant/0.png"), 12, 9, |x, y| {
        [ramp(x, y), 200 - ramp(x, y), 40]
    });
    gray(&dir.join("ant/1.jpg"), 20, 14, ramp);
    rgb(&dir.join("ant/deep/2.jpeg"), 7, 16, |x, y| {
        [x as u8 * 30, y as u8 * 15, 90]
    });
    gray(&dir.join("bee/0.png"), 9, 9, |x, _| x as u8 * 25);
    rgb(&dir.join("bee/1.JPG"), 16, 10, |x, y| {
        [ramp(x, y), ramp(y, x), 128]
    });
    rgb(&dir.join("bee/2.png"), 5, 11, |x, y| {
        [9 * x as u8, 9 * x as u8, 3 * y as u8]
    });
    gray(&dir.join("cow/0.png"), 30, 18, |x, y| ramp(y, x));
    rgb(&dir.join("cow/1.jpg"), 24, 24, |x, y| {
        [x as u8 * 10, 255 - y as u8 * 10, 0]
    });
    gray(&dir.join("cow/2.png"), 6, 4, |_, _| 77);
}

fn options(channels: Option<usize>, image_size: Option<[usize; 2]>) -> FolderOptions {
    FolderOptions {
        channels,
        image_size,
        test_fraction: 0.34,
        seed: 7,
        ..FolderOptions::default()
    }
}

fn cached(folder: FolderOptions, cache_dir: &Path, short_side: usize) -> StreamOptions {
    StreamOptions {
        folder,
        cache: Some(CacheOptions {
            dir: cache_dir.to_path_buf(),
            short_side,
        }),
    }
}

fn open(dir: &Path, options: &StreamOptions) -> StreamSplits {
    open_image_folder(dir, options, &no_progress).unwrap()
}

/// Every image of a split, as `image` gives it.
fn images(split: &impl ImageData) -> Vec<Vec<u8>> {
    (0..split.len())
        .map(|i| split.image(i).into_owned())
        .collect()
}

/// The files behind a split's images.
fn paths(split: &super::StreamingFolder) -> Vec<PathBuf> {
    (0..split.len())
        .map(|i| split.path(i).to_path_buf())
        .collect()
}
