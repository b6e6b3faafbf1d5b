use burn::config::Config;
use burn::module::{Content, DisplaySettings, Flag, Module, ModuleDisplay, Param};
use burn::tensor::{Distribution, Tensor};

use super::{check_prob, is_active};
use crate::error::NnError;

/// Configuration to create a [`Dropout2d`] layer using the [init function](Dropout2dConfig::init).
#[derive(Config, Debug)]
pub struct Dropout2dConfig {
    /// The probability of zeroing a whole channel during training; finite, in `[0, 1)`.
    /// Required (no default), as in Burn's `DropoutConfig`.
    pub prob: f64,
}

/// Spatial dropout: zeroes whole channels of a feature map during training.
///
/// Adjacent pixels of a convolutional feature map are strongly correlated, so element-wise
/// dropout barely regularizes them; dropping entire channels does. Introduced in
/// [Efficient Object Localization Using Convolutional Networks](https://arxiv.org/abs/1411.4280)
/// (Tompson et al. 2015); PyTorch's `nn.Dropout2d`.
///
/// For an input `[N, C, ...]` there is one Bernoulli(1 - prob) draw per `(n, c)`, broadcast over
/// the remaining (spatial) axes; kept channels are scaled by `1 / (1 - prob)` so the expected
/// activation is unchanged. Outside training it is the identity.
///
/// Should be created with [`Dropout2dConfig`].
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct Dropout2d {
    /// The probability of zeroing a whole channel during training.
    pub prob: f64,
    /// Whether to behave as during training. Cleared by
    /// [`freeze`](burn::module::Module::freeze) and matching
    /// [`freeze_group`](burn::module::Module::freeze_group) traversals.
    pub training: Param<Flag>,
}

impl Dropout2dConfig {
    /// Checks `prob` (finite, in `[0, 1)`); the error names `dropout2d.prob`.
    pub fn validate(&self) -> Result<(), NnError> {
        check_prob("dropout2d.prob", self.prob)
    }

    /// Initialize a new [`Dropout2d`] module.
    ///
    /// # Panics
    ///
    /// When [`validate`](Self::validate) fails; call it first on user-supplied values.
    pub fn init(&self) -> Dropout2d {
        if let Err(e) = self.validate() {
            panic!("invalid Dropout2dConfig: {e}");
        }
        Dropout2d {
            prob: self.prob,
            training: Param::from_bool(true),
        }
    }
}

impl Dropout2d {
    /// Applies the forward pass on the input tensor.
    ///
    /// See [`Dropout2d`] for more information. A rank below 3 is rejected at compile time.
    ///
    /// # Shapes
    ///
    /// - input: `[batch_size, channels, ...]` (rank >= 3)
    /// - output: `[batch_size, channels, ...]`
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        const {
            assert!(
                D >= 3,
                "Dropout2d expects an input [N, C, ...] of rank >= 3"
            )
        };
        if !is_active(&self.training, &input.device(), self.prob) {
            return input;
        }

        let prob_keep = 1.0 - self.prob;
        let dims = input.dims();
        let mut mask_shape = [1; D];
        mask_shape[..2].copy_from_slice(&dims[..2]);
        let mask = Tensor::<D>::random(
            mask_shape,
            Distribution::Bernoulli(prob_keep),
            (&input.device(), input.dtype()),
        ) * (1.0 / prob_keep);

        input * mask.expand(dims)
    }
}

impl ModuleDisplay for Dropout2d {
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
    use crate::dropout::test_util::{
        assert_kept_fraction, assert_mean_kept, close, seeded, values,
    };
    use burn::tensor::Device;

    #[test]
    fn dropout2d_is_the_identity_outside_training() {
        let plain = Device::flex();
        let x = Tensor::<4>::random([4, 3, 5, 5], Distribution::Default, &plain);
        let layer = Dropout2dConfig::new(0.5).init();
        // Plain device: no backward is possible, so no training.
        assert_eq!(values(layer.forward(x.clone())), values(x.clone()));
        // After `valid()` (a module on the inner device), same thing.
        assert_eq!(values(layer.valid().forward(x.clone())), values(x));

        let ad = Device::flex().autodiff();
        let x = Tensor::<4>::random([4, 3, 5, 5], Distribution::Default, &ad);
        // Frozen on the training device (Burn's `Dropout` contract).
        let frozen = Dropout2dConfig::new(0.5).init().freeze();
        assert_eq!(values(frozen.forward(x.clone())), values(x.clone()));
        // prob = 0 is the identity even when training.
        let zero = Dropout2dConfig::new(0.0).init();
        assert_eq!(values(zero.forward(x.clone())), values(x));
    }

    #[test]
    fn dropout2d_zeroes_whole_channels_at_rate_p() {
        // [200, 100, 2, 3]: 2 * 10^4 channel draws, 1.2 * 10^5 elements.
        let (n, c, spatial, p) = (200, 100, 6, 0.3);
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::ones([n, c, 2, 3], &device);
        let layer = Dropout2dConfig::new(p).init();
        let out = {
            let _rng = seeded(&device, 7);
            values(layer.forward(x))
        };
        let scale = 1.0 / (1.0 - p);
        let mut kept = 0;
        for channel in out.chunks(spatial) {
            // Every channel is all 0 (dropped) or all 1 / (1 - p) (kept and rescaled).
            if channel.iter().all(|&v| v == 0.0) {
                continue;
            }
            assert!(
                channel.iter().all(|&v| close(v, scale)),
                "a channel was partly dropped: {channel:?}"
            );
            kept += 1;
        }
        assert_kept_fraction(kept, n * c, p);
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / out.len() as f64;
        assert_mean_kept(mean, n * c, p);
    }

    #[test]
    fn dropout2d_handles_rank_3_and_5_and_passes_gradients() {
        let device = Device::flex().autodiff();
        let p = 0.5;
        let layer = Dropout2dConfig::new(p).init();
        let _rng = seeded(&device, 11);

        // Rank 3 `[N, C, L]`: each length-8 row is one channel.
        let out = values(layer.forward(Tensor::<3>::ones([16, 8, 8], &device)));
        assert!(out.chunks(8).all(|ch| ch.iter().all(|&v| v == ch[0])));

        // Rank 5 `[N, C, D, H, W]`: each 2*3*4 block is one channel. The gradient of
        // sum(dropout(x)) with respect to x is the scaled mask itself, which for an all-ones
        // input equals the output.
        let x = Tensor::<5>::ones([4, 6, 2, 3, 4], &device).require_grad();
        let y = layer.forward(x.clone());
        let grads = y.clone().sum().backward();
        let grad = values(x.grad(&grads).expect("input gradient"));
        let out = values(y);
        assert_eq!(grad, out);
        assert!(out.chunks(24).all(|ch| ch.iter().all(|&v| v == ch[0])));
        assert!(out.iter().all(|&v| v == 0.0 || close(v, 1.0 / (1.0 - p))));
    }

    #[test]
    fn dropout2d_validate_names_the_field() {
        for p in [1.0, -0.1, f64::NAN, f64::INFINITY] {
            let err = Dropout2dConfig::new(p).validate().unwrap_err();
            assert!(err.to_string().starts_with("dropout2d.prob: "), "{err}");
        }
        assert!(Dropout2dConfig::new(0.0).validate().is_ok());
    }

    #[test]
    fn dropout2d_displays_its_probability() {
        let layer = Dropout2dConfig::new(0.25).init();
        assert_eq!(format!("{layer}"), "Dropout2d {prob: 0.25}");
    }
}
