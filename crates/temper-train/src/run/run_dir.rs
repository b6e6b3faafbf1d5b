//! The run directory and crash-safe writes into it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{TrainError, io_err};

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

/// Creates `dir` for a new run. An existing non-empty directory is refused so a finished run
/// is never overwritten.
pub fn create_run_dir(dir: &Path) -> Result<(), TrainError> {
    check_run_dir(dir)?;
    std::fs::create_dir_all(dir.join(CHECKPOINT_DIR)).map_err(io_err(dir))
}

/// Refuses an existing non-empty `dir` without creating anything, so a run can fail before
/// its slow set-up rather than after.
pub fn check_run_dir(dir: &Path) -> Result<(), TrainError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
        if entries.next().is_some() {
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
/// crash leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        // A full disk leaves no half-written temp file behind either.
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
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
    fn next_run_dir_counts_up() {
        let dir = tempfile::tempdir().unwrap();
        assert!(next_run_dir(dir.path(), "run").unwrap().ends_with("run-1"));
        assert!(next_run_dir(dir.path(), "run").unwrap().ends_with("run-2"));
    }
}
