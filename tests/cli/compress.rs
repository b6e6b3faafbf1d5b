//! `temper quantize`, `temper prune` and `temper inspect` on a small finished run: what each
//! writes, and hostile inputs refused in one line with nothing written.

use std::path::Path;

use crate::{stderr, temper};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A 1-epoch CNN on 600 bundled images (channels [8, 16], hidden [32]).
fn parent(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("cnn.toml");
    std::fs::write(
        &config,
        "[model]\nkind = 'cnn'\nchannels = [8, 16]\nhidden = [32]\n\
         [data]\nlimit_train = 600\n[train]\nepochs = 1\ndevice = 'flex'\n",
    )
    .unwrap();
    let run = dir.join("parent");
    let out = temper(
        &[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    run
}

#[test]
fn a_run_quantized_pruned_and_inspected_reports_smaller_figures_than_its_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let run = parent(tmp.path());
    let run_s = run.to_str().unwrap();

    let out = temper(&["quantize", run_s], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = run.join("quantized-1");
    let int8 = std::fs::metadata(dir.join("model.int8.safetensors"))
        .unwrap()
        .len();
    let float = std::fs::metadata(run.join("checkpoints/last.bpk"))
        .unwrap()
        .len();
    // Every weight tensor at one byte per value instead of four.
    assert!(float as f64 / int8 as f64 > 3.5, "{float} / {int8}");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("quantized to int8 (per output channel"),
        "{report}"
    );

    let pruned = tmp.path().join("pruned");
    let out = temper(
        &[
            "prune",
            run_s,
            "--channels",
            "0.5",
            "--finetune-epochs",
            "1",
            "--out",
            pruned.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let config = std::fs::read_to_string(pruned.join("config.toml")).unwrap();
    // Half of [8, 16] and of [32], rounded as torch rounds.
    assert!(
        config.contains("channels = [\n    4,\n    8,\n]"),
        "{config}"
    );
    assert!(config.contains("kind = \"channels\""), "{config}");
    // A pruned run's report ends with its efficiency beside its parent's.
    let report = std::fs::read_to_string(pruned.join("report.md")).unwrap();
    let efficiency = &report[report.find("## Efficiency").expect("an efficiency section")..];
    assert!(efficiency.contains(run_s), "{efficiency}");

    let out = temper(&["inspect", pruned.to_str().unwrap()], tmp.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    // Parameters by hand: conv 1→4 (40) + 4→8 (296), fc 8·7·7→16 (6,288) + 16→10 (170).
    assert!(table.contains("| parameters | 6794 |"), "{table}");
    assert!(table.contains(run_s), "the parent's column: {table}");
}

#[test]
fn compression_commands_refuse_bad_input_in_one_line_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    for args in [
        vec!["quantize", missing.to_str().unwrap()],
        vec!["inspect", missing.to_str().unwrap()],
        vec!["prune", missing.to_str().unwrap(), "--channels", "0.5"],
    ] {
        let out = temper(&args, tmp.path());
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    assert!(!missing.exists());
}
