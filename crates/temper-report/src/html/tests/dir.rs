use std::fs;
use std::path::Path;

use super::{chart_png, urls};
use crate::ReportError;
use crate::html::{DirReport, Limits, PNG_SIGNATURE};

const MIB: u64 = 1024 * 1024;

/// A run directory as temper writes one: `report.md`, `config.toml`, `summary.toml`, the four
/// charts plus two of a user's own, data files, `checkpoints/` and two trial folders.
fn run_dir(png: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let md = "# Test report\n\n| class | recall |\n|---|---|\n| <script>x()</script> | 0.98 |\n";
    fs::write(root.join("report.md"), md).unwrap();
    fs::write(root.join("config.toml"), "[optim]\nlr = 0.001\n").unwrap();
    fs::write(root.join("summary.toml"), "epochs_run = 4\n").unwrap();
    for name in ["zeta", "confusion", "accuracy", "alpha", "lr", "loss"] {
        fs::write(root.join(format!("{name}.png")), png).unwrap();
    }
    fs::write(root.join("metrics.csv"), "epoch,loss\n1,0.5\n").unwrap();
    // A chart being written by another process: hidden, so never shown.
    fs::write(root.join(".loss.png.77.0.tmp.png"), png).unwrap();
    fs::create_dir_all(root.join("checkpoints/epoch-1")).unwrap();
    fs::create_dir(root.join("trial-0001")).unwrap();
    fs::write(root.join("trial-0001/report.md"), "# Trial\n").unwrap();
    fs::create_dir(root.join("trial-0000")).unwrap();
    fs::write(root.join("trial-0000/report.html"), "<!DOCTYPE html>").unwrap();
    dir
}

fn position(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the page"))
}

#[test]
fn a_run_directory_shows_its_report_charts_in_order_config_and_trials() {
    let png = chart_png();
    let dir = run_dir(&png);
    let html = DirReport::new("dense-42")
        .page(dir.path())
        .unwrap()
        .to_html();
    // report.md first, its `# Test report` as the section heading, its raw HTML escaped.
    assert!(
        html.contains("<section id=\"section-1\">\n<h2>Test report</h2>"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;x()&lt;/script&gt;"));
    // temper's charts in the default order, then the user's alphabetically.
    let order: Vec<usize> = ["loss", "accuracy", "lr", "confusion", "alpha", "zeta"]
        .iter()
        .map(|c| position(&html, &format!("<figcaption>{c}</figcaption>")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert_eq!(
        html.matches("<img").count(),
        6,
        "the hidden temporary is not shown"
    );
    assert!(
        position(&html, "Configuration (config.toml)") < position(&html, "Summary (summary.toml)")
    );
    assert!(html.contains("[optim]\nlr = 0.001\n"));
    let links: Vec<&str> = urls(&html)
        .into_iter()
        .filter(|u| !u.starts_with('#') && !u.starts_with("data:"))
        .collect();
    assert_eq!(links, ["trial-0000/report.html", "trial-0001/report.html"]);
}

#[test]
fn caller_links_come_first_and_notes_follow_a_subdirectory() {
    let dir = run_dir(&chart_png());
    fs::create_dir(dir.path().join("my trial#2")).unwrap();
    fs::write(dir.path().join("my trial#2/report.md"), "x").unwrap();
    let mut report = DirReport::new("trial");
    report.links = vec![("Study".into(), "../report.html".into())];
    report
        .link_notes
        .insert("trial-0001".into(), "optim.lr=0.01".into());
    let html = report.page(dir.path()).unwrap().to_html();
    let links: Vec<&str> = urls(&html)
        .into_iter()
        .filter(|u| !u.starts_with('#') && !u.starts_with("data:"))
        .collect();
    // `#` and the space are percent-encoded, so the folder stays one path segment.
    assert_eq!(
        links,
        [
            "../report.html",
            "my%20trial%232/report.html",
            "trial-0000/report.html",
            "trial-0001/report.html"
        ]
    );
    assert!(html.contains(">trial-0001 — optim.lr=0.01</a>"));
}

#[test]
fn an_oversized_png_is_listed_not_read() {
    let dir = run_dir(&chart_png());
    // A sparse file: 17 MiB by its metadata, no data written.
    let file = fs::File::create(dir.path().join("huge.png")).unwrap();
    file.set_len(17 * MIB).unwrap();
    let html = DirReport::new("t").page(dir.path()).unwrap().to_html();
    assert!(
        html.contains("<li>huge.png: not embedded: too large (17.0 MiB; at most 16.0 MiB)</li>"),
        "{html}"
    );
    assert_eq!(html.matches("<img").count(), 6);
}

#[test]
fn images_past_the_page_budget_are_listed_as_too_large() {
    let png = chart_png();
    let dir = run_dir(&png);
    let mut report = DirReport::new("t");
    // Room for two of the six charts.
    report.limits.embedded_bytes = 2 * png.len() as u64 + 10;
    let html = report.page(dir.path()).unwrap().to_html();
    assert_eq!(html.matches("<img").count(), 2);
    assert!(html.contains("alt=\"loss\"") && html.contains("alt=\"accuracy\""));
    let note = "lr.png: not embedded: too large (the page embeds at most";
    assert!(html.contains(note), "{html}");
    assert_eq!(html.matches("not embedded: too large").count(), 4);
}

#[test]
fn figures_past_the_count_limit_are_counted() {
    let dir = run_dir(&chart_png());
    let mut report = DirReport::new("t");
    report.limits.figures = 4;
    let html = report.page(dir.path()).unwrap().to_html();
    assert_eq!(html.matches("<img").count(), 4);
    assert!(html.contains("2 more PNG files not embedded: a page shows at most 4 figures"));
}

#[test]
fn links_past_the_limit_are_counted() {
    let dir = run_dir(&chart_png());
    let mut report = DirReport::new("t");
    report.limits.links = 1;
    let html = report.page(dir.path()).unwrap().to_html();
    assert!(html.contains("href=\"trial-0000/report.html\""));
    assert!(!html.contains("href=\"trial-0001/report.html\""));
    // Sorted, `checkpoints` and `trial-0000` were looked at; `trial-0001` was not.
    assert!(html.contains("1 more folders not checked: a page holds at most 1 links"));
}

#[test]
fn an_oversized_or_binary_text_file_is_an_error_naming_it() {
    let dir = run_dir(&chart_png());
    let big = fs::File::create(dir.path().join("best.toml")).unwrap();
    big.set_len(4 * MIB + 1).unwrap();
    let err = DirReport::new("t").page(dir.path()).unwrap_err();
    assert!(matches!(&err, ReportError::Input { path, .. } if path.ends_with("best.toml")));
    assert!(err.to_string().contains("too large"), "{err}");
    fs::remove_file(dir.path().join("best.toml")).unwrap();
    fs::write(dir.path().join("summary.toml"), b"x = \"\xff\xfe\"\n").unwrap();
    let err = DirReport::new("t").page(dir.path()).unwrap_err();
    assert!(matches!(&err, ReportError::Input { path, .. } if path.ends_with("summary.toml")));
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_not_followed() {
    use std::os::unix::fs::symlink;
    let png = chart_png();
    let dir = run_dir(&png);
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.png");
    fs::write(&secret, &png).unwrap();
    fs::write(outside.path().join("secret.md"), "SECRET TEXT").unwrap();
    fs::create_dir(outside.path().join("elsewhere")).unwrap();
    fs::write(outside.path().join("elsewhere/report.md"), "x").unwrap();
    symlink(&secret, dir.path().join("secret.png")).unwrap();
    fs::remove_file(dir.path().join("report.md")).unwrap();
    symlink(
        outside.path().join("secret.md"),
        dir.path().join("report.md"),
    )
    .unwrap();
    symlink(
        outside.path().join("elsewhere"),
        dir.path().join("trial-0002"),
    )
    .unwrap();
    let html = DirReport::new("t").page(dir.path()).unwrap().to_html();
    assert!(html.contains("<li>secret.png: not embedded: a symbolic link, not followed</li>"));
    assert!(!html.contains("SECRET TEXT") && !html.contains("Test report"));
    assert!(
        !html.contains("trial-0002"),
        "a linked folder is not listed"
    );
    assert_eq!(html.matches("<img").count(), 6);
}

#[test]
fn write_replaces_report_html_whole_and_leaves_no_temporary() {
    let dir = run_dir(&chart_png());
    let target = dir.path().join("report.html");
    fs::write(&target, "OLD PAGE").unwrap();
    let written = DirReport::new("dense-42").write(dir.path()).unwrap();
    assert_eq!(written, target);
    let html = fs::read_to_string(&target).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("OLD PAGE"));
    assert_eq!(
        html,
        DirReport::new("dense-42")
            .page(dir.path())
            .unwrap()
            .to_html()
    );
    assert_eq!(temporaries(dir.path()), 0);
}

#[test]
fn a_failed_write_removes_its_temporary() {
    let dir = run_dir(&chart_png());
    // A directory where the page should go: the rename fails.
    fs::create_dir(dir.path().join("report.html")).unwrap();
    fs::write(dir.path().join("report.html/keep"), "x").unwrap();
    let err = DirReport::new("t").write(dir.path()).unwrap_err();
    assert!(matches!(err, ReportError::Io { .. }), "{err}");
    assert_eq!(temporaries(dir.path()), 0);
}

/// The page's temporaries left in `dir` (`.report.html.<pid>.<n>.tmp`).
fn temporaries(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with(".report.html.") && name.ends_with(".tmp")
        })
        .count()
}

#[test]
fn a_png_named_file_that_is_not_a_png_is_noted() {
    let dir = run_dir(&chart_png());
    let mut bytes = PNG_SIGNATURE.to_vec();
    bytes[0] = 0;
    fs::write(dir.path().join("broken.png"), bytes).unwrap();
    let html = DirReport::new("t").page(dir.path()).unwrap().to_html();
    let note = "<li>broken.png: not embedded: not a PNG file</li>";
    assert!(html.contains(note), "{html}");
    assert_eq!(html.matches("<img").count(), 6);
}

#[test]
fn an_empty_folder_gives_a_page_with_only_its_title() {
    let dir = tempfile::tempdir().unwrap();
    let report = DirReport {
        limits: Limits::default(),
        ..DirReport::new("empty")
    };
    let page = report.page(dir.path()).unwrap();
    assert!(page.sections.is_empty());
    assert!(page.to_html().contains("<h1>empty</h1>"));
}
