//! Hostile and careless inputs: each must give one line naming the file, quickly and in
//! little memory. The size cases run in a child process capped at [`CAP_MIB`] of address
//! space (`memory_cap`), where reading or reserving what the input claims would abort.
//! Big inputs are sparse files or crafted headers, so they cost no disk.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cifar::{CIFAR10_RECORD_BYTES, parse_cifar10_batch, read_cifar10_dir};
use crate::error::DataError;
use crate::folder::{FolderOptions, decode_image, read_image_folder};
use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC, encode_idx, read_idx, write_idx};
use crate::image_limits::image_dimensions;
use crate::memory_cap::{in_child, rerun};
use crate::mnist::{parse_mnist, read_mnist_dir, read_mnist_pair};

/// Address-space cap of the size cases: far below the gigabytes the inputs claim, with room
/// for the test binary and a few threads.
const CAP_MIB: u64 = 512;

/// How long a refusal that reads only a header may take, generous for a loaded machine.
const FAST: Duration = Duration::from_secs(2);

/// True in the parent, after the capped child ran the test `name` of this module.
fn ran_capped(name: &str) -> bool {
    if in_child() {
        return false;
    }
    rerun(module_path!(), name, CAP_MIB);
    true
}

/// The error's text, asserted to be one line that contains `file`.
fn one_line(err: &DataError, file: &str) -> String {
    let text = err.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    assert!(text.contains(file), "does not name {file}: {text}");
    text
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// `header` followed by `zeros` zero bytes, gzip-compressed without ever holding the zeros.
fn gzip_with_zeros(header: &[u8], zeros: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(header).unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        gz.write_all(&block[..n]).unwrap();
        left -= n;
    }
    gz.finish().unwrap()
}

/// An IDX header with `dims` and no data.
fn idx_header(magic_dims: u8, dims: &[u32]) -> Vec<u8> {
    let mut h = vec![0, 0, 8, magic_dims];
    for d in dims {
        h.extend_from_slice(&d.to_be_bytes());
    }
    h
}

/// A file at `path` that starts with `head` and is `len` bytes long, the rest a hole.
fn sparse(path: &Path, head: &[u8], len: u64) {
    let mut f = File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(len).unwrap();
}

const THIRTEEN_GB: u64 = 13 << 30;

#[test]
fn a_few_kb_gzip_whose_header_claims_gigabytes_is_refused_before_inflating() {
    if ran_capped("a_few_kb_gzip_whose_header_claims_gigabytes_is_refused_before_inflating") {
        return;
    }
    // 1,000,000 images of 28x28 (784 MB) declared; 4 MB of zeros actually compressed.
    let bomb = gzip_with_zeros(&idx_header(3, &[1_000_000, 28, 28]), 4 << 20);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let labels = encode_idx(&[2], &[1, 2]);
    let start = Instant::now();
    let err = parse_mnist(Path::new("bomb.gz"), bomb, Path::new("l"), labels).unwrap_err();
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    one_line(&err, "bomb.gz");
}

#[test]
fn a_gzip_inflating_past_its_header_stops_at_the_declared_payload() {
    if ran_capped("a_gzip_inflating_past_its_header_stops_at_the_declared_payload") {
        return;
    }
    // The header declares 16 bytes; the stream inflates to 1 GiB, twice the cap.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.gz");
    std::fs::write(&path, gzip_with_zeros(&idx_header(1, &[16]), 1 << 30)).unwrap();
    let err = read_idx(&path, LABELS_MAGIC, "labels").unwrap_err();
    assert!(
        matches!(err, DataError::TrailingBytes { expected: 24, .. }),
        "{err}"
    );
    one_line(&err, "labels.gz");
}

#[test]
fn a_gzip_batch_or_class_list_inflating_past_its_ceiling_is_refused() {
    if ran_capped("a_gzip_batch_or_class_list_inflating_past_its_ceiling_is_refused") {
        return;
    }
    let names: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    // 300 MB of records (label 0, black pixels), over the 128 MiB batch ceiling.
    let bomb = gzip_with_zeros(&[], 100_000 * CIFAR10_RECORD_BYTES);
    let err = parse_cifar10_batch(Path::new("data_batch_1.bin"), bomb, &names).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    one_line(&err, "data_batch_1.bin");

    let dir = tempfile::tempdir().unwrap();
    write_cifar_dir(dir.path(), CIFAR10_RECORD_BYTES);
    let meta = dir.path().join("batches.meta.txt");
    std::fs::write(&meta, gzip_with_zeros(b"a\nb\n", 10 << 20)).unwrap();
    let err = read_cifar10_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    one_line(&err, "batches.meta.txt");
}

#[test]
fn a_13_gb_sparse_file_with_a_bad_magic_fails_fast() {
    if ran_capped("a_13_gb_sparse_file_with_a_bad_magic_fails_fast") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("train-images-idx3-ubyte");
    sparse(&images, b"GIF89a", THIRTEEN_GB);
    let labels = dir.path().join("labels");
    write_idx(&labels, &[1], &[3]).unwrap();
    let start = Instant::now();
    let err = read_mnist_pair(&images, &labels).unwrap_err();
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    assert!(matches!(err, DataError::BadMagic { .. }), "{err}");
    one_line(&err, "train-images-idx3-ubyte");
}

#[test]
fn a_13_gb_sparse_file_with_a_right_magic_and_a_wrong_length_fails_fast() {
    if ran_capped("a_13_gb_sparse_file_with_a_right_magic_and_a_wrong_length_fails_fast") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("t10k-images-idx3-ubyte");
    sparse(&images, &idx_header(3, &[60_000, 28, 28]), THIRTEEN_GB);
    let start = Instant::now();
    let err = read_idx(&images, IMAGES_MAGIC, "images").unwrap_err();
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    let expected = 16 + 60_000 * 28 * 28;
    match &err {
        DataError::TrailingBytes {
            expected: e, extra, ..
        } => assert_eq!(
            (*e, *extra as u64),
            (expected, THIRTEEN_GB - expected as u64)
        ),
        other => panic!("{other}"),
    }
    one_line(&err, "t10k-images-idx3-ubyte");
}

#[test]
fn a_sparse_images_file_of_the_right_length_fails_on_the_label_count_before_its_payload() {
    if ran_capped(
        "a_sparse_images_file_of_the_right_length_fails_on_the_label_count_before_its_payload",
    ) {
        return;
    }
    // 784 MB of images, a consistent header and length, against two labels: reading the
    // payload first would pass the cap.
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    sparse(
        &images,
        &idx_header(3, &[1_000_000, 28, 28]),
        16 + 784_000_000,
    );
    let labels = dir.path().join("labels");
    write_idx(&labels, &[2], &[1, 2]).unwrap();
    let start = Instant::now();
    let err = read_mnist_pair(&images, &labels).unwrap_err();
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                n_images: 1_000_000,
                n_labels: 2,
                ..
            }
        ),
        "{err}"
    );
    one_line(&err, "images");
}

#[test]
fn sparse_cifar_batches_and_class_lists_are_refused_by_their_size() {
    if ran_capped("sparse_cifar_batches_and_class_lists_are_refused_by_their_size") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_cifar_dir(dir.path(), CIFAR10_RECORD_BYTES);
    // A whole number of records, 15 GB: only the ceiling can refuse it.
    let batch = dir.path().join("data_batch_2.bin");
    sparse(&batch, &[], 5_000_000 * CIFAR10_RECORD_BYTES as u64);
    let start = Instant::now();
    let err = read_cifar10_dir(dir.path()).unwrap_err();
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    one_line(&err, "data_batch_2.bin");

    write_cifar_dir(dir.path(), CIFAR10_RECORD_BYTES);
    sparse(&dir.path().join("batches.meta.txt"), b"cat\n", THIRTEEN_GB);
    let err = read_cifar10_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    one_line(&err, "batches.meta.txt");
}

#[test]
fn idx_dimensions_whose_product_overflows_or_passes_the_ceiling_are_refused() {
    if ran_capped("idx_dimensions_whose_product_overflows_or_passes_the_ceiling_are_refused") {
        return;
    }
    let labels = encode_idx(&[2], &[1, 2]);
    for dims in [[u32::MAX; 3], [u32::MAX, u32::MAX, 2], [70_000, 128, 128]] {
        let header = idx_header(3, &dims);
        for bytes in [header.clone(), gzip(&header)] {
            let err = parse_mnist(Path::new("dims.idx"), bytes, Path::new("l"), labels.clone())
                .unwrap_err();
            assert!(matches!(err, DataError::TooLarge { .. }), "{dims:?}: {err}");
            let text = one_line(&err, "dims.idx");
            assert!(text.contains(&format!("{dims:?}")), "{text}");
        }
    }
}

#[test]
fn mnist_train_and_test_images_of_different_sizes_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_idx(&d.join("train-images-idx3-ubyte"), &[1, 28, 28], &[0; 784]).unwrap();
    write_idx(&d.join("train-labels-idx1-ubyte"), &[1], &[3]).unwrap();
    write_idx(
        &d.join("t10k-images-idx3-ubyte.gz"),
        &[1, 32, 32],
        &[0; 1024],
    )
    .unwrap();
    write_idx(&d.join("t10k-labels-idx1-ubyte"), &[1], &[4]).unwrap();
    let err = read_mnist_dir(d).unwrap_err();
    assert!(matches!(err, DataError::ShapeMismatch { .. }), "{err}");
    let text = one_line(&err, "t10k-images-idx3-ubyte.gz");
    assert!(text.contains("train-images-idx3-ubyte"), "{text}");
    assert!(text.contains("32x32") && text.contains("28x28"), "{text}");
}

/// The six CIFAR-10 batches of two records each, of `record` bytes, labels 0.
fn write_cifar_dir(dir: &Path, record: usize) {
    let names = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    for name in names {
        std::fs::write(dir.join(name), vec![0u8; 2 * record]).unwrap();
    }
    let _ = std::fs::remove_file(dir.join("batches.meta.txt"));
}

#[test]
fn a_cifar_batch_of_another_geometry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar_dir(dir.path(), CIFAR10_RECORD_BYTES);
    assert_eq!(read_cifar10_dir(dir.path()).unwrap().train.len(), 10);
    // One batch with CIFAR-100's 3074-byte records (a coarse and a fine label).
    std::fs::write(dir.path().join("data_batch_3.bin"), vec![0u8; 3 * 3074]).unwrap();
    let err = read_cifar10_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::BadDimensions { .. }), "{err}");
    let text = one_line(&err, "data_batch_3.bin");
    assert!(text.contains("CIFAR-100"), "{text}");
}

/// A png chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A gray png whose header says `w`x`h`, with a token IDAT: a few hundred bytes that would
/// decode to `w * h` bytes.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&[0u8; 256]).unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

fn small_png(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(4, 4, |x, y| image::Luma([(x * 16 + y) as u8]))
        .save(path)
        .unwrap();
}

fn no_progress(_: usize, _: usize) {}

/// A two-class folder whose first image (`a/0.png`) is fine.
fn folder_with_good_first_image() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    small_png(&dir.path().join("a/0.png"));
    small_png(&dir.path().join("b/0.png"));
    dir
}

/// The error of reading `dir` with `options`, every image in the training split (so the
/// first failure in sorted order is the first bad file).
fn folder_err(dir: &Path, options: &FolderOptions) -> DataError {
    let options = FolderOptions {
        test_fraction: 0.0,
        ..options.clone()
    };
    read_image_folder(dir, &options, &no_progress).unwrap_err()
}

#[test]
fn a_png_claiming_60000_by_60000_after_a_fine_first_image_is_refused_from_its_header() {
    if ran_capped(
        "a_png_claiming_60000_by_60000_after_a_fine_first_image_is_refused_from_its_header",
    ) {
        return;
    }
    let dir = folder_with_good_first_image();
    let bomb = dir.path().join("b/1.png");
    std::fs::write(&bomb, png_claiming(60_000, 60_000)).unwrap();
    // Below the side limit, above the pixel budget: 16000 x 16000 = 256 Mpx.
    let wide = dir.path().join("b/2.png");
    std::fs::write(&wide, png_claiming(16_000, 16_000)).unwrap();
    let start = Instant::now();
    let err = folder_err(dir.path(), &FolderOptions::default());
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    let text = one_line(&err, "1.png");
    assert!(text.contains("60000x60000"), "{text}");
    std::fs::remove_file(&bomb).unwrap();
    let err = folder_err(dir.path(), &FolderOptions::default());
    let text = one_line(&err, "2.png");
    assert!(text.contains("256000000 pixels"), "{text}");
    // The same check guards the public single-image entry points.
    let png = png_claiming(60_000, 60_000);
    assert!(image_dimensions(Path::new("x.png"), &png).is_err());
    assert!(decode_image(Path::new("x.png"), &png, Some([4, 4]), None).is_err());
}

#[test]
fn a_resize_whose_intermediate_passes_the_pixel_budget_is_refused() {
    if ran_capped("a_resize_whose_intermediate_passes_the_pixel_budget_is_refused") {
        return;
    }
    // 16384 wide and 1 high is a small image, but resizing it to 16384 rows first builds a
    // 16384 x 16384 buffer of f32 RGBA (4 GiB).
    let png = png_claiming(16_384, 1);
    let err = decode_image(Path::new("wide.png"), &png, Some([16_384, 2]), None).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    one_line(&err, "wide.png");
}

#[test]
fn a_13_gb_sparse_image_file_is_not_read() {
    if ran_capped("a_13_gb_sparse_image_file_is_not_read") {
        return;
    }
    let dir = folder_with_good_first_image();
    // A jpeg start of image, then a hole: the jpeg decoder buffers its whole input.
    sparse(
        &dir.path().join("b/huge.jpg"),
        &[0xff, 0xd8, 0xff],
        THIRTEEN_GB,
    );
    let start = Instant::now();
    let err = folder_err(dir.path(), &FolderOptions::default());
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    one_line(&err, "huge.jpg");
}

#[test]
fn a_folder_that_would_not_fit_the_memory_ceiling_is_refused_before_decoding() {
    if ran_capped("a_folder_that_would_not_fit_the_memory_ceiling_is_refused_before_decoding") {
        return;
    }
    let dir = folder_with_good_first_image();
    for k in 1..12 {
        small_png(&dir.path().join(format!("a/{k}.png")));
    }
    // 13 images of 3 x 16384 x 16384 = 10.5 GB, over 8 GiB.
    let options = FolderOptions {
        image_size: Some([16_384, 16_384]),
        ..FolderOptions::default()
    };
    let err = folder_err(dir.path(), &options);
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    let text = one_line(&err, &dir.path().display().to_string());
    let needed = 13u64 * 3 * 16_384 * 16_384;
    assert!(text.contains(&needed.to_string()), "{text}");
    assert!(text.contains(&(8u64 << 30).to_string()), "{text}");
}

#[cfg(unix)]
mod links {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A folder with class `a` inside it and class `b` a link to a folder outside it.
    fn linked_class() -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
        let outside = tempfile::tempdir().unwrap();
        small_png(&outside.path().join("secret/0.png"));
        let root = tempfile::tempdir().unwrap();
        small_png(&root.path().join("a/0.png"));
        let link = root.path().join("b");
        symlink(outside.path().join("secret"), &link).unwrap();
        (root, outside, link)
    }

    #[test]
    fn a_class_folder_linking_outside_the_root_is_refused_unless_links_are_followed() {
        let (root, _outside, link) = linked_class();
        let err = folder_err(root.path(), &FolderOptions::default());
        assert!(matches!(err, DataError::LinkOutsideRoot { .. }), "{err}");
        let text = one_line(&err, &link.display().to_string());
        assert!(text.contains("follow_links"), "{text}");
        let follow = FolderOptions {
            follow_links: true,
            test_fraction: 0.0,
            ..FolderOptions::default()
        };
        let s = read_image_folder(root.path(), &follow, &no_progress).unwrap();
        assert_eq!(s.train.class_names(), &["a", "b"]);
        assert_eq!(s.train.len(), 2);
    }

    #[test]
    fn an_image_or_split_folder_linking_outside_the_root_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        small_png(&outside.path().join("passwd.png"));
        let root = folder_with_good_first_image();
        let link = root.path().join("b/1.png");
        symlink(outside.path().join("passwd.png"), &link).unwrap();
        let err = folder_err(root.path(), &FolderOptions::default());
        assert!(matches!(err, DataError::LinkOutsideRoot { .. }), "{err}");
        one_line(&err, "1.png");

        // `test/` a link to a folder outside; `train/` real.
        let split = tempfile::tempdir().unwrap();
        small_png(&split.path().join("train/a/0.png"));
        small_png(&split.path().join("train/b/0.png"));
        small_png(&outside.path().join("t/a/0.png"));
        symlink(outside.path().join("t"), split.path().join("test")).unwrap();
        let err = folder_err(split.path(), &FolderOptions::default());
        assert!(matches!(err, DataError::LinkOutsideRoot { .. }), "{err}");
        one_line(&err, "test");
    }

    #[test]
    fn a_link_that_stays_inside_the_root_is_read() {
        let root = folder_with_good_first_image();
        symlink(root.path().join("a/0.png"), root.path().join("b/1.png")).unwrap();
        symlink(root.path().join("a"), root.path().join("c")).unwrap();
        let options = FolderOptions {
            test_fraction: 0.0,
            ..FolderOptions::default()
        };
        let s = read_image_folder(root.path(), &options, &no_progress).unwrap();
        assert_eq!(s.train.class_names(), &["a", "b", "c"]);
        assert_eq!(s.train.len(), 4);
    }
}
