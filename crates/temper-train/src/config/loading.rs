//! `[data] loading`: whether a run's images are decoded whole into memory before training or
//! streamed by worker threads as batches need them, and the optional decoded cache.
//!
//! A folder is streamed when `loading = "stream"`, when `[data] cache` is set, or (`"auto"`,
//! the default) when its images, decoded at `image_size`, would take more than
//! [`stream_threshold`]: a quarter of the memory available. A quarter because loading in memory
//! holds the set twice while it is assembled, and the model, its optimizer state and
//! activations, the batches in flight and the page cache of the image files need the rest.
//! MNIST and CIFAR-10 are always in memory (at most 0.2 GB).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use temper_data::{
    CacheOptions, CacheStatus, DataSplits, ImageData, MAX_FOLDER_BYTES, StreamOptions,
    StreamSplits, open_image_folder,
};

use crate::config::data_section::{DataSection, DataSource, Loading};
use crate::config::data_source::load_data;
use crate::error::TrainError;
use crate::run::Progress;

/// How often a folder load or a cache build reports its count.
const LOADING_TICK: Duration = Duration::from_millis(100);

/// The short side cached images get when neither `cache_short_side` nor `image_size` is set:
/// 256, torchvision's ImageNet evaluation resize.
const DEFAULT_CACHE_SIDE: usize = 256;

/// A run's data, loaded whole or streamed.
pub enum LoadedData {
    /// Decoded into memory.
    Memory(DataSplits),
    /// Listed, and decoded as batches need it.
    Stream(StreamSplits),
}

impl LoadedData {
    /// The training pool (validation is drawn from it).
    pub fn train(&self) -> &dyn ImageData {
        match self {
            LoadedData::Memory(d) => &d.train,
            LoadedData::Stream(s) => &s.train,
        }
    }

    /// The test split.
    pub fn test(&self) -> &dyn ImageData {
        match self {
            LoadedData::Memory(d) => &d.test,
            LoadedData::Stream(s) => &s.test,
        }
    }

    /// Whether images are decoded as they are read.
    pub fn is_streamed(&self) -> bool {
        matches!(self, LoadedData::Stream(_))
    }
}

/// The decoded size above which `loading = "auto"` streams a folder: a quarter of the memory
/// available (`MemAvailable` in `/proc/meminfo`; 8 GiB assumed where it cannot be read), and
/// never more than [`MAX_FOLDER_BYTES`], the most an in-memory folder may hold.
pub fn stream_threshold() -> u64 {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_available(&text))
        .unwrap_or(8 << 30);
    (available / 4).min(MAX_FOLDER_BYTES)
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    kilobytes_field(meminfo, "MemAvailable:")
}

/// The `KEY:  N kB` line of a `/proc` status text (`/proc/meminfo`, `/proc/self/status`), in
/// bytes.
pub(crate) fn kilobytes_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Loads or opens the data `section` names: MNIST, CIFAR-10 and folders below the threshold
/// in memory, other folders streamed (saying why through `progress`).
pub fn open_data(
    section: &DataSection,
    progress: &mut dyn Progress,
) -> Result<LoadedData, TrainError> {
    let source = section.data_source()?;
    let DataSource::Folder(dir, folder) = &source else {
        return Ok(LoadedData::Memory(load_data(&source, progress)?));
    };
    if section.loading == Loading::Memory {
        return Ok(LoadedData::Memory(load_data(&source, progress)?));
    }
    let cache = section.cache.as_ref().map(|dir| CacheOptions {
        dir: dir.clone(),
        short_side: section.cache_short_side.unwrap_or_else(|| {
            section
                .image_size
                .map_or(DEFAULT_CACHE_SIDE, |[h, w]| (h.max(w) * 8).div_ceil(7))
        }),
    });
    let options = StreamOptions {
        folder: folder.clone(),
        cache: None,
    };
    // A listing costs no decoding; it tells the decoded size before anything is decided.
    let listed = open_image_folder(dir, &options, &|_, _| {})?;
    let bytes = listed
        .train
        .decoded_bytes()
        .saturating_add(listed.test.decoded_bytes());
    let threshold = stream_threshold();
    let why = match (section.loading, &cache) {
        (Loading::Stream, _) => "data.loading = \"stream\"".to_string(),
        (_, Some(_)) => "data.cache is set".to_string(),
        _ if bytes > threshold => format!(
            "decoded they would take {}, more than a quarter of the memory available ({}); \
             set data.loading = \"memory\" to load them anyway",
            gigabytes(bytes),
            gigabytes(threshold)
        ),
        _ => {
            drop(listed);
            return Ok(LoadedData::Memory(load_data(&source, progress)?));
        }
    };
    let images = listed.train.len() + listed.test.len();
    progress.message(&format!(
        "data: streaming {images} images ({} decoded): {why}",
        gigabytes(bytes)
    ));
    let Some(cache) = cache else {
        return Ok(LoadedData::Stream(listed));
    };
    let options = StreamOptions {
        folder: folder.clone(),
        cache: Some(cache),
    };
    let splits = with_counter(progress, |report| open_image_folder(dir, &options, report))?;
    if let Some(status) = &splits.cache {
        let cache_dir = section.cache.as_deref().unwrap_or(Path::new(""));
        progress.message(&cache_message(status, cache_dir));
    }
    Ok(LoadedData::Stream(splits))
}

/// What happened to the cache, in one line.
fn cache_message(status: &CacheStatus, dir: &Path) -> String {
    let dir = dir.display();
    match status {
        CacheStatus::Reused => format!("data.cache: reading the decoded images in {dir}"),
        CacheStatus::Built => format!("data.cache: built {dir}"),
        CacheStatus::Rebuilt { reason } => format!("data.cache: rebuilt {dir}: {reason}"),
    }
}

/// `bytes` as gigabytes with one decimal (`"3.2 GB"`).
fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// Runs `work` on a scoped thread with a `(done, total)` callback it may call from any
/// thread, while this thread relays the count to `progress` (which is not `Sync`).
pub(crate) fn with_counter<T: Send>(
    progress: &mut dyn Progress,
    work: impl FnOnce(&(dyn Fn(usize, usize) + Sync)) -> temper_data::Result<T> + Send,
) -> Result<T, TrainError> {
    let (done, total) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let report = |d: usize, t: usize| {
        done.fetch_max(d, Ordering::Relaxed);
        total.store(t, Ordering::Relaxed);
    };
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| work(&report));
        while !worker.is_finished() {
            std::thread::sleep(LOADING_TICK);
            let t = total.load(Ordering::Relaxed);
            if t > 0 {
                progress.loading(done.load(Ordering::Relaxed), t);
            }
        }
        worker.join().expect("the folder reader does not panic")
    })
    .map_err(TrainError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_reads_the_kilobytes_of_proc_meminfo() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   16000000 kB\n";
        assert_eq!(mem_available(text), Some(16_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots kB\n"), None);
    }

    #[test]
    fn the_stream_threshold_never_exceeds_the_in_memory_limit() {
        let t = stream_threshold();
        assert!(t > 0 && t <= MAX_FOLDER_BYTES, "{t}");
    }
}
