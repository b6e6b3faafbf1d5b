//! A bounded, deterministic mutation fuzzer for every parser that reads user bytes: valid seed
//! inputs are mutated with seeded bit flips, byte overwrites, truncations, insertions,
//! deletions and header length-field edits (sometimes gzip-wrapped), and each parser must
//! return `Ok` or `Err`, never panic. The coverage-guided version is `fuzz/` (cargo-fuzz);
//! inputs it found crashing belong in the seeds here.

use std::path::Path;

use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage};

use crate::cifar::{CIFAR10_CLASS_NAMES, parse_cifar10_batch, parse_class_names};
use crate::folder::decode_image;
use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC, encode_idx, parse_idx};
use crate::mnist::parse_mnist;
use crate::mutation::{Mutations, gzip};

/// IDX and PNG length fields are big-endian (BMP's little-endian ones still get edits), and
/// the readers detect gzip.
const DATA: Mutations = Mutations {
    overwrites: &[0, 1, 0x7f, 0x80, 0xff],
    header_bytes: 40,
    little_endian: false,
    gzip: true,
};

fn fuzz(name: &str, seeds: &[Vec<u8>], iterations: usize, parse: impl Fn(&[u8]) -> bool) -> usize {
    DATA.fuzz(name, seeds, iterations, parse)
}

fn path() -> &'static Path {
    Path::new("fuzz-input")
}

#[test]
fn idx_and_mnist_parsers_never_panic() {
    let images = encode_idx(&[2, 3, 3], &(0..18).collect::<Vec<u8>>());
    let labels = encode_idx(&[2], &[7, 9]);
    let seeds = vec![images.clone(), labels.clone(), gzip(&images), Vec::new()];
    let ok = fuzz("parse_idx", &seeds, 5000, |b| {
        let a = parse_idx(path(), b, IMAGES_MAGIC, "images").is_ok();
        let b = parse_idx(path(), b, LABELS_MAGIC, "labels").is_ok();
        a || b
    });
    // The seeds parse (images, labels); a mutant of them parses now and then.
    assert!(ok >= 2, "{ok}");
    // Mutate the images file against a valid labels file, then the reverse.
    fuzz("parse_mnist(images)", &seeds, 2000, |b| {
        parse_mnist(path(), b.to_vec(), path(), labels.clone()).is_ok()
    });
    fuzz("parse_mnist(labels)", &seeds, 2000, |b| {
        parse_mnist(path(), images.clone(), path(), b.to_vec()).is_ok()
    });
}

#[test]
fn cifar_parsers_never_panic() {
    let names: Vec<String> = CIFAR10_CLASS_NAMES.iter().map(|&s| s.into()).collect();
    let record: Vec<u8> = std::iter::once(4)
        .chain((0..3072).map(|i| i as u8))
        .collect();
    let two = [record.clone(), record.clone()].concat();
    let seeds = vec![record, gzip(&two), two];
    let ok = fuzz("parse_cifar10_batch", &seeds, 5000, |b| {
        parse_cifar10_batch(path(), b.to_vec(), &names).is_ok()
    });
    assert!(ok >= 3, "{ok}");
    let meta = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n".to_vec();
    fuzz("parse_class_names", &[meta], 3000, |b| {
        parse_class_names(path(), b).is_ok()
    });
}

fn encoded(format: ImageFormat, colour: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cursor = std::io::Cursor::new(&mut out);
    if colour {
        RgbImage::from_fn(7, 5, |x, y| Rgb([(x * 30) as u8, (y * 50) as u8, 128]))
            .write_to(&mut cursor, format)
            .unwrap();
    } else {
        GrayImage::from_fn(7, 5, |x, y| Luma([(x * y * 7) as u8]))
            .write_to(&mut cursor, format)
            .unwrap();
    }
    out
}

#[test]
fn image_decoder_never_panics() {
    let seeds = vec![
        encoded(ImageFormat::Png, true),
        encoded(ImageFormat::Png, false),
        encoded(ImageFormat::Bmp, true),
        encoded(ImageFormat::Jpeg, true),
    ];
    let ok = fuzz("decode_image", &seeds, 5000, |b| {
        let a = decode_image(path(), b, Some([4, 4]), None).is_ok();
        let g = decode_image(path(), b, Some([3, 9]), Some(1)).is_ok();
        a && g
    });
    assert!(ok >= seeds.len(), "{ok}");
}

#[test]
fn image_header_check_never_panics_and_what_it_accepts_is_within_bounds() {
    use crate::folder::MAX_IMAGE_SIDE;
    use crate::image_limits::{MAX_IMAGE_PIXELS, image_dimensions};
    let seeds = vec![
        encoded(ImageFormat::Png, true),
        encoded(ImageFormat::Png, false),
        encoded(ImageFormat::Bmp, true),
        encoded(ImageFormat::Jpeg, true),
    ];
    // The mutator's u32 edits land on the png IHDR's width and height (bytes 16..24) and the
    // bmp's, so huge and zero sides are tried.
    let ok = fuzz("image_dimensions", &seeds, 5000, |b| {
        let Ok([h, w]) = image_dimensions(path(), b) else {
            return false;
        };
        let sides = 1..=MAX_IMAGE_SIDE;
        assert!(sides.contains(&h) && sides.contains(&w), "{h}x{w}");
        assert!(h as u64 * w as u64 <= MAX_IMAGE_PIXELS, "{h}x{w}");
        true
    });
    assert!(ok >= seeds.len(), "{ok}");
}
