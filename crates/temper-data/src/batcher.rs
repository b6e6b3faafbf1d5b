//! Turning 8-bit images into normalized tensors on a device.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::dataset::{ImageData, ImageItem};

/// Per-channel normalization `x = (p / 255 - mean[c]) / std[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalization {
    /// Per-channel mean in `[0, 1]` pixel units; channel `c` uses `mean[c % mean.len()]`.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation in `[0, 1]` pixel units; channel `c` uses
    /// `std[c % std.len()]`.
    pub std: Vec<f32>,
}

impl Normalization {
    /// MNIST's training-set pixel mean and standard deviation, the values of PyTorch's
    /// `examples/mnist/main.py` (`transforms.Normalize((0.1307,), (0.3081,))`).
    pub fn mnist() -> Self {
        Self {
            mean: vec![0.1307],
            std: vec![0.3081],
        }
    }

    /// Per-channel mean and standard deviation of the images at `indices`, in `[0, 1]` units:
    /// the statistics `transforms.Normalize` is usually given. For the MNIST training set this
    /// reproduces the well-known 0.1307 / 0.3081. Images are read in parallel (rayon; the sums
    /// are integers, so the result does not depend on the order), and an image that cannot be
    /// read (`ImageData::try_image`: a corrupt file of a streamed folder) is left out.
    ///
    /// # Panics
    /// When no image at `indices` can be read ([`try_fit`](Self::try_fit) returns `None`).
    pub fn fit(dataset: &(impl ImageData + ?Sized), indices: &[usize]) -> Self {
        Self::try_fit(dataset, indices).expect("cannot fit normalization on no image")
    }

    /// [`fit`](Self::fit), or `None` when no image at `indices` can be read.
    pub fn try_fit(dataset: &(impl ImageData + ?Sized), indices: &[usize]) -> Option<Self> {
        let [c, h, w] = dataset.image_shape();
        let plane = h * w;
        // Per channel: the pixel sum and the sum of squares; then the images read.
        let (sums, read) = indices
            .par_iter()
            .filter_map(|&i| dataset.try_image(i).ok())
            .map(|image| {
                let mut sums = vec![[0u64; 2]; c];
                for (ch, pixels) in image.chunks_exact(plane).enumerate() {
                    for &p in pixels {
                        sums[ch][0] += p as u64;
                        sums[ch][1] += (p as u64) * (p as u64);
                    }
                }
                (sums, 1usize)
            })
            .reduce(
                || (vec![[0u64; 2]; c], 0),
                |(mut a, n), (b, m)| {
                    for (x, y) in a.iter_mut().zip(b) {
                        x[0] += y[0];
                        x[1] += y[1];
                    }
                    (a, n + m)
                },
            );
        if read == 0 {
            return None;
        }
        let n = (read * plane) as f64;
        let (mut mean, mut std) = (Vec::with_capacity(c), Vec::with_capacity(c));
        for [sum, sum_sq] in sums {
            let m = sum as f64 / n;
            let var = (sum_sq as f64 / n - m * m).max(0.0);
            mean.push((m / 255.0) as f32);
            // A constant channel would divide by zero; leave it unscaled.
            std.push(if var > 0.0 {
                (var.sqrt() / 255.0) as f32
            } else {
                1.0
            });
        }
        Some(Self { mean, std })
    }

    /// Appends the normalized `[C, H, W]` image `pixels` to `out`.
    fn apply(&self, pixels: &[u8], channels: usize, out: &mut Vec<f32>) {
        let start = out.len();
        out.resize(start + pixels.len(), 0.0);
        self.apply_into(pixels, channels, &mut out[start..]);
    }

    /// Writes the normalized `[C, H, W]` image `pixels` into `out`, of the same length: per
    /// channel `p * scale - shift` with `scale = 1 / (255 std)` and `shift = mean / std`.
    ///
    /// # Panics
    /// When the lengths differ.
    pub fn apply_into(&self, pixels: &[u8], channels: usize, out: &mut [f32]) {
        assert_eq!(pixels.len(), out.len(), "normalized image length");
        let plane = pixels.len() / channels;
        for (c, (chunk, out)) in pixels
            .chunks_exact(plane)
            .zip(out.chunks_exact_mut(plane))
            .enumerate()
        {
            let mean = self.mean[c % self.mean.len()];
            let scale = 1.0 / (255.0 * self.std[c % self.std.len()]);
            let shift = mean / self.std[c % self.std.len()];
            for (o, &p) in out.iter_mut().zip(chunk) {
                *o = p as f32 * scale - shift;
            }
        }
    }
}

/// A batch of images and their class indices.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// Normalized images, shape `[N, C, H, W]`.
    pub images: Tensor<4>,
    /// Class indices, shape `[N]`.
    pub targets: Tensor<1, Int>,
}

/// Burn [`Batcher`] from [`ImageItem`]s to an [`ImageBatch`].
#[derive(Debug, Clone)]
pub struct ImageBatcher {
    /// The normalization applied to every image.
    pub normalization: Normalization,
    /// `[C, H, W]` of the images it batches.
    pub image_shape: [usize; 3],
}

impl ImageBatcher {
    /// A batcher of `[C, H, W]` images of `image_shape`, normalized with `normalization`.
    pub fn new(normalization: Normalization, image_shape: [usize; 3]) -> Self {
        Self {
            normalization,
            image_shape,
        }
    }

    /// Builds the batch of `dataset` images at `indices` directly, without per-item copies;
    /// the trainer's fast path.
    pub fn batch_indices(
        &self,
        dataset: &(impl ImageData + ?Sized),
        indices: &[usize],
        device: &Device,
    ) -> ImageBatch {
        // Borrowed for in-memory data sets: no copy before normalization.
        let images: Vec<_> = indices.iter().map(|&i| dataset.image(i)).collect();
        self.assemble(
            images
                .iter()
                .map(|pixels| pixels.as_ref())
                .zip(indices.iter().map(|&i| dataset.label(i))),
            indices.len(),
            device,
        )
    }

    /// The normalized `[N, C, H, W]` values of `images` (`[C, H, W]` u8 each), on the host, for
    /// batch-level transforms (MixUp, CutMix) before [`batch_values`](Self::batch_values).
    pub fn normalize(&self, images: &[Vec<u8>]) -> Vec<f32> {
        let [c, h, w] = self.image_shape;
        let mut values = Vec::with_capacity(images.len() * c * h * w);
        for pixels in images {
            self.normalization.apply(pixels, c, &mut values);
        }
        values
    }

    /// A batch of already normalized `[N, C, H, W]` `values`.
    pub fn batch_values(&self, values: Vec<f32>, labels: &[usize], device: &Device) -> ImageBatch {
        let [c, h, w] = self.image_shape;
        let n = labels.len();
        let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        ImageBatch {
            images: Tensor::from_data(TensorData::new(values, [n, c, h, w]), device),
            targets: Tensor::from_data(TensorData::new(labels, [n]), device),
        }
    }

    /// Builds a batch from images already read (`[C, H, W]` u8 each: owned, e.g. augmented,
    /// or borrowed from the data set).
    pub fn batch_pixels<P: AsRef<[u8]>>(
        &self,
        images: &[P],
        labels: &[usize],
        device: &Device,
    ) -> ImageBatch {
        self.assemble(
            images.iter().map(AsRef::as_ref).zip(labels.iter().copied()),
            images.len(),
            device,
        )
    }

    fn assemble<'a>(
        &self,
        items: impl Iterator<Item = (&'a [u8], usize)>,
        n: usize,
        device: &Device,
    ) -> ImageBatch {
        let [c, h, w] = self.image_shape;
        let mut values = Vec::with_capacity(n * c * h * w);
        let mut labels = Vec::with_capacity(n);
        for (pixels, label) in items {
            assert_eq!(
                pixels.len(),
                c * h * w,
                "image size differs from batcher shape"
            );
            self.normalization.apply(pixels, c, &mut values);
            labels.push(label as i64);
        }
        ImageBatch {
            images: Tensor::from_data(TensorData::new(values, [n, c, h, w]), device),
            targets: Tensor::from_data(TensorData::new(labels, [n]), device),
        }
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let n = items.len();
        self.assemble(
            items.iter().map(|it| (it.pixels.as_slice(), it.label)),
            n,
            device,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageDataset;

    #[test]
    fn normalization_matches_the_formula() {
        let device = Device::flex();
        let batcher = ImageBatcher::new(Normalization::mnist(), [1, 1, 3]);
        let items = vec![
            ImageItem {
                pixels: vec![0, 255, 51],
                label: 7,
            },
            ImageItem {
                pixels: vec![255, 0, 0],
                label: 2,
            },
        ];
        let batch = batcher.batch(items, &device);
        assert_eq!(batch.images.dims(), [2, 1, 1, 3]);
        let got = batch.images.into_data().try_to_vec::<f32>().unwrap();
        let f = |p: f32| (p / 255.0 - 0.1307) / 0.3081;
        let want = [f(0.0), f(255.0), f(51.0), f(255.0), f(0.0), f(0.0)];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
        let labels = batch
            .targets
            .into_data_as::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(labels, vec![7, 2]);
    }

    #[test]
    fn fit_on_mnist_train_gives_the_published_statistics() {
        // 0.1307 and 0.3081: the constants of PyTorch's examples/mnist/main.py.
        let train = crate::bundled_mnist().unwrap().train;
        let all: Vec<usize> = (0..train.len()).collect();
        let n = Normalization::fit(&train, &all);
        assert!((n.mean[0] - 0.1307).abs() < 5e-5, "{:?}", n.mean);
        assert!((n.std[0] - 0.3081).abs() < 5e-5, "{:?}", n.std);
    }

    #[test]
    fn batch_indices_equals_item_batch() {
        let device = Device::flex();
        let ds = ImageDataset::new(
            (0..8).collect(),
            vec![0, 1],
            [1, 2, 2],
            vec!["a".into(), "b".into()],
        );
        let b = ImageBatcher::new(Normalization::mnist(), [1, 2, 2]);
        let fast = b.batch_indices(&ds, &[1, 0], &device);
        let items = vec![
            burn::data::dataset::Dataset::get(&ds, 1).unwrap(),
            burn::data::dataset::Dataset::get(&ds, 0).unwrap(),
        ];
        let slow = b.batch(items, &device);
        assert_eq!(
            fast.images.into_data().try_to_vec::<f32>().unwrap(),
            slow.images.into_data().try_to_vec::<f32>().unwrap()
        );
    }
}
