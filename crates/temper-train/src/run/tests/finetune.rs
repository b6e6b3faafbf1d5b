//! Fine-tuning end to end: an MNIST model fine-tuned on inverted digits learns
//! them, and replaying some of its original images keeps it good on the original digits.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;

use temper_data::{DataSplits, ImageDataset, bundled_mnist, write_mnist_dir};

use crate::run::tests::training::SEEDED;
use crate::run::tests::transfer::collect_into;
use crate::{DeviceChoice, Experiment, FinetuneSection, ModelKind, Silent, eval_run, train};

/// The first `n` images of `d` with every pixel `p` replaced by `255 - p`.
fn inverted(d: &ImageDataset, n: usize) -> ImageDataset {
    let kept = d.subset(&(0..n.min(d.len())).collect::<Vec<_>>());
    let pixels = (0..kept.len())
        .flat_map(|i| kept.image(i).iter().map(|&p| 255 - p))
        .collect();
    ImageDataset::new(
        pixels,
        kept.labels().to_vec(),
        kept.image_shape(),
        kept.class_names().to_vec(),
    )
}

fn accuracy_on(run: &Path, source: &str, out: &Path) -> f64 {
    eval_run(
        run,
        Some(source),
        Some(DeviceChoice::Flex),
        out,
        &mut Silent,
    )
    .unwrap()
    .report
    .scores
    .accuracy
}

#[test]
fn finetuning_on_inverted_digits_learns_them_and_replay_limits_forgetting() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.data.limit_train = 4000;
    exp.train.epochs = 2;
    exp.train.batch_size = 32;
    exp.train.device = DeviceChoice::Flex;
    let parent = train(&exp, &path("parent"), &mut Silent).unwrap();

    let mnist = bundled_mnist().unwrap();
    let shifted = DataSplits {
        train: inverted(&mnist.train, 4000),
        test: inverted(&mnist.test, 2000),
    };
    write_mnist_dir(&path("inverted"), &shifted).unwrap();
    let inverted_source = format!("mnist:{}", path("inverted").display());
    let before = accuracy_on(&path("parent"), &inverted_source, &path("e1"));

    let finetune = |replay: f64, name: &str| {
        let mut child = exp.clone();
        child.data.source.clone_from(&inverted_source);
        child.finetune = Some(FinetuneSection {
            from: path("parent"),
            replay,
            ..FinetuneSection::default()
        });
        let summary = train(&child, &path(name), &mut Silent).unwrap();
        assert_eq!(summary.parent.as_deref(), Some(path("parent").as_path()));
        let original = accuracy_on(&path(name), "bundled", &path(&format!("{name}-eval")));
        (summary.test.accuracy, original)
    };
    let (plain_shifted, plain_original) = finetune(0.0, "plain");
    let (replay_shifted, replay_original) = finetune(1.0, "replay");
    let figures = format!(
        "parent: original {:.4}, inverted {before:.4}; fine-tuned: inverted {plain_shifted:.4}, \
         original {plain_original:.4}; with replay 1.0: inverted {replay_shifted:.4}, original \
         {replay_original:.4}",
        parent.test.accuracy
    );
    println!("{figures}");
    // The parent has never seen an inverted digit; fine-tuning must teach it.
    assert!(plain_shifted > before + 0.3, "{figures}");
    assert!(replay_shifted > before + 0.3, "{figures}");
    // Replay keeps the original digits within 5 points of the parent; without it the model
    // forgets more.
    assert!(parent.test.accuracy - replay_original < 0.05, "{figures}");
    assert!(replay_original > plain_original, "{figures}");
}

#[test]
fn finetuning_checks_its_parent_and_freezes_by_pattern() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.data.limit_train = 300;
    exp.train.epochs = 1;
    exp.train.device = DeviceChoice::Flex;
    exp.finetune = Some(FinetuneSection {
        from: dir.path().join("nowhere"),
        ..FinetuneSection::default()
    });
    let err = train(&exp, &dir.path().join("a"), &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("finetune.from"), "{err}");
    assert!(err.contains("not a temper run directory"), "{err}");
    assert!(!dir.path().join("a").exists());

    exp.finetune = None;
    train(&exp, &dir.path().join("parent"), &mut Silent).unwrap();
    let section = |freeze: &[&str]| FinetuneSection {
        from: dir.path().join("parent"),
        freeze: freeze.iter().map(|s| s.to_string()).collect(),
        ..FinetuneSection::default()
    };
    exp.finetune = Some(section(&["*nothing*"]));
    let err = train(&exp, &dir.path().join("b"), &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("finetune.freeze: pattern \"*nothing*\""),
        "{err}"
    );

    // Freezing the hidden layers: they end where they began; the output layer moves.
    exp.finetune = Some(section(&["*hidden*"]));
    train(&exp, &dir.path().join("c"), &mut Silent).unwrap();
    let parent = weights(&exp, &dir.path().join("parent/checkpoints/best.bpk"));
    let child = weights(&exp, &dir.path().join("c/checkpoints/best.bpk"));
    assert_eq!(parent.len(), 4, "{:?}", parent.keys());
    for (name, values) in &parent {
        let same = child[name] == *values;
        assert_eq!(same, name.contains("hidden"), "{name}");
    }
}

/// Every float parameter of the checkpoint at `path` (a model of `exp`), by path.
fn weights(exp: &Experiment, path: &Path) -> BTreeMap<String, Vec<f32>> {
    let model = exp
        .model
        .plan([1, 28, 28], 10)
        .unwrap()
        .init(&Device::flex())
        .try_load_record(ModuleRecord::load(path).unwrap())
        .unwrap();
    let mut out = BTreeMap::new();
    collect_into(&model, &mut out);
    out
}
