//! `report.html` opened in a real browser (Debian's headless Chromium), and `temper compare`.
//!
//! The browser test is skipped only where no Chromium exists and `CI` is unset; `.ci/run`
//! installs it and sets `CI`, so there it fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{stderr, temper};

/// One epoch of the MLP on 1,000 bundled images on flex, with `[optim] lr = lr`, into `out`.
fn train_mlp(dir: &Path, out: &str, lr: &str) {
    let config = format!("{out}.toml");
    let text = format!("[model]\nkind = \"mlp\"\n\n[optim]\nlr = {lr}\n");
    std::fs::write(dir.join(&config), text).unwrap();
    let args = [
        "train",
        "--config",
        &config,
        "--epochs",
        "2",
        "--limit-train",
        "1000",
        "--device",
        "flex",
        "--out",
        out,
    ];
    let o = temper(&args, dir);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The Chromium binary, or `None` (then the test is skipped) where none is installed and `CI`
/// is unset.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .map(|name| Path::new("/usr/bin").join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and no Chromium is installed (apt-get install chromium)"
        );
        eprintln!("no Chromium in /usr/bin: the report.html browser test is skipped");
    }
    found
}

/// Chromium headless with the given output flag on `page`; the flags keep it off the network
/// (a closed network refuses its background connections) and out of the user's profile.
fn headless(browser: &Path, profile: &Path, flag: &str, page: &Path) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
            "--window-size=1200,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(flag)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium")
}

/// A copy of `report.html` with a script that, once every image has loaded, writes how many
/// decoded (`naturalWidth > 0`) into the DOM. The report itself holds no script and its
/// Content Security Policy forbids one, so the copy goes without the policy (which allows the
/// `data:` images either way: the screenshot of the report itself shows them).
fn instrumented_copy(report: &Path, into: &Path) -> PathBuf {
    let mut html = std::fs::read_to_string(report).unwrap();
    let csp = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("the report declares a Content Security Policy");
    let end = csp + html[csp..].find('>').unwrap() + 1;
    html.replace_range(csp..end, "");
    let probe = "<script>window.addEventListener('load', () => {\
        const imgs = [...document.images];\
        const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;\
        const p = document.createElement('p'); p.id = 'probe';\
        p.textContent = 'decoded ' + ok + ' of ' + imgs.length;\
        document.body.appendChild(p); });</script>";
    let copy = into.join("probe.html");
    std::fs::write(&copy, html.replace("</body>", &format!("{probe}</body>"))).unwrap();
    copy
}

#[test]
fn a_runs_report_html_opens_in_headless_chromium_with_its_scores_and_every_chart() {
    let Some(browser) = chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    train_mlp(tmp.path(), "run", "0.001");
    let run = tmp.path().join("run");
    let report = run.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(!html.contains("<script"), "the report runs no script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from the network"
    );

    let pngs = std::fs::read_dir(&run)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert!(pngs >= 4, "loss, accuracy, lr and confusion charts: {pngs}");
    let profile = tempfile::tempdir().unwrap();
    let probe = instrumented_copy(&report, tmp.path());
    let o = headless(&browser, profile.path(), "--dump-dom", &probe);
    assert!(o.status.success(), "{}", stderr(&o));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains(&format!("decoded {pngs} of {pngs}")),
        "every chart decodes in the browser: {}",
        dom.lines()
            .find(|l| l.contains("probe"))
            .unwrap_or("no probe")
    );
    // The test table holds the accuracy summary.toml records, as report.md prints it.
    let summary: toml::Table =
        toml::from_str(&std::fs::read_to_string(run.join("summary.toml")).unwrap()).unwrap();
    let accuracy = summary["test"]["accuracy"].as_float().unwrap();
    let printed = format!(">{:.2}%</td>", accuracy * 100.0);
    assert!(dom.contains(&printed), "{printed} in the DOM");
    assert!(
        dom.matches("<table").count() >= 3,
        "scores, classes, confusion"
    );
    assert!(dom.contains("lr = 0.001"), "the configuration is shown");

    let shot = tmp.path().join("shot.png");
    let o = headless(
        &browser,
        profile.path(),
        &format!("--screenshot={}", shot.display()),
        &report,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let image = image::open(&shot).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (1200, 2000));
    // Text and borders are grey; the charts' lines are the palette's colours (the train loss
    // in blue, its smoothed curve in orange): colourful pixels mean the charts were drawn.
    let colourful = image
        .pixels()
        .filter(|p| {
            let (max, min) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
            max - min > 80
        })
        .count();
    assert!(
        colourful > 2_000,
        "the charts show: {colourful} colourful pixels"
    );
}

#[test]
fn compare_names_two_runs_by_the_one_key_that_differs() {
    let tmp = tempfile::tempdir().unwrap();
    train_mlp(tmp.path(), "slow", "0.001");
    train_mlp(tmp.path(), "fast", "0.01");
    let o = temper(&["compare", "slow", "fast", "--out", "cmp"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("slow: optim.lr=0.001"), "{stdout}");
    assert!(stdout.contains("fast: optim.lr=0.01"), "{stdout}");
    let cmp = tmp.path().join("cmp");
    let md = std::fs::read_to_string(cmp.join("report.md")).unwrap();
    assert!(md.contains("| `slow` | optim.lr=0.001 |"), "{md}");
    for file in [
        "loss.png",
        "valid.png",
        "lr.png",
        "report.html",
        "compare.json",
    ] {
        assert!(cmp.join(file).is_file(), "{file}");
    }
    let html = std::fs::read_to_string(cmp.join("report.html")).unwrap();
    assert_eq!(html.matches("data:image/png;base64,").count(), 3);
    assert!(html.contains("optim.lr=0.01"), "the table is on the page");
}

#[test]
fn compare_refuses_a_folder_that_is_not_a_run_and_an_out_holding_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    train_mlp(tmp.path(), "run", "0.001");
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let o = temper(&["compare", "run", "empty"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("empty: not a temper run directory"), "{err}");
    assert!(
        !tmp.path().join("runs").exists(),
        "no empty runs/compare-N left behind"
    );

    let before = std::fs::read(tmp.path().join("run/loss.png")).unwrap();
    let o = temper(&["compare", "run", "run", "--out", "run"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--out run: holds other files"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(tmp.path().join("run/loss.png")).unwrap(),
        before
    );
}
