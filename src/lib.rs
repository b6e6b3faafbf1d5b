//! temper: regularization, learning-rate schedules, optimizers, data and a trainer for Burn
//! models, in one place. This facade re-exports the workspace's library crates so a Burn
//! project can depend on `temper` alone.
//!
//! - [`data`]: validated MNIST IDX reader, bundled MNIST, seeded splits, Burn batcher.
//! - [`model`]: MLP and CNN classifiers with `TrainStep`/`InferenceStep`.
//! - [`optim`]: optimizer presets with PyTorch's defaults, learning-rate schedules.
//! - [`train`]: the experiment file and the training loop behind `temper train`.

pub use temper_data as data;
pub use temper_model as model;
pub use temper_optim as optim;
pub use temper_train as train;
