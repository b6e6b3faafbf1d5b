//! CIFAR-10 in its binary distribution (`cifar-10-binary.tar.gz`), each file raw or gzip.
//!
//! From <https://www.cs.toronto.edu/~kriz/cifar.html>, "Binary version": `data_batch_1.bin` to
//! `data_batch_5.bin` (10,000 images each) and `test_batch.bin` are sequences of 3073-byte
//! records, "the first byte is the label of the first image, which is a number in the range
//! 0-9. The next 3072 bytes are the values of the pixels of the image. The first 1024 bytes are
//! the red channel values, the next 1024 the green, and the final 1024 the blue. The values are
//! stored in row-major order". That is already the `[C, H, W]` layout of [`ImageDataset`], so a
//! record's pixels are copied as they are. `batches.meta.txt` names the classes, one per line.
//!
//! Bounds: a batch holds at most [`MAX_CIFAR_BATCH_BYTES`]; an uncompressed batch's size
//! (from its metadata) is checked against that and the record size before it is read, a gzip
//! one is inflated no further than the limit. `batches.meta.txt` is read only up to
//! [`MAX_CLASS_NAMES_BYTES`]. A batch laid out with CIFAR-100's 3074-byte records is refused
//! by name rather than read as shifted CIFAR-10 records.

use std::path::Path;

use crate::dataset::{DataSplits, ImageDataset};
use crate::error::{DataError, Result};
use crate::idx::{decompress_if_gz, locate_maybe_gz, open_maybe_gz, read_all_bounded};

/// Bytes of one CIFAR-10 record: one label byte, then 3 × 32 × 32 pixel bytes.
pub const CIFAR10_RECORD_BYTES: usize = 1 + 3 * 32 * 32;

/// Bytes of one CIFAR-100 record (a coarse and a fine label byte, then the pixels): a batch
/// of this layout is a different geometry and is refused.
const CIFAR100_RECORD_BYTES: usize = 2 + 3 * 32 * 32;

/// The largest CIFAR-10 batch file read, inflated: 128 MiB, about 43,000 records, 4.3 times
/// an official batch (10,000 records, 30,730,000 bytes). Larger is not a CIFAR-10 batch, and
/// the six batches are held in memory together.
pub const MAX_CIFAR_BATCH_BYTES: u64 = 128 << 20;

/// The largest `batches.meta.txt` read: 64 KiB, room for 256 class names of 255 bytes.
pub const MAX_CLASS_NAMES_BYTES: u64 = 64 << 10;

/// `[channels, height, width]` of a CIFAR-10 image.
pub const CIFAR10_SHAPE: [usize; 3] = [3, 32, 32];

/// The class names of CIFAR-10 in label order, as `batches.meta.txt` of the official archive
/// lists them; used when a folder has no such file.
pub const CIFAR10_CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

const TRAIN_BATCHES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const TEST_BATCH: &str = "test_batch.bin";
const META: &str = "batches.meta.txt";
/// The folder the official archive extracts to.
const ARCHIVE_DIR: &str = "cifar-10-batches-bin";

/// Appends the records of one batch file (already decompressed) to `pixels` and `labels`,
/// validating the size and every label against `num_classes`.
fn append_records(
    path: &Path,
    bytes: &[u8],
    num_classes: usize,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<()> {
    check_record_size(path, bytes.len() as u64)?;
    let n = bytes.len() / CIFAR10_RECORD_BYTES;
    pixels.reserve(n * (CIFAR10_RECORD_BYTES - 1));
    labels.reserve(n);
    for (index, record) in bytes.chunks_exact(CIFAR10_RECORD_BYTES).enumerate() {
        let label = record[0];
        if label as usize >= num_classes {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
                num_classes,
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}

/// Refuses a batch size that is not a positive multiple of the record, naming CIFAR-100's
/// layout when the size fits it instead.
fn check_record_size(path: &Path, size: u64) -> Result<()> {
    let record = CIFAR10_RECORD_BYTES as u64;
    if size > 0 && size.is_multiple_of(record) {
        return Ok(());
    }
    if size > 0 && size.is_multiple_of(CIFAR100_RECORD_BYTES as u64) {
        return Err(DataError::BadDimensions {
            path: path.to_path_buf(),
            message: format!(
                "{size} bytes are {CIFAR100_RECORD_BYTES}-byte records (CIFAR-100's layout), not \
                 CIFAR-10's {CIFAR10_RECORD_BYTES}-byte records"
            ),
        });
    }
    Err(DataError::BadRecordSize {
        path: path.to_path_buf(),
        size: size as usize,
        record: CIFAR10_RECORD_BYTES,
    })
}

/// Reads one batch file (raw or gzip) within [`MAX_CIFAR_BATCH_BYTES`]; an uncompressed one
/// has its size checked before it is read.
fn read_batch(path: &Path) -> Result<Vec<u8>> {
    let src = open_maybe_gz(path)?;
    if !src.is_gzip() {
        check_record_size(path, src.stored_len())?;
    }
    read_all_bounded(path, src, MAX_CIFAR_BATCH_BYTES, "a batch")
}

fn check_class_count(path: &Path, class_names: &[String]) -> Result<()> {
    if class_names.is_empty() || class_names.len() > 256 {
        return Err(DataError::BadClassNames {
            path: path.to_path_buf(),
            message: format!("{} class names; need between 1 and 256", class_names.len()),
        });
    }
    Ok(())
}

/// Parses one CIFAR-10 batch file's bytes (raw or gzip) into a dataset of `[3, 32, 32]`
/// images labelled by `class_names`; `path` only names the file in errors.
///
/// Errors: a gzip stream that does not decompress, a size that is not a positive multiple of
/// [`CIFAR10_RECORD_BYTES`], a label not below `class_names.len()`, or a class list that is
/// empty or longer than 256.
pub fn parse_cifar10_batch(
    path: &Path,
    bytes: Vec<u8>,
    class_names: &[String],
) -> Result<ImageDataset> {
    check_class_count(path, class_names)?;
    let bytes = decompress_if_gz(path, bytes, MAX_CIFAR_BATCH_BYTES)?;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    append_records(path, &bytes, class_names.len(), &mut pixels, &mut labels)?;
    Ok(ImageDataset::new(
        pixels,
        labels,
        CIFAR10_SHAPE,
        class_names.to_vec(),
    ))
}

/// Class names from the text of `batches.meta.txt`: one per line, surrounding whitespace
/// trimmed, blank lines ignored (the official file ends with a blank line).
pub fn parse_class_names(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::BadClassNames {
        path: path.to_path_buf(),
        message: format!("not UTF-8 text ({e})"),
    })?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    check_class_count(path, &names)?;
    Ok(names)
}

/// Reads a CIFAR-10 binary folder: `data_batch_1.bin` … `data_batch_5.bin` become the
/// training split and `test_batch.bin` the test split; each file may be gzip-compressed and
/// may carry a `.gz` suffix. Class names come from `batches.meta.txt` when present, else
/// [`CIFAR10_CLASS_NAMES`]. A folder holding the archive's `cifar-10-batches-bin/` (and no
/// batch files of its own) is read through it.
pub fn read_cifar10_dir(dir: &Path) -> Result<DataSplits> {
    let nested = dir.join(ARCHIVE_DIR);
    let dir = if locate_maybe_gz(dir, TEST_BATCH).is_err() && nested.is_dir() {
        nested.as_path()
    } else {
        dir
    };
    let class_names = match locate_maybe_gz(dir, META) {
        Ok(path) => {
            let text = read_all_bounded(
                &path,
                open_maybe_gz(&path)?,
                MAX_CLASS_NAMES_BYTES,
                "class names",
            )?;
            parse_class_names(&path, &text)?
        }
        Err(_) => CIFAR10_CLASS_NAMES.iter().map(|&s| s.into()).collect(),
    };
    let read = |name: &'static str, pixels: &mut Vec<u8>, labels: &mut Vec<u8>| -> Result<()> {
        let path = locate_maybe_gz(dir, name)?;
        let bytes = read_batch(&path)?;
        append_records(&path, &bytes, class_names.len(), pixels, labels)
    };
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for name in TRAIN_BATCHES {
        read(name, &mut pixels, &mut labels)?;
    }
    let train = ImageDataset::new(pixels, labels, CIFAR10_SHAPE, class_names.clone());
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    read(TEST_BATCH, &mut pixels, &mut labels)?;
    let test = ImageDataset::new(pixels, labels, CIFAR10_SHAPE, class_names);
    Ok(DataSplits { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The value this test suite puts at channel `c`, row `y`, column `x` of image `i`: distinct
    /// for every (c, y, x) of one image, so a misplaced plane or a transposed row shows.
    fn value(i: usize, c: usize, y: usize, x: usize) -> u8 {
        ((i * 7 + c * 85 + y * 11 + x * 3) % 256) as u8
    }

    /// A record laid out as the CIFAR page says: label, then the R plane, the G plane and the
    /// B plane, each 32 rows of 32 bytes.
    fn record(i: usize, label: u8) -> Vec<u8> {
        let mut r = vec![label];
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    r.push(value(i, c, y, x));
                }
            }
        }
        r
    }

    fn names() -> Vec<String> {
        CIFAR10_CLASS_NAMES.iter().map(|&s| s.into()).collect()
    }

    #[test]
    fn planes_land_in_chw_order() {
        let bytes = [record(0, 3), record(1, 9)].concat();
        let d = parse_cifar10_batch(Path::new("b.bin"), bytes, &names()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.image_shape(), [3, 32, 32]);
        assert_eq!(d.labels(), &[3, 9]);
        for i in 0..2 {
            let img = d.image(i);
            for (c, y, x) in [(0, 0, 0), (0, 0, 31), (0, 31, 0), (1, 5, 7), (2, 31, 31)] {
                // [C, H, W] index: c * H * W + y * W + x.
                assert_eq!(
                    img[c * 1024 + y * 32 + x],
                    value(i, c, y, x),
                    "{i} {c} {y} {x}"
                );
            }
        }
        // The green plane starts right after the 1024 red bytes: G(0,0) of image 1 is
        // (7 + 85) % 256 = 92.
        assert_eq!(d.image(1)[1024], 92);
    }

    fn write_dir(dir: &Path, meta: Option<&str>) {
        for (b, name) in TRAIN_BATCHES.iter().enumerate() {
            // Batch b holds b + 1 records, labels b, b + 1, ...
            let bytes: Vec<u8> = (0..=b)
                .flat_map(|k| record(b * 10 + k, (b + k) as u8))
                .collect();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        // The test batch gzip-compressed under a `.gz` name.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[record(100, 7), record(101, 0)].concat())
            .unwrap();
        std::fs::write(dir.join("test_batch.bin.gz"), gz.finish().unwrap()).unwrap();
        if let Some(meta) = meta {
            std::fs::write(dir.join(META), meta).unwrap();
        }
    }

    #[test]
    fn folder_concatenates_the_five_batches_and_reads_the_meta_names() {
        let tmp = tempfile::tempdir().unwrap();
        let meta = "a0\na1\n\na2\na3\na4\na5\na6\na7\na8\n  a9  \n\n";
        write_dir(tmp.path(), Some(meta));
        let s = read_cifar10_dir(tmp.path()).unwrap();
        // 1 + 2 + 3 + 4 + 5 records.
        assert_eq!(s.train.len(), 15);
        assert_eq!(s.test.len(), 2);
        let expected_names: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
        assert_eq!(s.train.class_names(), expected_names.as_slice());
        assert_eq!(s.test.class_names(), expected_names.as_slice());
        // Batch 3 (b = 2) starts after 1 + 2 records; its records are images 20, 21, 22.
        assert_eq!(&s.train.labels()[3..6], &[2, 3, 4]);
        assert_eq!(s.train.image(4)[5], value(21, 0, 0, 5));
        assert_eq!(s.test.labels(), &[7, 0]);
        assert_eq!(s.test.image(1)[2048 + 33], value(101, 2, 1, 1));
    }

    #[test]
    fn standard_names_without_a_meta_file_and_the_archive_folder_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let inner = tmp.path().join(ARCHIVE_DIR);
        std::fs::create_dir(&inner).unwrap();
        write_dir(&inner, None);
        let s = read_cifar10_dir(tmp.path()).unwrap();
        assert_eq!(s.train.class_names()[0], "airplane");
        assert_eq!(s.train.class_names()[9], "truck");
        assert_eq!(s.train.num_classes(), 10);
    }

    #[test]
    fn truncated_file_names_file_size_and_record() {
        let mut bytes = [record(0, 1), record(1, 2)].concat();
        bytes.pop();
        let err = parse_cifar10_batch(Path::new("data_batch_2.bin"), bytes, &names()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadRecordSize {
                    size: 6145,
                    record: 3073,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "data_batch_2.bin: 6145 bytes is not a positive multiple of the 3073-byte record"
        );
        let empty = parse_cifar10_batch(Path::new("e.bin"), Vec::new(), &names()).unwrap_err();
        assert!(matches!(empty, DataError::BadRecordSize { size: 0, .. }));
    }

    #[test]
    fn bad_label_names_file_and_index() {
        let bytes = [record(0, 9), record(1, 10)].concat();
        let err = parse_cifar10_batch(Path::new("t.bin"), bytes, &names()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.bin: label 10 at index 1 is out of range 0..10"
        );
        // Three names in the meta file make label 5 out of range.
        let tmp = tempfile::tempdir().unwrap();
        write_dir(tmp.path(), Some("x\ny\nz\n"));
        let err = read_cifar10_dir(tmp.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LabelOutOfRange {
                    label: 3,
                    num_classes: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("data_batch_3.bin"), "{err}");
    }

    #[test]
    fn missing_file_names_dir_and_file() {
        let tmp = tempfile::tempdir().unwrap();
        write_dir(tmp.path(), None);
        std::fs::remove_file(tmp.path().join("data_batch_4.bin")).unwrap();
        let err = read_cifar10_dir(tmp.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::MissingFile { .. }), "{msg}");
        assert!(
            msg.contains("data_batch_4.bin") && msg.contains(&*tmp.path().to_string_lossy()),
            "{msg}"
        );
    }

    #[test]
    fn unusable_meta_file_is_an_error() {
        let p = Path::new("batches.meta.txt");
        let err = parse_class_names(p, b"\n \n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "batches.meta.txt: 0 class names; need between 1 and 256"
        );
        assert!(parse_class_names(p, &[0xff, b'\n']).is_err());
    }
}
