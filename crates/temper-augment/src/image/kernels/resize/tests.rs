//! Unit tests of the resize tables and row plans (private items of `kernels/resize.rs`).

use super::*;

/// A plan for one chunk of 16 RGB values with two taps, all reading the chunk's base.
fn plan() -> RowPlan {
    RowPlan {
        len: 16,
        taps: 2,
        base: vec![0],
        index: vec![0; 2 * RowPlan::LANES],
        weight: vec![0.5; 2 * RowPlan::LANES],
        half_base: vec![0, 0],
        half_index: vec![0; 2 * RowPlan::LANES],
    }
}

#[test]
#[should_panic(expected = "tables")]
fn a_row_plan_with_short_tables_is_refused_before_a_vector_kernel_reads_them() {
    let mut plan = plan();
    plan.index.pop();
    plan.run(temper_simd::level(), &[0.0; RowPlan::REACH], &mut [0; 16]);
}

#[test]
#[should_panic(expected = "column sums")]
fn a_row_plan_refuses_a_column_row_shorter_than_its_reach() {
    plan().run(
        temper_simd::level(),
        &[0.0; RowPlan::REACH - 1],
        &mut [0; 16],
    );
}

#[test]
#[should_panic(expected = "half tables")]
fn a_row_plan_with_short_half_tables_is_refused_before_a_vector_kernel_reads_them() {
    let mut plan = plan();
    plan.half_index.pop();
    plan.run(temper_simd::level(), &[0.0; RowPlan::REACH], &mut [0; 16]);
}

#[test]
fn half_plans_cover_enlarging_crops_and_not_a_shrink() {
    // A random-resized crop's boxes enlarged to 224: every half's taps within 16 values
    // of its base, so AVX2 permutes instead of gathering.
    for w in [150, 173, 200, 223, 224] {
        for c in [1, 3] {
            let plan = RowPlan::new(&taps(w, 224, true), c).expect("a row plan");
            assert_eq!(plan.half_base.len(), 2 * plan.base.len(), "{w} {c}");
            assert_eq!(plan.half_index.len(), plan.index.len(), "{w} {c}");
            assert!(plan.half_index.iter().all(|&i| (0..16).contains(&i)));
        }
    }
    // 224 -> 190 RGB (1.18x): a half's 8 values span about 3 pixels, whose taps reach
    // 3 or 4 pixels further, past 16 values; the 16-value chunks still fit in 32.
    let plan = RowPlan::new(&taps(224, 190, true), 3).expect("a row plan");
    assert!(plan.half_index.is_empty() && plan.half_base.is_empty());
}

#[test]
fn taps_drop_zero_end_weights() {
    // 2 -> 4 (enlarging, PIL BILINEAR): centres at inputs -0.25, 0.25, 0.75, 1.25, so
    // outputs 0 and 3 read one pixel (the far tap has weight 0 after clamping), 1 and 2
    // blend both with weights 3/4, 1/4 and 1/4, 3/4.
    let t = taps(2, 4, true);
    assert_eq!(
        (t.first, t.count, t.taps),
        (vec![0, 0, 0, 1], vec![1, 2, 2, 1], 2)
    );
    assert_eq!(t.weights, [1.0, 0.0, 0.75, 0.25, 0.25, 0.75, 1.0, 0.0]);
    // 224 -> 32 without antialiasing samples inputs 7o + 3 exactly: one tap of weight 1.
    let t = taps(224, 32, false);
    assert_eq!(t.taps, 1);
    assert!(t.first.iter().enumerate().all(|(o, &f)| f == 7 * o + 3));
    assert!(t.weights.iter().all(|&w| w == 1.0));
    // With antialiasing the triangle widens to 7 inputs a side: output o (away from the
    // edges) reads inputs 7o + 3 + d, |d| < 7, with weight (7 - |d|) / 49.
    let t = taps(224, 32, true);
    assert_eq!(t.taps, 13);
    for o in 1..31 {
        assert_eq!((t.first[o], t.count[o]), (7 * o - 3, 13));
        for (k, &w) in t.weights[o * 13..][..13].iter().enumerate() {
            let d = k as f32 - 6.0;
            assert!((w - (7.0 - d.abs()) / 49.0).abs() < 1e-6, "{o} {k} {w}");
        }
    }
}

#[test]
fn row_plans_cover_enlarging_and_not_a_strong_shrink() {
    // A random-resized crop's boxes (up to 224 wide) enlarged to 224, RGB and gray.
    for w in [150, 181, 200, 223] {
        assert!(RowPlan::new(&taps(w, 224, true), 3).is_some(), "{w}");
        assert!(RowPlan::new(&taps(w, 224, true), 1).is_some(), "{w}");
    }
    assert!(RowPlan::new(&taps(224, 32, true), 3).is_none());
    assert!(RowPlan::new(&taps(224, 32, true), 1).is_none());
    // The cache hands back the tables it made for the same sizes.
    let a = axis(200, 224, true, Some(3));
    assert!(Rc::ptr_eq(&a, &axis(200, 224, true, Some(3))));
    assert!(!Rc::ptr_eq(&a, &axis(200, 224, false, Some(3))));
}
