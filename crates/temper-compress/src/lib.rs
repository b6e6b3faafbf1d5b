//! Lean models: the Burn-free core of pruning, int8 weight quantization, distillation and
//! weight averaging, and the efficiency figures that compare a compressed model with its
//! parent. Pure functions on `f32` slices and serde settings; applying them to a Burn module
//! is the `module` side's job.
//!
//! - `settings`: the experiment file's `[prune]`, `[distill]`, `[quantize]` tables and
//!   `[optim] swa = { .. }`, with SWALR's learning rate in closed form.
//! - `schedule`: when masks are recomputed and at what sparsity (Zhu & Gupta 2017, as
//!   TF-MOT's `PolynomialDecay`).
//! - `magnitude`: keep-masks that zero the smallest weights, per layer or globally (as
//!   `torch.nn.utils.prune`'s L1 unstructured pruning).
//! - `channels`: which filters to remove by their L1 norm (Li et al. 2017).
//! - `quantize`: symmetric int8 weights, per tensor or per output channel.
//! - `int8_file`: the quantized model on disk as safetensors, read as hostile input.
//! - `efficiency`: parameter, MAC, size, latency and throughput figures and their table.

pub mod channels;
pub mod efficiency;
mod error;
pub mod int8_file;
pub mod magnitude;
#[cfg(feature = "burn")]
pub mod module;
pub mod quantize;
pub mod schedule;
pub mod settings;

pub use error::CompressError;
