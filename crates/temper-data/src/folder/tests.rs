//! Tests of the image-folder reader on small PNGs written into a temporary folder.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use image::{GrayImage, Luma};

use crate::test_support::{gray, no_progress, rgb};

use crate::error::DataError;
use crate::folder::{FolderOptions, decode_image, luma_601, read_image_folder};

fn opts(test_fraction: f64, seed: u64) -> FolderOptions {
    FolderOptions {
        test_fraction,
        seed,
        ..FolderOptions::default()
    }
}

/// `n` 2x2 gray images per class, every pixel of image `k` of class `c` equal to `10 * c + k`,
/// so a pixel value identifies its file.
fn numbered(dir: &Path, counts: &[usize]) {
    for (c, &n) in counts.iter().enumerate() {
        for k in 0..n {
            let v = (10 * c + k) as u8;
            gray(&dir.join(format!("class{c}/{k:02}.png")), 2, 2, |_, _| v);
        }
    }
}

#[test]
fn classes_sorted_other_files_skipped_pixels_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Created out of order; torchvision sorts class names: "apple" < "pear".
    gray(&d.join("pear/b.png"), 3, 2, |x, y| (10 * y + x) as u8);
    gray(&d.join("pear/A.BMP"), 3, 2, |_, _| 200);
    gray(&d.join("apple/nested/z.png"), 3, 2, |_, _| 1);
    gray(&d.join("apple/y.png"), 3, 2, |_, _| 2);
    std::fs::write(d.join("pear/notes.txt"), "not an image").unwrap();
    gray(&d.join("pear/.hidden.png"), 3, 2, |_, _| 99);
    gray(&d.join(".cache/x.png"), 3, 2, |_, _| 99);
    let s = read_image_folder(d, &opts(0.0, 0), &no_progress).unwrap();
    assert_eq!(s.train.class_names(), &["apple", "pear"]);
    assert_eq!(s.train.image_shape(), [1, 2, 3]);
    assert_eq!(s.test.len(), 0);
    // apple/y.png before apple/nested/z.png (files of a folder before its sub-folders, as
    // torchvision's sorted os.walk), then pear/A.BMP before pear/b.png (byte order).
    assert_eq!(s.train.labels(), &[0, 0, 1, 1]);
    assert_eq!(s.train.image(0), &[2; 6]);
    assert_eq!(s.train.image(1), &[1; 6]);
    assert_eq!(s.train.image(2), &[200; 6]);
    assert_eq!(s.train.image(3), &[0, 1, 2, 10, 11, 12]);
}

#[test]
fn colour_goes_planar_and_gray_uses_the_601_luma() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    rgb(&d.join("a/rgb.png"), 2, 1, |x, _| {
        if x == 0 { [1, 2, 3] } else { [4, 5, 6] }
    });
    gray(&d.join("b/gray.png"), 2, 1, |x, _| 50 + x as u8);
    // Default channels: one colour image makes the dataset RGB; the gray one is repeated.
    let s = read_image_folder(d, &opts(0.0, 0), &no_progress).unwrap();
    assert_eq!(s.train.image_shape(), [3, 1, 2]);
    assert_eq!(s.train.image(0), &[1, 4, 2, 5, 3, 6]);
    assert_eq!(s.train.image(1), &[50, 51, 50, 51, 50, 51]);

    // Pillow: (200 * 19595 + 100 * 38470 + 50 * 7471 + 32768) >> 16 = 8172318 >> 16 = 124
    // (0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2). The image crate's Rec. 709 weights
    // would give 117.
    assert_eq!(luma_601(200, 100, 50), 124);
    assert_eq!(luma_601(255, 255, 255), 255);
    assert_eq!(luma_601(77, 77, 77), 77);
    rgb(&d.join("a/rgb.png"), 2, 1, |_, _| [200, 100, 50]);
    let gray_opts = FolderOptions {
        channels: Some(1),
        ..opts(0.0, 0)
    };
    let s = read_image_folder(d, &gray_opts, &no_progress).unwrap();
    assert_eq!(s.train.image_shape(), [1, 1, 2]);
    assert_eq!(s.train.image(0), &[124, 124]);
    assert_eq!(s.train.image(1), &[50, 51]);

    // An RGB file whose pixels all have R = G = B is gray: no colour image, one channel.
    rgb(&d.join("a/rgb.png"), 2, 1, |x, _| [9 + x as u8; 3]);
    let s = read_image_folder(d, &opts(0.0, 0), &no_progress).unwrap();
    assert_eq!(s.train.image_shape(), [1, 1, 2]);
    assert_eq!(s.train.image(0), &[9, 10]);
}

#[test]
fn images_are_resized_to_the_first_or_the_given_size() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    gray(&d.join("a/0.png"), 6, 4, |_, _| 10);
    // Constant images stay constant under any normalized filter.
    gray(&d.join("a/1.png"), 12, 8, |_, _| 77);
    gray(&d.join("b/0.png"), 3, 5, |_, _| 200);
    let s = read_image_folder(d, &opts(0.0, 0), &no_progress).unwrap();
    assert_eq!(s.train.image_shape(), [1, 4, 6]);
    assert_eq!(s.train.image(1), &[77; 24]);
    assert_eq!(s.train.image(2), &[200; 24]);
    let sized = FolderOptions {
        image_size: Some([2, 3]),
        ..opts(0.0, 0)
    };
    let s = read_image_folder(d, &sized, &no_progress).unwrap();
    assert_eq!(s.train.image_shape(), [1, 2, 3]);
    assert_eq!(s.train.image(0), &[10; 6]);
    // A left-dark/right-bright 2x1 image halved to 1x1: the triangle filter averages the
    // two pixels, (0 + 200) / 2 = 100.
    let mut png = Vec::new();
    GrayImage::from_fn(2, 1, |x, _| Luma([if x == 0 { 0 } else { 200 }]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let one = decode_image(Path::new("p.png"), &png, Some([1, 1]), None).unwrap();
    assert_eq!(one.pixels, vec![100]);
}

#[test]
fn split_is_stratified_and_seeded() {
    let tmp = tempfile::tempdir().unwrap();
    numbered(tmp.path(), &[10, 5, 1]);
    let split = |seed| read_image_folder(tmp.path(), &opts(0.2, seed), &no_progress).unwrap();
    let a = split(7);
    // round(10 * 0.2) = 2, round(5 * 0.2) = 1, round(1 * 0.2) = 0 held out per class.
    assert_eq!(a.test.labels(), &[0, 0, 1]);
    assert_eq!(a.train.len(), 13);
    let count = |d: &crate::ImageDataset, c| d.labels().iter().filter(|&&l| l == c).count();
    assert_eq!(
        [count(&a.train, 0), count(&a.train, 1), count(&a.train, 2)],
        [8, 4, 1]
    );
    // Every image is in exactly one split: the first pixels (10 * class + k) partition.
    let mut ids: Vec<u8> = (0..a.train.len())
        .map(|i| a.train.image(i)[0])
        .chain((0..a.test.len()).map(|i| a.test.image(i)[0]))
        .collect();
    ids.sort_unstable();
    let expected: Vec<u8> = (0..10).chain(10..15).chain(20..21).collect();
    assert_eq!(ids, expected);
    let b = split(7);
    assert_eq!(a.test, b.test);
    assert_eq!(a.train, b.train);
    assert!((8..16).any(|seed| split(seed).test != a.test));
}

#[test]
fn train_and_test_folders_are_used_when_both_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    numbered(&d.join("train"), &[2, 3]);
    gray(&d.join("test/class1/x.png"), 2, 2, |_, _| 42);
    let s = read_image_folder(d, &opts(0.5, 0), &no_progress).unwrap();
    assert_eq!(s.train.class_names(), &["class0", "class1"]);
    assert_eq!(s.train.labels(), &[0, 0, 1, 1, 1]);
    assert_eq!(s.test.labels(), &[1]);
    assert_eq!(s.test.image(0), &[42; 4]);
}

#[test]
fn one_and_four_threads_agree_and_progress_counts_every_image() {
    let tmp = tempfile::tempdir().unwrap();
    numbered(tmp.path(), &[9, 8, 7]);
    rgb(&tmp.path().join("class1/colour.png"), 3, 3, |x, y| {
        [x as u8, y as u8, 9]
    });
    let run = |threads| {
        let calls = AtomicUsize::new(0);
        let max_done = AtomicUsize::new(0);
        let progress = |done: usize, total: usize| {
            assert_eq!(total, 25);
            calls.fetch_add(1, Ordering::Relaxed);
            max_done.fetch_max(done, Ordering::Relaxed);
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let s = pool
            .install(|| read_image_folder(tmp.path(), &opts(0.3, 5), &progress))
            .unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 25);
        assert_eq!(max_done.load(Ordering::Relaxed), 25);
        s
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.train, four.train);
    assert_eq!(one.test, four.test);
    assert_eq!(one.train.image_shape(), [3, 2, 2]);
}

fn err_of(dir: &Path, options: &FolderOptions) -> DataError {
    read_image_folder(dir, options, &no_progress).unwrap_err()
}

#[test]
fn hostile_folders_give_one_line_errors_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = |s: &str| d.join(s).display().to_string();
    std::fs::write(d.join("stray.png"), b"x").unwrap();
    let e = err_of(d, &opts(0.2, 0));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: no class folders (expected one sub-folder of images per class)",
            d.display()
        )
    );

    gray(&d.join("only/a.png"), 2, 2, |_, _| 0);
    let e = err_of(d, &opts(0.2, 0));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: needs at least 2 classes, found only \"only\"",
            d.display()
        )
    );

    std::fs::create_dir(d.join("empty")).unwrap();
    std::fs::write(d.join("empty/readme.txt"), "no images").unwrap();
    let e = err_of(d, &opts(0.2, 0));
    assert_eq!(
        e.to_string(),
        format!("{}: holds no images (png, jpg, jpeg or bmp)", p("empty"))
    );

    // Not an image at all, then a PNG cut in half: both name the file.
    std::fs::write(d.join("empty/bad.png"), b"definitely not a png").unwrap();
    let e = err_of(d, &opts(0.0, 0));
    assert!(matches!(e, DataError::BadImage { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot decode image", p("empty/bad.png")))
    );
    let mut png = Vec::new();
    GrayImage::from_fn(16, 16, |x, y| Luma([(x * y) as u8]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(d.join("empty/bad.png"), &png[..png.len() / 2]).unwrap();
    let e = err_of(d, &opts(0.0, 0));
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot decode image", p("empty/bad.png"))),
        "{e}"
    );

    // One image per class and half held out: round(0.5) = 1 of 1 each, nothing to train on.
    std::fs::remove_file(d.join("empty/bad.png")).unwrap();
    gray(&d.join("empty/ok.png"), 2, 2, |_, _| 0);
    let e = err_of(d, &opts(0.5, 0));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: test_fraction 0.5 leaves no training image",
            d.display()
        )
    );
    // A single class left with no training image is fine.
    gray(&d.join("empty/ok2.png"), 2, 2, |_, _| 0);
    let s = read_image_folder(d, &opts(0.5, 0), &no_progress).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (1, 2));
}

#[test]
fn bad_options_give_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    gray(&d.join("a/one.png"), 2, 2, |_, _| 0);
    gray(&d.join("b/two.png"), 2, 2, |_, _| 0);
    let e = err_of(d, &opts(1.0, 0));
    assert_eq!(e.to_string(), "test_fraction must be in [0, 1), got 1");
    let e = err_of(
        d,
        &FolderOptions {
            channels: Some(2),
            ..opts(0.0, 0)
        },
    );
    assert_eq!(e.to_string(), "channels must be 1 or 3, got 2");
    let e = err_of(
        d,
        &FolderOptions {
            image_size: Some([0, 5]),
            ..opts(0.0, 0)
        },
    );
    assert_eq!(
        e.to_string(),
        "image_size sides must be in 1..=16384, got 0x5"
    );
}

#[test]
fn hostile_train_test_layouts_and_class_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    numbered(&d.join("train"), &[1, 1]);
    gray(&d.join("test/zebra/a.png"), 2, 2, |_, _| 0);
    let e = err_of(d, &opts(0.2, 0));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: class \"zebra\" is not among the classes of {}",
            d.join("test/zebra").display(),
            d.join("train").display()
        )
    );

    let many = tempfile::tempdir().unwrap();
    for c in 0..257 {
        std::fs::create_dir(many.path().join(format!("c{c:03}"))).unwrap();
    }
    let e = err_of(many.path(), &opts(0.2, 0));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: 257 classes, at most 256 are supported",
            many.path().display()
        )
    );
}
