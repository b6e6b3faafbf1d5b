//! Drift by group: the accuracy of each group on the run's test split against the same group
//! on the new data, so a drop that hits one group is flagged even when the average holds.

use std::path::Path;

use serde::Serialize;
use temper_data::DataSplits;

use crate::config::experiment::Experiment;
use crate::error::TrainError;
use crate::score::groups::RunGroups;

/// One group's accuracy on the reference and on the new data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupDrift {
    /// The group's name, as both groups files spell it.
    pub group: String,
    /// Its images in the run's test split.
    pub reference_images: usize,
    /// Its images in the new data's test split.
    pub new_images: usize,
    /// Accuracy on the reference images, in `[0, 1]`.
    pub reference_accuracy: f64,
    /// Accuracy on the new images, in `[0, 1]`.
    pub new_accuracy: f64,
    /// `(reference − new accuracy) × 100`.
    pub drop_points: f64,
    /// Whether `drop_points` is above the accuracy-drop threshold.
    pub drift: bool,
}

/// One side of the comparison: each image's label, prediction and group, and the group names.
pub(crate) struct Grouped<'a> {
    pub labels: &'a [usize],
    pub predicted: &'a [usize],
    pub groups: &'a [usize],
    pub names: &'a [String],
}

impl Grouped<'_> {
    /// `(images, correct)` of the group named `name`; `None` when it has no image.
    fn counts(&self, name: &str) -> Option<(usize, usize)> {
        let g = self.names.iter().position(|n| n == name)?;
        let mut counts = (0, 0);
        for ((&label, &predicted), &group) in
            self.labels.iter().zip(self.predicted).zip(self.groups)
        {
            if group == g {
                counts.0 += 1;
                counts.1 += (label == predicted) as usize;
            }
        }
        (counts.0 > 0).then_some(counts)
    }
}

/// The accuracy drift of every group with images on both sides, in the reference's group
/// order; a group is flagged when its accuracy dropped more than `threshold_points`.
pub(crate) fn group_drift(
    reference: &Grouped<'_>,
    new: &Grouped<'_>,
    threshold_points: f64,
) -> Vec<GroupDrift> {
    reference
        .names
        .iter()
        .filter_map(|name| {
            let (rn, rc) = reference.counts(name)?;
            let (nn, nc) = new.counts(name)?;
            let (ra, na) = (rc as f64 / rn as f64, nc as f64 / nn as f64);
            let drop_points = (ra - na) * 100.0;
            Some(GroupDrift {
                group: name.clone(),
                reference_images: rn,
                new_images: nn,
                reference_accuracy: ra,
                new_accuracy: na,
                drop_points,
                drift: drop_points > threshold_points,
            })
        })
        .collect()
}

/// `verdict` followed by the group whose accuracy dropped most, when one drifted.
pub(crate) fn with_worst_group(verdict: String, groups: &[GroupDrift]) -> String {
    let Some(worst) = groups
        .iter()
        .filter(|g| g.drift)
        .max_by(|a, b| a.drop_points.total_cmp(&b.drop_points))
    else {
        return verdict;
    };
    let line = format!(
        "accuracy of group `{}` dropped {:.1} points",
        worst.group, worst.drop_points
    );
    match verdict.as_str() {
        "no drift" => line,
        _ => format!("{verdict}; {line}"),
    }
}

/// The drift of each group when the run declares `[data] groups` and `new_groups` names the
/// groups of the new data `data` (`(splits, each test image's prediction)` on both sides);
/// empty otherwise. Groups are matched by name.
pub(crate) fn drift_by_group(
    exp: &Experiment,
    data: &str,
    new_groups: Option<&Path>,
    (reference, reference_predicted): (&DataSplits, &[usize]),
    (new, new_predicted): (&DataSplits, &[usize]),
    threshold_points: f64,
) -> Result<Vec<GroupDrift>, TrainError> {
    let (Some(_), Some(file)) = (&exp.data.groups, new_groups) else {
        return Ok(Vec::new());
    };
    let read = |section: &crate::DataSection, splits: &DataSplits| {
        RunGroups::read(section, splits.train.len(), splits.test.len(), false)
            .map(|g| g.expect("the section names a groups file"))
    };
    let theirs = read(&exp.data, reference)?;
    let mut section = exp.data.clone();
    section.source = data.to_string();
    section.groups = Some(file.to_path_buf());
    let ours = read(&section, new).map_err(|e| match e {
        TrainError::Config(m) => TrainError::Config(m.replacen("data.groups", "--groups", 1)),
        other => other,
    })?;
    let side = |splits: &DataSplits, predicted: &[usize], groups: &RunGroups| {
        let labels: Vec<usize> = (0..splits.test.len())
            .map(|i| splits.test.label(i))
            .collect();
        (
            labels,
            predicted.to_vec(),
            groups.of_test.clone(),
            groups.names.clone(),
        )
    };
    let (rl, rp, rg, rn) = side(reference, reference_predicted, &theirs);
    let (nl, np, ng, nn) = side(new, new_predicted, &ours);
    Ok(group_drift(
        &Grouped {
            labels: &rl,
            predicted: &rp,
            groups: &rg,
            names: &rn,
        },
        &Grouped {
            labels: &nl,
            predicted: &np,
            groups: &ng,
            names: &nn,
        },
        threshold_points,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_in_one_group_is_flagged_while_the_other_holds() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        // Reference: group a 4/4 correct, group b 3/4, group c absent.
        let reference = Grouped {
            labels: &[0, 1, 0, 1, 0, 1, 0, 1],
            predicted: &[0, 1, 0, 1, 0, 1, 0, 0],
            groups: &[0, 0, 0, 0, 1, 1, 1, 1],
            names: &names,
        };
        // New: group a 4/4 again, group b 1/4, group c 2/2.
        let new = Grouped {
            labels: &[0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
            predicted: &[0, 1, 0, 1, 1, 0, 0, 0, 0, 1],
            groups: &[0, 0, 0, 0, 1, 1, 1, 1, 2, 2],
            names: &names,
        };
        let drift = group_drift(&reference, &new, 5.0);
        // c has no reference image: left out.
        assert_eq!(drift.len(), 2);
        assert_eq!((drift[0].group.as_str(), drift[0].drop_points), ("a", 0.0));
        assert!(!drift[0].drift);
        // b: 0.75 -> 0.25, a drop of 50 points.
        assert_eq!(drift[1].group, "b");
        assert!((drift[1].drop_points - 50.0).abs() < 1e-12);
        assert!(drift[1].drift);
        assert_eq!((drift[1].reference_images, drift[1].new_images), (4, 4));
    }
}
