//! The `[finetune]` recipes that act while training: frozen BatchNorm, layer-wise learning-rate
//! decay and gradual unfreezing, over the network's stages (temper-optim's `stages`: the stem,
//! each block, the classifier head at [`ImageClassifier::head_path`]).

use temper_optim::{LayerDecay, Stages, Unfreeze, freeze, freeze_batch_norm};

use crate::classifier::ImageClassifier;
use crate::error::TrainError;
use crate::run::Progress;
use crate::run::finetune::{BatchNormMode, FinetuneSection};
use crate::run::step::Stepper;

/// What the recipes need again at each epoch: gradual unfreezing's schedule.
pub(crate) struct Recipes {
    stages: Stages,
    unfreeze: Unfreeze,
    /// Parameters `freeze` patterns hold fixed: never unfrozen.
    frozen: Vec<String>,
}

/// Applies `section`'s recipes to a freshly started `model` (its weights loaded): the
/// `freeze` patterns, BatchNorm frozen, the layer decay handed to `stepper`; returns the
/// unfreezing schedule when there is one.
pub(crate) fn start<M: ImageClassifier>(
    section: &FinetuneSection,
    mut model: M,
    stepper: &mut Stepper,
    progress: &mut dyn Progress,
) -> Result<(M, Option<Recipes>), TrainError> {
    let mut frozen = Vec::new();
    if !section.freeze.is_empty() {
        let (kept, paths) = freeze(model, &section.freeze, "finetune.freeze")?;
        model = kept;
        progress.message(&format!("frozen: {}", paths.join(", ")));
        frozen = paths;
    }
    if section.bn == BatchNormMode::Frozen {
        let (frozen_bn, layers) = freeze_batch_norm(model);
        model = frozen_bn;
        progress.message(&format!(
            "BatchNorm frozen: {layers} layers keep their statistics"
        ));
    }
    if section.layer_decay.is_none() && section.unfreeze.is_none() {
        return Ok((model, None));
    }
    let stages = Stages::of(&model).with_head(&model.head_path(), "finetune")?;
    if let Some(decay) = section.layer_decay {
        let decay = LayerDecay::new(&stages, decay, "finetune.layer_decay")?;
        let lowest = decay.factors().first().copied().unwrap_or(1.0);
        progress.message(&format!(
            "layer decay: {} stages, rate factors from {lowest:.3e} ({}) to 1 ({})",
            stages.len(),
            stages.names().first().unwrap_or(&""),
            stages.names().last().unwrap_or(&"")
        ));
        stepper.set_layer_decay(decay);
    }
    let Some(settings) = section.unfreeze else {
        return Ok((model, None));
    };
    let unfreeze = Unfreeze::new(settings.every, "finetune.unfreeze.every")?;
    Ok((
        model,
        Some(Recipes {
            stages,
            unfreeze,
            frozen,
        }),
    ))
}

impl Recipes {
    /// `model` with the stages gradual unfreezing trains at 1-based `epoch` trainable and the
    /// others frozen (patterns' parameters stay frozen).
    pub(crate) fn epoch_start<M: ImageClassifier>(
        &self,
        model: M,
        epoch: usize,
        progress: &mut dyn Progress,
    ) -> M {
        let first = self.unfreeze.trainable_from(epoch, self.stages.len());
        let names = self.stages.names();
        progress.message(&format!(
            "unfreezing: epoch {epoch} trains {} of {} stages (from {})",
            names.len() - first,
            names.len(),
            names.get(first).unwrap_or(&"")
        ));
        self.unfreeze
            .apply(model, &self.stages, epoch, &self.frozen)
    }
}
