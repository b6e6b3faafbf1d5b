//! Tests of [`super`]: the fused op against Burn's `BatchNorm` layer, add and ReLU on flex, in
//! outputs, every gradient and the running statistics, and where it falls back to Burn.

use burn::module::{Param, RunningState};
use burn::nn::BatchNormConfig;
use burn::tensor::{Device, Distribution};

use super::*;
use crate::flex::max_relative_error;

/// `γ`, `β`, running mean and running variance that are not the initial ones, so every term
/// of the formulas shows.
fn parameters(channels: usize, device: &Device) -> [Tensor<1>; 4] {
    let random = |mean| Tensor::<1>::random([channels], Distribution::Normal(mean, 0.3), device);
    [random(1.0), random(0.0), random(0.5), random(2.0).abs()]
}

/// A fresh layer holding `parameters` (clones of a `BatchNorm` share their running
/// statistics, so each side of a comparison builds its own).
fn layer([gamma, beta, mean, var]: &[Tensor<1>; 4]) -> BatchNorm {
    let mut bn = BatchNormConfig::new(gamma.dims()[0])
        .with_momentum(0.3)
        .init(&gamma.device());
    bn.gamma = Param::from_tensor(gamma.clone());
    bn.beta = Param::from_tensor(beta.clone());
    bn.running_mean = RunningState::new(mean.clone());
    bn.running_var = RunningState::new(var.clone());
    bn
}

/// Asserts `a` equals `b` within `tolerance`, relative to `b`'s largest magnitude.
fn close<const D: usize>(a: Tensor<D>, b: Tensor<D>, tolerance: f32, what: &str) {
    let e = max_relative_error(a, b);
    assert!(e < tolerance, "{what}: {e}");
}

fn epilogues(shortcut: Tensor<4>) -> [Epilogue; 3] {
    [Epilogue::None, Epilogue::Relu, Epilogue::AddRelu(shortcut)]
}

/// Outputs, the gradients of x, γ, β and the shortcut, and both running statistics after the
/// step equal Burn's layer followed by Burn's add and ReLU, within 1e-4 relative (the two
/// sum in different orders), for a ResNet stage's shape, an odd one with a mean far from 0 and
/// 1×2 maps. (Not two values a channel: there `∂L/∂x` is 0 up to `ε`, all cancellation.)
#[test]
fn equals_burns_layer_add_and_relu_in_outputs_gradients_and_running_statistics() {
    let device = Device::flex().autodiff();
    device.seed(3);
    for (dims, shift) in [
        ([8, 16, 8, 8], 0.0),
        ([3, 5, 7, 3], 4.0),
        ([3, 3, 1, 2], 0.0),
    ] {
        let x = Tensor::<4>::random(dims, Distribution::Normal(shift, 2.0), &device);
        let r = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
        let probe = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
        let params = parameters(dims[1], &device);
        for (k, epilogue) in epilogues(r.clone()).into_iter().enumerate() {
            let run = |ours: bool| {
                let bn = layer(&params);
                let x = x.clone().require_grad();
                let r = r.clone().require_grad();
                let epilogue = match &epilogue {
                    Epilogue::AddRelu(_) => Epilogue::AddRelu(r.clone()),
                    other => other.clone(),
                };
                let before = crate::flex::WRAPPED.with(|w| w.get());
                let out = if ours {
                    batch_norm_module(&bn, x.clone(), epilogue)
                } else {
                    let y = bn.forward(x.clone());
                    match epilogue {
                        Epilogue::None => y,
                        Epilogue::Relu => relu(y),
                        Epilogue::AddRelu(s) => relu(y + s),
                    }
                };
                let fused_calls = crate::flex::WRAPPED.with(|w| w.get()) - before;
                let grads = (out.clone() * probe.clone()).sum().backward();
                let running = [bn.running_mean.value_sync(), bn.running_var.value_sync()];
                let param_grads = [
                    bn.gamma.val().grad(&grads).unwrap(),
                    bn.beta.val().grad(&grads).unwrap(),
                ];
                (
                    out.detach(),
                    x.grad(&grads).unwrap(),
                    r.grad(&grads),
                    param_grads,
                    running,
                    fused_calls,
                )
            };
            let (out, dx, dr, [dg, db], [rm, rv], calls) = run(true);
            let (ref_out, ref_dx, ref_dr, [ref_dg, ref_db], [ref_rm, ref_rv], _) = run(false);
            assert_eq!(calls, 1, "the fused kernel ran ({dims:?}, epilogue {k})");
            let what = |name: &str| format!("{name} {dims:?} epilogue {k}");
            close(out, ref_out, 1e-4, &what("output"));
            close(dx, ref_dx, 1e-4, &what("dx"));
            close(dg, ref_dg, 1e-4, &what("dgamma"));
            close(db, ref_db, 1e-4, &what("dbeta"));
            close(rm, ref_rm, 1e-5, &what("running mean"));
            close(rv, ref_rv, 1e-5, &what("running variance"));
            match (dr, ref_dr) {
                (Some(a), Some(b)) => close(a, b, 1e-4, &what("dshortcut")),
                (None, None) => {}
                _ => panic!("shortcut gradient present on one side only"),
            }
        }
    }
}

/// In evaluation on flex the kernel computes Burn's bytes (the same `f32` operations in the
/// same order); a frozen layer on a training device and other backends are Burn's own path.
#[test]
fn evaluation_is_burns_bytes_and_frozen_layers_and_other_backends_are_burns_path() {
    #[allow(deprecated)] // ndarray stands for "a backend that is not flex"
    let devices = [
        (Device::flex(), true, 1),
        (Device::flex().autodiff(), false, 0),
        (Device::ndarray().autodiff(), true, 0),
        (Device::ndarray(), true, 0),
    ];
    for (device, training, kernel_calls) in devices {
        let x = Tensor::<4>::random([2, 3, 5, 7], Distribution::Normal(1.0, 2.0), &device);
        let r = Tensor::<4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 1.0), &device);
        let mut bn = layer(&parameters(3, &device));
        if !training {
            bn.training = Param::from_bool(false);
        }
        for epilogue in epilogues(r.clone()) {
            let before = crate::flex::WRAPPED.with(|w| w.get());
            let ours = batch_norm_module(&bn, x.clone(), epilogue.clone());
            let calls = crate::flex::WRAPPED.with(|w| w.get()) - before;
            assert_eq!(calls, kernel_calls, "{device:?} training {training}");
            let y = bn.forward(x.clone());
            let reference = match epilogue {
                Epilogue::None => y,
                Epilogue::Relu => relu(y),
                Epilogue::AddRelu(s) => relu(y + s),
            };
            assert_eq!(max_relative_error(ours, reference), 0.0, "{device:?}");
        }
    }
}
