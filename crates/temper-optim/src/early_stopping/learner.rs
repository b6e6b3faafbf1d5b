//! [`EarlyStopping`] as a burn-train [`EarlyStoppingStrategy`], for a Burn `Learner` user.
//!
//! burn-train's own `MetricEarlyStoppingStrategy` reads the epoch's mean of one metric on one
//! split from the `EventStoreClient` and stops after `n_epochs` without a strict improvement.
//! This adapter reads the value the same way (`find_metric(name, epoch, Aggregate::Mean,
//! split)`) and hands it to the same state machine temper's runner uses, so every option of
//! [`EarlyStoppingSettings`] applies and the decisions are identical.

use std::sync::{Arc, Mutex, MutexGuard};

use burn::train::EarlyStoppingStrategy;
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use burn::train::metric::{Metric, MetricAttributes, MetricName};

use super::{EarlyStopping, EarlyStoppingSettings, MonitorMode};
use crate::error::OptimError;

/// An [`EarlyStoppingStrategy`] over [`EarlyStopping`].
///
/// The `Learner` takes the strategy by value and may clone it; every clone shares one state,
/// so the value kept by the caller reports the best epoch and the stop reason after `fit`
/// (restore the best epoch's checkpoint from it).
///
/// ```ignore
/// let early = LearnerEarlyStopping::new(&LossMetric::new(), Split::Valid, &settings)?;
/// let training = SupervisedTraining::new(..).early_stopping(early.clone());
/// // after training:
/// let best = early.state().best_epoch();
/// ```
#[derive(Debug, Clone)]
pub struct LearnerEarlyStopping {
    state: Arc<Mutex<EarlyStopping>>,
    metric: MetricName,
    split: Split,
}

impl LearnerEarlyStopping {
    /// Watches the per-epoch mean of `metric` on `split`.
    ///
    /// `settings.monitor` is replaced by `<split>_<metric name>` (e.g. `valid_Loss`), the name
    /// the stop messages print. `mode = "auto"` follows the metric's own
    /// `NumericAttributes::higher_is_better` when it declares one, and the name rule of
    /// [`MonitorMode::Auto`] otherwise.
    pub fn new<Me: Metric>(
        metric: &Me,
        split: Split,
        settings: &EarlyStoppingSettings,
    ) -> Result<Self, OptimError> {
        let name = metric.name();
        let monitor = format!("{split}_{name}");
        let mode = match (settings.mode, metric.attributes()) {
            (MonitorMode::Auto, MetricAttributes::Numeric(attr)) => {
                if attr.higher_is_better {
                    MonitorMode::Max
                } else {
                    MonitorMode::Min
                }
            }
            (mode, _) => mode.resolve(&monitor),
        };
        let settings = EarlyStoppingSettings {
            monitor,
            mode,
            ..settings.clone()
        };
        Ok(Self {
            state: Arc::new(Mutex::new(EarlyStopping::new(&settings)?)),
            metric: name,
            split,
        })
    }

    /// The decision for `epoch` given the value found in the store; `None` (metric not
    /// recorded this epoch) does not stop and does not count, as in burn-train's strategy.
    pub fn observe(&self, epoch: usize, value: Option<f64>) -> bool {
        match value {
            Some(v) => self.lock().update(epoch, v).stop.is_some(),
            None => false,
        }
    }

    /// A snapshot of the shared state: best epoch and value, stop reason.
    pub fn state(&self) -> EarlyStopping {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, EarlyStopping> {
        // The state is plain data, valid after any panic elsewhere: a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EarlyStoppingStrategy for LearnerEarlyStopping {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let value = store.find_metric(&self.metric, epoch, Aggregate::Mean, &self.split);
        self.observe(epoch, value)
    }
}
