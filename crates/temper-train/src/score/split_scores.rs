//! Scoring a model on a split, and the per-step statistics training accumulates on the device.

use burn::tensor::{Device, Int, Tensor};
use temper_data::{ImageBatcher, ImageData};

use crate::classifier::{ImageClassifier, classification_output};
use crate::run::batches::read_images;

use crate::score::confusion::ConfusionMatrix;
use crate::score::metrics::EvalScores;

/// Batch size for validation and test passes (no gradients, so larger is cheaper).
const EVAL_BATCH: usize = 500;

/// The most bytes of normalized `f32` images an evaluation batch holds: 64 MiB, so 224x224 RGB
/// images go 111 at a time rather than 500 (301 MB), and a streamed run's memory stays bounded
/// by its training batches.
const EVAL_BATCH_BYTES: usize = 64 << 20;

/// Images per evaluation batch for images of `shape`: [`EVAL_BATCH`], fewer when their values
/// would exceed [`EVAL_BATCH_BYTES`].
fn eval_batch(shape: [usize; 3]) -> usize {
    let image = shape.iter().product::<usize>() * std::mem::size_of::<f32>();
    (EVAL_BATCH_BYTES / image.max(1)).clamp(1, EVAL_BATCH)
}

/// Scores of `model` (already in validation mode) on `indices` of `dataset`.
pub fn evaluate<M: ImageClassifier>(
    model: &M,
    dataset: &dyn ImageData,
    indices: &[usize],
    batcher: &ImageBatcher,
    device: &Device,
) -> EvalScores {
    evaluate_with_confusion(model, dataset, indices, batcher, device).0
}

/// [`evaluate`], with the confusion matrix the scores come from.
pub fn evaluate_with_confusion<M: ImageClassifier>(
    model: &M,
    dataset: &dyn ImageData,
    indices: &[usize],
    batcher: &ImageBatcher,
    device: &Device,
) -> (EvalScores, ConfusionMatrix) {
    evaluate_noting(model, dataset, indices, batcher, device, &mut |_| {}, None)
}

/// [`evaluate_with_confusion`] that hands `bad` the images that could not be read (a
/// streamed folder's corrupt files: left out of the scores), one line each, and pushes each
/// read image's `(index, predicted class)` to `predicted` when given. Each batch's images are
/// read in parallel on the current rayon pool.
pub(crate) fn evaluate_noting<M: ImageClassifier>(
    model: &M,
    dataset: &dyn ImageData,
    indices: &[usize],
    batcher: &ImageBatcher,
    device: &Device,
    bad: &mut dyn FnMut(Vec<String>),
    mut predicted: Option<&mut Vec<(usize, usize)>>,
) -> (EvalScores, ConfusionMatrix) {
    let mut totals = StepTotals::new(dataset.num_classes(), device);
    for chunk in indices.chunks(eval_batch(dataset.image_shape())) {
        let read = read_images(dataset, chunk);
        if !read.bad.is_empty() {
            bad(read.bad);
        }
        if read.images.is_empty() {
            continue;
        }
        let batch = batcher.batch_pixels(&read.images, &read.labels, device);
        let out = classification_output(model, batch);
        if let Some(predicted) = predicted.as_deref_mut() {
            let classes = out.output.clone().argmax(1).into_data();
            let classes = classes
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap_or_default();
            predicted.extend(
                read.indices
                    .iter()
                    .zip(classes)
                    .map(|(&i, c)| (i, c as usize)),
            );
        }
        totals.add(out.loss, out.output, out.targets, read.labels.len());
    }
    totals.read()
}

/// Running sums of a pass kept on the device — the loss times the batch size and the
/// confusion counts — so a step costs no read back; [`read`](Self::read) syncs once.
pub struct StepTotals {
    num_classes: usize,
    loss_sum: Tensor<1>,
    /// Row-major `[true][predicted]` counts, flattened.
    confusion: Tensor<1, Int>,
    /// `0..K²`, the cell ids one-hot matching compares against.
    cells: Tensor<2, Int>,
    seen: usize,
}

impl StepTotals {
    /// Zero totals for `num_classes` classes, kept on `device`.
    pub fn new(num_classes: usize, device: &Device) -> Self {
        let k2 = (num_classes * num_classes) as i64;
        Self {
            num_classes,
            loss_sum: Tensor::zeros([1], device),
            confusion: Tensor::zeros([k2 as usize], device),
            cells: Tensor::<1, Int>::arange(0..k2, device).unsqueeze_dim(0),
            seen: 0,
        }
    }

    /// Adds a batch: its mean `loss`, its `logits` and `targets`.
    ///
    /// # Shapes
    /// - loss: `[1]`, logits: `[batch, classes]`, targets: `[batch]`
    pub fn add(&mut self, loss: Tensor<1>, logits: Tensor<2>, targets: Tensor<1, Int>, n: usize) {
        self.loss_sum = self.loss_sum.clone() + loss.mul_scalar(n as f32);
        let predicted = logits.argmax(1).squeeze_dim::<1>(1);
        let cell = targets.mul_scalar(self.num_classes as i64) + predicted;
        // [batch, 1] == [1, K²] -> one-hot rows, summed over the batch.
        let counts = cell
            .unsqueeze_dim::<2>(1)
            .equal(self.cells.clone())
            .int()
            .sum_dim(0)
            .squeeze_dim::<1>(0);
        self.confusion = self.confusion.clone() + counts;
        self.seen += n;
    }

    /// Samples added so far.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// The mean loss so far (one read back).
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum.clone().into_scalar::<f32>() as f64 / self.seen.max(1) as f64
    }

    /// The scores and confusion matrix of everything added (two reads back).
    pub fn read(&self) -> (EvalScores, ConfusionMatrix) {
        let counts: Vec<u64> = self
            .confusion
            .clone()
            .into_data_as::<i64>()
            .try_to_vec::<i64>()
            .expect("confusion counts read back as i64")
            .into_iter()
            .map(|c| c as u64)
            .collect();
        let confusion = ConfusionMatrix::from_counts(self.num_classes, counts);
        let scores = EvalScores {
            loss: self.mean_loss(),
            accuracy: confusion.accuracy(),
            precision: confusion.macro_precision(),
            recall: confusion.macro_recall(),
            f1: confusion.macro_f1(),
        };
        (scores, confusion)
    }
}

#[cfg(test)]
mod tests {
    use super::eval_batch;

    #[test]
    fn evaluation_batches_shrink_for_large_images_only() {
        // MNIST: 3,136 bytes of f32 per image, 500 fit in 64 MiB.
        assert_eq!(eval_batch([1, 28, 28]), 500);
        // 224x224 RGB: 602,112 bytes each; 64 MiB / 602,112 = 111.4.
        assert_eq!(eval_batch([3, 224, 224]), 111);
        // An image larger than the budget still goes one at a time.
        assert_eq!(eval_batch([3, 8192, 8192]), 1);
    }
}
