//! temper: regularization, learning-rate schedules, optimizers, augmentation, tuning, data and
//! a trainer for Burn models, in one place. This facade re-exports every library crate of the
//! workspace, so a Burn project can depend on `temper` alone.
//!
//! - [`augment`]: image ops and policies (RandAugment, TrivialAugment, ...), MixUp/CutMix, EDA
//!   text augmentation, audio augmentation.
//! - [`compress`]: lean models: magnitude and channel pruning, int8 weights, the
//!   distillation loss, efficiency figures.
//! - [`data`]: the [`ImageData`](data::ImageData) trait, validated MNIST/CIFAR-10/image-folder
//!   readers, bundled MNIST, seeded splits, Burn batcher.
//! - [`fair`]: per-group metrics (fairlearn's definitions), groups files, and bias mitigation
//!   (reweighing, group-balanced sampling, group DRO).
//! - [`kernels`]: fast CPU kernels for Burn's flex backend (conv2d, pooling, one-pass Adam).
//! - [`model`]: MLP, CNN and ResNet classifiers with `TrainStep`/`InferenceStep`.
//! - [`nn`]: network layers: the dropout family (spatial, drop-path, alpha, DropConnect) and
//!   the `DropoutKind` that picks one.
//! - [`optim`]: optimizer presets with PyTorch's defaults, learning-rate schedules, penalties,
//!   clipping, early stopping, EMA, SWA, hypergradients.
//! - [`report`]: charts (runs, studies in the style of Optuna's plots, confusion matrices) and
//!   self-contained `report.html` pages.
//! - [`train`]: the experiment file and the training loop behind `temper train`; any Burn
//!   module implementing [`ImageClassifier`](train::ImageClassifier) trains through
//!   [`train_model`](train::train_model).
//! - [`tune`]: search spaces, samplers, pruners and persistent studies.
//! - [`allocator`]: the mimalloc setting the `temper` binary and its benches train with.

pub mod allocator;

pub use temper_augment as augment;
pub use temper_compress as compress;
pub use temper_data as data;
pub use temper_fair as fair;
pub use temper_kernels as kernels;
pub use temper_model as model;
pub use temper_nn as nn;
pub use temper_optim as optim;
pub use temper_report as report;
pub use temper_train as train;
pub use temper_tune as tune;
