//! Lean models in a run: gradual pruning's exact sparsity through resume, SWA's rates and
//! resume, and distillation's wiring.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use temper_compress::magnitude::prune_count;
use temper_model::Classifier;

use super::training::{CrashAt, SEEDED};
use crate::run::run_dir::{BEST_MODEL, LAST_MODEL, load_weights};
use crate::{DeviceChoice, Experiment, ModelKind, RunSummary, Silent, train};

fn mlp(epochs: usize) -> Experiment {
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.model.hidden = Some(vec![64]);
    exp.data.limit_train = 1200;
    exp.train.epochs = epochs;
    exp.train.batch_size = 64;
    exp.train.device = DeviceChoice::Flex;
    exp
}

/// `(elements, zeros)` of every tensor of rank 2 or more, in visit order.
#[derive(Default)]
struct Zeros(Vec<(usize, usize)>);

impl ModuleVisitor for Zeros {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D >= 2 {
            let v = param.val().into_data().convert::<f32>();
            let v = v.try_into_vec::<f32>().unwrap();
            self.0
                .push((v.len(), v.iter().filter(|x| **x == 0.0).count()));
        }
    }
}

/// The zeros of each weight tensor of a run's checkpoint `file`.
fn zeros(exp: &Experiment, run: &std::path::Path, file: &str) -> Vec<(usize, usize)> {
    let record = load_weights(&run.join(file)).unwrap();
    let plan = exp.model.plan([1, 28, 28], 10).unwrap();
    let model: Classifier = plan.init(&Device::flex()).load_record(record);
    let mut zeros = Zeros::default();
    model.visit(&mut zeros);
    zeros.0
}

fn epochs(s: &RunSummary) -> Vec<(usize, f64, f64)> {
    s.epochs
        .iter()
        .map(|m| (m.epoch, m.train.loss, m.lr))
        .collect()
}

/// Crashes `exp` at the start of epoch `at`, resumes it, and checks the resumed run equals
/// `whole` epoch by epoch and on the test split.
fn resumed_equals(exp: &Experiment, whole: &RunSummary, at: usize, dir: &std::path::Path) {
    let crashed = dir.join("crashed");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(exp, &crashed, &mut CrashAt(at))
    }));
    assert!(result.is_err(), "the simulated crash happened");
    let resumed = crate::resume(&crashed, &mut Silent).unwrap();
    assert_eq!(epochs(&resumed), epochs(whole));
    assert_eq!(resumed.test, whole.test);
}

/// 17 steps an epoch (1,080 training images in batches of 64); the ramp reaches 80% at step
/// 40, in epoch 3, pruning every 10 steps; the masks then hold through epoch 4 and a resume.
#[test]
fn gradual_pruning_ends_at_exactly_its_sparsity_and_resumes_with_the_same_masks() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = mlp(4);
    exp.prune = Some(
        toml::from_str("sparsity = 0.8\nbegin_step = 0\nend_step = 40\nfrequency = 10").unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("whole");
    let whole = train(&exp, &run, &mut Silent).unwrap();
    // 784·64 and 64·10 weights: round(0.8 n) zeros each; the biases are not covered.
    for file in [LAST_MODEL, BEST_MODEL] {
        assert_eq!(
            zeros(&exp, &run, file),
            [
                (50_176, prune_count(50_176, 0.8)),
                (640, prune_count(640, 0.8))
            ],
            "{file}"
        );
    }
    assert!(whole.test.accuracy > 0.75, "{}", whole.test.accuracy);
    resumed_equals(&exp, &whole, 4, dir.path());
    assert_eq!(
        zeros(&exp, &dir.path().join("crashed"), LAST_MODEL),
        zeros(&exp, &run, LAST_MODEL)
    );
}

/// A small ResNet (BatchNorm) under SGD at a constant 0.05: SWA from epoch 3, annealing in one epoch to
/// 0.01. SWALR's closed form with `anneal_epochs = 1`: epoch 3 trains at the run's rate,
/// epoch 4 at `swa_lr`. A crash in epoch 4 resumes the average and its rate exactly.
#[test]
fn swa_trains_at_swalrs_rates_and_resumes_its_average_exactly() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = mlp(4);
    exp.model.kind = ModelKind::ResNet;
    exp.model.hidden = None;
    exp.model.channels = Some(vec![8, 16]);
    exp.model.blocks = Some(1);
    exp.data.limit_train = 600;
    exp.schedule = toml::from_str("kind = 'constant'").unwrap();
    exp.optim = toml::from_str(
        "kind = 'sgd'\nlr = 0.05\nmomentum = 0.9\nswa = { start_epoch = 3, lr = 0.01, \
         anneal_epochs = 1 }",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let whole = train(&exp, &dir.path().join("whole"), &mut Silent).unwrap();
    let rates: Vec<f64> = whole.epochs.iter().map(|m| m.lr).collect();
    assert_eq!(rates, [0.05, 0.05, 0.05, 0.01]);
    resumed_equals(&exp, &whole, 4, dir.path());
}

/// `alpha = 0` leaves only the cross-entropy: the run is bit for bit the run without a
/// teacher, which shows the teacher's path changes nothing else; `alpha = 0.9` trains on the
/// teacher and differs.
#[test]
fn distillation_with_alpha_zero_is_the_plain_run_and_with_alpha_it_is_not() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let teacher = dir.path().join("teacher");
    train(&mlp(3), &teacher, &mut Silent).unwrap();
    let mut student = mlp(2);
    student.model.hidden = Some(vec![16]);
    let plain = train(&student, &dir.path().join("plain"), &mut Silent).unwrap();
    let distilled = |alpha: f64, name: &str| {
        let mut exp = student.clone();
        exp.distill = Some(
            toml::from_str(&format!(
                "teacher = {:?}\nalpha = {alpha}",
                teacher.display()
            ))
            .unwrap(),
        );
        train(&exp, &dir.path().join(name), &mut Silent).unwrap()
    };
    let zero = distilled(0.0, "alpha0");
    assert_eq!(epochs(&zero), epochs(&plain));
    assert_eq!(zero.test, plain.test);
    let soft = distilled(0.9, "alpha09");
    assert_ne!(epochs(&soft), epochs(&plain));
    // It learns (chance is 0.1); 34 steps mostly spent matching a 3-epoch teacher at T = 4.
    assert!(soft.test.accuracy > 0.5, "{}", soft.test.accuracy);
}

#[test]
fn a_teacher_that_is_not_a_finished_run_is_refused_before_the_run_directory_exists() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = mlp(1);
    exp.data.limit_train = 200;
    exp.distill = Some(toml::from_str("teacher = '/nonexistent/teacher'").unwrap());
    let run = dir.path().join("run");
    let err = train(&exp, &run, &mut Silent).unwrap_err().to_string();
    assert!(
        err.starts_with("distill.teacher: /nonexistent/teacher:")
            && err.contains("not a temper run"),
        "{err}"
    );
    assert!(!run.exists());
}

#[test]
fn compression_sections_that_cannot_run_together_are_refused_by_name() {
    let cases = [
        ("[prune]\nkind = 'channels'\n", "prune.kind"),
        (
            "[distill]\nteacher = 't'\n[train]\ndevices = ['flex', 'flex']\n",
            "distill:",
        ),
        (
            "[optim]\nema = {}\nswa = { start_epoch = 1, lr = 0.1 }\n",
            "optim.swa",
        ),
        (
            "[optim]\nswa = { start_epoch = 5, lr = 0.1 }\n",
            "optim.swa.start_epoch",
        ),
        (
            "[distill]\nteacher = 't'\ntemperature = 0\n",
            "distill.temperature",
        ),
        ("[prune]\nsparsity = 1.5\n", "prune.sparsity"),
    ];
    for (text, key) in cases {
        let exp = Experiment::from_toml_str(text, "test.toml").unwrap();
        let err = exp.validate().unwrap_err().to_string();
        assert!(err.starts_with(key), "{text}: {err}");
    }
}
