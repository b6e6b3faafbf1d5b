//! The cycled momentum against PyTorch's `OneCycleLR` and `CyclicLR`, the TOML keys and their
//! errors, and resuming.
//!
//! The expected values are the optimizer's `momentum` before each step under PyTorch 2.15
//! (CPU), printed by:
//!
//! ```python
//! import torch
//! from torch.optim.lr_scheduler import OneCycleLR, CyclicLR
//! def momenta(sched_ctor, n):
//!     p = torch.nn.Parameter(torch.zeros(1))
//!     opt = torch.optim.SGD([p], lr=0.1)
//!     s = sched_ctor(opt)
//!     out = []
//!     for _ in range(n):
//!         out.append(opt.param_groups[0]['momentum'])
//!         p.grad = torch.ones(1)
//!         opt.step(); s.step()
//!     return out
//! momenta(lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.3,
//!                              anneal_strategy=anneal, three_phase=three), 10)
//! momenta(lambda o: CyclicLR(o, base_lr=0.1, max_lr=1.0, step_size_up=2,
//!                            step_size_down=3, mode=mode, gamma=0.9), 12)
//! ```

use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use crate::schedule::{LrSchedule, MomentumCycle, ScheduleSettings};

fn parse(text: &str) -> ScheduleSettings {
    toml::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The momentum of each of `n` optimizer steps of a one-epoch run of `n` steps.
fn momenta(text: &str, n: usize) -> Vec<f64> {
    let mut s = LrSchedule::new(&parse(text), 1.0, 1, n).unwrap();
    (0..n)
        .map(|_| {
            s.next_lr();
            s.momentum().expect("the schedule cycles momentum")
        })
        .collect()
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-15, "step {i}: got {g}, want {w}");
    }
}

#[test]
fn one_cycle_momentum_matches_pytorch_in_two_and_three_phases() {
    let one_cycle = "kind = 'one-cycle'\ninterval = 'step'\n";
    let two_cos = [
        0.95,
        0.8999999999999999,
        0.85,
        0.854951556604879,
        0.8688255099070633,
        0.8888739533021842,
        0.9111260466978157,
        0.9311744900929366,
        0.945048443395121,
        0.95,
    ];
    assert_close(&momenta(one_cycle, 10), &two_cos);
    let two_linear = [
        0.95,
        0.8999999999999999,
        0.85,
        0.8642857142857142,
        0.8785714285714286,
        0.8928571428571428,
        0.9071428571428571,
        0.9214285714285714,
        0.9357142857142857,
        0.95,
    ];
    assert_close(
        &momenta(&format!("{one_cycle}anneal = 'linear'"), 10),
        &two_linear,
    );
    // Three phases: down to base_momentum at step 2, back to max_momentum at 2*3-2 = 4, held.
    let three = [
        0.95,
        0.8999999999999999,
        0.85,
        0.8999999999999999,
        0.95,
        0.95,
        0.95,
        0.95,
        0.95,
        0.95,
    ];
    for anneal in ["cos", "linear"] {
        let text = format!("{one_cycle}three_phase = true\nanneal = '{anneal}'");
        assert_close(&momenta(&text, 10), &three);
    }
}

#[test]
fn cyclic_momentum_matches_pytorch_in_every_mode() {
    let cyclic = "kind = 'cyclic'\ninterval = 'step'\nbase_lr = 0.1\nstep_size_up = 2\n\
                  step_size_down = 3\n";
    let triangular = [
        0.9,
        0.8500000000000001,
        0.8,
        0.8333333333333334,
        0.8666666666666667,
        0.9,
        0.85,
        0.8,
        0.8333333333333334,
        0.8666666666666667,
        0.9,
        0.85,
    ];
    assert_close(&momenta(cyclic, 12), &triangular);
    let triangular2 = [
        0.9,
        0.8500000000000001,
        0.8,
        0.8333333333333334,
        0.8666666666666667,
        0.9,
        0.875,
        0.8500000000000001,
        0.8666666666666667,
        0.8833333333333333,
        0.9,
        0.8875000000000001,
    ];
    assert_close(
        &momenta(&format!("{cyclic}mode = 'triangular2'"), 12),
        &triangular2,
    );
    let exp_range = [
        0.9,
        0.8550000000000001,
        0.8190000000000001,
        0.8514,
        0.8781300000000001,
        0.9,
        0.87342795,
        0.85217031,
        0.871302186,
        0.8870859837,
        0.9,
        0.8843094701955,
    ];
    assert_close(
        &momenta(&format!("{cyclic}mode = 'exp_range'\ngamma = 0.9"), 12),
        &exp_range,
    );
}

#[test]
fn defaults_are_pytorchs_per_scheduler_and_the_bounds_are_read() {
    let cycle = |text: &str| parse(text).momentum_cycle().unwrap();
    // OneCycleLR: base_momentum=0.85, max_momentum=0.95; CyclicLR: 0.8, 0.9.
    let one_cycle = Some(MomentumCycle {
        base: 0.85,
        max: 0.95,
    });
    assert_eq!(cycle("kind = 'one-cycle'"), one_cycle);
    assert_eq!(
        cycle("kind = 'cyclic'"),
        Some(MomentumCycle {
            base: 0.8,
            max: 0.9
        })
    );
    assert_eq!(
        cycle("kind = 'cyclic'\nbase_momentum = 0.5\nmax_momentum = 0.7"),
        Some(MomentumCycle {
            base: 0.5,
            max: 0.7
        })
    );
    assert_eq!(cycle("kind = 'one-cycle'\ncycle_momentum = false"), None);
    assert_eq!(cycle("kind = 'cosine'"), None);
    let off = LrSchedule::new(&parse("kind = 'cosine'"), 0.1, 2, 5).unwrap();
    assert_eq!((off.momentum(), off.momentum_at(3)), (None, None));
    // A written config keeps the keys, and reads back the same.
    let text = "kind = 'one-cycle'\ncycle_momentum = true\nbase_momentum = 0.8\nmax_momentum = 0.9";
    let written = toml::to_string(&parse(text)).unwrap();
    assert_eq!(parse(&written), parse(text));
}

#[test]
fn momentum_holds_within_an_epoch_and_at_its_start_during_warmup() {
    // Epoch interval: the momentum of epoch e is the curve's value at t = e, constant within it.
    let epochs = "kind = 'one-cycle'\nthree_phase = true\nanneal = 'linear'";
    let mut s = LrSchedule::new(&parse(epochs), 1.0, 10, 3).unwrap();
    let want = [0.95, 0.9, 0.85, 0.9, 0.95];
    for (e, want) in want.iter().enumerate() {
        for _ in 0..3 {
            s.next_lr();
            let got = s.momentum().unwrap();
            assert!((got - want).abs() < 1e-15, "epoch {e}: {got} vs {want}");
        }
    }
    // Warmup of 4 steps holds max_momentum, then the curve starts at its own t = 0.
    let warm = "kind = 'cyclic'\ninterval = 'step'\nstep_size_up = 2\nwarmup = { steps = 4 }";
    let mut s = LrSchedule::new(&parse(warm), 1.0, 1, 12).unwrap();
    let got: Vec<f64> = (0..7)
        .map(|_| {
            s.next_lr();
            s.momentum().unwrap()
        })
        .collect();
    assert_close(&got, &[0.9, 0.9, 0.9, 0.9, 0.9, 0.85, 0.8]);
}

#[test]
fn a_resumed_schedule_continues_the_same_momentum() {
    let cfg = parse("kind = 'cyclic'\ninterval = 'step'\nstep_size_up = 3\nmode = 'triangular2'");
    let mut original = LrSchedule::new(&cfg, 0.1, 2, 20).unwrap();
    for _ in 0..13 {
        original.step();
    }
    let bytes = original.to_record().into_bytes().unwrap();
    let mut resumed = LrSchedule::new(&cfg, 0.1, 2, 20).unwrap();
    resumed.load_record(LrSchedulerRecord::from_bytes(bytes).unwrap());
    assert_eq!(resumed.momentum(), original.momentum());
    for i in 0..20 {
        assert_eq!(resumed.step(), original.step());
        assert_eq!(
            resumed.momentum(),
            original.momentum(),
            "step {i} after resume"
        );
    }
}

#[test]
fn momentum_settings_errors_name_the_key() {
    let built = |text: &str| match toml::from_str::<ScheduleSettings>(text) {
        Ok(settings) => LrSchedule::new(&settings, 0.1, 10, 10)
            .expect_err("should be rejected")
            .to_string(),
        Err(e) => e.message().to_string(),
    };
    assert_eq!(
        built("kind = 'one-cycle'\nmax_momentum = 1.0"),
        "schedule.max_momentum: must be in [0, 1), got 1"
    );
    assert_eq!(
        built("kind = 'cyclic'\nbase_momentum = -0.1"),
        "schedule.base_momentum: must be in [0, max_momentum = 0.9], got -0.1"
    );
    assert_eq!(
        built("kind = 'one-cycle'\nbase_momentum = 0.96"),
        "schedule.base_momentum: must be in [0, max_momentum = 0.95], got 0.96"
    );
    assert_eq!(
        built("kind = 'one-cycle'\nmax_momentum = 0.5"),
        "schedule.base_momentum: must be in [0, max_momentum = 0.5], its default is 0.85; set it"
    );
    assert_eq!(
        built("kind = 'cyclic'\ncycle_momentum = false\nmax_momentum = 0.9"),
        "schedule.max_momentum: only applies with cycle_momentum = true"
    );
    assert!(
        built("kind = 'cosine'\nbase_momentum = 0.9")
            .starts_with("schedule.base_momentum: is not a parameter of kind = \"cosine\"")
    );
    assert_eq!(
        built(
            "kind = 'sequential'\n[[phases]]\nkind = 'one-cycle'\nlength = 5\n\
             cycle_momentum = false\n[[phases]]\nkind = 'constant'"
        ),
        "schedule.phases[0].cycle_momentum: only the top-level [schedule] takes this"
    );
}
