//! Network layers for Burn models: the dropout family Burn lacks.
//!
//! - [`Dropout2d`] (spatial: whole channels), [`DropPath`] (stochastic depth: whole residual
//!   branches), [`AlphaDropout`] (for SELU networks) and [`DropConnectLinear`] (dropped
//!   weights), each a Burn module with a validated `#[derive(Config)]` whose errors are
//!   [`NnError`]s naming the field.
//! - [`DropoutKind`]: which member of the family (Burn's own `Dropout` included) a model
//!   uses, with the names experiment files give it.
//!
//! Layers live here, apart from the optimizers (temper-optim), so a model depends on the
//! layers it is built from and not on the training machinery, as Burn keeps its layers in
//! burn-nn.

pub mod dropout;
mod error;

pub use dropout::{
    AlphaDropout, AlphaDropoutConfig, DropConnectLinear, DropConnectLinearConfig, DropPath,
    DropPathConfig, Dropout2d, Dropout2dConfig, DropoutKind,
};
pub use error::NnError;
