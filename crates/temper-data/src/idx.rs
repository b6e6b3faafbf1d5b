//! The IDX file format of the MNIST distribution (LeCun et al.), raw or gzip-compressed.
//!
//! An IDX file is a big-endian header — two zero bytes, a type byte (`0x08` = unsigned byte),
//! the number of dimensions, then one `u32` per dimension — followed by the data in row-major
//! order. MNIST images are magic `0x00000803` (`[N, rows, cols]`), labels `0x00000801` (`[N]`).
//! Reference: <http://yann.lecun.com/exdb/mnist/> ("FILE FORMATS FOR THE MNIST DATABASE").

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::error::{DataError, Result};

/// Magic number of an IDX file of unsigned bytes with three dimensions (MNIST images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (MNIST labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of unsigned bytes: its dimensions and its row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The elements in row-major order: the product of `dims` bytes.
    pub data: Vec<u8>,
}

/// Reads a file whole, transparently decompressing it when it is gzip (detected by its magic
/// bytes, not its name, so a mislabelled file still reads).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decompress_if_gz(path, raw)
}

/// Decompresses `raw` when it starts with the gzip magic bytes; `path` only names it in errors.
pub fn decompress_if_gz(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 5);
    GzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

/// Finds `name` or `name.gz` in `dir`, or names both in a [`DataError::MissingFile`].
pub fn locate_maybe_gz(dir: &Path, name: &'static str) -> Result<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(DataError::MissingFile {
        dir: dir.to_path_buf(),
        name,
    })
}

/// Parses IDX bytes that must carry `expected_magic`; `path` names the source in errors and
/// `what` says what the file should have been ("images", "labels").
pub fn parse_idx(
    path: &Path,
    bytes: &[u8],
    expected_magic: u32,
    what: &'static str,
) -> Result<IdxArray> {
    let truncated = |expected: usize| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        actual: bytes.len(),
    };
    if bytes.len() < 4 {
        return Err(truncated(4));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != expected_magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
            expected: expected_magic,
            what,
        });
    }
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(truncated(header_len));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::BadDimensions {
            path: path.to_path_buf(),
            message: format!("dimensions {dims:?} overflow"),
        })?;
    let expected = header_len + count;
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    if bytes.len() > expected {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            extra: bytes.len() - expected,
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// Reads and validates an IDX file (raw or gzip) that must carry `expected_magic`.
pub fn read_idx(path: &Path, expected_magic: u32, what: &'static str) -> Result<IdxArray> {
    let bytes = read_maybe_gz(path)?;
    parse_idx(path, &bytes, expected_magic, what)
}

/// Encodes an array of unsigned bytes as IDX (uncompressed).
///
/// # Panics
/// When a dimension exceeds `u32::MAX` or `data` does not hold the product of `dims` bytes;
/// both are programming errors, not input errors.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    assert_eq!(dims.iter().product::<usize>(), data.len(), "IDX data size");
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, 0x08, dims.len() as u8]);
    for &d in dims {
        out.extend_from_slice(
            &u32::try_from(d)
                .expect("IDX dimension fits u32")
                .to_be_bytes(),
        );
    }
    out.extend_from_slice(data);
    out
}

/// Writes an array as IDX, gzip-compressed when `path` ends in `.gz`.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    let io = |source| DataError::Io {
        path: PathBuf::from(path),
        source,
    };
    let encoded = encode_idx(dims, data);
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&encoded).map_err(io)?;
        gz.finish().map_err(io)?
    } else {
        encoded
    };
    std::fs::write(path, bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("x.idx")
    }

    #[test]
    fn header_layout_matches_the_published_format() {
        // From the MNIST page: 0x00000803, then 60000, 28, 28 as big-endian u32.
        let bytes = encode_idx(&[2, 1, 3], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(&bytes[..4], &[0, 0, 8, 3]);
        assert_eq!(&bytes[4..16], &[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3]);
        let back = parse_idx(p(), &bytes, IMAGES_MAGIC, "images").unwrap();
        assert_eq!(back.dims, vec![2, 1, 3]);
        assert_eq!(back.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn short_header_is_truncated_not_a_panic() {
        let err = parse_idx(p(), &[0, 0, 8], LABELS_MAGIC, "labels").unwrap_err();
        assert!(matches!(
            err,
            DataError::Truncated {
                expected: 4,
                actual: 3,
                ..
            }
        ));
        let err = parse_idx(p(), &[0, 0, 8, 1, 0, 0], LABELS_MAGIC, "labels").unwrap_err();
        assert!(matches!(err, DataError::Truncated { expected: 8, .. }));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode_idx(&[2], &[1, 2]);
        bytes.push(9);
        let err = parse_idx(p(), &bytes, LABELS_MAGIC, "labels").unwrap_err();
        assert!(matches!(err, DataError::TrailingBytes { extra: 1, .. }));
    }

    #[test]
    fn gzip_is_detected_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.gz");
        write_idx(&path, &[3], &[7, 8, 9]).unwrap();
        // Same content under a name without `.gz` still reads.
        let renamed = dir.path().join("labels-no-extension");
        std::fs::rename(&path, &renamed).unwrap();
        let back = read_idx(&renamed, LABELS_MAGIC, "labels").unwrap();
        assert_eq!(back.data, vec![7, 8, 9]);
    }

    #[test]
    fn corrupt_gzip_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.gz");
        std::fs::write(&path, [0x1f, 0x8b, 0x08, 0, 1, 2, 3]).unwrap();
        let err = read_idx(&path, LABELS_MAGIC, "labels").unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }));
        assert!(err.to_string().contains("bad.gz"));
    }
}
