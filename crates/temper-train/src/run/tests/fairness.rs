//! A constructed bias, end to end: MNIST where a group of inverted digits (white on black
//! turned black on white) is 5% of the training images and half of the test images. Without
//! mitigation the model serves the majority; each `[fairness] mitigation` is measured on
//! worst-group test accuracy over three seeds.

use std::path::Path;

use temper_data::{DataSplits, ImageDataset, bundled_mnist, write_mnist_dir};

use super::training::SEEDED;
use crate::{Experiment, Silent, train};

/// Training and test images taken from the bundled MNIST.
const TRAIN: usize = 6_000;
const TEST: usize = 2_000;

/// `images` of `split` with every `every`-th image inverted; returns them and each image's
/// group (1: inverted). With `all`, every image is inverted but the groups stay the same.
fn invert_every(
    split: &ImageDataset,
    n: usize,
    every: usize,
    all: bool,
) -> (ImageDataset, Vec<usize>) {
    let mut pixels = Vec::with_capacity(n * 784);
    let mut groups = Vec::with_capacity(n);
    for i in 0..n {
        let group = i % every == 0;
        let inverted = group || all;
        pixels.extend(
            split
                .image(i)
                .iter()
                .map(|&p| if inverted { 255 - p } else { p }),
        );
        groups.push(group as usize);
    }
    let labels = split.labels()[..n].to_vec();
    let data = ImageDataset::new(pixels, labels, [1, 28, 28], split.class_names().to_vec());
    (data, groups)
}

/// Writes the biased MNIST to `dir/mnist` and its groups file to `dir/groups.csv`.
fn write_biased(dir: &Path) {
    write_variant(dir, "mnist", "groups.csv", false);
}

/// [`write_biased`] into `dir/NAME` and `dir/GROUPS`, with every test image inverted when
/// `all_inverted` (its group unchanged).
fn write_variant(dir: &Path, name: &str, groups_file: &str, all_inverted: bool) {
    let mnist = bundled_mnist().unwrap();
    let (train, train_groups) = invert_every(&mnist.train, TRAIN, 20, false);
    let (test, test_groups) = invert_every(&mnist.test, TEST, 2, all_inverted);
    write_mnist_dir(&dir.join(name), &DataSplits { train, test }).unwrap();
    let mut csv = String::from("key,group\n");
    for (i, g) in train_groups.iter().chain(&test_groups).enumerate() {
        csv.push_str(&format!("{i},{}\n", ["upright", "inverted"][*g]));
    }
    std::fs::write(dir.join(groups_file), csv).unwrap();
}

fn experiment(dir: &Path, mitigation: &str, seed: u64) -> Experiment {
    Experiment::from_toml_str(
        &format!(
            "[data]\nsource = \"mnist:{}\"\ngroups = \"{}\"\nvalid_fraction = 0.0\n\
             [model]\nkind = \"mlp\"\nhidden = [64]\n\
             [train]\nepochs = 3\nbatch_size = 64\ndevice = \"flex\"\nseed = {seed}\n\
             [fairness]\nmitigation = \"{mitigation}\"\n",
            dir.join("mnist").display(),
            dir.join("groups.csv").display()
        ),
        "bias.toml",
    )
    .unwrap()
}

/// Mean and spread (max - min) of `values`.
fn mean_spread(values: &[f64]) -> (f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    (mean, max - min)
}

#[test]
fn mitigation_raises_the_worst_groups_accuracy_on_mnist_with_a_rare_inverted_group() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_biased(dir.path());
    let mut table = Vec::new();
    for mitigation in ["none", "reweigh", "balanced-sampler", "group-dro"] {
        let (mut average, mut worst, mut odds) = (Vec::new(), Vec::new(), Vec::new());
        for seed in [1, 2, 3] {
            let out = dir.path().join(format!("{mitigation}-{seed}"));
            let s = train(&experiment(dir.path(), mitigation, seed), &out, &mut Silent).unwrap();
            let groups = s.report.groups.as_ref().unwrap();
            average.push(s.test.accuracy);
            worst.push(groups.worst_group_accuracy);
            odds.push(groups.equalized_odds_difference);
        }
        table.push((
            mitigation,
            mean_spread(&average),
            mean_spread(&worst),
            mean_spread(&odds),
        ));
    }
    // Measured (3 epochs, MLP 64, seeds 1-3; README, Fairness), worst-group accuracy: none
    // 19.9%, reweigh 21.3% (group and label are independent here, so Kamiran & Calders'
    // weights stay near 1), balanced sampler 78.1%, group DRO 40.0%; average accuracy 53.6%,
    // 54.3%, 81.9%, 62.4%. Asserted with headroom: the best method gains at least 30 points of
    // worst-group accuracy and loses at most 2 points of average accuracy.
    let none = &table[0];
    let best = table[1..]
        .iter()
        .max_by(|a, b| a.2.0.total_cmp(&b.2.0))
        .unwrap();
    assert!(best.2.0 - none.2.0 >= 0.30, "{table:?}");
    assert!(best.1.0 >= none.1.0 - 0.02, "{table:?}");
    for (m, a, w, o) in &table {
        eprintln!(
            "| {m} | {:.2}% ± {:.2} | {:.2}% ± {:.2} | {:.3} ± {:.3} |",
            a.0 * 100.0,
            a.1 * 100.0,
            w.0 * 100.0,
            w.1 * 100.0,
            o.0,
            o.1
        );
    }
}

#[test]
fn monitor_flags_the_group_whose_accuracy_dropped_and_not_the_one_that_held() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_biased(dir.path());
    let mut exp = experiment(dir.path(), "balanced-sampler", 1);
    exp.train.epochs = 2;
    let run = dir.path().join("run");
    train(&exp, &run, &mut Silent).unwrap();
    // The new data: the same test images, the upright group's now inverted too.
    write_variant(dir.path(), "shifted", "shifted.csv", true);
    let data = format!("mnist:{}", dir.path().join("shifted").display());
    let report = crate::check_drift(
        &run,
        &data,
        Some(&dir.path().join("shifted.csv")),
        None,
        &crate::DriftThresholds::default(),
        &dir.path().join("monitor"),
        &mut Silent,
    )
    .unwrap();
    let group = |name: &str| report.groups.iter().find(|g| g.group == name).unwrap();
    let (upright, inverted) = (group("upright"), group("inverted"));
    assert!(upright.drift && upright.drop_points > 10.0, "{upright:?}");
    // The inverted images are the same ones: the same accuracy.
    assert_eq!(inverted.drop_points, 0.0, "{inverted:?}");
    assert!(!inverted.drift);
    assert!(
        report.drift && report.verdict.contains("group `upright`"),
        "{}",
        report.verdict
    );
    let json = std::fs::read_to_string(dir.path().join("monitor/monitor.json")).unwrap();
    assert!(json.contains("\"groups\""), "{json}");
}
