//! The allocator settings of the `temper` binary and its benches.
//!
//! Both use mimalloc as the global allocator (`src/main.rs` says why). On top of that,
//! [`keep_freed_pages`] turns off mimalloc's purging of freed memory: a training step frees
//! and re-allocates the same large buffers (im2col columns, activations, gradients), and by
//! default mimalloc hands pages unused for a second back to the OS, which then zeroes fresh ones
//! on the next step's page faults (`clear_page_erms`, 14% of a ResNet-18 step in `perf`, whose
//! steps take about a second on two cores).

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (`include/mimalloc.h`: the sixteenth
/// option in mimalloc 2.3 and 3.3 alike), which libmimalloc-sys does not name.
pub const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's default purge delay in milliseconds: 1000 in mimalloc 3.3 (`src/options.c`; the
/// header's comment still says 10).
pub const DEFAULT_PURGE_DELAY_MS: i64 = 1000;

/// The purge delay mimalloc uses now, in milliseconds (-1: never).
// `c_long` is `i64` here but 32 bits on Windows, where the conversion is not a no-op.
#[allow(clippy::useless_conversion)]
pub fn purge_delay() -> i64 {
    // SAFETY: `mi_option_get` reads one slot of mimalloc's option table, which is valid for
    // every index below `_mi_option_last` (15 is one) and safe from any thread.
    i64::from(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) })
}

/// Makes mimalloc keep the pages a process frees for its own later allocations instead of
/// returning them to the OS (purge delay -1, as `MIMALLOC_PURGE_DELAY=-1` would). A training
/// process's memory then stays at its peak, which it reaches every step anyway.
pub fn keep_freed_pages() {
    // SAFETY: `mi_option_set` writes one slot of mimalloc's option table (valid for index 15,
    // see `purge_delay`), atomically; -1 is the documented value for "no purging at all".
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}
