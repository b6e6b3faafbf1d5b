//! The efficiency figures of a model (`temper inspect`, and the reports of pruned, quantized
//! and distilled runs): parameters in all and non-zero, MACs per image, checkpoint bytes raw
//! and gzipped, and CPU inference — latency at batch 1 and throughput at batch 64.
//!
//! Timing runs on flex (the CPU backend every machine has) with the model in validation mode,
//! as torch's benchmarks time `model.eval()` under `no_grad`: each call reads the logits back,
//! so the work is done when the clock stops; the median of at least 10 calls and one second
//! (temper-compress's `median_seconds`) after 3 warm-up calls.

use std::path::Path;
use std::time::Duration;

use burn::module::{ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use temper_compress::efficiency::{Efficiency, gzip_len, median_seconds};

use crate::classifier::ImageClassifier;
use crate::error::TrainError;
use crate::run::run_dir::read_pack;

/// Images per call of the throughput figure.
pub const THROUGHPUT_BATCH: usize = 64;

/// `model`'s figures for images of `shape`, its checkpoint being `checkpoint`. `model` must
/// be on a flex device in validation mode.
pub fn measure<M: ImageClassifier>(
    model: &M,
    shape: [usize; 3],
    checkpoint: &Path,
) -> Result<Efficiency, TrainError> {
    let bytes = read_pack(checkpoint).map_err(|e| TrainError::Checkpoint {
        path: checkpoint.to_path_buf(),
        message: e,
    })?;
    let mut count = NonZero::default();
    model.visit(&mut count);
    let device = Device::flex();
    let seconds = |batch: usize| {
        let [c, h, w] = shape;
        let images = Tensor::<4>::ones([batch, c, h, w], &device);
        median_seconds(
            || {
                let _ = model.logits(images.clone()).into_data();
            },
            3,
            10,
            Duration::from_secs(1),
        )
    };
    let latency = seconds(1);
    let batch = seconds(THROUGHPUT_BATCH);
    Ok(Efficiency {
        parameters: model.num_params() as u64,
        nonzero_parameters: count.nonzero,
        macs_per_image: model.macs_per_image(shape),
        checkpoint_bytes: bytes.len() as u64,
        checkpoint_gzip_bytes: gzip_len(&bytes),
        latency_ms_batch1: latency * 1e3,
        throughput_batch64: THROUGHPUT_BATCH as f64 / batch,
    })
}

/// Counts the non-zero values of every float tensor (parameters and buffers, as Burn's
/// `num_params` counts them).
#[derive(Default)]
struct NonZero {
    nonzero: u64,
}

impl ModuleVisitor for NonZero {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data().convert::<f32>();
        if let Ok(values) = data.as_slice::<f32>() {
            self.nonzero += values.iter().filter(|v| **v != 0.0).count() as u64;
        }
    }
}
