//! [`max_pool2d_relu`]: `max_pool2d(relu(x))` with temper's kernel on flex, as a
//! differentiable op.
//!
//! Burn's flex max-pool records indices through a generic 3-D pooling loop and took a third of
//! the reference CNN's training step; ReLU is a further pass over the conv output and another
//! in backward. Here both are one pass each way (see [`crate::pool`]).

use std::sync::Arc;

use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{DType, Tensor, activation::relu};
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

use crate::flex::{
    AutodiffTensor, FlexPrimitive, Strategy, f32s, flex_tensor, wrap_autodiff, wrap_plain,
};
use crate::pool::{self, PoolShape};

/// `max_pool2d(relu(x), kernel, stride)` without padding or dilation (floor mode), which equals
/// `relu(max_pool2d(x))` exactly.
///
/// # Shapes
/// - x: `[batch, channels, height, width]`
/// - output: `[batch, channels, (height − kernel_h) / stride_h + 1, (width − kernel_w) / stride_w + 1]`
pub fn max_pool2d_relu(x: Tensor<4>, kernel: [usize; 2], stride: [usize; 2]) -> Tensor<4> {
    let [batch, channels, h, w] = x.dims();
    (x.dtype() == DType::F32)
        .then(|| PoolShape::new(batch, channels, [h, w], kernel, stride))
        .flatten()
        .and_then(|shape| on_flex(&x, shape))
        .unwrap_or_else(|| max_pool2d(relu(x), MaxPoolOptions::new(kernel).with_stride(stride)))
}

fn on_flex(x: &Tensor<4>, shape: PoolShape) -> Option<Tensor<4>> {
    let dims = [
        shape.batch,
        shape.channels,
        shape.output[0],
        shape.output[1],
    ];
    Some(match FlexPrimitive::of(x)? {
        FlexPrimitive::Plain(x) => {
            let (out, _) = pool::forward_relu(&shape, &f32s(&x));
            wrap_plain(flex_tensor(out, dims))
        }
        FlexPrimitive::Autodiff(x, s) => {
            let out = match s {
                Strategy::NoCheckpointing => tracked::<NoCheckpointing>(x, shape),
                Strategy::Balanced => tracked::<BalancedCheckpointing>(x, shape),
            };
            wrap_autodiff(out, s)
        }
    })
}

#[derive(Debug)]
struct MaxPoolRelu;

impl Backward<Flex, 1> for MaxPoolRelu {
    /// The argmax offsets (shared, not copied, when the graph clones state) and the shape.
    type State = (Arc<Vec<u32>>, PoolShape);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad_out = grads.consume::<Flex>(&ops.node);
        let [Some(parent)] = ops.parents else { return };
        let (argmax, s) = ops.state;
        let grad_x = pool::backward(&s, &argmax, &f32s(&grad_out));
        let dims = [s.batch, s.channels, s.input[0], s.input[1]];
        grads.register::<Flex>(parent.id, flex_tensor(grad_x, dims));
    }
}

fn tracked<C: CheckpointStrategy>(x: AutodiffTensor, shape: PoolShape) -> AutodiffTensor {
    let (out, argmax) = pool::forward_relu(&shape, &f32s(x.primitive()));
    let dims = [
        shape.batch,
        shape.channels,
        shape.output[0],
        shape.output[1],
    ];
    let out: FlexTensor = flex_tensor(out, dims);
    match MaxPoolRelu
        .prepare::<C>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((Arc::new(argmax), shape), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution};

    use super::*;
    use crate::flex::max_relative_error;

    /// Output and input gradient equal Burn's `max_pool2d(relu(x))` on flex, for the conv
    /// block's 2×2 pooling and a generic overlapping one. Random normal inputs have no ties,
    /// so the argmax is the same whichever tie rule either side uses.
    #[test]
    fn equals_burns_relu_then_max_pool() {
        let device = Device::flex().autodiff();
        device.seed(11);
        for (dims, kernel, stride) in [
            ([4, 3, 28, 28], [2, 2], [2, 2]),
            ([2, 5, 9, 7], [3, 2], [2, 1]),
            ([2, 2, 7, 7], [2, 2], [2, 2]), // odd size: the last row and column are dropped
        ] {
            let x = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
            let run = |ours: bool| {
                let x = x.clone().require_grad();
                let out = if ours {
                    max_pool2d_relu(x.clone(), kernel, stride)
                } else {
                    max_pool2d(
                        relu(x.clone()),
                        MaxPoolOptions::new(kernel).with_stride(stride),
                    )
                };
                let g = out.clone().detach().cos();
                let grads = (out.clone() * g).sum().backward();
                (out.detach(), x.grad(&grads).unwrap())
            };
            let ((out, gx), (ref_out, ref_gx)) = (run(true), run(false));
            assert_eq!(max_relative_error(out, ref_out), 0.0, "{dims:?}");
            assert_eq!(max_relative_error(gx, ref_gx), 0.0, "{dims:?}");
        }
    }

    /// Without autodiff, on flex, temper's kernel computes Burn's output; on ndarray the op is
    /// Burn's own.
    #[test]
    fn plain_flex_and_other_backends_give_burns_output() {
        #[allow(deprecated)] // ndarray stands for "a backend that is not flex"
        let devices = [(Device::flex(), 1), (Device::ndarray(), 0)];
        let calls = || crate::flex::WRAPPED.with(|w| w.get());
        for (device, kernel_calls) in devices {
            let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
            let before = calls();
            let ours = max_pool2d_relu(x.clone(), [2, 2], [2, 2]);
            assert_eq!(calls() - before, kernel_calls, "{device:?}");
            let reference = max_pool2d(relu(x), MaxPoolOptions::new([2, 2]));
            assert_eq!(max_relative_error(ours, reference), 0.0, "{device:?}");
        }
    }
}
