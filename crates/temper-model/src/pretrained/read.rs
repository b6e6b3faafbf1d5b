//! Reading a PyTorch `state_dict` file, bounded before anything is read.
//!
//! `.safetensors` goes through burn-store's `SafetensorsStore` (the header is parsed, the data
//! memory-mapped and read only when a tensor is taken); `.pt`/`.pth`/`.bin` through its
//! `PytorchStore` (PyTorch's zip format, or the legacy pickle one), which refuses a pickle over
//! 100 MB and never runs pickled code. Neither reads tensor data here: the caller checks every
//! name and shape against the model first, so a file claiming a huge tensor costs nothing.

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ModuleStore, PytorchStore, SafetensorsStore};

use crate::limits::MAX_PARAMETERS;

/// Largest pretrained file read: room for [`MAX_PARAMETERS`] values in `f64` plus 128 MiB of
/// header, 2.1 GB. Anything larger cannot fit a built-in architecture, so it is refused from
/// its metadata before it is opened.
pub const MAX_PRETRAINED_BYTES: u64 = MAX_PARAMETERS as u64 * 8 + (128 << 20);

/// Most tensors a pretrained file may hold: 65,536. ResNet-152's `state_dict` has 1,042 (five
/// per BatchNorm, with `num_batches_tracked`); the bound keeps a file of millions of empty
/// tensors from costing a name table.
pub const MAX_PRETRAINED_TENSORS: usize = 1 << 16;

/// The file's tensors by name, their data not yet read.
///
/// # Errors
/// A one-line message (the caller adds the file): not a regular file, too large, an unknown
/// extension, or what the reader says of a malformed file.
pub(super) fn read_tensors(path: &Path) -> Result<BTreeMap<String, PackTensor>, String> {
    check_file(path)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let tensors = match extension.as_deref() {
        Some("safetensors") => SafetensorsStore::from_file(path)
            .get_all_tensors()
            .cloned()
            .map_err(|e| format!("not a readable safetensors file: {}", one_line(&e)))?,
        // Sequential indices are kept as they are: burn-store would renumber them without
        // gaps by default, turning MobileNetV2's `classifier.1` (after the dropout at
        // `classifier.0`) into `classifier.0`.
        Some("pt" | "pth" | "bin") => PytorchStore::from_file(path)
            .map_indices_contiguous(false)
            .get_all_tensors()
            .cloned()
            .map_err(|e| format!("not a readable PyTorch file: {}", one_line(&e)))?,
        _ => {
            return Err("expected a .safetensors, .pt or .pth file (a PyTorch state_dict)".into());
        }
    };
    if tensors.len() > MAX_PRETRAINED_TENSORS {
        return Err(format!(
            "holds {} tensors, more than {MAX_PRETRAINED_TENSORS}",
            tensors.len()
        ));
    }
    Ok(strip_data_parallel_prefix(tensors))
}

/// A regular file within [`MAX_PRETRAINED_BYTES`], from its metadata.
pub(super) fn check_file(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > MAX_PRETRAINED_BYTES {
        return Err(format!(
            "is {} bytes, more than the {MAX_PRETRAINED_BYTES} any built-in model needs",
            meta.len()
        ));
    }
    Ok(())
}

/// Drops the `module.` prefix `nn.DataParallel` and DDP put on every key, when every key has
/// it, as a `state_dict` saved from a wrapped model does.
fn strip_data_parallel_prefix(
    tensors: BTreeMap<String, PackTensor>,
) -> BTreeMap<String, PackTensor> {
    const PREFIX: &str = "module.";
    if tensors.is_empty() || !tensors.keys().all(|k| k.starts_with(PREFIX)) {
        return tensors;
    }
    tensors
        .into_iter()
        .map(|(k, mut t)| {
            let name = k[PREFIX.len()..].to_owned();
            t.name.clone_from(&name);
            (name, t)
        })
        .collect()
}

/// A reader's message on one line, clipped: errors print as one line.
pub(super) fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string().replace(['\n', '\r'], " ");
    temper_data::bounded::clip(&text, 300)
}
