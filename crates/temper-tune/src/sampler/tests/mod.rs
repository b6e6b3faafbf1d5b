//! Tests of [`super`]: each sampler through a [`Study`] on the in-memory storage (coverage,
//! reproducibility, conditions, convergence on a quadratic) and exact resumption from a study
//! file; the GP's own tests are in `gp.rs`.

use std::collections::BTreeSet;

use super::*;
use crate::pruner::NopPruner;
use crate::storage::MemoryStorage;
#[cfg(feature = "sqlite")]
use crate::storage::SqliteStorage;
use crate::study::Study;
use crate::trial::TrialOutcome;
use crate::value::ParamValue as V;

fn space(text: &str) -> Space {
    Space::from_toml_str(text).unwrap()
}

fn study(space: Space, kind: SamplerKind, seed: u64) -> Study {
    Study::create(
        Box::new(MemoryStorage::new()),
        "t",
        Direction::Minimize,
        space,
        kind.build().unwrap(),
        Box::new(NopPruner),
        seed,
    )
    .unwrap()
}

/// Runs `n` trials of `f`, returning the parameters asked.
fn drive(study: &mut Study, n: usize, f: impl Fn(&Params) -> f64) -> Vec<Params> {
    (0..n)
        .map(|_| {
            let t = study.ask().unwrap();
            study
                .tell(t.number, TrialOutcome::Complete(f(&t.params)))
                .unwrap();
            t.params
        })
        .collect()
}

const MIXED: &str = r#"
kind = { choice = ["a", "b"] }
n = { int = [1, 3] }
lr = { log_uniform = [1e-3, 1e-1], grid = [0.001, 0.01], when = { kind = ["a"] } }
"#;

#[test]
fn grid_covers_every_point_once_then_reports_exhausted() {
    // kind=a: 3 values of n × 2 of lr = 6 points; kind=b: 3 points (lr inactive). Total 9.
    let mut s = study(space(MIXED), SamplerKind::parse("grid").unwrap(), 3);
    let asked = drive(&mut s, 9, |_| 0.0);
    let distinct: BTreeSet<String> = asked.iter().map(|p| format!("{p:?}")).collect();
    assert_eq!(distinct.len(), 9);
    let expected = GridSampler::new(5).points(&space(MIXED)).unwrap();
    assert_eq!(expected.len(), 9);
    for p in &expected {
        assert!(asked.contains(p), "{p:?} never asked");
    }
    assert_eq!(s.ask().unwrap_err(), TuneError::GridExhausted(9));
    // Float grids without explicit values: n points, log-spaced on log scales.
    let g = space(r#"x = { log_uniform = [1e-3, 1e-1] }"#).params()[0].grid_values(3);
    let xs: Vec<f64> = g.iter().map(|v| v.as_f64().unwrap()).collect();
    for (x, e) in xs.iter().zip([1e-3, 1e-2, 1e-1]) {
        assert!((x / e - 1.0).abs() < 1e-12, "{xs:?}");
    }
}

#[test]
fn random_and_sobol_are_reproducible_per_seed_and_in_bounds() {
    let sp = r#"
x = { uniform = [-2.0, 3.0] }
y = { log_uniform = [1e-4, 1.0] }
k = { int = [2, 20], step = 2 }
c = { choice = [true, false] }
"#;
    for kind in [SamplerKind::Random, SamplerKind::Sobol] {
        let a = drive(&mut study(space(sp), kind.clone(), 7), 30, |_| 0.0);
        let b = drive(&mut study(space(sp), kind.clone(), 7), 30, |_| 0.0);
        let c = drive(&mut study(space(sp), kind.clone(), 8), 30, |_| 0.0);
        assert_eq!(a, b, "{kind:?} not reproducible");
        assert_ne!(a, c, "{kind:?} ignores the seed");
        for p in &a {
            space(sp).check(p).unwrap();
        }
    }
}

#[test]
fn sobol_first_64_points_stratify_each_axis() {
    // A (t, m, s)-net in base 2 with t = 0 in each 1-d projection: the first 2^6 points of a
    // (scrambled) Sobol sequence put exactly one point in each interval [i/64, (i+1)/64).
    let mut s = study(
        space("x = { uniform = [0.0, 1.0] }\ny = { uniform = [0.0, 1.0] }"),
        SamplerKind::Sobol,
        11,
    );
    let pts = drive(&mut s, 64, |_| 0.0);
    for key in ["x", "y"] {
        let mut bins: Vec<usize> = pts
            .iter()
            .map(|p| (p.float(key).unwrap() * 64.0) as usize)
            .collect();
        bins.sort();
        assert_eq!(bins, (0..64).collect::<Vec<_>>(), "{key}");
    }
}

#[test]
fn log_scale_median_is_the_geometric_mean() {
    // For log-uniform on [1e-4, 1], log10 x is uniform on [-4, 0]: its median is -2, the
    // geometric mean 1e-2. 1000 random draws: the sample median's standard error in log10
    // units is about 4 · 0.5 / sqrt(1000) ≈ 0.063; allow 0.2. Sobol is stratified: 0.01.
    let sp = space("y = { log_uniform = [1e-4, 1.0] }");
    for (kind, n, tol) in [
        (SamplerKind::Random, 1000, 0.2),
        (SamplerKind::Sobol, 1024, 0.01),
    ] {
        let mut logs: Vec<f64> = drive(&mut study(sp.clone(), kind, 1), n, |_| 0.0)
            .iter()
            .map(|p| p.float("y").unwrap().log10())
            .collect();
        logs.sort_by(f64::total_cmp);
        let median = logs[n / 2];
        assert!((median + 2.0).abs() < tol, "median log10 = {median}");
    }
}

#[test]
fn conditional_parameters_are_absent_when_inactive() {
    let kinds = [
        SamplerKind::Random,
        SamplerKind::Sobol,
        SamplerKind::parse("tpe").unwrap(),
        SamplerKind::Gp(GpSettings {
            n_preliminary_samples: 64,
            ..GpSettings::default()
        }),
    ];
    for kind in kinds {
        let mut s = study(space(MIXED), kind.clone(), 5);
        let asked = drive(&mut s, 16, |p| {
            p.float("n").unwrap() + p.float("lr").unwrap_or(0.5)
        });
        for p in &asked {
            let a = p.get("kind") == Some(&V::Str("a".into()));
            assert_eq!(p.get("lr").is_some(), a, "{kind:?}: {p:?}");
        }
        assert!(
            asked.iter().any(|p| p.get("lr").is_none()),
            "{kind:?} never picked b"
        );
    }
}

#[test]
fn tpe_concentrates_near_the_optimum_of_a_quadratic() {
    // (x - 0.3)^2 on [-2, 2]; the first 10 trials are random (n_startup_trials).
    let mut s = study(
        space("x = { uniform = [-2.0, 2.0] }"),
        SamplerKind::parse("tpe").unwrap(),
        0,
    );
    let xs: Vec<f64> = drive(&mut s, 60, |p| (p.float("x").unwrap() - 0.3).powi(2))
        .iter()
        .map(|p| p.float("x").unwrap())
        .collect();
    // Uniform x lands within 0.5 of the optimum with probability 1/4; among the last 20
    // suggestions at least half must (10 of 20 at p = 1/4 has binomial tail 0.014), and the
    // best x found must be within 0.05.
    let near = xs[40..].iter().filter(|x| (*x - 0.3).abs() < 0.5).count();
    let closest = xs
        .iter()
        .map(|x| (x - 0.3).abs())
        .fold(f64::INFINITY, f64::min);
    assert!(near >= 10, "only {near} of the last 20 within 0.5: {xs:?}");
    assert!(closest < 0.05, "closest {closest}");
}

#[cfg(feature = "sqlite")]
#[test]
fn tpe_and_gp_resume_exactly_from_a_study_file() {
    // 12 trials, stop, reopen, 6 more == 18 uninterrupted trials: the samplers depend only on
    // (seed, number, stored history), GP's warm start included (stored in attrs).
    let sp = "x = { uniform = [-1.0, 1.0] }\nk = { choice = [\"u\", \"v\"] }";
    let f = |p: &Params| {
        p.float("x").unwrap().powi(2)
            + if p.get("k") == Some(&V::Str("u".into())) {
                0.0
            } else {
                0.5
            }
    };
    for kind in [
        SamplerKind::parse("tpe").unwrap(),
        SamplerKind::Gp(GpSettings {
            n_preliminary_samples: 64,
            ..GpSettings::default()
        }),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let open = || {
            Study::create(
                Box::new(SqliteStorage::open(&path).unwrap()),
                "r",
                Direction::Minimize,
                space(sp),
                kind.build().unwrap(),
                Box::new(NopPruner),
                9,
            )
            .unwrap()
        };
        let mut first = drive(&mut open(), 12, f);
        first.extend(drive(&mut open(), 6, f));
        let straight = drive(&mut study(space(sp), kind.clone(), 9), 18, f);
        assert_eq!(first, straight, "{kind:?}");
    }
}

mod gp;
mod tpe;
