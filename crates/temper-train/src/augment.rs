//! `[augment]` in training: the CPU image pipeline of temper-augment applied to each batch.
//!
//! Each sample's randomness derives from (seed, epoch, dataset index) — not from its place in
//! the shuffled batch — so a run is the same at any thread count and batch order.

use rayon::prelude::*;
use std::path::Path;

use temper_augment::image::{AugImage, AugmentSettings, Pipeline, Policy, preview_grid};
use temper_data::ImageDataset;

use crate::error::TrainError;
use crate::experiment::Experiment;
use crate::trainer::load_data;

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
        dataset: &ImageDataset,
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
            let out = augmenter
                .pipeline
                .augment(&augmenter.to_image(dataset.image(0)), seed, 0, 0);
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
    pub fn augment(&self, dataset: &ImageDataset, indices: &[usize], epoch: usize) -> Vec<Vec<u8>> {
        indices
            .par_iter()
            .map(|&i| {
                let img = self.to_image(dataset.image(i));
                let out = self
                    .pipeline
                    .augment(&img, self.seed, epoch as u32, i as u32);
                self.to_chw(&out)
            })
            .collect()
    }

    fn to_image(&self, chw: &[u8]) -> AugImage {
        let [c, h, w] = self.shape;
        let hwc = if c == 1 {
            chw.to_vec()
        } else {
            let mut out = vec![0u8; chw.len()];
            for ch in 0..c {
                for p in 0..h * w {
                    out[p * c + ch] = chw[ch * h * w + p];
                }
            }
            out
        };
        AugImage::from_raw(w as u32, h as u32, c, hwc).expect("size matches the data shape")
    }

    fn to_chw(&self, img: &AugImage) -> Vec<u8> {
        let [c, h, w] = self.shape;
        let hwc = img.as_raw();
        if c == 1 {
            return hwc.to_vec();
        }
        let mut out = vec![0u8; hwc.len()];
        for ch in 0..c {
            for p in 0..h * w {
                out[ch * h * w + p] = hwc[p * c + ch];
            }
        }
        out
    }
}

/// Writes a PNG grid for `temper augment preview`: one row per training image (the first
/// `rows` of the data set), the original then `variants` augmentations (epochs 0, 1, ...),
/// each pixel drawn `scale` x `scale`.
pub fn augment_preview(
    exp: &Experiment,
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
    let data = load_data(&exp.data.data_source()?)?;
    let augmenter = BatchAugmenter::new(&settings, exp.train.seed, &data.train)?;
    let images: Vec<AugImage> = (0..rows.min(data.train.len()))
        .map(|i| augmenter.to_image(data.train.image(i)))
        .collect();
    let grid = preview_grid(&images, &augmenter.pipeline, exp.train.seed, variants);
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
        .map_err(|e| TrainError::Config(e.to_string()))
}
