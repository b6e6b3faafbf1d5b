use super::*;

/// Samples laid out from a `[group][class]` table of counts, one label and one group each.
fn from_table(table: &[&[usize]]) -> (Vec<usize>, Vec<usize>) {
    let (mut labels, mut groups) = (Vec::new(), Vec::new());
    for (g, row) in table.iter().enumerate() {
        for (y, &count) in row.iter().enumerate() {
            labels.extend(std::iter::repeat_n(y, count));
            groups.extend(std::iter::repeat_n(g, count));
        }
    }
    (labels, groups)
}

/// Weighted counts per `[group][class]`.
fn weighted_cells(
    labels: &[usize],
    groups: &[usize],
    weights: &[f64],
    shape: (usize, usize),
) -> Vec<Vec<f64>> {
    let mut cells = vec![vec![0.0; shape.1]; shape.0];
    for ((&y, &g), &w) in labels.iter().zip(groups).zip(weights) {
        cells[g][y] += w;
    }
    cells
}

#[test]
fn weights_match_aif360_on_a_two_by_two_table() {
    // Group 0: 3 of class 0, 1 of class 1; group 1: 2 of class 0, 4 of class 1 (n = 10).
    // Expected: AIF360 0.6.1's Reweighing (group 0 unprivileged, class 1 favorable) gives
    // instance weights 2/3 ×3, 2, 1.5 ×2, 0.75 ×4, i.e. (n_y · n_g) / (n · n_gy):
    // 5·4/(10·3), 5·4/(10·1), 5·6/(10·2), 5·6/(10·4).
    let (labels, groups) = from_table(&[&[3, 1], &[2, 4]]);
    let cells = cell_weights(&labels, &groups, 2, 2).unwrap();
    assert_eq!(cells, vec![vec![2.0 / 3.0, 2.0], vec![1.5, 0.75]]);
    let weights = reweighing_weights(&labels, &groups, 2, 2).unwrap();
    let expected = [
        2.0 / 3.0,
        2.0 / 3.0,
        2.0 / 3.0,
        2.0,
        1.5,
        1.5,
        0.75,
        0.75,
        0.75,
        0.75,
    ];
    assert_eq!(weights, expected);
}

#[test]
fn weights_keep_the_marginals_and_make_group_and_label_independent() {
    // Three groups, four classes, every cell non-empty and no two rows proportional.
    let table: &[&[usize]] = &[&[40, 3, 7, 1], &[2, 25, 9, 14], &[11, 6, 1, 30]];
    let (labels, groups) = from_table(table);
    let n = labels.len() as f64;
    let weights = reweighing_weights(&labels, &groups, 4, 3).unwrap();
    let cells = weighted_cells(&labels, &groups, &weights, (3, 4));
    let group_sizes: Vec<f64> = table
        .iter()
        .map(|r| r.iter().sum::<usize>() as f64)
        .collect();
    let class_sizes: Vec<f64> = (0..4)
        .map(|y| table.iter().map(|r| r[y]).sum::<usize>() as f64)
        .collect();
    for g in 0..3 {
        let weighted: f64 = cells[g].iter().sum();
        assert!(
            (weighted - group_sizes[g]).abs() < 1e-9,
            "group {g}: {weighted}"
        );
    }
    for y in 0..4 {
        let weighted: f64 = cells.iter().map(|r| r[y]).sum();
        assert!(
            (weighted - class_sizes[y]).abs() < 1e-9,
            "class {y}: {weighted}"
        );
    }
    // Independence: the weighted P(g, y) is P(g) · P(y).
    for g in 0..3 {
        for y in 0..4 {
            let joint = cells[g][y] / n;
            let product = (group_sizes[g] / n) * (class_sizes[y] / n);
            assert!(
                (joint - product).abs() < 1e-12,
                "cell ({g}, {y}): {joint} vs {product}"
            );
        }
    }
    // Before reweighing the table is far from independent (cell (0, 0): 40/149 vs 53·51/149²).
    assert!((40.0 / n - group_sizes[0] * class_sizes[0] / (n * n)).abs() > 0.1);
}

#[test]
fn one_group_leaves_every_weight_at_one() {
    // n_g = n and n_gy = n_y, so every weight is n_y · n / (n · n_y) = 1.
    let labels = [0, 2, 2, 1, 0, 2, 1];
    let weights = reweighing_weights(&labels, &[0; 7], 3, 1).unwrap();
    assert_eq!(weights, vec![1.0; 7]);
}

#[test]
fn an_empty_cell_weighs_zero_and_no_sample_carries_it() {
    // Group 1 has no sample of class 1: its cell weighs 0, and group 1 then sums to
    // n_g · (1 − n_1 / n) = 2 · (1 − 3/6) = 1 rather than 2 (the documented limit).
    let (labels, groups) = from_table(&[&[1, 3], &[2, 0]]);
    let cells = cell_weights(&labels, &groups, 2, 2).unwrap();
    assert_eq!(cells[1][1], 0.0);
    let weights = reweighing_weights(&labels, &groups, 2, 2).unwrap();
    assert!(weights.iter().all(|&w| w > 0.0));
    let group_1: f64 = weights
        .iter()
        .zip(&groups)
        .filter(|(_, g)| **g == 1)
        .map(|(w, _)| w)
        .sum();
    assert!((group_1 - 1.0).abs() < 1e-12, "{group_1}");
}

#[test]
fn an_empty_group_or_class_has_zero_cells_and_harms_nothing() {
    // Group 1 and class 2 have no sample: the populated cells still get their closed form,
    // here from the table [[2, 1], [·, ·], [1, 2]] (n = 6): (n_y · n_g) / (n · n_gy).
    let (labels, groups) = from_table(&[&[2, 1, 0], &[0, 0, 0], &[1, 2, 0]]);
    let cells = cell_weights(&labels, &groups, 3, 3).unwrap();
    let w = |n_y: f64, n_g: f64, n_gy: f64| n_y * n_g / (6.0 * n_gy);
    assert_eq!(cells[0], vec![w(3.0, 3.0, 2.0), w(3.0, 3.0, 1.0), 0.0]);
    assert_eq!(cells[1], vec![0.0; 3]);
    assert_eq!(cells[2], vec![w(3.0, 3.0, 1.0), w(3.0, 3.0, 2.0), 0.0]);
}

#[test]
fn no_sample_gives_no_weight() {
    assert_eq!(
        reweighing_weights(&[], &[], 2, 2).unwrap(),
        Vec::<f64>::new()
    );
    assert_eq!(cell_weights(&[], &[], 2, 1).unwrap(), vec![vec![0.0, 0.0]]);
}

#[test]
fn bad_inputs_are_errors_naming_the_argument() {
    let message = |r: Result<Vec<f64>, FairError>| match r {
        Err(FairError::BadInput(m)) => m,
        other => panic!("expected BadInput, got {other:?}"),
    };
    let m = message(reweighing_weights(&[0, 1], &[0], 2, 1));
    assert!(m.contains("labels") && m.contains("groups"), "{m}");
    let m = message(reweighing_weights(&[0, 2], &[0, 0], 2, 1));
    assert!(
        m.contains("labels[1] = 2") && m.contains("num_classes"),
        "{m}"
    );
    let m = message(reweighing_weights(&[0, 1], &[0, 3], 2, 3));
    assert!(
        m.contains("groups[1] = 3") && m.contains("num_groups"),
        "{m}"
    );
    let m = message(reweighing_weights(&[0], &[0], 0, 1));
    assert!(m.contains("num_classes is 0"), "{m}");
}
