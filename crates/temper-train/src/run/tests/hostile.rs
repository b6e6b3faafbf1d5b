//! Run directories under attack: a second writer, a kill between any two writes, a name that
//! is not UTF-8, a report aimed at a full directory, and files tampered with after the run
//! wrote them. Each case ends in the documented behaviour or one line naming the file and
//! key — never a panic, never a half-written file.
//!
//! The runs are the MLP on a few hundred bundled MNIST digits for one or two epochs, tested on
//! 100 images, through `train_model` (`temper train`'s own path) so no test loads more.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor};
use temper_data::{ImageDataset, bundled_mnist};
use temper_model::{Classifier, MlpConfig};

use super::training::{CrashAt, SEEDED};
use crate::run::finetune::{FinetuneSection, Parent, check_channels, read_normalization};
use crate::run::lock::RunLock;
use crate::run::run_dir::CRASH_AFTER;
use crate::{
    Experiment, Progress, RunSummary, Silent, TrainData, TrainError, check_drift, eval_run, resume,
    resume_model, train_model,
};

/// 300 training and 100 test digits of the bundled MNIST, decompressed once.
fn digits() -> &'static (ImageDataset, ImageDataset) {
    static DIGITS: OnceLock<(ImageDataset, ImageDataset)> = OnceLock::new();
    DIGITS.get_or_init(|| {
        let mnist = bundled_mnist().unwrap();
        let first = |n: usize| (0..n).collect::<Vec<_>>();
        (
            mnist.train.subset(&first(300)),
            mnist.test.subset(&first(100)),
        )
    })
}

fn experiment(epochs: usize) -> Experiment {
    let text = format!(
        "[model]\nkind = 'mlp'\n[train]\nepochs = {epochs}\nbatch_size = 32\ndevice = 'flex'\n"
    );
    Experiment::from_toml_str(&text, "test").unwrap()
}

fn mlp(device: &Device) -> Classifier {
    MlpConfig::new().init(device).into()
}

fn data<'a>(train: &'a ImageDataset, test: &'a ImageDataset) -> TrainData<'a> {
    TrainData {
        train,
        test,
        name: "digits".into(),
    }
}

fn train_small(
    exp: &Experiment,
    dir: &Path,
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    let (train, test) = digits();
    train_model(exp, mlp, data(train, test), dir, progress)
}

fn resume_small(dir: &Path) -> Result<RunSummary, TrainError> {
    let (train, test) = digits();
    resume_model(dir, mlp, data(train, test), &mut Silent)
}

/// A run of `epochs` killed (a panic, which unwinds like nothing for the files) at the start
/// of its last epoch: a complete resume set of the epoch before.
fn killed_run(dir: &Path, epochs: usize) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train_small(&experiment(epochs), dir, &mut CrashAt(epochs))
    }));
    assert!(result.is_err(), "the simulated kill happened");
}

/// Every float parameter of the MLP checkpoint at `path`, in visiting order (the bytes of a
/// checkpoint also hold parameter ids, which differ between two equal runs).
fn weights(path: &Path) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .push(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let record = ModuleRecord::load(path).unwrap();
    let model = mlp(&Device::flex()).try_load_record(record).unwrap();
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// The error's text, checked to be one line.
fn one_line<T>(result: Result<T, TrainError>) -> String {
    let Err(e) = result else {
        panic!("expected an error")
    };
    let text = e.to_string();
    assert!(!text.contains('\n'), "more than one line: {text}");
    text
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_resume_of_a_run_another_process_holds_is_refused_and_a_dead_holders_lock_is_not() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    killed_run(&run, 2);
    // The kill released the lock with the process's file handles; its file stays.
    assert!(run.join(".lock").is_file());

    let held = RunLock::acquire(&run).unwrap();
    let before = files(&run);
    let err = one_line(resume_small(&run));
    assert_eq!(
        err,
        format!(
            "run directory {} is in use by another temper process",
            run.display()
        )
    );
    // A new run into the same directory is refused the same way, before any set-up.
    let err = one_line(train_small(&experiment(1), &run, &mut Silent));
    assert!(err.contains("is in use by another temper process"), "{err}");
    assert_eq!(files(&run), before, "a refused run wrote something");

    drop(held);
    let resumed = resume_small(&run).unwrap();
    assert_eq!((resumed.epochs_run, resumed.epochs_this_process), (2, 1));

    // A directory holding nothing but a dead run's lock file is empty for a new run.
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    drop(RunLock::acquire(&fresh).unwrap());
    train_small(&experiment(1), &fresh, &mut Silent).unwrap();
}

/// The run killed after each durable step of its writes in turn — every temporary complete,
/// every rename, every removal — then resumed: it either refuses clearly (killed before its
/// `config.toml` existed, or after its `summary.toml` did) or ends exactly as the run that
/// was never killed, leaving no temporary and no stale resume set.
#[test]
fn a_kill_between_any_two_writes_resumes_to_the_uninterrupted_run_or_refuses_clearly() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(2);
    let whole_dir = tmp.path().join("whole");
    let whole = train_small(&exp, &whole_dir, &mut Silent).unwrap();
    let strip = |s: &RunSummary| {
        let rows = s.epochs.iter().map(|m| (m.epoch, m.train, m.valid, m.lr));
        (rows.collect::<Vec<_>>(), s.test, s.best_epoch)
    };
    let metrics = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let rows = text
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string());
        rows.collect::<Vec<_>>()
    };
    let mut resumed_runs = 0;
    for k in 0.. {
        let dir = tmp.path().join(format!("killed-{k}"));
        CRASH_AFTER.with(|c| c.set(Some(k)));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train_small(&exp, &dir, &mut Silent)
        }));
        let armed = CRASH_AFTER.with(|c| c.replace(None));
        if armed.is_some() {
            // Fewer durable steps than k: the run ended untouched.
            result.unwrap().unwrap();
            break;
        }
        assert!(result.is_err(), "kill {k}: the simulated kill happened");
        if !dir.join("config.toml").exists() {
            let err = one_line(resume_small(&dir));
            assert!(
                err.contains("not a temper run directory"),
                "kill {k}: {err}"
            );
            continue;
        }
        if dir.join("summary.toml").exists() {
            let err = one_line(resume_small(&dir));
            assert!(err.contains("has finished"), "kill {k}: {err}");
            continue;
        }
        let resumed = resume_small(&dir).unwrap_or_else(|e| panic!("kill {k}: {e}"));
        resumed_runs += 1;
        assert_eq!(strip(&resumed), strip(&whole), "kill {k}");
        assert_eq!(metrics(&dir), metrics(&whole_dir), "kill {k}");
        for file in ["checkpoints/best.bpk", "checkpoints/last.bpk"] {
            let same = weights(&dir.join(file)) == weights(&whole_dir.join(file));
            assert!(same, "kill {k}: {file}");
        }
        let left = files(&dir);
        let stray: Vec<_> = left
            .iter()
            .filter(|p| p.to_string_lossy().contains(".tmp"))
            .collect();
        assert!(stray.is_empty(), "kill {k}: {stray:?}");
        let sets = std::fs::read_dir(dir.join("checkpoints/resume")).unwrap();
        let sets = sets.flatten().filter(|e| e.path().is_dir()).count();
        assert_eq!(sets, 1, "kill {k}: {left:?}");
    }
    // Two epochs' ends have well over 20 durable steps between them.
    assert!(resumed_runs > 20, "only {resumed_runs} kills were resumed");
}

#[cfg(unix)]
#[test]
fn a_run_directory_whose_name_is_not_utf8_trains_and_resumes() {
    use std::os::unix::ffi::OsStrExt;
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join(std::ffi::OsStr::from_bytes(b"run-\xff"));
    killed_run(&run, 2);
    let summary = resume_small(&run).unwrap();
    assert_eq!(summary.run_dir, run);
    let text = std::fs::read_to_string(run.join("summary.toml")).unwrap();
    assert!(text.contains("run-\u{FFFD}"), "{text}");
    assert!(run.join("loss.png").is_file() && run.join("report.md").is_file());

    // The parent of a fine-tuning run is saved in its config.toml: refused up front.
    let section = FinetuneSection {
        from: run.clone(),
        ..Default::default()
    };
    let err = one_line(section.validate());
    assert!(
        err.starts_with("finetune.from:") && err.contains("UTF-8"),
        "{err}"
    );
}

#[test]
fn eval_and_monitor_into_a_non_empty_out_are_refused_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("mine.txt"), "keep").unwrap();
    // A run directory as far as opening it goes: the refusal comes before its weights or data
    // are read.
    let run = tmp.path().join("run");
    std::fs::create_dir_all(run.join("checkpoints")).unwrap();
    let config = experiment(1).resolved().unwrap().to_toml_string();
    std::fs::write(run.join("config.toml"), config).unwrap();
    std::fs::write(run.join("checkpoints/last.bpk"), "not read").unwrap();
    let err = one_line(eval_run(&run, None, None, &out, &mut Silent));
    assert!(err.contains("--out") && err.contains("not empty"), "{err}");
    let thresholds = Default::default();
    let err = one_line(check_drift(
        &run,
        "bundled",
        None,
        None,
        &thresholds,
        &out,
        &mut Silent,
    ));
    assert!(err.contains("--out") && err.contains("not empty"), "{err}");
    assert_eq!(files(&out), vec![PathBuf::from("mine.txt")]);
}

/// A finished run's `summary.toml` with its normalization replaced by `mean` and `std`.
fn tampered_summary(dir: &Path, mean: &str, std: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let text = format!("epochs_run = 1\nnormalization_mean = {mean}\nnormalization_std = {std}\n");
    std::fs::write(dir.join("summary.toml"), text).unwrap();
}

#[test]
fn a_tampered_normalization_is_refused_naming_summary_toml_and_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (mean, std, key) in [
        ("[0.13]", "[0.0]", "normalization_std"),
        ("[0.13]", "[-0.3]", "normalization_std"),
        ("[0.13]", "[1e-45]", "normalization_std"),
        ("[0.13]", "[nan]", "normalization_std"),
        ("[inf]", "[0.3]", "normalization_mean"),
        ("[]", "[]", "normalization_mean"),
        ("[0.1, 0.2]", "[0.3]", "normalization_std"),
        ("'x'", "[0.3]", "normalization_mean"),
    ] {
        tampered_summary(dir, mean, std);
        let err = one_line(read_normalization(dir));
        assert!(
            err.contains("summary.toml") && err.contains(key),
            "{mean} {std}: {err}"
        );
    }
    tampered_summary(dir, "[0.1307]", "[0.3081]");
    let good = read_normalization(dir).unwrap().unwrap();
    assert_eq!((good.mean[0], good.std[0]), (0.1307, 0.3081));
    // Three channels of data against the one the run was trained on.
    let err = one_line(check_channels(&good, 3, dir));
    assert!(
        err.contains("summary.toml") && err.contains("normalization_mean"),
        "{err}"
    );

    // A fine-tuning parent is read through the same check, before its weights.
    let exp = experiment(1);
    std::fs::write(
        dir.join("config.toml"),
        exp.resolved().unwrap().to_toml_string(),
    )
    .unwrap();
    tampered_summary(dir, "[0.13]", "[0.0]");
    let section = FinetuneSection {
        from: dir.to_path_buf(),
        ..Default::default()
    };
    let err = one_line(Parent::open(&section).map(|_| ()));
    assert!(err.contains("normalization_std"), "{err}");
}

#[test]
fn a_tampered_config_toml_is_refused_naming_the_file_and_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    for (text, key) in [
        ("[data]\nsource = 'nowhere:x'\n", "data.source"),
        ("[train]\nepochs = 0\n", "train.epochs"),
        ("[data]\nvalid_fraction = 7.0\n", "valid_fraction"),
    ] {
        std::fs::write(run.join("config.toml"), text).unwrap();
        let err = one_line(resume(&run, &mut Silent));
        assert!(err.contains("config.toml") && err.contains(key), "{err}");
        let err = one_line(eval_run(
            &run,
            None,
            None,
            &tmp.path().join("e"),
            &mut Silent,
        ));
        assert!(err.contains("config.toml") && err.contains(key), "{err}");
    }
    assert!(!tmp.path().join("e").exists());
}

/// A change to a parsed `state.json`.
type Edit = fn(&mut serde_json::Value);

/// `state.json` of the run's resume set, edited by `edit`.
fn tamper_state(run: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = run.join("checkpoints/resume/epoch-0001/state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut state);
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
}

#[test]
fn a_tampered_resume_state_is_refused_naming_state_json_and_the_key() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    killed_run(&pristine, 2);
    let cases: [(&str, Edit); 6] = [
        ("epoch", |s| s["epoch"] = 7.into()),
        ("epoch", |s| s["epoch"] = 0.into()),
        ("history", |s| s["history"] = serde_json::json!([])),
        ("history[0].train", |s| {
            s["history"][0]["train"]["accuracy"] = 3.5.into()
        }),
        ("early_stopping.best.epoch", |s| {
            s["early_stopping"]["best"]["epoch"] = 99.into()
        }),
        ("hypergradient_lr", |s| {
            s["hypergradient_lr"] = serde_json::json!([-1.0, 0.1])
        }),
    ];
    for (i, (key, edit)) in cases.into_iter().enumerate() {
        let run = tmp.path().join(format!("run-{i}"));
        copy_dir(&pristine, &run);
        tamper_state(&run, edit);
        let err = one_line(resume_small(&run));
        assert!(
            err.contains("state.json") && err.contains(&format!("{key}:")),
            "{key}: {err}"
        );
        assert!(!run.join("summary.toml").exists());
    }
    // A config.toml asking for fewer epochs than the state has completed.
    let run = tmp.path().join("shrunk");
    killed_run(&run, 3);
    let config = run.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("epochs = 3"), "{text}");
    std::fs::write(&config, text.replace("epochs = 3", "epochs = 1")).unwrap();
    let err = one_line(resume_small(&run));
    assert!(
        err.contains("epoch: 2 completed") && err.contains("train.epochs = 1"),
        "{err}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for file in files(from) {
        let target = to.join(&file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&file), target).unwrap();
    }
}
