//! [`batch_norm_module`]: a `burn::nn::BatchNorm` layer's forward pass with what follows it
//! in a residual network (ReLU, or the shortcut's add and ReLU) as one differentiable op on
//! flex, with temper's kernel ([`crate::batch_norm`]).
//!
//! In training (Burn's layer would take its training path: an autodiff device and the layer's
//! `training` flag on), with every tensor an `f32` flex one of one checkpointing strategy, it
//! is one graph node, and it updates the running statistics exactly as `BatchNorm::forward`
//! does (`running = (1 − momentum)·running + momentum·batch`, with the biased batch variance,
//! as Burn 0.22 does; PyTorch uses the unbiased one there). In evaluation on flex (no
//! autodiff) it is one pass with the running statistics, the same bytes as Burn's. Anywhere
//! else (a frozen layer on an autodiff device, wgpu, ndarray, other dtypes) it is Burn's layer
//! followed by Burn's add and ReLU, so a model calls it unconditionally.

use burn::nn::BatchNorm;
use burn::tensor::activation::relu;
use burn::tensor::{DType, Tensor, TensorData};
use burn_autodiff::NodeId;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

use crate::batch_norm::{self, BatchNormShape, Fused, Saved, Statistics};
use crate::flex::{
    AutodiffTensor, FlexPrimitive, Strategy, f32s, flex_tensor, wrap_autodiff, wrap_plain,
};

/// What [`batch_norm_module`] applies after the normalization, in the same passes.
// A `Tensor` is large, but an `Epilogue` lives for one call: boxing it would only cost an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Epilogue {
    /// Nothing: `bn(x)`.
    None,
    /// `relu(bn(x))`.
    Relu,
    /// `relu(bn(x) + shortcut)`, the end of a residual block; `shortcut` has `x`'s shape.
    AddRelu(Tensor<4>),
}

/// `bn.forward(x)` followed by `epilogue`, with the same result, gradients and running-statistic
/// updates as Burn's layer and ops.
///
/// # Shapes
/// - x: `[batch, channels, height, width]`
/// - shortcut (in [`Epilogue::AddRelu`]): `[batch, channels, height, width]`
/// - output: `[batch, channels, height, width]`
pub fn batch_norm_module(bn: &BatchNorm, x: Tensor<4>, epilogue: Epilogue) -> Tensor<4> {
    match fused(bn, &x, &epilogue) {
        Some(out) => out,
        None => {
            let y = bn.forward(x);
            match epilogue {
                Epilogue::None => y,
                Epilogue::Relu => relu(y),
                Epilogue::AddRelu(shortcut) => relu(y + shortcut),
            }
        }
    }
}

/// The fused op, or `None` where Burn's path applies.
fn fused(bn: &BatchNorm, x: &Tensor<4>, epilogue: &Epilogue) -> Option<Tensor<4>> {
    let shortcut = match epilogue {
        Epilogue::AddRelu(s) => Some(s),
        _ => None,
    };
    let [batch, channels, h, w] = x.dims();
    let (gamma, beta) = (bn.gamma.val(), bn.beta.val());
    let usable = [x.dtype(), gamma.dtype(), beta.dtype()] == [DType::F32; 3]
        && gamma.dims() == [channels]
        && shortcut.is_none_or(|s| s.dtype() == DType::F32 && s.dims() == x.dims());
    if !usable {
        return None;
    }
    let shape = BatchNormShape {
        batch,
        channels,
        pixels: h * w,
    };
    let fuse = Fused {
        residual: shortcut.is_some(),
        relu: !matches!(epilogue, Epilogue::None),
    };
    let dims = [batch, channels, h, w];
    if !x.device().is_autodiff() {
        let params = [gamma, beta, bn.running_mean.value(), bn.running_var.value()];
        return evaluate(x, params, shortcut, (shape, dims), fuse, bn.epsilon);
    }
    if !bn.training.is_enabled() {
        // A frozen layer on a training device: Burn's inference path, differentiated by Burn.
        return None;
    }
    let inputs = Inputs::of(x, &gamma, &beta, shortcut)?;
    let (out, stats) = inputs.run(shape, fuse, bn.epsilon, dims);
    update_running(bn, stats, x);
    Some(out)
}

/// Evaluation on plain flex tensors, with the running statistics.
fn evaluate(
    x: &Tensor<4>,
    params: [Tensor<1>; 4],
    shortcut: Option<&Tensor<4>>,
    (shape, dims): (BatchNormShape, [usize; 4]),
    fused: Fused,
    epsilon: f64,
) -> Option<Tensor<4>> {
    fn plain<const D: usize>(t: &Tensor<D>) -> Option<FlexTensor> {
        match FlexPrimitive::of(t)? {
            FlexPrimitive::Plain(p) if t.dtype() == DType::F32 => Some(p),
            _ => None,
        }
    }
    let x = plain(x)?;
    let [g, b, m, v] = [
        plain(&params[0])?,
        plain(&params[1])?,
        plain(&params[2])?,
        plain(&params[3])?,
    ];
    let r = match shortcut {
        Some(s) => Some(plain(s)?),
        None => None,
    };
    let r = r.as_ref().map(f32s);
    let [g, b, m, v] = [&g, &b, &m, &v].map(f32s);
    let out = batch_norm::inference(
        &shape,
        &f32s(&x),
        [&g, &b, &m, &v],
        r.as_deref(),
        fused.relu,
        epsilon,
    );
    Some(wrap_plain(flex_tensor(out, dims)))
}

/// The autodiff flex primitives of the op's inputs, all of one checkpointing strategy.
struct Inputs {
    x: AutodiffTensor,
    gamma: AutodiffTensor,
    beta: AutodiffTensor,
    shortcut: Option<AutodiffTensor>,
    strategy: Strategy,
}

impl Inputs {
    fn of(
        x: &Tensor<4>,
        gamma: &Tensor<1>,
        beta: &Tensor<1>,
        shortcut: Option<&Tensor<4>>,
    ) -> Option<Self> {
        let autodiff = |p: FlexPrimitive| match p {
            FlexPrimitive::Autodiff(t, s) => Some((t, s)),
            FlexPrimitive::Plain(_) => None,
        };
        let (x, strategy) = autodiff(FlexPrimitive::of(x)?)?;
        let same = |t: &Tensor<1>| {
            autodiff(FlexPrimitive::of(t)?).and_then(|(t, s)| (s == strategy).then_some(t))
        };
        let (gamma, beta) = (same(gamma)?, same(beta)?);
        let shortcut = match shortcut {
            Some(s) => {
                let (s, st) = autodiff(FlexPrimitive::of(s)?)?;
                Some((st == strategy).then_some(s)?)
            }
            None => None,
        };
        Some(Self {
            x,
            gamma,
            beta,
            shortcut,
            strategy,
        })
    }

    /// Runs the forward kernel and records the node (when any input tracks a gradient).
    fn run(
        self,
        shape: BatchNormShape,
        fused: Fused,
        epsilon: f64,
        dims: [usize; 4],
    ) -> (Tensor<4>, Statistics) {
        let strategy = self.strategy;
        let (out, stats) = match strategy {
            Strategy::NoCheckpointing => {
                self.tracked::<NoCheckpointing>(shape, fused, epsilon, dims)
            }
            Strategy::Balanced => {
                self.tracked::<BalancedCheckpointing>(shape, fused, epsilon, dims)
            }
        };
        (wrap_autodiff(out, strategy), stats)
    }

    fn tracked<C: CheckpointStrategy>(
        self,
        shape: BatchNormShape,
        fused: Fused,
        epsilon: f64,
        dims: [usize; 4],
    ) -> (AutodiffTensor, Statistics) {
        let (out, stats) = {
            let x = f32s(self.x.primitive());
            let (gamma, beta) = (f32s(self.gamma.primitive()), f32s(self.beta.primitive()));
            let r = self.shortcut.as_ref().map(|s| f32s(s.primitive()));
            batch_norm::forward(
                &shape,
                &x,
                [&gamma, &beta],
                r.as_deref(),
                fused.relu,
                epsilon,
            )
        };
        let output = flex_tensor(out, dims);
        let state = |prep_x: NodeId, prep_gamma: NodeId| State {
            x: prep_x,
            gamma: prep_gamma,
            output: fused.relu.then(|| output.clone()),
            stats: stats.clone(),
            epsilon,
            shape,
            dims,
            fused,
        };
        let nodes = [self.x.node(), self.gamma.node(), self.beta.node()];
        let out = match self.shortcut {
            Some(r) => {
                let [x, g, b] = nodes;
                match BatchNormAddOp
                    .prepare::<C>([x, g, b, r.node()])
                    .compute_bound()
                    .stateful()
                {
                    OpsKind::Tracked(mut prep) => {
                        let s = state(prep.checkpoint(&self.x), prep.checkpoint(&self.gamma));
                        prep.finish(s, output)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(output),
                }
            }
            None => match BatchNormOp.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(mut prep) => {
                    let s = state(prep.checkpoint(&self.x), prep.checkpoint(&self.gamma));
                    prep.finish(s, output)
                }
                OpsKind::UnTracked(prep) => prep.finish(output),
            },
        };
        (out, stats)
    }
}

/// `running = (1 − momentum)·running + momentum·batch` for the mean and the (biased)
/// variance, as `BatchNorm::forward_train` writes them.
fn update_running(bn: &BatchNorm, stats: Statistics, x: &Tensor<4>) {
    let device = x.device();
    let channels = stats.mean.len();
    let batch = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [channels]), &device);
    let blend = |running: Tensor<1>, batch: Tensor<1>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - bn.momentum)
            .add(batch.mul_scalar(bn.momentum))
            .detach()
    };
    let mean = blend(bn.running_mean.value_sync(), batch(stats.mean));
    let var = blend(bn.running_var.value_sync(), batch(stats.variance));
    bn.running_mean.update(mean);
    bn.running_var.update(var);
}

/// What the backward pass needs: the checkpointed input and `γ`, the output for the ReLU's
/// mask (a shared reference to the op's own output), and the batch's statistics.
#[derive(Debug, Clone)]
struct State {
    x: NodeId,
    gamma: NodeId,
    output: Option<FlexTensor>,
    stats: Statistics,
    epsilon: f64,
    shape: BatchNormShape,
    dims: [usize; 4],
    fused: Fused,
}

/// The node without a shortcut: parents `x`, `γ`, `β`.
#[derive(Debug)]
struct BatchNormOp;

/// The node with a shortcut: parents `x`, `γ`, `β`, `shortcut`.
#[derive(Debug)]
struct BatchNormAddOp;

impl Backward<Flex, 3> for BatchNormOp {
    type State = State;

    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad_out = grads.consume::<Flex>(&ops.node);
        let [x, g, b] = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grad_out, [x, g, b, None], ops.state, grads, checkpointer);
    }
}

impl Backward<Flex, 4> for BatchNormAddOp {
    type State = State;

    fn backward(self, ops: Ops<State, 4>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad_out = grads.consume::<Flex>(&ops.node);
        let nodes = ops.parents.map(|p| p.map(|node| node.id));
        register_gradients(grad_out, nodes, ops.state, grads, checkpointer);
    }
}

/// Computes the gradients and registers those of the parents that track one.
fn register_gradients(
    grad_out: FlexTensor,
    [node_x, node_gamma, node_beta, node_r]: [Option<NodeId>; 4],
    state: State,
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
) {
    let x: FlexTensor = checkpointer.retrieve_node_output(state.x);
    let gamma: FlexTensor = checkpointer.retrieve_node_output(state.gamma);
    let (x, gamma) = (f32s(&x), f32s(&gamma));
    let output = state.output.as_ref().map(f32s);
    let saved = Saved {
        x: &x,
        output: output.as_deref().unwrap_or(&[]),
        gamma: &gamma,
        stats: &state.stats,
        epsilon: state.epsilon,
    };
    let s = state.shape;
    let computed = batch_norm::backward(&s, saved, state.fused, &f32s(&grad_out));
    let image = |v: Vec<f32>| flex_tensor(v, state.dims);
    if let Some(node) = node_x {
        grads.register::<Flex>(node, image(computed.input));
    }
    if let Some(node) = node_gamma {
        grads.register::<Flex>(node, flex_tensor(computed.gamma, [s.channels]));
    }
    if let Some(node) = node_beta {
        grads.register::<Flex>(node, flex_tensor(computed.beta, [s.channels]));
    }
    if let (Some(node), Some(dr)) = (node_r, computed.residual) {
        grads.register::<Flex>(node, image(dr));
    }
}

#[cfg(test)]
mod tests;
