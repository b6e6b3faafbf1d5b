//! Hypergradient descent on the learning rate (Baydin et al. 2018, "Online Learning Rate
//! Adaptation with Hypergradient Descent", <https://arxiv.org/abs/1703.04782>).
//!
//! Each step moves the learning rate against the derivative of the loss with respect to it:
//! with `theta_t = theta_{t-1} + alpha_t * u_t` (`u_t` the update direction the optimizer took),
//! `d f(theta_t) / d alpha_t = grad f(theta_t) . u_t`, so
//!
//! `alpha_{t+1} = alpha_t - beta * g_{t+1} . u_t`, with `u_t = (theta_t - theta_{t-1}) / alpha_t`.
//!
//! For SGD `u_t = -g_t`, which is the paper's SGD-HD (`alpha_t = alpha_{t-1} + beta g_t .
//! g_{t-1}`); for Adam `u_t = -m_hat_t / (sqrt(v_hat_t) + eps)`, the paper's Adam-HD. Measuring
//! `u_t` from the parameters themselves makes the rule work around any of temper's optimizers
//! (momentum, decoupled decay and clipping included) without reaching into their state.
//! The paper's hypergradient rates: `beta = 1e-3` for SGD-HD, `1e-7` for Adam-HD (section 5).

use std::collections::HashMap;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

/// `hypergradient = { beta = ... }` in `[optim]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypergradientSettings {
    /// The hypergradient learning rate: how fast the learning rate itself moves.
    pub beta: f64,
}

impl HypergradientSettings {
    pub fn validate(&self) -> Result<(), OptimError> {
        if self.beta.is_finite() && self.beta > 0.0 {
            Ok(())
        } else {
            Err(invalid(
                "optim.hypergradient.beta",
                format!("must be finite and > 0, got {}", self.beta),
            ))
        }
    }
}

/// The learning rate of a run under hypergradient descent, and the last update it needs.
#[derive(Debug, Clone)]
pub struct Hypergradient {
    beta: f64,
    lr: f64,
    /// The rate the last update was taken with.
    last_lr: f64,
    /// Parameters before the optimizer step in progress, flattened, by id.
    before: HashMap<ParamId, Tensor<1>>,
    /// `theta_t - theta_{t-1}` of the last step, flattened, by id.
    delta: HashMap<ParamId, Tensor<1>>,
}

impl Hypergradient {
    /// Starts from learning rate `lr`.
    pub fn new(lr: f64, settings: &HypergradientSettings) -> Result<Self, OptimError> {
        settings.validate()?;
        Ok(Self {
            beta: settings.beta,
            lr,
            last_lr: lr,
            before: HashMap::new(),
            delta: HashMap::new(),
        })
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Takes this step's gradients (after any clipping) and the model before the step; returns
    /// the learning rate to step with. Reads one scalar back from the device.
    ///
    /// The rate is kept at 0 or above: a negative rate would climb the loss. The paper does
    /// not need the floor; it only matters when `beta` is far too large.
    pub fn next_lr<M: Module>(&mut self, model: &M, grads: &GradientsParams) -> f64 {
        if !self.delta.is_empty() {
            let mut dot = Dot {
                grads,
                delta: &self.delta,
                sum: None,
            };
            model.visit(&mut dot);
            if let Some(sum) = dot.sum {
                let h = sum.into_scalar::<f32>() as f64 / self.last_lr;
                if h.is_finite() {
                    self.lr = (self.lr - self.beta * h).max(0.0);
                }
            }
        }
        let mut snapshot = Snapshot::default();
        model.visit(&mut snapshot);
        self.before = snapshot.values;
        self.last_lr = self.lr;
        self.lr
    }

    /// Records the step just taken, from the model after it.
    pub fn after_step<M: Module>(&mut self, model: &M) {
        let mut snapshot = Snapshot::default();
        model.visit(&mut snapshot);
        let before = std::mem::take(&mut self.before);
        self.delta = snapshot
            .values
            .into_iter()
            .filter_map(|(id, after)| before.get(&id).map(|b| (id, after - b.clone())))
            .collect();
    }
}

#[derive(Default)]
struct Snapshot {
    values: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for Snapshot {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().inner();
        let n = value.shape().num_elements();
        self.values.insert(param.id, value.reshape([n]));
    }
}

/// `sum_p g_p . delta_p` over the parameters with both, on the device.
struct Dot<'a> {
    grads: &'a GradientsParams,
    delta: &'a HashMap<ParamId, Tensor<1>>,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for Dot<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let (Some(g), Some(d)) = (self.grads.get::<D>(param.id), self.delta.get(&param.id)) else {
            return;
        };
        let n = g.shape().num_elements();
        let s = (g.reshape([n]) * d.clone()).sum();
        self.sum = Some(match self.sum.take() {
            Some(acc) => acc + s,
            None => s,
        });
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::OptimizerSettings;

    #[derive(Module, Debug)]
    struct Point {
        x: Param<Tensor<1>>,
    }

    /// SGD-HD on f(x) = x^2 / 2 (gradient x) from x0 = 1: with u_t = -g_t the rule is the
    /// paper's alpha_t = alpha_{t-1} + beta * g_t * g_{t-1} (Baydin et al. 2018, eq. 6).
    #[test]
    fn sgd_hd_on_a_quadratic_follows_the_papers_recursion() {
        let device = Device::flex().autodiff();
        let mut model = Point {
            x: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![1.0f32], [1]),
                &device,
            )),
        };
        let settings = OptimizerSettings {
            kind: crate::OptimizerKind::Sgd,
            lr: Some(0.1),
            ..Default::default()
        };
        let mut optim = settings.init().unwrap();
        let mut hd = Hypergradient::new(0.1, &HypergradientSettings { beta: 0.5 }).unwrap();
        let (mut x, mut alpha, beta) = (1.0f64, 0.1f64, 0.5f64);
        let mut prev_g: Option<f64> = None;
        for step in 0..5 {
            let loss = model.x.val().powi_scalar(2).sum().mul_scalar(0.5);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let lr = hd.next_lr(&model, &grads);
            // Hand recursion.
            let g = x;
            if let Some(pg) = prev_g {
                alpha += beta * g * pg;
            }
            assert!((lr - alpha).abs() < 1e-6, "step {step}: lr {lr} vs {alpha}");
            model = optim.step(lr, model, grads);
            hd.after_step(&model);
            x -= alpha * g;
            prev_g = Some(g);
            let got = model.x.val().into_scalar::<f32>() as f64;
            assert!((got - x).abs() < 1e-6, "step {step}: x {got} vs {x}");
        }
        // 0.1 -> 0.1 + 0.5 * 0.9 * 1 = 0.55: the rate grows while steps keep pointing the same way.
        assert!(alpha > 0.5);
    }

    #[test]
    fn beta_must_be_positive() {
        let err = Hypergradient::new(0.1, &HypergradientSettings { beta: 0.0 }).unwrap_err();
        assert!(err.to_string().starts_with("optim.hypergradient.beta"));
    }
}
