//! Per-group scores and fairlearn's disparity aggregates, for multiclass classifiers.
//!
//! Each group gets the row of fairlearn's `MetricFrame.by_group`: support, accuracy and, per
//! class `c` taken one-vs-rest, recall `TP/(TP+FN)`, false positive rate `FP/(FP+TN)`,
//! precision `TP/(TP+FP)` and selection rate `P(ŷ = c | A = a)`. The aggregates are
//! fairlearn's (`fairlearn/metrics/_fairness_metrics.py`, its `between_groups` default):
//!
//! - demographic parity difference `max_a s_a − min_a s_a` and ratio `min_a s_a / max_a s_a`
//!   over the groups' selection rates `s_a`;
//! - equalized odds difference `max(TPR difference, FPR difference)` and ratio
//!   `min(TPR ratio, FPR ratio)`, fairlearn's default `agg = "worst_case"`.
//!
//! Differences and ratios are `MetricFrame.difference()` and `.ratio()` with
//! `method="between_groups"`: `group_max − group_min` and `group_min / group_max`
//! (`fairlearn/metrics/_disaggregated_result.py`), whose pandas min and max skip NaN.
//!
//! # Multiclass
//!
//! fairlearn's TPR and FPR are binary only (`_base_metrics.py` refuses more than two label
//! values), and its selection rate counts `pos_label` alone. With two classes temper follows
//! it exactly, class 1 being fairlearn's `pos_label = 1`. With one class or more than two,
//! each class is taken one-vs-rest and the aggregate is the worst case over classes: the
//! largest difference and the smallest ratio. Taking both classes of a binary problem would
//! change nothing for the differences (class 0's selection rate, TPR and FPR are `1 − s`,
//! `1 − FPR` and `1 − TPR` of class 1, so their spreads are equal) but would change the
//! ratios, which is why the binary case keeps fairlearn's single positive class.
//!
//! # Undefined values
//!
//! They are NaN and never count as a disparity:
//!
//! - a group without samples (support 0) has NaN scores and is left out of the aggregates and
//!   of the worst group;
//! - a rate whose denominator is zero is NaN: recall for a class the group has no sample of,
//!   FPR for a class every sample of the group belongs to, precision for a class never
//!   predicted. fairlearn reports 0 there instead (scikit-learn's `confusion_matrix` with
//!   `normalize="true"` turns 0/0 into 0), comparing a rate that cannot be measured as if it
//!   had been measured at 0: for `y_true = [0,0,0, 0,1,1,0]`, `y_pred = [0,0,1, 0,1,0,1]`
//!   and groups `a,a,a, b,b,b,b`, fairlearn 0.15 gives an equalized odds difference of 0.5
//!   from group a's "TPR 0", while temper skips it and gives 1/6 (the FPRs 1/3 and 1/2);
//! - the aggregates take the max and min over the defined values; with fewer than two, the
//!   difference is 0 and the ratio 1, as fairlearn gives for a single group;
//! - a ratio whose largest value is 0 (every group at rate 0) is 1, where fairlearn returns
//!   NaN from 0/0: every group has the same rate, which is what fairlearn documents a ratio of
//!   1 to mean, and the difference is 0 in the same case.

use std::fmt::Write as _;

use crate::FairError;

/// The most group × class cells a report allocates (each holds a few counts and four rates):
/// ImageNet-21k's 21,841 classes over 256 groups is 5.6 M; the bound refuses a `num_classes`
/// that could only come from a bug before it allocates gigabytes.
pub const MAX_GROUP_CLASS_CELLS: usize = 1 << 24;

/// One group's scores: a row of fairlearn's `MetricFrame.by_group`. Undefined rates (NaN) are
/// `null` in JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupScores {
    /// The group's name.
    pub name: String,
    /// How many samples belong to the group.
    pub support: usize,
    /// Share of the group's samples predicted correctly; NaN for an empty group.
    pub accuracy: f64,
    /// Per class, `TP / (TP + FN)`; NaN when the group has no sample of that class.
    pub recall: Vec<f64>,
    /// Per class one-vs-rest, `FP / (FP + TN)`; NaN when every sample is of that class.
    pub false_positive_rate: Vec<f64>,
    /// Per class, `TP / (TP + FP)`; NaN when the class is never predicted in the group.
    pub precision: Vec<f64>,
    /// Per class, the share of the group's samples predicted as that class.
    pub selection_rate: Vec<f64>,
}

/// Per-group scores and the disparities between groups (see the module docs).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FairnessReport {
    /// How many classes the predictions range over.
    pub num_classes: usize,
    /// One entry per group name, in the order of the names.
    pub groups: Vec<GroupScores>,
    /// Largest spread of selection rates between groups (worst class).
    pub demographic_parity_difference: f64,
    /// Smallest min/max ratio of selection rates between groups (worst class).
    pub demographic_parity_ratio: f64,
    /// Largest spread of TPR or FPR between groups (worst class).
    pub equalized_odds_difference: f64,
    /// Smallest min/max ratio of TPR or FPR between groups (worst class).
    pub equalized_odds_ratio: f64,
    /// The group with the lowest accuracy among those with samples (the first on a tie).
    pub worst_group: Option<usize>,
    /// That group's accuracy; NaN when no group has samples.
    pub worst_group_accuracy: f64,
}

/// Per-group counts, one-vs-rest per class.
struct Counts {
    support: usize,
    correct: usize,
    /// Samples whose label is the class (`TP + FN`).
    actual: Vec<usize>,
    /// Samples predicted as the class (`TP + FP`).
    predicted: Vec<usize>,
    /// Samples both (`TP`).
    hits: Vec<usize>,
}

/// Scores every group and the disparities between them.
///
/// `labels` and `predictions` are class indices below `num_classes`, `groups` group indices
/// below `group_names.len()`, all of one length. Anything else is `FairError::BadInput`.
pub fn fairness_report(
    labels: &[usize],
    predictions: &[usize],
    groups: &[usize],
    num_classes: usize,
    group_names: &[String],
) -> Result<FairnessReport, FairError> {
    check_inputs(labels, predictions, groups, num_classes, group_names.len())?;
    let mut counts: Vec<Counts> = (0..group_names.len())
        .map(|_| Counts {
            support: 0,
            correct: 0,
            actual: vec![0; num_classes],
            predicted: vec![0; num_classes],
            hits: vec![0; num_classes],
        })
        .collect();
    for ((&label, &prediction), &group) in labels.iter().zip(predictions).zip(groups) {
        let c = &mut counts[group];
        c.support += 1;
        c.actual[label] += 1;
        c.predicted[prediction] += 1;
        if label == prediction {
            c.correct += 1;
            c.hits[label] += 1;
        }
    }
    let scores: Vec<GroupScores> = counts
        .iter()
        .zip(group_names)
        .map(|(c, name)| group_scores(c, name))
        .collect();

    let (mut dp_difference, mut dp_ratio) = (0.0_f64, 1.0_f64);
    let (mut eo_difference, mut eo_ratio) = (0.0_f64, 1.0_f64);
    for class in assessed_classes(num_classes) {
        let (difference, ratio) = disparity(&scores, |s| s.selection_rate[class]);
        dp_difference = dp_difference.max(difference);
        dp_ratio = dp_ratio.min(ratio);
        let (tpr_difference, tpr_ratio) = disparity(&scores, |s| s.recall[class]);
        let (fpr_difference, fpr_ratio) = disparity(&scores, |s| s.false_positive_rate[class]);
        eo_difference = eo_difference.max(tpr_difference).max(fpr_difference);
        eo_ratio = eo_ratio.min(tpr_ratio).min(fpr_ratio);
    }

    let mut worst_group = None;
    let mut worst_group_accuracy = f64::NAN;
    for (index, s) in scores.iter().enumerate() {
        if s.support > 0 && (worst_group.is_none() || s.accuracy < worst_group_accuracy) {
            worst_group = Some(index);
            worst_group_accuracy = s.accuracy;
        }
    }
    Ok(FairnessReport {
        num_classes,
        groups: scores,
        demographic_parity_difference: dp_difference,
        demographic_parity_ratio: dp_ratio,
        equalized_odds_difference: eo_difference,
        equalized_odds_ratio: eo_ratio,
        worst_group,
        worst_group_accuracy,
    })
}

/// Lengths equal, every index in range, the table small enough to allocate.
fn check_inputs(
    labels: &[usize],
    predictions: &[usize],
    groups: &[usize],
    num_classes: usize,
    num_groups: usize,
) -> Result<(), FairError> {
    let bad = |message: String| Err(FairError::BadInput(message));
    if predictions.len() != labels.len() || groups.len() != labels.len() {
        return bad(format!(
            "labels, predictions and groups differ in length: {}, {} and {}",
            labels.len(),
            predictions.len(),
            groups.len()
        ));
    }
    if num_classes == 0 {
        return bad("num_classes is 0: a classifier has at least one class".into());
    }
    if num_groups
        .checked_mul(num_classes)
        .is_none_or(|cells| cells > MAX_GROUP_CLASS_CELLS)
    {
        return bad(format!(
            "{num_groups} groups × {num_classes} classes exceed the {MAX_GROUP_CLASS_CELLS} \
             cells a fairness report allocates"
        ));
    }
    let in_range = |name: &str, values: &[usize], bound: usize, what: &str| match values
        .iter()
        .position(|&v| v >= bound)
    {
        Some(i) => bad(format!(
            "{name}[{i}] is {}, not below the {bound} {what}",
            values[i]
        )),
        None => Ok(()),
    };
    in_range("labels", labels, num_classes, "classes")?;
    in_range("predictions", predictions, num_classes, "classes")?;
    in_range("groups", groups, num_groups, "group names")
}

/// `num / den`, NaN when `den` is zero (an undefined rate, see the module docs).
fn rate(num: usize, den: usize) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

fn group_scores(c: &Counts, name: &str) -> GroupScores {
    let classes = c.actual.len();
    let mut scores = GroupScores {
        name: name.to_owned(),
        support: c.support,
        accuracy: rate(c.correct, c.support),
        recall: Vec::with_capacity(classes),
        false_positive_rate: Vec::with_capacity(classes),
        precision: Vec::with_capacity(classes),
        selection_rate: Vec::with_capacity(classes),
    };
    for class in 0..classes {
        let (tp, actual, predicted) = (c.hits[class], c.actual[class], c.predicted[class]);
        scores.recall.push(rate(tp, actual));
        scores
            .false_positive_rate
            .push(rate(predicted - tp, c.support - actual));
        scores.precision.push(rate(tp, predicted));
        scores.selection_rate.push(rate(predicted, c.support));
    }
    scores
}

/// The classes whose one-vs-rest rates are compared: fairlearn's `pos_label = 1` for a binary
/// classifier, every class otherwise (see the module docs).
fn assessed_classes(num_classes: usize) -> std::ops::Range<usize> {
    if num_classes == 2 {
        1..2
    } else {
        0..num_classes
    }
}

/// `(max − min, min / max)` of one rate over the groups with samples, NaN values skipped;
/// `(0, 1)` with fewer than two defined values, ratio 1 when the largest value is 0.
fn disparity(scores: &[GroupScores], value: impl Fn(&GroupScores) -> f64) -> (f64, f64) {
    let (mut low, mut high, mut count) = (f64::INFINITY, f64::NEG_INFINITY, 0_usize);
    for v in scores
        .iter()
        .filter(|s| s.support > 0)
        .map(value)
        .filter(|v| !v.is_nan())
    {
        low = low.min(v);
        high = high.max(v);
        count += 1;
    }
    if count < 2 {
        return (0.0, 1.0);
    }
    let ratio = if high == 0.0 { 1.0 } else { low / high };
    (high - low, ratio)
}

impl FairnessReport {
    /// A Markdown table for `report.md`: one row per group (support, accuracy, mean and
    /// worst-class recall, selection rates), then the four aggregates and the worst group.
    ///
    /// `class_names` label the classes; a class without a name is shown by its index.
    pub fn to_markdown(&self, class_names: &[String]) -> String {
        let class = |c: usize| match class_names.get(c) {
            Some(name) => cell(name),
            None => c.to_string(),
        };
        let binary = self.num_classes == 2;
        let mut out = String::new();
        let selection_header = if binary {
            format!("selection rate ({})", class(1))
        } else {
            "selection rate (lowest – highest class)".to_owned()
        };
        let _ = writeln!(
            out,
            "| group | support | accuracy | mean recall | worst-class recall | {selection_header} |"
        );
        out.push_str("|---|---:|---:|---:|---|---|\n");
        for g in &self.groups {
            out.push_str(&group_row(g, binary, &class));
        }
        let scope = if binary {
            format!("positive class {}", class(1))
        } else {
            "one-vs-rest, worst class".to_owned()
        };
        out.push('\n');
        let _ = writeln!(
            out,
            "- Demographic parity difference ({scope}): {}\n- Demographic parity ratio: {}\n\
             - Equalized odds difference ({scope}): {}\n- Equalized odds ratio: {}",
            number(self.demographic_parity_difference),
            number(self.demographic_parity_ratio),
            number(self.equalized_odds_difference),
            number(self.equalized_odds_ratio),
        );
        match self.worst_group {
            Some(w) => {
                let _ = writeln!(
                    out,
                    "- Worst group: {} (accuracy {})",
                    cell(&self.groups[w].name),
                    number(self.worst_group_accuracy)
                );
            }
            None => out.push_str("- Worst group: none (no group has samples)\n"),
        }
        out
    }
}

/// One group's row of the Markdown table, with its line end.
fn group_row(g: &GroupScores, binary: bool, class: &dyn Fn(usize) -> String) -> String {
    let worst_recall = match arg_extreme(&g.recall, |a, b| a < b) {
        Some(c) => format!("{} ({})", number(g.recall[c]), class(c)),
        None => number(f64::NAN),
    };
    let rates = &g.selection_rate;
    let selection = if binary {
        number(rates[1])
    } else {
        let low = arg_extreme(rates, |a, b| a < b);
        let high = arg_extreme(rates, |a, b| a > b);
        match (low, high) {
            (Some(l), Some(h)) if rates[l] == rates[h] => {
                format!("{} (every class)", number(rates[l]))
            }
            (Some(l), Some(h)) => format!(
                "{} ({}) – {} ({})",
                number(rates[l]),
                class(l),
                number(rates[h]),
                class(h)
            ),
            _ => number(f64::NAN),
        }
    };
    format!(
        "| {} | {} | {} | {} | {worst_recall} | {selection} |\n",
        cell(&g.name),
        g.support,
        number(g.accuracy),
        number(mean_defined(&g.recall)),
    )
}

/// Four decimals, `n/a` for an undefined value.
fn number(v: f64) -> String {
    if v.is_nan() {
        "n/a".to_owned()
    } else {
        format!("{v:.4}")
    }
}

/// User text made safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Mean of the defined values, NaN when none is.
fn mean_defined(values: &[f64]) -> f64 {
    let defined: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if defined.is_empty() {
        f64::NAN
    } else {
        defined.iter().sum::<f64>() / defined.len() as f64
    }
}

/// Index of the first defined value that `better` prefers to every other, if any is defined.
fn arg_extreme(values: &[f64], better: impl Fn(f64, f64) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in values.iter().enumerate() {
        if !v.is_nan() && best.is_none_or(|b| better(v, values[b])) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests;
