//! Burn image classifiers for temper: an MLP and a small CNN whose widths, depth and dropout
//! rate come from a `#[derive(Config)]`, joined in one [`Classifier`] that implements
//! burn-train's `TrainStep` and `InferenceStep` (cross-entropy classification), so it trains
//! with temper's runner or with a Burn `Learner`.

mod classifier;
mod cnn;
mod dense;
mod error;
mod mlp;

pub use classifier::Classifier;
pub use cnn::{Cnn, CnnConfig};
pub use dense::DenseHead;
pub use error::ModelError;
pub use mlp::{Mlp, MlpConfig};
