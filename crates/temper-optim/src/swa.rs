//! Stochastic weight averaging (Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima
//! and Better Generalization", <https://arxiv.org/abs/1803.05407>), as PyTorch's
//! `torch/optim/swa_utils.py`:
//!
//! - [`ModelSwa`] is `AveragedModel` with its default `avg_fn`: from `start_epoch` on, once per
//!   epoch, `avg ← avg + (w − avg) / (n + 1)`, so after `n` updates the average is the
//!   arithmetic mean of the `n` snapshots (the first update copies the model). The rate over
//!   those epochs is `SWALR`'s, [`SwaSettings::lr_at`] in temper-compress.
//! - [`update_batch_norm`] is `update_bn`: the averaged weights never produced the running
//!   statistics they carry, so every BatchNorm's statistics are recomputed on training data
//!   before the average is evaluated.
//!
//! Unlike `AveragedModel(use_buffers=False)`, which copies no buffer, the running statistics
//! are averaged too (ModelEma's blend, which visits them as floats); [`update_batch_norm`]
//! replaces them anyway.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use temper_compress::settings::SwaSettings;

use crate::ema::blend_toward;
use crate::error::{OptimError, invalid};

/// The equal-weight average of a model's weights from `start_epoch` on (PyTorch
/// `AveragedModel`), kept in a detached copy in validation mode.
#[derive(Debug, Clone)]
pub struct ModelSwa<M: Module> {
    settings: SwaSettings,
    average: Option<M>,
    count: usize,
}

impl<M: Module> ModelSwa<M> {
    /// No average yet: the first [`update`](Self::update) copies the model.
    pub fn new(settings: &SwaSettings) -> Self {
        Self {
            settings: settings.clone(),
            average: None,
            count: 0,
        }
    }

    /// Whether `epoch` (1-based) is averaged: from `start_epoch` on.
    pub fn averages(&self, epoch: usize) -> bool {
        epoch >= self.settings.start_epoch
    }

    /// Adds `model`'s weights: `avg + (w − avg) / (n + 1)` (PyTorch's default `avg_fn`). An
    /// error means `model` is not the model the average was made from; nothing changes then.
    pub fn update(&mut self, model: &M) -> Result<(), OptimError> {
        let average = match self.average.take() {
            None => model.valid(),
            Some(average) => {
                let weight = 1.0 / (self.count + 1) as f64;
                match blend_toward(average.clone(), model, weight) {
                    Ok(blended) => blended,
                    Err(message) => {
                        self.average = Some(average);
                        return Err(invalid("optim.swa", message));
                    }
                }
            }
        };
        self.average = Some(average);
        self.count += 1;
        Ok(())
    }

    /// The average, once there is one.
    pub fn average(&self) -> Option<&M> {
        self.average.as_ref()
    }

    /// Snapshots averaged so far (PyTorch's `n_averaged`).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Continues from a checkpoint: `average` of `count` snapshots.
    pub fn restore(&mut self, average: M, count: usize) {
        self.average = Some(average.valid());
        self.count = count;
    }

    /// The settings this average follows.
    pub fn settings(&self) -> &SwaSettings {
        &self.settings
    }
}

/// Recomputes every BatchNorm running mean and variance of `model` as the equal-weight mean
/// of the batch statistics of `batches` training-mode forward passes — PyTorch's `update_bn`,
/// which resets the statistics and sets `momentum = None` (a cumulative average) for one pass
/// over the data. `forward(model, i)` runs batch `i` through the model, which is in training
/// mode on an autodiff device; nothing is backpropagated. Returns the model in validation mode.
///
/// Burn's BatchNorm keeps its momentum in a plain field a module mapper cannot change, so the
/// average is read back instead: with the statistics set to 0 before each pass, a layer of
/// momentum `m` stores `m · b_i` (`b_i` the batch statistic); one extra pass of batch 0 from
/// statistics set to 1 stores `(1 − m) + m · b_0`, which gives `m`, and the mean is
/// `Σ_i m · b_i / (m · batches)`. Running statistics are found by their field names
/// (`running_mean`, `running_var`: Burn's `BatchNorm`). A layer of momentum 0 keeps its
/// statistics. Burn's running variance is the biased batch variance, where PyTorch keeps the
/// unbiased one (`n / (n − 1)` larger).
pub fn update_batch_norm<M: Module>(
    model: M,
    batches: usize,
    mut forward: impl FnMut(&M, usize),
) -> M {
    let mut found = RunningStats::default();
    model.visit(&mut found);
    let ids = found.ids;
    if ids.is_empty() || batches == 0 {
        return model.valid();
    }
    let mut kept = read_stats(&model, &ids);
    let mut model = set_stats(model.train(), |t, _| Some(t.ones_like()), &ids);
    forward(&model, 0);
    let from_one = read_stats(&model, &ids);
    let mut sums: HashMap<ParamId, Tensor<1>> = HashMap::new();
    let mut first = HashMap::new();
    for i in 0..batches {
        model = set_stats(model, |t, _| Some(t.zeros_like()), &ids);
        forward(&model, i);
        for (id, value) in read_stats(&model, &ids) {
            if i == 0 {
                first.insert(id, value.clone());
            }
            let sum = match sums.remove(&id) {
                Some(sum) => sum + value,
                None => value,
            };
            sums.insert(id, sum);
        }
    }
    let mut means: HashMap<ParamId, Tensor<1>> = HashMap::new();
    for (id, sum) in sums {
        // `(1 − m + m·b_0) − m·b_0`, averaged over the layer's channels.
        let one_minus_m = (from_one[&id].clone() - first[&id].clone())
            .mean()
            .into_scalar::<f32>();
        let momentum = 1.0 - f64::from(one_minus_m);
        let mean = match momentum > MIN_MOMENTUM {
            true => sum.div_scalar(momentum * batches as f64),
            false => kept.remove(&id).unwrap_or(sum),
        };
        means.insert(id, mean);
    }
    set_stats(model, |_, id| means.remove(&id), &ids).valid()
}

/// Below this, a layer's momentum is taken as 0 (its statistics never move) and its
/// statistics are kept: `1 − m` is read back in `f32`, whose rounding near 1 is about 6e-8.
const MIN_MOMENTUM: f64 = 1e-4;

/// The current values of the running statistics `ids`, flattened, detached. `valid()` first
/// folds each state's pending per-thread update into its value, as Burn does before a copy.
fn read_stats<M: Module>(model: &M, ids: &[ParamId]) -> HashMap<ParamId, Tensor<1>> {
    let mut read = ReadStats {
        ids,
        values: HashMap::new(),
    };
    model.valid().visit(&mut read);
    read.values
}

/// `model` with each running statistic in `ids` replaced by `value(current, id)` (reshaped
/// and moved to the statistic's device), or kept when that is `None`.
fn set_stats<M: Module>(
    model: M,
    value: impl FnMut(Tensor<1>, ParamId) -> Option<Tensor<1>>,
    ids: &[ParamId],
) -> M {
    model.map(&mut SetStats { ids, value })
}

struct ReadStats<'a> {
    ids: &'a [ParamId],
    values: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for ReadStats<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.ids.contains(&param.id) {
            let t = param.val();
            let n = t.shape().num_elements();
            self.values.insert(param.id, t.reshape([n]).detach());
        }
    }
}

struct SetStats<'a, F> {
    ids: &'a [ParamId],
    value: F,
}

impl<F: FnMut(Tensor<1>, ParamId) -> Option<Tensor<1>>> ModuleMapper for SetStats<'_, F> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !self.ids.contains(&param.id) {
            return param;
        }
        let id = param.id;
        param.map(|current| {
            let (shape, device) = (current.shape(), current.device());
            let flat = current.clone().reshape([shape.num_elements()]);
            match (self.value)(flat, id) {
                Some(new) => new.to_device(&device).reshape(shape),
                None => current,
            }
        })
    }
}

/// The ids of a module's running statistics, by field name.
#[derive(Default)]
struct RunningStats {
    ids: Vec<ParamId>,
    path: Vec<String>,
}

impl ModuleVisitor for RunningStats {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if matches!(
            self.path.last().map(String::as_str),
            Some("running_mean" | "running_var")
        ) {
            self.ids.push(param.id);
        }
    }
}

#[cfg(test)]
mod tests;
