//! A damaged or hostile cache is rebuilt with a reason, never trusted and never a panic; big
//! claims are refused in little memory (the size cases run in a child process with a capped
//! address space, see `memory_cap`).

use std::fs::File;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{cached, images, mixed_folder, open, options};
use crate::dataset::ImageData;
use crate::memory_cap::{in_child, rerun};
use crate::stream::{CacheStatus, MAX_CACHE_MANIFEST_BYTES, StreamOptions};

/// Address-space cap of the size cases, as for the crate's other hostile inputs.
const CAP_MIB: u64 = 512;

/// True in the parent, after the capped child ran the test `name` of this module.
fn ran_capped(name: &str) -> bool {
    if in_child() {
        return false;
    }
    rerun(module_path!(), name, CAP_MIB);
    true
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

/// Where the data length sits in `index.bin` (the count follows it, then the entries): after
/// the magic, the version, the source and filter strings, the short side, the two channel
/// bytes and the first image's sides.
fn data_len_at(index: &[u8]) -> usize {
    let mut at = 8 + 4;
    at += 4 + u32_at(index, at);
    at += 4 + u32_at(index, at);
    at + 4 + 2 + 8
}

/// Where the first entry's offset sits: after its path, size, mtime, label and flags.
fn first_offset_at(index: &[u8]) -> usize {
    let entry = data_len_at(index) + 16;
    entry + 4 + u32_at(index, entry) + 8 + 8 + 2
}

fn patch(index: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    let mut out = index.to_vec();
    out[at..at + value.len()].copy_from_slice(value);
    out
}

/// A folder with its cache built; the pristine index, data and images.
struct Built {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    cache_dir: std::path::PathBuf,
    options: StreamOptions,
    index: Vec<u8>,
    data: Vec<u8>,
    images: Vec<Vec<u8>>,
}

fn built() -> Built {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache_dir) = (tmp.path().join("data"), tmp.path().join("cache"));
    mixed_folder(&dir);
    let options = cached(options(Some(3), Some([6, 6])), &cache_dir, 8);
    let s = open(&dir, &options);
    assert_eq!(s.cache, Some(CacheStatus::Built));
    Built {
        index: std::fs::read(cache_dir.join("index.bin")).unwrap(),
        data: std::fs::read(cache_dir.join("images.u8")).unwrap(),
        images: images(&s.train),
        _tmp: tmp,
        dir,
        cache_dir,
        options,
    }
}

impl Built {
    /// Opens the folder again and checks the cache was rebuilt for a reason containing
    /// `expect`, giving the images of the first build.
    fn reopen_rebuilds(&self, case: &str, expect: &str) {
        let s = open(&self.dir, &self.options);
        match &s.cache {
            Some(CacheStatus::Rebuilt { reason }) => {
                assert!(
                    reason.contains(expect),
                    "{case}: {reason:?} lacks {expect:?}"
                );
                assert!(!reason.contains('\n'), "{case}: {reason}");
            }
            other => panic!("{case}: expected a rebuild, got {other:?}"),
        }
        assert_eq!(images(&s.train), self.images, "{case}");
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.cache_dir.join(name), bytes).unwrap();
    }
}

#[test]
fn a_damaged_index_or_data_file_is_rebuilt_with_a_reason() {
    let b = built();
    let (index, at, off) = (&b.index, data_len_at(&b.index), first_offset_at(&b.index));
    let mut trailing = index.clone();
    trailing.extend_from_slice(b"xyz");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("json", b"{\"images\": [1, 2".to_vec(), "wrong magic"),
        ("empty", Vec::new(), "wrong magic"),
        ("version", patch(index, 8, &2u32.to_le_bytes()), "version 2"),
        (
            "source length",
            patch(index, 12, &u32::MAX.to_le_bytes()),
            "early",
        ),
        ("channels", patch(index, at - 9, &[2]), "2 channels"),
        (
            "first side",
            patch(index, at - 8, &0u32.to_le_bytes()),
            "outside the image bounds",
        ),
        (
            "count",
            patch(index, at + 8, &u64::MAX.to_le_bytes()),
            "cannot fit",
        ),
        (
            "data length",
            patch(index, at, &1u64.to_le_bytes()),
            "ends past the data's 1 bytes",
        ),
        (
            "data length max",
            patch(index, at, &u64::MAX.to_le_bytes()),
            "the header says",
        ),
        (
            "offset",
            patch(index, off, &5u64.to_le_bytes()),
            "starts at byte 5, expected 0",
        ),
        (
            "offset max",
            patch(index, off, &u64::MAX.to_le_bytes()),
            "expected 0",
        ),
        (
            "height",
            patch(index, off + 8, &100_000u32.to_le_bytes()),
            "outside the image bounds",
        ),
        // 16384 × 16384 sides each within MAX_IMAGE_SIDE, their area over MAX_IMAGE_PIXELS.
        (
            "area",
            patch(
                &patch(index, off + 8, &16_384u32.to_le_bytes()),
                off + 12,
                &16_384u32.to_le_bytes(),
            ),
            "outside the image bounds",
        ),
        (
            "flags",
            patch(index, off - 1, &[0x80]),
            "unknown flags 0x80",
        ),
        (
            "halved",
            index[..index.len() / 2].to_vec(),
            "9 entries cannot fit",
        ),
        (
            "truncated",
            index[..index.len() - 3].to_vec(),
            "ends 3 bytes early",
        ),
        ("trailing", trailing, "3 unexpected bytes"),
    ];
    for (case, bytes, expect) in cases {
        b.write("images.u8", &b.data);
        b.write("index.bin", &bytes);
        b.reopen_rebuilds(case, expect);
    }

    b.write("images.u8", &b.data[..b.data.len() - 1]);
    b.reopen_rebuilds(
        "short data",
        &format!("images.u8 holds {} bytes", b.data.len() - 1),
    );
    b.write("images.u8", &[b.data.as_slice(), &[0]].concat());
    b.reopen_rebuilds("long data", &format!("index.bin expects {}", b.data.len()));
    std::fs::remove_file(b.cache_dir.join("index.bin")).unwrap();
    b.reopen_rebuilds("no index", "index.bin is missing");
    std::fs::remove_file(b.cache_dir.join("images.u8")).unwrap();
    b.reopen_rebuilds("no data", "images.u8 is missing");
    // A FIFO would block a reader that opened it; it is refused from its metadata.
    for name in ["index.bin", "images.u8"] {
        std::fs::remove_file(b.cache_dir.join(name)).unwrap();
        let fifo = Command::new("mkfifo").arg(b.cache_dir.join(name)).status();
        assert!(fifo.unwrap().success());
        b.reopen_rebuilds(name, &format!("{name} is not a regular file"));
    }
    assert_eq!(open(&b.dir, &b.options).cache, Some(CacheStatus::Reused));
}

#[test]
fn an_index_past_its_ceiling_is_rebuilt_without_being_read() {
    if ran_capped("an_index_past_its_ceiling_is_rebuilt_without_being_read") {
        return;
    }
    let b = built();
    // A sparse file: a gigabyte the disk does not hold, and the cap could not either.
    let file = File::create(b.cache_dir.join("index.bin")).unwrap();
    file.set_len(MAX_CACHE_MANIFEST_BYTES + 1).unwrap();
    let start = Instant::now();
    b.reopen_rebuilds("huge", "more than the limit of 1073741824");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn opening_a_folder_far_larger_than_memory_allocates_no_pixels() {
    if ran_capped("opening_a_folder_far_larger_than_memory_allocates_no_pixels") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    mixed_folder(tmp.path());
    // 9 RGB images of 16384² would be 7 GiB in memory, 14 times the cap.
    let folder = options(Some(3), Some([16_384, 16_384]));
    let s = open(
        tmp.path(),
        &StreamOptions {
            folder,
            cache: None,
        },
    );
    assert_eq!(
        s.train.decoded_bytes() + s.test.decoded_bytes(),
        (9 * 3) << 28
    );
    assert_eq!(s.train.image_shape(), [3, 16_384, 16_384]);
}

#[test]
fn a_cache_over_a_folder_of_many_files_stays_small() {
    // The cache index of 2,000 files is its paths and 38 bytes each, and opening it decodes
    // nothing: a second open of an unchanged folder must be quick.
    let tmp = tempfile::tempdir().unwrap();
    let (d, cache_dir) = (tmp.path().join("data"), tmp.path().join("cache"));
    for c in 0..2 {
        for k in 0..1000 {
            let path = d.join(format!("c{c}/{k:04}.png"));
            if k == 0 {
                super::gray(&path, 3, 3, |_, _| 9);
            } else {
                std::fs::copy(d.join(format!("c{c}/0000.png")), &path).unwrap();
            }
        }
    }
    let opts = cached(options(Some(1), None), &cache_dir, 3);
    assert_eq!(open(&d, &opts).cache, Some(CacheStatus::Built));
    let index = std::fs::metadata(cache_dir.join("index.bin"))
        .unwrap()
        .len();
    // Header (magic, version, source, filter, rule, sizes) under 4 KiB; 2,000 entries of 38
    // bytes and a 14-byte path ("c0/0000.png" is 11).
    assert!(index <= 4096 + 2000 * (38 + 11), "{index}");
    assert_eq!(
        std::fs::metadata(cache_dir.join("images.u8"))
            .unwrap()
            .len(),
        2000 * 9
    );
    let start = Instant::now();
    let s = open(&d, &opts);
    assert_eq!(s.cache, Some(CacheStatus::Reused));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(s.test.image(s.test.len() - 1).as_ref(), &[9; 9][..]);
}
