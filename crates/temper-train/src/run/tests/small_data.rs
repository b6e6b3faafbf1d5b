//! Data sets too small for a split the run needs, and what the run then reports: no
//! validation image under a watched validation metric, no test image, and the learning rate
//! each epoch records.

use super::custom::{Flat, Halves, experiment};
use super::training::SEEDED;
use crate::score::report::LR_CHART_TITLE;
use crate::{Experiment, Silent, TrainData, TrainError, train_model};

#[test]
fn early_stopping_on_a_validation_metric_without_validation_images_is_refused_before_writing() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = experiment();
    exp.early_stopping.as_mut().unwrap().monitor = "valid_loss".into();
    // 0.1 of 4 images rounds to no validation image.
    exp.data.valid_fraction = 0.1;
    let (train, test) = (Halves { len: 4, seed: 1 }, Halves { len: 4, seed: 2 });
    let data = TrainData {
        train: &train,
        test: &test,
        name: "halves".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let err = train_model(&exp, Flat::new, data, &run, &mut Silent).unwrap_err();
    assert!(matches!(err, TrainError::Config(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("early_stopping.monitor: valid_loss needs validation images"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!run.exists(), "nothing is written");
}

#[test]
fn a_run_without_test_images_says_so_and_writes_no_zero_scores() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = experiment();
    exp.train.epochs = 1;
    let (train, test) = (Halves { len: 64, seed: 1 }, Halves { len: 0, seed: 2 });
    let data = TrainData {
        train: &train,
        test: &test,
        name: "halves".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut said = Vec::new();
    let summary = train_model(&exp, Flat::new, data, &run, &mut Said(&mut said)).unwrap();
    assert_eq!(summary.test_images, 0);
    assert_eq!(summary.test_scores(), None);
    assert!(
        summary
            .tested_weights
            .ends_with("not tested: no test split"),
        "{}",
        summary.tested_weights
    );
    assert!(
        said.iter().any(|m| m.starts_with("no test split")),
        "{said:?}"
    );
    for file in ["report.md", "report.json", "confusion.png", "confusion.csv"] {
        assert!(!run.join(file).exists(), "{file} written without a test");
    }
    let toml = std::fs::read_to_string(run.join("summary.toml")).unwrap();
    assert!(!toml.contains("[test]"), "{toml}");
    assert!(toml.contains("no test split"), "{toml}");
    assert!(run.join("metrics.csv").is_file() && run.join("lr.png").is_file());
}

#[test]
fn each_epochs_learning_rate_is_its_last_steps_as_the_chart_title_says() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    // Cosine by step from 0.01 over 2 epochs of 3 steps (48 training images, batch 16):
    // step t runs at 0.005 (1 + cos(pi t / 6)), so an epoch's first step (t = 0, 3) and its
    // last (t = 2, 5) differ.
    let mut exp = Experiment::from_toml_str(
        "[train]\nepochs = 2\nbatch_size = 16\ndevice = 'flex'\n\
         [optim]\nkind = 'adam'\nlr = 0.01\n\
         [schedule]\nkind = 'cosine'\ninterval = 'step'",
        "test",
    )
    .unwrap();
    exp.data.valid_fraction = 0.25;
    let (train, test) = (Halves { len: 64, seed: 1 }, Halves { len: 8, seed: 2 });
    let data = TrainData {
        train: &train,
        test: &test,
        name: "halves".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = train_model(&exp, Flat::new, data, &dir.path().join("run"), &mut Silent).unwrap();
    let lrs: Vec<f64> = summary.epochs.iter().map(|m| m.lr).collect();
    let at = |t: f64| 0.005 * (1.0 + (std::f64::consts::PI * t / 6.0).cos());
    let last_steps = [at(2.0), at(5.0)];
    assert!(
        lrs.iter()
            .zip(last_steps)
            .all(|(lr, want)| (lr - want).abs() < 1e-9),
        "{lrs:?}, last steps {last_steps:?}"
    );
    assert!(LR_CHART_TITLE.contains("last step"), "{LR_CHART_TITLE}");
}

/// Progress that keeps every message.
pub(super) struct Said<'a>(pub(super) &'a mut Vec<String>);

impl crate::Progress for Said<'_> {
    fn message(&mut self, text: &str) {
        self.0.push(text.to_string());
    }
}
