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
//! | `adam` | 1e-3 | betas (0.9, 0.999), eps 1e-8, weight_decay 0, amsgrad false |
//! | `adamw` | 1e-3 | betas (0.9, 0.999), eps 1e-8, weight_decay 0.01 (decoupled), amsgrad false |
//! | `adagrad` | 0.01 | lr_decay 0, eps 1e-10, initial_accumulator_value 0, weight_decay 0 |
//! | `rmsprop` | 0.01 | alpha 0.99, eps 1e-8, momentum 0, centered false, weight_decay 0 |
//!
//! `torch.optim.SGD` has no default lr; 0.01 is Keras' `SGD` default.
//!
//! **Weight decay** is coupled (added to the gradient, PyTorch's `weight_decay`) by default,
//! and decoupled for `adamw`. `weight_decay_mode = "decoupled"` gives any other kind
//! decoupled decay through [`DecoupledWeightDecay`](crate::DecoupledWeightDecay)
//! (`w <- w * (1 - lr * wd)` before the step, PyTorch AdamW's form; Loshchilov & Hutter scale
//! the decay by the schedule multiplier instead of lr, so their lambda is `lr * wd` here).
//! `adamw` with `"coupled"` is rejected: that is `adam`.
//!
//! **Which update rules are Burn's.** Every kind is checked step by step against PyTorch's
//! documented algorithm (`optimizer_tests.rs`). Burn's SGD (momentum, dampening, Nesterov),
//! Adam, AdamW and RMSprop (eps after the square root, centered, momentum buffer) follow it
//! exactly and are used as they are. `amsgrad = true` (Reddi et al. 2018, PyTorch's
//! `amsgrad`) keeps `v_max = max(v_max, v_t)` and steps with
//! `m_hat / (sqrt(v_max) / sqrt(1 - beta2^t) + eps)`, as `torch.optim.Adam` does; it runs on
//! Burn's `Adam` / `AdamW` with `with_amsgrad`, whose `AdaptiveMomentumState::max_moment_2`
//! is part of the optimizer record, so it round-trips through checkpoints. (The one-pass
//! `adam` update on flex has no `v_max`, so amsgrad runs do not use it.) AdaGrad is temper's own ([`Adagrad`](crate::Adagrad)):
//! Burn's lacks `initial_accumulator_value`.

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, Optimizer, RmsPropConfig, SgdConfig,
};
use serde::{Deserialize, Serialize};
use temper_compress::settings::SwaSettings;

use crate::adagrad::Adagrad;
use crate::clipping::{GradClipSettings, clip_global_norm};
use crate::decoupled::DecoupledWeightDecay;
use crate::ema::EmaSettings;
use crate::error::{OptimError, invalid};
use crate::fused_adam::FusedAdam;
use crate::hypergradient::{HypergradientRule, HypergradientSettings};
use crate::momentum::{Cycled, MomentumCell};

/// Which optimizer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `sgd`: SGD with optional momentum, dampening and Nesterov (`torch.optim.SGD`); lr 0.01.
    Sgd,
    /// `adam`: Adam (`torch.optim.Adam`); lr 1e-3. The default.
    #[default]
    Adam,
    /// `adamw`: Adam with decoupled weight decay (`torch.optim.AdamW`); lr 1e-3, weight decay
    /// 0.01.
    #[serde(rename = "adamw")]
    AdamW,
    /// `adagrad`: AdaGrad (`torch.optim.Adagrad`, temper's [`Adagrad`]); lr 0.01.
    #[serde(rename = "adagrad")]
    AdaGrad,
    /// `rmsprop`: RMSprop (`torch.optim.RMSprop`); lr 0.01.
    #[serde(rename = "rmsprop")]
    RmsProp,
    /// `sgd` with hypergradient descent on the learning rate, `beta` 1e-3 (SGD-HD).
    #[serde(rename = "sgd-hd")]
    SgdHd,
    /// `adam` with hypergradient descent on the learning rate, `beta` 1e-7 (Adam-HD).
    #[serde(rename = "adam-hd")]
    AdamHd,
}

impl OptimizerKind {
    fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::AdaGrad => "adagrad",
            OptimizerKind::RmsProp => "rmsprop",
            OptimizerKind::SgdHd => "sgd-hd",
            OptimizerKind::AdamHd => "adam-hd",
        }
    }
}

/// How `weight_decay` acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightDecayMode {
    /// Added to the gradient, `g <- g + wd * w` (PyTorch's `weight_decay`; an L2 penalty).
    Coupled,
    /// Applied to the weights, `w <- w * (1 - lr * wd)`, before the step (AdamW).
    Decoupled,
}

/// The `[optim]` section: an optimizer and its hyperparameters. `None` means "the preset's
/// default for this kind"; [`resolve`](Self::resolve) fills them in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerSettings {
    /// Which optimizer. Default `adam`.
    pub kind: OptimizerKind,
    /// Base learning rate (a schedule scales it).
    pub lr: Option<f64>,
    /// Weight decay factor.
    pub weight_decay: Option<f64>,
    /// `coupled` or `decoupled`; default decoupled for `adamw`, coupled otherwise.
    pub weight_decay_mode: Option<WeightDecayMode>,
    /// Momentum factor (`sgd`, `rmsprop`).
    pub momentum: Option<f64>,
    /// Momentum dampening (`sgd`).
    pub dampening: Option<f64>,
    /// Nesterov momentum (`sgd`).
    pub nesterov: Option<bool>,
    /// `[beta1, beta2]` (`adam`, `adamw`).
    pub betas: Option<[f64; 2]>,
    /// AMSGrad: divide by the running maximum of the second moment (`adam`, `adamw`;
    /// PyTorch's `amsgrad`). Default false.
    pub amsgrad: Option<bool>,
    /// Term added to the denominator for numerical stability (all but `sgd`).
    pub eps: Option<f64>,
    /// Smoothing constant of the squared-gradient average (`rmsprop`).
    pub alpha: Option<f64>,
    /// Normalize by the estimated gradient variance (`rmsprop`).
    pub centered: Option<bool>,
    /// Learning-rate decay `lr / (1 + (t - 1) * lr_decay)` (`adagrad`).
    pub lr_decay: Option<f64>,
    /// Starting value of the squared-gradient sum (`adagrad`).
    pub initial_accumulator_value: Option<f64>,
    /// Gradient clipping: `{ value = v }`, `{ norm = n }` (per tensor, inside the optimizer)
    /// or `{ global_norm = n }` (all gradients together: call
    /// [`clip_gradients`](Self::clip_gradients) between backward and step). Default none.
    pub clip: Option<GradClipSettings>,
    /// Exponential moving average of the weights (`ema = { decay = 0.999, warmup = true }`):
    /// the average is what gets validated and saved. Default none.
    pub ema: Option<EmaSettings>,
    /// Stochastic weight averaging (`swa = { start_epoch = 8, lr = 0.01 }`): from
    /// `start_epoch` the rate anneals to `lr` (SWALR) and each epoch's weights join an equal
    /// average, which is what gets validated, tested and saved. Default none.
    pub swa: Option<SwaSettings>,
    /// Hypergradient descent on the learning rate (`hypergradient = { beta = 1e-3 }`), for any
    /// kind; `sgd-hd` and `adam-hd` turn it on with the paper's `beta`. The schedule must then
    /// be `constant`: the learning rate is the hypergradient's. Default none.
    pub hypergradient: Option<HypergradientSettings>,
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
        // The -hd kinds are their base kind with the paper's hypergradient rate.
        let (k, paper_beta) = match self.kind {
            SgdHd => (Sgd, Some(1e-3)),
            AdamHd => (Adam, Some(1e-7)),
            other => (other, None),
        };
        let hypergradient = self
            .hypergradient
            .or(paper_beta.map(|beta| HypergradientSettings {
                beta,
                rule: HypergradientRule::Additive,
            }));
        let allowed: &[&str] = match k {
            Sgd => &["momentum", "dampening", "nesterov"],
            Adam | AdamW => &["betas", "eps", "amsgrad"],
            AdaGrad => &["eps", "lr_decay", "initial_accumulator_value"],
            RmsProp => &["eps", "alpha", "momentum", "centered"],
            SgdHd | AdamHd => unreachable!("mapped to their base kind above"),
        };
        let set = [
            ("momentum", self.momentum.is_some()),
            ("dampening", self.dampening.is_some()),
            ("nesterov", self.nesterov.is_some()),
            ("betas", self.betas.is_some()),
            ("amsgrad", self.amsgrad.is_some()),
            ("eps", self.eps.is_some()),
            ("alpha", self.alpha.is_some()),
            ("centered", self.centered.is_some()),
            ("lr_decay", self.lr_decay.is_some()),
            (
                "initial_accumulator_value",
                self.initial_accumulator_value.is_some(),
            ),
        ];
        if let Some((name, _)) = set.iter().find(|(n, s)| *s && !allowed.contains(n)) {
            return Err(invalid(
                &format!("optim.{name}"),
                format!("does not apply to {}", k.name()),
            ));
        }
        let mode = self.weight_decay_mode.unwrap_or(if k == AdamW {
            WeightDecayMode::Decoupled
        } else {
            WeightDecayMode::Coupled
        });
        if k == AdamW && mode == WeightDecayMode::Coupled {
            return Err(invalid(
                "optim.weight_decay_mode",
                "adamw is Adam with decoupled decay; for coupled decay use kind = \"adam\"",
            ));
        }
        let on = |name: &str| allowed.contains(&name);
        let r = Self {
            kind: k,
            lr: Some(self.lr.unwrap_or(match k {
                Adam | AdamW | AdamHd => 1e-3,
                Sgd | AdaGrad | RmsProp | SgdHd => 1e-2,
            })),
            weight_decay: Some(
                self.weight_decay
                    .unwrap_or(if k == AdamW { 1e-2 } else { 0.0 }),
            ),
            weight_decay_mode: Some(mode),
            momentum: on("momentum").then(|| self.momentum.unwrap_or(0.0)),
            dampening: on("dampening").then(|| self.dampening.unwrap_or(0.0)),
            nesterov: on("nesterov").then(|| self.nesterov.unwrap_or(false)),
            betas: on("betas").then(|| self.betas.unwrap_or([0.9, 0.999])),
            amsgrad: on("amsgrad").then(|| self.amsgrad.unwrap_or(false)),
            eps: on("eps").then(|| self.eps.unwrap_or(if k == AdaGrad { 1e-10 } else { 1e-8 })),
            alpha: on("alpha").then(|| self.alpha.unwrap_or(0.99)),
            centered: on("centered").then(|| self.centered.unwrap_or(false)),
            lr_decay: on("lr_decay").then(|| self.lr_decay.unwrap_or(0.0)),
            initial_accumulator_value: on("initial_accumulator_value")
                .then(|| self.initial_accumulator_value.unwrap_or(0.0)),
            clip: self.clip,
            ema: self.ema.clone(),
            swa: self.swa.clone(),
            hypergradient,
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
        nonneg("initial_accumulator_value", self.initial_accumulator_value)?;
        if let Some(clip) = &self.clip {
            clip.validate()?;
        }
        if let Some(ema) = &self.ema {
            ema.validate()?;
        }
        if let Some(hd) = &self.hypergradient {
            hd.validate()?;
        }
        // Both replace the weights that are validated and saved by an average, and SWA sets
        // the rate that hypergradient descent would: one of each pair only.
        if self.swa.is_some() && self.ema.is_some() {
            return Err(invalid(
                "optim.swa",
                "averages the weights as optim.ema does: set one of them".to_string(),
            ));
        }
        if self.swa.is_some() && self.hypergradient.is_some() {
            return Err(invalid(
                "optim.swa",
                "sets the learning rate, which hypergradient descent drives: set one of them"
                    .to_string(),
            ));
        }
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

    /// Builds the optimizer with every value passed explicitly, decoupled decay wrapped
    /// around it where asked, and per-tensor gradient clipping installed.
    pub fn init(&self) -> Result<ModuleOptimizer, OptimError> {
        self.build(None)
    }

    /// [`init`](Self::init), with the momentum (`sgd`, `rmsprop`) or `beta1` (`adam`, `adamw`)
    /// read from `cell` at every step instead of the configured value, for a schedule that
    /// cycles it (see `momentum.rs`). `adagrad` has neither: an error naming
    /// `schedule.cycle_momentum`, as PyTorch's `OneCycleLR` and `CyclicLR` raise.
    pub fn init_cycled(&self, cell: &MomentumCell) -> Result<ModuleOptimizer, OptimError> {
        self.check_momentum_cycle()?;
        self.build(Some(cell))
    }

    /// Whether this optimizer has a momentum or `beta1` for a schedule to cycle: an error
    /// naming `schedule.cycle_momentum` for `adagrad` (PyTorch raises "optimizer must support
    /// momentum or beta1 with `cycle_momentum` option enabled", `torch/optim/lr_scheduler.py`
    /// lines 1936-1944 and 2497-2505, PyTorch 2.15).
    pub fn check_momentum_cycle(&self) -> Result<(), OptimError> {
        match self.kind {
            OptimizerKind::AdaGrad => Err(invalid(
                "schedule.cycle_momentum",
                "adagrad has no momentum or beta1 to cycle; set cycle_momentum = false",
            )),
            _ => Ok(()),
        }
    }

    /// The optimizer, its momentum or `beta1` from `cell` when given.
    fn build(&self, cell: Option<&MomentumCell>) -> Result<ModuleOptimizer, OptimError> {
        let r = self.resolve()?;
        let f = |v: Option<f64>| v.expect("resolved") as f32;
        let decay = Decay::of(&r);
        let coupled = decay.coupled_config();
        let eps = r.eps.map(|e| e as f32);
        let inner = match r.kind {
            OptimizerKind::Sgd => {
                let dampening = r.dampening.expect("resolved");
                let nesterov = r.nesterov.expect("resolved");
                // A cycled momentum keeps its buffer even at a momentum of 0.
                let keep_buffer = cell.is_some();
                let sgd = move |momentum: f64| {
                    SgdConfig::new()
                        .with_weight_decay(coupled.clone())
                        .with_momentum((keep_buffer || momentum > 0.0).then_some(MomentumConfig {
                            momentum,
                            dampening,
                            nesterov,
                        }))
                        .build()
                };
                cycled(sgd, r.momentum.expect("resolved"), cell, &decay)
            }
            OptimizerKind::Adam | OptimizerKind::AdamW => adam(&r, cell, &decay),
            // `init_cycled` refuses a cycled momentum here before building.
            OptimizerKind::AdaGrad => decay.wrap(Adagrad {
                lr_decay: r.lr_decay.expect("resolved"),
                eps: r.eps.expect("resolved"),
                initial_accumulator_value: r.initial_accumulator_value.expect("resolved"),
                weight_decay: decay.coupled,
            }),
            OptimizerKind::SgdHd | OptimizerKind::AdamHd => {
                unreachable!("resolve maps the -hd kinds to their base kind")
            }
            OptimizerKind::RmsProp => {
                let (alpha, centered) = (f(r.alpha), r.centered.expect("resolved"));
                let eps = eps.expect("resolved");
                let rmsprop = move |momentum: f64| {
                    RmsPropConfig::new()
                        .with_alpha(alpha)
                        .with_momentum(momentum as f32)
                        .with_epsilon(eps)
                        .with_centered(centered)
                        .with_weight_decay(coupled.clone())
                        .build()
                };
                cycled(rmsprop, r.momentum.expect("resolved"), cell, &decay)
            }
        };
        Ok(match &r.clip {
            Some(clip) => clip.attach(inner),
            None => inner,
        })
    }

    /// Applies `clip = { global_norm = n }` to `grads` (PyTorch's `clip_grad_norm_`) and
    /// returns the norm measured before clipping; any other setting returns `grads` as they
    /// are and `None` (the per-tensor kinds run inside the optimizer [`init`](Self::init)
    /// builds). Call it between `backward` and `ModuleOptimizer::step`.
    pub fn clip_gradients<M: Module>(
        &self,
        grads: GradientsParams,
        module: &M,
    ) -> (GradientsParams, Option<f64>) {
        match self.clip.and_then(|c| c.global_max_norm()) {
            Some(max_norm) => {
                let (grads, total) = clip_global_norm(grads, module, max_norm);
                (grads, Some(total))
            }
            None => (grads, None),
        }
    }
}

/// Adam, AdamW or AMSGrad of the resolved settings `r`, with `beta1` from `cell` when given.
fn adam(r: &OptimizerSettings, cell: Option<&MomentumCell>, decay: &Decay) -> ModuleOptimizer {
    let [b1, b2] = r.betas.expect("resolved");
    let b2 = b2 as f32;
    let eps = r.eps.expect("resolved") as f32;
    let amsgrad = r.amsgrad == Some(true);
    let coupled = decay.coupled_config();
    if r.kind == OptimizerKind::AdamW {
        // AdamW decays the weights itself (its decay is the decoupled one `resolve` set).
        let wd = decay.decoupled as f32;
        let adamw = move |b1: f64| {
            AdamWConfig::new()
                .with_beta_1(b1 as f32)
                .with_beta_2(b2)
                .with_epsilon(eps)
                .with_weight_decay(wd)
                .with_amsgrad(amsgrad)
                .build()
        };
        return cycled(adamw, b1, cell, &Decay::NONE);
    }
    if amsgrad {
        let adam = move |b1: f64| {
            AdamConfig::new()
                .with_beta_1(b1 as f32)
                .with_beta_2(b2)
                .with_epsilon(eps)
                .with_weight_decay(coupled.clone())
                .with_amsgrad(true)
                .build()
        };
        return cycled(adam, b1, cell, decay);
    }
    // Burn's Adam, updated in one pass per parameter on flex: Burn's chain of tensor ops took
    // about a fifth of a training step of the reference MLP.
    let fused = move |b1: f64| FusedAdam::new(b1 as f32, b2, eps, coupled.clone());
    cycled(fused, b1, cell, decay)
}

/// The optimizer `make` builds, with `configured` as its momentum, or rebuilt at every step
/// with the value in `cell` ([`Cycled`]); `decay`'s decoupled part around it.
fn cycled<F, O>(
    make: F,
    configured: f64,
    cell: Option<&MomentumCell>,
    decay: &Decay,
) -> ModuleOptimizer
where
    F: Fn(f64) -> O + Clone + Send + Sync + 'static,
    O: Optimizer,
{
    match cell {
        Some(cell) => decay.wrap(Cycled::new(make, cell)),
        None => decay.wrap(make(configured)),
    }
}

/// The weight decay of the resolved settings, split into the inner optimizer's own (coupled)
/// part and the decoupled part [`DecoupledWeightDecay`] applies around it; one of them is 0.
struct Decay {
    coupled: f64,
    decoupled: f64,
}

impl Decay {
    /// No decay around the optimizer: AdamW applies its own.
    const NONE: Decay = Decay {
        coupled: 0.0,
        decoupled: 0.0,
    };

    fn of(r: &OptimizerSettings) -> Decay {
        let wd = r.weight_decay.expect("resolved");
        if r.weight_decay_mode == Some(WeightDecayMode::Decoupled) {
            Decay {
                coupled: 0.0,
                decoupled: wd,
            }
        } else {
            Decay {
                coupled: wd,
                decoupled: 0.0,
            }
        }
    }

    /// Burn's coupled decay config for the inner optimizer; none when it is 0.
    fn coupled_config(&self) -> Option<WeightDecayConfig> {
        (self.coupled > 0.0).then(|| WeightDecayConfig::new(self.coupled as f32))
    }

    /// `inner` as a module optimizer, inside [`DecoupledWeightDecay`] when there is decoupled
    /// decay.
    fn wrap<O: Optimizer>(&self, inner: O) -> ModuleOptimizer {
        if self.decoupled > 0.0 {
            DecoupledWeightDecay::new(inner, self.decoupled).into()
        } else {
            inner.into()
        }
    }
}

#[cfg(test)]
mod tests;
