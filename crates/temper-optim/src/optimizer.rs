//! Optimizer presets: one serde-friendly settings struct for every optimizer temper offers,
//! whose unset fields take **PyTorch's** defaults (stated below), built into Burn's
//! [`ModuleOptimizer`].
//!
//! Burn's own defaults differ from PyTorch's (epsilon 1e-5, RMSprop momentum 0.9, SGD
//! dampening 0.1), so a recipe copied from a PyTorch paper would silently change meaning;
//! temper always passes every value explicitly.
//!
//! | kind | lr | other defaults (PyTorch 2.x documentation) |
//! |---|---|---|
//! | `sgd` | 0.01 | momentum 0, dampening 0, nesterov false, weight_decay 0 |
//! | `adam` | 1e-3 | betas (0.9, 0.999), eps 1e-8, weight_decay 0 |
//! | `adamw` | 1e-3 | betas (0.9, 0.999), eps 1e-8, weight_decay 0.01 (decoupled) |
//! | `adagrad` | 0.01 | lr_decay 0, eps 1e-10, weight_decay 0 |
//! | `rmsprop` | 0.01 | alpha 0.99, eps 1e-8, momentum 0, centered false, weight_decay 0 |
//!
//! `torch.optim.SGD` has no default lr; 0.01 is Keras' `SGD` default. Weight decay is coupled
//! (added to the gradient, PyTorch's `weight_decay`) except for `adamw`, where it is decoupled
//! (Loshchilov & Hutter 2019).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdaGradConfig, AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig,
};
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

/// Which optimizer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    #[default]
    Adam,
    #[serde(rename = "adamw")]
    AdamW,
    #[serde(rename = "adagrad")]
    AdaGrad,
    #[serde(rename = "rmsprop")]
    RmsProp,
}

impl OptimizerKind {
    fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::AdaGrad => "adagrad",
            OptimizerKind::RmsProp => "rmsprop",
        }
    }
}

/// The `[optim]` section: an optimizer and its hyperparameters. `None` means "the preset's
/// default for this kind"; [`resolve`](Self::resolve) fills them in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerSettings {
    pub kind: OptimizerKind,
    /// Base learning rate (a schedule scales it).
    pub lr: Option<f64>,
    /// Weight decay factor.
    pub weight_decay: Option<f64>,
    /// Momentum factor (`sgd`, `rmsprop`).
    pub momentum: Option<f64>,
    /// Momentum dampening (`sgd`).
    pub dampening: Option<f64>,
    /// Nesterov momentum (`sgd`).
    pub nesterov: Option<bool>,
    /// `[beta1, beta2]` (`adam`, `adamw`).
    pub betas: Option<[f64; 2]>,
    /// Term added to the denominator for numerical stability (all but `sgd`).
    pub eps: Option<f64>,
    /// Smoothing constant of the squared-gradient average (`rmsprop`).
    pub alpha: Option<f64>,
    /// Normalize by the estimated gradient variance (`rmsprop`).
    pub centered: Option<bool>,
    /// Learning-rate decay `lr / (1 + (t - 1) * lr_decay)` (`adagrad`).
    pub lr_decay: Option<f64>,
}

impl OptimizerSettings {
    /// A preset of `kind` with every field at its default.
    pub fn preset(kind: OptimizerKind) -> Self {
        Self {
            kind,
            ..Self::default()
        }
        .resolve()
        .expect("defaults are valid")
    }

    /// Fills every unset field with the kind's default and checks every value; a field that
    /// does not apply to the kind is an error naming it (`optim.betas does not apply to sgd`).
    pub fn resolve(&self) -> Result<Self, OptimError> {
        use OptimizerKind::*;
        let k = self.kind;
        let allowed: &[&str] = match k {
            Sgd => &["momentum", "dampening", "nesterov"],
            Adam | AdamW => &["betas", "eps"],
            AdaGrad => &["eps", "lr_decay"],
            RmsProp => &["eps", "alpha", "momentum", "centered"],
        };
        let set = [
            ("momentum", self.momentum.is_some()),
            ("dampening", self.dampening.is_some()),
            ("nesterov", self.nesterov.is_some()),
            ("betas", self.betas.is_some()),
            ("eps", self.eps.is_some()),
            ("alpha", self.alpha.is_some()),
            ("centered", self.centered.is_some()),
            ("lr_decay", self.lr_decay.is_some()),
        ];
        if let Some((name, _)) = set.iter().find(|(n, s)| *s && !allowed.contains(n)) {
            return Err(invalid(
                &format!("optim.{name}"),
                format!("does not apply to {}", k.name()),
            ));
        }
        let on = |name: &str| allowed.contains(&name);
        let r = Self {
            kind: k,
            lr: Some(self.lr.unwrap_or(match k {
                Adam | AdamW => 1e-3,
                Sgd | AdaGrad | RmsProp => 1e-2,
            })),
            weight_decay: Some(
                self.weight_decay
                    .unwrap_or(if k == AdamW { 1e-2 } else { 0.0 }),
            ),
            momentum: on("momentum").then(|| self.momentum.unwrap_or(0.0)),
            dampening: on("dampening").then(|| self.dampening.unwrap_or(0.0)),
            nesterov: on("nesterov").then(|| self.nesterov.unwrap_or(false)),
            betas: on("betas").then(|| self.betas.unwrap_or([0.9, 0.999])),
            eps: on("eps").then(|| self.eps.unwrap_or(if k == AdaGrad { 1e-10 } else { 1e-8 })),
            alpha: on("alpha").then(|| self.alpha.unwrap_or(0.99)),
            centered: on("centered").then(|| self.centered.unwrap_or(false)),
            lr_decay: on("lr_decay").then(|| self.lr_decay.unwrap_or(0.0)),
        };
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), OptimError> {
        let lr = self.lr.unwrap_or_default();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(invalid("optim.lr", format!("must be positive, got {lr}")));
        }
        let unit = |name: &str, v: Option<f64>, closed: bool| match v {
            Some(x) if !(x.is_finite() && x >= 0.0 && (x < 1.0 || closed && x <= 1.0)) => {
                Err(invalid(
                    &format!("optim.{name}"),
                    format!(
                        "must be in [0, 1{}, got {x}",
                        if closed { "]" } else { ")" }
                    ),
                ))
            }
            _ => Ok(()),
        };
        unit("momentum", self.momentum, false)?;
        unit("dampening", self.dampening, true)?;
        unit("alpha", self.alpha, false)?;
        if let Some([b1, b2]) = self.betas {
            unit("betas", Some(b1), false)?;
            unit("betas", Some(b2), false)?;
        }
        let nonneg = |name: &str, v: Option<f64>| match v {
            Some(x) if !(x.is_finite() && x >= 0.0) => Err(invalid(
                &format!("optim.{name}"),
                format!("must be >= 0, got {x}"),
            )),
            _ => Ok(()),
        };
        nonneg("weight_decay", self.weight_decay)?;
        nonneg("eps", self.eps)?;
        nonneg("lr_decay", self.lr_decay)?;
        if self.nesterov == Some(true)
            && (self.momentum.unwrap_or(0.0) <= 0.0 || self.dampening.unwrap_or(0.0) != 0.0)
        {
            return Err(invalid(
                "optim.nesterov",
                "needs momentum > 0 and dampening = 0 (as in PyTorch)",
            ));
        }
        Ok(())
    }

    /// The base learning rate after [`resolve`](Self::resolve).
    pub fn learning_rate(&self) -> f64 {
        self.lr.expect("resolved settings")
    }

    /// Builds the Burn optimizer with every value passed explicitly.
    pub fn init(&self) -> Result<ModuleOptimizer, OptimError> {
        let r = self.resolve()?;
        let f = |v: Option<f64>| v.expect("resolved") as f32;
        let wd = r.weight_decay.expect("resolved");
        let coupled = (wd > 0.0).then(|| WeightDecayConfig::new(wd as f32));
        Ok(match r.kind {
            OptimizerKind::Sgd => {
                let momentum = r.momentum.expect("resolved");
                SgdConfig::new()
                    .with_weight_decay(coupled)
                    .with_momentum((momentum > 0.0).then(|| MomentumConfig {
                        momentum,
                        dampening: r.dampening.expect("resolved"),
                        nesterov: r.nesterov.expect("resolved"),
                    }))
                    .init()
            }
            OptimizerKind::Adam => {
                let [b1, b2] = r.betas.expect("resolved");
                AdamConfig::new()
                    .with_beta_1(b1 as f32)
                    .with_beta_2(b2 as f32)
                    .with_epsilon(f(r.eps))
                    .with_weight_decay(coupled)
                    .init()
            }
            OptimizerKind::AdamW => {
                let [b1, b2] = r.betas.expect("resolved");
                AdamWConfig::new()
                    .with_beta_1(b1 as f32)
                    .with_beta_2(b2 as f32)
                    .with_epsilon(f(r.eps))
                    .with_weight_decay(wd as f32)
                    .init()
            }
            OptimizerKind::AdaGrad => AdaGradConfig::new()
                .with_lr_decay(r.lr_decay.expect("resolved"))
                .with_epsilon(f(r.eps))
                .with_weight_decay(coupled)
                .init(),
            OptimizerKind::RmsProp => RmsPropConfig::new()
                .with_alpha(f(r.alpha))
                .with_momentum(f(r.momentum))
                .with_epsilon(f(r.eps))
                .with_centered(r.centered.expect("resolved"))
                .with_weight_decay(coupled)
                .init(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor, TensorData};

    /// One step of `settings` on `w = [[1.0]]` (no bias) with loss `sum(w * x)`, x = 2, so the
    /// gradient is exactly 2.
    fn one_step(settings: &OptimizerSettings) -> f32 {
        let device = Device::flex().autodiff();
        let mut model: Linear = LinearConfig::new(1, 1).with_bias(false).init(&device);
        model.weight = model.weight.map(|_| {
            Tensor::from_data(TensorData::new(vec![1.0f32], [1, 1]), &device).require_grad()
        });
        let mut optim = settings.init().unwrap();
        let x = Tensor::<2>::from_data(TensorData::new(vec![2.0f32], [1, 1]), &device);
        let grads = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
        let model = optim.step(settings.resolve().unwrap().learning_rate(), model, grads);
        model.weight.val().into_data().try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn first_steps_match_pytorch_update_rules() {
        // SGD, lr 0.1: w - lr * g = 1 - 0.1 * 2 = 0.8.
        let sgd = OptimizerSettings {
            kind: OptimizerKind::Sgd,
            lr: Some(0.1),
            ..Default::default()
        };
        assert!((one_step(&sgd) - 0.8).abs() < 1e-6);
        // SGD with coupled weight decay 0.5: g' = 2 + 0.5 * 1 = 2.5, w = 1 - 0.25 = 0.75.
        let sgd_wd = OptimizerSettings {
            weight_decay: Some(0.5),
            ..sgd.clone()
        };
        assert!((one_step(&sgd_wd) - 0.75).abs() < 1e-6);
        // Adam's first step is lr * m_hat / (sqrt(v_hat) + eps) = lr * g/|g| ≈ lr:
        // 1 - 1e-3 (Kingma & Ba 2015, Algorithm 1).
        let adam = OptimizerSettings::preset(OptimizerKind::Adam);
        assert!(
            (one_step(&adam) - 0.999).abs() < 1e-6,
            "{}",
            one_step(&adam)
        );
        // AdamW: decoupled decay first, w(1 - lr * wd) = 1 - 1e-5, then the Adam step 1e-3.
        let adamw = OptimizerSettings::preset(OptimizerKind::AdamW);
        assert!((one_step(&adamw) - (1.0 - 1e-5 - 1e-3)).abs() < 1e-6);
    }

    #[test]
    fn presets_state_pytorch_defaults() {
        let a = OptimizerSettings::preset(OptimizerKind::Adam);
        assert_eq!(a.eps, Some(1e-8));
        assert_eq!(a.betas, Some([0.9, 0.999]));
        let r = OptimizerSettings::preset(OptimizerKind::RmsProp);
        assert_eq!((r.momentum, r.alpha), (Some(0.0), Some(0.99)));
        let s = OptimizerSettings::preset(OptimizerKind::Sgd);
        assert_eq!((s.dampening, s.betas), (Some(0.0), None));
        assert_eq!(
            OptimizerSettings::preset(OptimizerKind::AdaGrad).eps,
            Some(1e-10)
        );
    }

    #[test]
    fn fields_that_do_not_apply_are_named() {
        let bad = OptimizerSettings {
            kind: OptimizerKind::Sgd,
            betas: Some([0.9, 0.99]),
            ..Default::default()
        };
        let err = bad.resolve().unwrap_err().to_string();
        assert_eq!(err, "optim.betas: does not apply to sgd");
        let neg = OptimizerSettings {
            lr: Some(-1.0),
            ..Default::default()
        };
        assert!(
            neg.resolve()
                .unwrap_err()
                .to_string()
                .starts_with("optim.lr")
        );
    }

    #[test]
    fn every_preset_builds_and_steps() {
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::Adam,
            OptimizerKind::AdamW,
            OptimizerKind::AdaGrad,
            OptimizerKind::RmsProp,
        ] {
            let w = one_step(&OptimizerSettings::preset(kind));
            // Largest first step is RMSprop's: lr * g / sqrt((1 - alpha) * g^2) = 0.1.
            assert!((0.85..1.0).contains(&w), "{kind:?} moved w to {w}");
        }
    }
}
