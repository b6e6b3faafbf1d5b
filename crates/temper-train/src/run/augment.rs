//! `[augment]` in training: the CPU image pipeline of temper-augment applied to each batch.
//!
//! Each sample's randomness derives from (seed, epoch, dataset index) — not from its place in
//! the shuffled batch — so a run is the same at any thread count and batch order.

use rayon::prelude::*;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use temper_augment::image::{
    AugImage, AugmentSettings, ImageAugError, Pipeline, Policy, apply_batch_device, preview_grid,
};
use temper_data::ImageData;
use temper_data::Normalization;

use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::load_data;

/// The `[augment]` table parsed and checked, or `None` when it is absent or empty.
pub fn parse_augment(table: Option<&toml::Table>) -> Result<Option<AugmentSettings>, TrainError> {
    let Some(table) = table.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let settings: AugmentSettings =
        toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                TrainError::Config(format!(
                    "augment: {}",
                    e.message().trim().replace('\n', " ")
                ))
            })?;
    settings
        .validate()
        .map_err(|e| TrainError::Config(format!("augment: {e}")))?;
    Ok(Some(settings))
}

/// Whether the settings transform single images (ops or a policy), as opposed to only mixing
/// batches.
pub fn has_image_ops(settings: &AugmentSettings) -> bool {
    !settings.ops.is_empty() || settings.policy != Policy::None
}

/// Applies `pipeline` to the `[C, H, W]` images of `dataset` at `indices`, in parallel.
pub struct BatchAugmenter {
    pipeline: Pipeline,
    seed: u64,
    shape: [usize; 3],
}

impl BatchAugmenter {
    /// Checks that the pipeline keeps the data's image size (the model's input).
    pub fn new(
        settings: &AugmentSettings,
        seed: u64,
        dataset: &dyn ImageData,
    ) -> Result<Self, TrainError> {
        let pipeline = settings
            .pipeline()
            .map_err(|e| TrainError::Config(format!("augment: {e}")))?;
        let shape = dataset.image_shape();
        if shape[0] != 1 && shape[0] != 3 {
            return Err(TrainError::Config(format!(
                "augment: images have {} channels; augmentation takes gray (1) or RGB (3)",
                shape[0]
            )));
        }
        let augmenter = Self {
            pipeline,
            seed,
            shape,
        };
        if !dataset.is_empty() {
            // Every op's output size is fixed by its config, so one sample tells.
            let out =
                augmenter
                    .pipeline
                    .augment(&augmenter.to_image(&dataset.image(0)), seed, 0, 0);
            let (w, h) = (out.width() as usize, out.height() as usize);
            if [h, w] != [shape[1], shape[2]] {
                return Err(TrainError::Config(format!(
                    "augment: the ops turn {}x{} images into {w}x{h}; the model needs {}x{} \
                     (add a resize or crop to that size)",
                    shape[2], shape[1], shape[2], shape[1]
                )));
            }
        }
        Ok(augmenter)
    }

    /// The augmented `[C, H, W]` pixels of `indices` in `epoch` (1-based).
    pub fn augment(
        &self,
        dataset: &dyn ImageData,
        indices: &[usize],
        epoch: usize,
    ) -> Vec<Vec<u8>> {
        indices
            .par_iter()
            .map(|&i| {
                let img = self.to_image(&dataset.image(i));
                let out = self
                    .pipeline
                    .augment(&img, self.seed, epoch as u32, i as u32);
                self.to_chw(&out)
            })
            .collect()
    }

    /// The same augmentation built on `device` (the trainer's choice on wgpu): the raw pixels
    /// go up once as `0..=255` floats, each sample's parameters — drawn exactly as
    /// [`augment`](Self::augment) draws them — are replayed there by temper-augment's
    /// `apply_batch_device`, and the batch is normalized on the device. Every op has a device
    /// implementation; noise and random erase fills are drawn by the device's RNG (same
    /// distribution, other values), which the trainer re-seeds from (seed, epoch). An error
    /// (e.g. ops giving the samples different sizes) makes the caller fall back to the CPU.
    ///
    /// # Shapes
    /// - output: `[indices.len(), C, H, W]`, normalized
    pub fn augment_on_device(
        &self,
        dataset: &dyn ImageData,
        indices: &[usize],
        epoch: usize,
        normalization: &Normalization,
        device: &Device,
    ) -> Result<Tensor<4>, ImageAugError> {
        let [c, h, w] = self.shape;
        let mut raw = Vec::with_capacity(indices.len() * c * h * w);
        for &i in indices {
            raw.extend(dataset.image(i).iter().map(|&p| p as f32));
        }
        let images = Tensor::<4>::from_data(TensorData::new(raw, [indices.len(), c, h, w]), device);
        let params: Vec<_> = indices
            .iter()
            .map(|&i| {
                self.pipeline
                    .sample_for(self.seed, epoch as u32, i as u32, w as u32, h as u32)
            })
            .collect();
        let augmented = apply_batch_device(images, &params)?;
        // Normalization::apply's p * scale - shift, per channel, broadcast over [N, C, H, W].
        let per_channel = |f: &dyn Fn(usize) -> f32| {
            let values: Vec<f32> = (0..c).map(f).collect();
            Tensor::<4>::from_data(TensorData::new(values, [1, c, 1, 1]), device)
        };
        let std = |k: usize| normalization.std[k % normalization.std.len()];
        let mean = |k: usize| normalization.mean[k % normalization.mean.len()];
        let scale = per_channel(&|k| 1.0 / (255.0 * std(k)));
        let shift = per_channel(&|k| mean(k) / std(k));
        Ok(augmented * scale - shift)
    }

    fn to_image(&self, chw: &[u8]) -> AugImage {
        let [c, h, w] = self.shape;
        let hwc = transpose_planes(chw, c, h * w, true);
        AugImage::from_raw(w as u32, h as u32, c, hwc).expect("size matches the data shape")
    }

    fn to_chw(&self, img: &AugImage) -> Vec<u8> {
        let [c, h, w] = self.shape;
        transpose_planes(img.as_raw(), c, h * w, false)
    }
}

/// Planar `[C, H*W]` to interleaved `[H*W, C]` (`to_interleaved`) or back; gray is a copy.
fn transpose_planes(src: &[u8], channels: usize, plane: usize, to_interleaved: bool) -> Vec<u8> {
    if channels == 1 {
        return src.to_vec();
    }
    let mut out = vec![0u8; src.len()];
    for ch in 0..channels {
        for p in 0..plane {
            let (planar, interleaved) = (ch * plane + p, p * channels + ch);
            if to_interleaved {
                out[interleaved] = src[planar];
            } else {
                out[planar] = src[interleaved];
            }
        }
    }
    out
}

/// Writes a PNG grid for `temper augment preview`: one row per image — the first `rows`
/// training images, or the one at `image` (PNG/JPEG/BMP) — the original then `variants`
/// augmentations (epochs 0, 1, ...), each pixel drawn `scale` x `scale`.
pub fn augment_preview(
    exp: &Experiment,
    image: Option<&Path>,
    rows: usize,
    variants: usize,
    scale: usize,
    png: &Path,
) -> Result<(), TrainError> {
    exp.validate()?;
    let settings = parse_augment(exp.augment.as_ref())?.ok_or_else(|| {
        TrainError::Config(
            "augment: the experiment has no [augment] ops or policy to preview".into(),
        )
    })?;
    let augment_err = |e: ImageAugError| TrainError::Config(format!("augment: {e}"));
    let (images, pipeline) = match image {
        Some(path) => (
            vec![AugImage::open(path).map_err(augment_err)?],
            settings.pipeline().map_err(augment_err)?,
        ),
        None => {
            let data = load_data(&exp.data.data_source()?, &mut crate::run::Silent)?;
            let augmenter = BatchAugmenter::new(&settings, exp.train.seed, &data.train)?;
            let images = (0..rows.min(data.train.len()))
                .map(|i| augmenter.to_image(data.train.image(i)))
                .collect();
            (images, augmenter.pipeline)
        }
    };
    let grid = preview_grid(&images, &pipeline, exp.train.seed, variants);
    let (w, h) = (grid.width() as usize, grid.height() as usize);
    let raw = grid.into_raw();
    let scale = scale.max(1);
    let mut big = Vec::with_capacity(raw.len() * scale * scale);
    for y in 0..h * scale {
        for x in 0..w * scale {
            let p = ((y / scale) * w + x / scale) * 3;
            big.extend_from_slice(&raw[p..p + 3]);
        }
    }
    AugImage::from_raw((w * scale) as u32, (h * scale) as u32, 3, big)
        .expect("the scaled size matches the buffer")
        .save_png(png)
        .map_err(augment_err)
}

#[cfg(test)]
mod tests {
    use super::transpose_planes;

    #[test]
    fn planes_interleave_into_pixels_and_back() {
        // Two pixels, RGB planar [R R G G B B] <-> interleaved [R G B R G B].
        let planar = [1, 2, 10, 20, 100, 200];
        let interleaved = transpose_planes(&planar, 3, 2, true);
        assert_eq!(interleaved, vec![1, 10, 100, 2, 20, 200]);
        assert_eq!(transpose_planes(&interleaved, 3, 2, false), planar.to_vec());
        assert_eq!(transpose_planes(&[7, 8], 1, 2, true), vec![7, 8]);
    }
}
