//! The `temper` command line: parses flags, wires them into an experiment, shows progress.

mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use temper_train::{DeviceChoice, Experiment, next_run_dir, train};

use crate::progress::Bars;

#[derive(Parser)]
#[command(
    name = "temper",
    version,
    about = "Train Burn models that generalize better, faster"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model; with no flags, the reference CNN on the bundled MNIST.
    Train(TrainArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Experiment file (TOML); every key has a default, flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Device: auto (GPU if present, else the fastest CPU backend), wgpu, flex or ndarray.
    #[arg(long)]
    device: Option<DeviceChoice>,
    /// Data source: "bundled" or "mnist:DIR".
    #[arg(long, value_name = "SOURCE")]
    data: Option<String>,
    /// Number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Mini-batch size.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Seed of initialization, split, shuffling and dropout.
    #[arg(long)]
    seed: Option<u64>,
    /// Use only N training images (before the validation split); 0 = all.
    #[arg(long, value_name = "N")]
    limit_train: Option<usize>,
    /// Run directory to create (default: the next free runs/run-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => run_train(args),
    }
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let mut exp = match &args.config {
        Some(path) => Experiment::load(path)?,
        None => Experiment::default(),
    };
    // Every flag has a TOML key; the flag wins.
    if let Some(d) = args.device {
        exp.train.device = d;
    }
    if let Some(s) = args.data {
        exp.data.source = s;
    }
    if let Some(n) = args.epochs {
        exp.train.epochs = n;
    }
    if let Some(n) = args.batch_size {
        exp.train.batch_size = n;
    }
    if let Some(s) = args.seed {
        exp.train.seed = s;
    }
    if let Some(n) = args.limit_train {
        exp.data.limit_train = n;
    }
    // Fail on a bad value before creating any directory.
    exp.validate()?;
    let run_dir = match args.out {
        Some(dir) => dir,
        None => next_run_dir(&PathBuf::from("runs")).context("creating the run directory")?,
    };
    let summary = train(&exp, &run_dir, &mut Bars::default())?;
    println!(
        "test accuracy {:.2}% (loss {:.4}) on {} images; run directory {}",
        summary.test.accuracy * 100.0,
        summary.test.loss,
        summary.test_images,
        summary.run_dir.display()
    );
    Ok(())
}
