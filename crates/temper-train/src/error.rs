use std::path::PathBuf;

use temper_data::DataError;
use temper_model::ModelError;
use temper_optim::OptimError;

/// Everything that can stop a run, each with a one-line message naming the file, key or flag.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The experiment file cannot be read or holds an invalid value.
    #[error("{0}")]
    Config(String),
    /// A data set cannot be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The `[model]` section does not fit the data.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// An optimizer, schedule, penalty or early-stopping setting is invalid.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// A compression setting (`[prune]`, `[distill]`, `optim.swa`, `temper quantize`).
    #[error(transparent)]
    Compress(#[from] temper_compress::CompressError),
    /// A report or one of its charts cannot be made (`report.html`, `temper compare`).
    #[error(transparent)]
    Report(#[from] temper_report::ReportError),
    /// The requested device cannot be used.
    #[error("device: {0}")]
    Device(String),
    /// A file of the run directory cannot be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Another temper process trains or resumes in the run directory (it holds `DIR/.lock`).
    #[error("run directory {} is in use by another temper process", dir.display())]
    InUse {
        /// The run directory.
        dir: PathBuf,
    },
    /// A chart cannot be drawn or written.
    #[error("{path}: plot: {message}")]
    Plot {
        /// The chart's file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A checkpoint cannot be written or read.
    #[error("{path}: checkpoint: {message}")]
    Checkpoint {
        /// The checkpoint's file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The loss became NaN or infinite; training cannot continue meaningfully.
    #[error("training diverged at epoch {epoch}, step {step}: loss is {loss}; lower optim.lr")]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// Steps done in that epoch when the loss was read.
        step: usize,
        /// The running mean loss read back.
        loss: f64,
    },
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrainError {
    let path = path.into();
    move |source| TrainError::Io { path, source }
}
