//! `temper monitor RUN_DIR --data SOURCE`: drift of new data against a saved run, for a
//! scheduled job.

use std::path::PathBuf;
use std::process::ExitCode;

use temper_train::{DeviceChoice, DriftReport, DriftThresholds, check_drift};

use crate::progress::Bars;

/// Exit status when a threshold is crossed (1 is an error, 3 a diverged training run).
pub const EXIT_DRIFT: u8 = 4;

#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 no drift, 4 drift (a threshold crossed), 1 error.\n\
    Inputs: the new test split's pixel histograms (32 bins per channel) against the run's \
    training split, by PSI. Predictions: the model's confidence on the new test split against \
    the run's test split, by the KS test and PSI (20 bins), and the predicted-class shares by \
    PSI. PSI rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 significant shift."
)]
pub struct MonitorArgs {
    /// The run directory (`temper train --out`).
    run_dir: PathBuf,
    /// The new data: a source as in `[data] source` (bundled, mnist:DIR, cifar10:DIR,
    /// folder:DIR); its test split is compared.
    #[arg(long, value_name = "SOURCE")]
    data: String,
    /// The new data's groups file (`key,group`, as the run's `[data] groups`): each group's
    /// accuracy is compared with the same group's on the run's test split.
    #[arg(long, value_name = "FILE")]
    groups: Option<PathBuf>,
    /// Device: auto, wgpu, flex or ndarray (default: the run's).
    #[arg(long)]
    device: Option<DeviceChoice>,
    /// Where monitor.json and monitor.png go (default: RUN_DIR/monitor-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Input drift when a channel's pixel-histogram PSI exceeds this.
    #[arg(long, value_name = "PSI", default_value_t = DriftThresholds::default().input_psi)]
    input_psi: f64,
    /// Prediction drift when the confidence or predicted-class PSI exceeds this.
    #[arg(long, value_name = "PSI", default_value_t = DriftThresholds::default().prediction_psi)]
    prediction_psi: f64,
    /// Prediction drift when the confidence KS distance D exceeds this (with --ks-p).
    #[arg(long, value_name = "D", default_value_t = DriftThresholds::default().ks_d)]
    ks_d: f64,
    /// ... and its p-value is below this.
    #[arg(long, value_name = "P", default_value_t = DriftThresholds::default().ks_p)]
    ks_p: f64,
    /// Accuracy drop when test accuracy falls by more than this many percentage points.
    #[arg(long, value_name = "POINTS", default_value_t = DriftThresholds::default().accuracy_drop)]
    accuracy_drop: f64,
}

pub fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let thresholds = DriftThresholds {
        input_psi: args.input_psi,
        prediction_psi: args.prediction_psi,
        ks_d: args.ks_d,
        ks_p: args.ks_p,
        accuracy_drop: args.accuracy_drop,
    };
    // Bad flags fail before an output directory is made.
    thresholds.validate()?;
    let (out, created) = crate::report_dir(&args.run_dir, args.out, "monitor")?;
    let report = check_drift(
        &args.run_dir,
        &args.data,
        args.groups.as_deref(),
        args.device,
        &thresholds,
        &out,
        &mut Bars::default(),
    )
    .map_err(anyhow::Error::from);
    let report = crate::keep_only_on_success(report, &out, created)?;
    print_report(&report);
    println!(
        "report.html, report.md, monitor.json and monitor.png in {}",
        out.display()
    );
    Ok(if report.drift {
        ExitCode::from(EXIT_DRIFT)
    } else {
        ExitCode::SUCCESS
    })
}

/// The verdict first, then one line per comparison and the largest per-class drops.
fn print_report(r: &DriftReport) {
    let t = &r.thresholds;
    let flag = |drift: bool| if drift { "DRIFT" } else { "ok" };
    println!("{}", r.verdict);
    for c in &r.inputs.channels {
        println!(
            "inputs [{}] channel {}: pixel PSI {:.4} (threshold {}); mean {:.4} -> {:.4}, std \
             {:.4} -> {:.4}",
            flag(r.inputs.drift),
            c.channel,
            c.psi,
            t.input_psi,
            c.reference_mean,
            c.new_mean,
            c.reference_std,
            c.new_std
        );
    }
    let p = &r.predictions;
    println!(
        "predictions [{}]: confidence KS D {:.4} (p {:.2e}; threshold D > {} with p < {}), \
         confidence PSI {:.4}, class PSI {:.4} (threshold {}), class TV {:.4}; mean confidence \
         {:.4} -> {:.4}",
        flag(p.drift),
        p.ks.d,
        p.ks.p_value,
        t.ks_d,
        t.ks_p,
        p.confidence_psi,
        p.class_psi,
        t.prediction_psi,
        p.class_total_variation,
        p.reference_mean_confidence,
        p.new_mean_confidence
    );
    let a = &r.accuracy;
    println!(
        "accuracy [{}]: {:.2}% -> {:.2}% ({:+.1} points; threshold a drop of {}) on {} new \
         images",
        flag(a.drift),
        a.reference.accuracy * 100.0,
        a.new.accuracy * 100.0,
        (a.new.accuracy - a.reference.accuracy) * 100.0,
        t.accuracy_drop,
        r.new_images
    );
    let drops: Vec<String> = a
        .classes
        .iter()
        .filter_map(|c| {
            let d = c.recall_drop_points.filter(|d| *d > 0.0)?;
            Some(format!(
                "{} -{d:.1} ({:.1}% -> {:.1}%)",
                c.class,
                c.reference_recall * 100.0,
                c.new_recall * 100.0
            ))
        })
        .take(3)
        .collect();
    if !drops.is_empty() {
        println!("largest per-class recall drops: {}", drops.join(", "));
    }
    for g in &r.groups {
        println!(
            "group {} [{}]: {:.2}% -> {:.2}% ({:+.1} points) on {} new images",
            g.group,
            flag(g.drift),
            g.reference_accuracy * 100.0,
            g.new_accuracy * 100.0,
            -g.drop_points,
            g.new_images
        );
    }
}
