//! The environment the binary reads: an invalid `TEMPER_CPU_LEVEL` is refused at start-up
//! (temper-simd alone would ignore it), and `--help` documents the variable.

use std::process::Command;

use crate::stderr;

#[test]
fn an_invalid_cpu_level_fails_at_start_up_naming_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_temper"))
        .args(["train", "--device", "flex", "--out", "run"])
        .env("TEMPER_CPU_LEVEL", "avx3")
        .current_dir(tmp.path())
        .output()
        .expect("run temper");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err.trim(),
        "error: TEMPER_CPU_LEVEL = \"avx3\" is not a CPU level: expected portable, avx2 or avx512"
    );
    assert!(!tmp.path().join("run").exists(), "nothing written");
}

#[test]
fn help_documents_the_cpu_level_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::temper(&["--help"], tmp.path());
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("TEMPER_CPU_LEVEL=portable|avx2|avx512"),
        "{help}"
    );
}

#[test]
fn the_binarys_allocator_setting_is_mimallocs_purge_delay_and_turns_purging_off() {
    use temper::allocator::{DEFAULT_PURGE_DELAY_MS, keep_freed_pages, purge_delay};
    // mimalloc's default (1000 ms, `src/options.c`) identifies the option index libmimalloc-sys
    // leaves unnamed: its neighbours eager_commit_delay (14) and use_numa_nodes (16) default to
    // 1 and 0.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        assert_eq!(purge_delay(), DEFAULT_PURGE_DELAY_MS);
    }
    keep_freed_pages();
    assert_eq!(purge_delay(), -1);
}
