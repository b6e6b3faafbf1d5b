//! The trait a model implements to be trained by temper: image classification through logits.
//!
//! temper's trainer needs the class logits, not a finished loss, because several techniques act
//! between the two: MixUp, CutMix and label smoothing train against soft targets (timm's
//! `SoftTargetCrossEntropy`), and the per-class reports and confusion counts need the
//! predictions. Everything else it does — penalties, clipping, EMA, checkpoints, resume, data
//! parallelism — works on any Burn [`Module`], so one method is all a model adds.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use burn::train::ClassificationOutput;
use temper_data::ImageBatch;
use temper_model::Classifier;

/// An image classifier temper can train, evaluate, checkpoint and tune: any Burn [`Module`]
/// that maps a batch of normalized images to class logits.
///
/// ```ignore
/// #[derive(Module, Debug)]
/// struct MyNet { conv: Conv2d, head: Linear }
///
/// impl temper_train::ImageClassifier for MyNet {
///     fn logits(&self, images: Tensor<4>) -> Tensor<2> {
///         let x = self.conv.forward(images);
///         self.head.forward(x.flatten(1, 3))
///     }
/// }
/// ```
///
/// The module's `train()`/`valid()` modes are Burn's: the trainer validates `model.valid()`
/// (dropout off), so layers that behave differently in training must follow Burn's convention.
pub trait ImageClassifier: Module + 'static {
    /// Class logits (unnormalized scores).
    ///
    /// # Shapes
    /// - images: `[batch, C, H, W]`, normalized per channel
    /// - output: `[batch, num_classes]`
    fn logits(&self, images: Tensor<4>) -> Tensor<2>;

    /// The module path of the classifier head, the layer that maps features to class logits
    /// (as Burn's visitors name it, e.g. `head` or, inside temper's `Classifier` enum,
    /// `TvResNet.fc`). Fine-tuning on other classes starts it afresh and keeps the rest.
    ///
    /// The default is the module holding the last parameter the model visits, which is the
    /// head of every network that declares its classifier last (torchvision's, timm's and
    /// temper's all do); override it otherwise.
    fn head_path(&self) -> String {
        let mut last = LastParameter::default();
        self.visit(&mut last);
        last.module
    }

    /// Multiply-accumulates of one forward pass on one image of `shape` (`[C, H, W]`), for
    /// the efficiency report; `None` (the default) when the model does not say.
    fn macs_per_image(&self, _shape: [usize; 3]) -> Option<u64> {
        None
    }
}

/// The path of the module holding the last float parameter visited.
#[derive(Default)]
struct LastParameter {
    path: Vec<String>,
    module: String,
}

impl ModuleVisitor for LastParameter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, _param: &Param<Tensor<D>>) {
        // The last segment is the parameter's own name (`weight`).
        let module = &self.path[..self.path.len().saturating_sub(1)];
        self.module = module.join(".");
    }
}

impl ImageClassifier for Classifier {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images)
    }

    fn macs_per_image(&self, shape: [usize; 3]) -> Option<u64> {
        Some(Classifier::macs_per_image(self, shape))
    }
}

/// Logits and mean cross-entropy loss of `model` on `batch`.
pub fn classification_output<M: ImageClassifier>(
    model: &M,
    batch: ImageBatch,
) -> ClassificationOutput {
    let logits = model.logits(batch.images);
    let loss = CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits.clone(), batch.targets.clone());
    ClassificationOutput::new(loss, logits, batch.targets)
}

/// The soft-target cross-entropy output of `model` on `images`:
/// `mean_i(-sum_k q_ik log softmax(z_i)_k)` (timm's `SoftTargetCrossEntropy`); accuracy is
/// counted against `targets`.
///
/// # Shapes
/// - images: `[batch, C, H, W]`, targets: `[batch]`
/// - soft: `[batch, classes]`, each row summing to 1
pub fn soft_target_output<M: ImageClassifier>(
    model: &M,
    images: Tensor<4>,
    targets: Tensor<1, Int>,
    soft: Tensor<2>,
) -> ClassificationOutput {
    let logits = model.logits(images);
    let loss = (soft * log_softmax(logits.clone(), 1))
        .sum_dim(1)
        .mean()
        .neg();
    ClassificationOutput::new(loss, logits, targets)
}
