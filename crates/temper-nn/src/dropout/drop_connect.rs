use burn::config::Config;
use burn::module::{Content, DisplaySettings, Flag, Module, ModuleDisplay, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::module::linear;
use burn::tensor::{Device, Distribution, Tensor, assert_shape};

use super::{check_prob, is_active};
use crate::error::{NnError, invalid};

/// Configuration to create a [`DropConnectLinear`] layer using the
/// [init function](DropConnectLinearConfig::init).
#[derive(Config, Debug)]
pub struct DropConnectLinearConfig {
    /// The size of the input features.
    pub d_input: usize,
    /// The size of the output features.
    pub d_output: usize,
    /// The probability of dropping each weight (and bias entry) during training; finite, in
    /// `[0, 1)`. Required (no default).
    pub prob: f64,
    /// If a bias should be applied during the linear transformation. Default `true`, as
    /// Burn's `LinearConfig`.
    #[config(default = true)]
    pub bias: bool,
    /// How the parameters are initialized. Default: Burn's `LinearConfig` default,
    /// `KaimingUniform { gain: 1/sqrt(3), fan_out_only: false }`, i.e. `U(-k, k)` with
    /// `k = sqrt(1 / d_input)`.
    #[config(
        default = "Initializer::KaimingUniform { gain: 1.0 / 3.0f64.sqrt(), fan_out_only: false }"
    )]
    pub initializer: Initializer,
}

/// A linear layer `O = I W + b` whose connections are dropped at random during training.
///
/// DropConnect generalizes dropout from activations to weights: in training each entry of `W`
/// (and of `b`) is kept with probability `1 - prob` and kept entries are scaled by
/// `1 / (1 - prob)`, so the expected layer is the plain one; outside training it is the plain
/// affine map. Introduced in
/// [Regularization of Neural Networks using DropConnect](http://proceedings.mlr.press/v28/wan13.html)
/// (Wan et al. 2013).
///
/// One mask is drawn per forward call and shared by every sample of the batch. This is the
/// common implementation (a per-sample mask, as in the paper, costs a weight matrix per
/// sample); it also means the scaled-mean inference of this layer is the paper's "mean"
/// approximation rather than its Gaussian moment matching.
///
/// The parameters have the layout and initialization of [`burn::nn::Linear`] (weight
/// `[d_input, d_output]`, optional bias `[d_output]`); [`from_linear`](Self::from_linear) and
/// [`into_linear`](Self::into_linear) swap one for the other.
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct DropConnectLinear {
    /// Matrix of shape `[d_input, d_output]`, initialized as [`burn::nn::Linear`]'s.
    pub weight: Param<Tensor<2>>,
    /// Vector of size `d_output`, initialized as [`burn::nn::Linear`]'s.
    pub bias: Option<Param<Tensor<1>>>,
    /// The probability of dropping each weight during training.
    pub prob: f64,
    /// Whether to behave as during training. Cleared by
    /// [`freeze`](burn::module::Module::freeze) and matching
    /// [`freeze_group`](burn::module::Module::freeze_group) traversals.
    pub training: Param<Flag>,
}

impl DropConnectLinearConfig {
    /// Checks every field; the error names `drop_connect.prob`, `drop_connect.d_input` or
    /// `drop_connect.d_output`.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.d_input == 0 {
            return Err(invalid("drop_connect.d_input", "must be positive"));
        }
        if self.d_output == 0 {
            return Err(invalid("drop_connect.d_output", "must be positive"));
        }
        check_prob("drop_connect.prob", self.prob)
    }

    /// Initialize a new [`DropConnectLinear`] module on `device`, with the parameters
    /// [`LinearConfig`] would create for the same sizes, bias and initializer.
    ///
    /// # Panics
    ///
    /// When [`validate`](Self::validate) fails; call it first on user-supplied values.
    pub fn init(&self, device: &Device) -> DropConnectLinear {
        if let Err(e) = self.validate() {
            panic!("invalid DropConnectLinearConfig: {e}");
        }
        let linear = LinearConfig::new(self.d_input, self.d_output)
            .with_bias(self.bias)
            .with_initializer(self.initializer.clone())
            .init(device);
        DropConnectLinear::wrap(linear, self.prob)
    }
}

impl DropConnectLinear {
    fn wrap(linear: Linear, prob: f64) -> Self {
        Self {
            weight: linear.weight,
            bias: linear.bias,
            prob,
            training: Param::from_bool(true),
        }
    }

    /// Takes over the parameters of `linear` (same ids, values and layout), dropping its
    /// connections with probability `prob` in training. The error names `drop_connect.prob`.
    pub fn from_linear(linear: Linear, prob: f64) -> Result<Self, NnError> {
        check_prob("drop_connect.prob", prob)?;
        Ok(Self::wrap(linear, prob))
    }

    /// Gives the parameters back as a plain [`Linear`], e.g. for export after training.
    pub fn into_linear(self) -> Linear {
        Linear {
            weight: self.weight,
            bias: self.bias,
        }
    }

    /// Applies the forward pass on the input tensor.
    ///
    /// See [`DropConnectLinear`] for more information.
    ///
    /// # Shapes
    ///
    /// - input: `[..., d_input]`
    /// - output: `[..., d_output]`
    ///
    /// # Panics
    ///
    /// If the last axis of `input` is not `d_input`.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let weight = self.weight.val();
        let [d_input, _] = weight.dims();
        assert_shape!(input, [.., d_input]);
        let bias = self.bias.as_ref().map(|b| b.val());

        if !is_active(&self.training, &input.device(), self.prob) {
            return linear(input, weight, bias);
        }

        let prob_keep = 1.0 - self.prob;
        let scale = 1.0 / prob_keep;
        let weight_mask = weight.random_like(Distribution::Bernoulli(prob_keep)) * scale;
        let bias = bias.map(|b| {
            let bias_mask = b.random_like(Distribution::Bernoulli(prob_keep)) * scale;
            b * bias_mask
        });
        linear(input, weight * weight_mask, bias)
    }
}

impl ModuleDisplay for DropConnectLinear {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        let [d_input, d_output] = self.weight.shape().dims();
        let content = content
            .add("d_input", &d_input)
            .add("d_output", &d_output)
            .add("bias", &self.bias.is_some())
            .add("prob", &self.prob);
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
    use burn::tensor::TensorData;

    fn tensor2(v: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    #[test]
    fn drop_connect_eval_is_the_plain_affine_map() {
        // W = [[1, 2, 3], [4, 5, 6]], b = [0.5, -1, 2], x = [[1, -1], [2, 0.5]]:
        // x W + b = [[1-4+0.5, 2-5-1, 3-6+2], [2+2+0.5, 4+2.5-1, 6+3+2]]
        //         = [[-2.5, -4, -1], [4.5, 5.5, 11]].
        let device = Device::flex();
        let mut layer = DropConnectLinearConfig::new(2, 3, 0.5).init(&device);
        layer.weight = Param::from_tensor(tensor2(vec![1., 2., 3., 4., 5., 6.], [2, 3], &device));
        layer.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0.5f32, -1., 2.], [3]),
            &device,
        )));
        let x = tensor2(vec![1., -1., 2., 0.5], [2, 2], &device);
        let expected = vec![-2.5, -4., -1., 4.5, 5.5, 11.];
        assert_eq!(values(layer.forward(x.clone())), expected);

        // The same on the training device once `valid()` has moved the module off it, and
        // exactly what the plain `Linear` with these parameters computes.
        let ad = Device::flex().autodiff();
        let trained = layer.to_device(&ad).valid();
        assert_eq!(values(trained.forward(x.clone())), expected);
        assert_eq!(values(trained.into_linear().forward(x)), expected);
    }

    #[test]
    fn drop_connect_masks_each_weight_once_per_call() {
        // d_input = 1 and x = [[1], [2]]: row 0 of the output is the masked, rescaled weight
        // row itself, each entry 0 or w / (1 - p); row 1 is twice row 0 (one mask per call,
        // shared by the batch). 10^5 weight draws.
        let (d_output, p) = (100_000, 0.4);
        let device = Device::flex().autodiff();
        let layer = DropConnectLinearConfig::new(1, d_output, p)
            .with_bias(false)
            .init(&device);
        let w = values(layer.weight.val());
        let x = tensor2(vec![1., 2.], [2, 1], &device);
        let out = {
            let _rng = seeded(&device, 23);
            values(layer.forward(x))
        };
        let (row0, row1) = out.split_at(d_output);
        let mut kept = 0;
        for j in 0..d_output {
            if row0[j] != 0.0 {
                assert!(close(row0[j], w[j] as f64 / (1.0 - p)), "column {j}");
                kept += 1;
            }
            assert!(
                close(row1[j], 2.0 * row0[j] as f64),
                "column {j}: batch rows differ"
            );
        }
        assert_kept_fraction(kept, d_output, p);
    }

    #[test]
    fn drop_connect_masks_the_bias_too() {
        // Weights and bias all 1, x = [[0]]: the output is the masked bias alone, each entry
        // 0 or 1 / (1 - p); its mean is within 3 sigma of 1 (inverted scaling).
        let (d_output, p) = (100_000, 0.25);
        let device = Device::flex().autodiff();
        let layer = DropConnectLinearConfig::new(1, d_output, p)
            .with_initializer(Initializer::Constant { value: 1.0 })
            .init(&device);
        let out = {
            let _rng = seeded(&device, 29);
            values(layer.forward(Tensor::<2>::zeros([1, 1], &device)))
        };
        assert!(out.iter().all(|&v| v == 0.0 || close(v, 1.0 / (1.0 - p))));
        let kept = out.iter().filter(|&&v| v != 0.0).count();
        assert_kept_fraction(kept, d_output, p);
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / d_output as f64;
        crate::dropout::test_util::assert_mean_kept(mean, d_output, p);
    }

    #[test]
    fn drop_connect_gradients_reach_the_kept_weights() {
        // loss = sum(x W~) with x = [[1]] and W~ = W * mask / (1 - p), so
        // dloss/dW_j = mask_j / (1 - p) and grad_j * w_j = out_j exactly.
        let (d_output, p) = (64, 0.5);
        let device = Device::flex().autodiff();
        let layer = DropConnectLinearConfig::new(1, d_output, p)
            .with_bias(false)
            .init(&device);
        let w = values(layer.weight.val());
        let _rng = seeded(&device, 31);
        let y = layer.forward(Tensor::<2>::ones([1, 1], &device));
        let grads = y.clone().sum().backward();
        let grad = values(layer.weight.grad(&grads).expect("weight gradient"));
        let out = values(y);
        for j in 0..d_output {
            assert!(
                grad[j] == 0.0 || close(grad[j], 1.0 / (1.0 - p)),
                "grad {}",
                grad[j]
            );
            assert!(close(grad[j] * w[j], out[j] as f64), "column {j}");
        }
        assert!(grad.iter().any(|&g| g != 0.0), "no weight kept");
    }

    #[test]
    fn drop_connect_from_linear_keeps_the_parameters() {
        let device = Device::flex();
        let plain = LinearConfig::new(4, 3).init(&device);
        let id = plain.weight.id;
        let x = Tensor::<2>::random([5, 4], Distribution::Default, &device);
        let expected = values(plain.forward(x.clone()));
        let layer = DropConnectLinear::from_linear(plain, 0.3).unwrap();
        assert_eq!(layer.weight.id, id);
        assert_eq!(values(layer.forward(x)), expected);
        assert_eq!(
            format!("{layer}"),
            "DropConnectLinear {d_input: 4, d_output: 3, bias: true, prob: 0.3, params: 15}"
        );

        let err = DropConnectLinear::from_linear(LinearConfig::new(4, 3).init(&device), 1.0);
        assert!(
            err.unwrap_err()
                .to_string()
                .starts_with("drop_connect.prob: ")
        );
    }

    #[test]
    fn drop_connect_config_defaults_as_linear_and_names_bad_fields() {
        let config = DropConnectLinearConfig::new(5, 7, 0.5);
        assert!(config.bias);
        assert_eq!(config.initializer, LinearConfig::new(5, 7).initializer);
        for p in [1.0, -0.1, f64::NAN] {
            let err = DropConnectLinearConfig::new(5, 7, p)
                .validate()
                .unwrap_err();
            assert!(err.to_string().starts_with("drop_connect.prob: "), "{err}");
        }
        let err = DropConnectLinearConfig::new(0, 7, 0.5)
            .validate()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("drop_connect.d_input: "),
            "{err}"
        );
    }
}
