//! `[distill]`: a finished run teaches this one (Hinton et al. 2015).
//!
//! The teacher is the model a run directory holds — any of temper's built-in architectures,
//! rebuilt from its `config.toml` with the weights it tested, in validation mode on the
//! student's device. It sees the student's own batch, augmented images included, as the usual
//! recipes do (RepDistiller and timm's distillation feed both models the same input). The
//! student's images are normalized with the student's statistics; the teacher was trained
//! with its own, so each channel is mapped to the teacher's first:
//! `x_t = (x_s · σ_s + μ_s − μ_t) / σ_t`. The loss is temper-compress's
//! `distillation_loss` (`alpha · T² · KL + (1 − alpha) · CE`), in [`Stepper`].
//!
//! [`Stepper`]: crate::run::step::Stepper

use burn::tensor::{Device, Tensor, TensorData};
use temper_compress::settings::DistillSettings;
use temper_data::Normalization;
use temper_model::Classifier;

use crate::error::TrainError;
use crate::score::saved_run::SavedRun;

/// The teacher's model and the map from the student's normalization to its own.
#[derive(Debug, Clone)]
pub(crate) struct Teacher {
    model: Classifier,
    /// `σ_s / σ_t` and `(μ_s − μ_t) / σ_t` per channel, shaped `[1, C, 1, 1]`.
    scale: Tensor<4>,
    shift: Tensor<4>,
    /// The softmax temperature `T`.
    pub temperature: f64,
    /// The weight of the soft term.
    pub alpha: f64,
}

impl Teacher {
    /// Opens the teacher run of `settings` for images of `shape` and `classes` classes,
    /// normalized by the student with `student`, on `device` (the evaluation device). Errors
    /// name `distill.teacher` and say what does not fit.
    pub fn open(
        settings: &DistillSettings,
        shape: [usize; 3],
        classes: usize,
        student: &Normalization,
        device: &Device,
    ) -> Result<Self, TrainError> {
        // The errors of `SavedRun` and the loaders name the file already.
        let fail = |message: String| TrainError::Config(format!("distill.teacher: {message}"));
        let mut run = SavedRun::open(&settings.teacher, None).map_err(|e| fail(e.to_string()))?;
        run.choose_weights(None).map_err(|e| fail(e.to_string()))?;
        let model = run
            .load_on(shape, classes, device)
            .map_err(|e| fail(e.to_string()))?;
        let own = crate::run::finetune::read_normalization(&run.dir)?.ok_or_else(|| {
            fail(format!(
                "{}: has no normalization in summary.toml: let the run finish first",
                run.dir.display()
            ))
        })?;
        let (scale, shift) = normalization_map(student, &own, shape[0], device);
        Ok(Self {
            model,
            scale,
            shift,
            temperature: settings.temperature,
            alpha: settings.alpha,
        })
    }

    /// The teacher's logits for the student's normalized `images` (any device; the result is
    /// on the same device and carries no gradient).
    ///
    /// # Shapes
    /// - images: `[batch, channels, height, width]`
    /// - output: `[batch, classes]`
    pub fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let device = images.device();
        let x = images.detach().inner();
        let x = x * self.scale.clone() + self.shift.clone();
        let z = self.model.forward(x);
        z.to_device(&device).detach()
    }
}

/// `σ_s / σ_t` and `(μ_s − μ_t) / σ_t` for each of `channels`, shaped `[1, C, 1, 1]`.
fn normalization_map(
    student: &Normalization,
    teacher: &Normalization,
    channels: usize,
    device: &Device,
) -> (Tensor<4>, Tensor<4>) {
    let at = |v: &[f32], c: usize| v[c % v.len().max(1)];
    let (mut scale, mut shift) = (Vec::with_capacity(channels), Vec::with_capacity(channels));
    for c in 0..channels {
        let (ms, ss) = (at(&student.mean, c), at(&student.std, c));
        let (mt, st) = (at(&teacher.mean, c), at(&teacher.std, c));
        scale.push(ss / st);
        shift.push((ms - mt) / st);
    }
    let tensor =
        |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [1, channels, 1, 1]), device);
    (tensor(scale), tensor(shift))
}
