//! What a run tells its caller while it trains.

use crate::score::metrics::EpochMetrics;

/// Receives what a run is doing, for a progress display. Every method has an empty default.
pub trait Progress {
    /// A one-line status (data loaded, device chosen, ...).
    fn message(&mut self, _text: &str) {}
    /// Training epoch `epoch` (1-based) of `epochs` begins, with `steps` optimizer steps.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    /// `done` steps of the epoch are finished; `loss` is the running mean when it was read.
    fn step(&mut self, _done: usize, _loss: Option<f64>) {}
    /// Loading a large data set: `done` of `total` files read.
    fn loading(&mut self, _done: usize, _total: usize) {}
    /// The epoch and its validation are finished.
    fn epoch_end(&mut self, _metrics: &EpochMetrics) {}
    /// Asked after each epoch's checkpoints are written; `false` ends training there (a tuning
    /// pruner uses it, as would a user's time budget). The run still tests and writes its
    /// summary.
    fn keep_going(&mut self) -> bool {
        true
    }
}

/// A [`Progress`] that ignores everything.
pub struct Silent;
impl Progress for Silent {}
