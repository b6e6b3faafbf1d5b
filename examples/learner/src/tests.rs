//! The tests: the applied learning rate against `LrSchedule`'s closed form (with warmup,
//! plateau and EMA), the L2 penalty, early stopping with restore-best, and the configuration's
//! rejections. One test binary, like the crate.

use std::sync::OnceLock;
use std::time::Instant;

use burn::tensor::Tensor;

use super::*;

fn mnist() -> &'static ImageDataset {
    static MNIST: OnceLock<ImageDataset> = OnceLock::new();
    MNIST.get_or_init(|| temper_data::bundled_mnist().expect("bundled MNIST").train)
}

/// 1000 MNIST images, 800 for training and 200 for validation; batches of 50 make 16
/// optimizer steps per epoch.
const TRAIN: &str = r#"
[train]
epochs = 5
batch_size = 50
seed = 7
limit_train = 1000
valid_fraction = 0.2
hidden = 32
"#;
const STEPS_PER_EPOCH: usize = 16;

fn setup(sections: &str) -> (LearnerConfig, ExampleData, Net) {
    let config = LearnerConfig::from_toml(&format!("{TRAIN}{sections}")).unwrap();
    let data = ExampleData::new(&config, mnist()).unwrap();
    assert_eq!(
        data.steps_per_epoch(config.train.batch_size),
        STEPS_PER_EPOCH
    );
    // The tests run in parallel and the device's generator is shared: seed and draw the
    // weights under a lock, so each test starts from the same weights every time.
    static INIT: Mutex<()> = Mutex::new(());
    let _init = lock(&INIT);
    let device = Device::flex().autodiff();
    device.seed(config.train.seed);
    let net = Net::new(data.train.image_shape(), config.train.hidden, 10, &device);
    (config, data, net)
}

fn floats(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn learner_applies_the_schedule_closed_form_with_warmup_plateau_and_ema() {
    let start = Instant::now();
    let (config, data, net) = setup(
        r#"
[optim]
kind = "sgd"
lr = 0.1
momentum = 0.9
ema = { decay = 0.0 }   # decay 0: the average is a copy of the weights after each step

[schedule]
kind = "cosine"
interval = "step"
min_lr = 0.001
warmup = { steps = 10, start_factor = 0.1 }
# A relative threshold no epoch can meet (a 99% drop of the validation loss): after the
# first monitored epoch every epoch is a bad one, and with patience 0 each halves the rate,
# whatever the losses are.
plateau = { monitor = "valid_loss", patience = 0, factor = 0.5, threshold = 0.99 }
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let run = train(&config, &data, net, dir.path()).unwrap();
    let secs = start.elapsed().as_secs_f64();

    // Every epoch ran, and each one's validation loss reached the end-of-epoch hook.
    assert_eq!(run.epochs_run, 5);
    assert!(run.history.iter().all(|e| e.valid_loss.is_some()));
    let total = 5 * STEPS_PER_EPOCH;
    assert_eq!(run.applied_lr.len(), total, "one rate per optimizer step");

    // Expected: the closed form `LrSchedule::lr_at(i)` of a fresh schedule (warmup and
    // cosine, plateau scale 1) times the plateau's reductions. Epoch e's loss is pushed at
    // its end and read at step 16e, the first step of epoch e + 1; all those steps are past
    // the 10 warmup steps, so every value counts. Epoch 1's is the first (an improvement
    // on +inf); epochs 2, 3 and 4 each halve the rate; epoch 5's is never read. Halving
    // is exact in binary, so the match is bit for bit.
    let fresh = LrSchedule::new(&config.schedule, 0.1, 5, STEPS_PER_EPOCH).unwrap();
    for (i, &got) in run.applied_lr.iter().enumerate() {
        let reductions = (i / STEPS_PER_EPOCH).saturating_sub(1) as i32;
        let want = fresh.lr_at(i as u64) * 0.5f64.powi(reductions);
        assert_eq!(got, want, "step {i}");
    }
    // And lr_at itself against the formulas written out: linear warmup from 0.1 * lr over
    // 10 steps, then half a cosine from 0.1 to 0.001 over the remaining 70 steps.
    let cosine =
        |t: f64| 0.001 + (0.1 - 0.001) * (1.0 + (std::f64::consts::PI * t / 70.0).cos()) / 2.0;
    let by_hand = [
        (0, 0.1 * 0.1),
        (5, 0.1 * (0.1 + 0.9 * 0.5)),
        (10, cosine(0.0)),
        (15, cosine(5.0)),
        (16, cosine(6.0)),
        (45, cosine(35.0) * 0.5),
        (79, cosine(69.0) * 0.125),
    ];
    for (i, want) in by_hand {
        let got = run.applied_lr[i];
        assert!((got - want).abs() < 1e-15, "step {i}: {got} vs {want}");
    }

    // EMA through `TrainStep::optimize`: one update per optimizer step, made after the
    // step (with decay 0 the average equals the final weights exactly).
    assert_eq!(run.ema_updates, total);
    let ema = run.ema.as_ref().expect("optim.ema is set");
    for (a, b) in [
        (&ema.hidden.weight, &run.model.hidden.weight),
        (&ema.output.weight, &run.model.output.weight),
    ] {
        assert_eq!(floats(a.val()), floats(b.val()));
    }
    eprintln!(
        "schedule run: {total} steps, {:.1} s, valid accuracy by epoch {:?}",
        secs,
        run.history
            .iter()
            .map(|e| e.valid_accuracy.unwrap())
            .collect::<Vec<_>>()
    );
}

#[test]
fn l2_penalty_in_train_step_shrinks_the_weights() {
    let start = Instant::now();
    let sections = |l2: f64| {
        format!(
            r#"
[optim]
kind = "sgd"
lr = 0.02
momentum = 0.9

[schedule]
kind = "constant"

[regularization]
l2 = {l2}
"#
        )
    };
    // Both runs start from the same weights (one initialization, cloned) and see the same
    // batches (same seed); only the penalty differs.
    let (plain_config, data, net) = setup(&sections(0.0));
    let penalized_config = LearnerConfig::from_toml(&format!("{TRAIN}{}", sections(0.05))).unwrap();
    let initial = net.weight_norm();
    let dir = tempfile::tempdir().unwrap();
    let plain = train(&plain_config, &data, net.clone(), &dir.path().join("plain")).unwrap();
    let penalized = train(&penalized_config, &data, net, &dir.path().join("l2")).unwrap();

    let (n0, n1) = (plain.model.weight_norm(), penalized.model.weight_norm());
    let device = Device::flex();
    let acc0 = accuracy(&plain.model, &data.valid, &data.batcher, &device);
    let acc1 = accuracy(&penalized.model, &data.valid, &data.batcher, &device);
    eprintln!(
        "l2 runs: {:.1} s; weight norm initial {initial:.3}, l2 = 0: {n0:.3}, l2 = 0.05: \
         {n1:.3} (ratio {:.3}); valid accuracy {acc0:.3} / {acc1:.3}",
        start.elapsed().as_secs_f64(),
        n1 / n0
    );
    // The penalty's gradient `l2 * w` alone would scale the weights by
    // (1 - lr * l2 / (1 - momentum))^steps = 0.99^80 ≈ 0.45 over the 80 steps; the data
    // gradient pushes back (measured: 0.67). The bound asked for is 0.8.
    assert!(n1 < 0.8 * n0, "penalized {n1} vs plain {n0}");
    // Both still learned (measured: about 85% each; chance is 10%): the penalty shrinks
    // the weights without stopping training.
    assert!(acc0 > 0.75 && acc1 > 0.75, "{acc0} {acc1}");
}

#[test]
fn early_stopping_stops_early_and_restores_the_best_epoch() {
    let (config, data, net) = setup(
        r#"
[optim]
kind = "sgd"
lr = 0.1
momentum = 0.9

[schedule]
kind = "constant"

# Two settings no training can satisfy, so the outcome is known in advance:
# - a baseline no epoch beats, so the rule must stop after `patience` epochs (Keras: "training
#   will run for patience epochs" when no epoch beats the baseline);
# - mode = "max" on a loss, so the "best" epoch is the one of highest validation loss: as the
#   loss falls that is an early epoch, whose weights differ from the last one's, which makes
#   restoring it visible.
[early_stopping]
monitor = "valid_loss"
mode = "max"
baseline = 1e9
patience = 3
"#,
    );
    let config = LearnerConfig {
        train: TrainSection {
            epochs: 6,
            ..config.train
        },
        ..config
    };
    let dir = tempfile::tempdir().unwrap();
    let run = train(&config, &data, net, dir.path()).unwrap();

    assert_eq!(run.epochs_run, 3, "asked for 6");
    assert_eq!(run.applied_lr.len(), 3 * STEPS_PER_EPOCH);
    let reason = run.stop_reason.as_deref().unwrap();
    assert!(reason.contains("baseline"), "{reason}");

    // Restore-best: the returned model is the best epoch's checkpoint, so its validation
    // accuracy is the one the Learner recorded for that epoch, not the last epoch's.
    let best = run.best_epoch.unwrap();
    assert!(run.restored_best);
    let losses: Vec<f64> = run.history.iter().map(|e| e.valid_loss.unwrap()).collect();
    let highest = (0..3)
        .max_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(b.cmp(&a)))
        .unwrap()
        + 1;
    assert_eq!(best, highest, "losses {losses:?}");
    let recorded: Vec<f64> = run
        .history
        .iter()
        .map(|e| e.valid_accuracy.unwrap())
        .collect();
    let measured = 100.0 * accuracy(&run.model, &data.valid, &data.batcher, &Device::flex());
    eprintln!(
        "early stopping: best epoch {best}, valid losses {losses:?}, recorded accuracies \
         {recorded:?}, restored model {measured}"
    );
    assert!(
        (recorded[best - 1] - measured).abs() < 1e-9,
        "{recorded:?} vs {measured}"
    );

    // Only the best and the last epoch's model checkpoints are kept.
    let mut kept: Vec<String> = std::fs::read_dir(dir.path().join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("model-"))
        .collect();
    kept.sort();
    // At most two: the last epoch's and the best one known before the last decision, which
    // includes the final best (the last epoch, or the one kept before it).
    assert!(kept.len() <= 2, "{kept:?}");
    for epoch in [best, 3] {
        assert!(
            kept.contains(&format!("model-{epoch}.bpk")),
            "{kept:?}, best {best}"
        );
    }
}

#[test]
fn config_rejects_what_the_learner_cannot_do() {
    let bad = [
        ("[optim]\nkind = \"sgd-hd\"", "hypergradient"),
        ("[optim]\nclip = { global_norm = 1.0 }", "global_norm"),
        (
            "[early_stopping]\nmonitor = \"valid_f1\"",
            "early_stopping.monitor",
        ),
        ("[train]\nvalid_fraction = 0.0", "valid_fraction"),
    ];
    for (text, needle) in bad {
        let err = LearnerConfig::from_toml(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
    // The configuration `cargo run` uses parses and validates.
    let example = LearnerConfig::example();
    assert_eq!(example.train.epochs, 8);
}
