//! Exponential moving average of a model's weights, as timm's
//! [`ModelEmaV3`](https://github.com/huggingface/pytorch-image-models/blob/main/timm/utils/model_ema.py).
//!
//! After each optimizer step, every floating-point tensor of the averaged copy moves toward
//! the live model's: `ema = decay_t * ema + (1 - decay_t) * w`. Evaluating the average
//! instead of the last weights smooths out the noise of the final steps (Polyak & Juditsky
//! 1992; used by most ImageNet recipes since EfficientNet).
//!
//! `decay_t` is timm's `get_decay(step)`, with `step` the 1-based number of the update:
//!
//! ```text
//! t = max(0, step - update_after_step - 1)
//! t == 0            -> 0                 (the first update copies the model)
//! warmup            -> clamp(1 - (1 + t / warmup_gamma)^-warmup_power, min_decay, decay)
//! otherwise         -> decay
//! ```
//!
//! **Defaults are for short runs.** timm's own defaults (decay 0.9999, no warm-up) average over
//! a horizon of `1 / (1 - decay)` = 10,000 updates; on a run of a few thousand steps the
//! average is then still mostly the initial weights, and that is what gets validated and
//! saved. So `ema = {}` turns the warm-up on with `warmup_power = 3/4`, which timm's
//! `ModelEmaV3` docstring recommends for runs shorter than a million steps ("reaches decay
//! factor 0.999 at around 10K steps, 0.9999 at 215.4K steps"): the decay of update `t` is then
//! `1 - t^-3/4`, a horizon of `t^3/4` updates, always shorter than the run so far. Give
//! `warmup = false` for timm's constant decay; [`EmaSettings::horizon_warning`] says when the
//! horizon at the last update is longer than the run.
//!
//! Like timm (with `exclude_buffers = False`), buffers are averaged too: Burn visits a
//! `RunningState` (batch-norm statistics) as a float tensor with its own id. Integer and
//! boolean tensors are copied.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Bool, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

/// `ema = { ... }` in the `[optim]` section. Defaults are timm `ModelEmaV3`'s, except the
/// warm-up, on with power 3/4 (timm's advice for short runs; see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmaSettings {
    /// The decay factor, and the ceiling of the warm-up curve. Default 0.9999.
    pub decay: f64,
    /// The floor of the warm-up curve. Default 0.
    pub min_decay: f64,
    /// Updates that copy the model instead of averaging, before the average starts
    /// (besides the first update, which always copies). Default 0.
    pub update_after_step: usize,
    /// Ramp the decay up as `1 - (1 + t / warmup_gamma)^-warmup_power` (timm `use_warmup`).
    /// Default true (timm's is false: its constant 0.9999 suits million-step runs only).
    pub warmup: bool,
    /// Default 1.
    pub warmup_gamma: f64,
    /// Default 3/4, timm's advice for shorter runs: the curve reaches 0.99 after 464 updates,
    /// 0.999 after 10k and 0.9999 after 215k. timm's default 2/3 (0.999 after 31.6k updates,
    /// 0.9999 after 1M) suits runs of a million steps.
    pub warmup_power: f64,
}

impl Default for EmaSettings {
    fn default() -> Self {
        Self {
            decay: 0.9999,
            min_decay: 0.0,
            update_after_step: 0,
            warmup: true,
            warmup_gamma: 1.0,
            warmup_power: 0.75,
        }
    }
}

impl EmaSettings {
    /// Checks every value; an error names the field as `optim.ema.<field>`.
    pub fn validate(&self) -> Result<(), OptimError> {
        let field = |name: &str| format!("optim.ema.{name}");
        if !(self.decay.is_finite() && (0.0..=1.0).contains(&self.decay)) {
            return Err(invalid(
                &field("decay"),
                format!("must be in [0, 1], got {}", self.decay),
            ));
        }
        if !(self.min_decay.is_finite() && (0.0..=self.decay).contains(&self.min_decay)) {
            return Err(invalid(
                &field("min_decay"),
                format!(
                    "must be in [0, decay = {}], got {}",
                    self.decay, self.min_decay
                ),
            ));
        }
        for (name, v) in [
            ("warmup_gamma", self.warmup_gamma),
            ("warmup_power", self.warmup_power),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(&field(name), format!("must be positive, got {v}")));
            }
        }
        Ok(())
    }

    /// The decay factor of update number `step` (1-based), timm `ModelEmaV3.get_decay(step)`.
    pub fn decay_at(&self, step: usize) -> f64 {
        let t = step.saturating_sub(self.update_after_step + 1);
        if t == 0 {
            return 0.0;
        }
        if self.warmup {
            let d = 1.0 - (1.0 + t as f64 / self.warmup_gamma).powf(-self.warmup_power);
            d.min(self.decay).max(self.min_decay)
        } else {
            self.decay
        }
    }

    /// The averaging horizon `1 / (1 - decay)` of update number `step`, in updates: about how
    /// many of the latest updates the average is made of. Infinite for decay 1.
    pub fn horizon_at(&self, step: usize) -> f64 {
        1.0 / (1.0 - self.decay_at(step))
    }

    /// A one-line warning when the horizon at the last of `total_steps` updates is longer
    /// than the run itself: the average is then still mostly the first weights. `None` when
    /// the run is long enough, or its length is unknown (0).
    pub fn horizon_warning(&self, total_steps: usize) -> Option<String> {
        let horizon = self.horizon_at(total_steps);
        (total_steps > 0 && horizon > total_steps as f64).then(|| {
            format!(
                "warning: optim.ema averages over about {horizon:.0} updates at the last of this \
                 run's {total_steps} steps (decay {:.6}); the saved average is still mostly the \
                 first weights: lower optim.ema.decay or set warmup = true",
                self.decay_at(total_steps)
            )
        })
    }
}

/// A moving average of a model's weights, kept in a detached copy of the model.
///
/// The copy comes from `model.valid()`: it carries no autodiff graph and its training flags
/// (dropout) are off, so [`ema`](Self::ema) is ready to evaluate. Tensors are matched to the
/// live model's by module path (`layer1.0.bn1.running_mean`): a checkpoint restores a
/// parameter's id but not a running statistic's, so ids would not match after a resume.
#[derive(Debug, Clone)]
pub struct ModelEma<M: Module> {
    settings: EmaSettings,
    ema: M,
    step: usize,
}

impl<M: Module> ModelEma<M> {
    /// Starts the average at `model`'s current weights.
    pub fn new(model: &M, settings: &EmaSettings) -> Result<Self, OptimError> {
        settings.validate()?;
        Ok(Self {
            settings: settings.clone(),
            ema: model.valid(),
            step: 0,
        })
    }

    /// Moves the average toward `model` (call after each optimizer step) and returns the
    /// decay factor used. An error means `model` is not the model the average was made from
    /// (a parameter id on one side is missing on the other); the average is then unchanged.
    pub fn update(&mut self, model: &M) -> Result<f64, OptimError> {
        let step = self.step + 1;
        let decay = self.settings.decay_at(step);
        self.ema = blend_toward(self.ema.clone(), model, 1.0 - decay)
            .map_err(|message| invalid("optim.ema", message))?;
        self.step = step;
        Ok(decay)
    }

    /// Resets the average to `model`'s weights (timm `set`) without counting an update.
    pub fn set(&mut self, model: &M) {
        self.ema = model.valid();
    }

    /// The averaged model.
    pub fn ema(&self) -> &M {
        &self.ema
    }

    /// The averaged model, consuming the average.
    pub fn into_ema(self) -> M {
        self.ema
    }

    /// Continues from a checkpoint: `ema` is the saved average, `step` its update count.
    pub fn restore(&mut self, ema: M, step: usize) {
        self.ema = ema.valid();
        self.step = step;
    }

    /// Updates so far.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The decay factor of update number `step` (1-based); see [`EmaSettings::decay_at`].
    pub fn decay_at(&self, step: usize) -> f64 {
        self.settings.decay_at(step)
    }

    /// The settings this average follows.
    pub fn settings(&self) -> &EmaSettings {
        &self.settings
    }
}

/// Moves every floating-point tensor of `average` toward `model`'s by `weight`
/// (`average + weight * (w - average)`, torch's `lerp_`; weight 1 copies exactly) and copies
/// integer and boolean tensors; tensors are matched by module path. The error (a sentence)
/// means `model` is not the model the average was made from; nothing is then changed.
pub(crate) fn blend_toward<M: Module>(average: M, model: &M, weight: f64) -> Result<M, String> {
    let mut live = Collect::default();
    model.valid().visit(&mut live);
    let mut blend = Blend {
        live,
        weight,
        path: Vec::new(),
        error: None,
    };
    let blended = average.map(&mut blend);
    if let Some(message) = blend.error {
        return Err(message);
    }
    let leftover = blend.live.floats.len() + blend.live.ints.len() + blend.live.bools.len();
    if leftover > 0 {
        return Err(format!(
            "the model has {leftover} tensor(s) the average does not; update with the model \
             the average was made from"
        ));
    }
    Ok(blended)
}

/// The live model's tensors by module path, flattened so one map holds every rank.
#[derive(Default)]
struct Collect {
    floats: HashMap<String, Tensor<1>>,
    ints: HashMap<String, Tensor<1, Int>>,
    bools: HashMap<String, Tensor<1, Bool>>,
    path: Vec<String>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.floats.insert(self.path.join("."), t.reshape([n]));
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<D, Int>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.ints.insert(self.path.join("."), t.reshape([n]));
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<D, Bool>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.bools.insert(self.path.join("."), t.reshape([n]));
    }
}

/// Maps the averaged copy: floats move toward the live values, ints and bools are copied.
struct Blend {
    live: Collect,
    /// `1 - decay`: the live model's share.
    weight: f64,
    path: Vec<String>,
    error: Option<String>,
}

impl Blend {
    /// The live tensor at the current path, reshaped like `like`; records an error when it is missing
    /// or has another number of elements.
    fn take<K, const D: usize>(
        &mut self,
        map: fn(&mut Collect) -> &mut HashMap<String, Tensor<1, K>>,
        like: &Tensor<D, K>,
    ) -> Option<Tensor<D, K>>
    where
        K: burn::tensor::kind::Basic,
    {
        let name = self.path.join(".");
        let found = map(&mut self.live).remove(&name);
        match found {
            Some(t) if t.shape().num_elements() == like.shape().num_elements() => {
                Some(t.reshape(like.shape()))
            }
            Some(t) => {
                self.error.get_or_insert(format!(
                    "`{name}` has {} elements in the model and {} in the average",
                    t.shape().num_elements(),
                    like.shape().num_elements()
                ));
                None
            }
            None => {
                self.error.get_or_insert(format!(
                    "the model has no tensor `{name}`; update with the model the average was \
                     made from"
                ));
                None
            }
        }
    }
}

impl ModuleMapper for Blend {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let weight = self.weight;
        param.map(|ema| match self.take(|c| &mut c.floats, &ema) {
            // decay 0 copies exactly, as torch's lerp does at weight 1.
            Some(w) if weight == 1.0 => w,
            // timm's `ema.lerp_(w, 1 - decay)`.
            Some(w) => ema.clone() + (w - ema).mul_scalar(weight),
            None => ema,
        })
    }

    fn map_int<const D: usize>(&mut self, param: Param<Tensor<D, Int>>) -> Param<Tensor<D, Int>> {
        param.map(|ema| self.take(|c| &mut c.ints, &ema).unwrap_or(ema))
    }

    fn map_bool<const D: usize>(
        &mut self,
        param: Param<Tensor<D, Bool>>,
    ) -> Param<Tensor<D, Bool>> {
        param.map(|ema| self.take(|c| &mut c.bools, &ema).unwrap_or(ema))
    }
}

#[cfg(test)]
mod tests;
