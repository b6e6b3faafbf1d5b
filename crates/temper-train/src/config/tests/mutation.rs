//! A bounded, seeded mutation fuzzer for the experiment-file parser: thousands of mutants of
//! a full experiment (every section, augmentation and tuning included) must each parse and
//! validate to `Ok` or a `TrainError`, never panic. The coverage-guided targets for the binary
//! data formats live in `fuzz/`; this parser needs Burn, which cargo-fuzz would rebuild with
//! instrumentation, so it is fuzzed here, in the normal test run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Experiment;

/// Every section, with values near their limits.
const SEED_EXPERIMENT: &str = r#"
[data]
source = "bundled"
valid_fraction = 0.1
limit_train = 1000
[model]
kind = "cnn"
channels = [32, 64]
hidden = [128]
dropout = { kind = "dropout2d", p = 0.25 }
[optim]
kind = "sgd"
lr = 0.05
momentum = 0.9
nesterov = true
weight_decay = 5e-4
weight_decay_mode = "decoupled"
clip = { global_norm = 1.0 }
ema = { decay = 0.999, warmup = true }
[regularization]
l1 = 1e-5
l2 = 1e-4
exclude = ["*.bias"]
[schedule]
kind = "cosine-restarts"
t0 = 2
t_mult = 2
min_lr = 1e-5
warmup = { epochs = 1 }
plateau = { monitor = "valid_loss", patience = 2, factor = 0.5 }
[train]
epochs = 3
batch_size = 64
seed = 7
device = "flex"
[early_stopping]
monitor = "valid_accuracy"
patience = 3
min_delta = 0.001
[augment]
ops = [ { op = "random-crop", size = 28, padding = 2 }, { op = "rotate", degrees = 15 } ]
mixup = { alpha = 0.2 }
[tune]
trials = 4
sampler = "tpe"
[tune.space]
"optim.lr" = { log_uniform = [1e-4, 1e-1] }
"model.dropout.p" = { uniform = [0.0, 0.5] }
"#;

/// Replacement tokens that reach the value checks: signs, zeros, huge, non-finite, types.
const TOKENS: [&str; 14] = [
    "-1",
    "0",
    "1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "\"x\"",
    "[]",
    "{}",
    "true",
    "18446744073709551615",
    "0.9999999",
    "[0, 0]",
];

fn mutate(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..rng.random_range(1..4) {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let i = rng.random_range(0..lines.len());
        match rng.random_range(0..6) {
            // Replace a value with a token.
            0 | 1 => {
                if let Some((key, _)) = lines[i].split_once('=') {
                    let token = TOKENS[rng.random_range(0..TOKENS.len())];
                    lines[i] = format!("{key}= {token}");
                }
            }
            2 => {
                lines.remove(i);
            }
            3 => {
                let copy = lines[i].clone();
                lines.insert(rng.random_range(0..=lines.len()), copy);
            }
            // Flip a byte to another printable character.
            4 => {
                let mut bytes = lines[i].clone().into_bytes();
                if !bytes.is_empty() {
                    let j = rng.random_range(0..bytes.len());
                    bytes[j] = rng.random_range(0x20..0x7f);
                }
                lines[i] = String::from_utf8(bytes).expect("printable ASCII");
            }
            // Truncate the file.
            _ => lines.truncate(i),
        }
    }
    lines.join("\n")
}

#[test]
fn the_seed_experiment_is_valid() {
    let exp = Experiment::from_toml_str(SEED_EXPERIMENT, "seed.toml").unwrap();
    exp.validate().unwrap();
}

#[test]
fn mutated_experiments_give_ok_or_an_error_never_a_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7e57);
    let (mut ok, mut rejected) = (0, 0);
    for n in 0..3000 {
        let text = mutate(&mut rng, SEED_EXPERIMENT);
        let outcome = std::panic::catch_unwind(|| {
            let exp = Experiment::from_toml_str(&text, "mutant.toml")?;
            exp.validate()?;
            exp.resolved()?;
            crate::run::augment::parse_augment(exp.augment.as_ref())?;
            Ok::<(), crate::TrainError>(())
        });
        match outcome {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                rejected += 1;
                let message = e.to_string();
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "mutant {n}: {message:?}"
                );
            }
            Err(_) => panic!("mutant {n} panicked:\n{text}"),
        }
    }
    // Both outcomes are exercised: the mutations are neither all harmless nor all fatal.
    assert!(ok > 100 && rejected > 100, "ok {ok}, rejected {rejected}");
}
