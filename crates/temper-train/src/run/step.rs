//! One optimizer step with everything the experiment adds around Burn's optimizer.

use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor};
use burn::train::ClassificationOutput;
use temper_data::ImageBatch;
use temper_optim::{
    Hypergradient, HypergradientState, LayerDecay, MomentumCell, OptimError, OptimizerSettings,
    RegularizationSettings,
};

use crate::classifier::{ImageClassifier, classification_output, soft_target_output};
use crate::run::distill::Teacher;
use temper_compress::module::distillation_loss;

/// The optimizer, its settings and the loss penalties: what a training step needs besides the
/// model and the batch.
pub struct Stepper {
    optim: ModuleOptimizer,
    settings: OptimizerSettings,
    regularization: RegularizationSettings,
    /// Present when the learning rate follows hypergradient descent instead of the schedule.
    hypergradient: Option<Hypergradient>,
    /// The momentum (or `beta1`) the optimizer reads at each step, when the schedule cycles it.
    momentum: Option<MomentumCell>,
    /// Per-stage rate factors (`[finetune] layer_decay`).
    layer_decay: Option<LayerDecay>,
    /// `[distill]`'s teacher: the loss becomes Hinton et al.'s.
    teacher: Option<Teacher>,
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
            momentum: None,
            layer_decay: None,
            teacher: None,
        })
    }

    /// Rebuilds the optimizer (before any step) so that its momentum, or Adam's `beta1`,
    /// follows [`set_momentum`](Self::set_momentum), starting at `first`: the schedule cycles
    /// it. An error naming `schedule.cycle_momentum` for an optimizer with neither (`adagrad`).
    pub fn cycle_momentum(&mut self, first: f64) -> Result<(), OptimError> {
        let cell = MomentumCell::new(first);
        self.optim = self.settings.init_cycled(&cell)?;
        self.momentum = Some(cell);
        Ok(())
    }

    /// The momentum (or `beta1`) of the next steps, when [`cycle_momentum`](Self::cycle_momentum)
    /// is on; ignored otherwise.
    pub fn set_momentum(&self, value: f64) {
        if let Some(cell) = &self.momentum {
            cell.set(value);
        }
    }

    /// One step on `batch` at learning rate `lr` (or the hypergradient's, when configured):
    /// forward, loss plus penalty, backward, global-norm clipping when configured, update.
    /// Returns the updated model and the step's output, detached; its loss is the data loss
    /// alone, comparable with validation losses.
    pub fn step<M: ImageClassifier>(
        &mut self,
        model: M,
        batch: ImageBatch,
        lr: f64,
    ) -> (M, ClassificationOutput) {
        let images = self.teacher.as_ref().map(|_| batch.images.clone());
        let out = classification_output(&model, batch);
        self.update(model, out, images, lr)
    }

    /// [`step`](Self::step) against soft targets (MixUp, CutMix, label smoothing): the loss is
    /// the soft-target cross-entropy `mean_i(-sum_k q_ik log softmax(z_i)_k)` (timm's
    /// `SoftTargetCrossEntropy`); accuracy is counted against `batch.targets`.
    ///
    /// # Shapes
    /// - soft: `[batch, classes]`, each row summing to 1
    pub fn step_soft<M: ImageClassifier>(
        &mut self,
        model: M,
        batch: ImageBatch,
        soft: Tensor<2>,
        lr: f64,
    ) -> (M, ClassificationOutput) {
        let images = self.teacher.as_ref().map(|_| batch.images.clone());
        let out = soft_target_output(&model, batch.images, batch.targets, soft);
        self.update(model, out, images, lr)
    }

    /// [`step`](Self::step) (or [`step_soft`](Self::step_soft) with `soft`) on a weighted
    /// loss `Σ_i w_i · ce_i`, the weights given by `weigh` from the batch's per-sample
    /// cross-entropies (read back once): bias mitigation's reweighing and group DRO. The output's
    /// loss is the plain mean, comparable with validation losses.
    ///
    /// # Shapes
    /// - soft: `[batch, classes]` when given; `weigh` returns one weight per sample
    pub fn step_weighted<M: ImageClassifier>(
        &mut self,
        model: M,
        batch: ImageBatch,
        soft: Option<Tensor<2>>,
        lr: f64,
        weigh: impl FnOnce(&[f32]) -> Vec<f32>,
    ) -> (M, ClassificationOutput) {
        let logits = model.logits(batch.images);
        let [n, classes] = logits.dims();
        let target = match soft {
            Some(soft) => soft,
            None => batch.targets.clone().one_hot::<2>(classes).float(),
        };
        let per_sample = (target * log_softmax(logits.clone(), 1))
            .sum_dim(1)
            .neg()
            .reshape([n]);
        let losses = per_sample
            .clone()
            .detach()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let weights = Tensor::<1>::from_data(
            burn::tensor::TensorData::new(weigh(&losses), [n]),
            &per_sample.device(),
        );
        let weighted = (per_sample.clone() * weights).sum();
        let objective = match self.regularization.penalty(&model) {
            Some(penalty) => weighted + penalty,
            None => weighted,
        };
        let grads = GradientsParams::from_grads(objective.backward(), &model);
        let model = self.apply(model, grads, lr);
        let out =
            ClassificationOutput::new(per_sample.mean().detach(), logits.detach(), batch.targets);
        (model, out)
    }

    /// Backward and update on `out`'s loss — Hinton et al.'s with the teacher's logits of
    /// `images` when distilling — plus the penalty.
    fn update<M: ImageClassifier>(
        &mut self,
        model: M,
        out: ClassificationOutput,
        images: Option<Tensor<4>>,
        lr: f64,
    ) -> (M, ClassificationOutput) {
        let data = match (&self.teacher, images) {
            (Some(teacher), Some(images)) => distillation_loss(
                out.output.clone(),
                teacher.logits(images),
                out.loss.clone(),
                teacher.temperature,
                teacher.alpha,
            ),
            _ => out.loss.clone(),
        };
        let objective = match self.regularization.penalty(&model) {
            Some(penalty) => data + penalty,
            None => data,
        };
        let grads = GradientsParams::from_grads(objective.backward(), &model);
        let model = self.apply(model, grads, lr);
        let out = ClassificationOutput::new(out.loss.detach(), out.output.detach(), out.targets);
        (model, out)
    }

    /// Data parallelism: one step on `batch` split into one contiguous shard per device in
    /// `devices` (the first is the model's). Each shard's forward and backward run on its own
    /// device in its own thread, on a replica forked from the model; the gradients, each of its
    /// shard's mean loss weighted by the shard's share of the batch, are moved to the first
    /// device and summed — the all-reduce — so the update equals
    /// [`step`](Self::step)/[`step_soft`](Self::step_soft) on the whole batch up to float
    /// rounding. The penalty is added once, on the first shard. Returns one output per shard,
    /// on the first device.
    ///
    /// # Shapes
    /// - soft: `[batch, classes]` when given
    pub fn step_parallel<M: ImageClassifier>(
        &mut self,
        model: M,
        batch: ImageBatch,
        soft: Option<Tensor<2>>,
        lr: f64,
        devices: &[Device],
    ) -> (M, Vec<ClassificationOutput>) {
        let main = &devices[0];
        let n = batch.targets.dims()[0];
        let shards = devices.len().min(n);
        let bounds: Vec<(usize, usize)> = (0..shards)
            .map(|i| (i * n / shards, (i + 1) * n / shards))
            .collect();
        let regularization = &self.regularization;
        let inputs = |i: usize| {
            let ((lo, hi), device) = (bounds[i], &devices[i]);
            Shard {
                images: batch.images.clone().slice(lo..hi).to_device(device),
                targets: batch.targets.clone().slice(lo..hi).to_device(device),
                soft: soft
                    .as_ref()
                    .map(|s| s.clone().slice(lo..hi).to_device(device)),
                weight: (hi - lo) as f32 / n as f32,
            }
        };
        let results: Vec<(GradientsParams, ClassificationOutput)> = std::thread::scope(|scope| {
            let others: Vec<_> = (1..shards)
                .map(|i| {
                    // A replica of its own: a clone would share the model's BatchNorm running
                    // state, which `fork` moves to this device while the first shard reads it.
                    let replica = model.valid().fork(&devices[i]).train();
                    let shard = inputs(i);
                    scope.spawn(move || shard.gradients(&replica, None))
                })
                .collect();
            // The first shard runs on this thread with the model itself, so its BatchNorm
            // statistics update the running state as a one-device step does (PyTorch DDP's
            // default: the running buffers are those of the first replica).
            let first = inputs(0).gradients(&model, Some(regularization));
            std::iter::once(first)
                .chain(
                    others
                        .into_iter()
                        .map(|h| h.join().expect("a shard's step does not panic")),
                )
                .collect()
        });
        let mut sum = GradientsAccumulator::<M>::new();
        let mut outputs = Vec::with_capacity(results.len());
        for (grads, out) in results {
            sum.accumulate(&model, grads.to_device(main, &model));
            outputs.push(ClassificationOutput::new(
                out.loss.to_device(main),
                out.output.to_device(main),
                out.targets.to_device(main),
            ));
        }
        let model = self.apply(model, sum.grads(), lr);
        (model, outputs)
    }

    /// Clipping, the hypergradient's rate when configured, and the optimizer's update.
    fn apply<M: ImageClassifier>(&mut self, model: M, grads: GradientsParams, lr: f64) -> M {
        let (grads, _norm) = self.settings.clip_gradients(grads, &model);
        match self.hypergradient.as_mut() {
            Some(hd) => {
                let lr = hd.next_lr(&model, &grads);
                let model = match &self.layer_decay {
                    Some(decay) => decay.step(&mut self.optim, lr, model, grads),
                    None => self.optim.step(lr, model, grads),
                };
                hd.after_step(&model);
                model
            }
            None => match &self.layer_decay {
                Some(decay) => decay.step(&mut self.optim, lr, model, grads),
                None => self.optim.step(lr, model, grads),
            },
        }
    }

    /// Distils `teacher` into the model from now on (`[distill]`): each step's objective is
    /// `alpha · T² · KL(teacher ‖ model) + (1 − alpha) · CE`; the reported loss stays the CE.
    pub(crate) fn set_teacher(&mut self, teacher: Teacher) {
        self.teacher = Some(teacher);
    }

    /// Trains each stage at its own rate from now on (`[finetune] layer_decay`).
    pub fn set_layer_decay(&mut self, decay: LayerDecay) {
        self.layer_decay = Some(decay);
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
    pub fn hypergradient_state<M: ImageClassifier>(
        &self,
        model: &M,
    ) -> Option<HypergradientState<M>> {
        self.hypergradient.as_ref().map(|hd| hd.state(model))
    }

    /// Continues from a checkpoint: the optimizer's record and, when hypergradient descent
    /// drives the rate, its state.
    pub fn restore<M: ImageClassifier>(
        &mut self,
        optimizer: OptimizerRecord,
        hypergradient: Option<&HypergradientState<M>>,
    ) -> Result<(), OptimError> {
        let fresh = match &self.momentum {
            Some(cell) => self.settings.init_cycled(cell)?,
            None => self.settings.init()?,
        };
        self.optim = fresh.load_record(optimizer);
        if let (Some(hd), Some(state)) = (self.hypergradient.as_mut(), hypergradient) {
            hd.restore(state);
        }
        Ok(())
    }
}

/// One device's part of a data-parallel step: its slice of the batch and its share of it.
struct Shard {
    images: Tensor<4>,
    targets: Tensor<1, Int>,
    soft: Option<Tensor<2>>,
    weight: f32,
}

impl Shard {
    /// The gradients of this shard's loss weighted by its share (the penalty added once, by
    /// the shard that is given it), and its detached output.
    fn gradients<M: ImageClassifier>(
        self,
        replica: &M,
        penalty: Option<&RegularizationSettings>,
    ) -> (GradientsParams, ClassificationOutput) {
        let out = match self.soft {
            Some(soft) => soft_target_output(replica, self.images, self.targets, soft),
            None => classification_output(
                replica,
                ImageBatch {
                    images: self.images,
                    targets: self.targets,
                },
            ),
        };
        let mut objective = out.loss.clone().mul_scalar(self.weight);
        if let Some(penalty) = penalty.and_then(|r| r.penalty(replica)) {
            objective = objective + penalty;
        }
        let grads = GradientsParams::from_grads(objective.backward(), replica);
        let out = ClassificationOutput::new(out.loss.detach(), out.output.detach(), out.targets);
        (grads, out)
    }
}
