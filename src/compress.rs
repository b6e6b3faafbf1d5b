//! `temper quantize`, `temper inspect` and `temper prune`: making a finished run leaner and
//! measuring it.

use std::path::PathBuf;

use temper_compress::settings::{QuantScheme, QuantizeSettings};
use temper_train::{DeviceChoice, inspect_run, prune_run, quantize_run};

use crate::progress::Bars;
use crate::{keep_only_on_success, report_dir};

#[derive(clap::Args)]
pub struct QuantizeArgs {
    /// The run directory (`temper train --out`).
    run_dir: PathBuf,
    /// One scale per tensor or per output channel.
    #[arg(long, value_parser = ["per-channel", "per-tensor"], default_value = "per-channel")]
    scheme: String,
    /// Training images on which the int8 and float models are compared first.
    #[arg(long, value_name = "N", default_value_t = 256)]
    calibration: usize,
    /// Device to score on: auto, wgpu, flex or ndarray (default: the run's).
    #[arg(long)]
    device: Option<DeviceChoice>,
    /// Where the int8 weights and report.md go (default: RUN_DIR/quantized-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The run directory (`temper train --out`).
    run_dir: PathBuf,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// The finished run to prune (mlp or cnn).
    run_dir: PathBuf,
    /// Fraction of every convolution's filters and every hidden layer's units to remove, by
    /// their L1 norm (Li et al. 2017).
    #[arg(long, value_name = "FRACTION")]
    channels: f64,
    /// Epochs of fine-tuning of the smaller model.
    #[arg(long, value_name = "N", default_value_t = 10)]
    finetune_epochs: usize,
    /// The new run directory (default: RUN_DIR/pruned-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run_quantize(args: QuantizeArgs) -> anyhow::Result<()> {
    let settings = QuantizeSettings {
        scheme: match args.scheme.as_str() {
            "per-tensor" => QuantScheme::PerTensor,
            _ => QuantScheme::PerChannel,
        },
        calibration_images: args.calibration,
    };
    let (out, created) = report_dir(&args.run_dir, args.out, "quantized")?;
    let run = quantize_run(
        &args.run_dir,
        &settings,
        args.device,
        &out,
        &mut Bars::default(),
    )
    .map_err(anyhow::Error::from);
    let run = keep_only_on_success(run, &out, created)?;
    println!(
        "int8 weights: {} bytes, {:.2}x smaller than the {}-byte checkpoint; {}",
        run.int8_bytes,
        run.float_bytes as f64 / run.int8_bytes.max(1) as f64,
        run.float_bytes,
        run.file.display()
    );
    println!(
        "test accuracy {:.2}% (float {:.2}%); report in {}",
        run.report.scores.accuracy * 100.0,
        run.float_report.scores.accuracy * 100.0,
        out.join("report.md").display()
    );
    Ok(())
}

pub fn run_inspect(args: InspectArgs) -> anyhow::Result<()> {
    let inspection = inspect_run(&args.run_dir, &mut Bars::default())?;
    println!("{}: {}", args.run_dir.display(), inspection.which);
    print!("{}", inspection.to_markdown());
    Ok(())
}

pub fn run_prune(args: PruneArgs) -> anyhow::Result<()> {
    let (out, created) = report_dir(&args.run_dir, args.out, "pruned")?;
    let summary = prune_run(
        &args.run_dir,
        args.channels,
        args.finetune_epochs,
        &out,
        &mut Bars::default(),
    )
    .map_err(anyhow::Error::from);
    let summary = keep_only_on_success(summary, &out, created)?;
    println!(
        "pruned and fine-tuned for {} epochs: test accuracy {:.2}%; run directory {}",
        summary.epochs_run,
        summary.test.accuracy * 100.0,
        out.display()
    );
    Ok(())
}
