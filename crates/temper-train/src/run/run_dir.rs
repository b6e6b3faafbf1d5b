//! The run directory and crash-safe writes into it.
//!
//! Every file of a run directory is written whole or not at all ([`write_atomic`]): a
//! uniquely named temporary, flushed, renamed over the target, and the directory flushed.
//! Only the process holding the directory's lock (`lock.rs`) writes there.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::config::experiment::Experiment;
use crate::error::{TrainError, io_err};
use crate::run::lock::{LOCK_FILE, RunLock, in_use, is_locked};

/// File names inside a run directory.
pub const CONFIG_FILE: &str = "config.toml";
/// One row per epoch, columns [`METRICS_HEADER`](crate::METRICS_HEADER).
pub const METRICS_FILE: &str = "metrics.csv";
/// The finished run's [`RunSummary`](crate::RunSummary), written when it ends.
pub const SUMMARY_FILE: &str = "summary.toml";
/// Directory of the weight checkpoints, and of the `--resume` state under
/// [`RESUME_DIR`](crate::RESUME_DIR).
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// Weights (Burn's burnpack format) of the best epoch by the watched metric
/// (`[early_stopping] monitor`, else the validation loss, else the training loss), rewritten
/// whenever an epoch improves on it.
pub const BEST_MODEL: &str = "checkpoints/best.bpk";
/// Weights (Burn's burnpack format) after the last completed epoch, rewritten every epoch.
pub const LAST_MODEL: &str = "checkpoints/last.bpk";

/// Creates `dir` for a new run and locks it (see `lock.rs`). An existing non-empty directory
/// is refused so a finished run is never overwritten; the emptiness is checked again once the
/// lock is held, so of two processes creating the same directory at once one is refused.
pub fn create_run_dir(dir: &Path) -> Result<RunLock, TrainError> {
    check_run_dir(dir)?;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let lock = RunLock::acquire(dir)?;
    check_empty(dir)?;
    std::fs::create_dir_all(dir.join(CHECKPOINT_DIR)).map_err(io_err(dir))?;
    Ok(lock)
}

/// Refuses an existing non-empty `dir` without creating anything, so a run can fail before
/// its slow set-up rather than after. A directory holding only the `.lock` file a dead
/// process left is empty; one whose lock is held is in use
/// ([`TrainError::InUse`](crate::TrainError::InUse)).
pub fn check_run_dir(dir: &Path) -> Result<(), TrainError> {
    if !dir.exists() {
        return Ok(());
    }
    if is_locked(dir) {
        return Err(in_use(dir));
    }
    check_empty(dir)
}

/// Refuses `dir` when it holds anything but its lock file.
fn check_empty(dir: &Path) -> Result<(), TrainError> {
    let entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        if entry.file_name() != LOCK_FILE {
            return Err(TrainError::Config(format!(
                "--out {}: directory exists and is not empty; choose a new one",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The first free `PREFIX-N` under `parent` (`runs/run-3`), created.
pub fn next_run_dir(parent: &Path, prefix: &str) -> Result<PathBuf, TrainError> {
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    for n in 1.. {
        let candidate = parent.join(format!("{prefix}-{n}"));
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&candidate)(e)),
        }
    }
    unreachable!("run numbers are unbounded")
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// crash leaves either the old file or the new one, never half of one. The temporary's name
/// is unique to this process and write (`temp_path`), so two writers never share one; the
/// file is flushed to disk before the rename and the directory after it, so the rename
/// survives a power cut as well as a kill.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let tmp = temp_path(path, "");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(e) = written {
        // A full disk leaves no half-written temp file behind either.
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp)(e));
    }
    crash_point();
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(path)(e));
    }
    crash_point();
    sync_parent(path)
}

/// A hidden temporary beside `path`, `.NAME.<pid>.<n>.tmp<suffix>`: the process id and a
/// per-process counter make it unique, so concurrent writers (two processes, or two threads
/// of one) never write into each other's temporary. Works for names that are not UTF-8.
pub fn temp_path(path: &Path, suffix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_else(|| OsStr::new("out")));
    name.push(format!(".{}.{n}.tmp{suffix}", std::process::id()));
    path.with_file_name(name)
}

/// Whether `name` is one of [`temp_path`]'s temporaries.
fn is_temp_name(name: &OsStr) -> bool {
    let bytes = name.as_encoded_bytes();
    bytes.starts_with(b".") && (bytes.ends_with(b".tmp") || bytes.ends_with(b".tmp.png"))
}

/// Flushes the directory holding `path`, so a rename into it is on disk.
pub fn sync_parent(path: &Path) -> Result<(), TrainError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io_err(parent))
}

/// Removes the temporaries a killed run left in the run directory `dir` (its own files and
/// `checkpoints/`, not the report folders `temper eval` and `temper monitor` write into it).
/// Only call it with `dir`'s lock held: then no live writer owns any of them.
pub fn remove_stale_temps(dir: &Path) {
    let mut stack = vec![(dir.to_path_buf(), false)];
    while let Some((dir, descend)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && (descend || entry.file_name() == CHECKPOINT_DIR) {
                stack.push((entry.path(), true));
            } else if kind.is_file() && is_temp_name(&entry.file_name()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The largest weights file temper reads: `MAX_PARAMETERS` values of 8 bytes (f64) plus room
/// for the burnpack metadata.
pub const MAX_WEIGHTS_BYTES: u64 = temper_model::limits::MAX_PARAMETERS as u64 * 8 + (64 << 20);

/// Reads a weights file (`.bpk`) whole into memory and parses it.
///
/// Not `ModuleRecord::load`: that maps each tensor to a lazy window of the file, read only when
/// the tensor is first used — by then a resume set may have been removed (an older set is
/// deleted once a newer one is current) or `best.bpk` replaced by a later epoch's, and the
/// read fails or, worse, returns the other file's bytes.
pub fn load_weights(path: &Path) -> Result<ModuleRecord, String> {
    ModuleRecord::from_bytes(read_pack(path)?).map_err(|e| e.to_string())
}

/// The whole of a burnpack file (weights, optimizer or schedule record), its length checked
/// against `MAX_WEIGHTS_BYTES` before the read; see `load_weights` for why records are
/// never loaded lazily from their file.
pub fn read_pack(path: &Path) -> Result<Bytes, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_WEIGHTS_BYTES {
        return Err(format!(
            "{len} bytes is more than the limit of {MAX_WEIGHTS_BYTES} for a record file"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    Ok(Bytes::from_bytes_vec(bytes))
}

/// Why [`read_text_capped`] returned no text; each caller words it for its own file.
#[derive(Debug)]
pub(crate) enum CappedRead {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// The path is a folder.
    Folder,
    /// The metadata gives this many bytes, more than the cap.
    TooBig(u64),
    /// The metadata was within the cap, but more bytes came (a growing file, or a device such
    /// as `/dev/zero` whose metadata says nothing).
    Grew,
    /// The bytes are not UTF-8.
    NotUtf8,
}

/// The text of `path`, refused from its metadata when over `max` bytes and read through a cap
/// of `max + 1` bytes in case the metadata was wrong: nothing over the cap is ever allocated.
pub(crate) fn read_text_capped(path: &Path, max: u64) -> Result<String, CappedRead> {
    let file = std::fs::File::open(path).map_err(CappedRead::Io)?;
    let meta = file.metadata().map_err(CappedRead::Io)?;
    if meta.is_dir() {
        return Err(CappedRead::Folder);
    }
    if meta.len() > max {
        return Err(CappedRead::TooBig(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(CappedRead::Io)?;
    if bytes.len() as u64 > max {
        return Err(CappedRead::Grew);
    }
    String::from_utf8(bytes).map_err(|_| CappedRead::NotUtf8)
}

/// The experiment a run directory saved in its `config.toml`, checked like a user's file: a
/// value tampered with after the run wrote it is refused with the file and the key.
pub fn load_run_config(dir: &Path) -> Result<Experiment, TrainError> {
    let config = dir.join(CONFIG_FILE);
    let exp = Experiment::load(&config)?;
    exp.validate()
        .map_err(|e| TrainError::Config(format!("{}: {e}", config.display())))?;
    Ok(exp)
}

#[cfg(test)]
thread_local! {
    /// Durable steps left before the simulated kill of a test (`None`: never).
    pub(crate) static CRASH_AFTER: std::cell::Cell<Option<usize>> =
        const { std::cell::Cell::new(None) };
}

/// A point between two durable steps of a write (after the temporary is complete, after the
/// rename). In tests, [`CRASH_AFTER`] panics here to leave the run directory exactly as a kill
/// at that moment would; elsewhere it does nothing.
pub(crate) fn crash_point() {
    #[cfg(test)]
    CRASH_AFTER.with(|left| match left.get() {
        Some(0) => {
            left.set(None);
            panic!("simulated kill");
        }
        Some(n) => left.set(Some(n - 1)),
        None => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_empty_dir_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let err = create_run_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.csv");
        write_atomic(&p, b"a").unwrap();
        write_atomic(&p, b"b").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn two_writes_of_one_file_never_share_a_temporary_and_odd_names_keep_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("latest");
        let (a, b) = (temp_path(&p, ""), temp_path(&p, ""));
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        let pid = std::process::id();
        assert!(name.starts_with(&format!(".latest.{pid}.")) && name.ends_with(".tmp"));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"m-\xff.csv"));
            write_atomic(&odd, b"x").unwrap();
            assert_eq!(std::fs::read(&odd).unwrap(), b"x");
            let tmp = temp_path(&odd, "");
            assert!(tmp.as_os_str().as_encoded_bytes().ends_with(b".tmp"));
            assert!(is_temp_name(tmp.file_name().unwrap()));
        }
    }

    #[test]
    fn next_run_dir_counts_up() {
        let dir = tempfile::tempdir().unwrap();
        assert!(next_run_dir(dir.path(), "run").unwrap().ends_with("run-1"));
        assert!(next_run_dir(dir.path(), "run").unwrap().ends_with("run-2"));
    }
}
