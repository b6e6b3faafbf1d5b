//! Channel pruning of a finished run (Li et al. 2017, "Pruning Filters for Efficient
//! ConvNets", <https://arxiv.org/abs/1608.08710>): `temper prune RUN_DIR --channels F`.
//!
//! The child is a fine-tuning run of the parent (`[finetune] from`, the parent's
//! normalization, its learning rate times `lr_factor`) whose `[model]` widths are what
//! removing the fraction `F` of each convolution's filters and each hidden layer's units —
//! those with the smallest L1 norms, temper-model's `Classifier::slim` — leaves, and whose
//! `[prune] kind = "channels"` says so. Its starting weights are the parent's, sliced: when a
//! run with that `[prune]` opens its parent, [`slim_parent`] replaces the parent's weights by
//! the smaller model's, so the rest of the run is an ordinary fine-tuning run, resumable like
//! any other; `config.toml` describes the smaller model, which `temper eval` and `temper
//! export` rebuild as they would any run.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use temper_compress::channels::filters_to_remove;
use temper_compress::settings::{PruneKind, PruneSettings};
use temper_model::{Classifier, SlimWidths};

use crate::config::experiment::Experiment;
use crate::config::model_section::ModelKind;
use crate::error::TrainError;
use crate::run::finetune::{FinetuneSection, Parent};
use crate::run::{Progress, RunSummary};
use crate::score::html::{run_title, write_child_report_html};
use crate::score::saved_run::SavedRun;

/// When `exp` prunes channels: replaces `parent`'s weights by those of its smaller model for
/// images of `shape` and `classes` classes, after checking that `exp`'s `[model]` has that
/// model's widths.
pub(crate) fn slim_parent(
    exp: &Experiment,
    parent: &mut Parent,
    (shape, classes): ([usize; 3], usize),
    progress: &mut dyn Progress,
) -> Result<(), TrainError> {
    let Some(prune) = exp.prune.as_ref().filter(|p| p.kind == PruneKind::Channels) else {
        return Ok(());
    };
    let (slim, widths) = slim_model(
        &parent.experiment,
        &parent.weights,
        (shape, classes),
        prune.sparsity,
    )?;
    let model = exp.model.resolved();
    let fits = model.hidden.as_ref() == Some(&widths.hidden)
        && (widths.channels.is_none() || model.channels == widths.channels);
    if !fits {
        return Err(TrainError::Config(format!(
            "prune: [model] has channels {:?} and hidden {:?}, but removing {} of {}'s channels \
             leaves channels {:?} and hidden {:?}; run `temper prune` to write the child's \
             experiment",
            model.channels,
            model.hidden,
            prune.sparsity,
            parent.dir.display(),
            widths.channels,
            widths.hidden
        )));
    }
    progress.message(&format!(
        "pruned {} of every layer's channels by L1 norm: channels {:?}, hidden {:?}, {} \
         parameters",
        prune.sparsity,
        widths.channels.as_deref().unwrap_or_default(),
        widths.hidden,
        slim.num_params()
    ));
    parent.weights = slim.into_record();
    Ok(())
}

/// The parent's model (its experiment `parent`, its `weights`) with the fraction `fraction`
/// of each layer's channels removed, and the widths that rebuild it.
fn slim_model(
    parent: &Experiment,
    weights: &ModuleRecord,
    (shape, classes): ([usize; 3], usize),
    fraction: f64,
) -> Result<(Classifier, SlimWidths), TrainError> {
    let model = parent
        .model
        .plan(shape, classes)?
        .init(&Device::flex())
        .try_load_record(weights.clone())
        .map_err(|e| TrainError::Config(format!("prune: the parent's weights: {e}")))?;
    let plan = model.channel_plan(fraction)?;
    Ok(model.slim(&plan)?)
}

/// `temper prune`: a new run in `out` that fine-tunes `parent_dir`'s model with `fraction`
/// of its channels removed, for `finetune_epochs` epochs (at least 1).
pub fn prune_run(
    parent_dir: &Path,
    fraction: f64,
    finetune_epochs: usize,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    let exp = child_experiment(parent_dir, fraction, finetune_epochs)?;
    let summary = crate::train(&exp, out, progress)?;
    // The child's page links back to its parent's, which gains a link to it.
    write_child_report_html(out, &run_title(out), parent_dir)?;
    Ok(summary)
}

/// The child's experiment: the parent's, fine-tuning from it for `finetune_epochs`, with the
/// smaller widths and the `[prune]` that gives them.
fn child_experiment(
    parent_dir: &Path,
    fraction: f64,
    finetune_epochs: usize,
) -> Result<Experiment, TrainError> {
    if finetune_epochs == 0 {
        return Err(TrainError::Config(
            "prune.finetune_epochs: must be at least 1 (the pruned model is tested after its \
             fine-tuning)"
                .into(),
        ));
    }
    let prune = PruneSettings {
        kind: PruneKind::Channels,
        sparsity: fraction,
        finetune_epochs,
        ..PruneSettings::default()
    };
    prune.validate()?;
    let section = FinetuneSection {
        from: parent_dir.to_path_buf(),
        ..FinetuneSection::default()
    };
    let mut exp = SavedRun::open(parent_dir, None)?.exp;
    // The widths slicing leaves: each layer keeps `of − filters_to_remove(of, F)`, the rule
    // `Classifier::channel_plan` applies. Only the run, once it has the data's shape and the
    // parent's weights, slices them (`slim_parent`, which checks these widths); other kinds are
    // left as they are for it to refuse.
    if matches!(exp.model.kind, ModelKind::Mlp | ModelKind::Cnn) {
        let kept = |widths: &[usize]| -> Vec<usize> {
            widths
                .iter()
                .map(|&of| of - filters_to_remove(of, fraction))
                .collect()
        };
        let model = exp.model.resolved();
        if exp.model.kind == ModelKind::Cnn {
            exp.model.channels = model.channels.as_deref().map(kept);
        }
        exp.model.hidden = model.hidden.as_deref().map(kept);
    }
    exp.model.pretrained = None;
    exp.prune = Some(prune);
    exp.finetune = Some(section);
    exp.train.epochs = finetune_epochs;
    // What belongs to the parent's own training: a rate schedule's averaging and teacher.
    exp.optim.swa = None;
    exp.distill = None;
    exp.tune = None;
    exp.lr_find = None;
    exp.validate()?;
    Ok(exp)
}
