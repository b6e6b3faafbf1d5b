//! One way to choose a CPU level for every hand-written kernel in temper.
//!
//! A kernel is compiled for up to three [`Level`]s: the x86-64 baseline (SSE2, or any other
//! architecture), AVX2 with FMA (x86-64-v3: Haswell, Zen 1 and later) and AVX-512 F/BW/DQ/VL
//! (x86-64-v4: Skylake-SP, Ice Lake, Zen 4 and later). [`level`] says which one to run: the
//! widest the CPU has, lowered by two caps.
//!
//! - **`TEMPER_CPU_LEVEL`** (`portable`, `avx2` or `avx512`), read once per process, caps every
//!   thread: benchmarks use it to measure the AVX2 path of temper's kernels on an AVX-512
//!   machine (it caps temper's kernels only, not Burn's or gemm's own dispatch). A value that is
//!   not one of the three is ignored here; the `temper` binary refuses it at start-up
//!   ([`env_cap`] gives the error).
//! - **[`with_cap`]** caps the calling thread while a closure runs: the kernel tests run every
//!   level on one machine this way. The cap does not follow work to other threads, so a kernel
//!   that fans out (rayon) reads [`level`] once on the calling thread and passes it down.
//!
//! [`multiversion!`](crate::multiversion) writes the three builds of a plain function and the
//! `match` between them. Levels only change which instructions compute the same IEEE
//! operations in the same order (Rust never fuses a multiply and an add on its own, and FMA is
//! used only where a kernel calls `mul_add` or an intrinsic in every build alike), so every
//! level's output is bit-identical unless a kernel's documentation says otherwise.

use std::cell::Cell;
use std::sync::OnceLock;

/// The widest instruction set a kernel may use, ordered from narrowest to widest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum Level {
    /// The x86-64 baseline (SSE2), or an architecture other than x86-64.
    Portable,
    /// AVX2 and FMA (256-bit vectors; x86-64-v3).
    Avx2,
    /// AVX-512 F, BW, DQ and VL, with AVX2 and FMA (512-bit vectors; x86-64-v4).
    Avx512,
}

impl Level {
    /// Every level, narrowest first (the kernel tests run each one the CPU has).
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    /// The name `TEMPER_CPU_LEVEL` takes for this level.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// The level named `name` (`portable`, `avx2`, `avx512`; ASCII case ignored).
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// The environment variable that caps [`level`] for the whole process.
pub const ENV_CAP: &str = "TEMPER_CPU_LEVEL";

/// `TEMPER_CPU_LEVEL` could not be read as a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCap {
    /// The variable's value, at most 40 characters of it.
    pub value: String,
}

impl std::fmt::Display for InvalidCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{ENV_CAP} = {:?} is not a CPU level: expected portable, avx2 or avx512",
            self.value
        )
    }
}

impl std::error::Error for InvalidCap {}

/// The process-wide cap from `TEMPER_CPU_LEVEL`: `Ok(None)` when the variable is unset.
pub fn env_cap() -> Result<Option<Level>, InvalidCap> {
    match std::env::var_os(ENV_CAP) {
        None => Ok(None),
        Some(raw) => {
            let raw = raw.to_string_lossy();
            Level::from_name(&raw).map(Some).ok_or_else(|| InvalidCap {
                value: raw.chars().take(40).collect(),
            })
        }
    }
}

/// The CPU's widest level, lowered to `TEMPER_CPU_LEVEL` when that is set (and valid). Detected
/// once per process.
pub fn detected() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        let cpu = cpu_level();
        match env_cap() {
            Ok(Some(cap)) => cpu.min(cap),
            _ => cpu,
        }
    })
}

#[cfg(target_arch = "x86_64")]
fn cpu_level() -> Level {
    use std::arch::is_x86_feature_detected as has;
    let v3 = has!("avx2") && has!("fma");
    if v3 && has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
        Level::Avx512
    } else if v3 {
        Level::Avx2
    } else {
        Level::Portable
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_level() -> Level {
    Level::Portable
}

thread_local! {
    static THREAD_CAP: Cell<Level> = const { Cell::new(Level::Avx512) };
}

/// The level to run on this thread: [`detected`], lowered by the thread's [`with_cap`].
#[inline]
pub fn level() -> Level {
    detected().min(THREAD_CAP.with(Cell::get))
}

/// Whether the CPU, at the current [`level`], has AVX-512 VBMI (byte permutes: Ice Lake,
/// Zen 4 and later).
#[inline]
pub fn avx512_vbmi() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        level() == Level::Avx512 && std::arch::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `f` with [`level`] capped at `cap` on this thread (never raised above the CPU's), and
/// restores the previous cap afterwards, also when `f` panics.
pub fn with_cap<T>(cap: Level, f: impl FnOnce() -> T) -> T {
    struct Restore(Level);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD_CAP.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(THREAD_CAP.with(|c| c.replace(cap)));
    f()
}

/// The levels this CPU runs (under `TEMPER_CPU_LEVEL`), narrowest first: the kernel tests
/// check each one against the scalar reference.
pub fn available() -> impl Iterator<Item = Level> {
    Level::ALL.into_iter().filter(|&l| l <= detected())
}

/// Defines `fn name(args) -> ret { body }` compiled three times (baseline, AVX2+FMA and
/// AVX-512), running the build for [`level`]. The body is plain code written for the
/// auto-vectorizer; generic parameters may be `const` ones only.
///
/// ```ignore
/// temper_simd::multiversion! {
///     /// Adds `b` to `a`.
///     pub(crate) fn add(a: &mut [f32], b: &[f32]) {
///         for (a, b) in a.iter_mut().zip(b) { *a += b; }
///     }
/// }
/// ```
#[macro_export]
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$(const $cg:ident: $ct:ty),*>)?
            ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2 $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? {
                    portable $(::<$($cg),*>)? ($($arg),*)
                }
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                fn avx512 $(<$(const $cg: $ct),*>)? ($($arg: $ty),*) $(-> $ret)? {
                    portable $(::<$($cg),*>)? ($($arg),*)
                }
                match $crate::level() {
                    $crate::Level::Avx512 => {
                        // SAFETY: `avx512` is `portable` compiled with AVX-512, and the CPU has
                        // every feature it enables (`level` checked them).
                        let out = unsafe { avx512 $(::<$($cg),*>)? ($($arg),*) };
                        return out;
                    }
                    $crate::Level::Avx2 => {
                        // SAFETY: as above, with AVX2 and FMA.
                        let out = unsafe { avx2 $(::<$($cg),*>)? ($($arg),*) };
                        return out;
                    }
                    $crate::Level::Portable => {}
                }
            }
            portable $(::<$($cg),*>)? ($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_from_narrowest_to_widest() {
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
    }

    #[test]
    fn names_round_trip_and_ignore_case() {
        for l in Level::ALL {
            assert_eq!(Level::from_name(l.name()), Some(l));
        }
        assert_eq!(Level::from_name(" AVX2 "), Some(Level::Avx2));
        assert_eq!(Level::from_name("avx3"), None);
        assert_eq!(Level::from_name(""), None);
    }

    #[test]
    fn a_thread_cap_lowers_the_level_and_is_restored_after_a_panic() {
        let top = level();
        with_cap(Level::Portable, || assert_eq!(level(), Level::Portable));
        let caught = std::panic::catch_unwind(|| with_cap(Level::Portable, || panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(level(), top);
    }

    #[test]
    fn a_thread_cap_never_raises_the_level_above_the_cpu() {
        with_cap(Level::Portable, || {
            with_cap(Level::Avx512, || assert_eq!(level(), detected()));
        });
    }

    #[test]
    fn a_thread_cap_does_not_reach_other_threads() {
        with_cap(Level::Portable, || {
            let other = std::thread::spawn(level).join().unwrap();
            assert_eq!(other, detected());
        });
    }

    #[test]
    fn available_levels_start_at_portable_and_end_at_the_detected_one() {
        let levels: Vec<Level> = available().collect();
        assert_eq!(levels.first(), Some(&Level::Portable));
        assert_eq!(levels.last(), Some(&detected()));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_detected_level_matches_the_cpu_features() {
        use std::arch::is_x86_feature_detected as has;
        if std::env::var_os(ENV_CAP).is_some() {
            return;
        }
        let v4 = has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl");
        let v3 = has!("avx2") && has!("fma");
        let expected = match (v3, v4) {
            (true, true) => Level::Avx512,
            (true, false) => Level::Avx2,
            _ => Level::Portable,
        };
        assert_eq!(detected(), expected);
    }

    crate::multiversion! {
        /// The sum of squares, the same at every level for integers.
        fn sum_of_squares<const K: usize>(x: &[u32]) -> u64 {
            x.iter().map(|&v| u64::from(v) * u64::from(v)).sum::<u64>() * K as u64
        }
    }

    #[test]
    fn a_multiversioned_function_gives_the_same_result_at_every_level() {
        let x: Vec<u32> = (0..1000).collect();
        // Σ k² for k < 1000 = 999·1000·1999/6.
        let expected = 999 * 1000 * 1999 / 6;
        for l in available() {
            assert_eq!(with_cap(l, || sum_of_squares::<1>(&x)), expected, "{l:?}");
        }
    }
}
