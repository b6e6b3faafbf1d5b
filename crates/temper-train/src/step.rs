//! One optimizer step with everything the experiment adds around Burn's optimizer.

use burn::optim::{GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;
use burn::train::ClassificationOutput;
use temper_data::ImageBatch;
use temper_model::Classifier;
use temper_optim::{
    Hypergradient, HypergradientState, OptimError, OptimizerSettings, RegularizationSettings,
};

/// The optimizer, its settings and the loss penalties: what a training step needs besides the
/// model and the batch.
pub struct Stepper {
    optim: ModuleOptimizer,
    settings: OptimizerSettings,
    regularization: RegularizationSettings,
    /// Present when the learning rate follows hypergradient descent instead of the schedule.
    hypergradient: Option<Hypergradient>,
}

impl Stepper {
    /// Builds the optimizer of `settings`; `regularization` adds its penalty to every loss.
    pub fn new(
        settings: &OptimizerSettings,
        regularization: &RegularizationSettings,
    ) -> Result<Self, OptimError> {
        regularization.validate()?;
        let settings = settings.resolve()?;
        let hypergradient = match &settings.hypergradient {
            Some(hd) => Some(Hypergradient::new(settings.learning_rate(), hd)?),
            None => None,
        };
        Ok(Self {
            optim: settings.init()?,
            settings,
            regularization: regularization.clone(),
            hypergradient,
        })
    }

    /// One step on `batch` at learning rate `lr` (or the hypergradient's, when configured):
    /// forward, loss plus penalty, backward, global-norm clipping when configured, update. Returns the updated model and the step's
    /// output, detached; its loss is the data loss alone, comparable with validation losses.
    pub fn step(
        &mut self,
        model: Classifier,
        batch: ImageBatch,
        lr: f64,
    ) -> (Classifier, ClassificationOutput) {
        let out = model.forward_classification(batch);
        self.update(model, out, lr)
    }

    /// [`step`](Self::step) against soft targets (MixUp, CutMix, label smoothing): the loss is
    /// the soft-target cross-entropy `mean_i(-sum_k q_ik log softmax(z_i)_k)` (timm's
    /// `SoftTargetCrossEntropy`); accuracy is counted against `batch.targets`.
    ///
    /// # Shapes
    /// - soft: `[batch, classes]`, each row summing to 1
    pub fn step_soft(
        &mut self,
        model: Classifier,
        batch: ImageBatch,
        soft: Tensor<2>,
        lr: f64,
    ) -> (Classifier, ClassificationOutput) {
        let logits = model.forward(batch.images);
        let loss = (soft * log_softmax(logits.clone(), 1))
            .sum_dim(1)
            .mean()
            .neg();
        let out = ClassificationOutput::new(loss, logits, batch.targets);
        self.update(model, out, lr)
    }

    fn update(
        &mut self,
        model: Classifier,
        out: ClassificationOutput,
        lr: f64,
    ) -> (Classifier, ClassificationOutput) {
        let objective = match self.regularization.penalty(&model) {
            Some(penalty) => out.loss.clone() + penalty,
            None => out.loss.clone(),
        };
        let grads = GradientsParams::from_grads(objective.backward(), &model);
        let (grads, _norm) = self.settings.clip_gradients(grads, &model);
        let model = match self.hypergradient.as_mut() {
            Some(hd) => {
                let lr = hd.next_lr(&model, &grads);
                let model = self.optim.step(lr, model, grads);
                hd.after_step(&model);
                model
            }
            None => self.optim.step(lr, model, grads),
        };
        let out = ClassificationOutput::new(out.loss.detach(), out.output.detach(), out.targets);
        (model, out)
    }

    /// The learning rate hypergradient descent has reached, when it drives the rate.
    pub fn hypergradient_lr(&self) -> Option<f64> {
        self.hypergradient.as_ref().map(Hypergradient::lr)
    }

    /// The optimizer, for checkpoints.
    pub fn optimizer(&self) -> &ModuleOptimizer {
        &self.optim
    }

    /// The hypergradient's state between steps (shapes from `model`), when it drives the rate.
    pub fn hypergradient_state(
        &self,
        model: &Classifier,
    ) -> Option<HypergradientState<Classifier>> {
        self.hypergradient.as_ref().map(|hd| hd.state(model))
    }

    /// Continues from a checkpoint: the optimizer's record and, when hypergradient descent
    /// drives the rate, its state.
    pub fn restore(
        &mut self,
        optimizer: OptimizerRecord,
        hypergradient: Option<&HypergradientState<Classifier>>,
    ) -> Result<(), OptimError> {
        self.optim = self.settings.init()?.load_record(optimizer);
        if let (Some(hd), Some(state)) = (self.hypergradient.as_mut(), hypergradient) {
            hd.restore(state);
        }
        Ok(())
    }
}
