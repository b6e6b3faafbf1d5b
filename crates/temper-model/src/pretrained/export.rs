//! A classifier written as a PyTorch `state_dict` in safetensors, with torchvision's names.
//!
//! The file holds what `model.state_dict()` of the torchvision network holds, so that
//! `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` accepts it: every
//! parameter and BatchNorm running statistic in `f32`, under its torchvision name, in
//! PyTorch's layout (linear weights `[out, in]`), plus each BatchNorm's `num_batches_tracked`
//! (`int64`, 0: Burn does not count batches, and PyTorch reads the count only when a
//! BatchNorm's `momentum` is `None`). The metadata says `format = "pt"`, as files written by
//! `safetensors.torch.save_file` do, so Hugging Face's loaders take it as PyTorch weights.

use std::borrow::Cow;
use std::collections::HashMap;

use burn::store::bridge;
use burn::store::burn_pack::Tensor as PackTensor;
use safetensors::{Dtype, View};

use super::names::collect_torch;
use super::read::one_line;
use crate::{Classifier, ModelError};

/// The metadata key naming the architecture that wrote the file.
const ARCHITECTURE_KEY: &str = "temper_architecture";

/// The file format [`to_safetensors`] writes, for messages: `safetensors`.
pub const EXPORT_FORMAT: &str = "safetensors";

/// One tensor's bytes, little-endian, as safetensors stores them.
struct Owned {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Owned {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// One entry of the `state_dict`: a tensor of the model, or a BatchNorm's batch counter.
enum Entry {
    Tensor(PackTensor),
    BatchCount,
}

/// The model's `state_dict` entries in PyTorch's order: each BatchNorm's
/// `num_batches_tracked` follows its `running_var`, as `_BatchNorm` registers its buffers.
fn entries(model: &Classifier) -> Vec<(String, Entry)> {
    let mut entries = Vec::new();
    for (name, tensor) in collect_torch(model) {
        let counter = name
            .strip_suffix(".running_var")
            .map(|module| format!("{module}.num_batches_tracked"));
        entries.push((name, Entry::Tensor(tensor)));
        if let Some(counter) = counter {
            entries.push((counter, Entry::BatchCount));
        }
    }
    entries
}

/// The keys of `model`'s `state_dict` as [`to_safetensors`] writes it, in PyTorch's order
/// (torchvision's `model.state_dict().keys()` for its architectures).
pub fn state_dict_keys(model: &Classifier) -> Vec<String> {
    entries(model).into_iter().map(|(name, _)| name).collect()
}

/// The bytes of a safetensors file holding `model`'s `state_dict`; `architecture` (the
/// `[model] kind`, e.g. `resnet18`) is recorded in the metadata.
///
/// # Errors
/// [`ModelError::Export`] when a tensor cannot be read back from its device.
pub fn to_safetensors(model: &Classifier, architecture: &str) -> Result<Vec<u8>, ModelError> {
    let mut tensors: Vec<(String, Owned)> = Vec::new();
    for (name, entry) in entries(model) {
        let owned = match entry {
            Entry::BatchCount => Owned {
                dtype: Dtype::I64,
                shape: Vec::new(),
                bytes: 0i64.to_le_bytes().to_vec(),
            },
            Entry::Tensor(tensor) => f32_bytes(&name, tensor)?,
        };
        tensors.push((name, owned));
    }
    let metadata = HashMap::from([
        ("format".to_owned(), "pt".to_owned()),
        (ARCHITECTURE_KEY.to_owned(), architecture.to_owned()),
    ]);
    safetensors::serialize(tensors.iter().map(|(n, t)| (n, t)), Some(metadata))
        .map_err(|e| export_err(one_line(&e)))
}

/// A tensor's values as little-endian `f32`, whatever float type the model holds.
fn f32_bytes(name: &str, tensor: PackTensor) -> Result<Owned, ModelError> {
    let data = bridge::into_data(tensor)
        .map_err(|e| export_err(format!("`{name}`: {}", one_line(&e))))?
        .convert::<f32>();
    let shape = data.shape().to_vec();
    let values = data
        .try_to_vec::<f32>()
        .map_err(|e| export_err(format!("`{name}`: {e:?}")))?;
    Ok(Owned {
        dtype: Dtype::F32,
        shape,
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    })
}

fn export_err(message: String) -> ModelError {
    ModelError::Export { message }
}
