//! `temper quantize RUN_DIR`: the run's tested weights as int8, scored with the same report.
//!
//! Post-training, weight-only quantization, as PyTorch's dynamic quantization stores `Linear`
//! weights: every weight tensor of rank 2 or more (convolution and linear weights) becomes
//! symmetric int8 — one scale per tensor or per output channel, `scale = max|w| / 127`,
//! temper-compress's `quantize` — and biases, normalization and running statistics stay
//! `f32`. Burn's linear weight is `[in, out]`, so a rank-2 tensor is quantized as its
//! transpose `[out, in]`, PyTorch's layout, whose leading axis is the output unit; a
//! convolution's `[out, in, kh, kw]` already leads with it.
//!
//! Burn 0.22 has quantized tensors (`QuantScheme`, per-tensor or per-block scales), but no
//! per-output-channel scale, and its flex backend dequantizes before a matmul or convolution;
//! so the int8 weights are written by temper (`model.int8.safetensors`: `name` as I8 and
//! `name.scale` as F32) and scored after dequantizing them into the float model. That gives
//! the accuracy and the file size of int8 weights; inference runs in `f32` at the speed of
//! the float model. Activations stay `f32`, so there is nothing to calibrate: the calibration
//! images (from the run's own training split) measure how often the int8 model agrees with the
//! float one and the largest logit difference, before the test split is scored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use temper_compress::int8_file::{StoredTensor, write_int8_safetensors};
use temper_compress::quantize::quantize;
use temper_compress::settings::{QuantScheme, QuantizeSettings};
use temper_data::ImageBatcher;
use temper_model::Classifier;

use crate::config::device::DeviceChoice;
use crate::error::TrainError;
use crate::run::Progress;
use crate::run::batches::read_images;
use crate::score::eval_run::Scoring;
use crate::score::html::write_child_report_html;
use crate::score::report::TestReport;
use crate::score::saved_run::LoadedModel;
use crate::score::split_scores::evaluate_with_confusion;

/// The int8 weights' file in the output directory.
pub const INT8_FILE: &str = "model.int8.safetensors";

/// What `quantize_run` made and measured.
#[derive(Debug, Clone)]
pub struct QuantizedRun {
    /// The int8 model's report on the test split.
    pub report: TestReport,
    /// The float model's, for comparison.
    pub float_report: TestReport,
    /// The int8 weights' file.
    pub file: PathBuf,
    /// Its size, and the float checkpoint's.
    pub int8_bytes: u64,
    /// The size of the float checkpoint quantized.
    pub float_bytes: u64,
    /// Tensors stored as int8.
    pub int8_tensors: usize,
    /// Calibration images, and the share on which both models predict the same class.
    pub calibration_images: usize,
    /// Top-1 agreement between the float and the int8 model on the calibration images.
    pub agreement: f64,
    /// The largest absolute logit difference there.
    pub max_logit_error: f64,
}

/// Quantizes `run_dir`'s tested weights with `settings`, scores the result and the float model
/// on the run's test split, and writes the int8 file and the int8 model's report into `out`.
pub fn quantize_run(
    run_dir: &Path,
    settings: &QuantizeSettings,
    device: Option<DeviceChoice>,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<QuantizedRun, TrainError> {
    settings.validate()?;
    let scoring = Scoring::open(run_dir, None, device, None, Some(out), progress)?;
    let LoadedModel {
        model,
        device: selected,
        normalization,
    } = &scoring.model;
    let (int8, stored) = quantize_model(model, settings.scheme)?;
    let int8_tensors = stored
        .iter()
        .filter(|(_, t)| matches!(t, StoredTensor::Int8(_)))
        .count();
    let train = scoring.loaded.train();
    let test = scoring.loaded.test();
    let batcher = ImageBatcher::new(normalization.clone(), test.image_shape());
    let split = scoring.saved.exp.split(train.len())?;
    let calibration = &split.train[..settings.calibration_images.min(split.train.len())];
    let (agreement, max_logit_error) = {
        let read = read_images(train, calibration);
        let batch = batcher.batch_pixels(&read.images, &read.labels, &selected.device);
        compare(model, &int8, batch.images)
    };
    progress.message(&format!(
        "int8 weights ({int8_tensors} tensors, {}): the float and int8 models agree on {:.2}% \
         of {} training images (largest logit difference {max_logit_error:.4})",
        scheme_name(settings.scheme),
        100.0 * agreement,
        calibration.len()
    ));
    let all: Vec<usize> = (0..test.len()).collect();
    let score = |m: &Classifier| {
        let (scores, confusion) =
            evaluate_with_confusion(m, test, &all, &batcher, &selected.device);
        TestReport::new(scores, &confusion, &test.class_names())
    };
    let float_report = score(model);
    let report = score(&int8);
    std::fs::create_dir_all(out).map_err(crate::error::io_err(out))?;
    let file = out.join(INT8_FILE);
    let int8_bytes = write_int8_safetensors(&file, &stored)?;
    let float_bytes = std::fs::metadata(&scoring.saved.weights)
        .map_err(crate::error::io_err(&scoring.saved.weights))?
        .len();
    let run = QuantizedRun {
        report,
        float_report,
        file,
        int8_bytes,
        float_bytes,
        int8_tensors,
        calibration_images: calibration.len(),
        agreement,
        max_logit_error,
    };
    let preamble = preamble(&run, &scoring.which, run_dir, settings.scheme);
    run.report.write(out, "Quantized model report", &preamble)?;
    write_child_report_html(out, "Quantized model report", run_dir)?;
    Ok(run)
}

/// `model` with its weights through int8 and back, and the tensors to store.
fn quantize_model(
    model: &Classifier,
    scheme: QuantScheme,
) -> Result<(Classifier, Vec<(String, StoredTensor)>), TrainError> {
    let mut read = ReadFloats::default();
    model.visit(&mut read);
    let mut stored = Vec::with_capacity(read.tensors.len());
    let mut dequantized = HashMap::new();
    for (path, shape, values) in read.tensors {
        if shape.len() < 2 {
            stored.push((path, StoredTensor::Float { values, shape }));
            continue;
        }
        // Burn's linear weight is [in, out]: quantize [out, in], PyTorch's layout.
        let linear = shape.len() == 2;
        let (values, layout) = match linear {
            true => (
                transpose(&values, shape[0], shape[1]),
                vec![shape[1], shape[0]],
            ),
            false => (values, shape.clone()),
        };
        let q = quantize(&values, &layout, scheme)?;
        let back = q.dequantize();
        let back = match linear {
            true => transpose(&back, layout[0], layout[1]),
            false => back,
        };
        dequantized.insert(path.clone(), back);
        stored.push((path, StoredTensor::Int8(q)));
    }
    let int8 = model.clone().map(&mut Replace {
        values: dequantized,
        path: Vec::new(),
    });
    Ok((int8, stored))
}

/// `values` of a row-major `[rows, cols]` matrix, transposed.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Top-1 agreement and the largest absolute logit difference of two models on `images`.
fn compare(float: &Classifier, int8: &Classifier, images: Tensor<4>) -> (f64, f64) {
    let n = images.dims()[0];
    if n == 0 {
        return (1.0, 0.0);
    }
    let a = float.forward(images.clone());
    let b = int8.forward(images);
    let same = a
        .clone()
        .argmax(1)
        .equal(b.clone().argmax(1))
        .int()
        .sum()
        .into_scalar::<i64>();
    let diff = (a - b).abs().max().into_scalar::<f32>();
    (same as f64 / n as f64, f64::from(diff))
}

fn scheme_name(scheme: QuantScheme) -> &'static str {
    match scheme {
        QuantScheme::PerTensor => "per tensor",
        QuantScheme::PerChannel => "per output channel",
    }
}

/// The report's opening: what was quantized, the sizes, the agreement and the float model's
/// accuracy beside the int8 one's.
fn preamble(run: &QuantizedRun, which: &str, run_dir: &Path, scheme: QuantScheme) -> String {
    let ratio = run.float_bytes as f64 / run.int8_bytes.max(1) as f64;
    format!(
        "Weights {which} of `{}`, quantized to int8 ({}, symmetric, scale = max|w| / 127): \
         {} weight tensors; biases and normalization stay f32. The int8 weights are \
         dequantized to score them, so inference speed is the float model's.\n\n\
         | | float | int8 |\n|---|---|---|\n\
         | test accuracy | {:.4} | {:.4} |\n\
         | weights file (bytes) | {} | {} ({ratio:.2}x smaller) |\n\n\
         On {} training images the two models predict the same class for {:.2}% (largest \
         logit difference {:.4}).",
        run_dir.display(),
        scheme_name(scheme),
        run.int8_tensors,
        run.float_report.scores.accuracy,
        run.report.scores.accuracy,
        run.float_bytes,
        run.int8_bytes,
        run.calibration_images,
        100.0 * run.agreement,
        run.max_logit_error
    )
}

/// Every float tensor's path, shape and values.
#[derive(Default)]
struct ReadFloats {
    path: Vec<String>,
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl ModuleVisitor for ReadFloats {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let shape = t.shape().to_vec();
        let values = t
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        self.tensors.push((self.path.join("."), shape, values));
    }
}

/// Puts the dequantized values back, by path.
struct Replace {
    values: HashMap<String, Vec<f32>>,
    path: Vec<String>,
}

impl ModuleMapper for Replace {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(values) = self.values.remove(&self.path.join(".")) else {
            return param;
        };
        param.map(|t| {
            let (shape, device) = (t.shape(), t.device());
            Tensor::from_data(TensorData::new(values, shape), &device)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use temper_model::MlpConfig;

    /// Burn's linear weight is `[in, out]`: per-channel scales must be per output unit, a
    /// column, `max_i |w[i][j]| / 127`, and each weight within half a step of its value.
    #[test]
    fn per_channel_scales_of_a_linear_layer_are_per_output_unit() {
        let config = MlpConfig::new()
            .with_input_size(12)
            .with_hidden(vec![5])
            .with_num_classes(3);
        let model: Classifier = config.init(&Device::flex()).into();
        let (int8, stored) = quantize_model(&model, QuantScheme::PerChannel).unwrap();
        let read = |m: &Classifier| {
            let mut r = ReadFloats::default();
            m.visit(&mut r);
            r.tensors
                .into_iter()
                .find(|(_, shape, _)| shape.len() == 2)
                .unwrap()
        };
        let ((_, shape, w), (_, _, q)) = (read(&model), read(&int8));
        let (inputs, outputs) = (shape[0], shape[1]);
        let (_, first) = stored
            .iter()
            .find(|(_, t)| matches!(t, StoredTensor::Int8(_)))
            .unwrap();
        let StoredTensor::Int8(first) = first else {
            unreachable!()
        };
        assert_eq!(first.shape, [outputs, inputs]);
        for j in 0..outputs {
            let max = (0..inputs)
                .map(|i| w[i * outputs + j].abs())
                .fold(0.0, f32::max);
            let scale = max / 127.0;
            assert!((first.scales[j] - scale).abs() <= scale * 1e-6, "unit {j}");
            for i in 0..inputs {
                let e = (w[i * outputs + j] - q[i * outputs + j]).abs();
                assert!(
                    e <= scale / 2.0 + 1e-7,
                    "w[{i}][{j}]: error {e}, step {scale}"
                );
            }
        }
        // Biases stay f32.
        assert!(
            stored
                .iter()
                .any(|(p, t)| p.ends_with("bias") && matches!(t, StoredTensor::Float { .. }))
        );
    }
}
