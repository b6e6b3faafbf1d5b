//! Fast CPU kernels for Burn's flex backend, as ops any Burn model can call.
//!
//! - [`conv2d()`] / [`conv2d_module`]: 2-D convolution (forward, input, weight and bias
//!   gradients) by im2col and one `gemm` product per sample, recorded as a single autodiff
//!   node.
//! - [`max_pool2d_relu`]: `max_pool2d(relu(x))` in one pass, with its gradient.
//! - [`batch_norm_module`]: a `BatchNorm` layer in training with the ReLU, or the residual
//!   add and ReLU, after it: two read passes and one write forward, one and one backward.
//! - [`adam_update`]: one Adam step of a parameter in one pass (Burn's formulation); temper-optim's
//!   Adam calls it.
//!
//! On any other backend or dtype each op is Burn's own, so a model calls them
//! unconditionally. The kernels on plain slices ([`conv2d`](mod@conv2d), [`pool`]) are tested
//! against the definitions; the ops against Burn's own flex ops (outputs and gradients).

pub mod adam;
pub mod batch_norm;
mod batch_norm_op;
pub mod conv2d;
mod conv_op;
mod flex;
mod im2col;
pub mod pool;
mod pool_op;

pub use adam::{AdamHyper, adam_update};
pub use batch_norm_op::{Epilogue, batch_norm_module};
pub use conv_op::{conv2d, conv2d_module};
pub use pool_op::max_pool2d_relu;
