//! Scoring a model and reporting it: the evaluation pass, the confusion matrix, per-epoch
//! metrics, the test report, PNG charts, and `temper eval` on a finished run.

pub(crate) mod confusion;
pub(crate) mod eval;
pub(crate) mod evaluate;
pub(crate) mod metrics;
pub mod plot;
pub(crate) mod report;
