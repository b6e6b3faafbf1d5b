//! One optimizer step with everything the experiment adds around Burn's optimizer.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::train::ClassificationOutput;
use temper_data::ImageBatch;
use temper_model::Classifier;
use temper_optim::{OptimError, OptimizerSettings, RegularizationSettings};

/// The optimizer, its settings and the loss penalties: what a training step needs besides the
/// model and the batch.
pub struct Stepper {
    optim: ModuleOptimizer,
    settings: OptimizerSettings,
    regularization: RegularizationSettings,
}

impl Stepper {
    /// Builds the optimizer of `settings`; `regularization` adds its penalty to every loss.
    pub fn new(
        settings: &OptimizerSettings,
        regularization: &RegularizationSettings,
    ) -> Result<Self, OptimError> {
        regularization.validate()?;
        Ok(Self {
            optim: settings.init()?,
            settings: settings.resolve()?,
            regularization: regularization.clone(),
        })
    }

    /// One step on `batch` at learning rate `lr`: forward, loss plus penalty, backward,
    /// global-norm clipping when configured, update. Returns the updated model and the step's
    /// output, detached; its loss is the data loss alone, comparable with validation losses.
    pub fn step(
        &mut self,
        model: Classifier,
        batch: ImageBatch,
        lr: f64,
    ) -> (Classifier, ClassificationOutput) {
        let out = model.forward_classification(batch);
        let objective = match self.regularization.penalty(&model) {
            Some(penalty) => out.loss.clone() + penalty,
            None => out.loss.clone(),
        };
        let grads = GradientsParams::from_grads(objective.backward(), &model);
        let (grads, _norm) = self.settings.clip_gradients(grads, &model);
        let model = self.optim.step(lr, model, grads);
        let out = ClassificationOutput::new(out.loss.detach(), out.output.detach(), out.targets);
        (model, out)
    }

    /// The optimizer, for checkpoints.
    pub fn optimizer(&self) -> &ModuleOptimizer {
        &self.optim
    }
}
