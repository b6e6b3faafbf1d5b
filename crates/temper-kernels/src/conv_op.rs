//! [`conv2d`]: Burn's `conv2d` with temper's kernels on flex, as a differentiable op.
//!
//! Burn 0.22 tensors carry their backend at run time. On a flex device (with or without
//! autodiff) and `f32` data, the tensors are unwrapped to flex primitives through Burn's
//! extension API (`Tensor::try_into_primitive`), computed by [`crate::conv2d`], and — under
//! autodiff — recorded as one graph node whose backward pass is [`crate::conv2d::backward`].
//! Anywhere else (wgpu, ndarray, other dtypes, grouped convolutions) it is Burn's own
//! `conv2d`, so callers can use it unconditionally.
//!
//! Why not Burn's flex conv: Burn computes the weight gradient as a convolution of the
//! transposed input with the transposed output gradient and the input gradient as a transposed
//! convolution, each with copies and small matrix products; on the reference CNN the three
//! passes of its second layer took most of a training step (see `benches/train_step.rs`).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor};
use burn_autodiff::NodeId;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

use crate::conv2d::{self, Conv2dShape, Wanted};
use crate::flex::{
    AutodiffTensor, FlexPrimitive, Strategy, f32s, flex_tensor, wrap_autodiff, wrap_plain,
};

/// 2-D convolution, as `burn::tensor::module::conv2d`.
///
/// # Shapes
/// - x: `[batch, channels_in, height, width]`
/// - weight: `[channels_out, channels_in / groups, kernel_h, kernel_w]`
/// - bias: `[channels_out]`
/// - output: `[batch, channels_out, out_h, out_w]`
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    flex_shape(&x, &weight, bias.as_ref(), &options)
        .and_then(|shape| on_flex(&x, &weight, bias.as_ref(), shape))
        .unwrap_or_else(|| burn::tensor::module::conv2d(x, weight, bias, options))
}

/// The forward pass of a `burn::nn::conv::Conv2d` module through [`conv2d()`]: the same
/// parameters, padding rule and result as `Conv2d::forward`.
///
/// # Shapes
/// - input: `[batch, channels_in, height, width]`
/// - output: `[batch, channels_out, out_h, out_w]`
pub fn conv2d_module(conv: &Conv2d, input: Tensor<4>) -> Tensor<4> {
    let [_, _, height, width] = input.dims();
    let (rows, cols) = match conv.padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Same => (
            same_padding(conv.kernel_size[0], conv.stride[0], height),
            same_padding(conv.kernel_size[1], conv.stride[1], width),
        ),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
    };
    let options =
        ConvOptions::new_with_padding(conv.stride, [rows, cols], conv.dilation, conv.groups);
    conv2d(
        input,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        options,
    )
}

/// `Same` padding as burn-nn 0.22 computes it (`padding.rs`, private there): the output has
/// `ceil(size / stride)` pixels and the extra padding goes after.
fn same_padding(kernel: usize, stride: usize, size: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = if out > 0 {
        ((out - 1) * stride + kernel).saturating_sub(size)
    } else {
        0
    };
    (total / 2, total - total / 2)
}

/// The convolution's shape when temper's kernels can compute it: `f32` tensors, one group,
/// consistent dimensions. The backend is checked later, by unwrapping.
fn flex_shape(
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: Option<&Tensor<1>>,
    options: &ConvOptions<2>,
) -> Option<Conv2dShape> {
    let f32s = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && bias.is_none_or(|b| b.dtype() == DType::F32);
    let [batch, channels_in, h, w] = x.dims();
    let [channels_out, weight_in, kh, kw] = weight.dims();
    if !f32s || options.groups != 1 || weight_in != channels_in {
        return None;
    }
    if bias.is_some_and(|b| b.dims() != [channels_out]) {
        return None;
    }
    Conv2dShape::new(
        batch,
        channels_in,
        [h, w],
        channels_out,
        [kh, kw],
        options.stride,
        options.padding,
        options.dilation,
    )
}

/// Runs the convolution on flex, or returns `None` when the inputs are not all flex tensors
/// of one kind (plain, or autodiff with one checkpointing strategy).
fn on_flex(
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: Option<&Tensor<1>>,
    shape: Conv2dShape,
) -> Option<Tensor<4>> {
    use FlexPrimitive::{Autodiff, Plain};
    let bias = match bias {
        Some(b) => Some(FlexPrimitive::of(b)?),
        None => None,
    };
    match (FlexPrimitive::of(x)?, FlexPrimitive::of(weight)?, bias) {
        (Plain(x), Plain(w), None) => Some(wrap_plain(forward_flex(&x, &w, None, &shape))),
        (Plain(x), Plain(w), Some(Plain(b))) => {
            Some(wrap_plain(forward_flex(&x, &w, Some(&b), &shape)))
        }
        (Autodiff(x, s), Autodiff(w, sw), None) if s == sw => {
            Some(wrap_autodiff(tracked(s, x, w, None, shape), s))
        }
        (Autodiff(x, s), Autodiff(w, sw), Some(Autodiff(b, sb))) if s == sw && s == sb => {
            Some(wrap_autodiff(tracked(s, x, w, Some(b), shape), s))
        }
        // Mixed plain and autodiff inputs: Burn's op knows how to treat the plain ones as
        // constants.
        _ => None,
    }
}

fn forward_flex(
    x: &FlexTensor,
    w: &FlexTensor,
    b: Option<&FlexTensor>,
    s: &Conv2dShape,
) -> FlexTensor {
    let bias = b.map(f32s);
    let out = conv2d::forward(s, &f32s(x), &f32s(w), bias.as_deref());
    flex_tensor(out, [s.batch, s.channels_out, s.output[0], s.output[1]])
}

/// Backward state: the checkpointed input and weight, and the shape.
type State = (NodeId, NodeId, Conv2dShape);

#[derive(Debug)]
struct Conv2dWithBias;

#[derive(Debug)]
struct Conv2dNoBias;

impl Backward<Flex, 3> for Conv2dWithBias {
    type State = State;

    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad_out = grads.consume::<Flex>(&ops.node);
        let [x, w, b] = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grad_out, [x, w, b], ops.state, grads, checkpointer);
    }
}

impl Backward<Flex, 2> for Conv2dNoBias {
    type State = State;

    fn backward(self, ops: Ops<State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad_out = grads.consume::<Flex>(&ops.node);
        let [x, w] = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grad_out, [x, w, None], ops.state, grads, checkpointer);
    }
}

/// Computes the wanted gradients (those of the parents that track one: `Some(node)`) and
/// registers them.
fn register_gradients(
    grad_out: FlexTensor,
    [node_x, node_w, node_b]: [Option<NodeId>; 3],
    (x_id, w_id, s): State,
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
) {
    let x: FlexTensor = checkpointer.retrieve_node_output(x_id);
    let w: FlexTensor = checkpointer.retrieve_node_output(w_id);
    let wanted = Wanted {
        input: node_x.is_some(),
        weight: node_w.is_some(),
        bias: node_b.is_some(),
    };
    let (x, w) = (f32s(&x), f32s(&w));
    let computed = conv2d::backward(&s, &x, &w, &f32s(&grad_out), wanted);
    if let (Some(node), Some(g)) = (node_x, computed.input) {
        let dims = [s.batch, s.channels_in, s.input[0], s.input[1]];
        grads.register::<Flex>(node, flex_tensor(g, dims));
    }
    if let (Some(node), Some(g)) = (node_w, computed.weight) {
        let dims = [s.channels_out, s.channels_in, s.kernel[0], s.kernel[1]];
        grads.register::<Flex>(node, flex_tensor(g, dims));
    }
    if let (Some(node), Some(g)) = (node_b, computed.bias) {
        grads.register::<Flex>(node, flex_tensor(g, [s.channels_out]));
    }
}

/// The convolution as one autodiff node (tracked when any input needs a gradient).
fn tracked(
    strategy: Strategy,
    x: AutodiffTensor,
    w: AutodiffTensor,
    b: Option<AutodiffTensor>,
    shape: Conv2dShape,
) -> AutodiffTensor {
    match strategy {
        Strategy::NoCheckpointing => tracked_with::<NoCheckpointing>(x, w, b, shape),
        Strategy::Balanced => tracked_with::<BalancedCheckpointing>(x, w, b, shape),
    }
}

fn tracked_with<C: CheckpointStrategy>(
    x: AutodiffTensor,
    w: AutodiffTensor,
    b: Option<AutodiffTensor>,
    shape: Conv2dShape,
) -> AutodiffTensor {
    let output = forward_flex(
        x.primitive(),
        w.primitive(),
        b.as_ref().map(|b| b.primitive()),
        &shape,
    );
    match b {
        Some(b) => match Conv2dWithBias
            .prepare::<C>([x.node(), w.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&w), shape);
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        },
        None => match Conv2dNoBias
            .prepare::<C>([x.node(), w.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&w), shape);
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        },
    }
}

#[cfg(test)]
mod tests;
