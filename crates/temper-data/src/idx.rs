//! The IDX file format of the MNIST distribution (LeCun et al.), raw or gzip-compressed, and
//! the bounded whole-file reads every reader of this crate goes through.
//!
//! An IDX file is a big-endian header — two zero bytes, a type byte (`0x08` = unsigned byte),
//! the number of dimensions, then one `u32` per dimension — followed by the data in row-major
//! order. MNIST images are magic `0x00000803` (`[N, rows, cols]`), labels `0x00000801` (`[N]`).
//! Reference: <http://yann.lecun.com/exdb/mnist/> ("FILE FORMATS FOR THE MNIST DATABASE").
//!
//! # Bounds
//!
//! A file is never read whole on trust. The header is read first (inflated from the stream's
//! start when the file is gzip) and the payload it declares, a product of dimensions computed
//! with checked arithmetic, must not exceed [`MAX_IDX_BYTES`]. An uncompressed file's length
//! (from its metadata) must then equal the header's implied length, so a huge file with a bad
//! magic or a wrong length fails before one payload byte is read. A gzip file's declared payload
//! must be within [`MAX_DEFLATE_RATIO`] times its compressed size (no deflate stream expands
//! more), and exactly that many bytes are then inflated, growing the buffer as they arrive, so a
//! lying header costs no more memory than the bytes really present. Headerless files (CIFAR-10
//! batches, class-name lists) go through [`read_maybe_gz`] with a ceiling of their own.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::error::{DataError, Result};

/// Magic number of an IDX file of unsigned bytes with three dimensions (MNIST images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (MNIST labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The largest payload (product of the dimensions, in bytes) an IDX header may declare: 1 GiB.
/// The largest public IDX files (EMNIST ByClass, 697,932 images of 28x28 = 547 MB) fit with
/// room; anything larger is far more likely a corrupt or hostile header than a dataset, and
/// would be held in memory whole.
pub const MAX_IDX_BYTES: u64 = 1 << 30;

/// The most a deflate stream can expand: a 258-byte match coded in about 2 bits gives
/// 1032:1 (zlib's technical notes). A gzip file whose header declares more than this many
/// times its own size is lying and is refused without inflating it.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of unsigned bytes: its dimensions and its row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The elements in row-major order: the product of `dims` bytes.
    pub data: Vec<u8>,
}

/// A file or byte slice opened for a bounded read: a reader of its content (inflated when it
/// starts with the gzip magic bytes), whether it was gzip, and its stored length.
pub struct Opened<'a> {
    reader: Box<dyn Read + 'a>,
    gzip: bool,
    stored_len: u64,
}

impl<'a> Opened<'a> {
    /// `bytes` as a source, gzip detected by its first two bytes.
    pub fn from_slice(bytes: &'a [u8]) -> Self {
        let gzip = bytes.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn Read + 'a> = if gzip {
            Box::new(GzDecoder::new(bytes))
        } else {
            Box::new(bytes)
        };
        Self {
            reader,
            gzip,
            stored_len: bytes.len() as u64,
        }
    }

    /// Whether the source is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The source's length as stored: the file's size, compressed when it is gzip.
    pub fn stored_len(&self) -> u64 {
        self.stored_len
    }

    /// The most content bytes the source can yield: its length, or for gzip that times
    /// [`MAX_DEFLATE_RATIO`].
    pub fn max_content_len(&self) -> u64 {
        if self.gzip {
            self.stored_len.saturating_mul(MAX_DEFLATE_RATIO)
        } else {
            self.stored_len
        }
    }
}

/// Opens `path` for a bounded read, gzip detected by its magic bytes (not its name, so a
/// mislabelled file still reads). Reads two bytes; the length comes from the metadata.
pub fn open_maybe_gz(path: &Path) -> Result<Opened<'static>> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let stored_len = file.metadata().map_err(io)?.len();
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut file, &mut magic).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let gzip = got == 2 && magic == GZIP_MAGIC;
    let reader: Box<dyn Read> = if gzip {
        Box::new(GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    Ok(Opened {
        reader,
        gzip,
        stored_len,
    })
}

/// Reads into `buf` until it is full or the stream ends; returns the bytes read.
fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Appends at most `max` bytes of `r` to `out`, growing it by doubling but never past `max`
/// (so a stream longer than `max` costs `max` bytes, not up to twice that), and zeroing only
/// the chunk each read fills.
fn read_at_most(r: &mut dyn Read, max: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
    const CHUNK: usize = 1 << 16;
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    while out.len() < max {
        let start = out.len();
        if start == out.capacity() {
            out.reserve_exact(start.max(CHUNK).min(max - start));
        }
        let room = (out.capacity() - start).min(CHUNK);
        out.resize(start + room, 0);
        let read = r.read(&mut out[start..]);
        out.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The error of a failed read: a gzip error for a compressed source, else an I/O error.
fn read_error(path: &Path, gzip: bool) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |source| {
        if gzip {
            DataError::Gzip {
                path: path.to_path_buf(),
                source,
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Reads the whole content of `src` (inflated when gzip), refusing more than `limit` bytes:
/// an uncompressed source is checked by its length before any read, a gzip one is inflated
/// at most `limit + 1` bytes. `path` and `what` ("class names", "batch") name it in errors.
pub fn read_all_bounded(path: &Path, src: Opened<'_>, limit: u64, what: &str) -> Result<Vec<u8>> {
    let too_large = |size: String| DataError::TooLarge {
        path: path.to_path_buf(),
        message: format!("{what} of {size} bytes, more than the limit of {limit} bytes"),
    };
    if !src.gzip && src.stored_len > limit {
        return Err(too_large(src.stored_len.to_string()));
    }
    let capacity = if src.gzip { 0 } else { src.stored_len };
    let mut out = Vec::with_capacity(capacity as usize);
    let mut reader = src.reader;
    read_at_most(&mut reader, limit + 1, &mut out).map_err(read_error(path, src.gzip))?;
    if out.len() as u64 > limit {
        return Err(too_large(format!("more than {limit}")));
    }
    Ok(out)
}

/// Reads a file whole, transparently decompressing it when it is gzip (detected by its magic
/// bytes), refusing content beyond `limit` bytes before reading it when it is uncompressed,
/// and as soon as inflation passes it when it is gzip.
pub fn read_maybe_gz(path: &Path, limit: u64) -> Result<Vec<u8>> {
    read_all_bounded(path, open_maybe_gz(path)?, limit, "content")
}

/// Decompresses `raw` when it starts with the gzip magic bytes, refusing more than `limit`
/// inflated bytes; `path` only names it in errors.
pub fn decompress_if_gz(path: &Path, raw: Vec<u8>, limit: u64) -> Result<Vec<u8>> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    read_all_bounded(path, Opened::from_slice(&raw), limit, "inflated content")
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

/// An IDX header: the dimensions and the lengths they imply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdxHeader {
    /// Size of each dimension, outermost first.
    pub(crate) dims: Vec<usize>,
    /// Bytes of the header: 4 + 4 per dimension.
    pub(crate) header_len: usize,
    /// Bytes of data the dimensions declare (their product), at most [`MAX_IDX_BYTES`].
    pub(crate) payload: usize,
}

/// Reads and checks the header of `src` (magic, dimensions, the payload bound, and the
/// stored length against the implied one), leaving `src` at the first data byte.
pub(crate) fn read_idx_header(
    path: &Path,
    src: &mut Opened<'_>,
    expected_magic: u32,
    what: &'static str,
) -> Result<IdxHeader> {
    let err = read_error(path, src.gzip);
    let truncated = |expected: usize, actual: usize| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut src.reader, &mut magic).map_err(&err)?;
    if got < 4 {
        return Err(truncated(4, got));
    }
    let magic = u32::from_be_bytes(magic);
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
    let mut raw_dims = vec![0u8; 4 * ndims];
    let got = read_up_to(&mut src.reader, &mut raw_dims).map_err(&err)?;
    if got < raw_dims.len() {
        return Err(truncated(header_len, 4 + got));
    }
    let dims: Vec<usize> = raw_dims
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let payload = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&p| p <= MAX_IDX_BYTES)
        .ok_or_else(|| DataError::TooLarge {
            path: path.to_path_buf(),
            message: format!(
                "dimensions {dims:?} declare more than the {MAX_IDX_BYTES}-byte limit of an IDX \
                 payload"
            ),
        })? as usize;
    let expected = header_len + payload;
    check_stored_len(path, src, expected)?;
    Ok(IdxHeader {
        dims,
        header_len,
        payload,
    })
}

/// Compares the length a header implies with what the source can hold, before any payload
/// byte is read: exactly for an uncompressed source, by [`MAX_DEFLATE_RATIO`] for gzip.
fn check_stored_len(path: &Path, src: &Opened<'_>, expected: usize) -> Result<()> {
    let stored = src.stored_len;
    if src.gzip {
        if expected as u64 > src.max_content_len() {
            return Err(DataError::TooLarge {
                path: path.to_path_buf(),
                message: format!(
                    "the header declares {expected} bytes but {stored} bytes of gzip cannot \
                     inflate to more than {} (deflate expands at most {MAX_DEFLATE_RATIO}:1)",
                    src.max_content_len()
                ),
            });
        }
        return Ok(());
    }
    match stored.cmp(&(expected as u64)) {
        std::cmp::Ordering::Less => Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            actual: stored as usize,
        }),
        std::cmp::Ordering::Greater => Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            extra: (stored - expected as u64) as usize,
        }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Reads a whole IDX array from `src`: the header (see [`read_idx_header`]), then exactly
/// the payload it declares, refusing a stream that ends early or goes on.
pub(crate) fn read_idx_from(
    path: &Path,
    mut src: Opened<'_>,
    expected_magic: u32,
    what: &'static str,
) -> Result<IdxArray> {
    let header = read_idx_header(path, &mut src, expected_magic, what)?;
    read_idx_payload(path, src, header)
}

/// Reads the payload `header` (just read from `src` by [`read_idx_header`]) declares, and
/// checks that nothing follows it.
pub(crate) fn read_idx_payload(
    path: &Path,
    mut src: Opened<'_>,
    header: IdxHeader,
) -> Result<IdxArray> {
    let err = read_error(path, src.gzip);
    let expected = header.header_len + header.payload;
    // Uncompressed: the length was checked, so the payload is there. Gzip: grow as bytes
    // arrive, so a lying header costs only what the stream really holds.
    let capacity = if src.gzip { 0 } else { header.payload };
    let mut data = Vec::with_capacity(capacity);
    read_at_most(&mut src.reader, header.payload as u64, &mut data).map_err(&err)?;
    if data.len() < header.payload {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            actual: header.header_len + data.len(),
        });
    }
    // Count what follows without keeping it, up to what the source can hold.
    let most = src.max_content_len();
    let extra =
        std::io::copy(&mut (&mut src.reader).take(most), &mut std::io::sink()).map_err(&err)?;
    if extra > 0 {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            extra: extra as usize,
        });
    }
    Ok(IdxArray {
        dims: header.dims,
        data,
    })
}

/// Parses IDX bytes (already decompressed) that must carry `expected_magic`; `path` names the
/// source in errors and `what` says what the file should have been ("images", "labels").
pub fn parse_idx(
    path: &Path,
    bytes: &[u8],
    expected_magic: u32,
    what: &'static str,
) -> Result<IdxArray> {
    let src = Opened {
        reader: Box::new(bytes),
        gzip: false,
        stored_len: bytes.len() as u64,
    };
    read_idx_from(path, src, expected_magic, what)
}

/// Reads and validates an IDX file (raw or gzip) that must carry `expected_magic`, header
/// first (see the module doc for the bounds).
pub fn read_idx(path: &Path, expected_magic: u32, what: &'static str) -> Result<IdxArray> {
    read_idx_from(path, open_maybe_gz(path)?, expected_magic, what)
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
