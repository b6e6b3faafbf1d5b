//! `temper export RUN_DIR`: a run's weights as a PyTorch `state_dict` in safetensors, with
//! torchvision's names for the standard architectures (`temper_model::pretrained`), so that
//! `model.load_state_dict(safetensors.torch.load_file(FILE), strict=True)` takes it.
//!
//! The weights are the ones `temper eval` would score (the tested checkpoint unless `--weights`
//! says otherwise). The model is rebuilt from the run's `config.toml` for its data's image
//! shape and classes, so the data is loaded once, as for `eval`.

use std::path::{Path, PathBuf};

use temper_model::pretrained::to_safetensors;

use crate::config::device::DeviceChoice;
use crate::error::TrainError;
use crate::run::run_dir::write_atomic;
use crate::run::{Progress, load_data};
use crate::score::saved_run::{EvalWeights, SavedRun};

/// The file `temper export` writes by default: `RUN_DIR/model.safetensors`.
pub const EXPORT_FILE: &str = "model.safetensors";

/// What [`export_run`] wrote.
#[derive(Debug, Clone)]
pub struct ExportedRun {
    /// The safetensors file.
    pub file: PathBuf,
    /// Which weights, in words (as `temper eval` says it).
    pub which: String,
    /// Tensors written (BatchNorm counters included).
    pub tensors: usize,
    /// Bytes written.
    pub bytes: usize,
}

/// Writes `run_dir`'s `weights` (`None`: the ones the run tested) to `out` (default
/// `RUN_DIR/model.safetensors`) as a PyTorch `state_dict`.
///
/// # Errors
/// Besides a bad run directory or data: when `out` exists (nothing is overwritten) or its
/// folder does not.
pub fn export_run(
    run_dir: &Path,
    weights: Option<EvalWeights>,
    out: Option<&Path>,
    progress: &mut dyn Progress,
) -> Result<ExportedRun, TrainError> {
    let file = out.map_or_else(|| run_dir.join(EXPORT_FILE), Path::to_path_buf);
    if file.exists() {
        return Err(TrainError::Config(format!(
            "--out {}: exists; export writes a new file",
            file.display()
        )));
    }
    let mut saved = SavedRun::open(run_dir, Some(DeviceChoice::Flex))?;
    let which = saved.choose_weights(weights)?;
    progress.message(&format!("loading data: {}", saved.exp.data.source));
    let data = load_data(&saved.exp.data.data_source()?, progress)?;
    let loaded = saved.load_model((&data.train, &data.test), progress)?;
    let bytes = to_safetensors(&loaded.model, saved.exp.model.kind.name())?;
    let tensors = temper_model::pretrained::state_dict_keys(&loaded.model).len();
    write_atomic(&file, &bytes)?;
    Ok(ExportedRun {
        file,
        which,
        tensors,
        bytes: bytes.len(),
    })
}
