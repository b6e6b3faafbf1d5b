//! Gradient clipping: per element (`value`), per parameter tensor (`norm`), or over all
//! parameters together (`global_norm`).
//!
//! - `value` and `norm` are Burn's `GradientClipping`, applied by the [`ModuleOptimizer`] to
//!   each parameter's gradient before its update ([`GradClipSettings::attach`]).
//! - `global_norm` is PyTorch's `torch.nn.utils.clip_grad_norm_` (`torch/nn/utils/clip_grad.py`),
//!   which Burn lacks: the L2 norm of all gradients viewed as one vector, and every gradient
//!   scaled by `min(1, max_norm / (total + 1e-6))`. It needs the whole gradient set at once, so
//!   it runs between `backward` and `step` ([`clip_global_norm`]).

use burn::grad_clipping::GradientClippingConfig;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

/// The `clip` setting of `[optim]`: `clip = { value = 0.5 }`, `{ norm = 1.0 }` or
/// `{ global_norm = 1.0 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradClipSettings {
    /// Clamp every gradient element to `[-v, v]` (PyTorch `clip_grad_value_`).
    Value(f64),
    /// Rescale each parameter's gradient whose L2 norm exceeds the limit to that norm
    /// (Burn's per-tensor `GradientClipping::Norm`).
    Norm(f64),
    /// Rescale all gradients together so their joint L2 norm is at most the limit
    /// (PyTorch `clip_grad_norm_`).
    GlobalNorm(f64),
}

impl GradClipSettings {
    /// The limit must be finite and positive; the error names `optim.clip`.
    pub fn validate(&self) -> Result<(), OptimError> {
        let (name, v) = match *self {
            Self::Value(v) => ("value", v),
            Self::Norm(v) => ("norm", v),
            Self::GlobalNorm(v) => ("global_norm", v),
        };
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(invalid(
                "optim.clip",
                format!("{name} must be finite and positive, got {v}"),
            ))
        }
    }

    /// Burn's per-tensor clipping config for `value` and `norm`; `None` for `global_norm`.
    pub fn per_tensor(&self) -> Option<GradientClippingConfig> {
        match *self {
            Self::Value(v) => Some(GradientClippingConfig::Value(v as f32)),
            Self::Norm(v) => Some(GradientClippingConfig::Norm(v as f32)),
            Self::GlobalNorm(_) => None,
        }
    }

    /// The limit of `global_norm`; `None` for the per-tensor kinds.
    pub fn global_max_norm(&self) -> Option<f64> {
        match *self {
            Self::GlobalNorm(v) => Some(v),
            _ => None,
        }
    }

    /// Installs the per-tensor kinds on `optim` (Burn's `with_grad_clipping`); `global_norm`
    /// leaves it unchanged, since it is applied to the gradients by [`clip_global_norm`].
    pub fn attach(&self, optim: ModuleOptimizer) -> ModuleOptimizer {
        match self.per_tensor() {
            Some(config) => optim.with_grad_clipping(config.init()),
            None => optim,
        }
    }
}

/// PyTorch's `clip_grad_norm_` with `norm_type = 2`: `total = sqrt(sum_p ||g_p||^2)` over
/// `module`'s parameters that have a gradient in `grads`; when `max_norm / (total + 1e-6) < 1`
/// every gradient is multiplied by that factor. Returns the clipped gradients and `total`
/// measured before clipping. A non-finite `total` scales the gradients by 0 (inf) or NaN,
/// as PyTorch's default `error_if_nonfinite = False` does: check it before stepping.
///
/// Reads one scalar back from the device.
pub fn clip_global_norm<M: Module>(
    grads: GradientsParams,
    module: &M,
    max_norm: f64,
) -> (GradientsParams, f64) {
    let mut norm = SquaredNorm {
        grads: &grads,
        sum: None,
    };
    module.visit(&mut norm);
    let Some(sum) = norm.sum else {
        return (grads, 0.0);
    };
    let total = (sum.into_scalar::<f32>() as f64).sqrt();
    let factor = max_norm / (total + 1e-6);
    if factor >= 1.0 {
        return (grads, total);
    }
    let mut scale = Scale { grads, factor };
    module.visit(&mut scale);
    (scale.grads, total)
}

/// Sums `||g||^2` over the parameters that have a gradient, on the device.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
}

/// Multiplies every gradient of the module by `factor`.
struct Scale {
    grads: GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::config::Config;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    /// A 1 -> 1 Linear and the gradients of `loss = 3 w + 4 b`: exactly (3, 4).
    fn grads_3_4(device: &Device) -> (Linear, GradientsParams) {
        let model: Linear = LinearConfig::new(1, 1).init(device);
        let w = model.weight.val();
        let b = model.bias.as_ref().unwrap().val();
        // d/dw (3 w) = 3, d/db (4 b) = 4: the gradient vector (3, 4) has norm 5.
        let loss = w.sum().mul_scalar(3.0) + b.sum().mul_scalar(4.0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (model, grads)
    }

    fn grad_values(model: &Linear, grads: &GradientsParams) -> [f32; 2] {
        let w = grads.get::<2>(model.weight.id).unwrap();
        let b = grads.get::<1>(model.bias.as_ref().unwrap().id).unwrap();
        [w.into_scalar::<f32>(), b.into_scalar::<f32>()]
    }

    #[test]
    fn global_norm_matches_pytorch() {
        let device = Device::flex().autodiff();
        let (model, grads) = grads_3_4(&device);
        // total = sqrt(3^2 + 4^2) = 5; max 1 -> factor 1 / (5 + 1e-6): (0.6, 0.8).
        let (clipped, total) = clip_global_norm(grads, &model, 1.0);
        assert!((total - 5.0).abs() < 1e-6, "{total}");
        let [gw, gb] = grad_values(&model, &clipped);
        let f = 1.0 / (5.0 + 1e-6);
        assert!((gw as f64 - 3.0 * f).abs() < 1e-6 && (gb as f64 - 4.0 * f).abs() < 1e-6);

        // Below the limit nothing changes (factor 10 / 5 is clamped to 1).
        let (model, grads) = grads_3_4(&device);
        let (kept, total) = clip_global_norm(grads, &model, 10.0);
        assert!((total - 5.0).abs() < 1e-6);
        assert_eq!(grad_values(&model, &kept), [3.0, 4.0]);
    }

    #[test]
    fn per_tensor_kinds_go_through_burn() {
        // Per tensor, `norm = 1` clips the weight gradient 3 to 1 and the bias gradient 4
        // to 1 separately; SGD with lr 1 then moves w from its init by exactly -1 and b by -1.
        let device = Device::flex().autodiff();
        let (model, grads) = grads_3_4(&device);
        let w0 = model.weight.val().into_scalar::<f32>();
        let b0 = model.bias.as_ref().unwrap().val().into_scalar::<f32>();
        let optim = burn::optim::SgdConfig::new().init();
        let mut optim = GradClipSettings::Norm(1.0).attach(optim);
        assert!(optim.has_gradient_clipping());
        let model = optim.step(1.0, model, grads);
        let w1 = model.weight.val().into_scalar::<f32>();
        let b1 = model.bias.as_ref().unwrap().val().into_scalar::<f32>();
        assert!((w0 - w1 - 1.0).abs() < 1e-5 && (b0 - b1 - 1.0).abs() < 1e-5);

        // `value = 0.5` clamps each element: moves of exactly 0.5.
        let (model, grads) = grads_3_4(&device);
        let w0 = model.weight.val().into_scalar::<f32>();
        let mut optim = GradClipSettings::Value(0.5).attach(burn::optim::SgdConfig::new().init());
        let model = optim.step(1.0, model, grads);
        assert!((w0 - model.weight.val().into_scalar::<f32>() - 0.5).abs() < 1e-6);

        let optim = GradClipSettings::GlobalNorm(1.0).attach(burn::optim::SgdConfig::new().init());
        assert!(!optim.has_gradient_clipping());
        assert!(GradClipSettings::GlobalNorm(1.0).per_tensor().is_none());
    }

    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Holder {
        clip: GradClipSettings,
    }
    impl Config for Holder {}

    #[test]
    fn clip_settings_read_as_tagged_maps_and_validate() {
        // Burn's Config reads JSON; `{"global_norm": 1.0}` is the same externally tagged
        // single-key map that TOML writes `clip = { global_norm = 1.0 }`.
        let h = Holder::load_binary(br#"{"clip": {"global_norm": 1.5}}"#).unwrap();
        assert_eq!(h.clip, GradClipSettings::GlobalNorm(1.5));
        let h = Holder::load_binary(br#"{"clip": {"value": 0.5}}"#).unwrap();
        assert_eq!(h.clip, GradClipSettings::Value(0.5));
        assert!(Holder::load_binary(br#"{"clip": {"max": 0.5}}"#).is_err());

        assert!(GradClipSettings::Norm(1.0).validate().is_ok());
        let err = GradClipSettings::GlobalNorm(0.0).validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "optim.clip: global_norm must be finite and positive, got 0"
        );
        assert!(GradClipSettings::Value(f64::INFINITY).validate().is_err());
    }
}
