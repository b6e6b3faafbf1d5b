//! AdaGrad exactly as PyTorch's `torch.optim.Adagrad` (Duchi et al. 2011,
//! <https://jmlr.org/papers/v12/duchi11a.html>).
//!
//! Burn's `AdaGrad` has PyTorch's update (eps outside the square root, lr decay
//! `lr / (1 + (t - 1) * lr_decay)` with t counted from 1) but no `initial_accumulator_value`:
//! its squared-gradient sum starts from the first gradient. PyTorch starts it at
//! `initial_accumulator_value` (`torch.full_like(p, initial_accumulator_value)` in
//! `torch/optim/adagrad.py`), which keeps early steps from being as large as `lr`.
//! For step t = 1, 2, ...:
//!
//! ```text
//! lr_t  = lr / (1 + (t - 1) * lr_decay)
//! g     = grad + weight_decay * w                  (coupled decay, when > 0)
//! sum   = sum + g^2                                (sum_0 = initial_accumulator_value)
//! w     = w - lr_t * g / (sqrt(sum) + eps)
//! ```

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

/// PyTorch's AdaGrad; every field is the PyTorch argument of the same name.
#[derive(Clone, Debug)]
pub struct Adagrad {
    /// Learning-rate decay: step t uses `lr / (1 + (t - 1) * lr_decay)` (PyTorch's default 0).
    pub lr_decay: f64,
    /// Term added to `sqrt(sum)` (PyTorch's default 1e-10).
    pub eps: f64,
    /// Starting value of the squared-gradient sum (PyTorch's default 0).
    pub initial_accumulator_value: f64,
    /// Coupled decay factor (0 for none).
    pub weight_decay: f64,
}

/// Per-parameter state: the step count and the running sum of squared gradients.
#[derive(Clone)]
pub struct AdagradState<const D: usize> {
    step: usize,
    sum: Tensor<D>,
}

impl Optimizer for Adagrad {
    type State<const D: usize> = AdagradState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let grad = if self.weight_decay > 0.0 {
            grad + tensor.clone().mul_scalar(self.weight_decay)
        } else {
            grad
        };
        let square = grad.clone().square();
        let (step, sum) = match state {
            Some(s) => (s.step + 1, s.sum + square),
            None if self.initial_accumulator_value != 0.0 => {
                (1, square.add_scalar(self.initial_accumulator_value))
            }
            None => (1, square),
        };
        let lr_t = lr / (1.0 + (step - 1) as f64 * self.lr_decay);
        let update = grad
            .div(sum.clone().sqrt().add_scalar(self.eps))
            .mul_scalar(lr_t);
        (tensor - update, Some(AdagradState { step, sum }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdagradState {
            step: state.step,
            sum: state.sum.to_device(device),
        }
    }
}

// Hand-written because `#[derive(RecordState)]` only expands inside burn-optim.
impl<const D: usize> RecordState for AdagradState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "step", self.step.into());
        out.push_tensor(prefix, "sum", self.sum.clone().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let step = usize::try_from(src.take_scalar(prefix, "step")?).ok()?;
        let sum = Tensor::from_data(src.take_tensor(prefix, "sum")?, device);
        Some(Self { step, sum })
    }
}
