//! `temper tune --worker`: several processes on one study, on SQLite and on PostgreSQL.

use std::process::Command;

use crate::stderr;

/// A 6-trial random search of the MLP's learning rate, 2 short epochs per trial.
const WORKER_CONFIG: &str = r#"
[data]
limit_train = 600
[model]
kind = "mlp"
hidden = [32]
[train]
epochs = 2
batch_size = 64
device = "flex"
[tune]
trials = 6
sampler = "random"
pruner = "none"
[tune.space]
"optim.lr" = { log_uniform = [1e-4, 1e-1] }
"#;

/// `trials.csv` rows as (number, state, params) with the value and duration left out.
fn trial_rows(csv: &str) -> Vec<(u64, String, String)> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (
                cells[0].parse().unwrap(),
                cells[1].to_string(),
                cells[4..].join(","),
            )
        })
        .collect()
}

/// Three `temper tune --worker` processes on one study, one of them SIGKILLed mid-trial: the
/// study still ends with exactly `trials` trials counted, no number twice, and the dead trial
/// failed and re-run with the same parameters by a surviving worker.
fn three_workers_one_killed(storage: &str) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("t.toml"), WORKER_CONFIG).unwrap();
    let spawn = |out: &str| {
        Command::new(env!("CARGO_BIN_EXE_temper"))
            .args([
                "tune",
                "--config",
                "t.toml",
                "--storage",
                storage,
                "--worker",
            ])
            .args(["--heartbeat-timeout", "3", "--out", out])
            .current_dir(tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut victim = spawn("w0");
    // Kill w0 once it is inside its first trial's training run.
    let started = std::time::Instant::now();
    let trial_started = || {
        std::fs::read_dir(tmp.path().join("w0"))
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("trial-"))
            })
            .unwrap_or(false)
    };
    while !trial_started() {
        assert!(
            started.elapsed().as_secs() < 120,
            "w0 never started a trial"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    victim.kill().unwrap();
    victim.wait().unwrap();
    let survivors: Vec<_> = ["w1", "w2"].iter().map(|o| spawn(o)).collect();
    for child in survivors {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "stderr: {}", stderr(&out));
    }
    // Each survivor writes trials.csv for the whole study once every trial has ended.
    let rows = trial_rows(&std::fs::read_to_string(tmp.path().join("w1/trials.csv")).unwrap());
    let mut numbers: Vec<u64> = rows.iter().map(|r| r.0).collect();
    numbers.dedup();
    assert_eq!(numbers.len(), rows.len(), "a trial number twice: {rows:?}");
    let complete: Vec<_> = rows.iter().filter(|r| r.1 == "complete").collect();
    let failed: Vec<_> = rows.iter().filter(|r| r.1 == "failed").collect();
    assert_eq!((complete.len(), failed.len()), (6, 1), "{rows:?}");
    assert_eq!(failed[0].0, 0, "w0 held trial 0: {rows:?}");
    assert!(
        complete.iter().any(|r| r.2 == failed[0].2),
        "the dead trial's parameters were re-run: {rows:?}"
    );
}

#[test]
fn tune_workers_share_a_sqlite_study_and_retry_a_killed_workers_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("study.db");
    three_workers_one_killed(&format!("sqlite:{}", db.display()));
}

/// The same on PostgreSQL; `.ci/run` starts a throwaway server and sets the URL
/// (`crates/temper-tune/scripts/start-test-postgres.sh`).
#[test]
fn tune_workers_share_a_postgres_study_and_retry_a_killed_workers_trial() {
    let Ok(url) = std::env::var("TEMPER_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "TEMPER_TEST_POSTGRES is not set but CI is"
        );
        return;
    };
    // A fresh database per run: the study name is fixed by the experiment file.
    let db = format!("temper_cli_{}", std::process::id());
    let admin = Command::new("psql")
        .args(["-X", url.as_str(), "-qc", &format!("CREATE DATABASE {db}")])
        .output()
        .expect("psql runs");
    assert!(admin.status.success(), "{}", stderr(&admin));
    let (base, _) = url.rsplit_once('/').unwrap();
    three_workers_one_killed(&format!("{base}/{db}"));
}

/// A password holding `/`, `?`, `#` and `@` raw and `@`, `/` percent-encoded; nothing listens
/// on port 1, so opening the study fails.
const SECRET_URL: &str = "postgres://alice:S3cr/t?x#y@z%40w%2Fq@127.0.0.1:1/study";

/// `train`, `train --from` and `tune` (with `[tune] storage` and with `--storage`) on an
/// experiment whose storage URL holds a password: no file under the working folder other than
/// the experiment itself, and nothing on stdout or stderr, holds any piece of it.
#[test]
fn a_storage_password_reaches_no_file_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        "[data]\nlimit_train = 300\n[model]\nkind = \"mlp\"\nhidden = [16]\n\
         [train]\nepochs = 1\ndevice = \"flex\"\n[tune]\nstorage = '{SECRET_URL}'\n\
         [tune.space]\n\"optim.lr\" = {{ log_uniform = [1e-4, 1e-2] }}\n"
    );
    std::fs::write(tmp.path().join("t.toml"), &config).unwrap();
    let pieces = ["S3cr", "t?x#y", "z%40w%2Fq", "z@w/q"];
    let runs: [(&[&str], bool); 4] = [
        (&["train", "--config", "t.toml", "--out", "parent"], true),
        (&["train", "--from", "parent", "--out", "child"], true),
        (&["tune", "--config", "t.toml", "--out", "tune"], false),
        (
            &[
                "tune",
                "--config",
                "t.toml",
                "--storage",
                SECRET_URL,
                "--out",
                "flag",
            ],
            false,
        ),
    ];
    for (args, succeeds) in runs {
        let out = crate::temper(args, tmp.path());
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.success(), succeeds, "{args:?}: {text}");
        for piece in pieces {
            assert!(!text.contains(piece), "{args:?} printed {piece}: {text}");
        }
    }
    let child = std::fs::read_to_string(tmp.path().join("child/config.toml")).unwrap();
    assert!(child.contains("alice:***@127.0.0.1:1"), "{child}");
    let mut stack = vec![tmp.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().unwrap() != "t.toml" {
                let bytes = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                for piece in pieces {
                    assert!(!bytes.contains(piece), "{} holds {piece}", path.display());
                }
            }
        }
    }
    // The check can fail: the experiment itself holds the password as written.
    assert!(pieces[..3].iter().all(|p| config.contains(p)));
}
