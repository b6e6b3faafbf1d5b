//! Training batches: straight from the data set, or through `[augment]` — image ops on the CPU
//! or on the device, then MixUp/CutMix with soft targets.

use burn::tensor::{Device, Int, Tensor, TensorData};
use temper_augment::image::{MixConfig, mix_batch};
use temper_data::{ImageBatch, ImageBatcher, ImageData, Normalization};

use crate::error::TrainError;
use crate::run::Progress;
use crate::run::augment::BatchAugmenter;

/// Builds each training batch of a run.
pub(crate) struct BatchBuilder<'a> {
    pub dataset: &'a dyn ImageData,
    pub batcher: &'a ImageBatcher,
    pub normalization: &'a Normalization,
    pub augmenter: Option<&'a BatchAugmenter>,
    pub mix: Option<&'a MixConfig>,
    pub device: &'a Device,
    pub seed: u64,
    /// Replay the image ops on the device (set on wgpu; cleared when an op has no device
    /// implementation).
    pub on_device: bool,
}

impl BatchBuilder<'_> {
    /// The batch of dataset `indices`, step `step` of `epoch`, and its soft targets when
    /// MixUp/CutMix or label smoothing are on.
    ///
    /// # Shapes
    /// - soft targets: `[indices.len(), classes]`
    pub fn build(
        &mut self,
        indices: &[usize],
        epoch: usize,
        step: usize,
        progress: &mut dyn Progress,
    ) -> Result<(ImageBatch, Option<Tensor<2>>), TrainError> {
        if self.augmenter.is_none() && self.mix.is_none() {
            let batch = self
                .batcher
                .batch_indices(self.dataset, indices, self.device);
            return Ok((batch, None));
        }
        let labels: Vec<usize> = indices.iter().map(|&i| self.dataset.label(i)).collect();
        if let (Some(aug), true, None) = (self.augmenter, self.on_device, self.mix) {
            match aug.augment_on_device(
                self.dataset,
                indices,
                epoch,
                self.normalization,
                self.device,
            ) {
                Ok(images) => {
                    let targets: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
                    let targets = Tensor::<1, Int>::from_data(
                        TensorData::new(targets, [labels.len()]),
                        self.device,
                    );
                    return Ok((ImageBatch { images, targets }, None));
                }
                Err(e) => {
                    progress.message(&format!(
                        "augment: {e}; augmenting on the CPU for the rest of the run"
                    ));
                    self.on_device = false;
                }
            }
        }
        let pixels: Vec<Vec<u8>> = match self.augmenter {
            Some(aug) => aug.augment(self.dataset, indices, epoch),
            None => indices
                .iter()
                .map(|&i| self.dataset.image(i).to_vec())
                .collect(),
        };
        let Some(cfg) = self.mix else {
            return Ok((
                self.batcher.batch_pixels(&pixels, &labels, self.device),
                None,
            ));
        };
        let [c, h, w] = self.dataset.image_shape();
        let classes = self.dataset.num_classes();
        let mut values = self.batcher.normalize(&pixels);
        let (soft, _) = mix_batch(
            cfg,
            &mut values,
            [indices.len(), c, h, w],
            &labels,
            classes,
            self.seed,
            epoch as u32,
            step as u32,
        )
        .map_err(|e| TrainError::Config(format!("augment: {e}")))?;
        let soft =
            Tensor::<2>::from_data(TensorData::new(soft, [indices.len(), classes]), self.device);
        Ok((
            self.batcher.batch_values(values, &labels, self.device),
            Some(soft),
        ))
    }
}
