//! Errors that echo a value: whatever the file or a flag holds, the error is one short line
//! naming the key, quoting at most a prefix of the value (`temper_data::bounded`).

use crate::Experiment;
use crate::config::device::{DeviceChoice, select_devices};
use temper_data::bounded::clip;

/// 10 MB: far beyond any real value, and beyond the 1 MiB file limit too, which
/// `Experiment::from_toml_str` (a tuning trial, a test) does not apply.
const HUGE: usize = 10_000_000;

/// Longest error line accepted: a key, a short prefix of the value and the expected values.
const MAX_LINE: usize = 500;

fn huge() -> String {
    "x".repeat(HUGE)
}

/// Why the error of parsing and validating `text` is not one line under [`MAX_LINE`] bytes
/// naming `key`, if it is not.
fn unbounded_refusal(text: &str, key: &str) -> Option<String> {
    let err = match Experiment::from_toml_str(text, "e.toml").and_then(|e| e.validate()) {
        Ok(()) => return Some(format!("{key}: accepted")),
        Err(e) => e.to_string(),
    };
    let shown = clip(&err, MAX_LINE);
    if err.contains('\n') || err.len() >= MAX_LINE || !err.contains(key) {
        Some(format!("{key}: {} bytes: {shown}", err.len()))
    } else {
        None
    }
}

#[test]
fn a_10_mb_value_of_any_string_key_gives_a_short_line_naming_the_key() {
    let x = huge();
    let cases = [
        (format!("[data]\nsource = \"{x}\"\n"), "data.source"),
        (format!("[data]\nsource = \"folder:{x}\"\n"), "data.source"),
        (format!("[model]\nkind = \"{x}\"\n"), "[model] kind"),
        (
            format!("[model]\ndropout = {{ kind = \"{x}\", p = 0.1 }}\n"),
            "[model] dropout",
        ),
        (format!("[optim]\nkind = \"{x}\"\n"), "[optim] kind"),
        (format!("[schedule]\nkind = \"{x}\"\n"), "schedule.kind"),
        (
            format!("[schedule.plateau]\nmonitor = \"{x}\"\n"),
            "schedule.plateau.monitor",
        ),
        (format!("[train]\ndevice = \"{x}\"\n"), "[train] device"),
        (
            format!("[early_stopping]\nmonitor = \"{x}\"\n"),
            "early_stopping.monitor",
        ),
        (
            format!("[augment]\nops = [{{ op = \"{x}\" }}]\n"),
            "augment",
        ),
        (format!("[augment]\npolicy = \"{x}\"\n"), "augment"),
        (
            format!("[finetune]\nfrom = \"r\"\nweights = \"{x}\"\n"),
            "finetune.weights",
        ),
        (format!("[train]\n{x} = 1\n"), "[train]"),
        (format!("[{x}]\nepochs = 1\n"), "e.toml:1"),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(text, key)| unbounded_refusal(text, key))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_10_mb_device_name_or_device_list_entry_gives_a_short_line() {
    let x = huge();
    let err = x.parse::<DeviceChoice>().unwrap_err();
    assert!(
        err.len() < MAX_LINE && err.contains("unknown device"),
        "{}",
        err.len()
    );
    for spec in [x.clone(), format!("wgpu:{x}"), format!("wgpu:{x}:0")] {
        let err = select_devices(&[spec]).unwrap_err().to_string();
        assert!(
            err.len() < MAX_LINE && err.starts_with("train.devices"),
            "{}",
            &err[..MAX_LINE.min(err.len())]
        );
    }
}
