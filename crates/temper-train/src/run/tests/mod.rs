//! The run's tests, end to end: training on real backends, the generic path with a caller's
//! own model and data, fine-tuning, and run directories under attack.

mod compress;
mod custom;
mod fairness;
mod finetune;
mod groups;
mod hostile;
mod momentum;
mod parallel;
pub(super) mod small_data;
pub(super) mod stream;
pub(crate) mod training;
pub(crate) mod transfer;
