//! The model: the MLP [`Net`], its [`TrainStep`] (the L2 penalty, the EMA update) and
//! [`InferenceStep`], the shared EMA handle, and [`accuracy`].

use std::fmt;
use std::sync::{Arc, Mutex};

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use temper_data::{ImageBatch, ImageBatcher, ImageDataset};
use temper_optim::{EmaSettings, ModelEma, RegularizationSettings};

use crate::{Error, lock};

/// A two-layer MLP, `784 → hidden → ReLU → 10`, that carries the two things the Learner has
/// no hook for: the penalty settings (read by [`TrainStep::step`]) and the EMA handle (read by
/// [`TrainStep::optimize`]). Both are `#[module(skip)]` fields: not parameters, not saved.
#[derive(Module, Debug)]
pub struct Net {
    pub(crate) hidden: Linear,
    pub(crate) output: Linear,
    #[module(skip)]
    regularization: RegularizationSettings,
    #[module(skip)]
    pub(crate) ema: EmaHandle,
}

impl Net {
    /// A new network for `[C, H, W]` images and `classes` classes on `device`, initialized
    /// from the device's random generator (seed it for a reproducible start).
    pub fn new(image_shape: [usize; 3], hidden: usize, classes: usize, device: &Device) -> Self {
        let [c, h, w] = image_shape;
        Self {
            hidden: LinearConfig::new(c * h * w, hidden).init(device),
            output: LinearConfig::new(hidden, classes).init(device),
            regularization: RegularizationSettings::default(),
            ema: EmaHandle::default(),
        }
    }

    /// Class logits. images: `[batch, C, H, W]` → `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = relu(self.hidden.forward(images.flatten(1, 3)));
        self.output.forward(x)
    }

    /// The penalty [`TrainStep::step`] adds to the loss.
    pub fn with_regularization(mut self, settings: RegularizationSettings) -> Self {
        self.regularization = settings;
        self
    }

    /// Starts an exponential moving average of the weights, updated after every optimizer
    /// step the Learner makes; [`ema_average`](Self::ema_average) reads it.
    pub fn with_ema(mut self, settings: &EmaSettings) -> Result<Self, Error> {
        // The average is a copy without the handle, so the copy does not point at itself.
        let detached = Net {
            ema: EmaHandle::default(),
            ..self.clone()
        };
        let ema = ModelEma::new(&detached, settings)?;
        self.ema = EmaHandle(Some(Arc::new(Mutex::new(ema))));
        Ok(self)
    }

    /// The averaged weights and the number of updates made so far, when EMA is on.
    pub fn ema_average(&self) -> Option<(Net, usize)> {
        self.ema.average()
    }

    /// `sqrt(sum w²)` over both weight matrices (the tensors the L2 penalty acts on; the
    /// biases are rank 1 and not penalized by default).
    pub fn weight_norm(&self) -> f64 {
        let squares = |w: Tensor<2>| w.square().sum().into_scalar::<f32>() as f64;
        (squares(self.hidden.weight.val()) + squares(self.output.weight.val())).sqrt()
    }

    /// Logits and mean cross-entropy of a batch.
    pub fn classify(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

/// A shared [`ModelEma`] of a [`Net`], or none. Clones share the average, so the copies the
/// Learner makes of the model all update the same one.
#[derive(Clone, Default)]
pub struct EmaHandle(Option<Arc<Mutex<ModelEma<Net>>>>);

impl EmaHandle {
    /// The averaged weights and the number of updates made so far, when EMA is on.
    pub(crate) fn average(&self) -> Option<(Net, usize)> {
        self.0.as_ref().map(|ema| {
            let ema = lock(ema);
            (ema.ema().clone(), ema.step())
        })
    }
}

impl fmt::Debug for EmaHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No lock here: Burn prints a module's skipped fields with `Debug`, possibly while the
        // average is being updated.
        f.write_str(if self.0.is_some() {
            "EmaHandle(on)"
        } else {
            "EmaHandle(off)"
        })
    }
}

impl TrainStep for Net {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    /// Forward, then backward through `loss + penalty`: the Learner has no hook to add a term
    /// to the loss, so the model adds it here — the shortest way that works with an unchanged
    /// Learner. The reported loss (burn-train's `Loss` metric)
    /// stays the cross-entropy, comparable between training and validation.
    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        let out = self.classify(batch);
        let objective = match self.regularization.penalty(self) {
            Some(penalty) => out.loss.clone() + penalty,
            None => out.loss.clone(),
        };
        TrainOutput::new(self, objective.backward(), out)
    }

    /// The optimizer step the Learner asks for, then the EMA update on the new weights.
    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        let model = optim.step(lr, self, grads);
        if let Some(ema) = &model.ema.0 {
            lock(ema)
                .update(&model)
                .expect("the average was made from this model");
        }
        model
    }
}

impl InferenceStep for Net {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> ClassificationOutput {
        self.classify(batch)
    }
}

/// Fraction of `data` that `model` classifies correctly (batches of 500 on `device`).
pub fn accuracy(model: &Net, data: &ImageDataset, batcher: &ImageBatcher, device: &Device) -> f64 {
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut correct = 0i64;
    for chunk in indices.chunks(500) {
        let batch = batcher.batch_indices(data, chunk, device);
        let predicted = model.forward(batch.images).argmax(1).squeeze_dim::<1>(1);
        correct += predicted
            .equal(batch.targets)
            .int()
            .sum()
            .into_scalar::<i64>();
    }
    correct as f64 / data.len() as f64
}
