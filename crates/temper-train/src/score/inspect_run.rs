//! `temper inspect RUN_DIR`: a run's efficiency figures (see `efficiency.rs`), and its
//! parent's — the run it was fine-tuned or pruned from, or the teacher it was distilled from —
//! measured the same way on this machine, so that the two columns compare.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use temper_compress::efficiency::Efficiency;

use crate::config::device::DeviceChoice;
use crate::error::TrainError;
use crate::run::Progress;
use crate::score::efficiency::measure;
use crate::score::eval_run::Scoring;
use crate::score::saved_run::SavedRun;

/// A run's figures and its parent's.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The weights measured, in words.
    pub which: String,
    /// The run's tested weights.
    pub model: Efficiency,
    /// The parent run and its figures, when the run has one.
    pub parent: Option<(PathBuf, Efficiency)>,
}

impl Inspection {
    /// The figures as a markdown table (with the parent's column and the ratios).
    pub fn to_markdown(&self) -> String {
        let parent = self
            .parent
            .as_ref()
            .map(|(dir, e)| (dir.display().to_string(), e));
        self.model
            .to_markdown("this run", parent.as_ref().map(|(name, e)| (name.as_str(), *e)))
    }
}

/// Measures `run_dir`'s tested weights on the CPU (flex), and its parent's when it has one.
pub fn inspect_run(run_dir: &Path, progress: &mut dyn Progress) -> Result<Inspection, TrainError> {
    let scoring = Scoring::open(run_dir, None, Some(DeviceChoice::Flex), None, None, progress)?;
    let test = scoring.loaded.test();
    let (shape, classes) = (test.image_shape(), test.num_classes());
    progress.message("timing inference on the CPU (flex)");
    let model = measure(&scoring.model.model, shape, &scoring.saved.weights)?;
    let exp = &scoring.saved.exp;
    let parent_dir = exp
        .finetune
        .as_ref()
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .or_else(|| exp.distill.as_ref().map(|d| d.teacher.clone()));
    let parent = match parent_dir {
        Some(dir) => {
            let mut saved = SavedRun::open(&dir, Some(DeviceChoice::Flex))?;
            saved.choose_weights(None)?;
            let parent_model = saved.load_on(shape, classes, &Device::flex())?;
            progress.message(&format!("timing the parent, {}", dir.display()));
            Some((dir, measure(&parent_model, shape, &saved.weights)?))
        }
        None => None,
    };
    Ok(Inspection {
        which: scoring.which,
        model,
        parent,
    })
}
