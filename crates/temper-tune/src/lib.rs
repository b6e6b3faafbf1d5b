//! Hyperparameter search for temper. Knows nothing of Burn: the objective is any closure
//! (or an external loop) that reports intermediate values and a final value.
//!
//! - [`space`]: the search space — float (uniform, log), int (uniform, log, step),
//!   categorical and conditional parameters — read from a `[tune.space]` TOML table;
//!   [`ParamValue`] and [`Params`] (which patch an experiment table by dotted key).
//! - [`sampler`]: one [`Sampler`] trait and grid, random, scrambled Sobol, TPE (Optuna's
//!   `TPESampler`, univariate or multivariate) and GP-EI (Matérn-5/2 ARD, Snoek et al. 2012);
//!   all reproducible from (seed, trial number, stored history).
//! - [`pruner`]: median, successive halving (ASHA) and Hyperband, Optuna's rules.
//! - [`storage`]: the [`Storage`] trait, in memory, in a SQLite file shared by the processes
//!   of one machine and in a PostgreSQL database shared by workers on many; [`open_storage`]
//!   picks one from a string (`memory`, a path, `sqlite:PATH`, `postgres://...`, libpq's
//!   `key=value` form), [`storage::redact`] / [`spec_for_disk`] keep its password out of
//!   messages and files; busy or lost storages are retried within a bound
//!   ([`storage::Backoff`]).
//! - [`study`]: [`Study`] — `ask` / `report` / `tell`, `best_trial`, `optimize`, resume after
//!   a crash ([`StaleRule`]); workers sharing a study with a trial budget (`ask_within`,
//!   `optimize_within`), a dead worker's trial re-run.
//! - [`analysis`]: trials as CSV, best-so-far history, parameter importance (fANOVA on a
//!   random forest, as Optuna's default evaluator).
//!
//! Hypergradient optimizers (SGD-HD, Adam-HD) live in temper-optim.

pub mod analysis;
mod error;
pub mod pruner;
pub mod sampler;
pub mod space;
pub mod storage;
pub mod study;
#[cfg(test)]
mod test_support;
mod trial;
mod value;

pub use analysis::{best_so_far, param_importance, trials_csv};
pub use error::TuneError;
pub use pruner::{
    HyperbandPruner, MedianPruner, NopPruner, PruneContext, PruneDecision, Pruner, PrunerKind,
    SuccessiveHalvingPruner,
};
pub use sampler::{
    GpSampler, GpSettings, GridSampler, RandomSampler, SampleContext, Sampler, SamplerKind,
    SobolSampler, Suggestion, TpeSampler, TpeSettings,
};
pub use space::{Distribution, ParamSpec, Space};
#[cfg(feature = "postgres")]
pub use storage::PostgresStorage;
#[cfg(feature = "sqlite")]
pub use storage::SqliteStorage;
pub use storage::{MemoryStorage, NewTrial, Storage, StudyInfo, open_storage, spec_for_disk};
pub use study::{DEFAULT_STALE_RULE, StaleRule, Study, TrialContext};
pub use trial::{Direction, Trial, TrialOutcome, TrialState, now_secs};
pub use value::{ParamValue, Params};
