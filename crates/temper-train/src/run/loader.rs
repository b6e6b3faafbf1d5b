//! The loader: worker threads that build an epoch's host batches ahead of the step, through a
//! bounded queue, and the count of images that could not be read.
//!
//! One producer thread walks the epoch's batches in order and builds each on a rayon pool of
//! `[data] workers` threads (the batch's images in parallel); finished batches wait in a
//! `sync_channel` of `[data] prefetch` slots, so at most `prefetch + 2` batches exist at once
//! (the queue, the one being built, the one being stepped): memory stays bounded by the batch,
//! never by the data set. PyTorch's `DataLoader` instead gives each worker process whole
//! batches (`prefetch_factor` of them each); building one batch with all workers gives the
//! same throughput once the queue is full and keeps the order trivially deterministic.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

use rayon::ThreadPool;

use temper_data::{ImageBatcher, ImageData, Normalization};

use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::run::Progress;
use crate::run::augment::augment_parts;
use crate::run::batches::{HostBatch, HostContent, HostStage};

/// The worker pool and the queue depth of a run.
pub(crate) struct Loader {
    pool: ThreadPool,
    prefetch: usize,
}

impl Loader {
    /// `workers` threads (`None`: the cores available) and `prefetch` batches of queue.
    pub fn new(workers: Option<usize>, prefetch: usize) -> Result<Self, TrainError> {
        let workers = workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("temper-loader-{i}"))
            .build()
            .map_err(|e| TrainError::Config(format!("data.workers: {e}")))?;
        Ok(Self {
            pool,
            prefetch: prefetch.max(1),
        })
    }

    /// Calls `consume(step, batch)` for the host batch of every chunk of `chunks` in order,
    /// built by `stage` on the workers ahead of it. Stops at the first error, of `consume` or of
    /// a build, and returns it; the producer stops too.
    pub fn for_each_batch(
        &self,
        stage: &HostStage<'_>,
        chunks: &[&[usize]],
        epoch: usize,
        mut consume: impl FnMut(usize, HostBatch) -> Result<(), TrainError>,
    ) -> Result<(), TrainError> {
        std::thread::scope(|scope| {
            let (sender, receiver) = sync_channel(self.prefetch);
            scope.spawn(move || {
                for (step, chunk) in chunks.iter().enumerate() {
                    let batch = self.pool.install(|| stage.build(chunk, epoch, step));
                    let failed = batch.is_err();
                    // The receiver is gone when the consumer stopped early.
                    if sender.send(batch).is_err() || failed {
                        return;
                    }
                }
            });
            for (step, batch) in receiver.iter().enumerate() {
                consume(step, batch.map_err(TrainError::Config)?)?;
            }
            Ok(())
        })
    }
}

/// One batch as [`for_each_batch`] hands it out: normalized on the host, ready for
/// `Tensor::from_data`.
#[derive(Debug, Clone)]
pub struct LoadedBatch {
    /// The dataset indices of the batch's images, in order (unreadable ones left out).
    pub indices: Vec<usize>,
    /// Their labels.
    pub labels: Vec<usize>,
    /// Normalized `[N, C, H, W]` values.
    pub values: Vec<f32>,
    /// `[N, classes]` soft targets when MixUp/CutMix mixed the batch.
    pub soft: Option<Vec<f32>>,
    /// The images that could not be read, one line each naming the file.
    pub bad: Vec<String>,
}

/// The training batches of `epoch` (1-based) over `indices` of `data`, as a run builds them:
/// `[train] batch_size` and `seed`, `exp`'s `[augment]` (image ops on the loader's threads,
/// at the images' own size when `data` keeps it and the ops start with a random-resized crop;
/// MixUp/CutMix), `[data] workers` and `prefetch`; normalized with `normalization`. For a
/// training loop of your own, and for measuring the loader alone (`benches/loader.rs`).
///
/// `indices` are taken in the order given (shuffle them for an epoch). `consume(step, batch)`
/// runs on the calling thread while the workers build the batches after it.
pub fn for_each_batch(
    exp: &Experiment,
    data: &dyn ImageData,
    normalization: &Normalization,
    indices: &[usize],
    epoch: usize,
    mut consume: impl FnMut(usize, LoadedBatch) -> Result<(), TrainError>,
) -> Result<(), TrainError> {
    let (augmenter, mix) = augment_parts(exp, data)?;
    let batcher = ImageBatcher::new(normalization.clone(), data.image_shape());
    let stage = HostStage {
        dataset: data,
        batcher: &batcher,
        augmenter: augmenter.as_ref(),
        mix: mix.as_ref(),
        seed: exp.train.seed,
        device_ops: false,
    };
    let loader = Loader::new(exp.data.workers, exp.data.prefetch)?;
    let chunks: Vec<&[usize]> = indices.chunks(exp.train.batch_size.max(1)).collect();
    loader.for_each_batch(&stage, &chunks, epoch, |step, host| {
        let (values, soft) = match host.content {
            HostContent::Values { values, soft } => (values, soft),
            // Only a device replays the ops; this stage augments on the CPU.
            HostContent::Raw(images) => (batcher.normalize(&images), None),
        };
        consume(
            step,
            LoadedBatch {
                indices: host.indices,
                labels: host.labels,
                values,
                soft,
                bad: host.bad,
            },
        )
    })
}

/// The images of a run that could not be read, each counted once, and the limit on them.
pub(crate) struct BadImages {
    seen: Mutex<Seen>,
    /// The most that may fail: `[data] max_bad_fraction` of the run's images.
    allowed: usize,
    max_fraction: f64,
}

/// The one-line errors met so far, and those not yet warned about.
#[derive(Default)]
struct Seen {
    all: BTreeSet<String>,
    unwarned: Vec<String>,
}

impl BadImages {
    /// A count that allows `max_fraction` of `images` to fail.
    pub fn new(images: usize, max_fraction: f64) -> Self {
        Self {
            seen: Mutex::new(Seen::default()),
            allowed: (images as f64 * max_fraction).floor() as usize,
            max_fraction,
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `errors` (one line each, naming the file) met where nothing can be said (the
    /// validation and test passes); [`warn`](Self::warn) says them later.
    pub fn note(&self, errors: Vec<String>) {
        let mut seen = self.seen();
        for error in errors {
            if seen.all.insert(error.clone()) {
                seen.unwarned.push(error);
            }
        }
    }

    /// Warns once about each image recorded since the last warning.
    pub fn warn(&self, progress: &mut dyn Progress) {
        for error in std::mem::take(&mut self.seen().unwarned) {
            progress.message(&format!("data: skipped an image: {error}"));
        }
    }

    /// Records the errors of a training batch, warns about every new one, and stops the run
    /// when more than the allowed share of images have failed.
    pub fn record(&self, errors: &[String], progress: &mut dyn Progress) -> Result<(), TrainError> {
        self.note(errors.to_vec());
        self.warn(progress);
        let seen = self.seen();
        if seen.all.len() > self.allowed {
            return Err(TrainError::Config(format!(
                "data.max_bad_fraction: {} images could not be read, more than {} of the \
                 run's images; for example: {}",
                seen.all.len(),
                self.max_fraction,
                seen.all.first().map_or("", String::as_str)
            )));
        }
        Ok(())
    }

    /// Images that could not be read so far.
    pub fn count(&self) -> usize {
        self.seen().all.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Silent;

    #[test]
    fn bad_images_are_counted_once_and_stop_the_run_above_the_allowed_share() {
        // 1% of 200 images: 2 may fail.
        let bad = BadImages::new(200, 0.01);
        let a = "bad image a.jpg: truncated".to_string();
        let b = "bad image b.png: not a png".to_string();
        bad.record(&[a.clone(), a.clone()], &mut Silent).unwrap();
        bad.record(std::slice::from_ref(&b), &mut Silent).unwrap();
        assert_eq!(bad.count(), 2);
        let err = bad
            .record(&["bad image c.bmp: empty".into()], &mut Silent)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("data.max_bad_fraction: 3 images") && err.contains("a.jpg"),
            "{err}"
        );
    }
}
