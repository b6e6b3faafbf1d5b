//! `temper train`: its flags, and the experiment they make — plain, fine-tuned from a parent
//! run (`--from`) or started from a PyTorch `state_dict` (`--pretrained`) with the fine-tuning
//! recipe flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use temper_train::{CONFIG_FILE, Experiment, FinetuneSection, resume, train};

use crate::progress::Bars;
use crate::{EXIT_DIVERGED, ExperimentArgs, out_dir};

#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    exp: ExperimentArgs,
    /// Run directory to create (default: the next free runs/run-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue an interrupted run after its last completed epoch, with the experiment saved
    /// in RUN_DIR/config.toml (so no other flag applies); it ends as if never interrupted.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = [
        "out", "config", "device", "data", "epochs", "batch_size", "seed", "limit_train", "from",
        "devices",
    ])]
    resume: Option<PathBuf>,
    /// Fine-tune: start from this finished run's weights, on --data, with its experiment as
    /// the base unless --config is given ([finetune] from). The learning rate is multiplied
    /// by --lr-factor, 0.1 unless set.
    #[arg(long, value_name = "RUN_DIR")]
    from: Option<PathBuf>,
    /// Start from a PyTorch state_dict (.safetensors, .pt or .pth with torchvision's names)
    /// instead of random weights ([model] pretrained); a head for another number of classes
    /// starts afresh.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "resume"])]
    pretrained: Option<PathBuf>,
    /// With --from or --pretrained: keep the parameters whose path matches fixed (`*`
    /// wildcards, e.g. "layer*" or "*conv*"); repeatable.
    #[arg(long, value_name = "PATTERN")]
    freeze: Vec<String>,
    /// With --from or --pretrained: start the classifier head afresh even for as many classes
    /// (other classes).
    #[arg(long)]
    new_head: bool,
    /// With --from: also start from the parent's optimizer state.
    #[arg(long, requires = "from")]
    resume_optimizer: bool,
    /// With --from: parent training images mixed in per new one, to limit forgetting.
    #[arg(long, value_name = "FRACTION", requires = "from")]
    replay: Option<f64>,
    /// With --from or --pretrained: multiplies optim.lr (default 0.1).
    #[arg(long, value_name = "FACTOR")]
    lr_factor: Option<f64>,
    /// With --from: the parent's "best" (default) or "last" weights.
    #[arg(long, value_name = "WHICH", requires = "from")]
    weights: Option<String>,
}

pub(crate) fn run_train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let summary = match args.resume {
        Some(run_dir) => resume(&run_dir, &mut Bars::default())?,
        None => {
            let exp = match &args.from {
                Some(parent) => finetune_experiment(&args, parent)?,
                None => pretrained_experiment(&args)?,
            };
            let run_dir = out_dir(args.out, "run")?;
            train(&exp, &run_dir, &mut Bars::default())?
        }
    };
    match summary.test_scores() {
        Some(test) => println!(
            "test accuracy {:.2}% (loss {:.4}) on {} images; run directory {}",
            test.accuracy * 100.0,
            test.loss,
            summary.test_images,
            summary.run_dir.display()
        ),
        None => println!(
            "no test split: nothing tested; run directory {}",
            summary.run_dir.display()
        ),
    }
    if summary.diverged {
        eprintln!(
            "warning: {}",
            summary
                .stop_reason
                .as_deref()
                .unwrap_or("training diverged")
        );
        return Ok(ExitCode::from(EXIT_DIVERGED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The experiment of `temper train --from PARENT`: `--config`, else the parent's own
/// experiment, with the flags and a `[finetune]` section from the fine-tuning flags.
fn finetune_experiment(args: &TrainArgs, parent: &Path) -> anyhow::Result<Experiment> {
    let base = match &args.exp.config {
        Some(path) => Experiment::load(path)?,
        None => {
            let config = parent.join(CONFIG_FILE);
            if !config.is_file() {
                anyhow::bail!(
                    "--from {}: not a temper run directory (no {CONFIG_FILE})",
                    parent.display()
                );
            }
            Experiment::load(&config)?
        }
    };
    let mut exp = base;
    let mut section = exp.finetune.take().unwrap_or_default();
    section.from = parent.to_path_buf();
    recipe_flags(args, &mut section);
    section.resume_optimizer |= args.resume_optimizer;
    if let Some(r) = args.replay {
        section.replay = r;
    }
    if let Some(w) = &args.weights {
        section.weights.clone_from(w);
    }
    exp.finetune = Some(section);
    args.exp.apply(exp)
}

/// The experiment of `temper train` without `--from`: `--pretrained` sets `[model]
/// pretrained`, and the fine-tuning recipe flags fill `[finetune]` for it.
fn pretrained_experiment(args: &TrainArgs) -> anyhow::Result<Experiment> {
    let mut exp = args.exp.base()?;
    if let Some(file) = &args.pretrained {
        exp.model.pretrained = Some(file.clone());
    }
    let recipe = !args.freeze.is_empty() || args.new_head || args.lr_factor.is_some();
    if recipe {
        if exp.model.pretrained.is_none() {
            anyhow::bail!("--freeze, --new-head and --lr-factor need --from or --pretrained");
        }
        let mut section = exp.finetune.take().unwrap_or_default();
        recipe_flags(args, &mut section);
        exp.finetune = Some(section);
    }
    args.exp.apply(exp)
}

/// The `[finetune]` keys the recipe flags set, for either start.
fn recipe_flags(args: &TrainArgs, section: &mut FinetuneSection) {
    if !args.freeze.is_empty() {
        section.freeze.clone_from(&args.freeze);
    }
    section.new_head |= args.new_head;
    if let Some(f) = args.lr_factor {
        section.lr_factor = f;
    }
}
