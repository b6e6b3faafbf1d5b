//! The data: the training and validation subsets of MNIST and the batcher normalizing them.

use temper_data::{ImageBatcher, ImageDataset, Normalization};

use crate::{Error, LearnerConfig};

/// The training and validation subsets and the batcher normalizing them.
#[derive(Debug, Clone)]
pub struct ExampleData {
    pub train: ImageDataset,
    pub valid: ImageDataset,
    /// Normalization fitted on `train` (per-channel mean and std).
    pub batcher: ImageBatcher,
}

impl ExampleData {
    /// Splits `mnist_train` (e.g. `bundled_mnist()?.train`) as `config.train` says: a seeded
    /// draw of `limit_train` images, `valid_fraction` of them held out.
    pub fn new(config: &LearnerConfig, mnist_train: &ImageDataset) -> Result<Self, Error> {
        let t = &config.train;
        let split =
            temper_data::split_indices(mnist_train.len(), t.limit_train, t.valid_fraction, t.seed)?;
        if split.train.is_empty() || split.valid.is_empty() {
            return Err("train.limit_train leaves no training or no validation image".into());
        }
        let train = mnist_train.subset(&split.train);
        let valid = mnist_train.subset(&split.valid);
        let all: Vec<usize> = (0..train.len()).collect();
        let batcher = ImageBatcher::new(Normalization::fit(&train, &all), train.image_shape());
        Ok(Self {
            train,
            valid,
            batcher,
        })
    }

    /// Optimizer steps per epoch: the data loader's batches, the last one partial.
    pub fn steps_per_epoch(&self, batch_size: usize) -> usize {
        self.train.len().div_ceil(batch_size)
    }
}
