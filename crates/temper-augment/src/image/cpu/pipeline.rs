//! [`Pipeline`]: a validated list of ops; per-sample streams keyed by (seed, epoch, index);
//! batch augmentation in parallel with rayon; the preview grid.

use image::{Rgb, RgbImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::image::cpu::apply_all;
use crate::image::cpu::raster::AugImage;
use crate::image::error::Result;
use crate::image::ops::Op;
use crate::image::ops::params::OpParams;
use crate::image::ops::policy::sample_seq;

/// The random stream of sample `index` in `epoch`: ChaCha8 keyed by `seed`, on stream
/// `epoch << 32 | index`. Every sample owns its stream, so results do not depend on the
/// thread count, the batch composition or the order samples are processed in.
pub fn sample_rng(seed: u64, epoch: u32, index: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((epoch as u64) << 32) | index as u64);
    rng
}

/// A validated sequence of ops.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipeline {
    ops: Vec<Op>,
}

impl Pipeline {
    /// Validates every op (the error names the first bad one).
    pub fn new(ops: Vec<Op>) -> Result<Pipeline> {
        for op in &ops {
            op.validate()?;
        }
        Ok(Pipeline { ops })
    }

    /// The ops.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Draws every op's parameters for a `width x height` input from `rng`, each op seeing
    /// the size the previous ones produce.
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> Vec<OpParams> {
        sample_seq(&self.ops, rng, width, height)
    }

    /// The parameters of sample `index` in `epoch` (stream [`sample_rng`]).
    pub fn sample_for(
        &self,
        seed: u64,
        epoch: u32,
        index: u32,
        width: u32,
        height: u32,
    ) -> Vec<OpParams> {
        self.sample(&mut sample_rng(seed, epoch, index), width, height)
    }

    /// Augments one image as sample `index` of `epoch`.
    pub fn augment(&self, img: &AugImage, seed: u64, epoch: u32, index: u32) -> AugImage {
        let params = self.sample_for(seed, epoch, index, img.width(), img.height());
        apply_all(img, &params)
    }
}

/// Augments `images[i]` as sample `first_index + i` of `epoch`, in parallel on rayon's
/// current pool. Bit-identical for any thread count.
pub fn augment_batch(
    images: &[AugImage],
    pipeline: &Pipeline,
    seed: u64,
    epoch: u32,
    first_index: u32,
) -> Vec<AugImage> {
    images
        .par_iter()
        .enumerate()
        .map(|(i, img)| pipeline.augment(img, seed, epoch, first_index.wrapping_add(i as u32)))
        .collect()
}

/// The parameters [`augment_batch`] would use for `n` samples of `width x height`, for a
/// batched (device) path that applies them to a tensor.
pub fn sample_batch(
    pipeline: &Pipeline,
    n: usize,
    width: u32,
    height: u32,
    seed: u64,
    epoch: u32,
    first_index: u32,
) -> Vec<Vec<OpParams>> {
    (0..n)
        .map(|i| {
            pipeline.sample_for(
                seed,
                epoch,
                first_index.wrapping_add(i as u32),
                width,
                height,
            )
        })
        .collect()
}

/// Gap between preview cells, pixels.
const GAP: u32 = 2;

/// Most augmented variants per row [`preview_grid`] draws; more are not drawn. A preview is
/// looked at, so 64 columns is already more than a screen shows.
pub const MAX_PREVIEW_VARIANTS: usize = 64;

/// Most rows [`preview_grid`] draws (images past it are left out), for the same reason.
pub const MAX_PREVIEW_ROWS: usize = 256;

/// A grid with one row per image: the original, then `n_variants` augmentations (variant
/// `k` of row `r` is sample `r` of epoch `k`). Cells are as large as the largest output,
/// images centred on a mid-gray background, `2` pixels apart; gray images are shown as RGB.
/// At most [`MAX_PREVIEW_ROWS`] rows of [`MAX_PREVIEW_VARIANTS`] variants are drawn.
pub fn preview_grid(
    images: &[AugImage],
    pipeline: &Pipeline,
    seed: u64,
    n_variants: usize,
) -> RgbImage {
    let n_variants = n_variants.min(MAX_PREVIEW_VARIANTS);
    let images = &images[..images.len().min(MAX_PREVIEW_ROWS)];
    let rows: Vec<Vec<AugImage>> = images
        .par_iter()
        .enumerate()
        .map(|(r, img)| {
            std::iter::once(img.clone())
                .chain((0..n_variants).map(|k| pipeline.augment(img, seed, k as u32, r as u32)))
                .collect()
        })
        .collect();
    let cell_w = rows
        .iter()
        .flatten()
        .map(AugImage::width)
        .max()
        .unwrap_or(0);
    let cell_h = rows
        .iter()
        .flatten()
        .map(AugImage::height)
        .max()
        .unwrap_or(0);
    let cols = n_variants as u32 + 1;
    let mut grid = RgbImage::from_pixel(
        GAP + cols * (cell_w + GAP),
        GAP + rows.len() as u32 * (cell_h + GAP),
        Rgb([128, 128, 128]),
    );
    for (r, row) in rows.iter().enumerate() {
        for (c, img) in row.iter().enumerate() {
            let x = GAP + c as u32 * (cell_w + GAP) + (cell_w - img.width()) / 2;
            let y = GAP + r as u32 * (cell_h + GAP) + (cell_h - img.height()) / 2;
            image::imageops::replace(&mut grid, &img.to_rgb(), x as i64, y as i64);
        }
    }
    grid
}
