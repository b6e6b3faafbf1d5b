//! Runs one test again in a child process with a capped address space, so that a hostile-input
//! test proves a reader stays small instead of merely returning an error after allocating
//! gigabytes.
//!
//! The cap is `RLIMIT_AS`, set by the shell's `ulimit -v` before it `exec`s the current test
//! binary with `--exact NAME`: an allocation beyond the cap fails, and Rust's allocator turns a
//! failed allocation into an abort, so the child exits non-zero and the parent's test fails with
//! the child's output. Address space rather than resident memory because it also counts memory
//! that was reserved and never touched (a `Vec::with_capacity` of a header's length).
//!
//! Used by the hostile-input tests of the crates that read files (this one, temper-augment's
//! audio and text, temper-train's run directories). Library code never calls it.
//!
//! ```ignore
//! #[test]
//! fn a_huge_header_fails_in_little_memory() {
//!     if !temper_data::memory_cap::in_child() {
//!         return temper_data::memory_cap::rerun(module_path!(), "a_huge_header_fails_in_little_memory", 512);
//!     }
//!     // The body runs only in the capped child.
//! }
//! ```

use std::process::Command;

/// Set in the child's environment; [`in_child`] reads it.
const CHILD_VAR: &str = "TEMPER_MEMORY_CAP_CHILD";

/// True in the capped child that [`rerun`] starts: the test body runs there.
pub fn in_child() -> bool {
    std::env::var_os(CHILD_VAR).is_some()
}

/// Runs the test `test_fn` of module `module` (pass `module_path!()`) in a child process of the
/// current test binary with its address space capped at `cap_mib` MiB, and panics with the
/// child's output unless the child's test passed.
///
/// Only on Linux, where `ulimit -v` sets `RLIMIT_AS`; elsewhere the body runs uncapped in the
/// child. A test binary linking Burn maps a few hundred MiB of address space before any test
/// runs, so its caps are around 1 GiB; the inputs these tests refuse ask for tens of GiB.
///
/// # Panics
///
/// When the child cannot start or its test fails (including an abort at the cap).
pub fn rerun(module: &str, test_fn: &str, cap_mib: u64) {
    // `module_path!()` starts with the crate's name; libtest names tests without it.
    let path = module.split_once("::").map_or("", |(_, rest)| rest);
    let name = if path.is_empty() {
        test_fn.to_string()
    } else {
        format!("{path}::{test_fn}")
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let script = if cfg!(target_os = "linux") {
        format!("ulimit -v {} && exec \"$0\" \"$@\"", cap_mib * 1024)
    } else {
        "exec \"$0\" \"$@\"".to_string()
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .args(["--include-ignored"])
        .env(CHILD_VAR, "1")
        .output()
        .expect("starting the capped child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "`{name}` under a {cap_mib} MiB address-space cap: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

#[cfg(test)]
mod tests {
    use super::{in_child, rerun};

    #[test]
    fn a_capped_child_runs_a_small_body() {
        if !in_child() {
            return rerun(module_path!(), "a_capped_child_runs_a_small_body", 256);
        }
        let v = vec![1u8; 16 << 20];
        assert_eq!(v.iter().map(|&b| b as usize).sum::<usize>(), 16 << 20);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_capped_child_cannot_reserve_past_its_cap() {
        if !in_child() {
            let result = std::panic::catch_unwind(|| {
                rerun(
                    module_path!(),
                    "a_capped_child_cannot_reserve_past_its_cap",
                    256,
                )
            });
            assert!(
                result.is_err(),
                "a 2 GiB reservation passed under a 256 MiB cap"
            );
            return;
        }
        // Never touched: only the address-space cap can refuse it (`black_box`, or the
        // optimizer removes an allocation nothing reads).
        let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(2 << 30));
        assert!(v.capacity() >= 2 << 30);
    }
}
