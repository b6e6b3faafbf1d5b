use burn::config::Config;
use burn::module::{Content, DisplaySettings, Flag, Module, ModuleDisplay, Param};
use burn::tensor::{Distribution, Tensor};

use super::{check_prob, is_active};
use crate::error::NnError;

/// Configuration to create a [`DropPath`] layer using the [init function](DropPathConfig::init).
#[derive(Config, Debug)]
pub struct DropPathConfig {
    /// The probability of dropping a sample's residual branch during training; finite, in
    /// `[0, 1)`. Required (no default), as in Burn's `DropoutConfig`.
    pub prob: f64,
    /// Divide the kept samples by `1 - prob`, so the branch's expected output is unchanged.
    /// Default `true`, as timm's `DropPath`.
    #[config(default = true)]
    pub scale_by_keep: bool,
}

/// Stochastic depth: drops the residual branch of whole samples during training.
///
/// Apply it to the output of a residual branch before the skip connection is added,
/// `x + drop_path(f(x))`; a dropped sample then passes through the block unchanged. Introduced
/// in [Deep Networks with Stochastic Depth](https://arxiv.org/abs/1603.09382) (Huang et al.
/// 2016); this is timm's `drop_path` (`timm/layers/drop.py`).
///
/// There is one Bernoulli(1 - prob) draw per sample (axis 0), broadcast over the other axes;
/// with `scale_by_keep` the kept samples are divided by `1 - prob`. Outside training it is the
/// identity.
///
/// Should be created with [`DropPathConfig`].
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct DropPath {
    /// The probability of dropping a sample during training.
    pub prob: f64,
    /// Whether kept samples are divided by `1 - prob`.
    pub scale_by_keep: bool,
    /// Whether to behave as during training. Cleared by
    /// [`freeze`](burn::module::Module::freeze) and matching
    /// [`freeze_group`](burn::module::Module::freeze_group) traversals.
    pub training: Param<Flag>,
}

impl DropPathConfig {
    /// Checks `prob` (finite, in `[0, 1)`); the error names `drop_path.prob`.
    pub fn validate(&self) -> Result<(), NnError> {
        check_prob("drop_path.prob", self.prob)
    }

    /// Initialize a new [`DropPath`] module.
    ///
    /// # Panics
    ///
    /// When [`validate`](Self::validate) fails; call it first on user-supplied values.
    pub fn init(&self) -> DropPath {
        if let Err(e) = self.validate() {
            panic!("invalid DropPathConfig: {e}");
        }
        DropPath {
            prob: self.prob,
            scale_by_keep: self.scale_by_keep,
            training: Param::from_bool(true),
        }
    }
}

impl DropPath {
    /// Applies the forward pass on the input tensor.
    ///
    /// See [`DropPath`] for more information.
    ///
    /// # Shapes
    ///
    /// - input: `[batch_size, ...]`
    /// - output: `[batch_size, ...]`
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        if !is_active(&self.training, &input.device(), self.prob) {
            return input;
        }

        let prob_keep = 1.0 - self.prob;
        let dims = input.dims();
        let mut mask_shape = [1; D];
        mask_shape[0] = dims[0];
        let mut mask = Tensor::<D>::random(
            mask_shape,
            Distribution::Bernoulli(prob_keep),
            (&input.device(), input.dtype()),
        );
        if self.scale_by_keep {
            mask = mask * (1.0 / prob_keep);
        }

        input * mask.expand(dims)
    }
}

impl ModuleDisplay for DropPath {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        let content = content
            .add("prob", &self.prob)
            .add("scale_by_keep", &self.scale_by_keep);
        match self.training.is_enabled() {
            true => content.optional(),
            false => content.add("training", &self.training).optional(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropout::test_util::{
        assert_kept_fraction, assert_mean_kept, close, seeded, values,
    };
    use burn::tensor::Device;

    #[test]
    fn drop_path_is_the_identity_outside_training() {
        let plain = Device::flex();
        let x = Tensor::<3>::random([8, 4, 5], Distribution::Default, &plain);
        let layer = DropPathConfig::new(0.5).init();
        assert_eq!(values(layer.forward(x.clone())), values(x.clone()));
        assert_eq!(values(layer.valid().forward(x.clone())), values(x));

        let ad = Device::flex().autodiff();
        let x = Tensor::<3>::random([8, 4, 5], Distribution::Default, &ad);
        let frozen = DropPathConfig::new(0.5).init().freeze();
        assert_eq!(values(frozen.forward(x.clone())), values(x.clone()));
        let zero = DropPathConfig::new(0.0).init();
        assert_eq!(values(zero.forward(x.clone())), values(x));
    }

    #[test]
    fn drop_path_zeroes_whole_samples_at_rate_p() {
        // [20000, 3, 2]: 2 * 10^4 sample draws, 1.2 * 10^5 elements.
        let (n, per_sample, p) = (20_000, 6, 0.2);
        let device = Device::flex().autodiff();
        let layer = DropPathConfig::new(p).init();
        let out = {
            let _rng = seeded(&device, 3);
            values(layer.forward(Tensor::<3>::ones([n, 3, 2], &device)))
        };
        let scale = 1.0 / (1.0 - p);
        let mut kept = 0;
        for sample in out.chunks(per_sample) {
            // Every sample is all 0 or all 1 / (1 - p) (timm: `x * mask / keep_prob`).
            if sample.iter().all(|&v| v == 0.0) {
                continue;
            }
            assert!(
                sample.iter().all(|&v| close(v, scale)),
                "a sample was partly dropped: {sample:?}"
            );
            kept += 1;
        }
        assert_kept_fraction(kept, n, p);
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / out.len() as f64;
        assert_mean_kept(mean, n, p);
    }

    #[test]
    fn drop_path_without_scale_by_keep_leaves_kept_samples_unscaled() {
        let device = Device::flex().autodiff();
        let layer = DropPathConfig::new(0.5).with_scale_by_keep(false).init();
        let out = {
            let _rng = seeded(&device, 5);
            values(layer.forward(Tensor::<2>::ones([1000, 4], &device)))
        };
        // timm with scale_by_keep=False multiplies by the raw 0/1 mask.
        assert!(out.chunks(4).all(|s| s == [0.0; 4] || s == [1.0; 4]));
        assert!(out.contains(&0.0) && out.contains(&1.0));
        assert!(DropPathConfig::new(0.1).scale_by_keep, "timm's default");
    }

    #[test]
    fn drop_path_validate_names_the_field() {
        for p in [1.0, -0.1, f64::NAN] {
            let err = DropPathConfig::new(p).validate().unwrap_err();
            assert!(err.to_string().starts_with("drop_path.prob: "), "{err}");
        }
    }
}
