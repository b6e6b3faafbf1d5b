//! Fairness across groups of inputs — who or what a sample comes from (a camera, a site, a
//! demographic attribute) — rather than across classes. No Burn: pure functions on labels,
//! predictions and group indices that the trainer, its reports and a user's own code call.
//!
//! - `metrics`: per-group scores and the aggregates of fairlearn's `MetricFrame`,
//!   `demographic_parity_*` and `equalized_odds_*`.
//! - `groups`: the groups file that maps samples to group labels, read as hostile input.
//! - `mitigation`: reweighing (Kamiran & Calders 2012), a group-balanced sampler and online
//!   group DRO (Sagawa et al. 2020).
//!
//! Groups are a sensitive attribute: used for reporting, sampling and weighting, never as a
//! model input.

mod error;
pub mod groups;
pub mod metrics;
pub mod mitigation;

pub use error::FairError;
