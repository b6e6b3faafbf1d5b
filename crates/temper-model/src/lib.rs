//! Burn image classifiers for temper: an MLP, a small CNN and a small ResNet whose widths,
//! depth, dropout kind and rate come from a `#[derive(Config)]` (the dropout family and
//! [`DropoutKind`] are temper-nn's), and the standard architectures of [`zoo`] in
//! torchvision's layout (ResNet-18/34/50, the CIFAR ResNet-20/56, MobileNetV2), joined in one
//! [`Classifier`] that implements
//! burn-train's `TrainStep` and `InferenceStep` (cross-entropy classification), so it trains
//! with temper's runner or with a Burn `Learner`.

mod classifier;
mod cnn;
mod dense;
mod error;
pub mod limits;
mod macs;
mod mlp;
pub mod pretrained;
mod resnet;
mod slim;
pub mod zoo;

pub use classifier::Classifier;
pub use cnn::{Cnn, CnnConfig};
pub use dense::DenseHead;
pub use error::ModelError;
pub use mlp::{Mlp, MlpConfig};
pub use resnet::{BasicBlock, ResNet, ResNetConfig};
pub use slim::{ChannelPlan, LayerKeep, SlimWidths};
pub use zoo::{MobileNetV2, MobileNetV2Config, TvResNet, TvResNetConfig};
// The type of the configs' `dropout_kind` field, so users need not name temper-nn.
pub use temper_nn::DropoutKind;
