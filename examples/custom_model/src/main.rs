//! `cargo run --release -p custom_model [RUN_DIR] [EXPERIMENT.toml]`: trains the example's own
//! conv net with temper's trainer and prints each epoch.

use std::path::PathBuf;

use temper::train::{EpochMetrics, Progress};

/// Prints one line per epoch.
struct Print;

impl Progress for Print {
    fn message(&mut self, text: &str) {
        println!("{text}");
    }

    fn epoch_end(&mut self, m: &EpochMetrics) {
        let valid = m
            .valid
            .map(|v| {
                format!(
                    ", valid loss {:.4} accuracy {:.2}%",
                    v.loss,
                    100.0 * v.accuracy
                )
            })
            .unwrap_or_default();
        println!(
            "epoch {}: train loss {:.4}{valid}, lr {:.2e}, {:.1} s",
            m.epoch, m.train.loss, m.lr, m.seconds
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let run_dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "runs/custom-model".to_string()),
    );
    let experiment = match args.next() {
        Some(path) => std::fs::read_to_string(path)?,
        None => custom_model::EXPERIMENT.to_string(),
    };
    let summary = custom_model::run(&run_dir, &experiment, &mut Print)?;
    println!(
        "{} epochs, best epoch {}; test accuracy {:.2}% ({}); run directory {}",
        summary.epochs_run,
        summary.best_epoch,
        100.0 * summary.test.accuracy,
        summary.tested_weights,
        summary.run_dir.display()
    );
    Ok(())
}
