//! `[data] groups` and `[fairness]`: the test report scores every group named in the groups
//! file, and each mitigation trains, changes what is learned, and resumes exactly.

use super::stream::{experiment, write_folder};
use super::training::CrashAt;
use super::training::SEEDED;
use crate::{RunSummary, Silent, eval_run, resume, train};

/// `key,group` rows for every image `write_folder` wrote: even file numbers are group
/// `even`, odd ones `odd`.
fn groups_csv(train: usize) -> String {
    grouped(train, |_, n| if n % 2 == 0 { "even" } else { "odd" })
}

/// `key,group` rows for every image `write_folder` wrote, `group(class, n)` naming each.
fn grouped(train: usize, group: impl Fn(&str, usize) -> &'static str) -> String {
    let mut csv = String::from("key,group\n");
    for (split, count) in [("train", train), ("test", 4)] {
        for class in ["dark", "light"] {
            for n in 0..count {
                let group = group(class, n);
                csv.push_str(&format!("{split}/{class}/{n}.png,{group}\n"));
            }
        }
    }
    csv
}

#[test]
fn declared_groups_get_a_table_in_the_test_report_that_adds_up_to_the_whole() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_folder(&data, 16);
    let csv = dir.path().join("groups.csv");
    std::fs::write(&csv, groups_csv(16)).unwrap();
    let exp = experiment(&data, &format!("groups = \"{}\"", csv.display()));
    let run = dir.path().join("run");
    let summary = train(&exp, &run, &mut Silent).unwrap();
    let groups = summary.report.groups.as_ref().expect("a group report");
    let names: Vec<&str> = groups.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["even", "odd"]);
    // 8 test images, 4 per group; the groups' hits add up to the test accuracy's.
    let support: Vec<usize> = groups.groups.iter().map(|g| g.support).collect();
    assert_eq!(support, [4, 4]);
    let hits: f64 = groups
        .groups
        .iter()
        .map(|g| g.accuracy * g.support as f64)
        .sum();
    assert!((hits - summary.test.accuracy * 8.0).abs() < 1e-9, "{hits}");
    let worst = groups.worst_group.unwrap();
    assert_eq!(
        groups.worst_group_accuracy,
        groups.groups[worst]
            .accuracy
            .min(groups.groups[1 - worst].accuracy)
    );
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("## Groups") && md.contains("| even |"), "{md}");
    let json = std::fs::read_to_string(run.join("report.json")).unwrap();
    assert!(json.contains("\"demographic_parity_difference\""), "{json}");
    // Each epoch's validation worst-group accuracy is a column of metrics.csv.
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",valid_worst_group_accuracy"), "{header}");
    for m in &summary.epochs {
        let worst = m.valid_worst_group_accuracy.unwrap();
        assert!(worst <= m.valid.unwrap().accuracy + 1e-12, "{worst}");
    }
    // `temper eval` on the run scores the same groups with the same weights.
    let out = dir.path().join("eval");
    eval_run(&run, None, None, &out, &mut Silent).unwrap();
    let eval_md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let table = |md: &str| md[md.find("## Groups").unwrap()..].to_string();
    assert_eq!(table(&eval_md), table(&md));
}

#[test]
fn a_test_image_without_a_group_is_refused_before_training_naming_it() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_folder(&data, 8);
    let csv = dir.path().join("groups.csv");
    let partial: String = groups_csv(8)
        .lines()
        .filter(|l| !l.starts_with("test/light/3.png"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&csv, partial).unwrap();
    let exp = experiment(&data, &format!("groups = \"{}\"", csv.display()));
    let run = dir.path().join("run");
    let err = train(&exp, &run, &mut Silent).unwrap_err().to_string();
    assert!(
        err.starts_with("data.groups: ") && err.contains("test/light/3.png"),
        "{err}"
    );
    assert!(!run.exists(), "nothing is written");
}

/// A folder whose group `rare` is a quarter of the dark images and half of the light ones, so
/// group and class are not independent; and the experiment with `[fairness] mitigation`.
fn biased(dir: &std::path::Path, mitigation: &str) -> crate::Experiment {
    let data = dir.join("data");
    if !data.exists() {
        write_folder(&data, 16);
        let csv = grouped(16, |class, n| match (class, n % 4) {
            ("dark", 0) | ("light", 0 | 2) => "rare",
            _ => "common",
        });
        std::fs::write(dir.join("groups.csv"), csv).unwrap();
    }
    let mut exp = experiment(
        &data,
        &format!("groups = \"{}\"", dir.join("groups.csv").display()),
    );
    exp.fairness =
        Some(toml::from_str(&format!("mitigation = \"{mitigation}\"\nstep_size = 0.5")).unwrap());
    exp
}

/// Each epoch's training loss and validation figures.
fn curve(s: &RunSummary) -> Vec<String> {
    s.epochs
        .iter()
        .map(|m| format!("{:?} {:?}", m.train, m.valid))
        .collect()
}

#[test]
fn each_mitigation_trains_and_changes_what_is_learned() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let run = |mitigation: &str| {
        let exp = biased(dir.path(), mitigation);
        train(&exp, &dir.path().join(mitigation), &mut Silent).unwrap()
    };
    let plain = run("none");
    for mitigation in ["reweigh", "balanced-sampler", "group-dro"] {
        let s = run(mitigation);
        assert!(
            s.epochs.iter().all(|m| m.train.loss.is_finite()),
            "{mitigation}"
        );
        assert_ne!(curve(&s), curve(&plain), "{mitigation} changed nothing");
        assert!(s.report.groups.is_some(), "{mitigation}");
    }
}

#[test]
fn a_group_dro_run_resumed_after_a_crash_equals_the_uninterrupted_run() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let exp = biased(dir.path(), "group-dro");
    let whole = train(&exp, &dir.path().join("whole"), &mut Silent).unwrap();
    let crashed = dir.path().join("crashed");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&exp, &crashed, &mut CrashAt(2))
    }));
    assert!(result.is_err(), "the simulated crash happened");
    let state =
        std::fs::read_to_string(crashed.join("checkpoints/resume/epoch-0001/state.json")).unwrap();
    assert!(state.contains("group_dro"), "{state}");
    let resumed = resume(&crashed, &mut Silent).unwrap();
    assert_eq!(curve(&resumed), curve(&whole));
    assert_eq!(format!("{:?}", resumed.test), format!("{:?}", whole.test));
}

#[test]
fn a_mitigation_without_groups_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut exp = biased(dir.path(), "reweigh");
    exp.data.groups = None;
    let err = exp.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("fairness.mitigation: needs groups"),
        "{err}"
    );
    let mut exp = biased(dir.path(), "group-dro");
    exp.fairness.as_mut().unwrap().step_size = f64::NAN;
    let err = exp.validate().unwrap_err().to_string();
    assert!(err.starts_with("fairness.step_size: "), "{err}");
}

#[test]
fn early_stopping_can_watch_the_worst_groups_validation_accuracy() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut exp = biased(dir.path(), "none");
    exp.early_stopping =
        Some(toml::from_str("monitor = \"valid_worst_group_accuracy\"\npatience = 5").unwrap());
    exp.validate().unwrap();
    let summary = train(&exp, &dir.path().join("run"), &mut Silent).unwrap();
    assert_eq!(summary.watched, "valid_worst_group_accuracy");
    let best = summary
        .epochs
        .iter()
        .map(|m| m.valid_worst_group_accuracy.unwrap())
        .fold(f64::MIN, f64::max);
    let at_best = summary.epochs[summary.best_epoch - 1]
        .valid_worst_group_accuracy
        .unwrap();
    assert_eq!(
        at_best, best,
        "the best epoch has the highest worst-group accuracy"
    );
}
