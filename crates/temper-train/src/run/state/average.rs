//! The run's leaner and averaged weights: `[prune]`'s masks after each step, and `[optim] swa`
//! — SWALR's rate, the average at each epoch's end, its BatchNorm statistics recomputed on the
//! training split.

use burn::store::ModuleRecord;
use temper_compress::module::PruneMasks;
use temper_optim::update_batch_norm;

use super::RunState;
use crate::classifier::ImageClassifier;
use crate::error::TrainError;
use crate::run::Progress;
use crate::run::batches::read_images;
use crate::run::checkpoint::SwaState;
use crate::run::setup::Setup;

impl<M: ImageClassifier> RunState<'_, M> {
    /// Restores a resume set's SWA average and pruning masks, or, in a new run, prunes the
    /// initial weights when the schedule starts at step 0.
    pub(super) fn start_averages(
        &mut self,
        setup: &Setup<'_>,
        swa: Option<(ModuleRecord, SwaState)>,
        masks: Option<ModuleRecord>,
        progress: &mut dyn Progress,
    ) -> Result<(), TrainError> {
        let resumed = self.first_epoch > 1;
        if let Some(mut pruner) = self.pruner.take() {
            match masks {
                Some(record) => {
                    let stored = self.fresh(setup, record, "the pruning masks")?;
                    let masks =
                        PruneMasks::from_module(&stored).map_err(|e| TrainError::Checkpoint {
                            path: setup.run_dir.join(crate::run::checkpoint::RESUME_DIR),
                            message: e.to_string(),
                        })?;
                    pruner.restore(masks);
                }
                None if !resumed => {
                    let model = pruner.after_step(self.take_model(), 0, progress);
                    self.model = Some(model);
                }
                None => {}
            }
            self.pruner = Some(pruner);
        }
        if let Some((record, state)) = swa.filter(|_| self.swa.is_some()) {
            let model = self.fresh(setup, record, "the SWA average")?;
            if let Some(average) = self.swa.as_mut() {
                average.restore(model, state.count);
            }
            self.swa_lr0 = Some(state.lr0);
        }
        Ok(())
    }

    /// The rate of the next step of `epoch`: the schedule's, or SWALR's from `start_epoch` on
    /// (annealing from the schedule's rate at SWA's first step). The schedule steps either
    /// way, so its record stays that of the plain run.
    pub(super) fn next_lr(&mut self, epoch: usize) -> f64 {
        let scheduled = self.schedule.next_lr();
        let Some(swa) = self.swa.as_ref().filter(|s| s.averages(epoch)) else {
            return scheduled;
        };
        let settings = swa.settings();
        let lr0 = *self.swa_lr0.get_or_insert(scheduled);
        let lr = settings.lr_at(epoch - settings.start_epoch, lr0);
        self.swa_lr = Some(lr);
        lr
    }

    /// After the step that made `steps` steps in all: the pruning schedule's masks.
    pub(super) fn prune(&mut self, model: M, steps: usize, progress: &mut dyn Progress) -> M {
        match self.pruner.as_mut() {
            Some(pruner) => pruner.after_step(model, steps, progress),
            None => model,
        }
    }

    /// At the end of an averaged epoch: the weights join the SWA average, whose BatchNorm
    /// statistics are then recomputed (PyTorch's `update_bn`) on the masked average.
    pub(super) fn average_epoch(
        &mut self,
        setup: &Setup<'_>,
        epoch: usize,
    ) -> Result<(), TrainError> {
        let Some(swa) = self.swa.as_mut().filter(|s| s.averages(epoch)) else {
            return Ok(());
        };
        let model = self.model.as_ref().expect("the model is in its slot");
        swa.update(model)?;
        let average = swa.average().cloned().expect("an update makes the average");
        let average = match &self.pruner {
            Some(pruner) => pruner.apply(average),
            None => average,
        };
        let average = recompute_batch_norm(setup, average);
        let swa = self.swa.as_mut().expect("checked above");
        let count = swa.count();
        swa.restore(average, count);
        Ok(())
    }

    /// SWA's scalars for the resume set, once the average has started.
    pub(super) fn swa_state(&self) -> Option<SwaState> {
        let swa = self.swa.as_ref().filter(|s| s.count() > 0)?;
        Some(SwaState {
            count: swa.count(),
            lr0: self.swa_lr0?,
        })
    }

    /// The pruning masks as a model-shaped record for the resume set, once there are masks.
    pub(super) fn mask_record(&self) -> Option<M> {
        let masks = self.pruner.as_ref()?.masks()?;
        Some(masks.as_module(self.model().valid()))
    }
}

/// `average`'s BatchNorm statistics recomputed on the training split, unaugmented, in
/// batches of the run's size (PyTorch's `update_bn` over the training loader); unchanged
/// for a model without BatchNorm. Unreadable images are left out (they were noted when the
/// epoch read them).
fn recompute_batch_norm<M: ImageClassifier>(setup: &Setup<'_>, average: M) -> M {
    let chunks: Vec<&[usize]> = setup
        .split
        .train
        .chunks(setup.exp.train.batch_size)
        .collect();
    update_batch_norm(average, chunks.len(), |model, i| {
        let read = read_images(setup.pool(), chunks[i]);
        if !read.images.is_empty() {
            let batch = setup
                .batcher
                .batch_pixels(&read.images, &read.labels, &setup.train_device);
            let _ = model.logits(batch.images);
        }
    })
}
