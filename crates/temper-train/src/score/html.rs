//! `report.html` in every folder temper reports into — runs, trials, studies, eval, monitor,
//! quantize, lr-find and compare folders: temper-report's [`DirReport`] over what the folder
//! holds, written once the folder's other files are.

use std::path::Path;

use temper_report::html::DirReport;

use crate::error::TrainError;

/// Writes `dir/report.html` titled `title`, with `links` (label, relative href) before the
/// links to the subfolders that hold reports.
pub fn write_report_html(
    dir: &Path,
    title: &str,
    links: &[(String, String)],
) -> Result<(), TrainError> {
    let mut report = DirReport::new(title);
    report.links = links.to_vec();
    report.write(dir)?;
    Ok(())
}

/// The title of a run's page: its folder's name.
pub(crate) fn run_title(run_dir: &Path) -> String {
    format!("Run {}", dir_name(run_dir))
}

/// The folder name of `dir`, or the path as given when it has none (`.`).
pub(crate) fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// Writes the page of `out`, a folder a command reported into for the run `run_dir`; when
/// `out` is one of the run's own subfolders (`eval-1`, `monitor-1`, ...), the page links back
/// to the run's and the run's page is written again so that it links to this one.
pub(crate) fn write_child_report_html(
    out: &Path,
    title: &str,
    run_dir: &Path,
) -> Result<(), TrainError> {
    let inside = match (out.parent(), run_dir.canonicalize()) {
        (Some(parent), Ok(run)) => parent.canonicalize().is_ok_and(|p| p == run),
        _ => false,
    };
    if !inside {
        return write_report_html(out, title, &[]);
    }
    let back = [("the run".to_string(), "../report.html".to_string())];
    write_report_html(out, title, &back)?;
    if run_dir.join("report.html").is_file() {
        write_report_html(run_dir, &run_title(run_dir), &[])?;
    }
    Ok(())
}
