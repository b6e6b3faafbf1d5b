//! MNIST in its IDX distribution: a folder of four files, raw or gzip, or the copy bundled
//! into the binary from `assets/mnist/`.

use std::path::Path;

use crate::dataset::{DataSplits, ImageDataset};
use crate::error::{DataError, Result};
use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC, decompress_if_gz, locate_maybe_gz, parse_idx};

/// Number of MNIST classes (digits 0–9).
pub const MNIST_CLASSES: usize = 10;

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Builds a dataset from the bytes of an images file and a labels file (each raw or gzip),
/// validating magic numbers, dimensions, matching counts and the label range.
pub fn parse_mnist(
    images_path: &Path,
    images: Vec<u8>,
    labels_path: &Path,
    labels: Vec<u8>,
) -> Result<ImageDataset> {
    let images_bytes = decompress_if_gz(images_path, images)?;
    let images = parse_idx(images_path, &images_bytes, IMAGES_MAGIC, "images")?;
    drop(images_bytes);
    let labels_bytes = decompress_if_gz(labels_path, labels)?;
    let labels = parse_idx(labels_path, &labels_bytes, LABELS_MAGIC, "labels")?;
    let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::BadDimensions {
            path: images_path.to_path_buf(),
            message: format!("images of {rows}x{cols} pixels; both sides must be positive"),
        });
    }
    if labels.dims[0] != n {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            n_images: n,
            n_labels: labels.dims[0],
        });
    }
    if let Some((index, &label)) = labels
        .data
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= MNIST_CLASSES)
    {
        return Err(DataError::LabelOutOfRange {
            path: labels_path.to_path_buf(),
            index,
            label,
            num_classes: MNIST_CLASSES,
        });
    }
    let names = (0..MNIST_CLASSES).map(|d| d.to_string()).collect();
    Ok(ImageDataset::new(
        images.data,
        labels.data,
        [1, rows, cols],
        names,
    ))
}

/// Reads one images/labels pair of files.
pub fn read_mnist_pair(images_path: &Path, labels_path: &Path) -> Result<ImageDataset> {
    // Read raw first so the parse step decompresses once and reports the right file.
    let images = read_raw(images_path)?;
    let labels = read_raw(labels_path)?;
    parse_mnist(images_path, images, labels_path, labels)
}

fn read_raw(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads an MNIST-format folder (MNIST, Fashion-MNIST, ...) holding the four standard files,
/// each raw or gzip-compressed.
pub fn read_mnist_dir(dir: &Path) -> Result<DataSplits> {
    Ok(DataSplits {
        train: read_mnist_pair(
            &locate_maybe_gz(dir, TRAIN_IMAGES)?,
            &locate_maybe_gz(dir, TRAIN_LABELS)?,
        )?,
        test: read_mnist_pair(
            &locate_maybe_gz(dir, TEST_IMAGES)?,
            &locate_maybe_gz(dir, TEST_LABELS)?,
        )?,
    })
}

/// The full MNIST (60,000 train, 10,000 test) compiled into the binary from `assets/mnist/`,
/// so `temper train` needs no file and no network. See `assets/mnist/README.md` for source
/// and licence.
pub fn bundled_mnist() -> Result<DataSplits> {
    macro_rules! asset {
        ($name:literal) => {
            (
                Path::new(concat!("assets/mnist/", $name)),
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../assets/mnist/",
                    $name
                ))
                .to_vec(),
            )
        };
    }
    let (ti, tib) = asset!("train-images-idx3-ubyte.gz");
    let (tl, tlb) = asset!("train-labels-idx1-ubyte.gz");
    let (si, sib) = asset!("t10k-images-idx3-ubyte.gz");
    let (sl, slb) = asset!("t10k-labels-idx1-ubyte.gz");
    Ok(DataSplits {
        train: parse_mnist(ti, tib, tl, tlb)?,
        test: parse_mnist(si, sib, sl, slb)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::{encode_idx, write_idx};
    use std::path::PathBuf;

    fn write_pair(dir: &Path, images: &[u8], n_img: usize, labels: &[u8]) -> (PathBuf, PathBuf) {
        let ip = dir.join("images.gz");
        let lp = dir.join("labels");
        write_idx(&ip, &[n_img, 2, 2], images).unwrap();
        write_idx(&lp, &[labels.len()], labels).unwrap();
        (ip, lp)
    }

    #[test]
    fn valid_pair_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..12).collect();
        let (ip, lp) = write_pair(dir.path(), &pixels, 3, &[9, 0, 4]);
        let d = read_mnist_pair(&ip, &lp).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.image_shape(), [1, 2, 2]);
        assert_eq!(d.image(2), &[8, 9, 10, 11]);
        assert_eq!(d.labels(), &[9, 0, 4]);
    }

    #[test]
    fn truncated_images_file_is_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let (_, lp) = write_pair(dir.path(), &[0; 8], 2, &[1, 2]);
        let ip = dir.path().join("short");
        let mut bytes = encode_idx(&[2, 2, 2], &[0; 8]);
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&ip, bytes).unwrap();
        let err = read_mnist_pair(&ip, &lp).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 24,
                    actual: 21,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("short"));
    }

    #[test]
    fn labels_file_given_as_images_is_wrong_magic() {
        let dir = tempfile::tempdir().unwrap();
        let (_, lp) = write_pair(dir.path(), &[0; 8], 2, &[1, 2]);
        let err = read_mnist_pair(&lp, &lp).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    found: 0x801,
                    expected: 0x803,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn count_mismatch_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = write_pair(dir.path(), &[0; 8], 2, &[1, 2, 3]);
        let err = read_mnist_pair(&ip, &lp).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    n_images: 2,
                    n_labels: 3,
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains("images.gz") && msg.contains("labels"), "{msg}");
    }

    #[test]
    fn label_out_of_range_reports_index_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = write_pair(dir.path(), &[0; 8], 2, &[3, 10]);
        let err = read_mnist_pair(&ip, &lp).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn missing_file_in_dir_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_mnist_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("train-images-idx3-ubyte"), "{err}");
    }

    #[test]
    fn bundled_mnist_has_the_published_counts() {
        // Counts from ../shared/data/README.md: 60000 train, 10000 test; train class
        // counts 5923/6742/5958/6131/5842/5421/5918/6265/5851/5949.
        let m = bundled_mnist().unwrap();
        assert_eq!(m.train.len(), 60_000);
        assert_eq!(m.test.len(), 10_000);
        assert_eq!(m.train.image_shape(), [1, 28, 28]);
        let mut counts = [0usize; 10];
        for &l in m.train.labels() {
            counts[l as usize] += 1;
        }
        assert_eq!(
            counts,
            [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
        );
    }
}
