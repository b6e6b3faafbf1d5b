//! `temper eval RUN_DIR`: score a saved run's weights again, on its own data or new data. By
//! default those are the weights the run tested (see `saved_run.rs`), so an eval on the run's
//! own data reproduces its test scores; the report says which checkpoint it scored.

use std::path::{Path, PathBuf};

use temper_data::ImageBatcher;

use crate::config::device::DeviceChoice;
use crate::config::loading::LoadedData;
use crate::error::TrainError;
use crate::run::run_dir::check_run_dir;
use crate::run::{Progress, open_data};
use crate::score::groups::RunGroups;
use crate::score::html::write_child_report_html;
use crate::score::report::TestReport;
use crate::score::saved_run::{EvalWeights, LoadedModel, SavedRun};
use crate::score::split_scores::evaluate_noting;

/// What `eval_run` scored.
#[derive(Debug, Clone)]
pub struct EvalRun {
    /// The report of those weights on the test split of the data scored.
    pub report: TestReport,
    /// The checkpoint the weights came from.
    pub weights: PathBuf,
    /// Which weights those are and why, in words (e.g. "`checkpoints/last.bpk` (the last
    /// epoch (3) weights the run tested)"); also in `report.md`.
    pub which: String,
    /// Test images scored.
    pub images: usize,
}

/// A saved run opened for scoring: its checkpoint chosen, its data open (a test split
/// required) and its model loaded. `eval`, `quantize` and `inspect` start here.
pub(crate) struct Scoring {
    pub saved: SavedRun,
    /// Which weights, in words (see [`SavedRun::choose_weights`]).
    pub which: String,
    pub loaded: LoadedData,
    pub model: LoadedModel,
}

impl Scoring {
    /// Opens `run_dir`'s `weights` (the tested ones by default) on `data` (default: the run's
    /// own source); `out`, where the caller will write, must be new or empty.
    pub fn open(
        run_dir: &Path,
        data: Option<&str>,
        device: Option<DeviceChoice>,
        weights: Option<EvalWeights>,
        out: Option<&Path>,
        progress: &mut dyn Progress,
    ) -> Result<Self, TrainError> {
        let mut saved = SavedRun::open(run_dir, device)?;
        let which = saved.choose_weights(weights)?;
        // Like `train --out`: a report never lands among another run's files.
        if let Some(out) = out {
            check_run_dir(out)?;
        }
        if let Some(source) = data {
            saved.exp.data.source = source.to_string();
        }
        progress.message(&format!("loading data: {}", saved.exp.data.source));
        let loaded = open_data(&saved.exp.data, progress)?;
        if loaded.test().is_empty() {
            return Err(TrainError::Config(format!(
                "{}: the data `{}` has no test split; nothing to score (choose other data \
                 with --data)",
                run_dir.display(),
                saved.exp.data.source
            )));
        }
        progress.message(&format!("scoring {which}"));
        let model = saved.load_model((loaded.train(), loaded.test()), progress)?;
        Ok(Self {
            saved,
            which,
            loaded,
            model,
        })
    }
}

/// [`eval_run_weights`] with the weights the run tested.
pub fn eval_run(
    run_dir: &Path,
    data: Option<&str>,
    device: Option<DeviceChoice>,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<EvalRun, TrainError> {
    eval_run_weights(run_dir, data, device, None, out, progress)
}

/// Scores `run_dir`'s `weights` checkpoint (`None`: the one the run tested, see
/// [`EvalWeights`]) on the test split of `data` (default: the run's own source), normalized as
/// the run was, and writes `report.md`, `report.json`, `confusion.png` and `confusion.csv` into
/// `out`.
///
/// # Errors
/// Besides a bad run directory or data: when the checkpoint asked for is missing, or the data
/// has no test split (nothing to score).
pub fn eval_run_weights(
    run_dir: &Path,
    data: Option<&str>,
    device: Option<DeviceChoice>,
    weights: Option<EvalWeights>,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<EvalRun, TrainError> {
    let Scoring {
        saved,
        which,
        loaded,
        model:
            LoadedModel {
                model,
                device: selected,
                normalization,
            },
    } = Scoring::open(run_dir, data, device, weights, Some(out), progress)?;
    let exp = &saved.exp;
    let test = loaded.test();
    let weights = saved.weights.clone();
    let groups = RunGroups::read(&exp.data, loaded.train().len(), test.len(), false)?;
    let batcher = ImageBatcher::new(normalization, test.image_shape());
    let all: Vec<usize> = (0..test.len()).collect();
    let mut predicted = Vec::new();
    let (scores, confusion) = evaluate_noting(
        &model,
        test,
        &all,
        &batcher,
        &selected.device,
        &mut |_| {},
        groups.as_ref().map(|_| &mut predicted),
    );
    let mut report = TestReport::new(scores, &confusion, &test.class_names());
    if let Some(groups) = &groups {
        report.groups = Some(groups.report(test, &predicted)?);
    }
    std::fs::create_dir_all(out).map_err(crate::error::io_err(out))?;
    report.write(
        out,
        "Evaluation report",
        &format!(
            "Weights {which} of `{}` on the {} test images of `{}`; device: {}.",
            run_dir.display(),
            test.len(),
            exp.data.source,
            selected.reason
        ),
    )?;
    write_child_report_html(out, "Evaluation report", run_dir)?;
    Ok(EvalRun {
        report,
        weights,
        which,
        images: test.len(),
    })
}
