//! Training end to end on real backends: the bundled MNIST on flex, and a few steps on wgpu.

use burn::tensor::Device;
use temper_data::{ImageBatcher, Normalization, bundled_mnist};
use temper_model::{Classifier, CnnConfig, MlpConfig, ResNetConfig};
use temper_optim::{OptimizerKind, OptimizerSettings, RegularizationSettings};

use std::sync::Mutex;

use crate::{
    DeviceChoice, Experiment, ModelKind, Silent, Stepper, select_device, train, wgpu_adapters,
};

/// Burn seeds one RNG per backend for the whole process, so tests that depend on a seed must
/// not interleave their draws with another test's.
pub(crate) static SEEDED: Mutex<()> = Mutex::new(());

#[test]
fn mlp_on_2000_bundled_images_learns_in_one_epoch_on_flex() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = Experiment::default();
    // 57 steps of batch 32: the default batch of 128 gives only 15 steps in one epoch, which
    // leaves the MLP near 80% and the test at the mercy of the seed.
    exp.train.batch_size = 32;
    exp.model.kind = ModelKind::Mlp;
    exp.data.limit_train = 2000;
    exp.train.epochs = 1;
    exp.train.device = DeviceChoice::Flex;
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let summary = train(&exp, &run, &mut Silent).unwrap();
    assert_eq!((summary.train_images, summary.valid_images), (1800, 200));
    let valid = summary.epochs[0].valid.unwrap();
    // A softmax regression already reaches ~85% on 2,000 MNIST digits; the MLP must beat 80%.
    assert!(valid.accuracy > 0.80, "valid accuracy {}", valid.accuracy);
    assert!(
        summary.test.accuracy > 0.80,
        "test accuracy {}",
        summary.test.accuracy
    );
    assert_eq!(summary.test_images, 10_000);
}

#[test]
fn the_same_seed_gives_the_same_run_on_flex() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.data.limit_train = 300;
    exp.train.epochs = 1;
    exp.train.device = DeviceChoice::Flex;
    let dir = tempfile::tempdir().unwrap();
    let a = train(&exp, &dir.path().join("a"), &mut Silent).unwrap();
    let b = train(&exp, &dir.path().join("b"), &mut Silent).unwrap();
    assert_eq!(a.epochs[0].train, b.epochs[0].train);
    assert_eq!(a.test, b.test);
}

/// Mean loss over `steps` Adam steps of the MLP on one fixed batch, first and last.
fn first_and_last_loss(device: &Device, steps: usize) -> (f32, f32) {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mnist = bundled_mnist().unwrap();
    let batcher = ImageBatcher::new(Normalization::mnist(), [1, 28, 28]);
    let device = device.clone().autodiff();
    device.seed(1);
    let mut model: Classifier = MlpConfig::new().init(&device).into();
    let mut stepper = Stepper::new(
        &OptimizerSettings::preset(OptimizerKind::Adam),
        &RegularizationSettings::default(),
    )
    .unwrap();
    let indices: Vec<usize> = (0..64).collect();
    let mut losses = Vec::new();
    for _ in 0..steps {
        let batch = batcher.batch_indices(&mnist.train, &indices, &device);
        let out;
        (model, out) = stepper.step(model, batch, 1e-3);
        losses.push(out.loss.into_scalar::<f32>());
    }
    (losses[0], *losses.last().unwrap())
}

#[test]
fn mlp_steps_on_wgpu_decrease_the_loss() {
    if wgpu_adapters().is_empty() {
        // On CI the software adapter is installed by .ci/run: its absence is a failure there.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but no wgpu adapter exists: install mesa-vulkan-drivers"
        );
        eprintln!("no wgpu adapter on this machine: wgpu test not run");
        return;
    }
    let selected = select_device(DeviceChoice::Wgpu).unwrap();
    let (first, last) = first_and_last_loss(&selected.device, 8);
    // Fitting one batch: ln(10) ≈ 2.30 at the start, far lower after 8 Adam steps.
    assert!(first > 1.5 && last < 0.7 * first, "{first} -> {last}");
}

#[test]
fn flex_and_ndarray_fit_one_batch_alike() {
    let (f0, f1) = first_and_last_loss(&Device::flex(), 8);
    #[allow(deprecated)]
    let (n0, n1) = first_and_last_loss(&Device::ndarray(), 8);
    assert!(
        f1 < 0.7 * f0 && n1 < 0.7 * n0,
        "flex {f0}->{f1}, ndarray {n0}->{n1}"
    );
}

#[test]
fn early_stopping_stops_after_patience_and_tests_the_best_epoch() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let text = "[data]\nlimit_train = 400\nvalid_fraction = 0.5\n\
                [model]\nkind = \"mlp\"\n\
                [schedule]\nkind = \"constant\"\n\
                [early_stopping]\npatience = 3\n\
                [train]\nepochs = 60\nbatch_size = 16\ndevice = \"flex\"\n";
    let exp = Experiment::from_toml_str(text, "test.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = train(&exp, &dir.path().join("run"), &mut Silent).unwrap();
    // 200 images overfit within a few epochs, so the validation loss turns up long before 60.
    assert!(summary.epochs_run < 60, "ran {} epochs", summary.epochs_run);
    assert!(
        summary
            .stop_reason
            .as_deref()
            .unwrap()
            .contains("for 3 epochs")
    );
    // Keras semantics: stop `patience` epochs after the best one; the best has the lowest loss.
    assert_eq!(summary.epochs_run, summary.best_epoch + 3);
    let losses: Vec<f64> = summary
        .epochs
        .iter()
        .map(|m| m.valid.unwrap().loss)
        .collect();
    let best = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[summary.best_epoch - 1], best);
    assert_eq!(
        summary.tested_weights,
        format!("best epoch {}", summary.best_epoch)
    );
    // The best checkpoint holds the best epoch's weights, the last one the final epoch's.
    let run = dir.path().join("run");
    let best_bytes = std::fs::read(run.join(crate::BEST_MODEL)).unwrap();
    let last_bytes = std::fs::read(run.join(crate::LAST_MODEL)).unwrap();
    assert_ne!(best_bytes, last_bytes);
}

/// A run whose loss turns NaN in epoch 2 (the cyclic schedule jumps from 0.05 to its peak
/// of 1e6 there) stops, keeps epoch 1's weights and still tests them; one that diverges in
/// its first epoch has nothing to keep and is an error.
#[test]
fn a_loss_that_becomes_nan_stops_the_run_and_keeps_the_epoch_before() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.data.limit_train = 1000;
    exp.train.epochs = 3;
    exp.train.batch_size = 32;
    exp.train.device = DeviceChoice::Flex;
    exp.optim = toml::from_str("kind = 'sgd'\nlr = 1e6").unwrap();
    exp.schedule = toml::from_str("kind = 'cyclic'\nbase_lr = 0.05\nstep_size_up = 1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let summary = train(&exp, &run, &mut Silent).unwrap();
    assert!(summary.diverged);
    assert_eq!(summary.epochs_run, 1);
    let reason = summary.stop_reason.unwrap();
    assert!(
        reason.starts_with("diverged: the training loss became"),
        "{reason}"
    );
    assert!(reason.contains("epoch 2"), "{reason}");
    // Epoch 1 at lr 0.05 on 900 images: far above chance (10%).
    assert!(summary.test.accuracy > 0.6, "{}", summary.test.accuracy);
    for f in ["checkpoints/best.bpk", "summary.toml", "report.json"] {
        assert!(run.join(f).exists(), "{f}");
    }

    exp.schedule = toml::from_str("kind = 'constant'").unwrap();
    let err = train(&exp, &dir.path().join("first"), &mut Silent).unwrap_err();
    assert!(
        matches!(err, crate::TrainError::Diverged { epoch: 1, .. }),
        "{err}"
    );
}

/// A [`Progress`](crate::Progress) that panics when epoch `at` starts: a crash after the
/// previous epoch's checkpoint, as SIGKILL would leave it (the CLI test kills for real).
pub(crate) struct CrashAt(pub(crate) usize);
impl crate::Progress for CrashAt {
    fn epoch_start(&mut self, epoch: usize, _epochs: usize, _steps: usize) {
        assert!(
            epoch != self.0,
            "simulated crash at the start of epoch {epoch}"
        );
    }
}

/// Resume restores every piece of state, not only the model and optimizer: EMA weights and
/// their update count, early stopping's best and patience, the plateau schedule, and (second
/// experiment) the hypergradient's rate and last update. The resumed run's epochs and test
/// scores must equal an uninterrupted run's exactly.
#[test]
fn resume_restores_ema_hypergradient_early_stopping_and_plateau_exactly() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let experiment = |optim: &str, schedule: &str| {
        let mut exp = Experiment::default();
        exp.model.kind = ModelKind::Mlp;
        exp.data.limit_train = 1200;
        exp.train.epochs = 4;
        exp.train.batch_size = 64;
        exp.train.device = DeviceChoice::Flex;
        exp.optim = toml::from_str(optim).unwrap();
        exp.schedule = toml::from_str(schedule).unwrap();
        exp.early_stopping =
            Some(toml::from_str("monitor = 'valid_accuracy'\npatience = 10").unwrap());
        exp
    };
    let ema_plateau = experiment(
        "kind = 'adam'\nlr = 1e-3\nema = { decay = 0.9 }",
        "kind = 'plateau'\n[plateau]\nmonitor = 'valid_loss'\nmode = 'max'\npatience = 0",
    );
    let hypergradient = experiment("kind = 'adam-hd'\nlr = 1e-4", "kind = 'constant'");
    for (name, exp) in [
        ("ema-plateau", ema_plateau),
        ("hypergradient", hypergradient),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let whole = train(&exp, &dir.path().join("whole"), &mut Silent).unwrap();

        let crashed = dir.path().join("crashed");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train(&exp, &crashed, &mut CrashAt(3))
        }));
        assert!(result.is_err(), "{name}: the simulated crash happened");
        assert!(!crashed.join("summary.toml").exists());
        let resumed = crate::resume(&crashed, &mut Silent).unwrap();
        assert_eq!(resumed.epochs_this_process, 2, "{name}");
        let strip = |s: &crate::RunSummary| {
            s.epochs
                .iter()
                .map(|m| (m.epoch, m.train, m.valid, m.lr))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&resumed), strip(&whole), "{name}");
        assert_eq!(resumed.test, whole.test, "{name}");
        assert_eq!(resumed.best_epoch, whole.best_epoch, "{name}");
        let steps = |run: &std::path::Path| std::fs::read(run.join("steps.csv")).unwrap();
        assert_eq!(steps(&crashed), steps(&dir.path().join("whole")), "{name}");
    }
}

/// `steps.csv` of a 2-epoch run: a row at every 10th step of an epoch and at its last, steps
/// strictly increasing, each row's rate the schedule's at that step.
#[test]
fn steps_csv_has_a_row_per_read_back_with_the_schedules_rates() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.data.limit_train = 1200;
    exp.train.epochs = 2;
    exp.train.batch_size = 64;
    exp.train.device = DeviceChoice::Flex;
    exp.optim = toml::from_str("kind = 'adam'\nlr = 1e-3").unwrap();
    exp.schedule =
        toml::from_str("kind = 'cosine'\ninterval = 'step'\nwarmup = { steps = 5 }").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let summary = train(&exp, &run, &mut Silent).unwrap();
    let per_epoch = summary.train_images.div_ceil(exp.train.batch_size);
    let text = std::fs::read_to_string(run.join("steps.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,epoch,loss,lr"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 2 * per_epoch.div_ceil(10), "{text}");
    assert!(rows.windows(2).all(|w| w[0][0] < w[1][0]), "{text}");
    assert_eq!(rows.last().unwrap()[0] as usize, 2 * per_epoch);
    let mut schedule =
        temper_optim::LrSchedule::new(&exp.schedule, 1e-3, exp.train.epochs, per_epoch).unwrap();
    let rates: Vec<f64> = (0..2 * per_epoch).map(|_| schedule.next_lr()).collect();
    for row in &rows {
        let step = row[0] as usize;
        assert_eq!(row[1] as usize, (step - 1) / per_epoch + 1, "{text}");
        assert!(row[2].is_finite() && row[2] > 0.0, "{text}");
        assert_eq!(row[3], rates[step - 1], "step {step}: {text}");
    }
    assert!(run.join("loss.png").is_file());
}

/// Data parallelism: three steps with the batch split over two devices give the parameters
/// three whole-batch steps on one device give, up to float rounding (the gradient of the mean
/// loss is the size-weighted sum of the shards' gradients). No dropout, so no RNG is involved.
fn parallel_matches_single(devices: &[Device]) {
    let main = devices[0].clone();
    let data = bundled_mnist().unwrap().train;
    let indices: Vec<usize> = (0..64).collect();
    let batcher = ImageBatcher::new(Normalization::fit(&data, &indices), data.image_shape());
    let settings = OptimizerSettings {
        kind: OptimizerKind::Adam,
        ..OptimizerSettings::default()
    };
    main.seed(3);
    let start = Classifier::Mlp(MlpConfig::new().with_hidden(vec![32]).init(&main));
    let (mut single, mut split) = (start.clone(), start);
    let mut one = Stepper::new(&settings, &RegularizationSettings::default()).unwrap();
    let mut many = Stepper::new(&settings, &RegularizationSettings::default()).unwrap();
    for step in 0..3 {
        let chunk: Vec<usize> = (step * 64..(step + 1) * 64).collect();
        let batch = || batcher.batch_indices(&data, &chunk, &main);
        single = one.step(single, batch(), 1e-3).0;
        let outs;
        (split, outs) = many.step_parallel(split, batch(), None, 1e-3, devices);
        assert_eq!(outs.len(), devices.len());
    }
    let flat = |m: &Classifier| -> Vec<f32> {
        struct All(Vec<f32>);
        impl burn::module::ModuleVisitor for All {
            fn visit_float<const D: usize>(
                &mut self,
                p: &burn::module::Param<burn::tensor::Tensor<D>>,
            ) {
                self.0.extend(
                    p.val()
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .unwrap(),
                );
            }
        }
        let mut all = All(Vec::new());
        burn::module::Module::visit(m, &mut all);
        all.0
    };
    let (a, b) = (flat(&single), flat(&split));
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(1e-3))
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "largest relative difference {worst}");
}

#[test]
fn data_parallel_steps_equal_whole_batch_steps_on_one_device() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let flex = Device::flex().autodiff();
    parallel_matches_single(&[flex.clone(), flex.clone()]);
    parallel_matches_single(&[flex.clone(), flex.clone(), flex]);
}

/// Two wgpu devices (on a CPU-only machine: the software adapter as `wgpu:cpu` and as the
/// default device, two runtimes). Required under CI, where lavapipe is installed.
#[test]
fn data_parallel_on_two_wgpu_devices_matches_one() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let devices = match crate::select_devices(&["wgpu".to_string(), "wgpu:cpu".to_string()]) {
        Ok(devices) => devices,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("CI needs two wgpu devices (lavapipe): {e}"),
    };
    let devices: Vec<Device> = devices.into_iter().map(|d| d.device.autodiff()).collect();
    parallel_matches_single(&devices);
}

/// temper's kernels compute what Burn's ops compute, end to end: the reference CNN (temper's
/// conv, fused pool + ReLU and one-pass Adam) and a ResNet (conv, fused batch norm + add +
/// ReLU) trained on flex follow the loss curves of the same models trained on ndarray (Burn's
/// own convolution, pooling, batch norm and Adam), from the same weights on the same batches,
/// within 1e-4 relative per step. No dropout, so no RNG is involved.
#[test]
fn the_cnn_and_the_resnet_on_temper_kernels_follow_burns_loss_curves() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let flex = Device::flex().autodiff();
    #[allow(deprecated)] // ndarray: Burn's reference CPU ops
    let ndarray = Device::ndarray().autodiff();
    let data = bundled_mnist().unwrap().train;
    let batcher = ImageBatcher::new(Normalization::mnist(), data.image_shape());
    flex.seed(9);
    let models = [
        (
            "cnn",
            Classifier::Cnn(CnnConfig::new().with_dropout(0.0).init(&flex)),
        ),
        (
            "resnet",
            Classifier::ResNet(ResNetConfig::new().with_channels(vec![8, 16]).init(&flex)),
        ),
    ];
    for (name, start) in models {
        let (mut ours, mut burns) = (start.clone(), burn::module::Module::fork(start, &ndarray));
        let settings = OptimizerSettings::preset(OptimizerKind::Adam);
        let mut ours_step = Stepper::new(&settings, &RegularizationSettings::default()).unwrap();
        let mut burns_step = Stepper::new(&settings, &RegularizationSettings::default()).unwrap();
        for step in 0..5 {
            let chunk: Vec<usize> = (step * 32..(step + 1) * 32).collect();
            let out;
            (ours, out) = ours_step.step(ours, batcher.batch_indices(&data, &chunk, &flex), 1e-3);
            let ours_loss = out.loss.into_scalar::<f32>();
            let out;
            (burns, out) =
                burns_step.step(burns, batcher.batch_indices(&data, &chunk, &ndarray), 1e-3);
            let burns_loss = out.loss.into_scalar::<f32>();
            assert!(
                (ours_loss - burns_loss).abs() <= 1e-4 * burns_loss.abs(),
                "{name} step {step}: loss {ours_loss} on temper's kernels vs {burns_loss} on Burn's ops"
            );
        }
    }
}
