//! `temper compare RUN_DIR... [--out DIR]`: runs side by side.

use std::path::{Path, PathBuf};

use anyhow::Context;
use temper_train::{COMPARISON_FILE, compare_runs, next_run_dir};

use crate::keep_only_on_success;

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Two or more run directories (`temper train --out`).
    #[arg(value_name = "RUN_DIR", num_args = 2.., required = true)]
    runs: Vec<PathBuf>,
    /// Where the charts, report.md, compare.json and report.html go (default: runs/compare-N). An existing
    /// folder must be empty or hold an earlier comparison.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    // Every run is read before the output folder is made: a bad one leaves nothing behind.
    let compared = compare_runs(&args.runs)?;
    let (out, created) = match args.out {
        Some(dir) => (checked_out(dir)?, false),
        None => {
            let dir = next_run_dir(Path::new("runs"), "compare")
                .context("creating the output directory")?;
            (dir, true)
        }
    };
    let written = compared.write(&out).map_err(anyhow::Error::from);
    keep_only_on_success(written, &out, created)?;
    for run in &compared.runs {
        let accuracy = run.test_accuracy.map_or("no test score".into(), |a| {
            format!("test accuracy {:.2}%", a * 100.0)
        });
        println!("{}: {} ({accuracy})", run.name, run.label);
    }
    println!("comparison in {}", out.join("report.html").display());
    Ok(())
}

/// `dir` when it is missing (then created), empty, or an earlier comparison: the charts of a
/// comparison must not land on another command's files of the same names (a run's `loss.png`).
fn checked_out(dir: PathBuf) -> anyhow::Result<PathBuf> {
    match std::fs::read_dir(&dir) {
        Ok(mut entries) => {
            let empty = entries.next().is_none();
            if !empty && !dir.join(COMPARISON_FILE).is_file() {
                anyhow::bail!(
                    "--out {}: holds other files; give a new or empty folder",
                    dir.display()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&dir).with_context(|| format!("--out {}", dir.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("--out {}", dir.display())),
    }
    Ok(dir)
}
