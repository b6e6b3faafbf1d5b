//! The dropout family beyond Burn's element-wise [`burn::nn::Dropout`].
//!
//! | module | what one Bernoulli draw covers | paper |
//! |---|---|---|
//! | [`Dropout2d`] | one channel of one sample, `[n, c, ..]` | Tompson et al. 2015 |
//! | [`DropPath`] | one whole sample of a residual branch, `[n, ..]` | Huang et al. 2016 |
//! | [`AlphaDropout`] | one element; dropped units go to SELU's negative saturation | Klambauer et al. 2017 |
//! | [`DropConnectLinear`] | one weight (or bias) of a linear layer | Wan et al. 2013 |
//!
//! Every module decides whether it is training exactly as Burn's `Dropout` does: it acts only
//! when its `training` flag is set (cleared by [`freeze`](burn::module::Module::freeze)), the
//! input lives on an autodiff device, and its probability is not zero; otherwise it is the
//! identity (or, for [`DropConnectLinear`], the plain affine map). Each config has a
//! `validate` that returns an [`NnError`] naming the field, and an `init` that panics only
//! when `validate` fails, as Burn's configs do.
//!
//! [`DropoutKind`] names one member (Burn's `Dropout` counted as `Standard`) for model configs
//! and experiment files, which pick the layer and where it acts.

mod alpha_dropout;
mod drop_connect;
mod drop_path;
mod dropout2d;
mod kind;

pub use alpha_dropout::{
    AlphaDropout, AlphaDropoutConfig, SELU_ALPHA, SELU_SATURATION, SELU_SCALE,
};
pub use drop_connect::{DropConnectLinear, DropConnectLinearConfig};
pub use drop_path::{DropPath, DropPathConfig};
pub use dropout2d::{Dropout2d, Dropout2dConfig};
pub use kind::DropoutKind;

use burn::module::{Flag, Param};
use burn::tensor::Device;

use crate::error::{NnError, invalid};

/// Checks a drop probability: finite and in `[0, 1)`, as Burn's `DropoutConfig` requires.
pub(crate) fn check_prob(field: &str, prob: f64) -> Result<(), NnError> {
    if prob.is_finite() && (0.0..1.0).contains(&prob) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be finite and in [0, 1), got {prob}"),
        ))
    }
}

/// Burn's `Dropout::forward` test, verbatim: the flag says this layer takes part in a
/// backward (a subtree frozen in place on the training device does not), the device says a
/// backward is possible at all, and `prob == 0` is the identity.
pub(crate) fn is_active(training: &Param<Flag>, device: &Device, prob: f64) -> bool {
    training.is_enabled() && device.is_autodiff() && prob != 0.0
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::sync::{Mutex, MutexGuard};

    use burn::tensor::{Device, Tensor};

    /// Burn's flex RNG is one process-wide state; tests that seed it hold this lock so their
    /// draws are reproducible whatever order the test harness runs them in.
    static RNG: Mutex<()> = Mutex::new(());

    /// Takes the RNG lock and seeds `device`.
    pub fn seeded(device: &Device, seed: u64) -> MutexGuard<'static, ()> {
        let guard = RNG.lock().unwrap_or_else(|e| e.into_inner());
        device.seed(seed);
        guard
    }

    pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    /// `kept` successes out of `draws` Bernoulli(1 - p) draws lie within 3 standard deviations
    /// of the mean: |kept/draws - (1 - p)| <= 3 sqrt(p (1 - p) / draws) (binomial proportion).
    pub fn assert_kept_fraction(kept: usize, draws: usize, p: f64) {
        let frac = kept as f64 / draws as f64;
        let sigma = (p * (1.0 - p) / draws as f64).sqrt();
        assert!(
            (frac - (1.0 - p)).abs() <= 3.0 * sigma,
            "kept fraction {frac} is more than 3 sigma ({sigma}) from {}",
            1.0 - p
        );
    }

    /// The mean of an inverted-dropout output of an all-ones input is kept/draws / (1 - p),
    /// so it lies within 3 sigma / (1 - p) of 1.
    pub fn assert_mean_kept(mean: f64, draws: usize, p: f64) {
        let sigma = (p * (1.0 - p) / draws as f64).sqrt() / (1.0 - p);
        assert!(
            (mean - 1.0).abs() <= 3.0 * sigma,
            "mean {mean} is more than 3 sigma ({sigma}) from 1"
        );
    }

    /// `a` and `b` agree to f32 rounding of values of order one.
    pub fn close(a: f32, b: f64) -> bool {
        (a as f64 - b).abs() <= 1e-6 * b.abs().max(1.0)
    }
}
