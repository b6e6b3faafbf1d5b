//! Training batches in two stages: on the CPU ([`HostStage`]: read — decoding a streamed image
//! —, `[augment]` image ops, MixUp/CutMix), which the loader's workers run ahead of the step,
//! then on the device ([`Upload`]: the tensors, and on wgpu the image ops replayed there).
//!
//! A host batch depends only on (seed, epoch, step, the dataset indices), never on the thread
//! that built it or on how far ahead it was built, so a run is the same at any worker count and
//! prefetch depth. An image that cannot be read (a corrupt or vanished file of a streamed
//! folder) is left out of its batch and reported in [`HostBatch::bad`].

use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;
use temper_augment::image::{MixConfig, mix_batch};
use temper_data::bounded::clip;
use temper_data::{ImageBatch, ImageBatcher, ImageData, Normalization};

use crate::error::TrainError;
use crate::run::Progress;
use crate::run::augment::BatchAugmenter;

/// The CPU half of building a training batch; shared by the loader's worker threads.
pub(crate) struct HostStage<'a> {
    pub dataset: &'a dyn ImageData,
    pub batcher: &'a ImageBatcher,
    pub augmenter: Option<&'a BatchAugmenter>,
    pub mix: Option<&'a MixConfig>,
    pub seed: u64,
    /// Leave the image ops to the device: host batches then hold the images as read.
    pub device_ops: bool,
}

/// A batch built on the CPU, waiting for the device.
pub(crate) struct HostBatch {
    /// The dataset indices of the images in the batch (the readable ones, in batch order).
    pub indices: Vec<usize>,
    /// Their labels.
    pub labels: Vec<usize>,
    pub content: HostContent,
    /// The images of the step that could not be read, each as a one-line error naming its file.
    pub bad: Vec<String>,
}

/// What a [`HostBatch`] carries.
pub(crate) enum HostContent {
    /// `[C, H, W]` pixels, augmented already or (`augmented = false`) as read, their image ops
    /// left to the device.
    Pixels {
        images: Vec<Vec<u8>>,
        augmented: bool,
    },
    /// Normalized `[N, C, H, W]` values mixed by MixUp/CutMix, with their `[N, classes]` soft
    /// targets.
    Mixed { values: Vec<f32>, soft: Vec<f32> },
}

impl HostStage<'_> {
    /// The host batch of dataset `indices`, step `step` of `epoch` (1-based), built on the
    /// current rayon pool.
    pub fn build(&self, indices: &[usize], epoch: usize, step: usize) -> Result<HostBatch, String> {
        let read: Vec<_> = indices
            .par_iter()
            .map(|&i| self.read(i, epoch).map_err(|e| one_line(&e)))
            .collect();
        let mut batch = HostBatch {
            indices: Vec::with_capacity(indices.len()),
            labels: Vec::with_capacity(indices.len()),
            content: HostContent::Pixels {
                images: Vec::new(),
                augmented: false,
            },
            bad: Vec::new(),
        };
        let mut pixels = Vec::with_capacity(indices.len());
        for (&i, image) in indices.iter().zip(read) {
            match image {
                Ok(image) => {
                    batch.indices.push(i);
                    batch.labels.push(self.dataset.label(i));
                    pixels.push(image);
                }
                Err(e) => batch.bad.push(e),
            }
        }
        batch.content = match self.mix {
            Some(cfg) if !pixels.is_empty() => {
                self.mixed(cfg, &pixels, &batch.labels, epoch, step)?
            }
            _ => HostContent::Pixels {
                images: pixels,
                augmented: !self.device_ops,
            },
        };
        Ok(batch)
    }

    /// Image `index` as the step needs it: augmented on the CPU unless the device replays
    /// the ops.
    fn read(&self, index: usize, epoch: usize) -> temper_data::Result<Vec<u8>> {
        match self.augmenter {
            Some(aug) if !self.device_ops => aug.augment_one(self.dataset, index, epoch),
            _ => Ok(self.dataset.try_image(index)?.into_owned()),
        }
    }

    /// MixUp/CutMix over the normalized batch.
    fn mixed(
        &self,
        cfg: &MixConfig,
        pixels: &[Vec<u8>],
        labels: &[usize],
        epoch: usize,
        step: usize,
    ) -> Result<HostContent, String> {
        let [c, h, w] = self.dataset.image_shape();
        let classes = self.dataset.num_classes();
        let mut values = self.batcher.normalize(pixels);
        let (soft, _) = mix_batch(
            cfg,
            &mut values,
            [pixels.len(), c, h, w],
            labels,
            classes,
            self.seed,
            epoch as u32,
            step as u32,
        )
        .map_err(|e| format!("augment: {e}"))?;
        Ok(HostContent::Mixed { values, soft })
    }
}

/// A data error as one line of at most 400 characters (a decoder's message may span lines).
pub(crate) fn one_line(error: &temper_data::DataError) -> String {
    clip(error.to_string().trim_end(), 400)
}

/// The device half: turns host batches into tensors on the training device.
pub(crate) struct Upload<'a> {
    pub batcher: &'a ImageBatcher,
    pub normalization: &'a Normalization,
    pub augmenter: Option<&'a BatchAugmenter>,
    pub device: &'a Device,
    pub classes: usize,
    /// Replay the image ops on the device (the host stage left them out); cleared when the
    /// device cannot, and the rest of the run augments on the CPU.
    pub device_ops: bool,
}

impl Upload<'_> {
    /// The batch of `host` on the device, and its soft targets when MixUp/CutMix made them.
    ///
    /// # Shapes
    /// - soft targets: `[batch, classes]`
    pub fn upload(
        &mut self,
        host: HostBatch,
        epoch: usize,
        progress: &mut dyn Progress,
    ) -> Result<(ImageBatch, Option<Tensor<2>>), TrainError> {
        let n = host.labels.len();
        let (pixels, augmented) = match host.content {
            HostContent::Mixed { values, soft } => {
                let soft = TensorData::new(soft, [n, self.classes]);
                return Ok((
                    self.batcher.batch_values(values, &host.labels, self.device),
                    Some(Tensor::from_data(soft, self.device)),
                ));
            }
            HostContent::Pixels { images, augmented } => (images, augmented),
        };
        let Some(aug) = self.augmenter.filter(|_| !augmented) else {
            return Ok((
                self.batcher
                    .batch_pixels(&pixels, &host.labels, self.device),
                None,
            ));
        };
        if self.device_ops {
            match aug.augment_on_device(
                &pixels,
                &host.indices,
                epoch,
                self.normalization,
                self.device,
            ) {
                Ok(images) => {
                    let targets: Vec<i64> = host.labels.iter().map(|&l| l as i64).collect();
                    let targets =
                        Tensor::<1, Int>::from_data(TensorData::new(targets, [n]), self.device);
                    return Ok((ImageBatch { images, targets }, None));
                }
                Err(e) => {
                    progress.message(&format!(
                        "augment: {e}; augmenting on the CPU for the rest of the run"
                    ));
                    self.device_ops = false;
                }
            }
        }
        // The host stage left the ops to the device, which cannot run them.
        let augmented: Vec<Vec<u8>> = pixels
            .par_iter()
            .zip(&host.indices)
            .map(|(p, &i)| aug.augment_pixels(p, i, epoch))
            .collect();
        Ok((
            self.batcher
                .batch_pixels(&augmented, &host.labels, self.device),
            None,
        ))
    }
}
