//! One writer per run directory: an advisory lock on `DIR/.lock`, held for a run's whole life.
//!
//! `temper train`, `temper train --resume` and a fine-tuning run writing into a directory take
//! the lock before they write anything there, and keep it until they return; a second process
//! asking for the same directory is refused at once ([`TrainError::InUse`]) instead of
//! interleaving its checkpoints with the first one's. The lock is `flock`-style (std's
//! `File::try_lock`): the kernel drops it when its holder exits, however it exits, so the
//! `.lock` file a killed run leaves behind never blocks the next one — it is kept, not removed,
//! because removing it would let two processes hold locks on two different files of one name.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{TrainError, io_err};

/// The lock file inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// The held lock of a run directory; dropping it releases the lock (the file stays).
#[derive(Debug)]
pub struct RunLock {
    /// Kept open: closing it is what releases the lock.
    _file: File,
}

impl RunLock {
    /// Locks the existing directory `dir`, creating `DIR/.lock` when missing.
    ///
    /// # Errors
    /// [`TrainError::InUse`] when another process (or another open of the file in this one)
    /// holds it; an I/O error naming the lock file when it cannot be opened.
    pub fn acquire(dir: &Path) -> Result<Self, TrainError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(in_use(dir)),
            Err(TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }
}

/// Whether another process holds `dir`'s lock right now (a probe: the lock is not kept).
pub fn is_locked(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(LOCK_FILE)) else {
        return false;
    };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

/// The refusal of a directory another process writes.
pub fn in_use(dir: &Path) -> TrainError {
    TrainError::InUse {
        dir: PathBuf::from(dir),
    }
}
