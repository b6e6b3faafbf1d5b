//! Confusion matrix and the classification scores derived from it.

/// Counts of (true class, predicted class) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    num_classes: usize,
    /// Row-major `[true][predicted]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix of `num_classes × num_classes` counts, all 0.
    pub fn new(num_classes: usize) -> Self {
        Self {
            num_classes,
            counts: vec![0; num_classes * num_classes],
        }
    }

    /// A matrix from row-major `[true][predicted]` counts.
    ///
    /// # Panics
    /// When `counts` does not hold `num_classes²` values.
    pub fn from_counts(num_classes: usize, counts: Vec<u64>) -> Self {
        assert_eq!(counts.len(), num_classes * num_classes, "a square matrix");
        Self {
            num_classes,
            counts,
        }
    }

    /// Records one prediction per target.
    ///
    /// # Panics
    /// When the slices differ in length or a class is out of range.
    pub fn add(&mut self, targets: &[usize], predictions: &[usize]) {
        assert_eq!(
            targets.len(),
            predictions.len(),
            "one prediction per target"
        );
        for (&t, &p) in targets.iter().zip(predictions) {
            self.counts[t * self.num_classes + p] += 1;
        }
    }

    /// Number of samples with true class `t` predicted as `p`.
    pub fn count(&self, t: usize, p: usize) -> u64 {
        self.counts[t * self.num_classes + p]
    }

    /// Number of samples recorded: the sum of every count.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Fraction of samples on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.num_classes).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total())
    }

    /// Number of classes K (the matrix is K × K).
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Samples whose true class is `c` (its support).
    pub fn true_count(&self, c: usize) -> u64 {
        (0..self.num_classes).map(|p| self.count(c, p)).sum()
    }

    fn predicted_count(&self, c: usize) -> u64 {
        (0..self.num_classes).map(|t| self.count(t, c)).sum()
    }

    /// Precision of class `c`: TP / (TP + FP), 0 when nothing was predicted as `c`
    /// (scikit-learn's `zero_division=0`).
    pub fn precision(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.predicted_count(c))
    }

    /// Recall of class `c`: TP / (TP + FN), 0 when `c` never occurs.
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.true_count(c))
    }

    /// F1 of class `c`: the harmonic mean of its precision and recall (0 when both are 0).
    pub fn f1(&self, c: usize) -> f64 {
        let (p, r) = (self.precision(c), self.recall(c));
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Classes that occur as a target or a prediction: the classes scikit-learn's macro
    /// average runs over.
    fn seen_classes(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.num_classes).filter(|&c| self.true_count(c) + self.predicted_count(c) > 0)
    }

    fn macro_mean(&self, per_class: impl Fn(usize) -> f64) -> f64 {
        let (sum, n) = self
            .seen_classes()
            .fold((0.0, 0usize), |(s, n), c| (s + per_class(c), n + 1));
        if n == 0 { 0.0 } else { sum / n as f64 }
    }

    /// Unweighted mean of per-class precision (`average='macro'`).
    pub fn macro_precision(&self) -> f64 {
        self.macro_mean(|c| self.precision(c))
    }

    /// Unweighted mean of per-class recall (`average='macro'`).
    pub fn macro_recall(&self) -> f64 {
        self.macro_mean(|c| self.recall(c))
    }

    /// Unweighted mean of per-class F1 (`average='macro'`; not the F1 of the macro precision and
    /// recall).
    pub fn macro_f1(&self) -> f64 {
        self.macro_mean(|c| self.f1(c))
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_scores_match_scikit_learn_documentation() {
        // scikit-learn's docs for precision_score / recall_score / f1_score use
        // y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1] and give, for
        // average='macro': precision 0.2222..., recall 0.3333..., f1 0.2666...
        let mut m = ConfusionMatrix::new(3);
        m.add(&[0, 1, 2, 0, 1, 2], &[0, 2, 1, 0, 0, 1]);
        assert!((m.macro_precision() - 2.0 / 9.0).abs() < 1e-12);
        assert!((m.macro_recall() - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1() - 0.8 / 3.0).abs() < 1e-12);
        assert!((m.accuracy() - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(m.count(1, 2), 1);
    }

    #[test]
    fn absent_classes_do_not_dilute_the_macro_average() {
        let mut m = ConfusionMatrix::new(10);
        m.add(&[3, 3, 4], &[3, 3, 4]);
        assert_eq!(m.macro_f1(), 1.0);
        assert_eq!(m.precision(7), 0.0);
    }
}
