//! Ask latency with 200 complete trials in memory: one `Sampler::sample` call for trial 201
//! of a 6-parameter space (Hartmann-6 values), for TPE and GP.
//!
//! `cargo bench -p temper-tune --bench ask`

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use temper_tune::{
    Direction, Distribution, ParamSpec, SampleContext, SamplerKind, Space, Trial, TrialState,
};

mod functions;
use functions::hartmann6;

fn setup() -> (Space, Vec<Trial>) {
    let space = Space::new(
        (0..6)
            .map(|i| {
                ParamSpec::new(
                    format!("x{i}"),
                    Distribution::Float {
                        low: 0.0,
                        high: 1.0,
                        log: false,
                    },
                )
            })
            .collect(),
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let trials = (0..200)
        .map(|n| {
            let x: Vec<f64> = (0..6).map(|_| rng.random::<f64>()).collect();
            let mut t = Trial::new(n, 0.0);
            for (i, v) in x.iter().enumerate() {
                t.params.insert(format!("x{i}"), (*v).into());
            }
            t.state = TrialState::Complete;
            t.value = Some(hartmann6(&x));
            t
        })
        .collect();
    (space, trials)
}

fn bench(c: &mut Criterion) {
    let (space, mut trials) = setup();
    for name in ["tpe", "gp"] {
        let sampler = SamplerKind::parse(name).unwrap().build().unwrap();
        // Steady state: the latest trial carries what the sampler stored on it (the GP's
        // fitted hyperparameters, its warm start); trial 201 is not a 10th (cold) restart.
        let first = sampler
            .sample(&SampleContext {
                space: &space,
                trials: &trials,
                number: 200,
                seed: 0,
                direction: Direction::Minimize,
            })
            .unwrap();
        trials[199].attrs = first.attrs;
        c.bench_function(&format!("ask_{name}_200_trials"), |b| {
            b.iter(|| {
                let ctx = SampleContext {
                    space: &space,
                    trials: &trials,
                    number: 201,
                    seed: 0,
                    direction: Direction::Minimize,
                };
                sampler.sample(&ctx).unwrap()
            })
        });
    }
}

/// In a private module, the function `criterion_group!` writes is not public API and needs no
/// documentation.
mod groups {
    use super::*;

    criterion_group! {
        name = benches;
        config = Criterion::default().sample_size(20);
        targets = bench
    }
}

criterion_main!(groups::benches);
