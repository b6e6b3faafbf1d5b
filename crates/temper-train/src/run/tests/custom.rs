//! The generic path: a model and a data set type of the caller's, neither temper's, trained,
//! resumed and tuned through the same public functions `temper train` uses.

use std::borrow::Cow;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use temper_data::ImageData;

use super::training::{CrashAt, SEEDED};
use crate::{
    DeviceChoice, Experiment, ImageClassifier, RunSummary, Silent, TrainData, resume_model,
    train_model, tune_model,
};

/// `len` 1x8x8 gray images made on demand (nothing held in memory): class 0 has its left half
/// brighter by 100 than its right, class 1 the reverse, under uniform noise of +-50 — so the
/// sign of (left mean - right mean) separates the classes exactly, and a linear model can
/// learn it.
pub(super) struct Halves {
    pub(super) len: usize,
    pub(super) seed: u64,
}

impl ImageData for Halves {
    fn len(&self) -> usize {
        self.len
    }
    fn image_shape(&self) -> [usize; 3] {
        [1, 8, 8]
    }
    fn num_classes(&self) -> usize {
        2
    }
    fn class_names(&self) -> Vec<String> {
        vec!["left".into(), "right".into()]
    }
    fn image(&self, index: usize) -> Cow<'_, [u8]> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (index as u64).wrapping_mul(0x9E37));
        let bright_left = self.label(index) == 0;
        let pixels = (0..64)
            .map(|p| {
                let left = p % 8 < 4;
                let base = if left == bright_left { 150.0 } else { 50.0 };
                (base + rng.random_range(-50.0..=50.0f32)).round() as u8
            })
            .collect();
        Cow::Owned(pixels)
    }
    fn label(&self, index: usize) -> usize {
        index % 2
    }
}

/// A model of the caller's: one linear layer over the flattened image.
#[derive(Module, Debug)]
pub(super) struct Flat {
    linear: Linear,
}

impl Flat {
    pub(super) fn new(device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(64, 2).init(device),
        }
    }
}

impl ImageClassifier for Flat {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.linear.forward(images.flatten(1, 3))
    }
}

pub(super) fn experiment() -> Experiment {
    let mut exp = Experiment::from_toml_str(
        "[train]\nepochs = 3\nbatch_size = 16\ndevice = 'flex'\n\
         [optim]\nkind = 'adam'\nlr = 0.01\nema = { decay = 0.9 }\n\
         [schedule]\nkind = 'cosine'\n\
         [early_stopping]\nmonitor = 'valid_accuracy'\npatience = 5\nrestore_best_weights = true",
        "test",
    )
    .unwrap();
    exp.data.valid_fraction = 0.25;
    exp.train.device = DeviceChoice::Flex;
    exp
}

fn train_halves(exp: &Experiment, dir: &std::path::Path) -> RunSummary {
    let (train, test) = (Halves { len: 400, seed: 1 }, Halves { len: 200, seed: 2 });
    let data = TrainData {
        train: &train,
        test: &test,
        name: "halves".into(),
    };
    train_model(exp, Flat::new, data, dir, &mut Silent).unwrap()
}

#[test]
fn a_model_and_data_set_of_the_callers_train_through_train_model() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let summary = train_halves(&experiment(), &run);
    assert_eq!((summary.train_images, summary.valid_images), (300, 100));
    assert_eq!(summary.epochs_run, 3);
    // The classes are separable by construction (see `Halves`): anything under 95% means the
    // data or the updates did not reach the model.
    let valid = summary.epochs.last().unwrap().valid.unwrap();
    assert!(valid.accuracy >= 0.95, "valid accuracy {}", valid.accuracy);
    assert!(
        summary.test.accuracy >= 0.95,
        "test {}",
        summary.test.accuracy
    );
    for file in ["config.toml", "metrics.csv", "summary.toml", "report.md"] {
        assert!(run.join(file).is_file(), "{file}");
    }
    assert!(run.join("checkpoints/best.bpk").is_file());
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 3, "{metrics}");
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("right") && report.contains("`halves`"),
        "{report}"
    );
}

#[test]
fn a_callers_model_resumes_as_if_never_stopped() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let exp = experiment();
    let dir = tempfile::tempdir().unwrap();
    let whole = train_halves(&exp, &dir.path().join("whole"));

    let crashed = dir.path().join("crashed");
    let (train, test) = (Halves { len: 400, seed: 1 }, Halves { len: 200, seed: 2 });
    let data = || TrainData {
        train: &train,
        test: &test,
        name: "halves".into(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train_model(&exp, Flat::new, data(), &crashed, &mut CrashAt(3))
    }));
    assert!(result.is_err(), "the simulated crash happened");
    let resumed = resume_model(&crashed, Flat::new, data(), &mut Silent).unwrap();
    assert_eq!(resumed.epochs_this_process, 1);
    let strip = |s: &RunSummary| {
        s.epochs
            .iter()
            .map(|m| (m.epoch, m.train, m.valid, m.lr))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&resumed), strip(&whole));
    assert_eq!(resumed.test, whole.test);
}

#[test]
fn a_callers_model_is_tuned_through_tune_model() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = experiment();
    exp.train.epochs = 1;
    exp.tune = Some(
        toml::from_str(
            "trials = 3\nsampler = 'random'\npruner = 'none'\nmetric = 'valid_accuracy'\n\
             storage = 'memory'\n[space]\n\"optim.lr\" = { log_uniform = [1e-3, 1e-1] }",
        )
        .unwrap(),
    );
    let (train, test) = (Halves { len: 200, seed: 1 }, Halves { len: 100, seed: 2 });
    let data = TrainData {
        train: &train,
        test: &test,
        name: "halves".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let init = |_: &Experiment, device: &Device| Flat::new(device);
    let summary = tune_model(&exp, dir.path(), init, data, &mut Silent).unwrap();
    assert_eq!(summary.trials.len(), 3);
    let best = summary.best_run_dir.expect("a trial completed");
    assert!(best.join("summary.toml").is_file(), "{}", best.display());
}
