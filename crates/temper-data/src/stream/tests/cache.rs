//! The decoded cache: built once, reused without decoding while the folder is unchanged,
//! rebuilt with the first difference as the reason, and never trusted with other files.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use image::GrayImage;

use super::{cached, gray, images, mixed_folder, no_progress, open, options, rgb};
use crate::dataset::ImageData;
use crate::error::DataError;
use crate::folder::{FolderOptions, RESIZE_FILTER, decode_image};
use crate::layout::{SourceImage, to_interleaved};
use crate::stream::{CacheStatus, open_image_folder, short_side_size};

/// Overwrites `path` with garbage of the same length and gives it back its modification time:
/// a reused cache must not notice, since it decodes nothing.
fn garble_keeping_size_and_mtime(path: &Path) {
    let meta = std::fs::metadata(path).unwrap();
    let mut file = std::fs::File::options().write(true).open(path).unwrap();
    file.write_all(&vec![0x5A; meta.len() as usize]).unwrap();
    file.set_modified(meta.modified().unwrap()).unwrap();
}

/// Rewrites `path` as a constant gray image and moves its mtime an hour on.
fn touch_with(path: &Path, w: u32, h: u32, v: u8) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    gray(path, w, h, |_, _| v);
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(mtime + Duration::from_secs(3600))
        .unwrap();
}

fn rebuilt(status: Option<CacheStatus>) -> String {
    match status {
        Some(CacheStatus::Rebuilt { reason }) => reason,
        other => panic!("expected a rebuild, got {other:?}"),
    }
}

#[test]
fn a_cache_is_built_once_then_reused_without_decoding() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("new/cache"));
    mixed_folder(&d);
    let opts = cached(options(Some(3), Some([6, 6])), &cache_dir, 8);
    let (calls, last) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let progress = |done: usize, total: usize| {
        assert_eq!(total, 9);
        calls.fetch_add(1, Ordering::Relaxed);
        last.fetch_max(done, Ordering::Relaxed);
    };
    let built = open_image_folder(&d, &opts, &progress).unwrap();
    assert_eq!(built.cache, Some(CacheStatus::Built));
    assert_eq!((calls.into_inner(), last.into_inner()), (9, 9));
    let names: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let (train, test) = (images(&built.train), images(&built.test));
    let sources: Vec<_> = (0..built.train.len())
        .map(|i| built.train.source_image(i).unwrap().unwrap())
        .collect();
    for path in (0..built.train.len()).map(|i| built.train.path(i)) {
        garble_keeping_size_and_mtime(path);
    }
    for path in (0..built.test.len()).map(|i| built.test.path(i)) {
        garble_keeping_size_and_mtime(path);
    }
    drop(built);
    let reused = open_image_folder(&d, &opts, &|_, _| panic!("nothing to build")).unwrap();
    assert_eq!(reused.cache, Some(CacheStatus::Reused));
    assert_eq!(images(&reused.train), train);
    assert_eq!(images(&reused.test), test);
    for (i, source) in sources.iter().enumerate() {
        assert_eq!(reused.train.source_image(i).unwrap().as_ref(), Some(source));
    }
    // Without the cache the garbled files fail, which shows the pixels above were cached.
    let plain = super::super::StreamOptions {
        cache: None,
        ..opts
    };
    let direct = open(&d, &plain);
    assert!(direct.train.try_image(1).is_err());
}

#[test]
fn cached_images_keep_their_aspect_at_the_short_side_and_are_resized_to_the_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("cache"));
    let ramp = |x: u32, y: u32| (x * 9 + y * 4) as u8;
    rgb(&d.join("a/0.png"), 40, 20, |x, y| {
        [ramp(x, y), 50, ramp(y, x)]
    });
    gray(&d.join("b/0.png"), 6, 4, ramp);
    let folder = FolderOptions {
        test_fraction: 0.0,
        ..options(Some(3), Some([7, 9]))
    };
    let s = open(&d, &cached(folder, &cache_dir, 10)).train;
    assert_eq!(s.image_shape(), [3, 7, 9]);
    // 20x40 brought to a short side of 10: 10x20 (torchvision's rule); 4x6 is not upscaled.
    for (i, own) in [(0, [20, 40]), (1, [4, 6])] {
        let stored_size = short_side_size(own, 10);
        let bytes = std::fs::read(s.path(i)).unwrap();
        let stored = decode_image(s.path(i), &bytes, Some(stored_size), Some(3)).unwrap();
        let source = s.source_image(i).unwrap().unwrap();
        assert_eq!(source.pixels, to_interleaved(&stored.pixels, 3));
        assert_eq!(source.channels, stored.channels);
        assert_eq!([source.height, source.width], [[10, 20], [4, 6]][i]);
        // The image is the stored one resized per channel with the same filter.
        let expected: Vec<u8> = (0..3)
            .flat_map(|c| {
                let plane = stored.pixels[c * stored.height * stored.width..]
                    [..stored.height * stored.width]
                    .to_vec();
                let gray =
                    GrayImage::from_raw(stored.width as u32, stored.height as u32, plane).unwrap();
                image::imageops::resize(&gray, 9, 7, RESIZE_FILTER).into_raw()
            })
            .collect();
        assert_eq!(s.try_image(i).unwrap().as_ref(), &expected[..]);
    }
}

#[test]
fn an_image_already_at_the_shape_is_borrowed_from_the_map() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("cache"));
    gray(&d.join("a/0.png"), 12, 12, |x, y| (x * 20 + y) as u8);
    gray(&d.join("b/0.png"), 16, 8, |x, _| x as u8);
    let folder = FolderOptions {
        test_fraction: 0.0,
        ..options(Some(1), Some([8, 8]))
    };
    let s = open(&d, &cached(folder, &cache_dir, 8)).train;
    let image = s.try_image(0).unwrap();
    assert!(matches!(image, Cow::Borrowed(_)));
    let SourceImage { pixels, .. } = s.source_image(0).unwrap().unwrap();
    assert_eq!(image.as_ref(), &pixels[..]);
    // 8x16 is stored as it is (short side 8) and resized to 8x8 on each read.
    assert!(matches!(s.try_image(1).unwrap(), Cow::Owned(_)));
}

#[test]
fn a_changed_folder_or_rule_rebuilds_the_cache_naming_the_first_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("cache"));
    mixed_folder(&d);
    let folder = FolderOptions {
        test_fraction: 0.0,
        ..options(Some(1), Some([5, 5]))
    };
    let opts = cached(folder.clone(), &cache_dir, 8);
    assert_eq!(open(&d, &opts).cache, Some(CacheStatus::Built));

    touch_with(&d.join("bee/0.png"), 9, 9, 33);
    let s = open(&d, &opts);
    assert_eq!(rebuilt(s.cache), "bee/0.png changed (size or mtime)");
    // bee/0.png is the fourth image: ant/0, ant/1, ant/deep/2, bee/0.
    assert_eq!(s.train.image(3).as_ref(), &[33; 25][..]);
    assert_eq!(open(&d, &opts).cache, Some(CacheStatus::Reused));

    gray(&d.join("cow/3.png"), 3, 3, |_, _| 1);
    gray(&d.join("cow/4.png"), 3, 3, |_, _| 2);
    assert_eq!(rebuilt(open(&d, &opts).cache), "2 files added");
    std::fs::remove_file(d.join("cow/4.png")).unwrap();
    assert_eq!(rebuilt(open(&d, &opts).cache), "1 file removed");
    std::fs::rename(d.join("cow/3.png"), d.join("cow/5.png")).unwrap();
    assert_eq!(
        rebuilt(open(&d, &opts).cache),
        "cow/5.png is new or renamed"
    );

    let reason = rebuilt(open(&d, &cached(folder.clone(), &cache_dir, 6)).cache);
    assert_eq!(
        reason,
        "it was resized with triangle to a short side of 8, now triangle to 6"
    );
    let by_content = FolderOptions {
        channels: None,
        ..folder.clone()
    };
    let reason = rebuilt(open(&d, &cached(by_content, &cache_dir, 6)).cache);
    assert_eq!(reason, "channels were 1, now by content");
    let split = FolderOptions {
        test_fraction: 0.5,
        channels: None,
        ..folder
    };
    let reason = rebuilt(open(&d, &cached(split, &cache_dir, 6)).cache);
    assert!(reason.starts_with("the split changed ("), "{reason}");
}

#[test]
fn a_file_that_fails_while_building_is_recorded_and_fails_again_when_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("cache"));
    gray(&d.join("a/0.png"), 4, 4, |_, _| 10);
    gray(&d.join("a/1.png"), 4, 4, |_, _| 20);
    gray(&d.join("b/0.png"), 4, 4, |_, _| 30);
    std::fs::write(d.join("a/1.png"), b"not a png").unwrap();
    let folder = FolderOptions {
        test_fraction: 0.0,
        ..options(Some(1), None)
    };
    let opts = cached(folder, &cache_dir, 4);
    for status in [CacheStatus::Built, CacheStatus::Reused] {
        let s = open(&d, &opts);
        assert_eq!(s.cache, Some(status));
        let err = s.train.try_image(1).unwrap_err();
        let DataError::BadImage { path, message } = &err else {
            panic!("{err}")
        };
        assert_eq!(*path, d.join("a/1.png"));
        assert!(message.ends_with("(when the cache was built)"), "{message}");
        assert!(s.train.source_image(1).is_err());
        assert_eq!(s.train.image(1).as_ref(), &[0; 16][..]);
        assert_eq!(s.train.image(2).as_ref(), &[30; 16][..]);
    }
}

#[test]
fn a_cache_folder_holding_other_files_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("mine"));
    mixed_folder(&d);
    std::fs::create_dir(&cache_dir).unwrap();
    std::fs::write(cache_dir.join("thesis.tex"), "precious").unwrap();
    let opts = cached(options(Some(3), None), &cache_dir, 8);
    let err = open_image_folder(&d, &opts, &no_progress).unwrap_err();
    assert!(matches!(err, DataError::CacheDir { .. }));
    let text = err.to_string();
    assert!(text.starts_with(&*cache_dir.to_string_lossy()), "{text}");
    assert!(text.contains("\"thesis.tex\""), "{text}");
    let left: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().collect();
    assert_eq!(left.len(), 1);
    assert_eq!(
        std::fs::read_to_string(cache_dir.join("thesis.tex")).unwrap(),
        "precious"
    );

    // A file where the folder should be.
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = open_image_folder(&d, &cached(options(Some(3), None), &file, 8), &no_progress);
    assert!(matches!(err, Err(DataError::CacheDir { .. })), "{err:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn a_short_side_out_of_range_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    mixed_folder(tmp.path());
    for side in [0, 16_385] {
        let opts = cached(options(None, None), &tmp.path().join("c"), side);
        let err = open_image_folder(tmp.path(), &opts, &no_progress).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cache_short_side must be in 1..=16384, got {side}")
        );
    }
    assert!(!tmp.path().join("c").exists());
}

#[test]
fn a_moved_source_folder_rebuilds_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("cache"));
    mixed_folder(&d);
    let opts = cached(options(Some(3), None), &cache_dir, 8);
    assert_eq!(open(&d, &opts).cache, Some(CacheStatus::Built));
    let moved = tmp.path().join("moved");
    std::fs::rename(&d, &moved).unwrap();
    let reason = rebuilt(open(&moved, &opts).cache);
    assert!(
        reason.starts_with("it was built from ") && reason.contains("data"),
        "{reason}"
    );
}
