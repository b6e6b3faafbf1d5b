//! `temper inspect RUN_DIR`: a run's efficiency figures (see `efficiency.rs`), and its
//! parent's — the run it was fine-tuned or pruned from, or the teacher it was distilled from —
//! measured the same way on this machine, so that the two columns compare. Runs that prune or
//! distil get the same table in their `report.md`.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use temper_compress::efficiency::Efficiency;

use crate::config::device::DeviceChoice;
use crate::error::{TrainError, io_err};
use crate::run::run_dir::write_atomic;
use crate::run::{Progress, open_data};
use crate::score::efficiency::measure;
use crate::score::html::{run_title, write_report_html};
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
        self.model.to_markdown(
            "this run",
            parent.as_ref().map(|(name, e)| (name.as_str(), *e)),
        )
    }
}

/// Measures `run_dir`'s tested weights on the CPU (flex), and its parent's when it has one.
/// The data is opened for its image shape and classes.
pub fn inspect_run(run_dir: &Path, progress: &mut dyn Progress) -> Result<Inspection, TrainError> {
    let saved = SavedRun::open(run_dir, Some(DeviceChoice::Flex))?;
    progress.message(&format!("loading data: {}", saved.exp.data.source));
    let data = open_data(&saved.exp.data, progress)?;
    let train = data.train();
    inspect_saved(saved, (train.image_shape(), train.num_classes()), progress)
}

/// Appends the efficiency table of the run just finished in `run_dir` (images of `shape`,
/// `classes` classes) to its `report.md`, when it has one.
pub(crate) fn append_to_report(
    run_dir: &Path,
    shape: ([usize; 3], usize),
    progress: &mut dyn Progress,
) -> Result<(), TrainError> {
    let path = run_dir.join("report.md");
    if !path.is_file() {
        return Ok(());
    }
    let saved = SavedRun::open(run_dir, Some(DeviceChoice::Flex))?;
    let inspection = inspect_saved(saved, shape, progress)?;
    let mut text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    text.push_str(&format!(
        "\n## Efficiency\n\nThe tested weights on the CPU (flex), beside the parent's where \
         there is one (`temper inspect` gives the same table):\n\n{}",
        inspection.to_markdown()
    ));
    write_atomic(&path, text.as_bytes())?;
    write_report_html(run_dir, &run_title(run_dir), &[])
}

/// The figures of `saved`'s tested weights and of its parent's, for images of `shape` and
/// `classes` classes.
fn inspect_saved(
    mut saved: SavedRun,
    (shape, classes): ([usize; 3], usize),
    progress: &mut dyn Progress,
) -> Result<Inspection, TrainError> {
    let which = saved.choose_weights(None)?;
    let model = saved.load_on(shape, classes, &Device::flex())?;
    progress.message("timing inference on the CPU (flex)");
    let figures = measure(&model, shape, &saved.weights)?;
    let exp = &saved.exp;
    let parent_dir = exp
        .finetune
        .as_ref()
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .or_else(|| exp.distill.as_ref().map(|d| d.teacher.clone()));
    let parent = match parent_dir {
        Some(dir) => {
            let mut parent = SavedRun::open(&dir, Some(DeviceChoice::Flex))?;
            parent.choose_weights(None)?;
            let parent_model = parent.load_on(shape, classes, &Device::flex())?;
            progress.message(&format!("timing the parent, {}", dir.display()));
            Some((dir, measure(&parent_model, shape, &parent.weights)?))
        }
        None => None,
    };
    Ok(Inspection {
        which,
        model: figures,
        parent,
    })
}
