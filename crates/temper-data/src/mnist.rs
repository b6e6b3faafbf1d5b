//! MNIST in its IDX distribution: a folder of four files, raw or gzip, or the copy bundled
//! into the binary from `assets/mnist/`.

use std::path::Path;

use crate::dataset::{DataSplits, ImageDataset};
use crate::error::{DataError, Result};
use crate::idx::{
    IMAGES_MAGIC, IdxArray, LABELS_MAGIC, Opened, locate_maybe_gz, open_maybe_gz, read_idx_from,
    read_idx_header, read_idx_payload, write_idx,
};

/// Number of MNIST classes (digits 0–9).
pub const MNIST_CLASSES: usize = 10;

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Builds a dataset from the bytes of an images file and a labels file (each raw or gzip),
/// validating magic numbers, dimensions, matching counts and the label range. Each header is
/// checked before its payload is inflated (see [`crate::idx`] for the bounds).
pub fn parse_mnist(
    images_path: &Path,
    images: Vec<u8>,
    labels_path: &Path,
    labels: Vec<u8>,
) -> Result<ImageDataset> {
    let images = read_idx_from(
        images_path,
        Opened::from_slice(&images),
        IMAGES_MAGIC,
        "images",
    )?;
    let labels = read_idx_from(
        labels_path,
        Opened::from_slice(&labels),
        LABELS_MAGIC,
        "labels",
    )?;
    build(images_path, images, labels_path, labels)
}

/// Checks that decoded images and labels make a dataset, and makes it.
fn build(
    images_path: &Path,
    images: IdxArray,
    labels_path: &Path,
    labels: IdxArray,
) -> Result<ImageDataset> {
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

/// Reads one images/labels pair of files: both headers first (so mismatched counts fail
/// before either payload is read), then the payloads.
pub fn read_mnist_pair(images_path: &Path, labels_path: &Path) -> Result<ImageDataset> {
    let mut images_src = open_maybe_gz(images_path)?;
    let images_header = read_idx_header(images_path, &mut images_src, IMAGES_MAGIC, "images")?;
    let mut labels_src = open_maybe_gz(labels_path)?;
    let labels_header = read_idx_header(labels_path, &mut labels_src, LABELS_MAGIC, "labels")?;
    if images_header.dims[0] != labels_header.dims[0] {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            n_images: images_header.dims[0],
            n_labels: labels_header.dims[0],
        });
    }
    let images = read_idx_payload(images_path, images_src, images_header)?;
    let labels = read_idx_payload(labels_path, labels_src, labels_header)?;
    build(images_path, images, labels_path, labels)
}

/// `[rows, cols]` of an images file, from its header alone (length checks included).
fn image_side(path: &Path) -> Result<[usize; 2]> {
    let mut src = open_maybe_gz(path)?;
    let header = read_idx_header(path, &mut src, IMAGES_MAGIC, "images")?;
    Ok([header.dims[1], header.dims[2]])
}

/// Reads an MNIST-format folder (MNIST, Fashion-MNIST, ...) holding the four standard files,
/// each raw or gzip-compressed. Both images headers are read first: train and test images of
/// different sizes are refused, naming both files, before any payload is read.
pub fn read_mnist_dir(dir: &Path) -> Result<DataSplits> {
    let train_images = locate_maybe_gz(dir, TRAIN_IMAGES)?;
    let test_images = locate_maybe_gz(dir, TEST_IMAGES)?;
    let (train_side, test_side) = (image_side(&train_images)?, image_side(&test_images)?);
    if train_side != test_side {
        let shape = |[r, c]: [usize; 2]| format!("{r}x{c}");
        return Err(DataError::ShapeMismatch {
            first: train_images,
            first_shape: shape(train_side),
            second: test_images,
            second_shape: shape(test_side),
        });
    }
    Ok(DataSplits {
        train: read_mnist_pair(&train_images, &locate_maybe_gz(dir, TRAIN_LABELS)?)?,
        test: read_mnist_pair(&test_images, &locate_maybe_gz(dir, TEST_LABELS)?)?,
    })
}

/// Writes `splits` as an MNIST-format folder: the four uncompressed IDX files under their
/// official names (`train-images-idx3-ubyte`, ...), each a big-endian header (magic `0x803`
/// for images, `0x801` for labels, then the dimensions as 32-bit integers) and the bytes, as
/// <http://yann.lecun.com/exdb/mnist/> describes them. [`read_mnist_dir`] reads it back.
/// `dir` is created when missing; existing files of those names are replaced.
///
/// Only one-channel images with labels below [`MNIST_CLASSES`] fit the format; anything else
/// is an error naming the split, before any file is written.
pub fn write_mnist_dir(dir: &Path, splits: &DataSplits) -> Result<()> {
    let parts = [
        ("train", &splits.train, TRAIN_IMAGES, TRAIN_LABELS),
        ("test", &splits.test, TEST_IMAGES, TEST_LABELS),
    ];
    for (split, data, images, _) in parts {
        let [c, _, _] = data.image_shape();
        if c != 1 {
            return Err(DataError::BadDimensions {
                path: dir.join(images),
                message: format!(
                    "the {split} split has {c}-channel images; the MNIST format holds one channel"
                ),
            });
        }
        if let Some((index, &label)) = data
            .labels()
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= MNIST_CLASSES)
        {
            return Err(DataError::LabelOutOfRange {
                path: dir.join(images),
                index,
                label,
                num_classes: MNIST_CLASSES,
            });
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for (_, data, images, labels) in parts {
        let [_, h, w] = data.image_shape();
        let pixels: Vec<u8> = (0..data.len())
            .flat_map(|i| data.image(i).iter().copied())
            .collect();
        write_idx(&dir.join(images), &[data.len(), h, w], &pixels)?;
        write_idx(&dir.join(labels), &[data.len()], data.labels())?;
    }
    Ok(())
}

/// The full MNIST (60,000 train, 10,000 test) compiled into the binary from `assets/mnist/`,
/// so `temper train` needs no file and no network. See `assets/mnist/README.md` for source
/// and licence.
pub fn bundled_mnist() -> Result<DataSplits> {
    macro_rules! asset {
        ($name:literal) => {
            (
                Path::new(concat!("assets/mnist/", $name)),
                include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/mnist/", $name))
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
    fn written_dir_reads_back_byte_for_byte_and_colour_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..MNIST_CLASSES).map(|d| d.to_string()).collect();
        let train = ImageDataset::new((0..24).collect(), vec![3, 9], [1, 3, 4], names.clone());
        let test = ImageDataset::new(vec![7; 12], vec![0], [1, 3, 4], names.clone());
        let splits = DataSplits { train, test };
        write_mnist_dir(dir.path(), &splits).unwrap();
        let back = read_mnist_dir(dir.path()).unwrap();
        assert_eq!(back.train, splits.train);
        assert_eq!(back.test, splits.test);
        // The header per the MNIST page: magic 0x00000803, then 2 images, 3 rows, 4 columns,
        // all big-endian, then the 24 pixels.
        let raw = std::fs::read(dir.path().join(TRAIN_IMAGES)).unwrap();
        assert_eq!(
            &raw[..16],
            &[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]
        );
        assert_eq!(raw.len(), 16 + 24);
        let raw = std::fs::read(dir.path().join(TEST_LABELS)).unwrap();
        assert_eq!(raw, [0, 0, 8, 1, 0, 0, 0, 1, 0]);

        let rgb = ImageDataset::new(vec![0; 12], vec![1], [3, 2, 2], names);
        let other = tempfile::tempdir().unwrap();
        let target = other.path().join("out");
        let err = write_mnist_dir(
            &target,
            &DataSplits {
                train: splits.train.clone(),
                test: rgb,
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("test split has 3-channel"),
            "{err}"
        );
        assert!(!target.exists(), "nothing is written for a refused split");
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
