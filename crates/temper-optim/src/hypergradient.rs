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
//!
//! The additive rule's step `beta * g . u` scales with the gradient norms, so one `beta` does
//! not fit every model: on temper's MNIST MLP with minibatches of 64, `beta = 1e-3` drives the
//! rate to its floor within two epochs. The *multiplicative* form of the same rule
//! (`rule = "multiplicative"`) normalizes it by the two norms:
//! `alpha_{t+1} = alpha_t * (1 - beta * (g_{t+1} . u_t) / (|g_{t+1}| |u_t|))`, a step of at most
//! `beta` in relative terms, driven by the cosine of consecutive directions.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

/// How the hypergradient moves the learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HypergradientRule {
    /// `alpha <- alpha - beta * g . u` (the paper's SGD-HD and Adam-HD).
    #[default]
    Additive,
    /// `alpha <- alpha * (1 - beta * cos(g, u))`: scale-free, never changes sign.
    Multiplicative,
}

/// `hypergradient = { beta = ..., rule = "additive" }` in `[optim]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypergradientSettings {
    /// The hypergradient learning rate: how fast the learning rate itself moves (for the
    /// multiplicative rule, the largest relative change per step, in (0, 1)).
    pub beta: f64,
    /// Additive (the paper's) or multiplicative. Default additive.
    #[serde(default)]
    pub rule: HypergradientRule,
}

impl HypergradientSettings {
    /// Checks `beta`: finite and > 0, and below 1 for the multiplicative rule.
    pub fn validate(&self) -> Result<(), OptimError> {
        if self.rule == HypergradientRule::Multiplicative && !(self.beta > 0.0 && self.beta < 1.0) {
            return Err(invalid(
                "optim.hypergradient.beta",
                format!(
                    "must be in (0, 1) for the multiplicative rule, got {}",
                    self.beta
                ),
            ));
        }
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
    rule: HypergradientRule,
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
            rule: settings.rule,
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
    /// The additive rule keeps the rate at `MIN_LR` or above: a negative rate would climb the
    /// loss, and a zero one would stop the rule from ever measuring an update again.
    pub fn next_lr<M: Module>(&mut self, model: &M, grads: &GradientsParams) -> f64 {
        if !self.delta.is_empty() {
            let mut dot = Dot {
                grads,
                delta: &self.delta,
                sums: None,
            };
            model.visit(&mut dot);
            if let Some(sums) = dot.sums {
                let v = sums
                    .into_data()
                    .convert::<f64>()
                    .try_to_vec::<f64>()
                    .expect("three sums read back");
                let (gu, gg, uu) = (
                    v[0] / self.last_lr,
                    v[1],
                    v[2] / (self.last_lr * self.last_lr),
                );
                let next = match self.rule {
                    HypergradientRule::Additive => (self.lr - self.beta * gu).max(MIN_LR),
                    HypergradientRule::Multiplicative => {
                        let cos = gu / (gg.sqrt() * uu.sqrt());
                        self.lr * (1.0 - self.beta * cos)
                    }
                };
                if next.is_finite() && next > 0.0 {
                    self.lr = next;
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

/// What a checkpoint keeps of a [`Hypergradient`]: the rates, and the last update as a
/// module shaped like the model (see [`Hypergradient::state`]).
#[derive(Debug, Clone)]
pub struct HypergradientState<M> {
    /// The current learning rate.
    pub lr: f64,
    /// The rate the last update was taken with.
    pub last_lr: f64,
    /// `theta_t - theta_{t-1}` in the model's parameters (same [`ParamId`]s); `None` before
    /// the first step.
    pub delta: Option<M>,
}

impl Hypergradient {
    /// The state between two steps, for a checkpoint. `model` gives the shapes: the returned
    /// delta is `model` with every float parameter replaced by its last update, so Burn's
    /// module records store it and keep its parameter ids.
    pub fn state<M: Module>(&self, model: &M) -> HypergradientState<M> {
        let delta = (!self.delta.is_empty()).then(|| {
            model.clone().map(&mut Replace {
                values: &self.delta,
            })
        });
        HypergradientState {
            lr: self.lr,
            last_lr: self.last_lr,
            delta,
        }
    }

    /// Continues from a checkpoint's [`state`](Self::state).
    pub fn restore<M: Module>(&mut self, state: &HypergradientState<M>) {
        self.lr = state.lr;
        self.last_lr = state.last_lr;
        self.before.clear();
        self.delta = match &state.delta {
            Some(delta) => {
                let mut snapshot = Snapshot::default();
                delta.visit(&mut snapshot);
                snapshot.values
            }
            None => HashMap::new(),
        };
    }
}

/// Replaces float parameters by the flattened tensors of the same id (others untouched).
struct Replace<'a> {
    values: &'a HashMap<ParamId, Tensor<1>>,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let id = param.id;
        param.map(|t| match self.values.get(&id) {
            Some(v) => v.clone().reshape(t.shape()),
            None => t,
        })
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

/// The floor of the additive rule's learning rate.
pub const MIN_LR: f64 = 1e-8;

/// `[g . delta, |g|^2, |delta|^2]` summed over the parameters with both, on the device.
struct Dot<'a> {
    grads: &'a GradientsParams,
    delta: &'a HashMap<ParamId, Tensor<1>>,
    sums: Option<Tensor<1>>,
}

impl ModuleVisitor for Dot<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let (Some(g), Some(d)) = (self.grads.get::<D>(param.id), self.delta.get(&param.id)) else {
            return;
        };
        let n = g.shape().num_elements();
        let g = g.reshape([n]);
        let s = Tensor::cat(
            vec![
                (g.clone() * d.clone()).sum(),
                g.square().sum(),
                d.clone().square().sum(),
            ],
            0,
        );
        self.sums = Some(match self.sums.take() {
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

    /// The one-parameter model x = 1 on flex with autodiff, and plain SGD at lr 0.1.
    fn point_at_one_with_sgd() -> (Point, burn::optim::ModuleOptimizer) {
        let device = Device::flex().autodiff();
        let model = Point {
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
        (model, settings.init().unwrap())
    }

    /// SGD-HD on f(x) = x^2 / 2 (gradient x) from x0 = 1: with u_t = -g_t the rule is the
    /// paper's alpha_t = alpha_{t-1} + beta * g_t * g_{t-1} (Baydin et al. 2018, eq. 6).
    #[test]
    fn sgd_hd_on_a_quadratic_follows_the_papers_recursion() {
        let (mut model, mut optim) = point_at_one_with_sgd();
        let mut hd = Hypergradient::new(
            0.1,
            &HypergradientSettings {
                beta: 0.5,
                rule: HypergradientRule::Additive,
            },
        )
        .unwrap();
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

    /// The multiplicative rule on the same quadratic: in one dimension consecutive gradients
    /// point the same way (cos = 1) while x stays positive, so alpha_t = alpha_0 (1 + beta)^t.
    #[test]
    fn multiplicative_rule_scales_by_one_plus_beta_per_aligned_step() {
        let (mut model, mut optim) = point_at_one_with_sgd();
        let rule = HypergradientRule::Multiplicative;
        let mut hd = Hypergradient::new(0.1, &HypergradientSettings { beta: 0.2, rule }).unwrap();
        for step in 0..4 {
            let loss = model.x.val().powi_scalar(2).sum().mul_scalar(0.5);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let lr = hd.next_lr(&model, &grads);
            let want = 0.1 * 1.2f64.powi(step);
            assert!((lr - want).abs() < 1e-6, "step {step}: {lr} vs {want}");
            model = optim.step(lr, model, grads);
            hd.after_step(&model);
        }
    }

    #[test]
    fn beta_must_be_positive() {
        let err = |beta, rule| {
            Hypergradient::new(0.1, &HypergradientSettings { beta, rule })
                .unwrap_err()
                .to_string()
        };
        assert!(err(0.0, HypergradientRule::Additive).starts_with("optim.hypergradient.beta"));
        assert!(err(1.5, HypergradientRule::Multiplicative).contains("(0, 1)"));
    }
}
