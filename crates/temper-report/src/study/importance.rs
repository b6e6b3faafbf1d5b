//! Parameter importance as horizontal bars, most important on top with its share printed, as
//! Optuna's `plot_param_importances` (`optuna/visualization/_param_importances.py`) lays out
//! the output of `get_param_importances` (fANOVA by default; here
//! [`temper_tune::param_importance`], the same evaluator).

use crate::chart::{BarChart, Png};

/// The data of the importance chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportanceChart {
    /// `(parameter, share)`, largest share first (ties by name).
    pub bars: Vec<(String, f64)>,
}

impl ImportanceChart {
    /// The chart of `importance`; `None` when it is empty or all zero (fewer than two
    /// complete trials, or a constant objective: nothing was measured).
    pub fn build(importance: &[(String, f64)]) -> Option<ImportanceChart> {
        if !importance.iter().any(|(_, v)| *v > 0.0) {
            return None;
        }
        let mut bars = importance.to_vec();
        bars.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(ImportanceChart { bars })
    }

    /// Draws the chart.
    pub fn to_png(&self) -> Result<Png, String> {
        BarChart {
            title: "parameter importance (fANOVA)".into(),
            bars: self.bars.clone(),
            horizontal: true,
            value_label: "share of the objective's variance".into(),
        }
        .to_png()
    }
}
