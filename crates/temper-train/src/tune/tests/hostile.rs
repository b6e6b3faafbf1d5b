//! A search survives its trials: a panicking trial or one whose sampled value is beyond a
//! bound fails alone; the storage's password reaches no file and no message; and a second
//! study never writes into the first one's trial folders.

use std::path::Path;

use temper_tune::TrialState;

use crate::run::tests::training::SEEDED;
use crate::tune::out_dir::{self, STUDY_FILE};
use crate::{
    DeviceChoice, Experiment, LrFindSection, ModelKind, Silent, lr_find, train, tune, tune_with,
};

/// A storage URL whose password holds `/`, `?`, `#`, `@` unencoded and `@`, `/` encoded.
const SECRET_URL: &str = "postgres://alice:S3cr/t?x#y@z%40w%2Fq@127.0.0.1:1/study";
/// Pieces of the password, each of which must appear nowhere.
const SECRET_PIECES: [&str; 4] = ["S3cr", "t?x#y", "z%40w%2Fq", "z@w/q"];

/// A one-epoch MLP on 300 images; `tune` (a `[tune]` table) searched on top.
fn tiny(tune: &str) -> Experiment {
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.model.hidden = Some(vec![16]);
    exp.data.limit_train = 300;
    exp.train.epochs = 1;
    exp.train.device = DeviceChoice::Flex;
    exp.tune = Some(toml::from_str(tune).unwrap());
    exp
}

/// Every file under `dir` whose bytes hold a piece of the password.
fn files_with_secret(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if SECRET_PIECES.iter().any(|p| text.contains(p)) {
            found.push(entry.display().to_string());
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_panicking_trial_fails_with_its_message_and_the_study_goes_on() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let exp = tiny(
        "trials = 3\nsampler = 'random'\npruner = 'none'\n\
         [space]\n'optim.lr' = { log_uniform = [1e-4, 1e-2] }",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tune");
    let mut calls = 0;
    let mut runner = |trial: &Experiment, run: &Path, p: &mut dyn crate::Progress| {
        calls += 1;
        if calls == 2 {
            panic!("the model blew up\non two lines");
        }
        train(trial, run, p)
    };
    let summary = tune_with(&exp, &out, &mut runner, &mut Silent).unwrap();
    let states: Vec<TrialState> = summary.trials.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [
            TrialState::Complete,
            TrialState::Failed,
            TrialState::Complete
        ]
    );
    assert_eq!(
        summary.trials[1].message.as_deref(),
        Some("panicked: the model blew up on two lines")
    );
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert!(
        csv.lines().nth(2).unwrap().starts_with("1,failed,"),
        "{csv}"
    );
    assert!(out.join("best.toml").exists());
}

#[test]
fn a_trial_sampling_a_trillion_epochs_fails_alone_in_1536_mib() {
    if !temper_data::memory_cap::in_child() {
        return temper_data::memory_cap::rerun(
            module_path!(),
            "a_trial_sampling_a_trillion_epochs_fails_alone_in_1536_mib",
            1536,
        );
    }
    // Unbounded, 2^40 epochs reserve a history of 2^40 rows: an allocation failure, which
    // aborts the whole search.
    let exp = tiny(
        "trials = 2\nsampler = 'grid'\npruner = 'none'\n\
         [space]\n'train.epochs' = { choice = [1099511627776, 1] }",
    );
    let dir = tempfile::tempdir().unwrap();
    let summary = tune(&exp, &dir.path().join("tune"), &mut Silent).unwrap();
    let by_epochs = |epochs: f64| {
        summary
            .trials
            .iter()
            .find(|t| t.params.float("train.epochs") == Some(epochs))
            .unwrap()
    };
    let huge = by_epochs((1u64 << 40) as f64);
    assert_eq!(huge.state, TrialState::Failed);
    assert_eq!(
        huge.message.as_deref(),
        Some("train.epochs: must be in 1..=100000, got 1099511627776")
    );
    assert_eq!(by_epochs(1.0).state, TrialState::Complete);
}

#[test]
fn a_storage_password_reaches_no_run_file_and_no_error() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let exp = tiny(&format!(
        "storage = '{SECRET_URL}'\n[space]\n'optim.lr' = {{ log_uniform = [1e-4, 1e-2] }}"
    ));
    let dir = tempfile::tempdir().unwrap();
    // `train` of an experiment that carries its search, then a fine-tuned child of that run.
    let parent = dir.path().join("parent");
    train(&exp, &parent, &mut Silent).unwrap();
    let config = std::fs::read_to_string(parent.join(crate::CONFIG_FILE)).unwrap();
    assert!(
        config.contains("storage = \"postgres://alice:***@127.0.0.1:1/study\""),
        "{config}"
    );
    let mut child = exp.clone();
    child.finetune =
        Some(toml::from_str(&format!("from = {:?}", parent.display().to_string())).unwrap());
    train(&child, &dir.path().join("child"), &mut Silent).unwrap();
    // The search: nothing listens on port 1, so it fails opening the study.
    let err = tune(&exp, &dir.path().join("tune"), &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("tune.storage: "), "{err}");
    for piece in SECRET_PIECES {
        assert!(!err.contains(piece), "{piece} in {err}");
    }
    // The record of the study an output folder holds, as a search that opened it writes it.
    let out = dir.path().join("recorded");
    std::fs::create_dir_all(&out).unwrap();
    let section = exp.tune.clone().unwrap();
    out_dir::check(&out, &section).unwrap();
    out_dir::record(&out, &section).unwrap();
    let study = std::fs::read_to_string(out.join(STUDY_FILE)).unwrap();
    assert!(study.contains("alice:***@127.0.0.1:1"), "{study}");
    assert_eq!(files_with_secret(dir.path()), Vec::<String>::new());
    // The check can fail: the raw experiment holds the password.
    assert!(SECRET_URL.contains(SECRET_PIECES[0]));
}

#[test]
fn a_second_study_into_the_same_out_is_refused_and_the_first_resumes() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let search = "trials = 1\nsampler = 'random'\npruner = 'none'\nstudy = 'first'\n\
                  [space]\n'optim.lr' = { log_uniform = [1e-4, 1e-2] }";
    let mut exp = tiny(search);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tune");
    tune(&exp, &out, &mut Silent).unwrap();
    let config_before = std::fs::read(out.join("trial-0000/config.toml")).unwrap();
    let mut other = exp.clone();
    other.tune.as_mut().unwrap().study = "second".into();
    let err = tune(&other, &out, &mut Silent).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "--out {}: holds study \"first\" in sqlite: study.sqlite3 in this folder, not \
             \"second\" in sqlite: study.sqlite3 in this folder; choose a new --out for a new \
             study",
            out.display()
        )
    );
    other.tune.as_mut().unwrap().storage = Some("memory".into());
    other.tune.as_mut().unwrap().study = "first".into();
    assert!(tune(&other, &out, &mut Silent).is_err());
    assert_eq!(
        std::fs::read(out.join("trial-0000/config.toml")).unwrap(),
        config_before
    );
    // The same study resumes: one more trial, in the next folder.
    exp.tune.as_mut().unwrap().trials = 2;
    let summary = tune(&exp, &out, &mut Silent).unwrap();
    assert_eq!(summary.trials.len(), 2);
    assert!(out.join("trial-0001/config.toml").exists());
    // A study in memory cannot be resumed, so even the same one needs a new folder.
    let memory = dir.path().join("memory");
    tune(&other, &memory, &mut Silent).unwrap();
    let err = tune(&other, &memory, &mut Silent).unwrap_err().to_string();
    assert!(
        err.contains("holds a study in memory, which cannot be resumed"),
        "{err}"
    );
}

#[test]
fn lr_find_steps_beyond_the_limit_are_refused_before_loading_data() {
    let mut exp = tiny("");
    exp.tune = None;
    for steps in [100_001, usize::MAX] {
        let settings = LrFindSection {
            steps,
            ..Default::default()
        };
        let err = lr_find(&exp, &settings, &mut Silent)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("lr_find.steps (--steps): at most 100000, got {steps}")
        );
    }
    let settings = LrFindSection {
        skip_begin: usize::MAX,
        ..Default::default()
    };
    let err = lr_find(&exp, &settings, &mut Silent)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "lr_find.steps (--steps): must be at least skip_begin + skip_end + 2 = {} to leave \
             points to choose from",
            usize::MAX
        )
    );
}
