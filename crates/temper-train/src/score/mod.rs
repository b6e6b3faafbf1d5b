//! Scoring a model and reporting it: the pass over a split (`split_scores.rs`, every epoch and
//! the final test), the confusion matrix, per-epoch metrics, the test report, PNG charts, a
//! finished run opened again (`saved_run.rs`) `temper eval` on it (`eval_run.rs`) and `temper export` (`export_run.rs`).

pub(crate) mod compare;
pub(crate) mod confusion;
pub(crate) mod efficiency;
pub(crate) mod eval_run;
pub(crate) mod export_run;
pub(crate) mod groups;
pub(crate) mod html;
pub(crate) mod inspect_run;
pub(crate) mod metrics;
pub mod plot;
pub(crate) mod quantize_run;
pub(crate) mod report;
pub(crate) mod saved_run;
pub(crate) mod split_scores;
