use super::*;

fn bad_input<T: std::fmt::Debug>(result: Result<T, FairError>) -> String {
    match result {
        Err(FairError::BadInput(m)) => m,
        other => panic!("expected BadInput, got {other:?}"),
    }
}

/// The closed form `q_g ∝ exp(η · Σ_t loss_g,t)` from uniform weights, by log-sum-exp.
fn closed_form(step_size: f64, totals: &[f64]) -> Vec<f64> {
    let max = totals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = totals
        .iter()
        .map(|t| (step_size * (t - max)).exp())
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len());
    for (g, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance * e.max(1e-300),
            "q[{g}] = {a}, expected {e}"
        );
    }
}

#[test]
fn weights_start_uniform() {
    let dro = GroupDro::new(4, DEFAULT_STEP_SIZE).unwrap();
    assert_eq!(dro.weights(), &[0.25; 4]);
    assert_eq!(dro.step_size(), 0.01);
}

#[test]
fn weights_follow_the_exponentiated_sum_of_losses() {
    // A scripted sequence of 50 steps over three groups, all present at every step: after
    // it, q_g ∝ exp(η · Σ_t loss_g,t) (Algorithm 1's update, unrolled).
    let step_size = 0.1;
    let mut dro = GroupDro::new(3, step_size).unwrap();
    let mut totals = [0.0; 3];
    for t in 0..50 {
        let t = t as f64;
        let losses = [
            2.0 + (t * 0.7).sin(),
            0.5 + 0.01 * t,
            1.2 + (t * 1.3).cos() * 0.4,
        ];
        dro.update(&losses.map(Some)).unwrap();
        for (total, l) in totals.iter_mut().zip(losses) {
            *total += l;
        }
    }
    assert_close(dro.weights(), &closed_form(step_size, &totals), 1e-12);
    let sum: f64 = dro.weights().iter().sum();
    assert!((sum - 1.0).abs() < 1e-15);
    // Ranked as the totals: group 0 (about 2 a step) > group 2 (1.2) > group 1 (0.5 to 1).
    let q = dro.weights();
    assert!(q[0] > q[2] && q[2] > q[1], "{q:?}");
}

#[test]
fn an_absent_group_keeps_its_weight_before_normalization() {
    // As the reference's loss 0 for a group missing from the batch (exp(0) = 1): one step
    // from uniform with group 1 absent gives q ∝ (e^{η·1}, 1, e^{η·3}) · 1/3.
    let step_size = 0.5;
    let mut dro = GroupDro::new(3, step_size).unwrap();
    let q = dro.update(&[Some(1.0), None, Some(3.0)]).unwrap().to_vec();
    let raw = [(step_size * 1.0f64).exp(), 1.0, (step_size * 3.0f64).exp()];
    let sum: f64 = raw.iter().sum();
    assert_close(&q, &raw.map(|r| r / sum), 1e-14);
    // Over several steps, an absent step counts as a loss of 0 in the closed form.
    let mut dro = GroupDro::new(2, step_size).unwrap();
    dro.update(&[Some(1.0), Some(2.0)]).unwrap();
    dro.update(&[Some(1.0), None]).unwrap();
    dro.update(&[None, Some(0.5)]).unwrap();
    assert_close(dro.weights(), &closed_form(step_size, &[2.0, 2.5]), 1e-14);
}

#[test]
fn a_step_past_exp_overflow_stays_finite() {
    // η · loss = 800 and 799: exp(800) is inf in f64, so a direct q · exp(η · loss) would give
    // inf / inf = NaN. The closed form is the logistic of the gap: 1 / (1 + e^-1).
    let mut dro = GroupDro::new(2, 1.0).unwrap();
    let q = dro.update(&[Some(800.0), Some(799.0)]).unwrap().to_vec();
    let expected = 1.0 / (1.0 + (-1.0f64).exp());
    assert_close(&q, &[expected, 1.0 - expected], 1e-14);
    // Again, with a third group far behind: its weight underflows to 0 (e^-1600 < 5e-324).
    let mut dro = GroupDro::new(3, 1.0).unwrap();
    for _ in 0..2 {
        dro.update(&[Some(800.0), Some(800.0), Some(0.0)]).unwrap();
    }
    assert_eq!(dro.weights(), &[0.5, 0.5, 0.0]);
}

#[test]
fn the_robust_loss_is_the_weighted_sum_over_present_groups() {
    // q = (0.5, 0.3, 0.2) restored, losses (2, absent, 4): 0.5·2 + 0.2·4 = 1.8.
    let dro = GroupDro::from_state(vec![0.5, 0.3, 0.2], 3, 0.01).unwrap();
    let loss = dro.robust_loss(&[Some(2.0), None, Some(4.0)]).unwrap();
    assert!((loss - 1.8).abs() < 1e-15, "{loss}");
}

#[test]
fn batch_sample_weights_turn_per_sample_losses_into_the_robust_loss() {
    // Σ_i (q_g / m_g) · loss_i = Σ_g q_g · mean_g: checked against robust_loss of the means.
    let dro = GroupDro::from_state(vec![0.1, 0.6, 0.3], 3, 0.01).unwrap();
    let groups = [0, 2, 2, 0, 0, 2];
    let losses = [0.4, 1.0, 3.0, 0.2, 0.9, 2.0];
    let weights = dro.batch_sample_weights(&groups).unwrap();
    assert_eq!(
        weights,
        vec![
            0.1 / 3.0,
            0.3 / 3.0,
            0.3 / 3.0,
            0.1 / 3.0,
            0.1 / 3.0,
            0.3 / 3.0
        ]
    );
    let weighted: f64 = weights.iter().zip(&losses).map(|(w, l)| w * l).sum();
    let means = group_mean_losses(&losses, &groups, 3).unwrap();
    assert!(means[1].is_none());
    assert_close(&[means[0].unwrap(), means[2].unwrap()], &[0.5, 2.0], 1e-15);
    let robust = dro.robust_loss(&means).unwrap();
    assert!((weighted - robust).abs() < 1e-15, "{weighted} vs {robust}");
    // 0.1 · 0.5 + 0.3 · 2 = 0.65.
    assert!((robust - 0.65).abs() < 1e-15);
}

#[test]
fn non_finite_losses_are_refused_and_leave_the_weights_alone() {
    let mut dro = GroupDro::new(3, 0.01).unwrap();
    dro.update(&[Some(1.0), Some(2.0), Some(3.0)]).unwrap();
    let before = dro.clone();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let m = bad_input(dro.update(&[Some(1.0), Some(bad), None]));
        assert!(m.contains("group_losses[1]"), "{m}");
        assert_eq!(dro, before);
        bad_input(dro.robust_loss(&[Some(bad), None, None]));
    }
    // A finite loss whose product with η overflows is refused too.
    let mut big = GroupDro::new(2, 10.0).unwrap();
    let m = bad_input(big.update(&[Some(1.0), Some(f64::MAX)]));
    assert!(
        m.contains("group_losses[1]") && m.contains("overflows"),
        "{m}"
    );
    assert_eq!(big.weights(), &[0.5, 0.5]);
    let m = bad_input(dro.update(&[Some(1.0)]));
    assert!(
        m.contains("group_losses has 1") && m.contains("num_groups is 3"),
        "{m}"
    );
}

#[test]
fn settings_out_of_range_are_errors_naming_them() {
    for bad in [0.0, -0.01, f64::NAN, f64::INFINITY] {
        let m = bad_input(GroupDro::new(2, bad));
        assert!(m.contains("step_size"), "{m}");
    }
    let m = bad_input(GroupDro::new(0, 0.01));
    assert!(m.contains("num_groups"), "{m}");
}

#[test]
fn a_restored_state_continues_bit_for_bit() {
    let mut dro = GroupDro::new(3, 0.3).unwrap();
    let batches = [
        [Some(0.7), Some(1.9), None],
        [Some(2.2), Some(0.1), Some(1.4)],
        [None, Some(0.8), Some(3.3)],
    ];
    dro.update(&batches[0]).unwrap();
    let mut restored = GroupDro::from_state(dro.to_state(), 3, 0.3).unwrap();
    assert_eq!(restored, dro);
    for batch in &batches[1..] {
        dro.update(batch).unwrap();
        restored.update(batch).unwrap();
    }
    assert_eq!(restored.weights(), dro.weights());
}

#[test]
fn a_bad_state_is_refused() {
    let m = bad_input(GroupDro::from_state(vec![0.5, 0.5], 3, 0.01));
    assert!(m.contains("num_groups is 3"), "{m}");
    let m = bad_input(GroupDro::from_state(vec![1.5, -0.5], 2, 0.01));
    assert!(m.contains("weight 1 is -0.5"), "{m}");
    let m = bad_input(GroupDro::from_state(vec![f64::NAN, 1.0], 2, 0.01));
    assert!(m.contains("weight 0 is NaN"), "{m}");
    let m = bad_input(GroupDro::from_state(vec![0.5, 0.5 + 1e-6], 2, 0.01));
    assert!(m.contains("sum to"), "{m}");
    bad_input(GroupDro::from_state(vec![0.5, 0.5], 2, -1.0));
    // Within 1e-9 of 1 is accepted and kept as saved.
    let q = vec![0.5, 0.5 + 1e-12];
    assert_eq!(
        GroupDro::from_state(q.clone(), 2, 0.01).unwrap().weights(),
        &q[..]
    );
}

#[test]
fn group_means_check_their_inputs() {
    let m = bad_input(group_mean_losses(&[1.0, 2.0], &[0], 2));
    assert!(m.contains("losses") && m.contains("groups"), "{m}");
    let m = bad_input(group_mean_losses(&[1.0], &[4], 2));
    assert!(m.contains("groups[0] = 4"), "{m}");
    let m = bad_input(
        GroupDro::new(2, 0.01)
            .unwrap()
            .batch_sample_weights(&[0, 2]),
    );
    assert!(m.contains("groups[1] = 2"), "{m}");
}
