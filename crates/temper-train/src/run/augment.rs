//! `[augment]` in training: the CPU image pipeline of temper-augment applied to each batch.
//!
//! Each sample's randomness derives from (seed, epoch, dataset index) — not from its place in
//! the shuffled batch — so a run is the same at any thread count and batch order.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use temper_augment::image::{
    AugImage, AugmentSettings, ImageAugError, MixConfig, Op, Pipeline, Policy, apply_batch_device,
    preview_grid,
};
use temper_data::Normalization;
use temper_data::{ImageData, to_interleaved, to_planar};

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

/// `[augment]` of `exp` built for `data`: the per-image pipeline (ops or a policy) and the
/// batch mixing (MixUp/CutMix), each when configured.
pub(crate) fn augment_parts(
    exp: &Experiment,
    data: &dyn ImageData,
) -> Result<(Option<BatchAugmenter>, Option<MixConfig>), TrainError> {
    let Some(settings) = parse_augment(exp.augment.as_ref())? else {
        return Ok((None, None));
    };
    let augmenter = match has_image_ops(&settings) {
        true => Some(BatchAugmenter::new(&settings, exp.train.seed, data)?),
        false => None,
    };
    let mix = match settings.uses_soft_targets() {
        true => Some(
            settings
                .mix()
                .map_err(|e| TrainError::Config(format!("augment: {e}")))?,
        ),
        false => None,
    };
    Ok((augmenter, mix))
}

/// Whether the settings transform single images (ops or a policy), as opposed to only mixing
/// batches.
pub fn has_image_ops(settings: &AugmentSettings) -> bool {
    !settings.ops.is_empty() || settings.policy != Policy::None
}

/// Applies `pipeline` to the `[C, H, W]` images of a data set, one at a time; the loader runs
/// it on its worker threads.
///
/// When the data set keeps its images at their own size (a streamed folder:
/// `ImageData::source_image`) and the pipeline starts with a random-resized crop or a resize
/// that gives the model's size whatever size it is fed, the pipeline runs on the
/// image at its own size, as torchvision's `RandomResizedCrop` on a PIL image does, rather than
/// on the image already resized to `image_size`, which would crop a blurred copy.
pub struct BatchAugmenter {
    pipeline: Pipeline,
    seed: u64,
    shape: [usize; 3],
    /// Feed the pipeline the data set's source-size images.
    from_source: bool,
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
        let mut augmenter = Self {
            pipeline,
            seed,
            shape,
            from_source: false,
        };
        let [c, h, w] = shape;
        // Every op's output size is fixed by its config, so one sample of each size tells.
        let out_size = |w: usize, h: usize| {
            let probe = AugImage::from_raw(w as u32, h as u32, c, vec![128; w * h * c])
                .expect("the probe's size matches its buffer");
            let out = augmenter.pipeline.augment(&probe, seed, 0, 0);
            [out.height() as usize, out.width() as usize]
        };
        if out_size(w, h) != [h, w] {
            let [oh, ow] = out_size(w, h);
            return Err(TrainError::Config(format!(
                "augment: the ops turn {w}x{h} images into {ow}x{oh}; the model needs {w}x{h} \
                 (add a resize or crop to that size)"
            )));
        }
        let resizes_first = matches!(
            augmenter.pipeline.ops().first(),
            Some(Op::RandomResizedCrop(_) | Op::Resize(_))
        );
        let streamed = !dataset.is_empty() && matches!(dataset.source_image(0), Ok(Some(_)));
        augmenter.from_source =
            resizes_first && streamed && out_size(w * 2 + 7, h * 3 / 2 + 5) == [h, w];
        Ok(augmenter)
    }

    /// Whether the pipeline runs on the images at their own size (see the type's docs); the
    /// device cannot replay it then, as the images of a batch differ in size.
    pub fn crops_sources(&self) -> bool {
        self.from_source
    }

    /// The augmented `[C, H, W]` pixels of image `index` of `dataset` in `epoch` (1-based).
    ///
    /// # Errors
    /// When the image cannot be read (a corrupt file of a streamed folder).
    pub fn augment_one(
        &self,
        dataset: &dyn ImageData,
        index: usize,
        epoch: usize,
    ) -> temper_data::Result<Vec<u8>> {
        let source = match self.from_source {
            true => dataset.source_image(index)?,
            false => None,
        };
        let Some(s) = source else {
            return Ok(self.augment_pixels(&dataset.try_image(index)?, index, epoch));
        };
        let image = AugImage::from_raw(s.width as u32, s.height as u32, s.channels, s.pixels)
            .expect("a decoded image's size matches its buffer");
        Ok(self.augment_image(&image, index, epoch))
    }

    /// [`augment_one`](Self::augment_one) on `pixels`, the image at `index` already read.
    pub fn augment_pixels(&self, pixels: &[u8], index: usize, epoch: usize) -> Vec<u8> {
        self.augment_image(&self.to_image(pixels), index, epoch)
    }

    /// The pipeline's draw for `(seed, epoch, index)` applied to `image`, as `[C, H, W]`.
    fn augment_image(&self, image: &AugImage, index: usize, epoch: usize) -> Vec<u8> {
        let out = self
            .pipeline
            .augment(image, self.seed, epoch as u32, index as u32);
        self.to_chw(&out)
    }

    /// The same augmentation built on `device` (the trainer's choice on wgpu): the raw pixels
    /// go up once as `0..=255` floats, each sample's parameters — drawn exactly as
    /// [`augment_one`](Self::augment_one) draws them — are replayed there by temper-augment's
    /// `apply_batch_device`, and the batch is normalized on the device. Every op has a device
    /// implementation; noise and random erase fills are drawn by the device's RNG (same
    /// distribution, other values), which the trainer re-seeds from (seed, epoch). An error
    /// (e.g. ops giving the samples different sizes) makes the caller fall back to the CPU.
    ///
    /// # Shapes
    /// - output: `[indices.len(), C, H, W]`, normalized
    pub fn augment_on_device(
        &self,
        pixels: &[Vec<u8>],
        indices: &[usize],
        epoch: usize,
        normalization: &Normalization,
        device: &Device,
    ) -> Result<Tensor<4>, ImageAugError> {
        let [c, h, w] = self.shape;
        let mut raw = Vec::with_capacity(indices.len() * c * h * w);
        for image in pixels {
            raw.extend(image.iter().map(|&p| p as f32));
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
        let hwc = to_interleaved(chw, c);
        AugImage::from_raw(w as u32, h as u32, c, hwc).expect("size matches the data shape")
    }

    fn to_chw(&self, img: &AugImage) -> Vec<u8> {
        to_planar(img.as_raw(), self.shape[0])
    }
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
    use super::*;
    use temper_data::{FolderOptions, StreamOptions, open_image_folder, read_image_folder};

    /// Standard deviation of `pixels`.
    fn std_dev(pixels: &[u8]) -> f64 {
        let n = pixels.len() as f64;
        let mean = pixels.iter().map(|&p| p as f64).sum::<f64>() / n;
        (pixels
            .iter()
            .map(|&p| (p as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    }

    /// A fine checkerboard (2-pixel squares) of 96x72 vanishes to gray when the image is first
    /// resized to 12x12; a random-resized crop of 1% of the area taken at the image's own size
    /// (about 8x8 pixels, enlarged to 12x12) still shows it.
    #[test]
    fn a_random_resized_crop_on_a_streamed_folder_crops_each_image_at_its_own_size() {
        let dir = tempfile::tempdir().unwrap();
        for class in ["a", "b"] {
            std::fs::create_dir_all(dir.path().join(class)).unwrap();
            image::GrayImage::from_fn(96, 72, |x, y| {
                image::Luma([if (x / 2 + y / 2) % 2 == 0 { 0 } else { 255 }])
            })
            .save(dir.path().join(class).join("0.png"))
            .unwrap();
        }
        let folder = FolderOptions {
            image_size: Some([12, 12]),
            channels: Some(1),
            test_fraction: 0.0,
            ..FolderOptions::default()
        };
        let settings: AugmentSettings = toml::from_str(
            "ops = [{ op = 'random-resized-crop', size = 12, scale = [0.01, 0.01] }]",
        )
        .unwrap();
        let options = StreamOptions {
            folder: folder.clone(),
            cache: None,
        };
        let streamed = open_image_folder(dir.path(), &options, &|_, _| {}).unwrap();
        let memory = read_image_folder(dir.path(), &folder, &|_, _| {}).unwrap();
        let on_stream = BatchAugmenter::new(&settings, 3, &streamed.train).unwrap();
        let in_memory = BatchAugmenter::new(&settings, 3, &memory.train).unwrap();
        assert!(on_stream.crops_sources() && !in_memory.crops_sources());
        let sharp = on_stream.augment_one(&streamed.train, 0, 1).unwrap();
        let blurred = in_memory.augment_one(&memory.train, 0, 1).unwrap();
        assert_eq!((sharp.len(), blurred.len()), (144, 144));
        assert!(std_dev(&sharp) > 60.0, "{}", std_dev(&sharp));
        assert!(std_dev(&blurred) < 20.0, "{}", std_dev(&blurred));
    }
}
