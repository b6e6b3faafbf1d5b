//! Reaching flex primitives from Burn 0.22's backend-erased tensors, and back.
//!
//! Burn's extension API (`Tensor::try_into_primitive`) unwraps a tensor for one concrete
//! backend type. A flex tensor is one of three: plain (no autodiff: evaluation), or autodiff
//! with either checkpointing strategy (`Autodiff<Flex, C>`); the strategy is a type parameter,
//! so it is carried along to wrap the result the same way.

use burn::tensor::{Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn_backend::tensor::FloatTensor;
use burn_flex::{Flex, FlexTensor};

/// An autodiff tensor over flex (the same type for every checkpointing strategy).
pub(crate) type AutodiffTensor = FloatTensor<Autodiff<Flex>>;

/// The gradient-checkpointing strategy of an autodiff flex tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    NoCheckpointing,
    Balanced,
}

/// A float tensor's primitive, when it lives on flex.
pub(crate) enum FlexPrimitive {
    Plain(FlexTensor),
    Autodiff(AutodiffTensor, Strategy),
}

impl FlexPrimitive {
    /// The primitive of `tensor`, or `None` when it is not on flex. Clones are reference-count
    /// bumps; the caller's tensor is untouched.
    pub(crate) fn of<const D: usize>(tensor: &Tensor<D>) -> Option<Self> {
        let t = tensor.clone();
        if let Ok(p) = t
            .clone()
            .try_into_primitive::<Autodiff<Flex, NoCheckpointing>>()
        {
            return Some(Self::Autodiff(p, Strategy::NoCheckpointing));
        }
        if let Ok(p) = t
            .clone()
            .try_into_primitive::<Autodiff<Flex, BalancedCheckpointing>>()
        {
            return Some(Self::Autodiff(p, Strategy::Balanced));
        }
        t.try_into_primitive::<Flex>().ok().map(Self::Plain)
    }
}

#[cfg(test)]
thread_local! {
    /// Results wrapped on this thread: how tests see that temper's kernels, not Burn's
    /// fallback, computed an op.
    pub(crate) static WRAPPED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count_wrap() {
    #[cfg(test)]
    WRAPPED.with(|w| w.set(w.get() + 1));
}

/// A plain flex result as a tensor.
pub(crate) fn wrap_plain<const D: usize>(t: FlexTensor) -> Tensor<D> {
    count_wrap();
    Tensor::from_primitive::<Flex>(t)
}

/// An autodiff flex result as a tensor of the inputs' strategy.
pub(crate) fn wrap_autodiff<const D: usize>(t: AutodiffTensor, strategy: Strategy) -> Tensor<D> {
    count_wrap();
    match strategy {
        Strategy::NoCheckpointing => Tensor::from_primitive::<Autodiff<Flex, NoCheckpointing>>(t),
        Strategy::Balanced => Tensor::from_primitive::<Autodiff<Flex, BalancedCheckpointing>>(t),
    }
}

/// A contiguous `f32` view of a flex tensor (copying only a strided one).
pub(crate) fn f32s(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .expect("a contiguous f32 tensor")
                .to_vec(),
        ),
    }
}

/// A contiguous flex tensor holding `values` (moved, not copied).
pub(crate) fn flex_tensor<const D: usize>(values: Vec<f32>, dims: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, dims))
}

/// Largest |a − b| relative to the largest |b|, over all elements (tests compare temper's ops
/// with Burn's by it).
#[cfg(test)]
pub(crate) fn max_relative_error<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let a = a.into_data().try_to_vec::<f32>().unwrap();
    let b = b.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
        / scale
}
