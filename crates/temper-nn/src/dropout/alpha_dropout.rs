use burn::config::Config;
use burn::module::{Content, DisplaySettings, Flag, Module, ModuleDisplay, Param};
use burn::tensor::{Distribution, Tensor};

use super::{check_prob, is_active};
use crate::error::NnError;

/// SELU's `alpha` (Klambauer et al. 2017, eq. 14; PyTorch's `nn.SELU`).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
/// SELU's `lambda`, PyTorch's `scale` (Klambauer et al. 2017, eq. 14).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;
/// The value a dropped unit takes before the affine correction: SELU's negative saturation
/// `alpha' = -lambda * alpha = -1.7580993408473766`.
pub const SELU_SATURATION: f64 = -SELU_SCALE * SELU_ALPHA;

/// Configuration to create an [`AlphaDropout`] layer using the
/// [init function](AlphaDropoutConfig::init).
#[derive(Config, Debug)]
pub struct AlphaDropoutConfig {
    /// The probability of dropping a unit during training; finite, in `[0, 1)`. Required
    /// (no default), as in Burn's `DropoutConfig`.
    pub prob: f64,
}

/// Alpha dropout: dropout that keeps the mean and variance of SELU activations.
///
/// Setting units to zero would shift the mean and variance that a self-normalizing network
/// relies on. Instead dropped units are set to SELU's negative saturation
/// `alpha' = -lambda * alpha`, and an affine map `a * x + b` with
///
/// ```text
/// a = ((1 - p) (1 + p alpha'^2))^(-1/2),   b = -a alpha' p
/// ```
///
/// restores mean 0 and variance 1 for an input of mean 0 and variance 1. Introduced in
/// [Self-Normalizing Neural Networks](https://arxiv.org/abs/1706.02515) (Klambauer et al.
/// 2017, section "New Dropout Technique"); PyTorch's `nn.AlphaDropout`. Outside training it
/// is the identity.
///
/// Should be created with [`AlphaDropoutConfig`].
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct AlphaDropout {
    /// The probability of dropping a unit during training.
    pub prob: f64,
    /// Whether to behave as during training. Cleared by
    /// [`freeze`](burn::module::Module::freeze) and matching
    /// [`freeze_group`](burn::module::Module::freeze_group) traversals.
    pub training: Param<Flag>,
}

impl AlphaDropoutConfig {
    /// Checks `prob` (finite, in `[0, 1)`); the error names `alpha_dropout.prob`.
    pub fn validate(&self) -> Result<(), NnError> {
        check_prob("alpha_dropout.prob", self.prob)
    }

    /// Initialize a new [`AlphaDropout`] module.
    ///
    /// # Panics
    ///
    /// When [`validate`](Self::validate) fails; call it first on user-supplied values.
    pub fn init(&self) -> AlphaDropout {
        if let Err(e) = self.validate() {
            panic!("invalid AlphaDropoutConfig: {e}");
        }
        AlphaDropout {
            prob: self.prob,
            training: Param::from_bool(true),
        }
    }
}

impl AlphaDropout {
    /// The affine correction `(a, b)` applied after dropping with probability `prob`.
    pub fn affine(&self) -> (f64, f64) {
        let p = self.prob;
        let a = ((1.0 - p) * (1.0 + p * SELU_SATURATION * SELU_SATURATION)).powf(-0.5);
        (a, -a * SELU_SATURATION * p)
    }

    /// Applies the forward pass on the input tensor.
    ///
    /// See [`AlphaDropout`] for more information.
    ///
    /// # Shapes
    ///
    /// - input: `[..., any]`
    /// - output: `[..., any]`
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        if !is_active(&self.training, &input.device(), self.prob) {
            return input;
        }

        let (a, b) = self.affine();
        let keep = input.random_like(Distribution::Bernoulli(1.0 - self.prob));
        // x where kept, alpha' where dropped, then a * (.) + b.
        let dropped = (1.0 - keep.clone()) * SELU_SATURATION;
        (input * keep + dropped) * a + b
    }
}

impl ModuleDisplay for AlphaDropout {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        let content = content.add("prob", &self.prob);
        match self.training.is_enabled() {
            true => content.optional(),
            false => content.add("training", &self.training).optional(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropout::test_util::{assert_kept_fraction, close, seeded, values};
    use burn::tensor::Device;

    #[test]
    fn alpha_dropout_constants_match_pytorch() {
        // ATen's Dropout.cpp hard-codes alpha = 1.7580993408473766 for `alpha_dropout`.
        assert!((SELU_SATURATION + 1.758_099_340_847_376_6).abs() < 1e-15);
        // ATen writes a = 1 / sqrt((alpha^2 p + 1)(1 - p)) and b = alpha a p (alpha > 0 there).
        for p in [0.05, 0.2, 0.5, 0.9] {
            let (a, b) = AlphaDropoutConfig::new(p).init().affine();
            let alpha = 1.758_099_340_847_376_6_f64;
            let a_ref = 1.0 / ((alpha * alpha * p + 1.0) * (1.0 - p)).sqrt();
            assert!((a - a_ref).abs() < 1e-12, "p = {p}: a = {a}, ATen {a_ref}");
            assert!((b - alpha * a_ref * p).abs() < 1e-12, "p = {p}: b = {b}");
        }
    }

    #[test]
    fn alpha_dropout_is_the_identity_outside_training() {
        let plain = Device::flex();
        let x = Tensor::<2>::random([16, 16], Distribution::Normal(0.0, 1.0), &plain);
        let layer = AlphaDropoutConfig::new(0.3).init();
        assert_eq!(values(layer.forward(x.clone())), values(x.clone()));
        assert_eq!(values(layer.valid().forward(x.clone())), values(x));

        let ad = Device::flex().autodiff();
        let x = Tensor::<2>::random([16, 16], Distribution::Normal(0.0, 1.0), &ad);
        let frozen = AlphaDropoutConfig::new(0.3).init().freeze();
        assert_eq!(values(frozen.forward(x.clone())), values(x.clone()));
        let zero = AlphaDropoutConfig::new(0.0).init();
        assert_eq!(values(zero.forward(x.clone())), values(x));
    }

    #[test]
    fn alpha_dropout_sets_dropped_units_to_the_corrected_saturation() {
        // 10^5 element draws of an all-ones input: a kept unit becomes a * 1 + b, a dropped one
        // a * alpha' + b, nothing else.
        let (n, p) = (100_000, 0.2);
        let device = Device::flex().autodiff();
        let layer = AlphaDropoutConfig::new(p).init();
        let (a, b) = layer.affine();
        let out = {
            let _rng = seeded(&device, 13);
            values(layer.forward(Tensor::<2>::ones([100, n / 100], &device)))
        };
        let kept_value = a + b; // 1.1879435455876273 for p = 0.2
        let dropped_value = a * SELU_SATURATION + b; // -1.2361598485763778 for p = 0.2
        let kept = out.iter().filter(|&&v| close(v, kept_value)).count();
        let dropped = out.iter().filter(|&&v| close(v, dropped_value)).count();
        assert_eq!(
            kept + dropped,
            n,
            "some output is neither a + b nor a alpha' + b"
        );
        assert_kept_fraction(kept, n, p);
    }

    #[test]
    fn alpha_dropout_keeps_zero_mean_and_unit_variance() {
        // Over n = 10^6 standard-normal inputs the output has mean 0 and variance 1 exactly in
        // expectation (Klambauer et al. 2017, eq. 16-17). Tolerances are 3 standard errors:
        // the mean's is 1 / sqrt(n); the sample variance's is sqrt((m4 - 1) / n), with the
        // output's fourth moment in closed form: a kept unit is a x + b with x ~ N(0, 1), so
        // E[(a x + b)^4] = 3a^4 + 6a^2 b^2 + b^4; a dropped one is the constant c = a alpha' + b.
        let n = 1_000_000;
        let device = Device::flex().autodiff();
        for (p, seed) in [(0.2, 17), (0.5, 19)] {
            let layer = AlphaDropoutConfig::new(p).init();
            let out = {
                let _rng = seeded(&device, seed);
                let x =
                    Tensor::<2>::random([1000, n / 1000], Distribution::Normal(0.0, 1.0), &device);
                values(layer.forward(x))
            };
            let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = out.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;

            let (a, b) = layer.affine();
            let c = a * SELU_SATURATION + b;
            let m4 =
                (1.0 - p) * (3.0 * a.powi(4) + 6.0 * a * a * b * b + b.powi(4)) + p * c.powi(4);
            let se_mean = (1.0 / n as f64).sqrt();
            let se_var = ((m4 - 1.0) / n as f64).sqrt();
            assert!(
                mean.abs() <= 3.0 * se_mean,
                "p = {p}: mean {mean}, 3 se {}",
                3.0 * se_mean
            );
            assert!(
                (var - 1.0).abs() <= 3.0 * se_var,
                "p = {p}: variance {var}, 3 se {}",
                3.0 * se_var
            );
        }
    }

    #[test]
    fn alpha_dropout_validate_names_the_field() {
        for p in [1.0, -0.1, f64::NAN] {
            let err = AlphaDropoutConfig::new(p).validate().unwrap_err();
            assert!(err.to_string().starts_with("alpha_dropout.prob: "), "{err}");
        }
    }
}
