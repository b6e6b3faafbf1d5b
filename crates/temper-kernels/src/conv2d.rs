//! 2-D convolution on contiguous `f32` buffers: forward, input gradient and weight/bias
//! gradients, by im2col and one matrix product per sample.
//!
//! Layouts are Burn's: images `[batch, channels, height, width]`, weights
//! `[channels_out, channels_in, kernel_h, kernel_w]`, both row-major and contiguous.
//!
//! Why per sample: one sample's patch matrix (`channels_in·kh·kw × out_h·out_w`, 225 KB for the
//! reference CNN's second layer) stays in L2 while `gemm` consumes it, and the output lands
//! directly in NCHW order with no transpose. Samples are split into one contiguous chunk per
//! rayon thread; each chunk owns its scratch buffers and, for the weight gradient, its own
//! partial sum, added up at the end (so the result does not depend on scheduling).
//!
//! The products are `gemm`'s, which picks its own SIMD path at run time (`TEMPER_CPU_LEVEL`
//! does not cap it); im2col, col2im and the bias sums are plain loops. The one `unsafe` is the
//! call into `gemm`, behind `matmul`'s bounds check.

use gemm::Parallelism;
use rayon::prelude::*;

use crate::im2col::{col2im_add, im2col};

/// The sizes of one convolution. Build it with [`Conv2dShape::new`], which checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dShape {
    /// Number of images.
    pub batch: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Input `[height, width]`.
    pub input: [usize; 2],
    /// Output channels (filters).
    pub channels_out: usize,
    /// `[kernel_h, kernel_w]`.
    pub kernel: [usize; 2],
    /// `[stride_h, stride_w]`, each at least 1.
    pub stride: [usize; 2],
    /// Zero padding before and after, per spatial dimension: `[(top, bottom), (left, right)]`.
    pub padding: [(usize, usize); 2],
    /// `[dilation_h, dilation_w]`, each at least 1 (1: no dilation).
    pub dilation: [usize; 2],
    /// Output `[height, width]`.
    pub output: [usize; 2],
}

impl Conv2dShape {
    /// The shape of a convolution, or `None` when a channel count, kernel size, stride or
    /// dilation is zero or the (padded) input is smaller than the dilated kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        batch: usize,
        channels_in: usize,
        input: [usize; 2],
        channels_out: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> Option<Self> {
        if channels_in == 0 || channels_out == 0 {
            return None;
        }
        let mut output = [0; 2];
        for d in 0..2 {
            if stride[d] == 0 || dilation[d] == 0 || kernel[d] == 0 {
                return None;
            }
            let padded = input[d] + padding[d].0 + padding[d].1;
            let span = dilation[d] * (kernel[d] - 1) + 1;
            if padded < span {
                return None;
            }
            output[d] = (padded - span) / stride[d] + 1;
        }
        Some(Self {
            batch,
            channels_in,
            input,
            channels_out,
            kernel,
            stride,
            padding,
            dilation,
            output,
        })
    }

    /// Rows of the patch matrix: `channels_in · kernel_h · kernel_w`.
    pub fn patch_len(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    /// Output pixels per channel: `out_h · out_w`.
    pub fn out_pixels(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Input pixels per channel: `h · w`.
    pub fn in_pixels(&self) -> usize {
        self.input[0] * self.input[1]
    }

    /// A 1×1 kernel with stride 1 and no padding: the input already is the patch matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [(0, 0); 2]
    }

    fn input_len(&self) -> usize {
        self.batch * self.channels_in * self.in_pixels()
    }

    fn output_len(&self) -> usize {
        self.batch * self.channels_out * self.out_pixels()
    }

    fn weight_len(&self) -> usize {
        self.channels_out * self.patch_len()
    }
}

/// Samples per rayon task: one contiguous chunk per thread.
fn samples_per_task(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// `dst[m×n] := (read_dst ? dst : 0) + lhs[m×k] · rhs[k×n]`, each operand given by its row and
/// column strides, on the calling thread.
///
/// # Panics
/// When an operand's strided extent does not fit in its slice (the callers pass dense
/// row-major or transposed matrices whose slices they size-check, so this never fires).
#[allow(clippy::too_many_arguments)]
fn matmul(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    dst_strides: [usize; 2],
    read_dst: bool,
    lhs: &[f32],
    lhs_strides: [usize; 2],
    rhs: &[f32],
    rhs_strides: [usize; 2],
) {
    assert!(
        fits(dst.len(), [m, n], dst_strides)
            && fits(lhs.len(), [m, k], lhs_strides)
            && fits(rhs.len(), [k, n], rhs_strides),
        "conv2d matmul operand out of bounds"
    );
    // SAFETY: every `(row, col)` of each operand, at its strides, lies inside its slice
    // (asserted above); `dst` is exclusively borrowed, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides[1] as isize,
            dst_strides[0] as isize,
            read_dst,
            lhs.as_ptr(),
            lhs_strides[1] as isize,
            lhs_strides[0] as isize,
            rhs.as_ptr(),
            rhs_strides[1] as isize,
            rhs_strides[0] as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// Whether a `rows × cols` matrix at `strides` lies inside a slice of `len` elements (an empty
/// one always does).
fn fits(len: usize, [rows, cols]: [usize; 2], strides: [usize; 2]) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1)
        .checked_mul(strides[0])
        .zip((cols - 1).checked_mul(strides[1]))
        .and_then(|(r, c)| r.checked_add(c));
    last.is_some_and(|last| last < len)
}

/// Convolution output `[batch, channels_out, out_h, out_w]`.
///
/// # Panics
/// When a slice's length does not match `shape`.
pub fn forward(shape: &Conv2dShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    assert_eq!(x.len(), shape.input_len(), "conv2d input length");
    assert_eq!(weight.len(), shape.weight_len(), "conv2d weight length");
    if let Some(b) = bias {
        assert_eq!(b.len(), shape.channels_out, "conv2d bias length");
    }
    let per_task = samples_per_task(shape.batch);
    let x_stride = shape.channels_in * shape.in_pixels();
    let out_stride = shape.channels_out * shape.out_pixels();
    let mut out = vec![0.0f32; shape.output_len()];
    out.par_chunks_mut(per_task * out_stride)
        .zip(x.par_chunks(per_task * x_stride))
        .for_each(|(out, x)| forward_task(shape, x, weight, bias, out));
    out
}

/// [`forward`] for the samples of one task: `x` and `out` hold whole samples.
fn forward_task(
    shape: &Conv2dShape,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let (k, l, co) = (shape.patch_len(), shape.out_pixels(), shape.channels_out);
    let x_stride = shape.channels_in * shape.in_pixels();
    let mut cols = if shape.is_pointwise() {
        Vec::new()
    } else {
        vec![0.0f32; k * l]
    };
    for (out_b, x_b) in out.chunks_exact_mut(co * l).zip(x.chunks_exact(x_stride)) {
        let patches: &[f32] = if shape.is_pointwise() {
            x_b
        } else {
            im2col(shape, x_b, &mut cols);
            &cols
        };
        if let Some(b) = bias {
            for (row, &v) in out_b.chunks_exact_mut(l).zip(b) {
                row.fill(v);
            }
        }
        // out_b[co×l] (+)= weight[co×k] · patches[k×l]
        matmul(
            [co, l, k],
            out_b,
            [l, 1],
            bias.is_some(),
            weight,
            [k, 1],
            patches,
            [l, 1],
        );
    }
}

/// Which gradients [`backward`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// The input gradient.
    pub input: bool,
    /// The weight gradient.
    pub weight: bool,
    /// The bias gradient.
    pub bias: bool,
}

/// Gradients of a convolution's inputs; `None` where not [`Wanted`].
#[derive(Debug, Default)]
pub struct Gradients {
    /// `[batch, channels_in, h, w]`.
    pub input: Option<Vec<f32>>,
    /// `[channels_out, channels_in, kh, kw]`.
    pub weight: Option<Vec<f32>>,
    /// `[channels_out]`.
    pub bias: Option<Vec<f32>>,
}

/// Per-task partial sums of the weight and bias gradients.
struct Partial {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

/// Gradients of the convolution given the gradient of its output, `grad_out`
/// `[batch, channels_out, out_h, out_w]`. `x` is needed only for the weight gradient and
/// `weight` only for the input gradient (pass empty slices otherwise).
///
/// # Panics
/// When a needed slice's length does not match `shape`.
pub fn backward(
    shape: &Conv2dShape,
    x: &[f32],
    weight: &[f32],
    grad_out: &[f32],
    wanted: Wanted,
) -> Gradients {
    assert_eq!(
        grad_out.len(),
        shape.output_len(),
        "conv2d output-gradient length"
    );
    if wanted.weight {
        assert_eq!(x.len(), shape.input_len(), "conv2d input length");
    }
    if wanted.input {
        assert_eq!(weight.len(), shape.weight_len(), "conv2d weight length");
    }
    let (k, co) = (shape.patch_len(), shape.channels_out);
    let mut grad_x = wanted.input.then(|| vec![0.0f32; shape.input_len()]);
    if shape.batch == 0 {
        return Gradients {
            input: grad_x,
            weight: wanted.weight.then(|| vec![0.0; co * k]),
            bias: wanted.bias.then(|| vec![0.0; co]),
        };
    }
    let x_stride = shape.channels_in * shape.in_pixels();
    let per_task = samples_per_task(shape.batch);
    let tasks = shape.batch.div_ceil(per_task);
    let task = |t: usize, grad_x: Option<&mut [f32]>| {
        let samples = t * per_task..(t * per_task + per_task).min(shape.batch);
        let inputs = BackwardInputs {
            shape,
            x,
            weight,
            grad_out,
            wanted,
        };
        backward_task(&inputs, samples, grad_x)
    };
    let partials: Vec<Partial> = match grad_x.as_mut() {
        Some(gx) => gx
            .par_chunks_mut(per_task * x_stride)
            .enumerate()
            .map(|(t, chunk)| task(t, Some(chunk)))
            .collect(),
        None => (0..tasks).into_par_iter().map(|t| task(t, None)).collect(),
    };

    // Summed in task order, so the result is the same whatever thread ran which task.
    let sum = |pick: fn(&Partial) -> &Vec<f32>| {
        let mut total = pick(&partials[0]).clone();
        for p in &partials[1..] {
            total.iter_mut().zip(pick(p)).for_each(|(t, v)| *t += v);
        }
        total
    };
    Gradients {
        input: grad_x,
        weight: wanted.weight.then(|| sum(|p| &p.weight)),
        bias: wanted.bias.then(|| sum(|p| &p.bias)),
    }
}

/// What every backward task reads.
struct BackwardInputs<'a> {
    shape: &'a Conv2dShape,
    x: &'a [f32],
    weight: &'a [f32],
    grad_out: &'a [f32],
    wanted: Wanted,
}

/// [`backward`] for the samples `samples`: their input gradients into `grad_x` (which holds
/// exactly those samples) and the partial sums of the weight and bias gradients.
fn backward_task(
    inputs: &BackwardInputs,
    samples: std::ops::Range<usize>,
    mut grad_x: Option<&mut [f32]>,
) -> Partial {
    let BackwardInputs {
        shape,
        x,
        weight,
        grad_out,
        wanted,
    } = *inputs;
    let (k, l, co) = (shape.patch_len(), shape.out_pixels(), shape.channels_out);
    let x_stride = shape.channels_in * shape.in_pixels();
    let out_stride = co * l;
    let mut partial = Partial {
        weight: if wanted.weight {
            vec![0.0; co * k]
        } else {
            Vec::new()
        },
        bias: if wanted.bias {
            vec![0.0; co]
        } else {
            Vec::new()
        },
    };
    // One sample's patch matrix, or (input gradient) its adjoint's input: unused when pointwise.
    let mut cols = if shape.is_pointwise() {
        Vec::new()
    } else {
        vec![0.0f32; k * l]
    };
    let first = samples.start;
    for b in samples {
        let dout_b = &grad_out[b * out_stride..][..out_stride];
        if wanted.bias {
            add_bias_gradient(&mut partial.bias, dout_b, l);
        }
        if wanted.weight {
            let x_b = &x[b * x_stride..][..x_stride];
            add_weight_gradient(shape, x_b, dout_b, &mut cols, &mut partial.weight);
        }
        if let Some(gx) = grad_x.as_deref_mut() {
            let dx_b = &mut gx[(b - first) * x_stride..][..x_stride];
            input_gradient(shape, weight, dout_b, &mut cols, dx_b);
        }
    }
    partial
}

/// `grad_b[co] += Σ dout_b[co][·]`, one sample's bias gradient (`l` output pixels a channel).
fn add_bias_gradient(grad_b: &mut [f32], dout_b: &[f32], l: usize) {
    for (acc, row) in grad_b.iter_mut().zip(dout_b.chunks_exact(l)) {
        *acc += row.iter().sum::<f32>();
    }
}

/// `grad_w[co×k] += dout_b[co×l] · patchesᵀ[l×k]`, one sample's weight gradient: the patch
/// matrix of `x_b` is built in `cols` (it is `x_b` itself when pointwise).
fn add_weight_gradient(
    shape: &Conv2dShape,
    x_b: &[f32],
    dout_b: &[f32],
    cols: &mut [f32],
    grad_w: &mut [f32],
) {
    let (k, l, co) = (shape.patch_len(), shape.out_pixels(), shape.channels_out);
    let patches: &[f32] = if shape.is_pointwise() {
        x_b
    } else {
        im2col(shape, x_b, cols);
        cols
    };
    // patchesᵀ reads `k×l` row-major.
    matmul(
        [co, k, l],
        grad_w,
        [k, 1],
        true,
        dout_b,
        [l, 1],
        patches,
        [1, l],
    );
}

/// `dx_b := col2im(weightᵀ[k×co] · dout_b[co×l])`, one sample's input gradient: the product
/// lands in `cols` and is added back onto the pixels it came from (straight into `dx_b`
/// when pointwise, where col2im is the identity).
fn input_gradient(
    shape: &Conv2dShape,
    weight: &[f32],
    dout_b: &[f32],
    cols: &mut [f32],
    dx_b: &mut [f32],
) {
    let (k, l, co) = (shape.patch_len(), shape.out_pixels(), shape.channels_out);
    let pointwise = shape.is_pointwise();
    // weightᵀ reads `co×k` row-major.
    matmul(
        [k, l, co],
        if pointwise { &mut *dx_b } else { &mut *cols },
        [l, 1],
        false,
        weight,
        [1, k],
        dout_b,
        [l, 1],
    );
    if !pointwise {
        col2im_add(shape, cols, dx_b);
    }
}

#[cfg(test)]
mod tests;
