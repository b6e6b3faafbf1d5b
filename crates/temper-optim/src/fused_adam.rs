//! Adam with a one-pass update on flex ([`temper_kernels::adam_update`]) and Burn's `Adam`
//! everywhere else.
//!
//! The state is Burn's own `AdamState`, so checkpoints, resume and device moves are those of
//! `burn::optim::Adam`, and a run can switch between backends mid-way.
//!
//! The one-pass kernel keeps no AMSGrad `v_max`: `amsgrad = true` runs are built on Burn's
//! `Adam` with `with_amsgrad` instead (see `optimizer.rs`).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};
use temper_kernels::{AdamHyper, adam_update};

/// `torch.optim.Adam`'s update (no AMSGrad), with coupled weight decay when set.
#[derive(Clone)]
pub(crate) struct FusedAdam {
    hyper: AdamHyper,
    /// The same optimizer as Burn builds it, for tensors not on flex.
    fallback: Adam,
}

impl FusedAdam {
    pub(crate) fn new(
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: Option<WeightDecayConfig>,
    ) -> Self {
        let hyper = AdamHyper {
            beta_1,
            beta_2,
            epsilon,
            weight_decay: weight_decay.as_ref().map(|d| d.penalty),
        };
        let fallback = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .build();
        Self { hyper, fallback }
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let time = state.as_ref().map_or(0, |s| s.momentum.time) + 1;
        let moments = state
            .as_ref()
            .map(|s| (&s.momentum.moment_1, &s.momentum.moment_2));
        match adam_update(&self.hyper, lr, time, &tensor, &grad, moments) {
            Some([param, m, v]) => (
                param,
                Some(AdamState::new(AdaptiveMomentumState::new(time, m, v))),
            ),
            None => self.fallback.step(lr, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}
