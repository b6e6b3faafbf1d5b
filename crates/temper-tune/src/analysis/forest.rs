//! A regression random forest: the model fANOVA decomposes.
//!
//! Each tree is a CART regression tree (Breiman et al. 1984) grown on a bootstrap sample: a
//! node splits where the weighted sum of squared errors of its two children is smallest, i.e.
//! where the proxy `S_L²/W_L + S_R²/W_R` (sums `S` and weights `W` of the targets on each side)
//! is largest, and stops at `max_depth`, below `min_samples_split` distinct samples, or when its
//! targets are constant. The defaults are those of Optuna's `FanovaImportanceEvaluator`
//! (`optuna/importance/_fanova/_evaluator.py`): scikit-learn's `RandomForestRegressor` with 64
//! trees, `max_depth` 64, `min_samples_split` 2, `min_samples_leaf` 1, bootstrap and every
//! feature tried at every node (`max_features = 1.0`). As in scikit-learn, a bootstrap draw
//! is a sample weight (the number of times it was drawn), `min_samples_*` count distinct
//! samples, a numeric threshold is the midpoint between two consecutive distinct values at
//! least 1e-7 apart (`FEATURE_THRESHOLD` in `sklearn/tree/_splitter.pyx`), and the features are
//! visited in a random order at each node, so that ties go to a random one.
//!
//! Unlike scikit-learn, a categorical feature (a category index) splits into two *sets* of
//! categories, as in the original fANOVA's forest (pyrfr): the categories present at the node,
//! sorted by their mean target, split at the best prefix, which for squared error is the best
//! of all `2^(k−1) − 1` partitions (Breiman et al. 1984, §9.4; Fisher 1958). Categories absent
//! from the node go to the child holding more weight, whose mean is nearer the node's.
//! Optuna one-hot encodes categoricals instead, whose splits cannot group categories.
//!
//! Every tree draws from ChaCha8 seeded with the forest's seed on stream `tree index`, so a
//! forest depends only on its data and settings.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a feature column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FeatureKind {
    /// A real value; a split is a threshold.
    Numeric,
    /// A category index in `0..n` (stored as `f64`); a split is a set of categories.
    Categorical(usize),
}

/// How a forest is grown; [`Default`] gives Optuna's fANOVA settings (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForestSettings {
    /// Trees in the forest (Optuna: 64).
    pub n_trees: usize,
    /// Deepest node depth, the root being depth 0 (Optuna: 64).
    pub max_depth: usize,
    /// Fewest distinct samples a node needs to split (Optuna: 2).
    pub min_samples_split: usize,
    /// Fewest distinct samples a child may hold (Optuna: 1).
    pub min_samples_leaf: usize,
    /// Grow each tree on a bootstrap sample (scikit-learn's default) rather than on all rows.
    pub bootstrap: bool,
    /// Seeds the bootstrap draws and the feature orders.
    pub seed: u64,
}

impl Default for ForestSettings {
    fn default() -> Self {
        ForestSettings {
            n_trees: 64,
            max_depth: 64,
            min_samples_split: 2,
            min_samples_leaf: 1,
            bootstrap: true,
            seed: 0,
        }
    }
}

/// How a node sends a sample to its children.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Split {
    /// Left when the value is `<=` the threshold.
    Threshold(f64),
    /// Left when the category's entry is `true`.
    Categories(Vec<bool>),
}

impl Split {
    /// Whether value `x` goes to the left child.
    pub fn goes_left(&self, x: f64) -> bool {
        match self {
            Split::Threshold(t) => x <= *t,
            Split::Categories(left) => left.get(x as usize).copied().unwrap_or(false),
        }
    }
}

/// One node of a tree; children are indices into [`Tree::nodes`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A prediction: the weighted mean target of the node's samples.
    Leaf(f64),
    /// An internal node.
    Split {
        /// The feature (column) it splits on.
        feature: usize,
        /// How it splits.
        split: Split,
        /// The child `goes_left` samples go to.
        left: usize,
        /// The other child.
        right: usize,
    },
}

/// A regression tree; the root is `nodes[0]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    /// The nodes, each child after its parent.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The leaf value for one sample (`x[f]` is feature `f`).
    #[cfg(test)]
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            match &self.nodes[i] {
                Node::Leaf(v) => return *v,
                Node::Split {
                    feature,
                    split,
                    left,
                    right,
                } => {
                    i = if split.goes_left(x[*feature]) {
                        *left
                    } else {
                        *right
                    }
                }
            }
        }
    }
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Forest {
    /// The trees, in seed-stream order.
    pub trees: Vec<Tree>,
}

impl Forest {
    /// Grows a forest on `columns[f][i]` (feature `f` of sample `i`) and targets `y[i]`.
    /// Every column has `y.len()` entries; categorical entries are indices below the kind's
    /// count.
    pub fn fit(
        columns: &[Vec<f64>],
        kinds: &[FeatureKind],
        y: &[f64],
        settings: &ForestSettings,
    ) -> Forest {
        assert_eq!(columns.len(), kinds.len(), "one kind per column");
        assert!(columns.iter().all(|c| c.len() == y.len()), "ragged columns");
        let n = y.len();
        // Sorting once per forest: each tree keeps the in-bag samples in this order.
        let sorted: Vec<Vec<u32>> = columns
            .iter()
            .map(|c| {
                let mut idx: Vec<u32> = (0..n as u32).collect();
                idx.sort_by(|&a, &b| c[a as usize].total_cmp(&c[b as usize]));
                idx
            })
            .collect();
        let trees = (0..settings.n_trees)
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
                rng.set_stream(t as u64);
                let mut weight = vec![0.0f64; n];
                if settings.bootstrap {
                    for _ in 0..n {
                        weight[rng.random_range(0..n)] += 1.0;
                    }
                } else {
                    weight.fill(1.0);
                }
                let order = sorted
                    .iter()
                    .map(|s| {
                        s.iter()
                            .copied()
                            .filter(|&i| weight[i as usize] > 0.0)
                            .collect()
                    })
                    .collect();
                let mut grower = Grower {
                    columns,
                    kinds,
                    y,
                    weight,
                    settings,
                    rng,
                    order,
                    goes_left: vec![false; n],
                    scratch: Vec::new(),
                    nodes: Vec::new(),
                };
                let m = grower.order.first().map_or(0, Vec::len);
                grower.grow(0, m, 0);
                Tree {
                    nodes: grower.nodes,
                }
            })
            .collect();
        Forest { trees }
    }

    /// The mean of the trees' predictions for one sample.
    #[cfg(test)]
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.trees.iter().map(|t| t.predict(x)).sum::<f64>() / self.trees.len() as f64
    }
}

/// The best split found at a node.
struct Best {
    proxy: f64,
    feature: usize,
    split: Split,
}

/// The state of one tree's growth: `order[f][start..end]` holds the node's in-bag samples
/// sorted by feature `f`.
struct Grower<'a> {
    columns: &'a [Vec<f64>],
    kinds: &'a [FeatureKind],
    y: &'a [f64],
    weight: Vec<f64>,
    settings: &'a ForestSettings,
    rng: ChaCha8Rng,
    order: Vec<Vec<u32>>,
    goes_left: Vec<bool>,
    scratch: Vec<u32>,
    nodes: Vec<Node>,
}

impl Grower<'_> {
    /// Grows the node holding `order[_][start..end]` and returns its index.
    fn grow(&mut self, start: usize, end: usize, depth: usize) -> usize {
        let id = self.nodes.len();
        let samples = &self.order[0][start..end];
        let (mut w, mut s) = (0.0, 0.0);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &i in samples {
            let (wi, yi) = (self.weight[i as usize], self.y[i as usize]);
            w += wi;
            s += wi * yi;
            lo = lo.min(yi);
            hi = hi.max(yi);
        }
        let mean = s / w;
        self.nodes.push(Node::Leaf(mean));
        if depth >= self.settings.max_depth
            || end - start < self.settings.min_samples_split.max(2)
            || lo == hi
        {
            return id;
        }
        let Some(best) = self.best_split(start, end, w, s) else {
            return id;
        };
        let column = &self.columns[best.feature];
        for &i in &self.order[0][start..end] {
            self.goes_left[i as usize] = best.split.goes_left(column[i as usize]);
        }
        let mid = self.partition(start, end);
        let left = self.grow(start, mid, depth + 1);
        let right = self.grow(mid, end, depth + 1);
        self.nodes[id] = Node::Split {
            feature: best.feature,
            split: best.split,
            left,
            right,
        };
        id
    }

    /// The split with the largest proxy over all features, visited in a random order so that
    /// the first of equal ones is a random one; `None` when every feature is constant here.
    fn best_split(&mut self, start: usize, end: usize, w: f64, s: f64) -> Option<Best> {
        let mut features: Vec<usize> = (0..self.columns.len()).collect();
        features.shuffle(&mut self.rng);
        let mut best: Option<Best> = None;
        for f in features {
            let found = match self.kinds[f] {
                FeatureKind::Numeric => self.numeric_split(f, start, end, w, s),
                FeatureKind::Categorical(k) => self.categorical_split(f, k, start, end, w, s),
            };
            if let Some((proxy, split)) = found
                && best.as_ref().is_none_or(|b| proxy > b.proxy)
            {
                best = Some(Best {
                    proxy,
                    feature: f,
                    split,
                });
            }
        }
        best
    }

    fn numeric_split(
        &self,
        f: usize,
        start: usize,
        end: usize,
        w: f64,
        s: f64,
    ) -> Option<(f64, Split)> {
        let column = &self.columns[f];
        let samples = &self.order[f][start..end];
        let min_leaf = self.settings.min_samples_leaf.max(1);
        let (mut wl, mut sl) = (0.0, 0.0);
        let mut best: Option<(f64, f64)> = None;
        for (k, pair) in samples.windows(2).enumerate() {
            let (i, j) = (pair[0] as usize, pair[1] as usize);
            wl += self.weight[i];
            sl += self.weight[i] * self.y[i];
            let (a, b) = (column[i], column[j]);
            if b <= a + 1e-7 || k + 1 < min_leaf || samples.len() - (k + 1) < min_leaf {
                continue;
            }
            let proxy = sl * sl / wl + (s - sl) * (s - sl) / (w - wl);
            if best.is_none_or(|(p, _)| proxy > p) {
                let t = a + (b - a) / 2.0;
                best = Some((proxy, if t >= b { a } else { t }));
            }
        }
        best.map(|(p, t)| (p, Split::Threshold(t)))
    }

    fn categorical_split(
        &self,
        f: usize,
        k: usize,
        start: usize,
        end: usize,
        w: f64,
        s: f64,
    ) -> Option<(f64, Split)> {
        let column = &self.columns[f];
        // (weight, sum, distinct samples) per category.
        let mut stats = vec![(0.0f64, 0.0f64, 0usize); k];
        for &i in &self.order[f][start..end] {
            let c = &mut stats[column[i as usize] as usize];
            c.0 += self.weight[i as usize];
            c.1 += self.weight[i as usize] * self.y[i as usize];
            c.2 += 1;
        }
        let mut present: Vec<usize> = (0..k).filter(|&c| stats[c].2 > 0).collect();
        present.sort_by(|&a, &b| (stats[a].1 / stats[a].0).total_cmp(&(stats[b].1 / stats[b].0)));
        let min_leaf = self.settings.min_samples_leaf.max(1);
        let total_n = end - start;
        let (mut wl, mut sl, mut nl) = (0.0, 0.0, 0);
        let mut best: Option<(f64, usize, f64)> = None;
        for (cut, &c) in present
            .iter()
            .enumerate()
            .take(present.len().saturating_sub(1))
        {
            wl += stats[c].0;
            sl += stats[c].1;
            nl += stats[c].2;
            if nl < min_leaf || total_n - nl < min_leaf {
                continue;
            }
            let proxy = sl * sl / wl + (s - sl) * (s - sl) / (w - wl);
            if best.is_none_or(|(p, _, _)| proxy > p) {
                best = Some((proxy, cut + 1, wl));
            }
        }
        let (proxy, cut, wl) = best?;
        let absent_left = wl > w - wl;
        let mut left: Vec<bool> = (0..k).map(|c| absent_left && stats[c].2 == 0).collect();
        for &c in &present[..cut] {
            left[c] = true;
        }
        Some((proxy, Split::Categories(left)))
    }

    /// Stable-partitions every feature's `order[f][start..end]` by `goes_left`, returning the
    /// first index of the right child.
    fn partition(&mut self, start: usize, end: usize) -> usize {
        let mut mid = start;
        for order in &mut self.order {
            self.scratch.clear();
            let segment = &mut order[start..end];
            let mut l = 0;
            for k in 0..segment.len() {
                let i = segment[k];
                if self.goes_left[i as usize] {
                    segment[l] = i;
                    l += 1;
                } else {
                    self.scratch.push(i);
                }
            }
            segment[l..].copy_from_slice(&self.scratch);
            mid = start + l;
        }
        mid
    }
}
