//! The Burn side (the crate's `burn` feature): pruning masks applied to any Burn `Module`, and
//! the distillation loss on logits tensors.
//!
//! - [`PruneMasks`]: which tensors magnitude pruning covers (every float parameter of rank 2
//!   or more: convolution and linear weights), their keep-masks from
//!   [`magnitude_masks`](crate::magnitude::magnitude_masks), and the masks multiplied into the
//!   weights after each optimizer step.
//! - [`distillation_loss`], [`soft_distillation_term`]: Hinton et al.'s loss.

mod distill;
mod masks;

pub use distill::{distillation_loss, soft_distillation_term};
pub use masks::{CoveredTensor, PruneMasks, covered_tensors};
