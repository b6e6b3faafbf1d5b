use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "{actual} is not {expected}"
    );
}

/// fairlearn's user guide example ("Common fairness metrics",
/// `docs/user_guide/assessment/common_fairness_metrics.rst`), groups a, b, c as 0, 1, 2.
fn fairlearn_guide_example() -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let y_true = vec![0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1];
    let y_pred = vec![0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0];
    let sf = "bbabbcccaacabccbcc";
    let groups = sf.bytes().map(|b| usize::from(b - b'a')).collect();
    (y_true, y_pred, groups)
}

#[test]
fn binary_aggregates_equal_fairlearns_published_example() {
    let (y_true, y_pred, groups) = fairlearn_guide_example();
    let r = fairness_report(&y_true, &y_pred, &groups, 2, &names(&["a", "b", "c"])).unwrap();
    // The guide prints 0.25, 0.66666..., 1.0 and 0.0 for these four.
    close(r.demographic_parity_difference, 0.25);
    close(r.demographic_parity_ratio, 2.0 / 3.0);
    close(r.equalized_odds_difference, 1.0);
    close(r.equalized_odds_ratio, 0.0);
    // MetricFrame.by_group from fairlearn 0.15 on the same arrays: selection rate, TPR, FPR
    // a 0.75 0.5 1.0, b 0.5 0.6 0.0, c 0.5 0.4 0.666667; by hand, a = {y 1,0,0,1 ŷ 1,0,1,1}.
    let by_group = [(0.75, 0.5, 1.0), (0.5, 0.6, 0.0), (0.5, 0.4, 2.0 / 3.0)];
    for (g, (selection, tpr, fpr)) in r.groups.iter().zip(by_group) {
        close(g.selection_rate[1], selection);
        close(g.recall[1], tpr);
        close(g.false_positive_rate[1], fpr);
    }
    assert_eq!(r.groups[0].support, 4);
    assert_eq!(r.groups[2].support, 8);
}

#[test]
fn binary_ratio_takes_class_one_as_fairlearns_positive_label() {
    let (y_true, y_pred, groups) = fairlearn_guide_example();
    let r = fairness_report(&y_true, &y_pred, &groups, 2, &names(&["a", "b", "c"])).unwrap();
    // Class 0's selection rates are 1 − those of class 1: 0.25, 0.5, 0.5, ratio 0.5. Taking the
    // worst of both classes would report 0.5; fairlearn (pos_label 1) reports 2/3.
    close(r.groups[0].selection_rate[0], 0.25);
    close(r.demographic_parity_ratio, 2.0 / 3.0);
}

#[test]
fn group_scores_follow_the_confusion_counts() {
    // Group g1 of three classes: y 0,0,1,1,2,2, ŷ 0,1,1,1,2,0.
    // Class 0: TP 1, predicted 2, actual 2, negatives 4 → recall 1/2, FPR 1/4, precision 1/2.
    // Class 1: TP 2, predicted 3, actual 2 → recall 1, FPR 1/4, precision 2/3, selection 1/2.
    // Class 2: TP 1, predicted 1, actual 2 → recall 1/2, FPR 0, precision 1, selection 1/6.
    let r = fairness_report(
        &[0, 0, 1, 1, 2, 2],
        &[0, 1, 1, 1, 2, 0],
        &[0; 6],
        3,
        &names(&["g1"]),
    )
    .unwrap();
    let g = &r.groups[0];
    close(g.accuracy, 4.0 / 6.0);
    let expected = [
        [0.5, 1.0, 0.5],
        [0.25, 0.25, 0.0],
        [0.5, 2.0 / 3.0, 1.0],
        [2.0 / 6.0, 3.0 / 6.0, 1.0 / 6.0],
    ];
    let actual = [
        &g.recall,
        &g.false_positive_rate,
        &g.precision,
        &g.selection_rate,
    ];
    for (values, expected) in actual.iter().zip(expected) {
        for (&v, e) in values.iter().zip(expected) {
            close(v, e);
        }
    }
    // One group: nothing to compare, fairlearn's 0 and 1.
    close(r.demographic_parity_difference, 0.0);
    close(r.demographic_parity_ratio, 1.0);
    close(r.equalized_odds_difference, 0.0);
    close(r.equalized_odds_ratio, 1.0);
}

#[test]
fn multiclass_aggregates_take_the_worst_class() {
    // g0 is perfect (each class selected 1/3, TPR 1, FPR 0); g1 is the group above.
    // fairlearn 0.15 on each class binarized (y == c, ŷ == c) gives
    //   DP difference / ratio: class 0 0 / 1, class 1 1/6 / 2/3, class 2 1/6 / 1/2;
    //   EO difference / ratio: class 0 0.5 / 0, class 1 0.25 / 0, class 2 0.5 / 0.5.
    let labels = [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2];
    let predictions = [0, 0, 1, 1, 2, 2, 0, 1, 1, 1, 2, 0];
    let groups = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
    let r = fairness_report(&labels, &predictions, &groups, 3, &names(&["g0", "g1"])).unwrap();
    close(r.demographic_parity_difference, 1.0 / 6.0);
    // Class 2's ratio, not class 1's 2/3 that a binary reading would give.
    close(r.demographic_parity_ratio, 0.5);
    close(r.equalized_odds_difference, 0.5);
    close(r.equalized_odds_ratio, 0.0);
    assert_eq!(r.worst_group, Some(1));
    close(r.worst_group_accuracy, 4.0 / 6.0);
}

#[test]
fn a_class_absent_from_a_group_is_nan_and_skipped_by_the_aggregates() {
    // Group a holds class 0 only: y 0,0,0, ŷ 0,0,1. Its class-1 recall is 0/0 (NaN) and its
    // class-0 FPR is 0/0 (NaN); its class-1 FPR is 1/3 and selection rate 1/3.
    // Group b: y 0,1,1,0, ŷ 0,1,0,1 → TPR 1/2, FPR 1/2, selection 1/2.
    // DP: 1/2 − 1/3 = 1/6, ratio 2/3 (fairlearn 0.15: 0.1667, 0.6667).
    // EO: TPR has one defined value → 0 / 1; FPR 1/6 / 2/3 → EO 1/6, ratio 2/3. fairlearn
    // reports 0.5 / 0.0 here, having turned a's recall into 0 (see the module docs).
    let labels = [0, 0, 0, 0, 1, 1, 0];
    let predictions = [0, 0, 1, 0, 1, 0, 1];
    let groups = [0, 0, 0, 1, 1, 1, 1];
    let r = fairness_report(&labels, &predictions, &groups, 2, &names(&["a", "b"])).unwrap();
    let a = &r.groups[0];
    assert!(a.recall[1].is_nan());
    assert!(a.false_positive_rate[0].is_nan());
    close(a.recall[0], 2.0 / 3.0);
    close(a.false_positive_rate[1], 1.0 / 3.0);
    close(r.demographic_parity_difference, 1.0 / 6.0);
    close(r.demographic_parity_ratio, 2.0 / 3.0);
    close(r.equalized_odds_difference, 1.0 / 6.0);
    close(r.equalized_odds_ratio, 2.0 / 3.0);
}

#[test]
fn an_empty_group_has_nan_scores_and_is_left_out() {
    let (y_true, y_pred, groups) = fairlearn_guide_example();
    let r = fairness_report(
        &y_true,
        &y_pred,
        &groups,
        2,
        &names(&["a", "b", "c", "nobody"]),
    )
    .unwrap();
    let empty = &r.groups[3];
    assert_eq!(empty.support, 0);
    assert!(empty.accuracy.is_nan());
    assert!(empty.selection_rate.iter().all(|v| v.is_nan()));
    assert!(empty.recall.iter().all(|v| v.is_nan()));
    // The aggregates of the three-group example, unchanged.
    close(r.demographic_parity_difference, 0.25);
    close(r.demographic_parity_ratio, 2.0 / 3.0);
    close(r.equalized_odds_difference, 1.0);
    close(r.equalized_odds_ratio, 0.0);
    // Accuracies a 1/4, b 4/6, c 3/8 (fairlearn 0.15's MetricFrame with accuracy_score).
    assert_eq!(r.worst_group, Some(0));
    close(r.worst_group_accuracy, 0.25);
}

#[test]
fn no_samples_at_all_give_no_worst_group() {
    let r = fairness_report(&[], &[], &[], 3, &names(&["a", "b"])).unwrap();
    assert_eq!(r.worst_group, None);
    assert!(r.worst_group_accuracy.is_nan());
    close(r.demographic_parity_difference, 0.0);
    close(r.equalized_odds_ratio, 1.0);
}

#[test]
fn rates_all_zero_give_ratio_one_where_fairlearn_gives_nan() {
    // Nobody is predicted positive: selection rates 0 and 0. fairlearn 0.15's
    // demographic_parity_ratio is NaN (0/0) and its difference 0; temper: 0 and 1.
    let r = fairness_report(
        &[0, 1, 0, 1],
        &[0; 4],
        &[0, 0, 1, 1],
        2,
        &names(&["a", "b"]),
    )
    .unwrap();
    close(r.demographic_parity_difference, 0.0);
    close(r.demographic_parity_ratio, 1.0);
    // TPR 0 and 0 → ratio 1; FPR 0 and 0 → ratio 1.
    close(r.equalized_odds_ratio, 1.0);
}

#[test]
fn worst_group_ties_go_to_the_first_group() {
    let r = fairness_report(
        &[0, 1, 0, 1],
        &[0, 0, 0, 0],
        &[0, 0, 1, 1],
        2,
        &names(&["a", "b"]),
    )
    .unwrap();
    assert_eq!(r.worst_group, Some(0));
    close(r.worst_group_accuracy, 0.5);
}

fn bad_input(result: Result<FairnessReport, FairError>) -> String {
    match result {
        Err(FairError::BadInput(message)) => message,
        other => panic!("expected BadInput, got {other:?}"),
    }
}

#[test]
fn mismatched_lengths_are_errors() {
    let g = names(&["a"]);
    let message = bad_input(fairness_report(&[0, 1], &[0], &[0, 0], 2, &g));
    assert!(message.contains("2, 1 and 2"), "{message}");
    let message = bad_input(fairness_report(&[0, 1], &[0, 1], &[0], 2, &g));
    assert!(message.contains("2, 2 and 1"), "{message}");
}

#[test]
fn out_of_range_indices_are_errors_naming_the_entry() {
    let g = names(&["a", "b"]);
    let message = bad_input(fairness_report(&[0, 3], &[0, 1], &[0, 1], 3, &g));
    assert_eq!(message, "labels[1] is 3, not below the 3 classes");
    let message = bad_input(fairness_report(&[0, 1], &[5, 1], &[0, 1], 3, &g));
    assert_eq!(message, "predictions[0] is 5, not below the 3 classes");
    let message = bad_input(fairness_report(&[0, 1], &[0, 1], &[0, 2], 3, &g));
    assert_eq!(message, "groups[1] is 2, not below the 2 group names");
    let message = bad_input(fairness_report(&[], &[], &[], 0, &g));
    assert!(message.contains("num_classes is 0"), "{message}");
    let message = bad_input(fairness_report(&[], &[], &[], usize::MAX, &g));
    assert!(message.contains("exceed"), "{message}");
}

#[test]
fn markdown_has_a_row_per_group_and_the_aggregates() {
    let labels = [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2];
    let predictions = [0, 0, 1, 1, 2, 2, 0, 1, 1, 1, 2, 0];
    let groups = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
    let group_names = names(&["site|A", "site B", "empty"]);
    let r = fairness_report(&labels, &predictions, &groups, 3, &group_names).unwrap();
    let md = r.to_markdown(&names(&["cat", "dog", "fox"]));
    // g1: mean recall (1/2 + 1 + 1/2) / 3 = 2/3, worst recall 1/2 at cat (first of the ties),
    // selection 1/6 (fox) to 1/2 (dog).
    assert!(
        md.contains(
            "| site B | 6 | 0.6667 | 0.6667 | 0.5000 (cat) | 0.1667 (fox) – 0.5000 (dog) |"
        ),
        "{md}"
    );
    // g0 selects each class 1/3 of the time.
    assert!(
        md.contains("| site\\|A | 6 | 1.0000 | 1.0000 | 1.0000 (cat) | 0.3333 (every class) |"),
        "{md}"
    );
    assert!(md.contains("| empty | 0 | n/a | n/a | n/a | n/a |"), "{md}");
    assert!(md.contains("Demographic parity ratio: 0.5000"), "{md}");
    assert!(md.contains("Equalized odds difference (one-vs-rest, worst class): 0.5000"));
    assert!(
        md.contains("- Worst group: site B (accuracy 0.6667)"),
        "{md}"
    );
    assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 4);
}

#[test]
fn binary_markdown_shows_the_positive_class_selection_rate() {
    let (y_true, y_pred, groups) = fairlearn_guide_example();
    let r = fairness_report(&y_true, &y_pred, &groups, 2, &names(&["a", "b", "c"])).unwrap();
    // No class names: classes shown by index.
    let md = r.to_markdown(&[]);
    assert!(md.contains("selection rate (1)"), "{md}");
    assert!(md.contains("| a | 4 | 0.2500 |"), "{md}");
    assert!(md.ends_with("- Worst group: a (accuracy 0.2500)\n"), "{md}");
}
