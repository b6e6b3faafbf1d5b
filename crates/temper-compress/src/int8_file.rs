//! The quantized model on disk, as safetensors (the format `temper export` writes and
//! burn-store reads; spec: huggingface/safetensors `README.md`, "Format").
//!
//! Each int8 tensor `name` is stored as an `I8` tensor `name` and an `F32` tensor
//! `name.scale` of shape `[1]` (per tensor) or `[shape[0]]` (per output channel); tensors kept
//! in float (biases, norms) are `F32`. The header's `__metadata__` holds
//! `"format": "temper-int8"`, `"scheme"` (`per-tensor`, `per-channel`, or `mixed`), and
//! `"scheme.<name>"` for every int8 tensor, so a per-channel tensor with one output channel is
//! not mistaken for a per-tensor one.
//!
//! Writing is atomic and never replaces a file: the bytes go to a temporary file in the
//! target's folder, are synced, then hard-linked to the target name (which fails if it
//! exists) or, on a file system without hard links, renamed after a check. Reading treats the
//! file as hostile: its size is checked before it is read, safetensors validates the header
//! and offsets, and every int8 tensor must have a finite positive scale per group and values
//! in `[-127, 127]`, so what [`read_int8_safetensors`] returns dequantizes without surprises.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::CompressError;
use crate::quantize::{QuantScheme, QuantizedTensor};

/// The largest int8 file read: 4 GiB, twice an int8 model of 2 billion parameters' worth of
/// headroom for the float tensors kept beside it.
pub const MAX_INT8_FILE_BYTES: u64 = 4 << 30;

/// The most tensors an int8 file may hold (a ResNet-152 has about 1,000 with its scales).
pub const MAX_INT8_TENSORS: usize = 100_000;

/// The value of the `format` metadata key.
const FORMAT: &str = "temper-int8";

/// One tensor of an int8 file.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredTensor {
    /// Quantized weights with their scales.
    Int8(QuantizedTensor),
    /// A tensor kept in float.
    Float {
        /// Row-major values.
        values: Vec<f32>,
        /// The shape; its product is `values.len()`.
        shape: Vec<usize>,
    },
}

fn scheme_name(s: QuantScheme) -> &'static str {
    match s {
        QuantScheme::PerTensor => "per-tensor",
        QuantScheme::PerChannel => "per-channel",
    }
}

fn file_error(path: &Path, message: impl Into<String>) -> CompressError {
    CompressError::File {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Checks what the reader will check, so that a file written is a file read back.
fn check_int8(name: &str, q: &QuantizedTensor) -> Result<(), String> {
    let n = q.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if n != Some(q.values.len()) {
        return Err(format!(
            "{name}: shape {:?} does not hold {} values",
            q.shape,
            q.values.len()
        ));
    }
    let want = match q.scheme {
        QuantScheme::PerTensor => Some(1),
        QuantScheme::PerChannel => q.shape.first().copied(),
    };
    if want != Some(q.scales.len()) {
        return Err(format!(
            "{name}: {} scales for a {} tensor of shape {:?}",
            q.scales.len(),
            scheme_name(q.scheme),
            q.shape
        ));
    }
    if let Some(s) = q.scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!("{name}: scale {s} is not finite and positive"));
    }
    if q.values.contains(&i8::MIN) {
        return Err(format!("{name}: value -128 is outside [-127, 127]"));
    }
    Ok(())
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The byte buffers of every stored tensor, by name, with the metadata.
type Prepared = (
    Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    HashMap<String, String>,
);

fn prepare(tensors: &[(String, StoredTensor)]) -> Result<Prepared, String> {
    let mut out = Vec::with_capacity(tensors.len() * 2);
    let mut meta = HashMap::from([("format".to_owned(), FORMAT.to_owned())]);
    let mut schemes = Vec::new();
    for (name, t) in tensors {
        match t {
            StoredTensor::Int8(q) => {
                check_int8(name, q)?;
                let bytes = q.values.iter().map(|&v| v as u8).collect();
                out.push((name.clone(), Dtype::I8, q.shape.clone(), bytes));
                let scales = f32_bytes(&q.scales);
                let scale_shape = vec![q.scales.len()];
                out.push((format!("{name}.scale"), Dtype::F32, scale_shape, scales));
                meta.insert(format!("scheme.{name}"), scheme_name(q.scheme).to_owned());
                schemes.push(q.scheme);
            }
            StoredTensor::Float { values, shape } => {
                let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
                if n != Some(values.len()) {
                    return Err(format!(
                        "{name}: shape {shape:?} does not hold {} values",
                        values.len()
                    ));
                }
                out.push((name.clone(), Dtype::F32, shape.clone(), f32_bytes(values)));
            }
        }
    }
    let mut names: Vec<&str> = out.iter().map(|t| t.0.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two tensors are named {:?}", w[0]));
    }
    let scheme = match schemes.first() {
        Some(&s) if schemes.iter().all(|&x| x == s) => scheme_name(s),
        Some(_) => "mixed",
        None => "none",
    };
    meta.insert("scheme".to_owned(), scheme.to_owned());
    Ok((out, meta))
}

/// Writes `name` -> `I8` tensor + `name.scale` `F32` tensor for each int8 tensor, and floats
/// as `F32`, with the metadata of the module doc. Atomic, and never overwrites an existing
/// file (an error). Returns the bytes written.
pub fn write_int8_safetensors(
    path: &Path,
    tensors: &[(String, StoredTensor)],
) -> Result<u64, CompressError> {
    let (prepared, meta) = prepare(tensors).map_err(|m| file_error(path, m))?;
    let views = prepared
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.as_str(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e.to_string()))?;
    let bytes =
        safetensors::serialize(views, Some(meta)).map_err(|e| file_error(path, e.to_string()))?;
    if path.exists() {
        return Err(file_error(path, "already exists; not overwriting it"));
    }
    write_new(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Writes `bytes` to a new file `path` through a synced temporary file beside it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CompressError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| file_error(path, "names no file"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let io = |e: std::io::Error| file_error(path, e.to_string());
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(file_error(path, "already exists; not overwriting it"))
            }
            // A file system without hard links: the check and the rename are not one step.
            Err(_) if path.exists() => Err(file_error(path, "already exists; not overwriting it")),
            Err(_) => fs::rename(&tmp, path).map_err(io),
        }
    })();
    let _ = fs::remove_file(&tmp);
    if result.is_ok() {
        // Makes the new name durable; a folder that cannot be opened or synced (some
        // platforms) leaves the file written all the same.
        let _ = fs::File::open(&dir).and_then(|d| d.sync_all());
    }
    result
}

/// Reads an int8 safetensors file written by [`write_int8_safetensors`], as hostile input:
/// at most [`MAX_INT8_FILE_BYTES`] (checked before reading) and [`MAX_INT8_TENSORS`], the
/// `temper-int8` format tag, every scale count consistent with the shape and scheme, scales
/// finite and positive, values in `[-127, 127]`. Tensors come back sorted by name.
pub fn read_int8_safetensors(path: &Path) -> Result<Vec<(String, StoredTensor)>, CompressError> {
    let err = |m: String| file_error(path, m);
    let len = fs::metadata(path).map_err(|e| err(e.to_string()))?.len();
    if len > MAX_INT8_FILE_BYTES {
        return Err(err(format!(
            "is {len} bytes, more than the {MAX_INT8_FILE_BYTES} an int8 file may have"
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    fs::File::open(path)
        .and_then(|f| f.take(MAX_INT8_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > MAX_INT8_FILE_BYTES {
        return Err(err("grew past the size limit while being read".into()));
    }
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| err(format!("not a safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(err(format!("has no \"format\": \"{FORMAT}\" metadata")));
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| err(e.to_string()))?;
    if st.len() > MAX_INT8_TENSORS {
        return Err(err(format!(
            "holds {} tensors, more than {MAX_INT8_TENSORS}",
            st.len()
        )));
    }
    let mut names: Vec<&str> = st.names();
    names.sort_unstable();
    let mut out = Vec::new();
    for name in &names {
        let view = st.tensor(name).map_err(|e| err(e.to_string()))?;
        match view.dtype() {
            Dtype::I8 => {
                let q =
                    read_int8(&st, name, &view, &meta).map_err(|m| err(format!("{name}: {m}")))?;
                out.push((name.to_string(), StoredTensor::Int8(q)));
            }
            Dtype::F32 => {
                let owner = name.strip_suffix(".scale");
                let is_scale =
                    owner.is_some_and(|o| st.tensor(o).is_ok_and(|v| v.dtype() == Dtype::I8));
                if !is_scale {
                    let values = f32s(view.data());
                    let shape = view.shape().to_vec();
                    out.push((name.to_string(), StoredTensor::Float { values, shape }));
                }
            }
            other => {
                return Err(err(format!(
                    "{name}: dtype {other:?} is neither I8 nor F32"
                )));
            }
        }
    }
    Ok(out)
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// One int8 tensor and its scales, checked.
fn read_int8(
    st: &SafeTensors<'_>,
    name: &str,
    view: &TensorView<'_>,
    meta: &HashMap<String, String>,
) -> Result<QuantizedTensor, String> {
    let scheme = match meta.get(&format!("scheme.{name}")).map(String::as_str) {
        Some("per-tensor") => QuantScheme::PerTensor,
        Some("per-channel") => QuantScheme::PerChannel,
        other => {
            return Err(format!(
                "scheme metadata {other:?} is not per-tensor or per-channel"
            ));
        }
    };
    let scale_view = st
        .tensor(&format!("{name}.scale"))
        .map_err(|_| format!("has no {name}.scale tensor"))?;
    if scale_view.dtype() != Dtype::F32 || scale_view.shape().len() != 1 {
        return Err(format!(
            "{name}.scale is {:?} {:?}, not a 1-d F32 tensor",
            scale_view.dtype(),
            scale_view.shape()
        ));
    }
    let q = QuantizedTensor {
        values: view.data().iter().map(|&b| b as i8).collect(),
        scales: f32s(scale_view.data()),
        shape: view.shape().to_vec(),
        scheme,
    };
    check_int8(name, &q).map_err(|m| m.trim_start_matches(&format!("{name}: ")).to_owned())?;
    Ok(q)
}

#[cfg(test)]
mod tests;
