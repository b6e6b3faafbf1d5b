//! Whole runs from the command line: resume after SIGKILL, a failing disk, bad experiment
//! values, drift monitoring, every data source and several devices.

use std::path::Path;
use std::process::Command;

use crate::{stderr, temper};

/// The 3-epoch run the resume test trains twice: the MLP on 3,000 bundled images, about a
/// second per epoch on flex.
const RESUME_CONFIG: &str = r#"
[data]
limit_train = 3000
[model]
kind = "mlp"
[train]
epochs = 3
batch_size = 32
device = "flex"
"#;

/// `metrics.csv` without its wall-time column, which differs between any two runs.
fn metrics_without_seconds(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

#[test]
fn a_run_killed_mid_epoch_and_resumed_ends_bit_identical_to_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("exp.toml");
    std::fs::write(&config, RESUME_CONFIG).unwrap();
    let (whole, killed) = (tmp.path().join("whole"), tmp.path().join("killed"));
    let out = temper(
        &["train", "--config", "exp.toml", "--out", "whole"],
        tmp.path(),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));

    // SIGKILL (what `Child::kill` sends on Unix) as soon as epoch 1's checkpoint is complete,
    // that is, early in epoch 2.
    let mut child = Command::new(env!("CARGO_BIN_EXE_temper"))
        .args(["train", "--config", "exp.toml", "--out", "killed"])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let latest = killed.join("checkpoints/resume/latest");
    let started = std::time::Instant::now();
    while !latest.exists() {
        assert!(started.elapsed().as_secs() < 300, "epoch 1 never finished");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("summary.toml").exists(),
        "the kill came too late"
    );
    assert_eq!(
        std::fs::read_to_string(&latest).unwrap().trim(),
        "epoch-0001"
    );

    let out = temper(&["train", "--resume", "killed"], tmp.path());
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    // Bit-identical: every metric of every epoch, and the test scores, to the last digit.
    assert_eq!(
        metrics_without_seconds(&killed),
        metrics_without_seconds(&whole)
    );
    // report.json: the test scores, per class, and the confusion matrix.
    let report = |run: &Path| std::fs::read_to_string(run.join("report.json")).unwrap();
    assert_eq!(report(&killed), report(&whole));

    // A finished run, a folder that is not a run, and --resume with another flag: one line each.
    let out = temper(&["train", "--resume", "killed"], tmp.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("has finished"), "{}", stderr(&out));
    let out = temper(&["train", "--resume", "."], tmp.path());
    assert!(
        stderr(&out).contains("not a temper run directory"),
        "{}",
        stderr(&out)
    );
    let out = temper(
        &["train", "--resume", "killed", "--epochs", "5"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// A full disk, simulated without privileges: the file-size limit (`ulimit -f`, 32 KiB) with
/// SIGXFSZ ignored makes every larger write fail with EFBIG, as ENOSPC would. The run stops
/// with one line naming the file, and leaves neither a half-written checkpoint nor a temp file.
#[test]
fn a_write_that_fails_mid_file_is_one_line_and_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec '{}' train --epochs 1 --limit-train 300 \
         --device flex --out run",
        env!("CARGO_BIN_EXE_temper")
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(".bpk") && last.contains("large"),
        "{err}"
    );
    let mut leftovers = Vec::new();
    let mut stack = vec![tmp.path().join("run")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "tmp" || e == "bpk") {
                leftovers.push(path);
            }
        }
    }
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Wrong types and out-of-range values in the experiment file: one line naming the key.
#[test]
fn out_of_range_and_mistyped_keys_fail_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[optim]\nlr = -0.1\n", "optim.lr"),
        ("[model]\ndropout = { p = 1.0 }\n", "model.dropout"),
        ("[early_stopping]\npatience = -1\n", "patience"),
        ("[train]\nepochs = \"ten\"\n", "epochs"),
        ("[data]\nsource = \"cifar10:\"\n", "data.source"),
        (
            "[data]\nsource = \"folder:x\"\nchannels = 2\n",
            "data.channels",
        ),
        ("[data]\nimage_size = [32, 32]\n", "data.image_size"),
    ] {
        std::fs::write(tmp.path().join("bad.toml"), text).unwrap();
        let out = temper(&["train", "--config", "bad.toml", "--out", "r"], tmp.path());
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
        assert!(
            !tmp.path().join("r").exists(),
            "{text}: the run directory was created"
        );
    }
}

/// `temper monitor`: the run's own data exits 0 with "no drift"; darkened digits (pixels
/// halved, written as IDX) exit 4 with input drift; both write monitor.json.
#[test]
fn monitor_exits_0_without_drift_and_4_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("mlp.toml"), "[model]\nkind = \"mlp\"\n").unwrap();
    let train = temper(
        &[
            "train",
            "--config",
            "mlp.toml",
            "--epochs",
            "1",
            "--limit-train",
            "1000",
            "--device",
            "flex",
            "--out",
            "run",
        ],
        tmp.path(),
    );
    assert!(train.status.success(), "{}", stderr(&train));

    let same = temper(
        &["monitor", "run", "--data", "bundled", "--out", "same"],
        tmp.path(),
    );
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let stdout = String::from_utf8_lossy(&same.stdout);
    assert_eq!(stdout.lines().next(), Some("no drift"), "{stdout}");
    assert!(tmp.path().join("same/monitor.json").exists());

    let mnist = temper_data::bundled_mnist().unwrap();
    let dark = |d: &temper_data::ImageDataset| {
        let pixels = (0..d.len())
            .flat_map(|i| d.image(i).iter().map(|p| p / 2))
            .collect();
        temper_data::ImageDataset::new(
            pixels,
            d.labels().to_vec(),
            d.image_shape(),
            d.class_names().to_vec(),
        )
    };
    let splits = temper_data::DataSplits {
        train: dark(&mnist.train),
        test: dark(&mnist.test),
    };
    temper_data::write_mnist_dir(&tmp.path().join("dark"), &splits).unwrap();
    let drift = temper(&["monitor", "run", "--data", "mnist:dark"], tmp.path());
    assert_eq!(drift.status.code(), Some(4), "{}", stderr(&drift));
    let stdout = String::from_utf8_lossy(&drift.stdout);
    assert!(stdout.starts_with("drift in inputs"), "{stdout}");
    let json = std::fs::read_to_string(tmp.path().join("run/monitor-1/monitor.json")).unwrap();
    assert!(json.contains("\"drift\": true"), "{json}");
    // The monitor folder's page leads with the verdict and links back to the run's page,
    // which now links to it.
    let md = std::fs::read_to_string(tmp.path().join("run/monitor-1/report.md")).unwrap();
    assert!(md.contains("**Verdict: drift in inputs"), "{md}");
    let page = std::fs::read_to_string(tmp.path().join("run/monitor-1/report.html")).unwrap();
    assert!(page.contains("href=\"../report.html\""));
    let run_page = std::fs::read_to_string(tmp.path().join("run/report.html")).unwrap();
    assert!(run_page.contains("href=\"monitor-1/report.html\""));

    let bad = temper(
        &["monitor", "run", "--data", "bundled", "--ks-p", "2"],
        tmp.path(),
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--ks-p"), "{}", stderr(&bad));
}

/// Every kind of data source trains end to end from the command line, and `--devices` splits
/// the batches: an ImageFolder tree of PNGs (two classes, dark and light squares, 12x12 gray),
/// CIFAR-10 binary batches written here (labels by brightness), and the bundled MNIST on two
/// flex devices.
#[test]
fn folder_cifar_and_two_devices_train_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("mlp.toml"),
        "[model]\nkind = \"mlp\"\nhidden = [16]\n[train]\nepochs = 2\nbatch_size = 8\n",
    )
    .unwrap();
    write_shapes_folder(&tmp.path().join("shapes"));
    let out = temper(
        &[
            "train",
            "--config",
            "mlp.toml",
            "--data",
            "folder:shapes",
            "--device",
            "flex",
            "--out",
            "f",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let report = std::fs::read_to_string(tmp.path().join("f/report.json")).unwrap();
    assert!(
        report.contains("\"dark\"") && report.contains("\"light\""),
        "{report}"
    );

    write_cifar_batches(&tmp.path().join("cifar"));
    let out = temper(
        &[
            "train",
            "--config",
            "mlp.toml",
            "--data",
            "cifar10:cifar",
            "--device",
            "flex",
            "--out",
            "c",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let summary = std::fs::read_to_string(tmp.path().join("c/summary.toml")).unwrap();
    assert!(summary.contains("train_images = 54"), "{summary}");
    let report = std::fs::read_to_string(tmp.path().join("c/report.json")).unwrap();
    assert!(
        report.contains("\"airplane\"") && report.contains("\"automobile\""),
        "{report}"
    );

    let out = temper(
        &[
            "train",
            "--config",
            "mlp.toml",
            "--epochs",
            "1",
            "--limit-train",
            "600",
            "--devices",
            "flex,flex",
            "--out",
            "d",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let summary = std::fs::read_to_string(tmp.path().join("d/summary.toml")).unwrap();
    assert!(summary.contains("data parallel on 2 devices"), "{summary}");
    let out = temper(&["train", "--devices", "wgpu:7", "--out", "e"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("train.devices: \"wgpu:7\""),
        "{}",
        stderr(&out)
    );
}

/// An ImageFolder tree `dir/{dark,light}/NN.png`: 30 gray 12x12 images a class, pixel
/// (x + 3y + k) mod 40 on a base of 20 or 200.
fn write_shapes_folder(dir: &Path) {
    for (class, base) in [("dark", 20u8), ("light", 200u8)] {
        let dir = dir.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..30u32 {
            let img = image::GrayImage::from_fn(12, 12, |x, y| {
                image::Luma([base + ((x + 3 * y + k) % 40) as u8])
            });
            img.save(dir.join(format!("{k:02}.png"))).unwrap();
        }
    }
}

/// CIFAR-10 binary batches in `dir`, 12 records a file: label 0 dark, 1 light, the rest of
/// the classes unused; pixel planes R, G, B of 32x32.
pub(crate) fn write_cifar_batches(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let batch = |seed: u8| {
        let mut bytes = Vec::new();
        for k in 0..12u8 {
            let label = k % 2;
            bytes.push(label);
            let base = if label == 0 { 10u8 } else { 180 };
            bytes.extend((0..3072u32).map(|i| base + ((i as u8).wrapping_add(seed) % 50)));
        }
        bytes
    };
    for b in 1..=5u8 {
        std::fs::write(dir.join(format!("data_batch_{b}.bin")), batch(b)).unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), batch(9)).unwrap();
}

/// A run directory another process holds is refused by `--resume` in one line; `eval` and
/// `monitor` refuse a non-empty `--out`, and a mistyped run directory creates nothing. Each
/// refusal comes before any data is loaded, so the binary exits at once.
#[test]
fn a_busy_run_directory_and_a_full_report_directory_are_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("config.toml"), "[train]\nepochs = 1\n").unwrap();
    // Only its presence is checked before the refusals below.
    std::fs::create_dir(run.join("checkpoints")).unwrap();
    std::fs::write(run.join("checkpoints/last.bpk"), "not read").unwrap();
    let lock = std::fs::File::create(run.join(".lock")).unwrap();
    lock.try_lock().unwrap();
    let one_line_error = |args: &[&str]| {
        let out = temper(args, tmp.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        err
    };
    let err = one_line_error(&["train", "--resume", "run"]);
    assert!(
        err.contains("run directory run is in use by another temper process"),
        "{err}"
    );
    drop(lock);

    std::fs::create_dir(tmp.path().join("full")).unwrap();
    std::fs::write(tmp.path().join("full/notes.txt"), "mine").unwrap();
    for args in [
        &["eval", "run", "--out", "full"][..],
        &["monitor", "run", "--data", "bundled", "--out", "full"][..],
    ] {
        let err = one_line_error(args);
        assert!(
            err.contains("--out full") && err.contains("not empty"),
            "{err}"
        );
    }
    let err = one_line_error(&["eval", "typo"]);
    assert!(err.contains("not a temper run directory"), "{err}");
    assert!(!tmp.path().join("typo").exists());
    let mut left: Vec<_> = std::fs::read_dir(tmp.path().join("full"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    left.sort();
    assert_eq!(left, vec![std::ffi::OsString::from("notes.txt")]);
}
