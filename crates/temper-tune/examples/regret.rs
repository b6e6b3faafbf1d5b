//! Median simple regret of the samplers on Branin and Hartmann-6, seeds 0–19.
//!
//! `cargo run --release -p temper-tune --example regret` prints a markdown table: the median
//! over seeds of (best value found − global minimum) after 20 and 50 trials, and the mean
//! seconds per 50-trial run. Functions and minima: Surjanovic & Bingham, "Virtual Library of
//! Simulation Experiments" (Branin min 0.397887, Hartmann-6 min −3.32237).

use std::time::Instant;

use temper_tune::{
    Direction, MemoryStorage, NopPruner, ParamSpec, Sampler, SamplerKind, Space, Study, TpeSettings,
};

const SEEDS: u64 = 20;
const TRIALS: usize = 50;

#[path = "../benches/functions/mod.rs"]
mod functions;
use functions::{branin, hartmann6};

struct Problem {
    name: &'static str,
    bounds: Vec<(f64, f64)>,
    f: fn(&[f64]) -> f64,
    min: f64,
}

fn space(p: &Problem) -> Space {
    let specs = p
        .bounds
        .iter()
        .enumerate()
        .map(|(i, (lo, hi))| {
            ParamSpec::new(
                format!("x{i}"),
                temper_tune::Distribution::Float {
                    low: *lo,
                    high: *hi,
                    log: false,
                },
            )
        })
        .collect();
    Space::new(specs).expect("valid space")
}

/// Best-so-far values after each trial of one run.
fn run(p: &Problem, sampler: Box<dyn Sampler>, seed: u64) -> Vec<f64> {
    let mut study = Study::create(
        Box::new(MemoryStorage::new()),
        "regret",
        Direction::Minimize,
        space(p),
        sampler,
        Box::new(NopPruner),
        seed,
    )
    .expect("study");
    let mut best = f64::INFINITY;
    let mut trace = Vec::with_capacity(TRIALS);
    for _ in 0..TRIALS {
        let t = study.ask().expect("ask");
        let x: Vec<f64> = (0..p.bounds.len())
            .map(|i| t.params.float(&format!("x{i}")).expect("param"))
            .collect();
        let v = (p.f)(&x);
        best = best.min(v);
        trace.push(best);
        study
            .tell(t.number, temper_tune::TrialOutcome::Complete(v))
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

fn main() {
    let problems = [
        Problem {
            name: "Branin",
            bounds: vec![(-5.0, 10.0), (0.0, 15.0)],
            f: branin,
            min: 0.397887,
        },
        Problem {
            name: "Hartmann-6",
            bounds: vec![(0.0, 1.0); 6],
            f: hartmann6,
            min: -3.32237,
        },
    ];
    let samplers: Vec<(&str, SamplerKind)> = vec![
        ("random", SamplerKind::Random),
        ("sobol (scrambled)", SamplerKind::Sobol),
        (
            "tpe (univariate)",
            SamplerKind::Tpe(TpeSettings {
                multivariate: false,
                ..TpeSettings::default()
            }),
        ),
        (
            "tpe (multivariate, default)",
            SamplerKind::parse("tpe").unwrap(),
        ),
        ("gp", SamplerKind::parse("gp").unwrap()),
    ];
    let header: Vec<String> = problems
        .iter()
        .flat_map(|p| [format!("{} @20", p.name), format!("{} @50", p.name)])
        .collect();
    println!(
        "| sampler | {} | seconds per 50-trial run |",
        header.join(" | ")
    );
    println!("|---|---|---|---|---|---|");
    for (name, kind) in &samplers {
        let mut cells = Vec::new();
        let mut secs = 0.0;
        for p in &problems {
            let mut at20 = Vec::new();
            let mut at50 = Vec::new();
            for seed in 0..SEEDS {
                let start = Instant::now();
                let trace = run(p, kind.build().expect("sampler"), seed);
                secs += start.elapsed().as_secs_f64();
                at20.push(trace[19] - p.min);
                at50.push(trace[TRIALS - 1] - p.min);
            }
            cells.push(format!("{:.4}", median(at20)));
            cells.push(format!("{:.4}", median(at50)));
        }
        let per_run = secs / (SEEDS as f64 * problems.len() as f64);
        println!("| {name} | {} | {per_run:.3} |", cells.join(" | "));
    }
}
