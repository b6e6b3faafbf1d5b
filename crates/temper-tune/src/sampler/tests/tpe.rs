//! TPE: checks against Optuna's rules and its `_ParzenEstimator`'s outputs.
//!
//! Reference numbers come from Optuna 5.0.0: `_ParzenEstimator(observations, search_space,
//! _ParzenEstimatorParameters(prior_weight=1.0, consider_magic_clip=True,
//! consider_endpoints=False, weights=default_weights, multivariate=True)).log_pdf(points)`
//! (`optuna/samplers/_tpe/parzen_estimator.py`), the settings `TPESampler()` uses by default.

use super::super::parzen::{Parzen, ParzenParams, default_weights, neighbour_sigmas};
use super::super::tpe::{n_below, split};
use super::*;
use crate::space::ParamSpec;
use crate::trial::TrialState;

const OPTUNA: ParzenParams = ParzenParams {
    prior_weight: 1.0,
    consider_magic_clip: true,
    consider_endpoints: false,
};

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < tol, "got {got:?}, want {want:?}");
    }
}

/// `Parzen::log_pdf` at each point of `points` (external values, one row per point).
fn log_pdfs(sp: &Space, obs: &[Vec<V>], points: &[Vec<V>], p: ParzenParams) -> Vec<f64> {
    let specs: Vec<&ParamSpec> = sp.params().iter().collect();
    let internal = |row: &Vec<V>| -> Vec<f64> {
        specs
            .iter()
            .zip(row)
            .map(|(s, v)| s.to_internal(v).unwrap())
            .collect()
    };
    let obs: Vec<Vec<f64>> = obs.iter().map(internal).collect();
    let parzen = Parzen::new(&specs, &obs, p);
    points
        .iter()
        .map(|x| parzen.log_pdf(&internal(x)))
        .collect()
}

#[test]
fn parzen_log_pdf_matches_optuna_on_a_joint_mixed_space() {
    // One product kernel per observation over a float, a log float, an int with step 2 and a
    // categorical, plus the prior; each numeric bandwidth from the neighbour rule and clipped
    // at range / min(100, n + 2).
    let sp = space(
        r#"
a_x = { uniform = [-5.0, 10.0] }
b_y = { log_uniform = [1e-3, 1.0] }
c_n = { int = [1, 9], step = 2 }
d_c = { choice = ["a", "b", "c"] }
"#,
    );
    let row = |x: f64, y: f64, n: i64, c: &str| {
        vec![V::Float(x), V::Float(y), V::Int(n), V::Str(c.into())]
    };
    let obs = [
        row(2.0, 0.01, 3, "a"),
        row(-4.0, 0.5, 9, "c"),
        row(7.5, 0.002, 1, "b"),
        row(3.0, 0.1, 5, "a"),
        row(9.0, 0.03, 5, "a"),
    ];
    let points = [
        row(2.5, 0.02, 3, "a"),
        row(-5.0, 0.001, 1, "b"),
        row(9.9, 0.9, 9, "c"),
        row(0.0, 0.3, 7, "a"),
    ];
    let want = [
        -6.313372332033753,
        -8.671930061382117,
        -8.421882283580052,
        -7.071571797172358,
    ];
    assert_close(&log_pdfs(&sp, &obs, &points, OPTUNA), &want, 1e-9);
}

const OBS30: [f64; 30] = [
    0.549, 0.715, 0.603, 0.545, 0.424, 0.646, 0.438, 0.892, 0.964, 0.383, 0.792, 0.529, 0.568,
    0.926, 0.071, 0.087, 0.02, 0.833, 0.778, 0.87, 0.979, 0.799, 0.461, 0.781, 0.118, 0.64, 0.143,
    0.945, 0.522, 0.415,
];

#[test]
fn parzen_log_pdf_matches_optuna_with_the_weight_ramp_and_either_endpoint_rule() {
    // 30 observations: the 5 oldest are weighted by the ramp of `default_weights`.
    let sp = space("u = { uniform = [0.0, 1.0] }");
    let obs: Vec<Vec<V>> = OBS30.iter().map(|u| vec![V::Float(*u)]).collect();
    let points: Vec<Vec<V>> = [0.0, 0.123, 0.5, 0.999]
        .iter()
        .map(|u| vec![V::Float(*u)])
        .collect();
    let want = [
        -0.4654543905375685,
        0.05054302751834283,
        0.11231430771714135,
        -0.05852703313583074,
    ];
    assert_close(&log_pdfs(&sp, &obs, &points, OPTUNA), &want, 1e-9);
    let loose = ParzenParams {
        consider_endpoints: true,
        consider_magic_clip: false,
        ..OPTUNA
    };
    let want = [
        -0.4663034598402159,
        0.0531953984892547,
        -0.20234892338511568,
        -0.30920819967356145,
    ];
    assert_close(&log_pdfs(&sp, &obs, &points, loose), &want, 1e-9);
}

#[test]
fn parzen_without_observations_is_the_truncated_prior() {
    // N(0.5, 1) truncated to [0, 1]: log pdf = −z²/2 − ln √(2π) − ln(Φ(0.5) − Φ(−0.5)), with
    // Φ(0.5) − Φ(−0.5) = 0.38292492254802624; Optuna gives the same numbers.
    let sp = space("u = { uniform = [0.0, 1.0] }");
    let points: Vec<Vec<V>> = [0.0, 0.123, 0.5, 0.999]
        .iter()
        .map(|u| vec![V::Float(*u)])
        .collect();
    let closed: Vec<f64> = [0.0f64, 0.123, 0.5, 0.999]
        .iter()
        .map(|u| {
            let z = u - 0.5;
            -0.5 * z * z
                - 0.5 * (2.0 * std::f64::consts::PI).ln()
                - 0.382_924_922_548_026_24f64.ln()
        })
        .collect();
    let got = log_pdfs(&sp, &[], &points, OPTUNA);
    assert_close(&got, &closed, 1e-12);
    let optuna = [
        -0.08402219950905043,
        -0.030086699509050407,
        0.04097780049094957,
        -0.08352269950905034,
    ];
    assert_close(&got, &optuna, 1e-9);
}

#[test]
fn neighbour_bandwidth_is_the_larger_gap_and_the_inner_gap_at_the_ends() {
    // Sorted 2, 3, 7, 9.5 with the range ends 0 and 10: gaps 2 | 1 | 4 | 2.5 | 0.5. Each point
    // takes the larger of its two gaps; without consider_endpoints the outermost take their
    // inner gap (2 → 1, 9.5 → 2.5). `compute_sigmas` in Optuna's parzen_estimator.py.
    let col = [2.0, 7.0, 3.0, 9.5];
    assert_eq!(
        neighbour_sigmas(&col, 0.0, 10.0, false),
        [1.0, 4.0, 4.0, 2.5]
    );
    assert_eq!(
        neighbour_sigmas(&col, 0.0, 10.0, true),
        [2.0, 4.0, 4.0, 2.5]
    );
    // One observation: both gaps to the ends count, whatever consider_endpoints says.
    assert_eq!(neighbour_sigmas(&[2.0], 0.0, 10.0, false), [8.0]);
}

#[test]
fn default_weights_ramp_the_oldest_and_the_below_group_is_a_gamma_share_up_to_25() {
    // Optuna's default_weights(30): linspace(1/30, 1, 5) then 25 ones.
    let w = default_weights(30);
    assert_eq!(w.len(), 30);
    assert_close(
        &w[..6],
        &[
            1.0 / 30.0,
            0.275,
            0.516_666_666_666_666_7,
            0.758_333_333_333_333_3,
            1.0,
            1.0,
        ],
        1e-12,
    );
    assert_eq!(default_weights(24), vec![1.0; 24]);
    assert_eq!(default_weights(26)[0], 1.0 / 26.0);
    // Optuna's default_gamma(n) = min(ceil(0.1 n), 25); temper's default γ = 0.15.
    for (n, g) in [(1, 1), (10, 1), (11, 2), (49, 5), (250, 25), (1000, 25)] {
        assert_eq!(n_below(n, 0.1), g, "n = {n}");
    }
    for (n, g) in [(10, 2), (20, 3), (21, 4), (50, 8), (200, 25)] {
        assert_eq!(n_below(n, 0.15), g, "n = {n}");
    }
}

fn trial(number: u64, state: TrialState, x: f64) -> Trial {
    let mut t = Trial::new(number, 0.0);
    t.state = state;
    t.params.insert("x", V::Float(x));
    t
}

#[test]
fn split_ranks_pruned_trials_by_depth_then_value_and_puts_running_ones_above() {
    let sp = space("x = { uniform = [0.0, 20.0] }");
    let split_of = |trials: &[Trial], number: u64| -> (Vec<u64>, Vec<u64>) {
        let ctx = SampleContext {
            space: &sp,
            trials,
            number,
            seed: 0,
            direction: Direction::Minimize,
        };
        let (b, a) = split(&ctx, 0.1);
        let numbers = |v: Vec<&Trial>| v.iter().map(|t| t.number).collect();
        (numbers(b), numbers(a))
    };
    // 12 complete trials with values 11, 10, ..., 0: gamma(12) = 2 puts the best two below.
    let complete = |number: u64, value: f64| {
        let mut t = trial(number, TrialState::Complete, 1.0);
        t.value = Some(value);
        t
    };
    let trials: Vec<Trial> = (0..12).map(|i| complete(i, 11.0 - i as f64)).collect();
    let (b, a) = split_of(&trials, 12);
    assert_eq!(b, [10, 11]);
    assert_eq!(a, (0..10).collect::<Vec<_>>());
    // One complete trial and 40 pruned: gamma(41) = 5 takes the complete one, then pruned
    // ones by `_get_pruned_trial_score` = (−last step, last value), NaN counting as +inf and
    // no intermediate value as (1, 0.0): 3 (step 9), 1 (step 5, value 1), 2 (step 5, value
    // 2), 4 (step 5, NaN).
    let pruned = |number: u64, steps: &[(u64, f64)]| {
        let mut t = trial(number, TrialState::Pruned, 1.0);
        t.intermediate.extend(steps.iter().copied());
        t
    };
    let mut trials = vec![
        complete(0, 100.0),
        pruned(1, &[(1, 9.0), (5, 1.0)]),
        pruned(2, &[(5, 2.0)]),
        pruned(3, &[(9, 50.0)]),
        pruned(4, &[(5, f64::NAN)]),
    ];
    trials.extend((5..41).map(|i| pruned(i, &[])));
    let (b, _) = split_of(&trials, 41);
    assert_eq!(b, [0, 1, 2, 3, 4]);
    // Another worker's running trial with parameters is a constant liar: it joins the above
    // group and changes no count; the trial being sampled (no parameters yet) is left out.
    trials.push(trial(41, TrialState::Running, 3.0));
    trials.push(Trial::new(42, 0.0));
    let (b, a) = split_of(&trials, 42);
    assert_eq!(b, [0, 1, 2, 3, 4]);
    assert!(a.contains(&41) && !a.contains(&42), "{a:?}");
    assert_eq!(a.len(), 41 - 5 + 1);
}

#[test]
fn integer_candidates_are_scored_on_their_grid() {
    // Optuna rounds a drawn integer to low + k·step before scoring it
    // (`_MixtureOfProductDistribution.sample`); the internal value is ln v for log ints.
    let sp = space("a = { int = [1, 9], step = 2 }\nb = { int = [1, 1000], log = true }");
    let specs: Vec<&ParamSpec> = sp.params().iter().collect();
    let obs = vec![vec![3.0, 10f64.ln()], vec![7.0, 200f64.ln()]];
    let parzen = Parzen::new(&specs, &obs, OPTUNA);
    let mut rng = SampleContext {
        space: &sp,
        trials: &[],
        number: 0,
        seed: 1,
        direction: Direction::Minimize,
    }
    .rng();
    for c in parzen.sample(&mut rng, 200) {
        assert!([1.0, 3.0, 5.0, 7.0, 9.0].contains(&c[0]), "{c:?}");
        let m = c[1].exp();
        assert!(
            (m - m.round()).abs() < 1e-9 && (1.0..=1000.0).contains(&m),
            "{c:?}"
        );
    }
}

#[test]
fn startup_trials_are_the_sobol_points_and_random_without_sobol_startup() {
    // The first n_startup_trials suggestions are those of the Sobol sampler with the same
    // seed; with `sobol_startup = false` they are the random sampler's (Optuna's behaviour).
    let sp = "x = { uniform = [-2.0, 3.0] }\nk = { int = [1, 9] }\nc = { choice = [\"u\", \"v\"] }";
    let f = |p: &Params| p.float("x").unwrap() + p.float("k").unwrap();
    for (sobol_startup, reference) in [(true, SamplerKind::Sobol), (false, SamplerKind::Random)] {
        let tpe = SamplerKind::Tpe(TpeSettings {
            sobol_startup,
            ..TpeSettings::default()
        });
        let got = drive(&mut study(space(sp), tpe, 4), 10, f);
        let want = drive(&mut study(space(sp), reference, 4), 10, f);
        assert_eq!(got, want, "sobol_startup = {sobol_startup}");
    }
}

#[test]
fn settings_out_of_range_are_errors_naming_the_key() {
    let bad = |s: TpeSettings| match TpeSampler::new(s) {
        Err(TuneError::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    for gamma in [0.0, -0.1, 1.5, f64::NAN] {
        let s = TpeSettings {
            gamma,
            ..TpeSettings::default()
        };
        assert_eq!(bad(s), "sampler.gamma");
    }
    let s = TpeSettings {
        n_ei_candidates: 0,
        ..TpeSettings::default()
    };
    assert_eq!(bad(s), "sampler.n_ei_candidates");
    let s = TpeSettings {
        prior_weight: 0.0,
        ..TpeSettings::default()
    };
    assert_eq!(bad(s), "sampler.prior_weight");
    assert!(
        TpeSampler::new(TpeSettings {
            gamma: 1.0,
            ..TpeSettings::default()
        })
        .is_ok()
    );
}
