//! Weights from PyTorch, and back: a torchvision `state_dict` loaded into a [`Classifier`]
//! by name ([`load_pretrained`]), and a classifier written as one ([`to_safetensors`]).
//!
//! Names follow torchvision ([`names`] has the table); BatchNorm's `weight`/`bias` are Burn's
//! `gamma`/`beta` and a linear weight is transposed, as burn-store's PyTorch adapters do;
//! `running_mean`/`running_var` load with the rest, `num_batches_tracked` is read past
//! (PyTorch uses it only for `momentum=None`). Loading is strict, as PyTorch's
//! `load_state_dict(strict=True)`: every tensor of the model must be in the file with its
//! shape, and every tensor of the file in the model — except the classifier head, which is
//! left freshly initialized when its shape differs (another number of classes: transfer
//! learning, as timm's `load_pretrained` drops the classifier when `num_classes` changes).
//! Any float type loads (a half-precision file becomes `f32`).
//!
//! burn-store's `apply` aborts the process on a panic inside it, so every tensor's bytes are
//! read and checked (length against shape and type) before it is called.

mod export;
pub mod names;
mod read;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Module;

use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, bridge};

pub use export::{EXPORT_FORMAT, state_dict_keys, to_safetensors};
pub use names::{TorchTensor, torch_tensors};
pub use read::{MAX_PRETRAINED_BYTES, MAX_PRETRAINED_TENSORS};

/// Checks that `path` is a regular file no larger than [`MAX_PRETRAINED_BYTES`], before
/// anything else is loaded.
///
/// # Errors
/// [`ModelError::Pretrained`] naming the file.
pub fn check_readable(path: &Path) -> Result<(), ModelError> {
    read::check_file(path).map_err(|m| pretrained_err(path, m))
}

use crate::{Classifier, ModelError};

/// A classifier head left at its initialization because the file's has other classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewHead {
    /// Outputs of the file's head (its number of classes).
    pub file_classes: usize,
    /// Outputs of the model's head.
    pub classes: usize,
}

fn pretrained_err(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Pretrained {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// The weights of a PyTorch `state_dict` file, read and checked against a model once and
/// held in memory (`f32`), to be applied to every model built the same way.
#[derive(Clone)]
pub struct PretrainedWeights {
    path: PathBuf,
    tensors: Vec<PackTensor>,
    /// The model tensors the file does not set: the head, when [`new_head`](Self::new_head).
    skipped: Vec<String>,
    new_head: Option<NewHead>,
}

impl std::fmt::Debug for PretrainedWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PretrainedWeights")
            .field("path", &self.path)
            .field("tensors", &self.tensors.len())
            .field("new_head", &self.new_head)
            .finish()
    }
}

impl PretrainedWeights {
    /// Reads the `state_dict` at `path` (`.safetensors`, `.pt` or `.pth`, torchvision's
    /// names) and checks it against `model`.
    ///
    /// # Errors
    /// [`ModelError::Pretrained`], one line naming the file and the first tensor at fault: a
    /// tensor of the model missing from the file, one whose shape differs (both shapes
    /// given), a tensor of the file the model lacks, one that is not floating point, or a
    /// malformed file.
    pub fn read(path: &Path, model: &Classifier) -> Result<Self, ModelError> {
        let file = read::read_tensors(path).map_err(|m| pretrained_err(path, m))?;
        let matched = match_tensors(model, file).map_err(|m| pretrained_err(path, m))?;
        let tensors = materialize(matched.tensors).map_err(|m| pretrained_err(path, m))?;
        let mut weights = Self {
            path: path.to_owned(),
            tensors,
            skipped: Vec::new(),
            new_head: matched.new_head,
        };
        if weights.new_head.is_some() {
            // The head is replaced whole: a bias that fits is no use without its weight.
            weights.drop_head(matched.head);
        }
        Ok(weights)
    }

    /// Tensors the file sets.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file sets no tensor (a model without parameters).
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Set when the file's classifier head did not fit and the model keeps its fresh one.
    pub fn new_head(&self) -> Option<NewHead> {
        self.new_head
    }

    /// These weights without the classifier head of `model` (built as the one
    /// [`read`](Self::read) checked), which then keeps its fresh initialization: fine-tuning
    /// on other classes, as many as the file's.
    pub fn without_head(mut self, model: &Classifier) -> Self {
        let head: Vec<TorchTensor> = torch_tensors(model)
            .into_iter()
            .filter(|t| model.is_head(&t.burn))
            .collect();
        if self.new_head.is_none() {
            let classes = head
                .first()
                .and_then(|t| t.shape.first().copied())
                .unwrap_or(0);
            self.new_head = Some(NewHead {
                file_classes: classes,
                classes,
            });
        }
        self.drop_head(head.into_iter().map(|t| t.burn).collect());
        self
    }

    /// Leaves the tensors at the Burn paths `head` to the model's initialization.
    fn drop_head(&mut self, head: Vec<String>) {
        self.tensors.retain(|t| !head.contains(&t.name));
        self.skipped = head;
    }

    /// `model`, built as the one [`read`](Self::read) checked, with these weights.
    ///
    /// # Errors
    /// [`ModelError::Pretrained`] when `model` is not built like that one.
    pub fn apply<M: Module>(&self, mut model: M) -> Result<M, ModelError> {
        let result = model.apply(
            self.tensors.clone(),
            None,
            Some(Box::new(PyTorchToBurnAdapter)),
            true,
        );
        if let Some(error) = result.errors.first() {
            return Err(pretrained_err(&self.path, read::one_line(error)));
        }
        if let Some((missing, _)) = result
            .missing
            .iter()
            .find(|(p, _)| !self.skipped.iter().any(|s| s == p))
        {
            return Err(pretrained_err(
                &self.path,
                format!("the model's `{missing}` was not loaded"),
            ));
        }
        Ok(model)
    }
}

/// `model` with the weights of the PyTorch `state_dict` at `path`: [`PretrainedWeights::read`]
/// then [`apply`](PretrainedWeights::apply).
///
/// # Errors
/// As [`PretrainedWeights::read`].
pub fn load_pretrained(
    model: Classifier,
    path: &Path,
) -> Result<(Classifier, PretrainedWeights), ModelError> {
    let weights = PretrainedWeights::read(path, &model)?;
    let model = weights.apply(model)?;
    Ok((model, weights))
}

/// The file's tensors paired with the model's, checked by name, shape and type.
struct Matched {
    tensors: Vec<(TorchTensor, PackTensor)>,
    /// The Burn paths of the model's head tensors.
    head: Vec<String>,
    new_head: Option<NewHead>,
}

fn match_tensors(
    model: &Classifier,
    mut file: BTreeMap<String, PackTensor>,
) -> Result<Matched, String> {
    let mut tensors = Vec::new();
    let mut head = Vec::new();
    let mut new_head = None;
    for want in torch_tensors(model) {
        let in_head = model.is_head(&want.burn);
        if in_head {
            head.push(want.burn.clone());
        }
        let Some(have) = file.remove(&want.torch) else {
            return Err(format!(
                "has no tensor `{}` (the model's is {:?})",
                want.torch, want.shape
            ));
        };
        if !have.dtype.is_float() {
            return Err(format!(
                "tensor `{}` is {:?}, not floating point",
                want.torch, have.dtype
            ));
        }
        if have.shape.as_slice() != want.shape.as_slice() {
            if in_head {
                new_head = Some(NewHead {
                    file_classes: have.shape.first().copied().unwrap_or(0),
                    classes: want.shape.first().copied().unwrap_or(0),
                });
                continue;
            }
            return Err(format!(
                "tensor `{}` is {:?} in the file, the model's is {:?}",
                want.torch,
                have.shape.as_slice(),
                want.shape
            ));
        }
        tensors.push((want, have));
    }
    let unexpected: Vec<&String> = file
        .keys()
        .filter(|k| !k.ends_with("num_batches_tracked"))
        .collect();
    if let Some(first) = unexpected.first() {
        let more = match unexpected.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(format!("tensor `{first}` is not in the model{more}"));
    }
    Ok(Matched {
        tensors,
        head,
        new_head,
    })
}

/// Reads every tensor's bytes (checked against its shape and type) as `f32`, named by its
/// Burn path for the applier.
fn materialize(matched: Vec<(TorchTensor, PackTensor)>) -> Result<Vec<PackTensor>, String> {
    matched
        .into_iter()
        .map(|(want, have)| {
            let data = bridge::into_data(have)
                .map_err(|e| format!("tensor `{}`: {}", want.torch, read::one_line(&e)))?
                .convert::<f32>();
            Ok(bridge::from_data(data, want.burn, None))
        })
        .collect()
}

#[cfg(test)]
mod tests;
