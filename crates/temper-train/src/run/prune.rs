//! `[prune] kind = "unstructured"` in a run: the schedule and the current masks.
//!
//! After every optimizer step the trainer hands the model to [`Pruner::after_step`] with the
//! number of steps done: on a step of the schedule the masks are recomputed from the weights
//! (temper-compress's `PruneMasks::compute`, per layer or global), and the current masks are
//! multiplied into the weights, so pruned weights are zero before the next forward pass, in
//! every checkpoint and in the validated model. A new run also calls it with 0 steps done
//! before training, which is where `begin_step = 0` prunes (TF-MOT's `begin_step = 0`).
//! The masks are saved with each resume set as a model-shaped record (`prune_masks.bpk`), so
//! a resumed run keeps exactly the masks it had.

use burn::module::Module;
use temper_compress::module::PruneMasks;
use temper_compress::schedule::PruningSchedule;
use temper_compress::settings::{PruneKind, PruneScope, PruneSettings};

use crate::run::Progress;

/// The schedule, the scope and the masks of the last pruning step (none before the first).
#[derive(Debug, Clone)]
pub(crate) struct Pruner {
    schedule: PruningSchedule,
    scope: PruneScope,
    masks: Option<PruneMasks>,
}

impl Pruner {
    /// The pruner of `[prune]` when it prunes weights during training (`unstructured`); the
    /// `channels` kind acts on a finished run instead (`temper prune`).
    pub fn of(settings: Option<&PruneSettings>) -> Option<Self> {
        let settings = settings.filter(|s| s.kind == PruneKind::Unstructured)?;
        Some(Self {
            schedule: settings.schedule(),
            scope: settings.scope,
            masks: None,
        })
    }

    /// After `steps` optimizer steps: recomputes the masks when the schedule prunes at this
    /// step (saying so through `progress` when the sparsity changes), then applies them.
    pub fn after_step<M: Module>(
        &mut self,
        model: M,
        steps: usize,
        progress: &mut dyn Progress,
    ) -> M {
        if self.schedule.prunes_at(steps) {
            let sparsity = self.schedule.sparsity_at(steps);
            let before = self.masks.as_ref().map_or(0.0, PruneMasks::sparsity);
            let masks = PruneMasks::compute(&model, sparsity, self.scope);
            if (masks.sparsity() - before).abs() > 1e-3 {
                progress.message(&format!(
                    "pruned after step {steps}: {} of {} weights are zero ({:.1}%)",
                    masks.pruned(),
                    masks.covered(),
                    100.0 * masks.sparsity()
                ));
            }
            self.masks = Some(masks);
        }
        self.apply(model)
    }

    /// `model` with the current masks applied (unchanged before the first pruning step).
    pub fn apply<M: Module>(&self, model: M) -> M {
        match &self.masks {
            Some(masks) => masks.apply(model),
            None => model,
        }
    }

    /// The current masks, for the resume set.
    pub fn masks(&self) -> Option<&PruneMasks> {
        self.masks.as_ref()
    }

    /// Continues with a resume set's masks.
    pub fn restore(&mut self, masks: PruneMasks) {
        self.masks = Some(masks);
    }
}
