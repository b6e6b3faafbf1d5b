//! A flag's value echoed in an error: whatever its length, the error stays short.

use super::{stderr, temper};

/// 100 KB: under Linux's 128 KiB limit on one argument, far beyond any real value.
const LONG: usize = 100_000;

#[test]
fn a_100_kb_device_or_data_flag_gives_a_short_error() {
    let tmp = tempfile::tempdir().unwrap();
    let value = "x".repeat(LONG);
    for flag in ["--device", "--data"] {
        let out = temper(&["train", flag, &value], tmp.path());
        let err = stderr(&out);
        assert!(!out.status.success());
        assert!(err.len() < 2000, "{flag}: {} bytes", err.len());
        assert!(err.contains(flag.trim_start_matches('-')), "{flag}: {err}");
    }
}
