//! An optimizer whose momentum (SGD, RMSprop) or `beta1` (Adam, AdamW) is read at every step,
//! for the momentum cycling of the one-cycle and cyclic schedules
//! ([`MomentumCycle`](crate::MomentumCycle)).
//!
//! Burn fixes these values in an optimizer's config when it is built. A per-parameter state
//! (`SgdState`, `AdamState`, `RmsPropState`) does not depend on them, so [`Cycled`] builds the
//! inner optimizer afresh at each parameter's step from a closure and the value in a shared
//! [`MomentumCell`], and hands it the state Burn's `ModuleOptimizer` kept: the momentum buffer
//! and moments carry over, and checkpoints are Burn's own records. Building a Burn optimizer is
//! a few scalar copies, no tensor work. A run that does not cycle momentum gets the plain
//! optimizer, unwrapped.
//!
//! As in PyTorch, the cycled value replaces the configured one (`OneCycleLR` and `CyclicLR`
//! write `max_momentum` into the optimizer's `momentum` or `betas[0]` at construction,
//! `torch/optim/lr_scheduler.py` lines 2508-2518 and 1950-1963, PyTorch 2.15), so SGD
//! configured with `momentum = 0` gets momentum; `beta2`, dampening and Nesterov stay as
//! configured. PyTorch's SGD and Adam read `momentum` / `beta1` from the parameter group at
//! each step, bias correction `1 - beta1^t` included, which is what rebuilding does.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

/// The momentum (or `beta1`) the next optimizer step uses, shared between the training loop,
/// which sets it from the schedule, and the optimizer, which reads it. Clones share one value.
#[derive(Debug, Clone)]
pub struct MomentumCell(Arc<AtomicU64>);

impl MomentumCell {
    /// A cell holding `value`.
    pub fn new(value: f64) -> Self {
        Self(Arc::new(AtomicU64::new(value.to_bits())))
    }

    /// Sets the value the next steps use.
    pub fn set(&self, value: f64) {
        // The step reads it on the thread that set it (Burn maps the parameters on the
        // calling thread), so no ordering beyond the atomic's own is needed.
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// An optimizer built by `build` with the cell's value at every step.
pub(crate) struct Cycled<F, O> {
    build: F,
    cell: MomentumCell,
    optim: PhantomData<fn() -> O>,
}

impl<F: Clone, O> Clone for Cycled<F, O> {
    fn clone(&self) -> Self {
        Self {
            build: self.build.clone(),
            cell: self.cell.clone(),
            optim: PhantomData,
        }
    }
}

impl<F, O> Cycled<F, O>
where
    F: Fn(f64) -> O,
{
    /// `build(momentum)` at each step, `momentum` read from `cell`.
    pub(crate) fn new(build: F, cell: &MomentumCell) -> Self {
        Self {
            build,
            cell: cell.clone(),
            optim: PhantomData,
        }
    }
}

impl<F, O> Optimizer for Cycled<F, O>
where
    F: Fn(f64) -> O + Clone + Send + Sync + 'static,
    O: Optimizer,
{
    type State<const D: usize> = O::State<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        (self.build)(self.cell.get()).step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}

#[cfg(test)]
mod tests;
