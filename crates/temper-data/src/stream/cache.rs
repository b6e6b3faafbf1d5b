//! The decoded cache of a streamed folder: every image of both splits decoded once, resized
//! to a short side, in one raw file read through a memory map.
//!
//! A cache folder holds `images.u8` (the pixels), `index.bin` (what they are) and `lock`
//! (held while a process checks or builds the cache, so two runs sharing a cache build it
//! once); `*.tmp` files exist only while a build writes. `images.u8` is every image, in
//! listing order (train, then test), as raw `u8` `[C, H, W]` one after the other. `index.bin`
//! is little-endian:
//!
//! ```text
//! magic "temperdc" | version u32 | source: u32 len + bytes (canonical folder) | filter: u32 len
//! + bytes ("triangle") | short_side u32 | channels asked u8 (0: by content) | channels u8 |
//! first image h u32, w u32 | data length u64 | count u64 | count × entry
//! entry: path u32 len + bytes (relative to the folder) | file size u64 | mtime ns i64 | label u8
//!        | flags u8 (1: test split, 2: bad) | bad: message u32 len + bytes, else offset u64, h u32, w u32
//! ```
//!
//! The index is the commit point: a build writes `images.u8.tmp`, syncs it, removes the old
//! index, renames the data into place, then writes `index.bin.tmp`, syncs and renames it, so a
//! crash at any step leaves either a complete cache or no index (and a rebuild).
//!
//! A cache is reused when its index matches the folder as listed now: the same source
//! folder, resize rule and channels asked, and the same files in the same order with the same
//! labels, splits, sizes and modification times (as `make` and rsync judge a file unchanged);
//! nothing is decoded then. Otherwise it is rebuilt, with the first difference as the reason.
//! The index is read as hostile input: its size is checked against [`MAX_CACHE_MANIFEST_BYTES`]
//! before it is read, every length against the bytes left, every image's sides against
//! [`MAX_IMAGE_SIDE`] and [`MAX_IMAGE_PIXELS`], its offset against the end of the previous image
//! and the data file's length, all in checked arithmetic. A damaged cache is rebuilt, never
//! trusted. A file that fails to decode while building is recorded as bad (with its error), and
//! reading it later gives that error again.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::UNIX_EPOCH;

use memmap2::Mmap;
use rayon::prelude::*;

use super::{CacheOptions, CacheStatus, first_image, short_side_size};
use crate::bounded::{clip, quote};
use crate::error::{DataError, Result};
use crate::folder::{DecodedImage, FolderOptions, Listing, MAX_IMAGE_SIDE, decode_image, io_error};
use crate::image_limits::{MAX_IMAGE_PIXELS, image_dimensions, read_image_file};

mod format;
use format::{encode, parse};

/// The version of the cache format written; a cache of another version is rebuilt.
pub const CACHE_FORMAT_VERSION: u32 = 1;

/// The largest `index.bin` read: 1 GiB, about ten million files with 60-byte paths (an entry
/// is 38 bytes plus its path). A larger index is not read but rebuilt.
pub const MAX_CACHE_MANIFEST_BYTES: u64 = 1 << 30;

const MAGIC: &[u8; 8] = b"temperdc";
const DATA_FILE: &str = "images.u8";
const INDEX_FILE: &str = "index.bin";
const LOCK_FILE: &str = "lock";
const DATA_TMP: &str = "images.u8.tmp";
const INDEX_TMP: &str = "index.bin.tmp";
/// Every name a cache folder may hold.
const OWN_FILES: [&str; 5] = [DATA_FILE, INDEX_FILE, LOCK_FILE, DATA_TMP, INDEX_TMP];
/// The name of [`RESIZE_FILTER`](crate::folder::RESIZE_FILTER) in the index.
const FILTER_NAME: &[u8] = b"triangle";
/// Images decoded at once while building: enough to keep every thread busy, few enough that
/// the chunk's pixels (256 × 3 × 256 × 341 bytes, 64 MiB, at a short side of 256) stay small.
const CHUNK: usize = 256;
const FLAG_TEST: u8 = 1;
const FLAG_BAD: u8 = 2;
/// Bytes of an entry without its path and message: the smallest an entry can be.
const MIN_ENTRY_BYTES: usize = 4 + 8 + 8 + 1 + 1 + 4;

/// An open cache: the pixels of both splits, mapped, and where each image lies.
#[derive(Debug)]
pub(crate) struct Cache {
    /// `None` when no image decoded (an empty file cannot be mapped).
    map: Option<Mmap>,
    slots: Vec<Slot>,
    /// Images that failed to decode while building, by index, with their error.
    bad: Vec<(usize, String)>,
    /// Channels of every cached image: the data set's.
    pub(crate) channels: usize,
    /// `[height, width]` of the first image in sorted order, the default image size.
    pub(crate) first_size: [usize; 2],
}

/// Where one image lies in the data file; `height == 0` for an image that failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    offset: u64,
    height: u32,
    width: u32,
}

/// One file as listed now, and as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    /// Path relative to the dataset folder, as bytes.
    rel: Vec<u8>,
    size: u64,
    mtime_ns: i64,
    label: u8,
    test: bool,
}

/// What an index's files were made from, compared with the current folder and options.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    source: Vec<u8>,
    filter: Vec<u8>,
    short_side: u32,
    /// The `channels` option: 0 when unset.
    channels_asked: u8,
}

/// A parsed `index.bin`.
#[derive(Debug, PartialEq, Eq)]
struct Index {
    rule: Rule,
    channels: u8,
    first: [u32; 2],
    data_len: u64,
    records: Vec<Record>,
    slots: Vec<Slot>,
    bad: Vec<(usize, String)>,
}

impl Cache {
    /// Pixels and `[height, width]` of cached image `index`, or the error it failed with while
    /// building; `path` names the image.
    pub(crate) fn image(&self, index: usize, path: &Path) -> Result<(&[u8], [usize; 2])> {
        let slot = self.slots[index];
        let bad = |message: String| DataError::BadImage {
            path: path.to_path_buf(),
            message,
        };
        if slot.height == 0 {
            let at = self.bad.binary_search_by_key(&index, |(i, _)| *i);
            let message = at.map_or("failed", |at| self.bad[at].1.as_str());
            return Err(bad(format!("{message} (when the cache was built)")));
        }
        let (h, w) = (slot.height as usize, slot.width as usize);
        // Checked against the data's length when the index was read.
        let start = slot.offset as usize;
        let pixels = self
            .map
            .as_deref()
            .and_then(|map| map.get(start..start + self.channels * h * w))
            .ok_or_else(|| bad("outside the cache's data file".into()))?;
        Ok((pixels, [h, w]))
    }
}

/// Opens the cache at `options.dir` for `listing` (read from `dir`) when it matches, else
/// builds it; `progress(done, total)` while building.
pub(crate) fn open(
    dir: &Path,
    listing: &Listing,
    options: &CacheOptions,
    folder: &FolderOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Cache, CacheStatus)> {
    let cache_dir = &options.dir;
    prepare_dir(cache_dir)?;
    let _lock = lock(cache_dir)?;
    let records = records(dir, listing)?;
    let rule = Rule {
        source: listing.root.as_os_str().as_encoded_bytes().to_vec(),
        filter: FILTER_NAME.to_vec(),
        short_side: options.short_side as u32,
        channels_asked: folder.channels.unwrap_or(0) as u8,
    };
    let reason = match load(cache_dir) {
        Ok(None) => None,
        Ok(Some((index, map))) => match difference(&index, &rule, &records) {
            None => return Ok((cache_of(index, map), CacheStatus::Reused)),
            Some(reason) => Some(reason),
        },
        Err(reason) => Some(reason),
    };
    let cache = build(cache_dir, listing, rule, records, folder.channels, progress)?;
    let status = reason.map_or(CacheStatus::Built, |reason| CacheStatus::Rebuilt { reason });
    Ok((cache, status))
}

fn cache_dir_error(dir: &Path, message: String) -> DataError {
    DataError::CacheDir {
        dir: dir.to_path_buf(),
        message,
    }
}

/// Creates `dir` if missing and refuses it when it holds anything but the cache's files, so
/// that nothing of the user's is overwritten or removed.
fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| cache_dir_error(dir, format!("cannot create: {e}")))?;
    let entries = std::fs::read_dir(dir).map_err(|e| cache_dir_error(dir, e.to_string()))?;
    for entry in entries {
        let name = entry
            .map_err(|e| cache_dir_error(dir, e.to_string()))?
            .file_name();
        if !OWN_FILES.iter().any(|own| name == *own) {
            let name = quote(&name.to_string_lossy());
            return Err(cache_dir_error(
                dir,
                format!(
                    "it holds {name}, which is not a cache file; choose an empty or new folder"
                ),
            ));
        }
    }
    Ok(())
}

/// The cache's lock, held exclusively until the returned file is dropped.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error(&path))?;
    match file.lock() {
        // A file system without locks (some network mounts): runs sharing the cache must then
        // not build it at the same time.
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => Ok(file),
        other => other.map(|()| file).map_err(io_error(&path)),
    }
}

/// Every listed file (train, then test) with its size and modification time.
fn records(dir: &Path, listing: &Listing) -> Result<Vec<Record>> {
    let files: Vec<(&PathBuf, u8, bool)> = (listing.train.iter().map(|(p, l)| (p, *l, false)))
        .chain(listing.test.iter().map(|(p, l)| (p, *l, true)))
        .collect();
    files
        .par_iter()
        .map(|&(path, label, test)| {
            let meta = std::fs::metadata(path).map_err(io_error(path))?;
            let mtime_ns = match meta
                .modified()
                .map_err(io_error(path))?
                .duration_since(UNIX_EPOCH)
            {
                Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
                Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
            };
            let rel = path.strip_prefix(dir).unwrap_or(path);
            Ok(Record {
                rel: rel.as_os_str().as_encoded_bytes().to_vec(),
                size: meta.len(),
                mtime_ns,
                label,
                test,
            })
        })
        .collect()
}

/// The index and the mapped data of the cache in `dir`: `Ok(None)` when there is no cache,
/// `Err(reason)` when there is one that cannot be used.
fn load(dir: &Path) -> std::result::Result<Option<(Index, Option<Mmap>)>, String> {
    let (index_path, data_path) = (dir.join(INDEX_FILE), dir.join(DATA_FILE));
    let len = match regular_file_len(&index_path, INDEX_FILE) {
        Ok(len) => len,
        Err(None) if data_path.exists() => return Err(format!("{INDEX_FILE} is missing")),
        Err(None) => return Ok(None),
        Err(Some(reason)) => return Err(reason),
    };
    if len > MAX_CACHE_MANIFEST_BYTES {
        return Err(format!(
            "{INDEX_FILE} is {len} bytes, more than the limit of {MAX_CACHE_MANIFEST_BYTES}"
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    File::open(&index_path)
        .and_then(|file| file.take(MAX_CACHE_MANIFEST_BYTES).read_to_end(&mut bytes))
        .map_err(|e| format!("{INDEX_FILE}: {e}"))?;
    let index = parse(&bytes).map_err(|e| format!("{INDEX_FILE} is damaged: {e}"))?;
    let data_len = regular_file_len(&data_path, DATA_FILE)
        .map_err(|e| e.unwrap_or_else(|| format!("{DATA_FILE} is missing")))?;
    if data_len != index.data_len {
        return Err(format!(
            "{DATA_FILE} holds {data_len} bytes, {INDEX_FILE} expects {}",
            index.data_len
        ));
    }
    let data = File::open(&data_path).map_err(|e| format!("{DATA_FILE}: {e}"))?;
    let map = map(&data).map_err(|e| format!("{DATA_FILE}: {e}"))?;
    if map.as_ref().map_or(0, |m| m.len() as u64) != data_len {
        return Err(format!("{DATA_FILE} changed while it was opened"));
    }
    Ok(Some((index, map)))
}

/// The length of the regular file at `path` (links followed); `Err(None)` when there is none,
/// `Err(Some(reason))` for anything else, before it is opened: opening a FIFO would block, and a
/// device has no length to check.
fn regular_file_len(path: &Path, name: &str) -> std::result::Result<u64, Option<String>> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(meta.len()),
        Ok(_) => Err(Some(format!("{name} is not a regular file"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(None),
        Err(e) => Err(Some(format!("{name}: {e}"))),
    }
}

/// The whole of `file` mapped read-only; `None` for an empty file.
fn map(file: &File) -> std::io::Result<Option<Mmap>> {
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the map is read-only and temper never writes a data file in place: a build writes
    // a new file and renames it over the old one, which leaves this mapping on the old file.
    // Another program truncating the file while it is mapped would fault, the hazard of every
    // memory-mapped reader (burn-store and safetensors map weights the same way).
    let map = unsafe { Mmap::map(file)? };
    Ok(Some(map))
}

/// The first difference between the cache's `index` and the folder as listed now (`rule`,
/// `records`), or `None` when it matches.
fn difference(index: &Index, rule: &Rule, records: &[Record]) -> Option<String> {
    let text = |bytes: &[u8]| clip(&String::from_utf8_lossy(bytes), 120);
    let (old, new) = (&index.rule, rule);
    if old.source != new.source {
        return Some(format!("it was built from {}", text(&old.source)));
    }
    if (&old.filter, old.short_side) != (&new.filter, new.short_side) {
        return Some(format!(
            "it was resized with {} to a short side of {}, now {} to {}",
            text(&old.filter),
            old.short_side,
            text(&new.filter),
            new.short_side
        ));
    }
    if old.channels_asked != new.channels_asked {
        let asked = |c: u8| {
            if c == 0 {
                "by content".into()
            } else {
                c.to_string()
            }
        };
        return Some(format!(
            "channels were {}, now {}",
            asked(old.channels_asked),
            asked(new.channels_asked)
        ));
    }
    let (n_old, n_new) = (index.records.len(), records.len());
    let files = |n: usize| {
        if n == 1 {
            "1 file".into()
        } else {
            format!("{n} files")
        }
    };
    if n_new > n_old {
        return Some(format!("{} added", files(n_new - n_old)));
    }
    if n_new < n_old {
        return Some(format!("{} removed", files(n_old - n_new)));
    }
    for (was, now) in index.records.iter().zip(records) {
        if was.rel != now.rel {
            // A file listed before at another place: the seeded split moved it.
            if index.records.iter().any(|r| r.rel == now.rel) {
                return Some(format!("the split changed ({} moved)", text(&now.rel)));
            }
            return Some(format!("{} is new or renamed", text(&now.rel)));
        }
        if (was.label, was.test) != (now.label, now.test) {
            return Some(format!("{} changed class or split", text(&now.rel)));
        }
        if (was.size, was.mtime_ns) != (now.size, now.mtime_ns) {
            return Some(format!("{} changed (size or mtime)", text(&now.rel)));
        }
    }
    None
}

fn cache_of(index: Index, map: Option<Mmap>) -> Cache {
    Cache {
        map,
        slots: index.slots,
        bad: index.bad,
        channels: index.channels as usize,
        first_size: index.first.map(|s| s as usize),
    }
}

/// The error message an image failed with, without the path `BadImage` adds again.
fn message(err: &DataError) -> String {
    let text = match err {
        DataError::BadImage { message, .. } | DataError::TooLarge { message, .. } => {
            message.clone()
        }
        DataError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    clip(&text, 200)
}

/// The image at `path` decoded with `channels` and brought down to `short_side`.
fn decode_for_cache(path: &Path, short_side: usize, channels: usize) -> Result<DecodedImage> {
    let bytes = read_image_file(path)?;
    let size = short_side_size(image_dimensions(path, &bytes)?, short_side);
    decode_image(path, &bytes, Some(size), Some(channels))
}

/// Decodes every listed image into a new cache in `dir`, chunk by chunk in parallel, writing
/// each chunk in listing order, then commits it (see the module doc).
fn build(
    dir: &Path,
    listing: &Listing,
    rule: Rule,
    records: Vec<Record>,
    channels: Option<usize>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Cache> {
    let (channels, first) = first_image(&listing.first, channels, None)?;
    let files: Vec<&Path> = (listing.train.iter().chain(&listing.test))
        .map(|(p, _)| p.as_path())
        .collect();
    let data_tmp = dir.join(DATA_TMP);
    let io = io_error(&data_tmp);
    let mut out = std::io::BufWriter::new(File::create(&data_tmp).map_err(io)?);
    let (mut slots, mut bad) = (Vec::with_capacity(files.len()), Vec::new());
    let (done, total, mut offset) = (AtomicUsize::new(0), files.len(), 0u64);
    for (k, chunk) in files.chunks(CHUNK).enumerate() {
        let decoded: Vec<Result<DecodedImage>> = chunk
            .par_iter()
            .map(|path| {
                let image = decode_for_cache(path, rule.short_side as usize, channels);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                image
            })
            .collect();
        for (j, image) in decoded.into_iter().enumerate() {
            match image {
                Ok(image) => {
                    out.write_all(&image.pixels).map_err(io_error(&data_tmp))?;
                    let (height, width) = (image.height as u32, image.width as u32);
                    slots.push(Slot {
                        offset,
                        height,
                        width,
                    });
                    offset += image.pixels.len() as u64;
                }
                Err(err) => {
                    slots.push(Slot {
                        offset,
                        height: 0,
                        width: 0,
                    });
                    bad.push((k * CHUNK + j, message(&err)));
                }
            }
        }
    }
    let data = out
        .into_inner()
        .map_err(|e| io_error(&data_tmp)(e.into_error()))?;
    data.sync_all().map_err(io_error(&data_tmp))?;
    drop(data);
    let index = Index {
        rule,
        channels: channels as u8,
        first: first.map(|s| s as u32),
        data_len: offset,
        records,
        slots,
        bad,
    };
    commit(dir, &encode(&index))?;
    let data_path = dir.join(DATA_FILE);
    let data = File::open(&data_path).map_err(io_error(&data_path))?;
    let map = map(&data).map_err(io_error(&data_path))?;
    Ok(cache_of(index, map))
}

/// Moves the synced data file into place and writes `index` as the commit point.
fn commit(dir: &Path, index: &[u8]) -> Result<()> {
    let (index_path, index_tmp) = (dir.join(INDEX_FILE), dir.join(INDEX_TMP));
    let data_path = dir.join(DATA_FILE);
    // No index may describe a data file it was not written with, even after a crash.
    match std::fs::remove_file(&index_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(&index_path)(e)),
        _ => {}
    }
    std::fs::rename(dir.join(DATA_TMP), &data_path).map_err(io_error(&data_path))?;
    let mut file = File::create(&index_tmp).map_err(io_error(&index_tmp))?;
    file.write_all(index).map_err(io_error(&index_tmp))?;
    file.sync_all().map_err(io_error(&index_tmp))?;
    drop(file);
    std::fs::rename(&index_tmp, &index_path).map_err(io_error(&index_path))?;
    // The renames are durable once the folder itself is synced (POSIX `rename` + `fsync`).
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))?;
    Ok(())
}
