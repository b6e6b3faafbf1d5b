//! How `[prune]`, `[distill]` and `[optim] swa` combine with the rest of an experiment.
//!
//! Each setting's own range checks are temper-compress's; what is checked here is what the
//! trainer can run together. Distillation is computed in the single-device, unweighted step
//! (`Stepper::step`/`step_soft`), so data parallelism and the loss-weighting mitigations are
//! refused with it rather than silently training without the teacher. Channel pruning
//! shrinks a finished run (`temper prune`), which writes the `[prune]` it applied into the
//! child's `[finetune]` run; a run that trains from scratch prunes weights, not channels.

use temper_compress::settings::PruneKind;

use crate::config::experiment::Experiment;
use crate::config::fairness_section::Mitigation;
use crate::error::TrainError;

/// The compression sections' checks (see the module doc); an error names the key.
pub(crate) fn check(exp: &Experiment) -> Result<(), TrainError> {
    if let Some(prune) = &exp.prune {
        prune.validate()?;
        if prune.kind == PruneKind::Channels && exp.finetune.is_none() {
            return Err(TrainError::Config(
                "prune.kind: \"channels\" removes filters from a finished run: run `temper \
                 prune RUN_DIR --channels FRACTION` (or use kind = \"unstructured\")"
                    .into(),
            ));
        }
    }
    if let Some(swa) = &exp.optim.swa {
        swa.validate(exp.train.epochs)?;
    }
    if let Some(distill) = &exp.distill {
        distill.validate()?;
        if !exp.train.devices.is_empty() {
            return Err(TrainError::Config(
                "distill: runs on one device; remove train.devices".into(),
            ));
        }
        let weighs = exp
            .fairness
            .as_ref()
            .is_some_and(|f| matches!(f.mitigation, Mitigation::Reweigh | Mitigation::GroupDro));
        if weighs {
            return Err(TrainError::Config(
                "distill: does not combine with fairness.mitigation = \"reweigh\" or \
                 \"group-dro\" (\"balanced\" does)"
                    .into(),
            ));
        }
    }
    Ok(())
}
