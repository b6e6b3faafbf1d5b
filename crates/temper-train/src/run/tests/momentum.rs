//! A run whose schedule cycles momentum: the value each step used in `steps.csv`, the epoch's
//! last in `metrics.csv`, and a resumed run that writes the same files.

use crate::run::tests::training::{CrashAt, SEEDED};
use crate::{DeviceChoice, Experiment, ModelKind, Silent, train};

fn experiment() -> Experiment {
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.data.limit_train = 1200;
    exp.train.epochs = 3;
    exp.train.batch_size = 64;
    exp.train.device = DeviceChoice::Flex;
    exp.optim = toml::from_str("kind = 'sgd'\nlr = 0.05").unwrap();
    exp.schedule = toml::from_str("kind = 'one-cycle'\ninterval = 'step'").unwrap();
    exp
}

/// The numbers of a CSV file's rows after its header, and the header.
fn csv(path: &std::path::Path) -> (String, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|f| f.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn steps_and_metrics_csv_carry_the_cycled_momentum_and_resume_keeps_them() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let exp = experiment();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let summary = train(&exp, &whole, &mut Silent).unwrap();
    let per_epoch = summary.train_images.div_ceil(exp.train.batch_size);
    let schedule =
        temper_optim::LrSchedule::new(&exp.schedule, 0.05, exp.train.epochs, per_epoch).unwrap();

    let (header, rows) = csv(&whole.join("steps.csv"));
    assert_eq!(header, "step,epoch,loss,lr,momentum");
    for row in &rows {
        let step = row[0] as u64;
        assert_eq!(Some(row[4]), schedule.momentum_at(step - 1), "step {step}");
    }
    // One-cycle's momentum: max_momentum at the start, base_momentum at the rate's peak.
    let all: Vec<f64> = (0..3 * per_epoch as u64)
        .map(|i| schedule.momentum_at(i).unwrap())
        .collect();
    assert_eq!(all[0], 0.95);
    assert!(all.iter().any(|m| (m - 0.85).abs() < 1e-3));

    let (header, epochs) = csv(&whole.join("metrics.csv"));
    assert!(header.ends_with(",lr,seconds,momentum"), "{header}");
    for (e, row) in epochs.iter().enumerate() {
        let last_step = ((e + 1) * per_epoch - 1) as u64;
        assert_eq!(
            Some(row[13]),
            schedule.momentum_at(last_step),
            "epoch {}",
            e + 1
        );
    }

    // Killed at the start of epoch 3 and resumed: the same files as the uninterrupted run.
    let crashed = dir.path().join("crashed");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&exp, &crashed, &mut CrashAt(3))
    }));
    assert!(result.is_err(), "the simulated crash happened");
    let resumed = crate::resume(&crashed, &mut Silent).unwrap();
    let read = |run: &std::path::Path| std::fs::read(run.join("steps.csv")).unwrap();
    assert_eq!(read(&crashed), read(&whole));
    let strip = |s: &crate::RunSummary| {
        s.epochs
            .iter()
            .map(|m| (m.epoch, m.train, m.valid, m.lr, m.momentum))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&resumed), strip(&summary));
    assert_eq!(resumed.test, summary.test);
}

#[test]
fn turning_cycle_momentum_off_drops_the_columns_and_adagrad_needs_it_off() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = experiment();
    exp.train.epochs = 1;
    exp.schedule =
        toml::from_str("kind = 'one-cycle'\ninterval = 'step'\ncycle_momentum = false").unwrap();
    let dir = tempfile::tempdir().unwrap();
    train(&exp, &dir.path().join("off"), &mut Silent).unwrap();
    assert_eq!(
        csv(&dir.path().join("off/steps.csv")).0,
        "step,epoch,loss,lr"
    );
    assert!(
        csv(&dir.path().join("off/metrics.csv"))
            .0
            .ends_with(",lr,seconds")
    );

    exp.optim = toml::from_str("kind = 'adagrad'").unwrap();
    exp.schedule = toml::from_str("kind = 'cyclic'\ninterval = 'step'").unwrap();
    let err = train(&exp, &dir.path().join("adagrad"), &mut Silent).unwrap_err();
    assert!(err.to_string().contains("schedule.cycle_momentum"), "{err}");
}
