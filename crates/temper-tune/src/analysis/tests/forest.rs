//! The regression forest: split choice, exact fits, determinism.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::analysis::forest::{FeatureKind, Forest, ForestSettings, Node, Split};

fn one_tree() -> ForestSettings {
    ForestSettings {
        n_trees: 1,
        bootstrap: false,
        ..ForestSettings::default()
    }
}

/// `n` points uniform on [0, 1]^d from a seeded stream, as columns.
fn uniform_columns(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
        .collect();
    (0..d)
        .map(|f| rows.iter().map(|r| r[f]).collect())
        .collect()
}

#[test]
fn the_root_splits_where_the_children_squared_error_is_smallest() {
    // y = [0, 0, 1, 5] at x = [0, 1, 2, 3]: the children's SSE after x = 0, 1, 2 is
    // 0 + 14, 0 + 8 and 2/3 + 0, so the root cuts at the midpoint 2.5.
    let x = vec![vec![0.0, 1.0, 2.0, 3.0]];
    let forest = Forest::fit(
        &x,
        &[FeatureKind::Numeric],
        &[0.0, 0.0, 1.0, 5.0],
        &one_tree(),
    );
    match &forest.trees[0].nodes[0] {
        Node::Split {
            feature: 0,
            split: Split::Threshold(t),
            ..
        } => assert_eq!(*t, 2.5),
        other => panic!("root is {other:?}"),
    }
}

#[test]
fn a_categorical_split_groups_categories_by_mean() {
    // Categories 0 and 2 have mean 0, 1 and 3 mean 10: one split separates {0, 2} from
    // {1, 3}, which no threshold on the index can do.
    let c: Vec<f64> = (0..40).map(|i| (i % 4) as f64).collect();
    let y: Vec<f64> = c
        .iter()
        .map(|&c| if c as usize % 2 == 1 { 10.0 } else { 0.0 })
        .collect();
    let forest = Forest::fit(&[c], &[FeatureKind::Categorical(4)], &y, &one_tree());
    let tree = &forest.trees[0];
    assert_eq!(tree.nodes.len(), 3, "{tree:?}");
    match &tree.nodes[0] {
        Node::Split {
            split: Split::Categories(left),
            ..
        } => assert_eq!(left, &vec![true, false, true, false]),
        other => panic!("root is {other:?}"),
    }
}

#[test]
fn a_noiseless_step_function_is_fit_exactly() {
    // y = 1[x0 > 0.3] + 2·1[x1 > 0.6], x2 ignored, 300 points: every tree reproduces its
    // bootstrap sample, and the forest is exact wherever no tree can have cut between the
    // data points next to a step (0.05 away from it, where the gaps are ~1/300).
    let x = uniform_columns(300, 3, 1);
    let step = |a: f64, b: f64| f64::from(a > 0.3) + 2.0 * f64::from(b > 0.6);
    let y: Vec<f64> = (0..300).map(|i| step(x[0][i], x[1][i])).collect();
    let kinds = [FeatureKind::Numeric; 3];
    let single = Forest::fit(&x, &kinds, &y, &one_tree());
    for i in 0..300 {
        let row = [x[0][i], x[1][i], x[2][i]];
        assert_eq!(single.predict(&row), y[i]);
    }
    let forest = Forest::fit(&x, &kinds, &y, &ForestSettings::default());
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut checked = 0;
    while checked < 1000 {
        let row: [f64; 3] = [rng.random(), rng.random(), rng.random()];
        if (row[0] - 0.3).abs() > 0.05 && (row[1] - 0.6).abs() > 0.05 {
            assert_eq!(forest.predict(&row), step(row[0], row[1]), "{row:?}");
            checked += 1;
        }
    }
}

#[test]
fn a_forest_depends_only_on_its_data_and_seed() {
    let x = uniform_columns(200, 4, 3);
    let y: Vec<f64> = (0..200)
        .map(|i| (7.0 * x[0][i]).sin() + x[1][i] * x[2][i])
        .collect();
    let kinds = [FeatureKind::Numeric; 4];
    let settings = ForestSettings::default();
    let a = Forest::fit(&x, &kinds, &y, &settings);
    assert_eq!(a, Forest::fit(&x, &kinds, &y, &settings));
    let other = ForestSettings {
        seed: 1,
        ..settings
    };
    assert_ne!(a, Forest::fit(&x, &kinds, &y, &other));
}

#[test]
fn depth_and_leaf_limits_hold() {
    let x = uniform_columns(200, 2, 4);
    let y: Vec<f64> = (0..200).map(|i| x[0][i] + x[1][i]).collect();
    let settings = ForestSettings {
        max_depth: 3,
        min_samples_leaf: 5,
        ..one_tree()
    };
    let tree = &Forest::fit(&x, &[FeatureKind::Numeric; 2], &y, &settings).trees[0];
    // Every sample's path has at most 3 splits (and some have 3: the data would split
    // further), and every leaf holds at least 5 of the 200 samples.
    let mut counts = std::collections::BTreeMap::new();
    let mut deepest = 0;
    for (&a, &b) in x[0].iter().zip(&x[1]) {
        let row = [a, b];
        let (mut id, mut depth) = (0, 0);
        while let Node::Split {
            feature,
            split,
            left,
            right,
        } = &tree.nodes[id]
        {
            id = if split.goes_left(row[*feature]) {
                *left
            } else {
                *right
            };
            depth += 1;
        }
        deepest = deepest.max(depth);
        *counts.entry(id).or_insert(0) += 1;
    }
    assert_eq!(deepest, 3);
    assert!(counts.values().all(|&c| c >= 5), "{counts:?}");
}
