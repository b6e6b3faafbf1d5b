//! Magnitude pruning of any Burn module.
//!
//! The covered tensors are every float parameter of rank 2 or more — convolution and linear
//! weights — as TF-MOT's `prune_low_magnitude` prunes the kernels of `Dense` and `Conv2D` and
//! leaves biases and normalization alone; rank-1 tensors (biases, BatchNorm's scale, shift
//! and running statistics) are never pruned. Tensors are named by their module path
//! (`conv1.weight`, `layer1.0.conv2.weight`), which a saved record keeps.
//!
//! TF-MOT keeps a mask variable per kernel and re-applies it after every optimizer step;
//! `torch.nn.utils.prune` multiplies `weight_orig * weight_mask` in a forward pre-hook. Here
//! the masks are multiplied into the weights after each step ([`PruneMasks::apply`]), so a
//! pruned weight is exactly zero in every checkpoint and every evaluation, whatever the
//! optimizer's state (momentum, Adam's moments) for it says: the step may move it, and the mask
//! puts it back to zero before the next forward pass.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};

use crate::error::CompressError;
use crate::magnitude::magnitude_masks;
use crate::settings::PruneScope;

/// A tensor that pruning covers: its module path and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoveredTensor {
    /// The module path, e.g. `layer1.0.conv1.weight`.
    pub path: String,
    /// The tensor's shape.
    pub shape: Vec<usize>,
}

/// The tensors of `model` that pruning covers, in the order Burn visits them.
pub fn covered_tensors<M: Module>(model: &M) -> Vec<CoveredTensor> {
    let mut read = ReadCovered::new(false);
    model.visit(&mut read);
    read.found
        .into_iter()
        .map(|(path, shape, _)| CoveredTensor { path, shape })
        .collect()
}

/// One keep-mask (1 kept, 0 pruned) per covered tensor, by module path.
#[derive(Debug, Clone)]
pub struct PruneMasks {
    masks: HashMap<String, Tensor<1>>,
    /// Weights covered, and those pruned, over all covered tensors.
    covered: usize,
    pruned: usize,
}

impl PruneMasks {
    /// Masks that prune the smallest-magnitude fraction `sparsity` of `model`'s covered
    /// weights, per tensor or across all of them
    /// ([`magnitude_masks`]; weights already zero count as the smallest).
    pub fn compute<M: Module>(model: &M, sparsity: f64, scope: PruneScope) -> Self {
        let mut read = ReadCovered::new(true);
        model.visit(&mut read);
        let slices: Vec<&[f32]> = read.found.iter().map(|(_, _, v)| v.as_slice()).collect();
        let keeps = magnitude_masks(&slices, sparsity, scope);
        let mut masks = HashMap::with_capacity(keeps.len());
        let (mut covered, mut pruned) = (0, 0);
        for ((path, _, _), (keep, device)) in
            read.found.iter().zip(keeps.iter().zip(read.devices.iter()))
        {
            covered += keep.len();
            pruned += keep.iter().filter(|k| !**k).count();
            let values: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
            let n = values.len();
            let mask = Tensor::<1>::from_data(TensorData::new(values, [n]), device);
            masks.insert(path.clone(), mask);
        }
        Self {
            masks,
            covered,
            pruned,
        }
    }

    /// `model` with every covered weight multiplied by its mask. Trainable weights stay
    /// trainable; a tensor the masks do not know is left as it is.
    pub fn apply<M: Module>(&self, model: M) -> M {
        model.map(&mut MaskMapper {
            masks: &self.masks,
            op: MaskOp::Multiply,
            path: Vec::new(),
        })
    }

    /// `model` with each covered weight replaced by its mask: a module-shaped record of the
    /// masks, saved with a checkpoint and read back by [`from_module`](Self::from_module).
    pub fn as_module<M: Module>(&self, model: M) -> M {
        model.map(&mut MaskMapper {
            masks: &self.masks,
            op: MaskOp::Substitute,
            path: Vec::new(),
        })
    }

    /// The masks [`as_module`](Self::as_module) stored in `masks` (a model loaded from that
    /// record). Every covered tensor must hold only 0 and 1: anything else is an error naming
    /// the tensor, as a checkpoint is read as hostile input.
    pub fn from_module<M: Module>(masks: &M) -> Result<Self, CompressError> {
        let mut read = ReadCovered::new(true);
        masks.visit(&mut read);
        let mut out = HashMap::with_capacity(read.found.len());
        let (mut covered, mut pruned) = (0, 0);
        for ((path, _, values), device) in read.found.into_iter().zip(read.devices) {
            if let Some(bad) = values.iter().find(|v| **v != 0.0 && **v != 1.0) {
                return Err(CompressError::BadInput(format!(
                    "pruning mask `{path}` holds {bad}, not 0 or 1"
                )));
            }
            covered += values.len();
            pruned += values.iter().filter(|v| **v == 0.0).count();
            let n = values.len();
            out.insert(
                path,
                Tensor::<1>::from_data(TensorData::new(values, [n]), &device),
            );
        }
        Ok(Self {
            masks: out,
            covered,
            pruned,
        })
    }

    /// Weights the masks cover.
    pub fn covered(&self) -> usize {
        self.covered
    }

    /// Weights the masks set to zero.
    pub fn pruned(&self) -> usize {
        self.pruned
    }

    /// `pruned / covered` (0 when nothing is covered).
    pub fn sparsity(&self) -> f64 {
        match self.covered {
            0 => 0.0,
            n => self.pruned as f64 / n as f64,
        }
    }
}

/// Collects the covered tensors' paths and shapes (and, when asked, values and devices).
struct ReadCovered {
    values: bool,
    path: Vec<String>,
    found: Vec<(String, Vec<usize>, Vec<f32>)>,
    devices: Vec<burn::tensor::Device>,
}

impl ReadCovered {
    fn new(values: bool) -> Self {
        Self {
            values,
            path: Vec::new(),
            found: Vec::new(),
            devices: Vec::new(),
        }
    }
}

impl ModuleVisitor for ReadCovered {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D < 2 {
            return;
        }
        let t = param.val();
        let shape = t.shape().to_vec();
        let values = match self.values {
            true => {
                self.devices.push(t.device());
                t.into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap_or_default()
            }
            false => Vec::new(),
        };
        self.found.push((self.path.join("."), shape, values));
    }
}

/// What [`MaskMapper`] does to a covered weight.
#[derive(Clone, Copy)]
enum MaskOp {
    /// `w · mask`, trainable as before.
    Multiply,
    /// The mask itself, for a module-shaped record of the masks.
    Substitute,
}

/// Applies `op` to each covered weight, found by its module path.
struct MaskMapper<'a> {
    masks: &'a HashMap<String, Tensor<1>>,
    op: MaskOp,
    path: Vec<String>,
}

impl ModuleMapper for MaskMapper<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(mask) = self.masks.get(&self.path.join(".")) else {
            return param;
        };
        let op = self.op;
        param.map(|w| {
            let (shape, device) = (w.shape(), w.device());
            let mask = mask.clone().to_device(&device).reshape(shape);
            match op {
                MaskOp::Substitute => mask,
                MaskOp::Multiply => multiplied(w, mask),
            }
        })
    }
}

/// `w · mask` on the inner backend: the mask is part of the weight's value, not of any graph,
/// and the result is a leaf again, trainable when `w` was, as the optimizer leaves its weights.
fn multiplied<const D: usize>(w: Tensor<D>, mask: Tensor<D>) -> Tensor<D> {
    let (trainable, autodiff) = (w.is_require_grad(), w.is_autodiff());
    let masked = w.inner() * mask.inner();
    match (autodiff, trainable) {
        (true, true) => Tensor::from_inner(masked).require_grad(),
        (true, false) => Tensor::from_inner(masked),
        (false, _) => masked,
    }
}

#[cfg(test)]
mod tests;
