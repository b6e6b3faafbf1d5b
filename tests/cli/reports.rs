//! What `temper train` and `temper eval` report: which weights eval scores, the confusion
//! matrix as CSV, and a test split asked for but left empty.

use std::path::Path;

use crate::{stderr, temper};

/// One epoch of the MLP on 1,000 bundled images on flex (a few seconds), into `out`.
fn train_mlp(dir: &Path, out: &str, seed: &str) {
    std::fs::write(dir.join("mlp.toml"), "[model]\nkind = \"mlp\"\n").unwrap();
    let args = [
        "train",
        "--config",
        "mlp.toml",
        "--epochs",
        "1",
        "--limit-train",
        "1000",
        "--seed",
        seed,
        "--device",
        "flex",
        "--out",
        out,
    ];
    let o = temper(&args, dir);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `test accuracy X%` as the binary prints it (train and eval alike).
fn printed_accuracy(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("test accuracy "))
        .unwrap_or_else(|| panic!("no test accuracy in {text}"));
    line.split_whitespace().nth(2).unwrap().to_string()
}

/// A run that tested its last epoch (no restore-best) whose `best.bpk` holds other weights —
/// another seed's, so that scoring the wrong file shows: eval must reproduce the run's own test
/// accuracy by default, and `--weights best` must score the other weights (whose accuracy on
/// 10,000 images differs from the run's).
#[test]
fn eval_scores_the_weights_the_run_tested_and_weights_picks_another() {
    let tmp = tempfile::tempdir().unwrap();
    train_mlp(tmp.path(), "run", "1");
    train_mlp(tmp.path(), "other", "2");
    let summary = std::fs::read_to_string(tmp.path().join("run/summary.toml")).unwrap();
    assert!(
        summary.contains("tested_weights = \"last epoch (1)\""),
        "{summary}"
    );
    std::fs::copy(
        tmp.path().join("other/checkpoints/last.bpk"),
        tmp.path().join("run/checkpoints/best.bpk"),
    )
    .unwrap();
    let eval = |args: &[&str]| {
        let o = temper(args, tmp.path());
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        (
            printed_accuracy(&o.stdout),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (tested, stdout) = eval(&["eval", "run", "--out", "tested"]);
    assert!(
        stdout
            .contains("scored `checkpoints/last.bpk` (the last epoch (1) weights the run tested)"),
        "{stdout}"
    );
    let report = std::fs::read_to_string(tmp.path().join("tested/report.md")).unwrap();
    assert!(report.contains("`checkpoints/last.bpk`"), "{report}");
    let (best, stdout) = eval(&["eval", "run", "--weights", "best", "--out", "best"]);
    assert!(stdout.contains("scored `checkpoints/best.bpk`"), "{stdout}");
    let (last, _) = eval(&["eval", "run", "--weights", "last", "--out", "last"]);
    assert_eq!(last, tested);
    // The run's own printed test accuracy is in its summary: eval reproduces it exactly.
    let accuracy: f64 = summary
        .lines()
        .skip_while(|l| *l != "[test]")
        .find_map(|l| l.strip_prefix("accuracy = "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(tested, format!("{:.2}%", accuracy * 100.0));
    assert_ne!(tested, best, "the two seeds' weights score differently");
}

#[test]
fn train_and_eval_write_the_confusion_matrix_as_csv() {
    let tmp = tempfile::tempdir().unwrap();
    train_mlp(tmp.path(), "run", "1");
    let o = temper(&["eval", "run", "--out", "eval"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    for dir in ["run", "eval"] {
        let csv = std::fs::read_to_string(tmp.path().join(dir).join("confusion.csv")).unwrap();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 11, "{dir}: {csv}");
        assert_eq!(rows[0], "true \\ predicted,0,1,2,3,4,5,6,7,8,9", "{dir}");
        // Every MNIST test image counted once: 10,000 in all.
        let total: u64 = rows[1..]
            .iter()
            .flat_map(|r| r.split(',').skip(1))
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 10_000, "{dir}");
    }
}

#[test]
fn a_mistyped_weights_value_is_a_clap_error_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let o = temper(&["eval", "run", "--weights", "mid"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("--weights") && first.contains("mid") && first.contains("best or last"),
        "{err}"
    );
}

/// Two images a class with `test_fraction = 0.2`: round(2 x 0.2) = 0 test images. The run
/// asked for a test split and would get none, so it is refused before anything is written.
#[test]
fn a_test_fraction_that_rounds_to_no_image_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    for (class, base) in [("dark", 20u8), ("light", 200u8)] {
        let dir = tmp.path().join("tiny").join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..2u32 {
            let img =
                image::GrayImage::from_fn(4, 4, |x, y| image::Luma([base + (x + y + k) as u8]));
            img.save(dir.join(format!("{k}.png"))).unwrap();
        }
    }
    std::fs::write(
        tmp.path().join("tiny.toml"),
        "[data]\nsource = \"folder:tiny\"\ntest_fraction = 0.2\nvalid_fraction = 0.0\n\
         [model]\nkind = \"mlp\"\n[train]\nepochs = 1\ndevice = \"flex\"\n",
    )
    .unwrap();
    let o = temper(
        &["train", "--config", "tiny.toml", "--out", "run"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    // The progress line "loading data: ..." comes first; the error is one line, the last.
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        err.trim().lines().last() == Some(errors[0])
            && errors[0].starts_with("error: data.test_fraction: 0.2 "),
        "{err}"
    );
    assert!(!tmp.path().join("run").exists());
}

/// A rate that explodes at the second epoch (a cyclic schedule from 0.01 to 1e30, one epoch
/// each way): the first epoch trains, the second's loss becomes NaN, so the run stops, tests
/// and reports the first epoch's weights, and exits 3 for a scheduled job to notice.
#[test]
fn a_run_that_diverges_after_its_first_epoch_exits_3_with_a_complete_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("diverge.toml"),
        "[model]\nkind = \"mlp\"\n[optim]\nkind = \"sgd\"\nlr = 0.01\n\
         [schedule]\nkind = \"cyclic\"\nbase_lr = 0.01\nmax_lr = 1e30\nstep_size_up = 1\n\
         step_size_down = 1\ninterval = \"epoch\"\n\
         [data]\nlimit_train = 500\n[train]\nepochs = 2\ndevice = \"flex\"\n",
    )
    .unwrap();
    let o = temper(
        &["train", "--config", "diverge.toml", "--out", "run"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: diverged"), "{}", stderr(&o));
    let summary = std::fs::read_to_string(tmp.path().join("run/summary.toml")).unwrap();
    assert!(summary.contains("diverged = true"), "{summary}");
    assert!(
        summary.contains("tested_weights = \"last epoch (1)\""),
        "{summary}"
    );
    assert!(tmp.path().join("run/report.md").is_file());
}
