//! The burn-train glue: the hooks the Learner offers, filled with temper's pieces — the
//! applied-learning-rate metric ([`AppliedLr`]), the end-of-epoch hook that feeds the plateau
//! rule and early stopping ([`EpochEnd`]), and the checkpointing strategy behind restore-best
//! ([`KeepBestAndLast`]).

use std::sync::{Arc, Mutex};

use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::tensor::TensorReadError;
use burn::train::EarlyStoppingStrategy;
use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use burn::train::metric::{Metric, MetricMetadata, MetricName, SerializedEntry};
use temper_optim::{LearnerEarlyStopping, MetricFeed};

use crate::{Watched, lock};

/// A burn-train metric that records the learning rate the Learner applied at each optimizer
/// step: every training item carries `learner.lr_current()`, the rate handed to that step's
/// `optimizer_step` (burn-train `SingleDeviceTrainEpoch::run`), and reaches metrics as
/// `MetricMetadata::lr`. Clones share the record.
#[derive(Clone)]
pub struct AppliedLr {
    name: MetricName,
    applied: Arc<Mutex<Vec<f64>>>,
}

impl Default for AppliedLr {
    fn default() -> Self {
        Self {
            name: Arc::new("Applied Learning Rate".to_string()),
            applied: Arc::default(),
        }
    }
}

impl AppliedLr {
    /// The rates so far, one per optimizer step, in order.
    pub fn values(&self) -> Vec<f64> {
        lock(&self.applied).clone()
    }
}

impl Metric for AppliedLr {
    type Input = ();

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn update(
        &mut self,
        _item: &(),
        metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        match metadata.lr.as_ref().map(ModuleLearningRate::base) {
            Some(lr) => {
                lock(&self.applied).push(lr);
                Ok(SerializedEntry::new(format!("lr {lr:e}"), lr.to_string()))
            }
            None => Ok(SerializedEntry::not_available(None)),
        }
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(SerializedEntry::not_available(None))
    }

    fn clear(&mut self) {}
}

/// One epoch's means as the Learner's event store holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochScores {
    pub epoch: usize,
    pub train_loss: Option<f64>,
    pub valid_loss: Option<f64>,
    /// Percent.
    pub valid_accuracy: Option<f64>,
}

/// The end-of-epoch hook: burn-train calls its early-stopping strategy once per epoch, after
/// validation and after the event store is flushed, which makes it the one place that sees
/// each epoch's metrics. It records them, pushes the plateau's monitored value into the
/// schedule's [`MetricFeed`] (read at the next optimizer step), then asks temper's
/// [`LearnerEarlyStopping`] whether to stop. Clones share everything.
#[derive(Clone)]
pub struct EpochEnd {
    plateau: Option<(MetricFeed, Watched, Split)>,
    early: Option<LearnerEarlyStopping>,
    history: Arc<Mutex<Vec<EpochScores>>>,
}

impl EpochEnd {
    /// `plateau`: the schedule's feed and the metric its rule monitors; `early`: the stopping
    /// rule, if any.
    pub fn new(
        plateau: Option<(MetricFeed, Watched, Split)>,
        early: Option<LearnerEarlyStopping>,
    ) -> Self {
        Self {
            plateau,
            early,
            history: Arc::default(),
        }
    }

    /// The epochs seen so far.
    pub fn history(&self) -> Vec<EpochScores> {
        lock(&self.history).clone()
    }
}

impl EarlyStoppingStrategy for EpochEnd {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let read = |metric: Watched, split: Split| {
            store.find_metric(metric.burn_name(), epoch, Aggregate::Mean, &split)
        };
        lock(&self.history).push(EpochScores {
            epoch,
            train_loss: read(Watched::Loss, Split::Train),
            valid_loss: read(Watched::Loss, Split::Valid),
            valid_accuracy: read(Watched::Accuracy, Split::Valid),
        });
        if let Some((feed, metric, split)) = &self.plateau
            && let Some(value) = read(*metric, split.clone())
        {
            feed.push(value);
        }
        match &mut self.early {
            Some(early) => early.should_stop(epoch, store),
            None => false,
        }
    }
}

/// Keeps the checkpoints of the best epoch so far and of the last one, deleting the others.
///
/// burn-train asks the checkpointing strategy *before* the early-stopping strategy of the same
/// epoch, so the best epoch known at epoch `e` is among `1..e`; keeping it and `e` is enough
/// for the best after `e`'s decision to be on disk. After the last epoch two checkpoints remain
/// (the last, and the best before it), even when the last epoch became the best.
pub struct KeepBestAndLast {
    early: LearnerEarlyStopping,
    kept: Vec<usize>,
}

impl KeepBestAndLast {
    /// Follows `early`'s best epoch (a clone of the strategy given to the Learner).
    pub fn new(early: LearnerEarlyStopping) -> Self {
        Self {
            early,
            kept: Vec::new(),
        }
    }
}

impl CheckpointingStrategy for KeepBestAndLast {
    fn checkpointing(
        &mut self,
        epoch: usize,
        _store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let best = self.early.state().best_epoch();
        let mut actions: Vec<_> = self
            .kept
            .iter()
            .filter(|&&e| Some(e) != best)
            .map(|&e| CheckpointingAction::Delete(e))
            .collect();
        self.kept.retain(|&e| Some(e) == best);
        actions.push(CheckpointingAction::Save);
        self.kept.push(epoch);
        actions
    }
}
