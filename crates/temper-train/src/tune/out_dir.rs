//! One study per output folder.
//!
//! Trial run directories are `OUT/trial-NNNN`, numbered by the study, so a second study in the
//! same `--out` would count from 0 again into the first one's folders. The rule, as a PyTorch
//! Lightning or Optuna user expects of a run folder: running `temper tune` again into the same
//! `--out` with the same study (its name and storage, recorded in `OUT/study.toml` once the
//! search has opened it) resumes that study; any other study is refused before anything is
//! written, with a one-line error asking for a new `--out`. A study in `memory` cannot be
//! resumed, so it needs an empty (or new) `--out` every time. An older `--out` without the
//! record is adopted only when it is the default SQLite study it holds (`OUT/study.sqlite3`).

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{TrainError, io_err};
use crate::run::run_dir::write_atomic;
use crate::tune::TuneSection;
use crate::tune::secret::safe_storage;

/// The record of the study an output folder holds.
pub(crate) const STUDY_FILE: &str = "study.toml";

/// The storage of a study without `[tune] storage`: SQLite in the output folder.
const DEFAULT_STORAGE: &str = "sqlite: study.sqlite3 in this folder";

/// Largest `study.toml` read back: it holds two short strings.
const MAX_RECORD_BYTES: u64 = 64 << 10;

/// What `OUT/study.toml` says.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudyRecord {
    /// The study's name in its storage.
    study: String,
    /// The storage, password redacted.
    storage: String,
}

impl StudyRecord {
    fn of(section: &TuneSection) -> Self {
        Self {
            study: section.study.clone(),
            storage: section
                .storage
                .as_deref()
                .map_or(DEFAULT_STORAGE.to_string(), safe_storage),
        }
    }
}

/// Refuses `out` when it holds another study's trials. Call with `out` created, before the
/// study is opened.
pub(crate) fn check(out: &Path, section: &TuneSection) -> Result<(), TrainError> {
    let record = StudyRecord::of(section);
    let memory = section.storage.as_deref().map(str::trim) == Some("memory");
    let path = out.join(STUDY_FILE);
    let refuse = |why: String| {
        TrainError::Config(format!(
            "--out {}: {why}; choose a new --out for a new study",
            out.display()
        ))
    };
    if path.exists() {
        let held = read_record(&path)?;
        if held != record {
            return Err(refuse(format!(
                "holds study {:?} in {}, not {:?} in {}",
                held.study, held.storage, record.study, record.storage
            )));
        }
        if memory {
            return Err(refuse(
                "holds a study in memory, which cannot be resumed".into(),
            ));
        }
        return Ok(());
    }
    let adopt = section.storage.is_none() && out.join("study.sqlite3").exists();
    if !adopt && holds_trials(out)? {
        return Err(refuse(format!(
            "holds trial folders but no {STUDY_FILE} naming their study"
        )));
    }
    Ok(())
}

/// Records the study of `section` in `out` once it is open (a first search into `out`; a
/// resumed one finds its record already there).
pub(crate) fn record(out: &Path, section: &TuneSection) -> Result<(), TrainError> {
    let path = out.join(STUDY_FILE);
    if path.exists() {
        return Ok(());
    }
    let text = toml::to_string(&StudyRecord::of(section)).expect("two strings serialize");
    write_atomic(&path, text.as_bytes())
}

fn read_record(path: &Path) -> Result<StudyRecord, TrainError> {
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(io_err(path))?
        .take(MAX_RECORD_BYTES)
        .read_to_string(&mut text)
        .map_err(io_err(path))?;
    toml::from_str(&text).map_err(|e| {
        TrainError::Config(format!(
            "{}: not a study record ({}); choose a new --out",
            path.display(),
            e.message().trim().replace('\n', " ")
        ))
    })
}

fn holds_trials(out: &Path) -> Result<bool, TrainError> {
    for entry in std::fs::read_dir(out).map_err(io_err(out))? {
        let entry = entry.map_err(io_err(out))?;
        if entry.file_name().to_string_lossy().starts_with("trial-") {
            return Ok(true);
        }
    }
    Ok(false)
}
