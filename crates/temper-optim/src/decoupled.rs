//! Decoupled weight decay for any optimizer (Loshchilov & Hutter 2019,
//! <https://arxiv.org/abs/1711.05101>).
//!
//! Coupled decay (PyTorch's `weight_decay` on SGD, Adam, Adagrad, RMSprop) adds `wd * w` to the
//! gradient, so adaptive optimizers rescale it along with the gradient and parameters with large
//! gradient history are barely decayed. Decoupled decay shrinks the weights directly,
//! `w <- w * (1 - lr * wd)`, and then takes the optimizer's ordinary step on the untouched
//! gradient. The order and the use of the step's current (scheduled) learning rate are those of
//! PyTorch's `AdamW` (`param.mul_(1 - lr * weight_decay)` before the moment updates), so
//! `adam` wrapped here equals `adamw` step for step.

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

/// Wraps an optimizer and applies decoupled weight decay before each of its steps. The inner
/// optimizer should have no coupled decay of its own. Its state is the inner optimizer's, so
/// checkpoints keep the inner layout.
#[derive(Clone, Debug)]
pub struct DecoupledWeightDecay<O> {
    inner: O,
    weight_decay: f64,
}

impl<O: Optimizer> DecoupledWeightDecay<O> {
    /// `inner` with decay factor `weight_decay` (multiplied by the learning rate each step).
    pub fn new(inner: O, weight_decay: f64) -> Self {
        Self {
            inner,
            weight_decay,
        }
    }
}

impl<O: Optimizer> Optimizer for DecoupledWeightDecay<O> {
    type State<const D: usize> = O::State<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let decay = lr * self.weight_decay;
        let tensor = if decay == 0.0 {
            tensor
        } else {
            tensor.mul_scalar(1.0 - decay)
        };
        self.inner.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}
