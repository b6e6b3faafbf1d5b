//! fANOVA's first-order importances of a random forest (Hutter, Hoos & Leyton-Brown 2014,
//! "An Efficient Approach for Assessing Hyperparameter Importance", ICML).
//!
//! A regression tree is piecewise constant on a partition of the search space into boxes
//! (leaves), so its functional ANOVA under the uniform measure is exact and cheap. With `vol_l`
//! the share of the space leaf `l` covers and `v_l` its value, the tree's variance is
//! `V = Σ_l vol_l (v_l − μ)²`, `μ = Σ_l vol_l v_l`. The marginal of feature `i`,
//! `a_i(x_i) = ∫ f(x) dx_{−i}`, is constant on the cells between consecutive thresholds the
//! tree uses on `i` (each category, for a categorical), where it equals
//! `Σ_{l ∋ x_i} v_l · vol_{−i}(l)`, the sum over the leaves whose box contains the cell of
//! their value times the share of the *other* dimensions they cover; its variance over the
//! cells, weighted by their width, is the main effect `V_i`. A feature's importance is the
//! mean over the trees with `V > 0` of `V_i / V`, as in Optuna's `_Fanova.get_importance`
//! (`optuna/importance/_fanova/_fanova.py`), which takes the same cells (`_tree.py`'s split
//! midpoints and sizes). The measure is uniform on each numeric feature's `[0, 1]` and on a
//! categorical's categories; Optuna's one-hot columns instead also integrate over impossible
//! codes (no category, or two at once).

use super::forest::{FeatureKind, Forest, Node, Split, Tree};

/// The extent of a box along one feature.
#[derive(Debug, Clone)]
enum Extent {
    /// `[lo, hi]` inside `[0, 1]`.
    Range(f64, f64),
    /// The categories inside.
    Set(Vec<bool>),
}

impl Extent {
    /// The share of the feature's domain it covers.
    fn share(&self) -> f64 {
        match self {
            Extent::Range(lo, hi) => (hi - lo).max(0.0),
            Extent::Set(s) => s.iter().filter(|&&b| b).count() as f64 / s.len() as f64,
        }
    }
}

/// A leaf of a tree: its value and its box.
struct Leaf {
    value: f64,
    extents: Vec<Extent>,
}

/// The leaves of `tree` with their boxes, the root box being `[0, 1]` for numeric features
/// and every category for categoricals.
fn leaves(tree: &Tree, kinds: &[FeatureKind]) -> Vec<Leaf> {
    let root: Vec<Extent> = kinds
        .iter()
        .map(|k| match k {
            FeatureKind::Numeric => Extent::Range(0.0, 1.0),
            FeatureKind::Categorical(n) => Extent::Set(vec![true; *n]),
        })
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![(0usize, root)];
    while let Some((id, extents)) = stack.pop() {
        match &tree.nodes[id] {
            Node::Leaf(value) => out.push(Leaf {
                value: *value,
                extents,
            }),
            Node::Split {
                feature,
                split,
                left,
                right,
            } => {
                let (mut l, mut r) = (extents.clone(), extents);
                match (split, &mut l[*feature], &mut r[*feature]) {
                    (Split::Threshold(t), Extent::Range(_, lhi), Extent::Range(rlo, _)) => {
                        *lhi = lhi.min(*t);
                        *rlo = rlo.max(*t);
                    }
                    (Split::Categories(goes), Extent::Set(ls), Extent::Set(rs)) => {
                        for (c, &g) in goes.iter().enumerate() {
                            ls[c] &= g;
                            rs[c] &= !g;
                        }
                    }
                    _ => unreachable!("a split matches its feature's kind"),
                }
                stack.push((*left, l));
                stack.push((*right, r));
            }
        }
    }
    out
}

/// `(V_i / V)` for every feature of one tree; `None` when the tree is constant (`V = 0`).
pub(crate) fn tree_fractions(tree: &Tree, kinds: &[FeatureKind]) -> Option<Vec<f64>> {
    let leaves = leaves(tree, kinds);
    let d = kinds.len();
    // vol_{−i}(l) for every leaf and feature, from prefix and suffix products of the shares.
    let others: Vec<Vec<f64>> = leaves
        .iter()
        .map(|leaf| {
            let shares: Vec<f64> = leaf.extents.iter().map(Extent::share).collect();
            let mut out = vec![1.0; d];
            let mut prefix = 1.0;
            for i in 0..d {
                out[i] = prefix;
                prefix *= shares[i];
            }
            let mut suffix = 1.0;
            for i in (0..d).rev() {
                out[i] *= suffix;
                suffix *= shares[i];
            }
            out
        })
        .collect();
    let volume = |l: usize| leaves[l].extents[0].share() * others[l][0];
    let mean: f64 = (0..leaves.len()).map(|l| volume(l) * leaves[l].value).sum();
    let total: f64 = (0..leaves.len())
        .map(|l| volume(l) * (leaves[l].value - mean).powi(2))
        .sum();
    if d == 0 || total <= 0.0 {
        return None;
    }
    let mut split_on = vec![false; d];
    for node in &tree.nodes {
        if let Node::Split { feature, .. } = node {
            split_on[*feature] = true;
        }
    }
    let fractions = (0..d)
        .map(|i| {
            if !split_on[i] {
                return 0.0;
            }
            let main = match kinds[i] {
                FeatureKind::Numeric => numeric_main_effect(tree, &leaves, &others, i),
                FeatureKind::Categorical(n) => categorical_main_effect(&leaves, &others, i, n),
            };
            (main / total).max(0.0)
        })
        .collect();
    Some(fractions)
}

/// The variance of the weighted values `a` over cells of widths `w` (summing to 1).
fn weighted_variance(a: &[f64], w: &[f64]) -> f64 {
    let mean: f64 = a.iter().zip(w).map(|(a, w)| a * w).sum();
    a.iter().zip(w).map(|(a, w)| w * (a - mean).powi(2)).sum()
}

fn numeric_main_effect(tree: &Tree, leaves: &[Leaf], others: &[Vec<f64>], i: usize) -> f64 {
    let mut cuts = vec![0.0, 1.0];
    for node in &tree.nodes {
        if let Node::Split {
            feature,
            split: Split::Threshold(t),
            ..
        } = node
            && *feature == i
        {
            cuts.push(t.clamp(0.0, 1.0));
        }
    }
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    // a leaf's [lo, hi] ends are cuts, so an exact search finds them.
    let at = |x: f64| cuts.partition_point(|&c| c < x);
    let cells = cuts.len() - 1;
    let mut diff = vec![0.0; cells + 1];
    for (leaf, other) in leaves.iter().zip(others) {
        if let Extent::Range(lo, hi) = leaf.extents[i] {
            let (a, b) = (at(lo), at(hi));
            if a < b {
                diff[a] += leaf.value * other[i];
                diff[b] -= leaf.value * other[i];
            }
        }
    }
    let mut run = 0.0;
    let marginal: Vec<f64> = diff[..cells]
        .iter()
        .map(|d| {
            run += d;
            run
        })
        .collect();
    let widths: Vec<f64> = cuts.windows(2).map(|c| c[1] - c[0]).collect();
    weighted_variance(&marginal, &widths)
}

fn categorical_main_effect(leaves: &[Leaf], others: &[Vec<f64>], i: usize, n: usize) -> f64 {
    let mut marginal = vec![0.0; n];
    for (leaf, other) in leaves.iter().zip(others) {
        if let Extent::Set(set) = &leaf.extents[i] {
            for (c, _) in set.iter().enumerate().filter(|(_, b)| **b) {
                marginal[c] += leaf.value * other[i];
            }
        }
    }
    weighted_variance(&marginal, &vec![1.0 / n as f64; n])
}

/// Each feature's first-order importance: the mean over the trees with nonzero variance of
/// `V_i / V`; all zeros when every tree is constant.
pub(crate) fn first_order(forest: &Forest, kinds: &[FeatureKind]) -> Vec<f64> {
    let mut sum = vec![0.0; kinds.len()];
    let mut count = 0usize;
    for fractions in forest.trees.iter().filter_map(|t| tree_fractions(t, kinds)) {
        for (s, f) in sum.iter_mut().zip(fractions) {
            *s += f;
        }
        count += 1;
    }
    if count > 0 {
        for s in &mut sum {
            *s /= count as f64;
        }
    }
    sum
}
