//! Tests of [`super`]: the op against Burn's own flex convolution, in outputs and gradients,
//! and where it falls back to Burn.

use burn::tensor::{Device, Distribution, Tensor};

use super::*;
use crate::flex::max_relative_error as relative_error;

fn cases() -> Vec<([usize; 4], [usize; 4], ConvOptions<2>)> {
    vec![
        // The reference CNN's two layers.
        (
            [8, 1, 28, 28],
            [32, 1, 3, 3],
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ),
        (
            [8, 32, 14, 14],
            [64, 32, 3, 3],
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ),
        // Stride 2 with asymmetric padding, dilation, a 1×1 projection.
        (
            [3, 4, 11, 9],
            [6, 4, 3, 3],
            ConvOptions::new_with_padding([2, 2], [(1, 0), (0, 1)], [1, 1], 1),
        ),
        (
            [3, 4, 11, 9],
            [5, 4, 3, 2],
            ConvOptions::new([1, 2], [2, 1], [2, 1], 1),
        ),
        (
            [3, 4, 8, 8],
            [6, 4, 1, 1],
            ConvOptions::new([2, 2], [0, 0], [1, 1], 1),
        ),
        // Small maps, convolved several samples to a product: 4×4 → 2×2 with stride 2 on an
        // odd batch, and a 2×2 map at ResNet-18's layer4 kernel, narrower.
        (
            [13, 8, 4, 4],
            [16, 8, 3, 3],
            ConvOptions::new([2, 2], [1, 1], [1, 1], 1),
        ),
        (
            [7, 16, 2, 2],
            [8, 16, 3, 3],
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ),
    ]
}

/// Outputs and the gradients of x, weight and bias equal Burn's own flex convolution within
/// 1e-4 relative, with and without bias: both sum the same products in different orders, so
/// they round differently.
#[test]
fn equals_burns_convolution_in_outputs_and_gradients() {
    let device = Device::flex().autodiff();
    device.seed(7);
    for (x_dims, w_dims, options) in cases() {
        for with_bias in [true, false] {
            let x = Tensor::<4>::random(x_dims, Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<4>::random(w_dims, Distribution::Normal(0.0, 0.3), &device);
            let b = Tensor::<1>::random([w_dims[0]], Distribution::Normal(0.0, 0.3), &device);
            let run = |ours: bool| {
                let (x, w, b) = (
                    x.clone().require_grad(),
                    w.clone().require_grad(),
                    b.clone().require_grad(),
                );
                let bias = with_bias.then(|| b.clone());
                let out = if ours {
                    conv2d(x.clone(), w.clone(), bias, options.clone())
                } else {
                    burn::tensor::module::conv2d(x.clone(), w.clone(), bias, options.clone())
                };
                // A non-uniform upstream gradient, so every output position weighs differently.
                let weights = out.clone().detach().sin();
                let grads = (out.clone() * weights).sum().backward();
                let gb = with_bias.then(|| b.grad(&grads).unwrap());
                (
                    out.detach(),
                    x.grad(&grads).unwrap(),
                    w.grad(&grads).unwrap(),
                    gb,
                )
            };
            let (out, gx, gw, gb) = run(true);
            let (ref_out, ref_gx, ref_gw, ref_gb) = run(false);
            let what = format!("{x_dims:?} * {w_dims:?}, bias {with_bias}");
            assert!(relative_error(out, ref_out) < 1e-4, "output {what}");
            assert!(relative_error(gx, ref_gx) < 1e-4, "grad x {what}");
            assert!(relative_error(gw, ref_gw) < 1e-4, "grad weight {what}");
            if let (Some(gb), Some(ref_gb)) = (gb, ref_gb) {
                assert!(relative_error(gb, ref_gb) < 1e-4, "grad bias {what}");
            }
        }
    }
}

/// Without autodiff (evaluation) the flex path computes the same output; on ndarray the op
/// is Burn's own convolution.
#[test]
fn plain_flex_and_other_backends_give_burns_output() {
    #[allow(deprecated)] // ndarray stands for "a backend that is not flex"
    let devices = [Device::flex(), Device::ndarray()];
    for device in devices {
        device.seed(3);
        for (x_dims, w_dims, options) in cases() {
            let x = Tensor::<4>::random(x_dims, Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<4>::random(w_dims, Distribution::Normal(0.0, 0.3), &device);
            let b = Tensor::<1>::random([w_dims[0]], Distribution::Normal(0.0, 0.3), &device);
            let ours = conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone());
            let reference = burn::tensor::module::conv2d(x, w, Some(b), options);
            assert!(
                relative_error(ours, reference) < 1e-4,
                "{device:?} {x_dims:?}"
            );
        }
    }
}

/// `conv2d_module` pads as `Conv2d::forward` does, for each padding rule.
#[test]
fn module_forward_equals_burns_for_every_padding_rule() {
    use burn::nn::conv::Conv2dConfig;
    let device = Device::flex();
    for padding in [
        PaddingConfig2d::Valid,
        PaddingConfig2d::Same,
        PaddingConfig2d::Explicit(2, 0, 1, 1),
    ] {
        for stride in [[1, 1], [2, 3]] {
            let conv = Conv2dConfig::new([3, 5], [4, 3])
                .with_stride(stride)
                .with_padding(padding.clone())
                .init(&device);
            let x = Tensor::<4>::random([2, 3, 9, 10], Distribution::Default, &device);
            let ours = conv2d_module(&conv, x.clone());
            let reference = conv.forward(x);
            assert_eq!(ours.dims(), reference.dims(), "{padding:?} {stride:?}");
            assert!(
                relative_error(ours, reference) < 1e-5,
                "{padding:?} {stride:?}"
            );
        }
    }
}

/// temper's kernels run on flex (with and without autodiff) and Burn's op elsewhere; a
/// grouped convolution is Burn's even on flex.
#[test]
fn temper_kernels_run_exactly_where_expected() {
    let calls = || crate::flex::WRAPPED.with(|w| w.get());
    #[allow(deprecated)] // ndarray stands for "a backend that is not flex"
    let cases = [
        (Device::flex(), 1, 1),
        (Device::flex().autodiff(), 1, 1),
        (Device::ndarray(), 1, 0),
        (Device::flex(), 2, 0),
    ];
    for (device, groups, expected) in cases {
        let x = Tensor::<4>::zeros([1, 2, 5, 5], &device);
        let w = Tensor::<4>::zeros([2, 2 / groups, 3, 3], &device);
        let before = calls();
        conv2d(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], groups));
        assert_eq!(calls() - before, expected, "{device:?}, groups {groups}");
    }
}

/// Grouped convolutions are not temper's; they must still work (through Burn).
#[test]
fn grouped_convolutions_fall_back_to_burn() {
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::random([2, 4, 6, 6], Distribution::Default, &device).require_grad();
    let w = Tensor::<4>::random([4, 2, 3, 3], Distribution::Default, &device).require_grad();
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 2);
    let ours = conv2d(x.clone(), w.clone(), None, options.clone());
    let reference = burn::tensor::module::conv2d(x, w, None, options);
    assert!(relative_error(ours, reference) < 1e-6);
}
