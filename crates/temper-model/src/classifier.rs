use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Tensor;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use temper_data::ImageBatch;

use crate::{Cnn, Mlp, MobileNetV2, ResNet, TvResNet};

/// Any temper image classifier. One type so the trainer, checkpoints and burn-train's
/// `Learner` handle every architecture the same way.
// One Classifier lives per run and moves through the optimizer by value; the size difference
// between variants costs nothing measurable, and boxing would hide the modules from the derive.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Classifier {
    /// A multi-layer perceptron over the flattened image.
    Mlp(Mlp),
    /// Convolution blocks, then fully connected layers.
    Cnn(Cnn),
    /// A small residual network.
    ResNet(ResNet),
    /// A ResNet in torchvision's layout (ResNet-18/34/50, the CIFAR ResNet-20/56).
    TvResNet(TvResNet),
    /// MobileNetV2 in torchvision's layout.
    MobileNetV2(MobileNetV2),
}

impl Classifier {
    /// Class logits.
    ///
    /// # Shapes
    /// - images: `[batch, C, H, W]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Classifier::Mlp(m) => m.forward(images),
            Classifier::Cnn(m) => m.forward(images),
            Classifier::ResNet(m) => m.forward(images),
            Classifier::TvResNet(m) => m.forward(images),
            Classifier::MobileNetV2(m) => m.forward(images),
        }
    }

    /// The path of the classifier head, the layer that maps features to classes, as burn-store
    /// names it without the enum variant: `fc` (torchvision's ResNets), `classifier`
    /// (MobileNetV2, whose torchvision name is `classifier.1`, and temper's resnet) or
    /// `head.output` (mlp, cnn). Fine-tuning on other classes starts it afresh.
    pub fn head_path(&self) -> &'static str {
        match self {
            Classifier::TvResNet(_) => "fc",
            Classifier::MobileNetV2(_) | Classifier::ResNet(_) => "classifier",
            Classifier::Mlp(_) | Classifier::Cnn(_) => "head.output",
        }
    }

    /// Whether the tensor at `path` (without the enum variant, e.g. `fc.weight`) belongs to
    /// the classifier head.
    pub fn is_head(&self, path: &str) -> bool {
        path.strip_prefix(self.head_path())
            .is_some_and(|rest| rest.starts_with('.'))
    }

    /// Logits and mean cross-entropy loss of a batch.
    pub fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl From<Mlp> for Classifier {
    fn from(m: Mlp) -> Self {
        Classifier::Mlp(m)
    }
}

impl From<Cnn> for Classifier {
    fn from(m: Cnn) -> Self {
        Classifier::Cnn(m)
    }
}

impl From<ResNet> for Classifier {
    fn from(m: ResNet) -> Self {
        Classifier::ResNet(m)
    }
}

impl From<TvResNet> for Classifier {
    fn from(m: TvResNet) -> Self {
        Classifier::TvResNet(m)
    }
}

impl From<MobileNetV2> for Classifier {
    fn from(m: MobileNetV2) -> Self {
        Classifier::MobileNetV2(m)
    }
}

impl TrainStep for Classifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Classifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MlpConfig;
    use burn::tensor::{Device, Int, TensorData};

    #[test]
    fn loss_of_uniform_logits_is_ln_classes() {
        // A zero-weight network gives equal logits, so cross-entropy = ln(10) exactly.
        let device = Device::flex();
        let model: Classifier = MlpConfig::new().init(&device).into();
        let zeroed = model.map(&mut ZeroParams);
        let batch = ImageBatch {
            images: Tensor::ones([4, 1, 28, 28], &device),
            targets: Tensor::<1, Int>::from_data(
                TensorData::new(vec![0i64, 3, 5, 9], [4]),
                &device,
            ),
        };
        let out = zeroed.forward_classification(batch);
        let loss: f32 = out.loss.into_scalar();
        assert!((loss - 10f32.ln()).abs() < 1e-6, "{loss}");
    }

    struct ZeroParams;
    impl burn::module::ModuleMapper for ZeroParams {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            param.map(|t| t.zeros_like())
        }
    }
}
