//! Reweighing (Kamiran & Calders 2012, "Data preprocessing techniques for classification
//! without discrimination", Knowledge and Information Systems 33(1), section 4.2).
//!
//! A sample of group `g` and class `y` weighs
//!
//! ```text
//! w(g, y) = expected / observed = (n_g · n_y / n) / n_gy
//! ```
//!
//! where `n_gy` counts the samples of that cell, `n_g` and `n_y` the group's and the class's
//! samples and `n` all of them. The weighted count of the cell is then `n_g · n_y / n`, so the
//! weighted joint distribution is the product of the marginals (group and label independent)
//! and the weighted marginals are the unweighted ones (`Σ_y n_gy · w(g, y) = n_g`,
//! `Σ_g n_gy · w(g, y) = n_y`) — provided no cell of a non-empty group and a non-empty class
//! is empty (see [`cell_weights`]).
//!
//! This is AIF360's `Reweighing.fit` (`aif360/algorithms/preprocessing/reweighing.py`), which
//! computes `w_p_fav = n_fav * n_p / (n * n_p_fav)` for its two groups (privileged or not) and
//! two labels (favorable or not); here any number of groups and classes, in the same order of
//! operations. AIF360 starts from the dataset's instance weights (all one unless set); here
//! every sample counts once. The method has no setting, hence no default.

use crate::FairError;

use super::{check_indices, check_same_length};

/// The reweighing weight of every cell, indexed `[group][class]`:
/// `(n_g · n_y) / (n · n_gy)`.
///
/// A cell with no sample gets `0.0`: no sample carries it, so it never applies. Such a cell
/// costs the method its guarantees where its group and its class both have samples: the
/// weighted group then sums to `n_g · (1 − Σ_{y missing} n_y / n)`, short of `n_g`, and
/// independence cannot hold (the weighted cell stays empty where it should hold
/// `n_g · n_y / n`). Oversampling or merging groups is the remedy; the weights do not
/// pretend otherwise.
pub fn cell_weights(
    labels: &[usize],
    groups: &[usize],
    num_classes: usize,
    num_groups: usize,
) -> Result<Vec<Vec<f64>>, FairError> {
    let counts = cell_counts(labels, groups, num_classes, num_groups)?;
    let n = labels.len() as f64;
    let class_totals: Vec<usize> = (0..num_classes)
        .map(|y| counts.iter().map(|row| row[y]).sum())
        .collect();
    Ok(counts
        .iter()
        .map(|row| {
            let group_total = row.iter().sum::<usize>() as f64;
            row.iter()
                .zip(&class_totals)
                .map(|(&n_gy, &n_y)| {
                    if n_gy == 0 {
                        0.0
                    } else {
                        // AIF360's order: n_fav * n_p / (n * n_p_fav).
                        n_y as f64 * group_total / (n * n_gy as f64)
                    }
                })
                .collect()
        })
        .collect())
}

/// Each sample's reweighing weight, `w(groups[i], labels[i])` of [`cell_weights`]: the
/// per-sample weights of a weighted loss (`Σ w_i · loss_i / n`, as AIF360's output's
/// `instance_weights` feed scikit-learn's `sample_weight`). They sum to `n`.
pub fn reweighing_weights(
    labels: &[usize],
    groups: &[usize],
    num_classes: usize,
    num_groups: usize,
) -> Result<Vec<f64>, FairError> {
    let cells = cell_weights(labels, groups, num_classes, num_groups)?;
    Ok(labels
        .iter()
        .zip(groups)
        .map(|(&y, &g)| cells[g][y])
        .collect())
}

/// The number of samples of each cell, `[group][class]`, after checking the inputs.
fn cell_counts(
    labels: &[usize],
    groups: &[usize],
    num_classes: usize,
    num_groups: usize,
) -> Result<Vec<Vec<usize>>, FairError> {
    check_same_length("labels", labels.len(), "groups", groups.len())?;
    check_indices("labels", labels, "num_classes", num_classes)?;
    check_indices("groups", groups, "num_groups", num_groups)?;
    let mut counts = vec![vec![0usize; num_classes]; num_groups];
    for (&y, &g) in labels.iter().zip(groups) {
        counts[g][y] += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests;
