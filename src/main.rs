//! The `temper` command line: parses flags, wires them into the library, shows progress.

mod augment;
mod compare;
mod compress;
mod monitor;
mod progress;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::error::{ContextKind, ContextValue};
use clap::{Parser, Subcommand};
use temper_data::bounded::{clip, quote};
use temper_train::{
    CONFIG_FILE, DeviceChoice, EvalWeights, Experiment, LrPlot, describe_params, eval_run_weights,
    export_run, lr_find, next_run_dir, tune,
};
use temper_tune::{PrunerKind, SamplerKind};

use crate::progress::Bars;

/// mimalloc instead of glibc's malloc: a training step allocates and frees the same large
/// activation and gradient buffers every step, which glibc returns to the kernel (munmap,
/// trim) and faults back in — about a tenth of the CNN's step on flex in a `perf` profile.
/// mimalloc keeps them, for good with `temper::allocator::keep_freed_pages` (set first thing
/// in `main`). Measured in `benches/train_step.rs` (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "temper",
    version,
    about = "Train Burn models that generalize better, faster",
    after_long_help = "Environment:\n  \
    TEMPER_CPU_LEVEL=portable|avx2|avx512\n          \
    Caps the instruction set of temper's own CPU kernels (conv, pooling, Adam, image\n          \
    augmentation) below what the CPU has, to measure a narrower path; Burn's and gemm's\n          \
    own dispatch is not affected. Any other value is an error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model; with no flags, the reference CNN on the bundled MNIST.
    Train(train::TrainArgs),
    /// Search hyperparameters: `[tune]` in the experiment file names the space.
    Tune(TuneArgs),
    /// Score a saved run's best weights on the test split, per class, again or on new data.
    Eval(EvalArgs),
    /// Write a run's weights as a PyTorch state_dict (torchvision's names for the standard
    /// architectures) that `load_state_dict(strict=True)` accepts.
    Export(ExportArgs),
    /// Learning-rate schedules.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// The learning-rate range test: suggests a learning rate for the experiment.
    LrFind(LrFindArgs),
    /// Data augmentation outside training.
    #[command(subcommand)]
    Augment(augment::AugmentCommand),
    /// Compare new data with a saved run's training data and model: input, prediction and
    /// accuracy drift, a verdict, monitor.json and monitor.png; exit status 4 on drift.
    Monitor(monitor::MonitorArgs),
    /// Int8 weights of a finished run (per channel or per tensor), scored with the same
    /// per-class report.
    Quantize(compress::QuantizeArgs),
    /// Efficiency of a run: parameters, MACs per image, checkpoint size, CPU latency and
    /// throughput, beside its parent's.
    Inspect(compress::InspectArgs),
    /// Remove a finished run's weakest filters and units (a smaller dense model) and fine-tune it.
    Prune(compress::PruneArgs),
    /// Several runs side by side: their curves overlaid, named by what differs in their
    /// config.toml, and a table of their final scores.
    Compare(compare::CompareArgs),
}

#[derive(Subcommand)]
enum ScheduleCommand {
    /// Draw the learning rate over the whole run (PNG) and write its values (CSV beside it).
    Plot {
        #[command(flatten)]
        exp: ExperimentArgs,
        /// The PNG to write; the CSV gets the same name with `.csv`.
        #[arg(long, value_name = "PNG", default_value = "lr.png")]
        out: PathBuf,
    },
}

/// Flags shared by every command that reads an experiment; each has a TOML key and wins over it.
#[derive(clap::Args)]
struct ExperimentArgs {
    /// Experiment file (TOML); every key has a default, flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Device: auto (GPU if present, else the fastest CPU backend), wgpu, flex or ndarray.
    #[arg(long)]
    device: Option<DeviceChoice>,
    /// Data source: "bundled", "mnist:DIR", "cifar10:DIR" or "folder:DIR".
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
    /// Data parallelism: split each batch over these devices, e.g. wgpu:0,wgpu:1 (flex,
    /// ndarray, wgpu, wgpu:N, wgpu:integrated:N, wgpu:virtual:N, wgpu:cpu).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "device"
    )]
    devices: Vec<String>,
}

impl ExperimentArgs {
    /// The experiment file (or defaults) with the flags applied and validated.
    fn experiment(&self) -> anyhow::Result<Experiment> {
        self.apply(self.base()?)
    }

    /// The experiment file, or the defaults, before the flags.
    fn base(&self) -> anyhow::Result<Experiment> {
        Ok(match &self.config {
            Some(path) => Experiment::load(path)?,
            None => Experiment::default(),
        })
    }

    /// `exp` with the flags applied, validated.
    fn apply(&self, mut exp: Experiment) -> anyhow::Result<Experiment> {
        if let Some(d) = self.device {
            exp.train.device = d;
        }
        if let Some(s) = &self.data {
            exp.data.source = s.clone();
        }
        if let Some(n) = self.epochs {
            exp.train.epochs = n;
        }
        if let Some(n) = self.batch_size {
            exp.train.batch_size = n;
        }
        if let Some(s) = self.seed {
            exp.train.seed = s;
        }
        if let Some(n) = self.limit_train {
            exp.data.limit_train = n;
        }
        if !self.devices.is_empty() {
            exp.train.devices.clone_from(&self.devices);
            exp.train.device = DeviceChoice::Auto;
        }
        // Fail on a bad value before creating any directory.
        exp.validate()?;
        Ok(exp)
    }
}

/// `out`, or the next free `runs/<prefix>-N`.
fn out_dir(out: Option<PathBuf>, prefix: &str) -> anyhow::Result<PathBuf> {
    match out {
        Some(dir) => Ok(dir),
        None => next_run_dir(Path::new("runs"), prefix).context("creating the output directory"),
    }
}

#[derive(clap::Args)]
struct TuneArgs {
    #[command(flatten)]
    exp: ExperimentArgs,
    /// Trials to finish (tune.trials).
    #[arg(long)]
    trials: Option<usize>,
    /// tpe, gp, random, grid or sobol (tune.sampler).
    #[arg(long)]
    sampler: Option<String>,
    /// none, median, asha or hyperband (tune.pruner).
    #[arg(long)]
    pruner: Option<String>,
    /// sqlite:PATH, postgres://USER@HOST/DB or memory (tune.storage); default
    /// OUT/study.sqlite3.
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// One of several processes sharing the study in --storage (tune.worker): start as many
    /// as you like, on any machine; together they run --trials trials.
    #[arg(long)]
    worker: bool,
    /// Seconds without a report after which a worker's trial counts as dead and is retried
    /// (tune.heartbeat_timeout, default 600).
    #[arg(long, value_name = "SECONDS")]
    heartbeat_timeout: Option<f64>,
    /// The epoch metric to optimize, e.g. valid_accuracy or valid_loss (tune.metric).
    #[arg(long)]
    metric: Option<String>,
    /// Output directory: trial runs, trials.csv, best.toml, charts and the study; the same
    /// directory again resumes the search.
    #[arg(long, value_name = "DIR", default_value = "runs/tune")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// The run directory (`temper train --out`).
    run_dir: PathBuf,
    /// Data source to score on (default: the run's own).
    #[arg(long, value_name = "SOURCE")]
    data: Option<String>,
    /// Device: auto, wgpu, flex or ndarray (default: the run's).
    #[arg(long)]
    device: Option<DeviceChoice>,
    /// Where report.md, report.json, confusion.png and confusion.csv go (default:
    /// RUN_DIR/eval-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Which checkpoint to score: best or last (default: the weights the run tested, as
    /// summary.toml's tested_weights says).
    #[arg(long, value_name = "best|last")]
    weights: Option<EvalWeights>,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The run directory (`temper train --out`).
    run_dir: PathBuf,
    /// The file format; safetensors is the one.
    #[arg(long, value_parser = ["safetensors"], default_value = "safetensors")]
    format: String,
    /// Which checkpoint: best or last (default: the weights the run tested).
    #[arg(long, value_name = "best|last")]
    weights: Option<EvalWeights>,
    /// The file to write (default: RUN_DIR/model.safetensors); never overwritten.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct LrFindArgs {
    #[command(flatten)]
    exp: ExperimentArgs,
    /// Start of the exponential sweep (lr_find.min_lr; default 1e-8).
    #[arg(long)]
    min_lr: Option<f64>,
    /// End of the sweep (lr_find.max_lr; default 1).
    #[arg(long)]
    max_lr: Option<f64>,
    /// Optimizer steps of the sweep (lr_find.steps; default 100).
    #[arg(long)]
    steps: Option<usize>,
    /// Where lr_find.csv and lr_find.png go (default: the next free runs/lr-find-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Exit status of a run that stopped on a NaN or infinite loss: its run directory is complete
/// (with the weights from before), but a scheduled job should notice.
const EXIT_DIVERGED: u8 = 3;

/// Longest line of an error the binary prints, in characters: every library error is one
/// bounded line already; this also bounds clap's, which quote a rejected flag value whole,
/// and the context anyhow adds.
const MAX_ERROR_CHARS: usize = 1000;

fn main() -> ExitCode {
    temper::allocator::keep_freed_pages();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let mut text = e.render().to_string();
            // Clap quotes a rejected value whole, before the flag's name: shorten it where it
            // stands, so the line still names the flag.
            if let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) {
                text = text.replace(&format!("'{value}'"), &quote(value));
            }
            for line in text.lines() {
                eprintln!("{}", clip(line, MAX_ERROR_CHARS));
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
        // --help and --version.
        Err(e) => e.exit(),
    };
    // temper-simd ignores an invalid cap (a library never fails on its environment); the
    // binary refuses it, so a mistyped benchmark setting cannot silently measure the widest
    // path.
    if let Err(e) = temper_simd::env_cap() {
        eprintln!("error: {}", clip(&e.to_string(), MAX_ERROR_CHARS));
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", clip(&format!("{e:#}"), MAX_ERROR_CHARS));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Train(args) => return train::run_train(args),
        Command::Tune(args) => run_tune(args),
        Command::Eval(args) => run_eval(args),
        Command::Export(args) => run_export(args),
        Command::Schedule(ScheduleCommand::Plot { exp, out }) => run_schedule_plot(exp, out),
        Command::LrFind(args) => run_lr_find(args),
        Command::Augment(cmd) => augment::run(cmd),
        Command::Monitor(args) => return monitor::run(args),
        Command::Quantize(args) => compress::run_quantize(args),
        Command::Inspect(args) => compress::run_inspect(args),
        Command::Prune(args) => compress::run_prune(args),
        Command::Compare(args) => compare::run(args),
    }
    .map(|()| ExitCode::SUCCESS)
}

fn run_tune(args: TuneArgs) -> anyhow::Result<()> {
    let mut exp = args.exp.experiment()?;
    let section = exp.tune.get_or_insert_with(Default::default);
    if let Some(n) = args.trials {
        section.trials = n;
    }
    // A flag naming the kind the file configures keeps the file's settings for it.
    if let Some(s) = args.sampler.filter(|s| s != section.sampler.name()) {
        section.sampler = SamplerKind::parse(&s)?;
    }
    if let Some(p) = args.pruner.filter(|p| p != section.pruner.name()) {
        section.pruner = PrunerKind::parse(&p)?;
    }
    if let Some(s) = args.storage {
        section.storage = Some(s);
    }
    if args.worker {
        section.worker = true;
    }
    if let Some(t) = args.heartbeat_timeout {
        section.heartbeat_timeout = t;
    }
    if let Some(m) = args.metric {
        section.metric = m;
    }
    let out = args.out;
    let summary = tune(&exp, &out, &mut Bars::default())?;
    let Some(best) = summary.best else {
        anyhow::bail!(
            "no trial completed; see {}",
            out.join("trials.csv").display()
        );
    };
    println!(
        "best trial {} of {}: {} {}",
        best.number,
        summary.trials.len(),
        best.value.map_or("-".into(), |v| format!("{v:.4}")),
        describe_params(&best.params)
    );
    if let Some(dir) = summary.best_run_dir {
        println!(
            "best run directory {}; all trials in {}",
            dir.display(),
            out.join("trials.csv").display()
        );
    }
    Ok(())
}

/// Where `temper eval` or `temper monitor` writes: `out`, or the next free `RUN_DIR/PREFIX-N`
/// — made only once `run_dir` is known to be a run, so a mistyped name creates nothing.
/// Returns whether the directory was made here (then it is removed again, if still empty,
/// when the command fails).
pub(crate) fn report_dir(
    run_dir: &Path,
    out: Option<PathBuf>,
    prefix: &str,
) -> anyhow::Result<(PathBuf, bool)> {
    if let Some(dir) = out {
        return Ok((dir, false));
    }
    if !run_dir.join(CONFIG_FILE).is_file() {
        anyhow::bail!(
            "{}: not a temper run directory (no {CONFIG_FILE})",
            run_dir.display()
        );
    }
    let dir = next_run_dir(run_dir, prefix).context("creating the output directory")?;
    Ok((dir, true))
}

/// `result`, after removing `dir` when it was `created` for a command that failed and is still
/// empty.
pub(crate) fn keep_only_on_success<T>(
    result: anyhow::Result<T>,
    dir: &Path,
    created: bool,
) -> anyhow::Result<T> {
    if result.is_err() && created {
        // Fails, leaving it, when the command wrote something there.
        let _ = std::fs::remove_dir(dir);
    }
    result
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let exported = export_run(
        &args.run_dir,
        args.weights,
        args.out.as_deref(),
        &mut Bars::default(),
    )?;
    println!(
        "exported {} as {} ({} tensors, {} bytes): {}",
        exported.which,
        args.format,
        exported.tensors,
        exported.bytes,
        exported.file.display()
    );
    Ok(())
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let (out, created) = report_dir(&args.run_dir, args.out, "eval")?;
    let run = eval_run_weights(
        &args.run_dir,
        args.data.as_deref(),
        args.device,
        args.weights,
        &out,
        &mut Bars::default(),
    )
    .map_err(anyhow::Error::from);
    let run = keep_only_on_success(run, &out, created)?;
    let s = &run.report.scores;
    println!("scored {}", run.which);
    println!(
        "test accuracy {:.2}% (loss {:.4}, macro F1 {:.4}) on {} images",
        s.accuracy * 100.0,
        s.loss,
        s.f1,
        run.images
    );
    if let Some(g) = &run.report.recall_gap {
        println!(
            "largest per-class recall gap {:.1} points: class {} {:.2}% vs class {} {:.2}%",
            g.gap * 100.0,
            g.worst_class,
            g.worst_recall * 100.0,
            g.best_class,
            g.best_recall * 100.0
        );
    }
    println!("report in {}", out.join("report.md").display());
    Ok(())
}

fn run_schedule_plot(args: ExperimentArgs, png: PathBuf) -> anyhow::Result<()> {
    let exp = args.experiment()?;
    let curve = LrPlot::for_experiment(&exp)?;
    let title = format!(
        "{} schedule, {} epochs",
        exp.schedule.kind().name(),
        exp.train.epochs
    );
    curve.write(&png, &title)?;
    let (lo, hi) = curve
        .lrs
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    println!(
        "{} steps ({} per epoch), lr from {lo:.3e} to {hi:.3e}; wrote {} and {}",
        curve.lrs.len(),
        curve.steps_per_epoch,
        png.display(),
        png.with_extension("csv").display()
    );
    Ok(())
}

fn run_lr_find(args: LrFindArgs) -> anyhow::Result<()> {
    let exp = args.exp.experiment()?;
    let mut sweep = exp.lr_find.clone().unwrap_or_default();
    sweep.min_lr = args.min_lr.unwrap_or(sweep.min_lr);
    sweep.max_lr = args.max_lr.unwrap_or(sweep.max_lr);
    sweep.steps = args.steps.unwrap_or(sweep.steps);
    // Before the output folder is made, so a bad flag leaves no empty runs/lr-find-N behind.
    sweep.validate()?;
    let out = out_dir(args.out, "lr-find")?;
    let result = lr_find(&exp, &sweep, &mut Bars::default())?;
    result.write(&out)?;
    if result.without_hypergradient {
        println!(
            "the sweep ran the optimizer without hypergradient descent, which would have moved \
             the rate itself: the suggestion is the rate it starts from"
        );
    }
    match result.suggested_lr() {
        Some(lr) => println!(
            "suggested learning rate {lr:.2e}{}; curve in {}",
            if result.diverged {
                " (the loss diverged at the end of the sweep)"
            } else {
                ""
            },
            out.join("lr_find.png").display()
        ),
        None => println!(
            "no suggestion: the loss diverged after {} steps; lower --max-lr. Curve in {}",
            result.lrs.len(),
            out.display()
        ),
    }
    Ok(())
}
