"""Median simple regret of Optuna's samplers on the problems of `examples/regret.rs`.

A measurement tool beside the Rust example, not part of CI: it prints the same markdown table
(median over seeds 0..N of best value found − global minimum after 20 and after 50 trials, and
the mean seconds per 50-trial run) for Optuna, so the two can be compared row by row.

Install (GPSampler needs PyTorch and SciPy; the CPU build of PyTorch is enough):

    pip install optuna scipy
    pip install torch --index-url https://download.pytorch.org/whl/cpu   # or: pip install torch

Run (same filters as the Rust example; names are case-insensitive):

    python3 crates/temper-tune/examples/optuna_regret.py \
        [--problem NAME[,NAME]] [--sampler NAME[,NAME]] [--seeds N]

Samplers, each seeded with the run's seed:
- `random`: `RandomSampler(seed=s)`.
- `tpe-univariate`: `TPESampler(seed=s, multivariate=False)`, the independent TPE (Optuna's
  default before 5.0).
- `tpe`: `TPESampler(seed=s, multivariate=True)`. Since Optuna 5.0, `TPESampler(seed=s)`
  is the same sampler: `multivariate=None` means multivariate for single-objective studies
  (`optuna/samplers/_tpe/sampler.py`, `_is_multivariate`).
- `tpe-group`: `TPESampler(seed=s, multivariate=True, group=True)`, the multivariate TPE
  Optuna recommends for conditional (define-by-run) spaces.
- `gp`: `GPSampler(seed=s)`.

On the conditional problem, `tpe` and `gp` model only the intersection search space (the
`branch` parameter once both branches have been tried) and draw the branch's own parameters
with their independent sampler (independent TPE, resp. `RandomSampler`), as Optuna does for
a dynamic space.

PyTorch and the BLAS run on one thread (`torch.set_num_threads(1)`, `OMP_NUM_THREADS=1`), as
temper's samplers do, so the seconds compare single-threaded costs.

Problems, definitions and minima from Surjanovic & Bingham's Virtual Library of Simulation
Experiments (https://www.sfu.ca/~ssurjano/), as in `benches/functions/mod.rs`:
- `branin`: Branin-Hoo on [-5, 10] x [0, 15], minimum 0.397887.
- `hartmann6`: Hartmann-6 on [0, 1]^6, minimum -3.32237.
- `levy`: Levy, d = 4, on [-10, 10]^4, minimum 0 at (1, 1, 1, 1).
- `rosenbrock4`: ln(1 + Rosenbrock(x)), d = 4, on [-5, 10]^4, minimum 0 at (1, 1, 1, 1).
- `conditional`: `branch` in {"branin", "hartmann3"}; "branin" suggests x0 in [-5, 10],
  x1 in [0, 15] and returns Branin(x0, x1); "hartmann3" suggests y0, y1, y2 in [0, 1] and
  returns Hartmann-3(y0, y1, y2). Global minimum -3.86278 (Hartmann-3's).
"""

import argparse
import math
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import optuna  # noqa: E402

CHECKPOINTS = (20, 50)
TRIALS = 50

BRANIN_MIN = 0.397887
HARTMANN3_MIN = -3.86278
HARTMANN6_MIN = -3.32237


def branin(x):
    x1, x2 = x
    b = 5.1 / (4.0 * math.pi**2)
    c = 5.0 / math.pi
    t = 1.0 / (8.0 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * math.cos(x1) + 10.0


def hartmann(x, alpha, a, p):
    x = np.asarray(x)
    return -float(np.sum(alpha * np.exp(-np.sum(a * (x - p) ** 2, axis=1))))


HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HARTMANN3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
HARTMANN3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
HARTMANN6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
HARTMANN6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann3(x):
    return hartmann(x, HARTMANN_ALPHA, HARTMANN3_A, HARTMANN3_P)


def hartmann6(x):
    return hartmann(x, HARTMANN_ALPHA, HARTMANN6_A, HARTMANN6_P)


def levy(x):
    w = [1.0 + (xi - 1.0) / 4.0 for xi in x]
    middle = sum(
        (wi - 1.0) ** 2 * (1.0 + 10.0 * math.sin(math.pi * wi + 1.0) ** 2) for wi in w[:-1]
    )
    last = (w[-1] - 1.0) ** 2 * (1.0 + math.sin(2.0 * math.pi * w[-1]) ** 2)
    return math.sin(math.pi * w[0]) ** 2 + middle + last


def log_rosenbrock(x):
    f = sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (x[i] - 1.0) ** 2 for i in range(len(x) - 1))
    return math.log1p(f)


def floats(trial, prefix, bounds):
    return [trial.suggest_float(f"{prefix}{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)]


def conditional(trial):
    branch = trial.suggest_categorical("branch", ["branin", "hartmann3"])
    if branch == "branin":
        return branin(floats(trial, "x", [(-5.0, 10.0), (0.0, 15.0)]))
    return hartmann3(floats(trial, "y", [(0.0, 1.0)] * 3))


def boxed(f, bounds):
    return lambda trial: f(floats(trial, "x", bounds))


# (--problem name, column title, objective on an Optuna trial, global minimum)
PROBLEMS = [
    ("branin", "Branin", boxed(branin, [(-5.0, 10.0), (0.0, 15.0)]), BRANIN_MIN),
    ("hartmann6", "Hartmann-6", boxed(hartmann6, [(0.0, 1.0)] * 6), HARTMANN6_MIN),
    ("levy", "Levy-4", boxed(levy, [(-10.0, 10.0)] * 4), 0.0),
    ("rosenbrock4", "log Rosenbrock-4", boxed(log_rosenbrock, [(-5.0, 10.0)] * 4), 0.0),
    ("conditional", "Conditional", conditional, HARTMANN3_MIN),
]

SAMPLERS = [
    ("random", lambda s: optuna.samplers.RandomSampler(seed=s)),
    ("tpe-univariate", lambda s: optuna.samplers.TPESampler(seed=s, multivariate=False)),
    ("tpe", lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True)),
    ("tpe-group", lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True, group=True)),
    ("gp", lambda s: optuna.samplers.GPSampler(seed=s)),
]


def check_minima():
    """Each function at its published minimizer gives its published minimum (6 digits)."""
    cases = [
        (branin([math.pi, 2.275]), BRANIN_MIN),
        (branin([-math.pi, 12.275]), BRANIN_MIN),
        (branin([9.42478, 2.475]), BRANIN_MIN),
        (hartmann3([0.114614, 0.555649, 0.852547]), HARTMANN3_MIN),
        (hartmann6([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]), HARTMANN6_MIN),
        (levy([1.0] * 4), 0.0),
        (log_rosenbrock([1.0] * 4), 0.0),
    ]
    for got, want in cases:
        assert abs(got - want) < 1e-5, f"f(x*) = {got}, want {want}"


def run(objective, sampler):
    """Best-so-far values after each trial of one run."""
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=TRIALS)
    values = [t.value for t in study.trials]
    return list(np.minimum.accumulate(values))


def row(make_sampler, problems, seeds):
    cells, secs = [], 0.0
    for _, _, objective, minimum in problems:
        regrets = [[] for _ in CHECKPOINTS]
        for seed in range(seeds):
            start = time.perf_counter()
            trace = run(objective, make_sampler(seed))
            secs += time.perf_counter() - start
            for r, n in zip(regrets, CHECKPOINTS):
                r.append(trace[n - 1] - minimum)
        cells += [float(np.median(r)) for r in regrets]
    return cells, secs / (seeds * len(problems))


def regret_cell(r):
    """Four decimals, or two significant digits below 0.001, as the Rust example prints."""
    if r == 0.0 or abs(r) >= 1e-3:
        return f"{r:.4f}"
    return f"{r:.1e}".replace("e-0", "e-")


def select(items, wanted, what):
    if wanted is None:
        return items
    names = [w.strip().lower() for w in wanted.split(",")]
    known = [item[0] for item in items]
    for n in names:
        if n not in known:
            sys.exit(f"optuna_regret: unknown {what} {n!r}; expected {', '.join(known)}")
    return [item for item in items if item[0] in names]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", help="comma-separated problem names")
    parser.add_argument("--sampler", help="comma-separated sampler names")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N (default 20)")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds needs a positive integer")
    check_minima()
    problems = select(PROBLEMS, args.problem, "problem")
    samplers = select(SAMPLERS, args.sampler, "sampler")

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass

    header = [f"{title} @{n}" for _, title, _, _ in problems for n in CHECKPOINTS]
    print(f"| sampler | {' | '.join(header)} | seconds per 50-trial run |")
    print(f"|---{'|---' * len(header)}|---|", flush=True)
    for name, make_sampler in samplers:
        cells, per_run = row(make_sampler, problems, args.seeds)
        text = " | ".join(regret_cell(c) for c in cells)
        print(f"| {name} | {text} | {per_run:.3f} |", flush=True)


if __name__ == "__main__":
    main()
