//! An epoch's steps: the shuffled order, each batch from the loader through the optimizer,
//! the per-step loss rows and the divergence check.

use burn::tensor::Tensor;
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use temper_data::ImageBatch;

use super::RunState;
use crate::classifier::ImageClassifier;
use crate::error::TrainError;
use crate::run::Progress;
use crate::run::batches::Upload;
use crate::run::setup::Setup;
use crate::run::steps::{StepRow, row_every};
use crate::score::split_scores::StepTotals;

/// How often (in steps) the running loss is read back from the device for display (and
/// checked for NaN).
const READ_EVERY: usize = 10;

/// The per-epoch random stream: the shuffle, then the seed of Burn's device RNG (dropout,
/// device-side augmentation noise). Deriving both from `(seed, epoch)` alone is what lets a
/// resumed run draw what an uninterrupted one would.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
}

/// Where a step falls: its epoch (1-based) and the optimizer steps done in all once it is.
struct StepAt {
    epoch: usize,
    done: usize,
}

impl<M: ImageClassifier> RunState<'_, M> {
    /// One pass over the shuffled training split. Returns the epoch's totals, or `None` when
    /// the loss stopped being finite after the first epoch (the run then keeps the epochs
    /// before); in the first epoch that is an error.
    pub fn train_epoch(
        &mut self,
        setup: &Setup<'_>,
        upload: &mut Upload<'_>,
        epoch: usize,
        progress: &mut dyn Progress,
    ) -> Result<Option<StepTotals>, TrainError> {
        let steps = setup.steps_per_epoch;
        if let Some(recipes) = self.recipes.take() {
            let model = recipes.epoch_start(self.take_model(), epoch, progress);
            self.model = Some(model);
            self.recipes = Some(recipes);
        }
        progress.epoch_start(epoch, setup.exp.train.epochs, steps);
        let order = self.shuffle(setup, epoch);
        let chunks: Vec<&[usize]> = order.chunks(setup.exp.train.batch_size).collect();
        let mut totals = StepTotals::new(setup.pool().num_classes(), &setup.train_device);
        let every = row_every(READ_EVERY, setup.exp.train.epochs * steps);
        self.epoch_steps.clear();
        // Images seen and their loss sum at the last row, and in all.
        let (mut row_seen, mut row_sum, mut seen) = (0usize, 0.0f64, 0usize);
        let mut diverged = false;
        let stage = setup.host_stage(upload.device_ops);
        setup
            .loader
            .for_each_batch(&stage, &chunks, epoch, |step, host| {
                if diverged {
                    return Ok(());
                }
                setup.bad.record(&host.bad, progress)?;
                let images = host.labels.len();
                // A batch none of whose images could be read makes no step.
                let lr = match images {
                    0 => self.next_lr(epoch),
                    _ => {
                        let indices = host.indices.clone();
                        let batch = upload.upload(host, epoch, progress)?;
                        let done = (epoch - 1) * steps + step + 1;
                        let at = StepAt { epoch, done };
                        self.step(setup, batch, &indices, at, &mut totals, progress)?
                    }
                };
                seen += images;
                let done = step + 1;
                let shown = (done % READ_EVERY == 0 || done == steps).then(|| totals.mean_loss());
                if let Some(loss) = shown.filter(|l| !l.is_finite()) {
                    self.diverge(epoch, done, loss, progress)?;
                    diverged = true;
                    return Ok(());
                }
                if let Some(mean) = shown.filter(|_| done % every == 0 || done == steps) {
                    let sum = mean * seen as f64;
                    self.epoch_steps.push(StepRow {
                        step: (epoch - 1) * steps + done,
                        epoch,
                        loss: (sum - row_sum) / (seen - row_seen).max(1) as f64,
                        lr,
                        momentum: self.schedule.momentum(),
                    });
                    (row_seen, row_sum) = (seen, sum);
                }
                progress.step(done, shown);
                Ok(())
            })?;
        Ok((!diverged).then_some(totals))
    }

    /// The epoch's order of the training split, and the device RNGs re-seeded, from
    /// `(seed, epoch)`.
    fn shuffle(&self, setup: &Setup<'_>, epoch: usize) -> Vec<usize> {
        let mut rng = epoch_rng(setup.exp.train.seed, epoch);
        let mut order = setup.split.train.clone();
        order.shuffle(&mut rng);
        setup.train_device.seed(rng.next_u64());
        for device in setup.parallel.iter().skip(1) {
            device.seed(rng.next_u64());
        }
        match &setup.mitigator {
            Some(m) => m.order(&setup.split.train, order, setup.exp.train.seed, epoch),
            None => order,
        }
    }

    /// One optimizer step on `batch` (and its soft targets) of the pool images `indices`, its
    /// statistics added to `totals`; returns the step's learning rate (the hypergradient's
    /// rate after it, when adapted).
    fn step(
        &mut self,
        setup: &Setup<'_>,
        (batch, soft): (ImageBatch, Option<Tensor<2>>),
        indices: &[usize],
        at: StepAt,
        totals: &mut StepTotals,
        progress: &mut dyn Progress,
    ) -> Result<f64, TrainError> {
        let lr = self.next_lr(at.epoch);
        if let Some(momentum) = self.schedule.momentum() {
            self.stepper.set_momentum(momentum);
        }
        let model = self.take_model();
        let (model, outs) = if setup.parallel.len() > 1 {
            self.stepper
                .step_parallel(model, batch, soft, lr, &setup.parallel)
        } else if let Some(mitigator) = setup.mitigator.as_ref().filter(|m| m.weighs()) {
            let mut weights = Ok(Vec::new());
            let dro = self.dro.as_mut();
            let (model, out) = self
                .stepper
                .step_weighted(model, batch, soft, lr, |losses| {
                    weights = mitigator.weights(indices, losses, dro);
                    weights
                        .as_ref()
                        .map_or_else(|_| vec![0.0; losses.len()], Clone::clone)
                });
            weights?;
            (model, vec![out])
        } else {
            let (model, out) = match soft {
                Some(soft) => self.stepper.step_soft(model, batch, soft, lr),
                None => self.stepper.step(model, batch, lr),
            };
            (model, vec![out])
        };
        let model = self.prune(model, at.done, progress);
        if let Some(ema) = self.ema.as_mut() {
            ema.update(&model)?;
        }
        self.model = Some(model);
        for out in outs {
            let n = out.targets.dims()[0];
            totals.add(out.loss, out.output, out.targets, n);
        }
        Ok(self.stepper.hypergradient_lr().unwrap_or(lr))
    }

    /// The loss became `loss` at step `done`: an error in the first epoch, else the run stops
    /// and keeps the epochs before.
    fn diverge(
        &mut self,
        epoch: usize,
        done: usize,
        loss: f64,
        progress: &mut dyn Progress,
    ) -> Result<(), TrainError> {
        if self.history.is_empty() {
            return Err(TrainError::Diverged {
                epoch,
                step: done,
                loss,
            });
        }
        let reason = format!(
            "the training loss became {loss} at epoch {epoch}, step {done}; the weights of the \
             epochs before are kept (lower optim.lr?)"
        );
        progress.message(&format!("stopped: {reason}"));
        self.stop_reason = Some(format!("diverged: {reason}"));
        self.diverged = true;
        Ok(())
    }
}
