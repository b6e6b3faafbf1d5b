//! Burn image classifiers for temper: an MLP, a small CNN and a small ResNet whose widths,
//! depth, dropout kind and rate come from a `#[derive(Config)]` (the dropout family is
//! temper-optim's), joined in one [`Classifier`] that implements
//! burn-train's `TrainStep` and `InferenceStep` (cross-entropy classification), so it trains
//! with temper's runner or with a Burn `Learner`.

#![warn(missing_docs)]

mod classifier;
mod cnn;
mod dense;
mod error;
pub mod limits;
mod mlp;
mod resnet;

pub use classifier::Classifier;
pub use cnn::{Cnn, CnnConfig};
pub use dense::{DenseHead, DropoutKind};
pub use error::ModelError;
pub use mlp::{Mlp, MlpConfig};
pub use resnet::{BasicBlock, ResNet, ResNetConfig};
