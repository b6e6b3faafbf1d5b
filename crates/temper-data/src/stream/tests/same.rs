//! Without a cache the stream gives the in-memory reader's images, labels and classes, and
//! each image fails on its own.

use std::borrow::Cow;

use super::{gray, images, mixed_folder, no_progress, open, options, paths, rgb};
use crate::dataset::ImageData;
use crate::error::DataError;
use crate::folder::{FolderOptions, decode_source, read_image_folder};
use crate::stream::{StreamOptions, StreamingFolder, open_image_folder, short_side_size};

fn plain(folder: FolderOptions) -> StreamOptions {
    StreamOptions {
        folder,
        cache: None,
    }
}

#[test]
fn streamed_images_equal_the_in_memory_ones_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    mixed_folder(d);
    let cases = [
        options(Some(3), None),
        options(Some(1), None),
        options(Some(3), Some([8, 10])),
        options(Some(1), Some([13, 5])),
        // The first image is colour, so "by content" gives 3 both ways here.
        options(None, None),
    ];
    for folder in cases {
        let memory = read_image_folder(d, &folder, &no_progress).unwrap();
        let stream = open(d, &plain(folder.clone()));
        assert!(stream.cache.is_none());
        for (m, s) in [(&memory.train, &stream.train), (&memory.test, &stream.test)] {
            assert_eq!(s.image_shape(), m.image_shape(), "{folder:?}");
            assert_eq!(s.class_names(), m.class_names());
            assert_eq!(s.len(), m.len());
            let labels: Vec<u8> = (0..s.len()).map(|i| s.label(i) as u8).collect();
            assert_eq!(labels, m.labels());
            assert_eq!(images(s), images(m), "{folder:?}");
            for i in 0..s.len() {
                assert_eq!(s.try_image(i).unwrap(), m.image(i));
            }
        }
        // 9 images, round(3 × 0.34) = 1 held out per class.
        assert_eq!((stream.train.len(), stream.test.len()), (6, 3));
    }
}

#[test]
fn default_channels_come_from_the_first_image_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    gray(&d.join("a/0.png"), 4, 3, |x, _| x as u8);
    rgb(&d.join("b/0.png"), 4, 3, |_, _| [200, 100, 50]);
    let folder = options(None, None);
    // In memory one colour image makes the set RGB; streamed, the gray first image makes it
    // gray, and the colour one becomes Pillow's luma, 124 (see folder's luma test).
    let memory = read_image_folder(
        d,
        &FolderOptions {
            test_fraction: 0.0,
            ..folder.clone()
        },
        &no_progress,
    )
    .unwrap();
    assert_eq!(memory.train.image_shape(), [3, 3, 4]);
    let stream = open(
        d,
        &plain(FolderOptions {
            test_fraction: 0.0,
            ..folder
        }),
    );
    assert_eq!(stream.train.image_shape(), [1, 3, 4]);
    assert_eq!(stream.train.image(1), Cow::<[u8]>::Owned(vec![124; 12]));
}

#[test]
fn a_bad_file_fails_alone_with_its_path_and_reads_as_zeros() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for k in 0..5 {
        gray(&d.join(format!("a/{k}.png")), 4, 4, |_, _| 10 * k as u8);
        gray(&d.join(format!("b/{k}.png")), 4, 4, |_, _| 100);
    }
    let folder = FolderOptions {
        test_fraction: 0.0,
        ..options(Some(1), None)
    };
    let s = open(d, &plain(folder)).train;
    let png = std::fs::read(d.join("a/2.png")).unwrap();
    // A jpeg start of image and garbage; the first half of a png; an empty file; a file gone.
    std::fs::write(d.join("a/1.png"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5]).unwrap();
    std::fs::write(d.join("a/2.png"), &png[..png.len() / 2]).unwrap();
    std::fs::write(d.join("a/3.png"), []).unwrap();
    std::fs::remove_file(d.join("a/4.png")).unwrap();
    for k in 1..=4 {
        let path = s.path(k).to_path_buf();
        assert!(path.ends_with(format!("a/{k}.png")));
        let err = s.try_image(k).unwrap_err();
        match (k, &err) {
            (4, DataError::Io { path: p, .. }) | (1..=3, DataError::BadImage { path: p, .. }) => {
                assert_eq!(*p, path, "{err}")
            }
            _ => panic!("image {k}: {err}"),
        }
        assert!(err.to_string().contains(&*path.to_string_lossy()));
        assert!(s.source_image(k).is_err());
        assert_eq!(s.image(k).as_ref(), &[0u8; 16][..]);
    }
    assert_eq!(s.try_image(0).unwrap().as_ref(), &[0u8; 16][..]);
    assert_eq!(s.try_image(5).unwrap().as_ref(), &[100u8; 16][..]);
}

#[test]
fn the_source_image_keeps_its_own_size_with_the_sets_channels() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    mixed_folder(d);
    let s = open(d, &plain(options(Some(1), Some([5, 5])))).train;
    for i in 0..s.len() {
        let bytes = std::fs::read(s.path(i)).unwrap();
        let own = decode_source(s.path(i), &bytes, None, Some(1)).unwrap();
        assert_eq!(s.source_image(i).unwrap(), Some(own));
    }
}

#[test]
fn the_listing_errors_are_the_in_memory_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    gray(&d.join("only/0.png"), 2, 2, |_, _| 0);
    let folder = options(None, None);
    let memory = read_image_folder(d, &folder, &no_progress).unwrap_err();
    let stream = open_image_folder(d, &plain(folder), &no_progress).unwrap_err();
    assert_eq!(stream.to_string(), memory.to_string());
    assert!(matches!(stream, DataError::TooFewClasses { .. }));
    let bad = FolderOptions {
        channels: Some(2),
        ..options(None, None)
    };
    let err = open_image_folder(d, &plain(bad), &no_progress).unwrap_err();
    assert_eq!(err.to_string(), "channels must be 1 or 3, got 2");
}

#[test]
fn decoded_bytes_count_what_memory_would_hold_and_saturate() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    mixed_folder(d);
    let s = open(d, &plain(options(Some(3), Some([100, 200]))));
    // 6 training images × 3 × 100 × 200.
    assert_eq!(s.train.decoded_bytes(), 6 * 3 * 100 * 200);
    assert_eq!(s.test.decoded_bytes(), 3 * 3 * 100 * 200);
    assert_eq!(paths(&s.train).len(), 6);
    let max = options(Some(3), Some([16_384, 16_384]));
    // 6 × 3 × 2^28 fits u64; the product of a fake shape near usize::MAX saturates.
    assert_eq!(open(d, &plain(max)).train.decoded_bytes(), (6 * 3) << 28);
    let huge = StreamingFolder {
        files: vec![d.to_path_buf(); 3],
        labels: vec![0; 3],
        shape: [usize::MAX, 2, 2],
        classes: vec!["a".into()],
        cache: None,
    };
    assert_eq!(huge.decoded_bytes(), u64::MAX);
}

#[test]
fn a_short_side_is_brought_down_as_torchvision_resize_does() {
    // torchvision: new_long = int(256 * 640 / 480) = int(341.33) = 341.
    assert_eq!(short_side_size([480, 640], 256), [256, 341]);
    assert_eq!(short_side_size([640, 480], 256), [341, 256]);
    assert_eq!(short_side_size([300, 300], 256), [256, 256]);
    // Never upscaled: a short side already at most 256 is kept.
    assert_eq!(short_side_size([100, 5000], 256), [100, 5000]);
    assert_eq!(short_side_size([256, 999], 256), [256, 999]);
}
