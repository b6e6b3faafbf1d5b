//! Median simple regret of the samplers on five test problems, over seeds 0–19 by default.
//!
//! ```text
//! cargo run --release -p temper-tune --example regret -- \
//!     [--problem NAME[,NAME]] [--sampler NAME[,NAME]] [--seeds N]
//! ```
//!
//! prints a markdown table: per problem, the median over seeds 0..N (default 20) of the simple
//! regret (best value found − global minimum) after 20 and after 50 trials, and the mean
//! seconds per 50-trial run over the problems shown. Names are case-insensitive.
//!
//! Problems (`benches/functions/`, definitions and minima from Surjanovic & Bingham's Virtual
//! Library of Simulation Experiments, <https://www.sfu.ca/~ssurjano/>):
//! - `branin`: Branin-Hoo on [-5, 10] × [0, 15], minimum 0.397887.
//! - `hartmann6`: Hartmann-6 on [0, 1]^6, minimum −3.32237.
//! - `levy`: Levy, d = 4, on [-10, 10]^4, minimum 0 at (1, 1, 1, 1).
//! - `rosenbrock4`: ln(1 + Rosenbrock(x)), d = 4, on [-5, 10]^4, minimum 0 at (1, 1, 1, 1).
//! - `conditional`: see [`conditional`]; minimum −3.86278.
//!
//! Samplers, each with its default settings otherwise: `random`, `sobol` (scrambled),
//! `tpe-univariate` (`multivariate = false`, the independent TPE), `tpe` (temper's default,
//! multivariate) and `gp`. `examples/optuna_regret.py` prints the same table for Optuna's
//! samplers.

use std::time::Instant;

use temper_tune::{
    Direction, Distribution, MemoryStorage, NopPruner, ParamSpec, ParamValue, Params, Sampler,
    SamplerKind, Space, Study, TpeSettings, TrialOutcome,
};

/// The checkpoints of the table: regret after 20 and after 50 trials.
const CHECKPOINTS: [usize; 2] = [20, 50];
const TRIALS: usize = CHECKPOINTS[CHECKPOINTS.len() - 1];
const DEFAULT_SEEDS: u64 = 20;

#[path = "../benches/functions/mod.rs"]
mod functions;
use functions::*;

/// One benchmark problem: its search space, objective and global minimum.
struct Problem {
    /// The `--problem` name.
    key: &'static str,
    /// The column title.
    title: &'static str,
    space: Space,
    f: fn(&Params) -> f64,
    min: f64,
}

/// Unconditional float parameters `{prefix}0`, `{prefix}1`, ... on `bounds`.
fn floats(prefix: &str, bounds: &[(f64, f64)]) -> Vec<ParamSpec> {
    bounds
        .iter()
        .enumerate()
        .map(|(i, &(low, high))| {
            let d = Distribution::Float {
                low,
                high,
                log: false,
            };
            ParamSpec::new(format!("{prefix}{i}"), d)
        })
        .collect()
}

/// The values of `{prefix}0..{prefix}{d-1}`.
fn point(params: &Params, prefix: &str, d: usize) -> Vec<f64> {
    (0..d)
        .map(|i| params.float(&format!("{prefix}{i}")).expect("param"))
        .collect()
}

/// A problem on the box `bounds` with parameters `x0, x1, ...`.
fn boxed(
    key: &'static str,
    title: &'static str,
    bounds: &[(f64, f64)],
    f: fn(&Params) -> f64,
    min: f64,
) -> Problem {
    let space = Space::new(floats("x", bounds)).expect("valid space");
    Problem {
        key,
        title,
        space,
        f,
        min,
    }
}

/// The conditional problem: `branch` ∈ {`"branin"`, `"hartmann3"`} picks the objective;
/// `x0` ∈ [-5, 10], `x1` ∈ [0, 15] are active only when `branch = "branin"` and give
/// Branin(x0, x1) (minimum 0.397887); `y0, y1, y2` ∈ [0, 1] are active only when
/// `branch = "hartmann3"` and give Hartmann-3(y0, y1, y2) (minimum −3.86278). The global
/// minimum is −3.86278, in the Hartmann-3 branch; the Branin branch's best regret is 4.26.
/// Minima from Surjanovic & Bingham (see the module docs).
fn conditional(params: &Params) -> f64 {
    match params.get("branch") {
        Some(ParamValue::Str(b)) if b == "branin" => branin(&point(params, "x", 2)),
        Some(ParamValue::Str(b)) if b == "hartmann3" => hartmann3(&point(params, "y", 3)),
        other => panic!("unexpected branch {other:?}"),
    }
}

fn conditional_space() -> Space {
    let branch = ParamSpec::new(
        "branch",
        Distribution::Categorical {
            choices: vec!["branin".into(), "hartmann3".into()],
        },
    );
    let when = |b: &str, specs: Vec<ParamSpec>| -> Vec<ParamSpec> {
        let on = vec![ParamValue::from(b)];
        specs
            .into_iter()
            .map(|s| s.when("branch", on.clone()))
            .collect()
    };
    let mut specs = vec![branch];
    specs.extend(when("branin", floats("x", &[(-5.0, 10.0), (0.0, 15.0)])));
    specs.extend(when("hartmann3", floats("y", &[(0.0, 1.0); 3])));
    Space::new(specs).expect("valid space")
}

fn problems() -> Vec<Problem> {
    vec![
        boxed(
            "branin",
            "Branin",
            &[(-5.0, 10.0), (0.0, 15.0)],
            |p| branin(&point(p, "x", 2)),
            BRANIN_MIN,
        ),
        boxed(
            "hartmann6",
            "Hartmann-6",
            &[(0.0, 1.0); 6],
            |p| hartmann6(&point(p, "x", 6)),
            HARTMANN6_MIN,
        ),
        boxed(
            "levy",
            "Levy-4",
            &[(-10.0, 10.0); 4],
            |p| levy(&point(p, "x", 4)),
            0.0,
        ),
        boxed(
            "rosenbrock4",
            "log Rosenbrock-4",
            &[(-5.0, 10.0); 4],
            |p| log_rosenbrock(&point(p, "x", 4)),
            0.0,
        ),
        Problem {
            key: "conditional",
            title: "Conditional",
            space: conditional_space(),
            f: conditional,
            min: HARTMANN3_MIN,
        },
    ]
}

fn samplers() -> Vec<(&'static str, SamplerKind)> {
    let univariate = TpeSettings {
        multivariate: false,
        ..TpeSettings::default()
    };
    vec![
        ("random", SamplerKind::Random),
        ("sobol", SamplerKind::Sobol),
        ("tpe-univariate", SamplerKind::Tpe(univariate)),
        ("tpe", SamplerKind::parse("tpe").expect("known sampler")),
        ("gp", SamplerKind::parse("gp").expect("known sampler")),
    ]
}

/// Each function at its published minimizer gives its published minimum (to the 6 digits
/// Surjanovic & Bingham give), so a mistyped constant shows before a long run.
fn check_minima() {
    let close = |got: f64, want: f64| {
        assert!((got - want).abs() < 1e-5, "f(x*) = {got}, want {want}");
    };
    close(branin(&BRANIN_ARGMIN), BRANIN_MIN);
    close(branin(&[-std::f64::consts::PI, 12.275]), BRANIN_MIN);
    close(branin(&[9.42478, 2.475]), BRANIN_MIN);
    close(hartmann3(&HARTMANN3_ARGMIN), HARTMANN3_MIN);
    close(hartmann6(&HARTMANN6_ARGMIN), HARTMANN6_MIN);
    close(levy(&[1.0; 4]), 0.0);
    close(log_rosenbrock(&[1.0; 4]), 0.0);
    let mut best = Params::new();
    best.insert("branch", "hartmann3".into());
    for (i, y) in HARTMANN3_ARGMIN.iter().enumerate() {
        best.insert(format!("y{i}"), (*y).into());
    }
    close(conditional(&best), HARTMANN3_MIN);
}

/// The command line: which problems and samplers, how many seeds.
struct Args {
    problems: Option<Vec<String>>,
    samplers: Option<Vec<String>>,
    seeds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        problems: None,
        samplers: None,
        seeds: DEFAULT_SEEDS,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let list = |v: String| v.split(',').map(|s| s.trim().to_lowercase()).collect();
        match flag.as_str() {
            "--problem" => args.problems = Some(list(value()?)),
            "--sampler" => args.samplers = Some(list(value()?)),
            "--seeds" => {
                let v = value()?;
                args.seeds = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--seeds needs a positive integer, got {v:?}"))?;
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(args)
}

/// The items of `all` named in `wanted` (all of them when `None`), in `all`'s order.
fn select<T>(
    all: Vec<T>,
    wanted: &Option<Vec<String>>,
    key: fn(&T) -> &str,
    what: &str,
) -> Result<Vec<T>, String> {
    let Some(wanted) = wanted else {
        return Ok(all);
    };
    if let Some(w) = wanted.iter().find(|w| !all.iter().any(|t| key(t) == *w)) {
        let names: Vec<&str> = all.iter().map(key).collect();
        return Err(format!(
            "unknown {what} {w:?}; expected {}",
            names.join(", ")
        ));
    }
    Ok(all
        .into_iter()
        .filter(|t| wanted.iter().any(|w| key(t) == w))
        .collect())
}

/// Best-so-far values after each trial of one run.
fn run(p: &Problem, sampler: Box<dyn Sampler>, seed: u64) -> Vec<f64> {
    let mut study = Study::create(
        Box::new(MemoryStorage::new()),
        "regret",
        Direction::Minimize,
        p.space.clone(),
        sampler,
        Box::new(NopPruner),
        seed,
    )
    .expect("study");
    let mut best = f64::INFINITY;
    let mut trace = Vec::with_capacity(TRIALS);
    for _ in 0..TRIALS {
        let t = study.ask().expect("ask");
        let v = (p.f)(&t.params);
        best = best.min(v);
        trace.push(best);
        study
            .tell(t.number, TrialOutcome::Complete(v))
            .expect("tell");
    }
    trace
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// One table row: the median regrets at each checkpoint of each problem, and the mean seconds
/// per run.
fn row(kind: &SamplerKind, problems: &[Problem], seeds: u64) -> (Vec<f64>, f64) {
    let mut cells = Vec::new();
    let mut secs = 0.0;
    for p in problems {
        let mut regrets = vec![Vec::new(); CHECKPOINTS.len()];
        for seed in 0..seeds {
            let start = Instant::now();
            let trace = run(p, kind.build().expect("sampler"), seed);
            secs += start.elapsed().as_secs_f64();
            for (r, n) in regrets.iter_mut().zip(CHECKPOINTS) {
                r.push(trace[n - 1] - p.min);
            }
        }
        cells.extend(regrets.into_iter().map(median));
    }
    (cells, secs / (seeds as f64 * problems.len() as f64))
}

/// Four decimals, or two significant digits below 0.001 where four decimals would read 0.
fn regret_cell(r: f64) -> String {
    if r == 0.0 || r.abs() >= 1e-3 {
        format!("{r:.4}")
    } else {
        format!("{r:.1e}")
    }
}

fn main() {
    check_minima();
    let args = parse_args().and_then(|a| {
        let problems = select(problems(), &a.problems, |p| p.key, "problem")?;
        let samplers = select(samplers(), &a.samplers, |s| s.0, "sampler")?;
        Ok((problems, samplers, a.seeds))
    });
    let (problems, samplers, seeds) = args.unwrap_or_else(|e| {
        eprintln!("regret: {e}");
        eprintln!("usage: regret [--problem NAME[,NAME]] [--sampler NAME[,NAME]] [--seeds N]");
        std::process::exit(2);
    });
    let header: Vec<String> = problems
        .iter()
        .flat_map(|p| CHECKPOINTS.map(|n| format!("{} @{n}", p.title)))
        .collect();
    println!(
        "| sampler | {} | seconds per 50-trial run |",
        header.join(" | ")
    );
    println!("|---{}|---|", "|---".repeat(header.len()));
    for (name, kind) in &samplers {
        let (cells, per_run) = row(kind, &problems, seeds);
        let cells: Vec<String> = cells.iter().map(|&c| regret_cell(c)).collect();
        println!("| {name} | {} | {per_run:.3} |", cells.join(" | "));
    }
}
