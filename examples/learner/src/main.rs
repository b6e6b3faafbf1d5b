//! `cargo run --release -p learner [RUN_DIR] [CONFIG.toml]`: trains the example MLP with
//! burn-train's `Learner` and temper's schedule, early stopping, L2 penalty and EMA.

use std::path::PathBuf;

use burn::tensor::Device;
use learner::{ExampleData, LearnerConfig, Net, accuracy};

fn main() -> Result<(), learner::Error> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "learner-run".to_string()));
    let config = match args.next() {
        Some(path) => LearnerConfig::from_toml(&std::fs::read_to_string(path)?)?,
        None => LearnerConfig::example(),
    };
    // What `learner::run` does, step by step.
    let mnist = temper_data::bundled_mnist()?;
    let data = ExampleData::new(&config, &mnist.train)?;
    let device = Device::flex().autodiff(); // the Learner trains parameters made on autodiff
    device.seed(config.train.seed);
    let net = Net::new(data.train.image_shape(), config.train.hidden, 10, &device);
    let run = learner::train(&config, &data, net, &dir)?;

    for e in &run.history {
        println!(
            "epoch {}: train loss {:.4}, valid loss {:.4}, valid accuracy {:.2}%",
            e.epoch,
            e.train_loss.unwrap_or(f64::NAN),
            e.valid_loss.unwrap_or(f64::NAN),
            e.valid_accuracy.unwrap_or(f64::NAN)
        );
    }
    if let Some(reason) = &run.stop_reason {
        println!("stopped early: {reason}");
    }
    if let Some(best) = run.best_epoch {
        println!(
            "best epoch {best}{}",
            if run.restored_best {
                " (weights restored)"
            } else {
                ""
            }
        );
    }
    // Score the returned model and the EMA average on the bundled MNIST test set.
    let test = &mnist.test;
    let device = Device::flex();
    println!(
        "test accuracy: model {:.2}%",
        100.0 * accuracy(&run.model, test, &data.batcher, &device)
    );
    if let Some(ema) = &run.ema {
        println!(
            "test accuracy: EMA average {:.2}% ({} updates)",
            100.0 * accuracy(ema, test, &data.batcher, &device),
            run.ema_updates
        );
    }
    println!("burn-train's logs and checkpoints: {}", dir.display());
    Ok(())
}
