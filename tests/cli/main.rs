//! End-to-end tests of the `temper` binary: what a user types, what they get back.

mod bounded;
mod compress;
mod env;
mod html;
mod pretrained;
mod reports;
mod runs;
mod stream;
mod tune;

use std::path::Path;
use std::process::{Command, Output};

pub(crate) fn temper(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_temper"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run temper")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn train_one_epoch_writes_the_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = temper(
        &[
            "train",
            "--epochs",
            "1",
            "--limit-train",
            "1000",
            "--device",
            "flex",
            "--out",
            run.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("test accuracy"), "{stdout}");

    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("epochs = 1"), "{config}");
    assert!(config.contains("limit_train = 1000"), "{config}");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,train_loss,train_accuracy,train_precision,train_recall,train_f1,\
         valid_loss,valid_accuracy,valid_precision,valid_recall,valid_f1,lr,seconds"
    );
    assert_eq!(lines.len(), 2, "{metrics}");
    assert!(lines[1].starts_with("1,"));
    for f in [
        "checkpoints/best.bpk",
        "checkpoints/last.bpk",
        "checkpoints/resume/latest",
        "checkpoints/resume/epoch-0001/optimizer.bpk",
        "summary.toml",
    ] {
        let len = std::fs::metadata(run.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} missing or empty");
    }
    // 900 training images of the CNN for one epoch (8 steps of 128): well above chance (10%).
    // Seeds 0 to 3 gave 55-66% on the 10,000 test images; 30% is three times chance and far
    // below any of them, so a failure means the run did not learn, not an unlucky seed.
    let summary = std::fs::read_to_string(run.join("summary.toml")).unwrap();
    assert!(summary.contains("[test]"), "{summary}");
    let accuracy: f64 = summary
        .lines()
        .skip_while(|l| *l != "[test]")
        .find_map(|l| l.strip_prefix("accuracy = "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no test accuracy in {summary}"));
    assert!(accuracy > 0.30, "test accuracy {accuracy}");
}

#[test]
fn unknown_device_fails_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let out = temper(&["train", "--device", "nonsense"], tmp.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--device") && err.contains("nonsense"),
        "{err}"
    );
    assert!(
        !tmp.path().join("runs").exists(),
        "no run directory on a bad flag"
    );
}

#[test]
fn unknown_toml_key_fails_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("exp.toml");
    std::fs::write(&cfg, "[train]\nepochs = 1\nlearning_rate = 0.1\n").unwrap();
    let out = temper(&["train", "--config", cfg.to_str().unwrap()], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("exp.toml:3: [train] unknown field `learning_rate`"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!tmp.path().join("runs").exists());
}

#[test]
fn existing_run_directory_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("old");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("metrics.csv"), "precious").unwrap();
    let out = temper(
        &[
            "train",
            "--device",
            "flex",
            "--limit-train",
            "100",
            "--out",
            run.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.csv")).unwrap(),
        "precious"
    );
}

#[test]
fn missing_mnist_dir_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = temper(
        &[
            "train",
            "--device",
            "flex",
            "--data",
            "mnist:nowhere",
            "--out",
            "r",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("train-images-idx3-ubyte"), "{err}");
    assert!(
        !tmp.path().join("r").exists(),
        "no run directory when data fails"
    );
}

#[test]
fn schedule_plot_writes_png_and_csv_and_bad_schedules_fail_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("exp.toml");
    std::fs::write(
        &config,
        "[schedule]\nkind = 'one-cycle'\ninterval = 'step'\n[train]\nepochs = 3\n",
    )
    .unwrap();
    let out = temper(
        &[
            "schedule",
            "plot",
            "--config",
            "exp.toml",
            "--limit-train",
            "1000",
            "--out",
            "lr.png",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let csv = std::fs::read_to_string(tmp.path().join("lr.csv")).unwrap();
    // 900 training images / 128 -> 8 steps per epoch, 3 epochs: 24 rows after the header.
    assert_eq!(csv.lines().count(), 25, "{csv}");
    // One-cycle starts at max_lr / div_factor = 1e-3 / 25 (PyTorch OneCycleLR).
    let first: f64 = csv
        .lines()
        .nth(1)
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((first - 4e-5).abs() < 1e-15, "{csv}");
    assert!(tmp.path().join("lr.png").exists());

    std::fs::write(&config, "[schedule]\nkind = 'cosine'\ngamma = 0.5\n").unwrap();
    let out = temper(&["schedule", "plot", "--config", "exp.toml"], tmp.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(
        err.trim(),
        "error: exp.toml:1: schedule.gamma: is not a parameter of kind = \"cosine\" (it takes \
         `min_lr`, `t_max`)"
    );
}

#[test]
fn tune_without_a_space_and_audio_with_a_bad_op_fail_naming_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let out = temper(&["tune", "--out", "t"], tmp.path());
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("error: tune.space: empty"),
        "{}",
        stderr(&out)
    );

    std::fs::write(tmp.path().join("x.wav"), b"not a wav").unwrap();
    let out = temper(
        &[
            "augment", "audio", "--in", "x.wav", "--out", "y.wav", "--op", "pitch:+2",
        ],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("x.wav: not a readable WAV file"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("y.wav").exists(), "no output on failure");
}

/// Every example experiment shipped in `assets/examples/` parses and passes validation, so
/// the README's commands that use them do not fail on a renamed or tightened key.
#[test]
fn every_example_experiment_loads_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let exp = temper_train::Experiment::load(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            exp.validate()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked} examples in {}", dir.display());
}
