//! Training batches in two stages: on the CPU ([`HostStage`]: read — decoding a streamed image
//! —, `[augment]` image ops, MixUp/CutMix), which the loader's workers run ahead of the step,
//! then on the device ([`Upload`]: the tensors, and on wgpu the image ops replayed there).
//!
//! A host batch depends only on (seed, epoch, step, the dataset indices), never on the thread
//! that built it or on how far ahead it was built, so a run is the same at any worker count and
//! prefetch depth. An image that cannot be read (a corrupt or vanished file of a streamed
//! folder) is left out of its batch and reported in [`HostBatch::bad`].

use std::borrow::Cow;

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

impl HostBatch {
    /// A batch of no image yet, with room for `n`.
    fn empty(n: usize) -> Self {
        Self {
            indices: Vec::with_capacity(n),
            labels: Vec::with_capacity(n),
            content: HostContent::Raw(Vec::new()),
            bad: Vec::new(),
        }
    }
}

/// What a [`HostBatch`] carries.
pub(crate) enum HostContent {
    /// Normalized `[N, C, H, W]` values (augmented on the CPU, mixed by MixUp/CutMix when
    /// configured, then with their `[N, classes]` soft targets).
    Values {
        values: Vec<f32>,
        soft: Option<Vec<f32>>,
    },
    /// `[C, H, W]` pixels as read, their image ops left to the device.
    Raw(Vec<Vec<u8>>),
}

impl HostStage<'_> {
    /// The host batch of dataset `indices`, step `step` of `epoch` (1-based), built on the
    /// current rayon pool: each worker reads, augments and normalizes images straight into
    /// their place in the batch.
    pub fn build(&self, indices: &[usize], epoch: usize, step: usize) -> Result<HostBatch, String> {
        if self.device_ops {
            return Ok(self.build_raw(indices));
        }
        let [c, h, w] = self.dataset.image_shape();
        let size = c * h * w;
        let mut values = vec![0.0f32; indices.len() * size];
        let read: Vec<Result<(), String>> = values
            .par_chunks_mut(size)
            .zip(indices)
            .map(|(slot, &i)| {
                let pixels = self.read(i, epoch).map_err(|e| one_line(&e))?;
                self.batcher.normalization.apply_into(&pixels, c, slot);
                Ok(())
            })
            .collect();
        let mut batch = HostBatch::empty(indices.len());
        // Close the gaps unreadable images left, keeping the batch order.
        for (k, (&i, result)) in indices.iter().zip(read).enumerate() {
            match result {
                Ok(()) => {
                    let at = batch.indices.len();
                    values.copy_within(k * size..(k + 1) * size, at * size);
                    batch.indices.push(i);
                    batch.labels.push(self.dataset.label(i));
                }
                Err(e) => batch.bad.push(e),
            }
        }
        values.truncate(batch.indices.len() * size);
        let soft = match self.mix {
            Some(cfg) if !batch.labels.is_empty() => {
                Some(self.mix(cfg, &mut values, &batch.labels, epoch, step)?)
            }
            _ => None,
        };
        batch.content = HostContent::Values { values, soft };
        Ok(batch)
    }

    /// The images of `indices` as read, for the device to augment.
    fn build_raw(&self, indices: &[usize]) -> HostBatch {
        let read = read_images(self.dataset, indices);
        HostBatch {
            indices: read.indices,
            labels: read.labels,
            content: HostContent::Raw(read.images.into_iter().map(Cow::into_owned).collect()),
            bad: read.bad,
        }
    }

    /// Image `index` as the step needs it, augmented on the CPU.
    fn read(&self, index: usize, epoch: usize) -> temper_data::Result<Cow<'_, [u8]>> {
        match self.augmenter {
            Some(aug) => aug.augment_one(self.dataset, index, epoch).map(Cow::Owned),
            None => self.dataset.try_image(index),
        }
    }

    /// MixUp/CutMix over the normalized batch `values`, in place; the soft targets.
    fn mix(
        &self,
        cfg: &MixConfig,
        values: &mut [f32],
        labels: &[usize],
        epoch: usize,
        step: usize,
    ) -> Result<Vec<f32>, String> {
        let [c, h, w] = self.dataset.image_shape();
        let classes = self.dataset.num_classes();
        let (soft, _) = mix_batch(
            cfg,
            values,
            [labels.len(), c, h, w],
            labels,
            classes,
            self.seed,
            epoch as u32,
            step as u32,
        )
        .map_err(|e| format!("augment: {e}"))?;
        Ok(soft)
    }
}

/// The images of a batch that could be read, in order, and the errors of those that could not.
pub(crate) struct ReadImages<'d> {
    /// The dataset indices of the images read.
    pub indices: Vec<usize>,
    /// Their labels.
    pub labels: Vec<usize>,
    /// Their `[C, H, W]` pixels (borrowed from data held in memory).
    pub images: Vec<Cow<'d, [u8]>>,
    /// One line per image that could not be read, naming its file.
    pub bad: Vec<String>,
}

/// Reads the images of `indices` in parallel on the current rayon pool (a streamed folder's
/// are decoded), keeping the batch order and setting the unreadable ones aside.
pub(crate) fn read_images<'d>(dataset: &'d dyn ImageData, indices: &[usize]) -> ReadImages<'d> {
    let read: Vec<_> = indices.par_iter().map(|&i| dataset.try_image(i)).collect();
    let mut out = ReadImages {
        indices: Vec::with_capacity(indices.len()),
        labels: Vec::with_capacity(indices.len()),
        images: Vec::with_capacity(indices.len()),
        bad: Vec::new(),
    };
    for (&i, image) in indices.iter().zip(read) {
        match image {
            Ok(image) => {
                out.indices.push(i);
                out.labels.push(dataset.label(i));
                out.images.push(image);
            }
            Err(e) => out.bad.push(one_line(&e)),
        }
    }
    out
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
        let pixels = match host.content {
            HostContent::Values { values, soft } => {
                let soft = soft.map(|soft| {
                    Tensor::from_data(TensorData::new(soft, [n, self.classes]), self.device)
                });
                return Ok((
                    self.batcher.batch_values(values, &host.labels, self.device),
                    soft,
                ));
            }
            HostContent::Raw(pixels) => pixels,
        };
        let Some(aug) = self.augmenter else {
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
