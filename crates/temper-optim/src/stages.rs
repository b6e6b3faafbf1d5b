//! Fine-tuning recipes over a network's depth, for any Burn [`Module`]: the parameters grouped
//! into ordered [`Stages`] from the input to the output, layer-wise learning-rate decay
//! ([`LayerDecay`]), gradual unfreezing ([`Unfreeze`]) and frozen batch normalization
//! ([`freeze_batch_norm`]).
//!
//! **Stages.** A float parameter's stage is the first segment of its path (module names joined
//! by `.`), skipping a leading enum variant (an `enum` model wrapping its architecture), plus the
//! element index when that segment is a `Vec`, array or tuple of modules: `conv1`, `bn1`,
//! `layer1.0`, `layer1.1`, `fc` for a ResNet, `features.3` for a VGG. Stages are ordered by first
//! appearance in Burn's visit order, which is the fields' declaration order: from the input to the
//! output for a network declared as it runs. What is an enum variant and what is a sequence is
//! read from the container type Burn's traversal passes (`"Enum:..."`, `"Vec"`, `"Array"`,
//! `"Tuple"`), never guessed from names. The last stage is the classifier head;
//! [`Stages::with_head`] names it by path prefix instead (`fc`, `classifier`, `head.output`),
//! which moves those parameters into one last stage. Buffers visited as float parameters
//! (BatchNorm's running statistics) belong to their layer's stage; no optimizer moves them.
//!
//! **Layer-wise learning-rate decay** (BEiT, Bao et al. 2021, <https://arxiv.org/abs/2106.08254>,
//! after ELECTRA): with `S` stages, stage `i` (0-based) trains at `lr * decay^(S - 1 - i)`, so
//! each stage's rate is the next one's times `decay` and the head runs at the full rate. This is
//! timm's `param_groups_layer_decay` (`timm/optim/_param_groups.py`: `layer_scales =
//! [layer_decay ** (layer_max - i) for i in range(num_layers)]`, `layer_max = num_layers - 1`).
//! timm's default is off (`layer_decay=None`); BEiT and MAE fine-tune with 0.65–0.75. Lower
//! layers hold the most general features, so they move least.
//!
//! **Gradual unfreezing** (ULMFiT, Howard & Ruder 2018, <https://arxiv.org/abs/1801.06146>,
//! §3.2: "we first unfreeze the last layer and fine-tune all unfrozen layers for one epoch. We
//! then unfreeze the next lower frozen layer and repeat, until we fine-tune all layers"): at
//! 1-based epoch `e`, the top `min(S, 1 + floor((e - 1) / every))` stages train. ULMFiT's
//! `every` is 1; there is no library default. A frozen stage's BatchNorm layers keep updating
//! their running statistics, as with PyTorch's `requires_grad_(False)`, unless
//! [`freeze_batch_norm`] froze them (fastai's `freeze_to` goes the other way and keeps training
//! BatchNorm's `gamma` and `beta` in frozen groups, `train_bn=True`).
//!
//! **Frozen batch normalization**: every `BatchNorm` normalizes with its running statistics and
//! stops updating them while the rest of the model trains, as PyTorch's `bn.eval()` inside a
//! training model or timm's `FrozenBatchNorm2d` (`timm/layers/norm.py`); unlike
//! `FrozenBatchNorm2d`, `gamma` and `beta` keep training unless frozen otherwise. Small
//! fine-tuning batches give noisy batch statistics that would overwrite the pretrained ones.

use std::collections::HashMap;

use burn::module::{Flag, Module, ModuleMapper, ModuleVisitor, Param, ParamGroup, ParamId};
use burn::optim::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

use crate::error::{OptimError, invalid};

/// One stage: a name (the shared path prefix) and its float parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The stage key: `conv1`, `layer1.0`, `features.3`, or the head's prefix.
    pub name: String,
    /// Each parameter's full path, in visit order.
    pub paths: Vec<String>,
    /// Each parameter's id, in the order of `paths`.
    pub ids: Vec<ParamId>,
}

/// Whether the module path `path` is `prefix` or lies inside it (`prefix.` and more): `fc`
/// holds `fc.weight`, not `fc2.weight`.
pub fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// A module's float parameters grouped into ordered stages, from the input to the output; the
/// last stage is the head. See the module documentation for the grouping rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    stages: Vec<Stage>,
}

impl Stages {
    /// The stages of `module`, by the path rule of the module documentation.
    pub fn of<M: Module>(module: &M) -> Self {
        let mut visitor = Collect {
            path: Vec::new(),
            stages: Vec::new(),
        };
        module.visit(&mut visitor);
        Self {
            stages: visitor.stages,
        }
    }

    /// These stages with the head named by `prefix`: every parameter whose path is `prefix` or
    /// starts with `prefix.` moves into one last stage named `prefix` (stages left empty are
    /// dropped), so `head.output` can be the head while `head.norm` stays a lower stage.
    ///
    /// # Errors
    /// A prefix that matches no parameter, naming `field` and showing what paths look like.
    pub fn with_head(self, prefix: &str, field: &str) -> Result<Self, OptimError> {
        let in_head = |path: &str| is_under(path, prefix);
        let mut head = Stage {
            name: prefix.to_string(),
            paths: Vec::new(),
            ids: Vec::new(),
        };
        let mut stages = Vec::with_capacity(self.stages.len() + 1);
        for stage in self.stages {
            let mut kept = Stage {
                name: stage.name,
                paths: Vec::new(),
                ids: Vec::new(),
            };
            for (path, id) in stage.paths.into_iter().zip(stage.ids) {
                let to = if in_head(&path) { &mut head } else { &mut kept };
                to.paths.push(path);
                to.ids.push(id);
            }
            if !kept.ids.is_empty() {
                stages.push(kept);
            }
        }
        if head.ids.is_empty() {
            let example = stages
                .first()
                .map(|s| s.paths[0].as_str())
                .unwrap_or("none");
            return Err(invalid(
                field,
                format!(
                    "{prefix:?} is the path prefix of no parameter of the model (paths look like \
                     {example:?})"
                ),
            ));
        }
        stages.push(head);
        Ok(Self { stages })
    }

    /// The number of stages.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// Whether the module has no float parameter.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The stages, from the input to the head.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage names, from the input to the head.
    pub fn names(&self) -> Vec<&str> {
        self.stages.iter().map(|s| s.name.as_str()).collect()
    }

    /// The index of the stage holding the parameter at `path`.
    pub fn stage_of(&self, path: &str) -> Option<usize> {
        self.stages
            .iter()
            .position(|s| s.paths.iter().any(|p| p == path))
    }

    /// The index of the stage holding parameter `id`.
    pub fn stage_of_id(&self, id: ParamId) -> Option<usize> {
        self.stages.iter().position(|s| s.ids.contains(&id))
    }

    /// Each parameter's stage index.
    fn index(&self) -> HashMap<ParamId, usize> {
        self.stages
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.ids.iter().map(move |id| (*id, i)))
            .collect()
    }

    /// Splits `grads` (of `module`) into one set per stage, in stage order; gradients of
    /// parameters that are in no stage are dropped.
    pub fn split_gradients<M: Module>(
        &self,
        module: &M,
        mut grads: GradientsParams,
    ) -> Vec<GradientsParams> {
        let mut visitor = Split {
            index: self.index(),
            grads: &mut grads,
            out: self.stages.iter().map(|_| GradientsParams::new()).collect(),
        };
        module.visit(&mut visitor);
        visitor.out
    }
}

/// Whether a container type is a sequence of modules, whose element index is part of a stage
/// key.
fn is_sequence(container_type: &str) -> bool {
    matches!(container_type, "Vec" | "Array" | "Tuple")
}

/// The stage key of a parameter whose enclosing modules are `path` (name, container type).
fn stage_key(path: &[(String, String)]) -> String {
    let rest = match path.iter().position(|(_, ty)| !ty.starts_with("Enum:")) {
        Some(start) => &path[start..],
        None => return String::new(),
    };
    match rest {
        [(first, _), (index, ty), ..] if is_sequence(ty) => format!("{first}.{index}"),
        [(first, _), ..] => first.clone(),
        [] => String::new(),
    }
}

struct Collect {
    path: Vec<(String, String)>,
    stages: Vec<Stage>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path
            .push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let key = stage_key(&self.path);
        let path = self
            .path
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let stage = match self.stages.iter().position(|s| s.name == key) {
            Some(i) => &mut self.stages[i],
            None => {
                self.stages.push(Stage {
                    name: key,
                    paths: Vec::new(),
                    ids: Vec::new(),
                });
                self.stages.last_mut().expect("just pushed")
            }
        };
        stage.paths.push(path);
        stage.ids.push(param.id);
    }
}

/// Moves each gradient from the full set into its stage's set; knowing `D` is what lets it
/// `remove` a typed tensor.
struct Split<'a> {
    index: HashMap<ParamId, usize>,
    grads: &'a mut GradientsParams,
    out: Vec<GradientsParams>,
}

impl ModuleVisitor for Split<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(&stage) = self.index.get(&param.id)
            && let Some(grad) = self.grads.remove::<D>(param.id)
        {
            self.out[stage].register(param.id, grad);
        }
    }
}

/// Layer-wise learning-rate decay: stage `i` of `S` trains at `lr * decay^(S - 1 - i)` (see the
/// module documentation).
#[derive(Debug, Clone)]
pub struct LayerDecay {
    decay: f64,
    factors: Vec<f64>,
    groups: Vec<ParamGroup>,
}

impl LayerDecay {
    /// The decay over `stages`.
    ///
    /// # Errors
    /// `decay` outside (0, 1], naming `field`.
    pub fn new(stages: &Stages, decay: f64, field: &str) -> Result<Self, OptimError> {
        if !(decay.is_finite() && decay > 0.0 && decay <= 1.0) {
            return Err(invalid(field, format!("must be in (0, 1], got {decay}")));
        }
        let top = stages.len().saturating_sub(1);
        let factors = (0..stages.len())
            .map(|i| decay.powi((top - i) as i32))
            .collect();
        let groups = stages
            .stages()
            .iter()
            .map(|s| ParamGroup::from_ids(s.ids.clone()))
            .collect();
        Ok(Self {
            decay,
            factors,
            groups,
        })
    }

    /// The decay factor.
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// Each stage's multiplier of the learning rate, from the input to the head (1).
    pub fn factors(&self) -> &[f64] {
        &self.factors
    }

    /// Per-parameter learning rates for one step at base rate `lr`: what
    /// [`ModuleOptimizer::step`] takes in place of one rate. A parameter in no stage keeps `lr`.
    pub fn learning_rates(&self, lr: f64) -> ModuleLearningRate {
        let mut scheduler = ModuleLrScheduler::new(lr);
        for (group, factor) in self.groups.iter().zip(&self.factors) {
            scheduler = scheduler.with_group(group.clone(), lr * factor);
        }
        scheduler.step()
    }

    /// One optimizer update of `module` at base rate `lr`, each stage at its own rate. It is
    /// one call of `optim.step`, so every parameter's optimizer state (Adam's moments and step
    /// count, momentum buffers) advances exactly once, as in a plain step.
    pub fn step<M: Module>(
        &self,
        optim: &mut ModuleOptimizer,
        lr: f64,
        module: M,
        grads: GradientsParams,
    ) -> M {
        optim.step(self.learning_rates(lr), module, grads)
    }
}

/// Gradual unfreezing: one more stage trains, from the top, every `every` epochs (see the module
/// documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfreeze {
    every: usize,
}

impl Unfreeze {
    /// Unfreezes one more stage every `every` epochs (ULMFiT: 1).
    ///
    /// # Errors
    /// `every` of 0, naming `field`.
    pub fn new(every: usize, field: &str) -> Result<Self, OptimError> {
        if every == 0 {
            return Err(invalid(field, "must be at least 1 epoch"));
        }
        Ok(Self { every })
    }

    /// Epochs between two unfreezings.
    pub fn every(&self) -> usize {
        self.every
    }

    /// The index of the first trainable stage of `stages` at 1-based `epoch` (epoch 0 counts as
    /// 1): `stages - min(stages, 1 + (epoch - 1) / every)`.
    pub fn trainable_from(&self, epoch: usize, stages: usize) -> usize {
        let trainable = 1 + (epoch.max(1) - 1) / self.every;
        stages - trainable.min(stages)
    }

    /// `module` with the stages from [`trainable_from`](Self::trainable_from) on requiring
    /// gradients and the stages below not; a parameter whose path is in `keep_frozen` (the paths
    /// [`freeze`](crate::freeze) returned) stays frozen. Call it at the start of every epoch.
    pub fn apply<M: Module>(
        &self,
        module: M,
        stages: &Stages,
        epoch: usize,
        keep_frozen: &[String],
    ) -> M {
        let mut mapper = Trainable {
            index: stages.index(),
            first: self.trainable_from(epoch, stages.len()),
            keep_frozen,
            path: Vec::new(),
        };
        module.map(&mut mapper)
    }
}

struct Trainable<'a> {
    index: HashMap<ParamId, usize>,
    first: usize,
    keep_frozen: &'a [String],
    path: Vec<String>,
}

impl ModuleMapper for Trainable<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(&stage) = self.index.get(&param.id) else {
            return param;
        };
        let path = self.path.join(".");
        let trainable = stage >= self.first && !self.keep_frozen.contains(&path);
        param.set_require_grad(trainable)
    }
}

/// `module` with every Burn `BatchNorm` layer frozen in inference behavior: it normalizes with
/// its running statistics and leaves them as they are, in training too, while `gamma` and `beta`
/// keep their `require_grad`; returns the module and the number of layers frozen.
///
/// It clears the layer's own training flag (`BatchNorm::training`, read by its `forward`), which
/// `Module::train` keeps cleared after a `valid` round trip. `Module::freeze_group` would clear
/// the same flag but also stop `gamma` and `beta` from training. Any struct named `BatchNorm`
/// whose field `training` is a flag counts. Call it on loaded weights, before training: a
/// running-statistics update still pending from a training forward is applied at the next
/// `valid` or `train`.
pub fn freeze_batch_norm<M: Module>(module: M) -> (M, usize) {
    let mut mapper = BatchNormFlags {
        path: Vec::new(),
        frozen: 0,
    };
    let module = module.map(&mut mapper);
    (module, mapper.frozen)
}

struct BatchNormFlags {
    path: Vec<(String, String)>,
    frozen: usize,
}

impl ModuleMapper for BatchNormFlags {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path
            .push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        // The container type is the enclosing struct's: `training` of a `BatchNorm`.
        match self.path.last() {
            Some((name, ty)) if name == "training" && ty == "Struct:BatchNorm" => {
                self.frozen += 1;
                flag.with_value(false)
            }
            _ => flag,
        }
    }
}

#[cfg(test)]
mod tests;
