//! Every curve against its closed form (formula and source named at each test), plus the
//! composition rules: warmup hand-off, plateau patience/cooldown, records.

use burn::lr_scheduler::LrScheduler;
use burn::lr_scheduler::LrSchedulerRecord;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::lr_scheduler::step::StepLrSchedulerConfig;
use std::f64::consts::PI;

use super::*;

fn parse(toml_text: &str) -> ScheduleSettings {
    toml::from_str(toml_text).unwrap()
}

/// The rate of the first step of each of `epochs` epochs of `spe` steps, asserting it is
/// constant within the epoch (interval = "epoch").
fn per_epoch(settings: &ScheduleSettings, lr: f64, epochs: usize, spe: usize) -> Vec<f64> {
    let mut s = LrSchedule::new(settings, lr, epochs, spe).unwrap();
    (0..epochs)
        .map(|_| {
            let first = s.next_lr();
            for _ in 1..spe {
                assert_eq!(s.next_lr(), first);
            }
            first
        })
        .collect()
}

/// The first `n` rates of a step-interval schedule.
fn per_step(settings: &ScheduleSettings, lr: f64, n: usize) -> Vec<f64> {
    let mut s = LrSchedule::new(settings, lr, 1, n).unwrap();
    (0..n).map(|_| s.next_lr()).collect()
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * w.abs().max(1e-3),
            "t={i}: got {g}, want {w}"
        );
    }
}

#[test]
fn inverse_time_matches_keras_with_and_without_staircase() {
    // Keras InverseTimeDecay: lr0 / (1 + decay_rate * step / decay_steps), floored division
    // when staircase=True.
    let smooth = parse("kind = 'inverse-time'\ndecay_rate = 0.5\ndecay_steps = 2");
    let want: Vec<f64> = (0..6).map(|t| 0.1 / (1.0 + 0.5 * t as f64 / 2.0)).collect();
    assert_close(&per_epoch(&smooth, 0.1, 6, 3), &want);
    let stairs =
        parse("kind = 'inverse-time'\ndecay_rate = 0.5\ndecay_steps = 2\nstaircase = true");
    // Staircase boundaries: t = 0,1 -> 0.1; t = 2,3 -> 0.1/1.5; t = 4,5 -> 0.1/2.
    assert_close(
        &per_epoch(&stairs, 0.1, 6, 3),
        &[0.1, 0.1, 0.1 / 1.5, 0.1 / 1.5, 0.05, 0.05],
    );
}

#[test]
fn step_and_multistep_match_pytorch_docstring_examples() {
    // torch.optim.lr_scheduler.StepLR docstring: lr = 0.05 (epoch < 30), 0.005 (30 <= epoch
    // < 60), 0.0005 (60 <= epoch < 90) for step_size=30, gamma=0.1.
    let step = parse("kind = 'step'\nstep_size = 30\ngamma = 0.1");
    let got = per_epoch(&step, 0.05, 90, 1);
    assert_close(
        &[got[0], got[29], got[30], got[59], got[60], got[89]],
        &[0.05, 0.05, 0.005, 0.005, 0.0005, 0.0005],
    );
    // MultiStepLR docstring: 0.05 (epoch < 30), 0.005 (30 <= epoch < 80), 0.0005 (epoch >= 80)
    // for milestones=[30, 80], gamma=0.1.
    let multi = parse("kind = 'multistep'\nmilestones = [30, 80]");
    let got = per_epoch(&multi, 0.05, 100, 1);
    assert_close(
        &[got[29], got[30], got[79], got[80], got[99]],
        &[0.05, 0.005, 0.005, 0.0005, 0.0005],
    );
}

#[test]
fn exponential_matches_keras_and_burn() {
    // Keras ExponentialDecay: lr0 * decay_rate ^ (step / decay_steps), floored if staircase.
    let smooth = parse("kind = 'exponential'\ngamma = 0.5\ndecay_steps = 2\ninterval = 'step'");
    let want: Vec<f64> = (0..5).map(|t| 0.8 * 0.5f64.powf(t as f64 / 2.0)).collect();
    assert_close(&per_step(&smooth, 0.8, 5), &want);
    let stairs = parse(
        "kind = 'exponential'\ngamma = 0.5\ndecay_steps = 2\nstaircase = true\ninterval = 'step'",
    );
    assert_close(&per_step(&stairs, 0.8, 5), &[0.8, 0.8, 0.4, 0.4, 0.2]);
    // With decay_steps = 1 it is PyTorch's ExponentialLR, which Burn also implements.
    let plain = parse("kind = 'exponential'\ngamma = 0.9\ninterval = 'step'");
    let mut burn = ExponentialLrSchedulerConfig::new(0.8, 0.9).init().unwrap();
    let reference: Vec<f64> = (0..7).map(|_| burn.step().base()).collect();
    assert_close(&per_step(&plain, 0.8, 7), &reference);
}

#[test]
fn polynomial_matches_pytorch_docstring_and_keras_cycle() {
    // PolynomialLR docstring, lr = 0.001, total_iters = 4, power = 1: 0.001, 0.00075, 0.0005,
    // 0.00025, then 0.0.
    let poly = parse("kind = 'polynomial'\ndecay_steps = 4");
    assert_close(
        &per_epoch(&poly, 0.001, 6, 2),
        &[0.001, 0.00075, 0.0005, 0.00025, 0.0, 0.0],
    );
    // Keras PolynomialDecay(cycle=True): decay_steps *= ceil(step / decay_steps) (1 at step 0);
    // (lr0 - end) * (1 - step / decay_steps)^power + end.
    let cyc =
        parse("kind = 'polynomial'\ndecay_steps = 2\npower = 2.0\nend_lr = 0.1\ncycle = true");
    let keras = |t: f64| {
        let d = 2.0 * (t / 2.0).ceil().max(1.0);
        0.9 * (1.0 - t / d).powi(2) + 0.1
    };
    let want: Vec<f64> = (0..6).map(|t| keras(t as f64)).collect();
    assert_close(&per_epoch(&cyc, 1.0, 6, 1), &want);
    // Cycling restarts from a lower peak: t = 2 ends cycle 1 at end_lr, t = 3 is 1/4 into
    // cycle 2 of length 4: 0.9 * (1 - 3/4)^2 + 0.1.
    assert!((keras(2.0) - 0.1).abs() < 1e-15 && (keras(3.0) - 0.15625).abs() < 1e-15);
}

#[test]
fn linear_matches_pytorch_docstring_and_burn() {
    // LinearLR docstring, lr = 0.05, start_factor = 0.5, total_iters = 4:
    // 0.025, 0.03125, 0.0375, 0.04375, then 0.05.
    let lin = parse("kind = 'linear'\nstart_factor = 0.5\ntotal = 4");
    assert_close(
        &per_epoch(&lin, 0.05, 6, 1),
        &[0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05],
    );
    let mut burn = LinearLrSchedulerConfig::new(0.025, 0.05, 4).init().unwrap();
    let reference: Vec<f64> = (0..6).map(|_| burn.step().base()).collect();
    assert_close(&per_epoch(&lin, 0.05, 6, 1), &reference);
}

#[test]
fn cosine_matches_pytorch_closed_form_and_burn() {
    // CosineAnnealingLR: eta_min + (eta_max - eta_min) * (1 + cos(pi * t / T_max)) / 2.
    let cos = parse("kind = 'cosine'\nmin_lr = 0.01");
    let want: Vec<f64> = (0..4)
        .map(|t| 0.01 + 0.09 * (1.0 + (PI * t as f64 / 4.0).cos()) / 2.0)
        .collect();
    assert_close(&per_epoch(&cos, 0.1, 4, 5), &want);
    // Per step over the whole run, against Burn's CosineAnnealingLrScheduler.
    let steps = parse("kind = 'cosine'\nmin_lr = 0.01\ninterval = 'step'");
    let mut burn = CosineAnnealingLrSchedulerConfig::new(0.1, 12)
        .with_min_lr(0.01)
        .init()
        .unwrap();
    let reference: Vec<f64> = (0..12).map(|_| burn.step().base()).collect();
    assert_close(&per_step(&steps, 0.1, 12), &reference);
    // Past t_max the rate stays at min_lr (Keras CosineDecay), where PyTorch's closed form
    // would climb back.
    let short = parse("kind = 'cosine'\nt_max = 2\nmin_lr = 0.01");
    assert_close(&per_epoch(&short, 0.1, 4, 1), &[0.1, 0.055, 0.01, 0.01]);
}

#[test]
fn step_matches_burn_step_scheduler() {
    let step = parse("kind = 'step'\nstep_size = 3\ngamma = 0.5\ninterval = 'step'");
    let mut burn = StepLrSchedulerConfig::new(0.4, 3)
        .with_gamma(0.5)
        .init()
        .unwrap();
    let reference: Vec<f64> = (0..10).map(|_| burn.step().base()).collect();
    assert_close(&per_step(&step, 0.4, 10), &reference);
}

#[test]
fn cosine_restarts_m_mul_mode_follows_timm_or_keras_with_a_floor() {
    // lr 1, min_lr 0.2 (Keras alpha = 0.2), m_mul 0.5, t0 = 2, t_mult = 2: cycles [0,2),
    // [2,6), [6,14). With c = (1 + cos(pi * t_cur / T_i)) / 2:
    // timm (cosine_lr.py, cycle_decay): lr_min + (lr * m^i - lr_min) * c;
    // Keras (CosineDecayRestarts): lr * ((1 - alpha) * m^i * c + alpha).
    let c = |cur: f64, len: f64| (1.0 + (PI * cur / len).cos()) / 2.0;
    let timm = |i: i32, cur, len| 0.2 + (0.5f64.powi(i) - 0.2) * c(cur, len);
    let keras = |i: i32, cur, len| (1.0 - 0.2) * 0.5f64.powi(i) * c(cur, len) + 0.2;
    let at = [
        (0, 0.0, 2.0),
        (0, 1.0, 2.0),
        (1, 0.0, 4.0),
        (1, 3.0, 4.0),
        (2, 0.0, 8.0),
        (2, 5.0, 8.0),
    ];
    let picks = [0, 1, 2, 5, 6, 11];
    let base = "kind = 'cosine-restarts'\nt0 = 2\nt_mult = 2.0\nm_mul = 0.5\nmin_lr = 0.2";
    for (mode, form) in [
        ("", &timm as &dyn Fn(i32, f64, f64) -> f64),
        ("\nm_mul_mode = 'timm'", &timm),
        ("\nm_mul_mode = 'keras'", &keras),
    ] {
        let got = per_epoch(&parse(&format!("{base}{mode}")), 1.0, 12, 1);
        let got: Vec<f64> = picks.iter().map(|&t| got[t]).collect();
        let want: Vec<f64> = at.iter().map(|&(i, cur, len)| form(i, cur, len)).collect();
        assert_close(&got, &want);
    }
    // They differ from the first restart on: timm's second peak is 0.5, Keras' 0.6.
    assert!((timm(1, 0.0, 4.0) - 0.5).abs() < 1e-15 && (keras(1, 0.0, 4.0) - 0.6).abs() < 1e-15);
    // And agree without a floor.
    let zero = "kind = 'cosine-restarts'\nt0 = 2\nt_mult = 2.0\nm_mul = 0.5";
    assert_close(
        &per_epoch(&parse(&format!("{zero}\nm_mul_mode = 'keras'")), 1.0, 12, 1),
        &per_epoch(&parse(zero), 1.0, 12, 1),
    );
}

#[test]
fn cosine_restarts_restart_at_cycle_boundaries_with_decaying_peaks() {
    // CosineAnnealingWarmRestarts(T_0=2, T_mult=2): cycles [0,2), [2,6), [6,14), each
    // eta_min + (peak - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2; timm cycle_decay / Keras
    // m_mul scales cycle i's peak by m_mul^i.
    let sgdr = parse("kind = 'cosine-restarts'\nt0 = 2\nt_mult = 2.0\nm_mul = 0.5\nmin_lr = 0.0");
    let f = |peak: f64, cur: f64, len: f64| peak * (1.0 + (PI * cur / len).cos()) / 2.0;
    let want = [
        f(1.0, 0.0, 2.0),
        f(1.0, 1.0, 2.0),
        f(0.5, 0.0, 4.0),
        f(0.5, 1.0, 4.0),
        f(0.5, 2.0, 4.0),
        f(0.5, 3.0, 4.0),
        f(0.25, 0.0, 8.0),
        f(0.25, 7.0, 8.0),
        f(0.125, 0.0, 16.0),
    ];
    let got = per_epoch(&sgdr, 1.0, 15, 2);
    let picked = [
        got[0], got[1], got[2], got[3], got[4], got[5], got[6], got[13], got[14],
    ];
    assert_close(&picked, &want);
    // The restarts themselves: the peak of each cycle.
    assert_eq!([got[0], got[2], got[6], got[14]], [1.0, 0.5, 0.25, 0.125]);
}

#[test]
fn one_cycle_matches_pytorch_phase_arithmetic() {
    // OneCycleLR(max_lr=1, total_steps=10, pct_start=0.3, div_factor=25,
    // final_div_factor=1e4): initial 0.04, min 4e-6; phase ends at steps 0.3*10-1 = 2 and 9.
    let oc = parse("kind = 'one-cycle'\ninterval = 'step'");
    let got = per_step(&oc, 1.0, 10);
    let cos = |start: f64, end: f64, pct: f64| end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0);
    let mut want = vec![
        cos(0.04, 1.0, 0.0),
        cos(0.04, 1.0, 0.5),
        cos(0.04, 1.0, 1.0),
    ];
    want.extend((3..10).map(|t| cos(1.0, 4e-6, (t as f64 - 2.0) / 7.0)));
    assert_close(&got, &want);
    assert_eq!(got[2], 1.0);
    assert!((got[9] - 4e-6).abs() < 1e-18);
    // three_phase, linear: up to step 2, back down to 0.04 at 2*3-2 = 4, down to 4e-6 at 9.
    let three =
        parse("kind = 'one-cycle'\ninterval = 'step'\nthree_phase = true\nanneal = 'linear'");
    let got = per_step(&three, 1.0, 10);
    let lin = |s: f64, e: f64, p: f64| (e - s) * p + s;
    let mut want = vec![
        lin(0.04, 1.0, 0.0),
        lin(0.04, 1.0, 0.5),
        1.0,
        lin(1.0, 0.04, 0.5),
        0.04,
    ];
    want.extend((5..10).map(|t| lin(0.04, 4e-6, (t as f64 - 4.0) / 5.0)));
    assert_close(&got, &want);
}

#[test]
fn cyclic_matches_pytorch_triangle_modes() {
    // CyclicLR(base_lr=0.1, max_lr=1.0, step_size_up=2): cycle = floor(1 + t/4),
    // x = |t/2 - 2*cycle + 1|, lr = base + (max - base) * max(0, 1 - x) * scale.
    let tri = parse("kind = 'cyclic'\nbase_lr = 0.1\nstep_size_up = 2\ninterval = 'step'");
    assert_close(
        &per_step(&tri, 1.0, 9),
        &[0.1, 0.55, 1.0, 0.55, 0.1, 0.55, 1.0, 0.55, 0.1],
    );
    // triangular2 halves the amplitude each cycle.
    let tri2 = parse(
        "kind = 'cyclic'\nbase_lr = 0.1\nstep_size_up = 2\nmode = 'triangular2'\ninterval = 'step'",
    );
    assert_close(
        &per_step(&tri2, 1.0, 9),
        &[0.1, 0.55, 1.0, 0.55, 0.1, 0.325, 0.55, 0.325, 0.1],
    );
    // exp_range scales the height by gamma^t; asymmetric up/down (1 up, 3 down).
    let exp = parse(
        "kind = 'cyclic'\nbase_lr = 0.1\nstep_size_up = 1\nstep_size_down = 3\nmode = 'exp_range'\ngamma = 0.5\ninterval = 'step'",
    );
    let want: Vec<f64> = [0.0, 1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0, 1.0]
        .iter()
        .enumerate()
        .map(|(t, h)| 0.1 + 0.9 * h * 0.5f64.powi(t as i32))
        .collect();
    assert_close(&per_step(&exp, 1.0, 6), &want);
}

#[test]
fn sequential_phases_restart_their_own_clock_and_chained_multiplies() {
    // SequentialLR semantics: each phase starts at its own t = 0 at its milestone.
    let seq = parse(
        "kind = 'sequential'\n\
         [[phases]]\nkind = 'linear'\nstart_factor = 0.5\ntotal = 2\nlength = 2\n\
         [[phases]]\nkind = 'exponential'\ngamma = 0.5",
    );
    assert_close(&per_epoch(&seq, 1.0, 5, 1), &[0.5, 0.75, 1.0, 0.5, 0.25]);
    // Chained: lr * prod(curve_i(t) / lr) — here step(2, 0.5) times exponential(0.9).
    let chained = parse(
        "kind = 'chained'\n\
         [[schedules]]\nkind = 'step'\nstep_size = 2\ngamma = 0.5\n\
         [[schedules]]\nkind = 'exponential'\ngamma = 0.9",
    );
    let want: Vec<f64> = (0..5)
        .map(|t| 2.0 * 0.5f64.powi(t / 2) * 0.9f64.powi(t))
        .collect();
    assert_close(&per_epoch(&chained, 2.0, 5, 1), &want);
}

#[test]
fn warmup_ramps_per_step_then_hands_over_at_the_curves_start() {
    // Linear warmup over 4 steps (start 0), then cosine per epoch over the remaining 3 epochs
    // of 4 steps: warmup i/4 * lr, then the cosine at t = 0, 1, 2 for whole epochs.
    let cfg = parse("kind = 'cosine'\nwarmup = { epochs = 1 }");
    let mut s = LrSchedule::new(&cfg, 0.1, 4, 4).unwrap();
    let got: Vec<f64> = (0..16).map(|_| s.next_lr()).collect();
    let cos = |t: f64| 0.1 * (1.0 + (PI * t / 3.0).cos()) / 2.0;
    let mut want = vec![0.0, 0.025, 0.05, 0.075];
    for t in 0..3 {
        want.extend([cos(t as f64); 4]);
    }
    assert_close(&got, &want);
    // Exponential warmup: lr * start^(1 - i/W), geometric steps of start^(1/W).
    let exp = parse(
        "kind = 'constant'\nwarmup = { steps = 2, mode = 'exponential', start_factor = 0.01 }",
    );
    assert_close(&per_step(&exp, 1.0, 4), &[0.01, 0.1, 1.0, 1.0]);
}

#[test]
fn plateau_follows_pytorch_patience_threshold_and_cooldown() {
    // ReduceLROnPlateau(mode='min', factor=0.5, patience=2, threshold=1e-4 rel): a value is
    // better if < best * (1 - 1e-4). Sequence 1.0, 0.9 (better), 0.9, 0.9, 0.9: bad epochs
    // 1, 2, 3 > patience at the 5th value -> halve.
    let cfg = parse("kind = 'plateau'\nplateau = { factor = 0.5, patience = 2, cooldown = 1 }");
    let mut s = LrSchedule::new(&cfg, 1.0, 20, 1).unwrap();
    let mut lrs = Vec::new();
    let metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9];
    let mut reduced = Vec::new();
    for m in metrics {
        lrs.push(s.next_lr());
        reduced.push(s.observe(m));
    }
    // Cooldown 1: the epoch after a reduction resets the bad count, so the next reduction
    // needs 1 + 3 more epochs: at the 9th value.
    assert_eq!(
        reduced,
        [
            false, false, false, false, true, false, false, false, true, false
        ]
    );
    assert_close(&lrs, &[1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]);
}

#[test]
fn plateau_in_max_mode_with_abs_threshold_and_min_lr() {
    // mode='max', threshold_mode='abs', threshold=0.01: better means > best + 0.01;
    // min_lr caps the reductions (max(old * factor, min_lr)), and eps skips a no-op one.
    let cfg = parse(
        "kind = 'plateau'\n[plateau]\nmonitor = 'valid_accuracy'\nfactor = 0.1\npatience = 0\nthreshold = 0.01\nthreshold_mode = 'abs'\nmin_lr = 0.02",
    );
    let mut s = LrSchedule::new(&cfg, 1.0, 10, 1).unwrap();
    let mut out = Vec::new();
    for m in [0.5, 0.505, 0.52, 0.52, 0.52] {
        let lr = s.next_lr();
        out.push((lr, s.observe(m)));
    }
    // 0.505 is not > 0.51 -> bad -> reduce to 0.1; 0.52 > 0.51 better; then bad -> 0.02 (the
    // floor, not 0.01); then 0.02 * 0.1 < min_lr -> new = 0.02, no change.
    assert_eq!(
        out,
        vec![
            (1.0, false),
            (1.0, true),
            (0.1, false),
            (0.1, true),
            (0.02, false)
        ]
    );
}

#[test]
fn plateau_composes_with_warmup_and_a_curve() {
    // Warmup for one epoch ignores metrics; then plateau scales the cosine curve.
    let cfg =
        parse("kind = 'cosine'\nwarmup = { epochs = 1 }\nplateau = { factor = 0.5, patience = 0 }");
    let mut s = LrSchedule::new(&cfg, 1.0, 5, 2).unwrap();
    let mut epoch_lrs = Vec::new();
    for m in [5.0, 4.0, 4.0, 4.0, 4.0] {
        epoch_lrs.push((s.next_lr(), s.next_lr()));
        s.observe(m);
    }
    let cos = |t: f64| (1.0 + (PI * t / 4.0).cos()) / 2.0;
    // Epoch 1 warms up (0, 0.5) and its metric 5.0 is ignored. Epoch 2: cos(0), metric 4.0
    // sets best. Epoch 3 (t=1) metric 4.0 bad -> halve. Epoch 4: 0.5 * cos(2); bad -> halve.
    assert_close(&[epoch_lrs[0].0, epoch_lrs[0].1], &[0.0, 0.5]);
    assert_close(
        &[
            epoch_lrs[1].0,
            epoch_lrs[2].0,
            epoch_lrs[3].0,
            epoch_lrs[4].0,
        ],
        &[cos(0.0), cos(1.0), 0.5 * cos(2.0), 0.25 * cos(3.0)],
    );
}

#[test]
fn a_metric_feed_reaches_the_schedule_at_its_next_step() {
    let cfg = parse("kind = 'plateau'\nplateau = { patience = 0, factor = 0.5 }");
    let mut s = LrSchedule::new(&cfg, 1.0, 3, 1).unwrap();
    let feed = s.feed();
    assert_eq!(LrScheduler::step(&mut s), 1.0);
    feed.push(1.0);
    assert_eq!(LrScheduler::step(&mut s), 1.0);
    feed.push(2.0);
    assert_eq!(LrScheduler::step(&mut s), 0.5);
}

#[test]
fn record_round_trip_mid_cycle_continues_the_same_curve() {
    let cfg = parse(
        "kind = 'cosine-restarts'\nt0 = 3\nt_mult = 2.0\nm_mul = 0.7\ninterval = 'step'\n\
         warmup = { steps = 2 }\nplateau = { patience = 1, factor = 0.5, cooldown = 1 }",
    );
    let mut original = LrSchedule::new(&cfg, 0.1, 4, 10).unwrap();
    for i in 0..17 {
        original.step();
        if i % 3 == 2 {
            original.observe(1.0 + (i % 2) as f64);
        }
    }
    // Through bytes, as a checkpoint stores it.
    let bytes = original.to_record().into_bytes().unwrap();
    let record = LrSchedulerRecord::from_bytes(bytes).unwrap();
    let mut resumed = LrSchedule::new(&cfg, 0.1, 4, 10).unwrap();
    resumed.load_record(record);
    assert_eq!(resumed.iteration(), 17);
    assert_eq!(resumed.current(), original.current());
    for i in 0..20 {
        assert_eq!(resumed.step(), original.step(), "step {i} after resume");
        if i % 4 == 3 {
            assert_eq!(
                resumed.observe(0.5 * i as f64),
                original.observe(0.5 * i as f64)
            );
        }
    }
}

#[test]
fn settings_errors_name_the_field() {
    // A key the kind does not take is refused as the table is read; a bad value when the
    // schedule is built.
    let err = |text: &str| match toml::from_str::<ScheduleSettings>(text) {
        Ok(settings) => LrSchedule::new(&settings, 0.1, 10, 10)
            .expect_err("should be rejected")
            .to_string(),
        Err(e) => e.message().to_string(),
    };
    assert_eq!(
        err("kind = 'cosine'\ngamma = 0.5"),
        "schedule.gamma: is not a parameter of kind = \"cosine\" (it takes `min_lr`, `t_max`)"
    );
    assert!(err("kind = 'multistep'").starts_with("schedule.milestones: required"));
    assert!(
        err("kind = 'multistep'\nmilestones = [5, 5]")
            .starts_with("schedule.milestones: must be strictly")
    );
    assert!(err("kind = 'cosine-restarts'").starts_with("schedule.t0: required"));
    assert!(
        err("kind = 'step'\nstep_size = 0").starts_with("schedule.step_size: must be at least 1")
    );
    assert!(err("kind = 'cosine'\nmin_lr = 0.5").starts_with("schedule.min_lr"));
    assert!(err("kind = 'constant'\nwarmup = { epochs = 10 }").starts_with("schedule.warmup:"));
    assert!(
        err("kind = 'constant'\nwarmup = { epochs = 1, steps = 3 }")
            .starts_with("schedule.warmup:")
    );
    assert!(
        err("kind = 'plateau'\nplateau = { factor = 1.5 }").starts_with("schedule.plateau.factor")
    );
    assert!(
        err("kind = 'sequential'\n[[phases]]\nkind = 'constant'\n[[phases]]\nkind = 'cosine'")
            .starts_with("schedule.phases[0].length: required")
    );
    assert!(
        err("kind = 'sequential'\n[[phases]]\nkind = 'cosine'\nwarmup = { steps = 1 }")
            .starts_with("schedule.phases[0].warmup")
    );
    assert!(
        err("kind = 'chained'\n[[schedules]]\nkind = 'step'\ngamma = 2.0")
            .starts_with("schedule.schedules[0].gamma: must be in (0, 1]")
    );
    // 3 epochs at pct_start 0.3: the rising phase would end at 0.3 * 3 - 1 < 1.
    let short = LrSchedule::new(&parse("kind = 'one-cycle'"), 0.1, 3, 10)
        .err()
        .unwrap();
    assert!(
        short
            .to_string()
            .starts_with("schedule.total: one-cycle over 3 units"),
        "{short}"
    );
    // Unknown keys are TOML errors naming the key.
    let unknown = toml::from_str::<ScheduleSettings>("kind = 'cosine'\nmin_lrr = 0.1").unwrap_err();
    assert!(unknown.to_string().contains("min_lrr"), "{unknown}");
}

#[test]
fn curves_can_be_evaluated_without_stepping() {
    // lr_at is the pure view the CLI plots from: equal to what stepping hands out.
    let cfg = parse("kind = 'one-cycle'\ninterval = 'step'\nwarmup = { steps = 5 }");
    let mut s = LrSchedule::new(&cfg, 0.01, 3, 20).unwrap();
    let pure: Vec<f64> = (0..60).map(|i| s.lr_at(i)).collect();
    let stepped: Vec<f64> = (0..60).map(|_| s.next_lr()).collect();
    assert_eq!(pure, stepped);
}
