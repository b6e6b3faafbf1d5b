//! 2-D convolution on contiguous `f32` buffers: forward, input gradient and weight/bias
//! gradients, by im2col and one matrix product per sample, or per group of samples when the
//! output maps are small.
//!
//! Layouts are Burn's: images `[batch, channels, height, width]`, weights
//! `[channels_out, channels_in, kernel_h, kernel_w]`, both row-major and contiguous.
//!
//! Why per sample: one sample's patch matrix (`channels_in·kh·kw × out_h·out_w`, 225 KB for the
//! reference CNN's second layer) stays in L2 while `gemm` consumes it, and the output lands
//! directly in NCHW order with no transpose (PyTorch's CPU `slow_conv2d` also goes one sample
//! at a time, aten/src/ATen/native/ConvolutionMM2d.cpp). Samples are split into one
//! contiguous chunk per rayon thread; each chunk owns its scratch buffers and, for the weight
//! gradient, its own partial sum, added up at the end in chunk order (so the result does not
//! depend on scheduling).
//!
//! Why groups on small maps: with `l` output pixels per channel a sample's product has `l`
//! columns, and ResNets' deep stages have few (ResNet-18's layer4 at 64×64: 4 pixels against
//! a 512×4608 weight). `gemm` then re-packs the whole weight for little work, and the weight
//! gradient is a rank-`l` update of a `co × k` matrix per sample, bound by memory. So below
//! `GROUP_COLUMNS` pixels, `G` samples of a chunk go side by side, as cuDNN's lowering puts
//! the batch in the columns (its data matrix is `CRS × NPQ`; Chetlur et al. 2014, "cuDNN:
//! Efficient Primitives for Deep Learning"): their patch matrices form one `[k × G·l]`
//! (im2col with a leading dimension), the forward is one product into `[co × G·l]` scattered
//! back to NCHW, and the output gradient gathered to `[co × G·l]` gives the weight gradient
//! as one product with inner dimension `G·l` and the input gradient as one product whose
//! column blocks are col2im'd per sample.
//!
//! The products are `gemm`'s, which picks its own SIMD path at run time (`TEMPER_CPU_LEVEL`
//! does not cap it); im2col, col2im, the gathers and the bias sums are plain loops. The one
//! `unsafe` is the call into `gemm`, behind `matmul`'s bounds check.

use rayon::prelude::*;

use crate::im2col::{col2im_add, im2col};

mod matmul;
use matmul::matmul;

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

/// [`forward`] for the samples of one task: `x` and `out` hold whole samples, taken
/// [`group_size`] at a time.
fn forward_task(
    shape: &Conv2dShape,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let (k, l, co) = (shape.patch_len(), shape.out_pixels(), shape.channels_out);
    let x_stride = shape.channels_in * shape.in_pixels();
    let group = group_size(shape, out.len() / (co * l));
    let Scratch { mut cols, mut rows } = Scratch::new(shape, group);
    for (i, out_g) in out.chunks_mut(group * co * l).enumerate() {
        let count = out_g.len() / (co * l);
        let n = count * l;
        let x_g = &x[i * group * x_stride..][..count * x_stride];
        let patches = patches(shape, &mut cols, x_g, count);
        // A lone sample's product lands in NCHW order already; a group's is `[co × n]`.
        let lone = count == 1;
        let dst: &mut [f32] = if lone { out_g } else { &mut rows[..co * n] };
        if let Some(b) = bias {
            for (row, &v) in dst.chunks_exact_mut(n).zip(b) {
                row.fill(v);
            }
        }
        // dst[co×n] (+)= weight[co×k] · patches[k×n]
        matmul(
            [co, n, k],
            dst,
            [n, 1],
            bias.is_some(),
            weight,
            [k, 1],
            patches,
            [n, 1],
        );
        if !lone {
            scatter(&rows[..co * n], out_g, co, l);
        }
    }
}

/// Output pixels below which samples are convolved in groups, and the columns a group's
/// product aims for. Measured with `cargo bench --bench kernels -- slices/` on an idle
/// 2-vCPU Xeon, this value against one sample at a time (interleaved twice): 2×2 maps
/// (ResNet-18's layer4, groups of 32) 25–26 → 5.4–5.9 ms forward and 76–81 → 21 ms backward;
/// 14×14 (the reference CNN's second layer, groups of 2) 5.2–5.8 → 4.7 ms forward and
/// 10.5–10.7 → 9.8–10.1 ms backward; 8×8 (ResNet-20's third stage, groups of 4) within the
/// noise. 28×28 maps (784 pixels) keep one product per sample.
const GROUP_COLUMNS: usize = 256;

/// The most floats a group's patch matrix may hold (4 MB), so that it stays near the cache
/// while `gemm` consumes it.
const GROUP_PATCH_FLOATS: usize = 1 << 20;

/// Samples per product for a task of `samples` samples: 1 when a sample has at least
/// [`GROUP_COLUMNS`] output pixels, else enough for the product to reach that many columns,
/// bounded by [`GROUP_PATCH_FLOATS`] and by the task.
///
/// Why: with few pixels a sample's product is thin (`out_pixels` columns), so `gemm` re-packs
/// the whole weight matrix for little work, and the weight gradient becomes a rank-`l` update
/// of a `co × k` matrix per sample, bound by memory. Side by side, `G` samples make one product
/// with `G·l` columns (forward, input gradient) or inner dimension `G·l` (weight gradient).
fn group_size(shape: &Conv2dShape, samples: usize) -> usize {
    let l = shape.out_pixels();
    if l >= GROUP_COLUMNS {
        return 1;
    }
    let bound = (GROUP_PATCH_FLOATS / (shape.patch_len() * l)).max(1);
    GROUP_COLUMNS.div_ceil(l).min(bound).min(samples).max(1)
}

/// One task's buffers for groups of up to `group` samples.
struct Scratch {
    /// The group's patch matrix `[k × G·l]` (or its gradient), empty when a lone pointwise
    /// sample is its own patch matrix.
    cols: Vec<f32>,
    /// A group's output or output gradient gathered channel-major, `[co × G·l]`; empty when
    /// samples go one at a time.
    rows: Vec<f32>,
}

impl Scratch {
    fn new(shape: &Conv2dShape, group: usize) -> Self {
        let (k, l, co) = (shape.patch_len(), shape.out_pixels(), shape.channels_out);
        let direct = group == 1 && shape.is_pointwise();
        Self {
            cols: if direct {
                Vec::new()
            } else {
                vec![0.0; k * l * group]
            },
            rows: if group > 1 {
                vec![0.0; co * l * group]
            } else {
                Vec::new()
            },
        }
    }
}

/// The patch matrix `[k × count·l]` of the `count` samples `x_g`, sample `g` at columns
/// `g·l..`: built in `cols`, or `x_g` itself when `cols` is empty (a lone pointwise sample).
fn patches<'a>(
    shape: &Conv2dShape,
    cols: &'a mut [f32],
    x_g: &'a [f32],
    count: usize,
) -> &'a [f32] {
    if cols.is_empty() {
        return x_g;
    }
    let (k, l) = (shape.patch_len(), shape.out_pixels());
    let x_stride = shape.channels_in * shape.in_pixels();
    let n = count * l;
    for g in 0..count {
        im2col(
            shape,
            &x_g[g * x_stride..][..x_stride],
            &mut cols[g * l..],
            n,
        );
    }
    &cols[..k * n]
}

/// Sample-major `[G][co][l]` to channel-major `[co][G·l]` (`rows`, of the same length):
/// row `c` holds channel `c` of each sample in turn.
fn gather(samples: &[f32], rows: &mut [f32], co: usize, l: usize) {
    let n = rows.len() / co;
    for (g, sample) in samples.chunks_exact(co * l).enumerate() {
        for (row, src) in rows.chunks_exact_mut(n).zip(sample.chunks_exact(l)) {
            row[g * l..][..l].copy_from_slice(src);
        }
    }
}

/// The inverse of [`gather`]: channel-major `rows` back to sample-major `samples`.
fn scatter(rows: &[f32], samples: &mut [f32], co: usize, l: usize) {
    let n = rows.len() / co;
    for (g, sample) in samples.chunks_exact_mut(co * l).enumerate() {
        for (row, dst) in rows.chunks_exact(n).zip(sample.chunks_exact_mut(l)) {
            dst.copy_from_slice(&row[g * l..][..l]);
        }
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

/// [`backward`] for the samples `samples`, [`group_size`] at a time: their input gradients
/// into `grad_x` (which holds exactly those samples) and the partial sums of the weight and
/// bias gradients.
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
    let group = group_size(shape, samples.len());
    // `cols`: the group's patch matrix, then (input gradient) its adjoint's input.
    let Scratch { mut cols, mut rows } = Scratch::new(shape, group);
    for start in samples.clone().step_by(group) {
        let count = group.min(samples.end - start);
        let n = count * l;
        let dout_g = &grad_out[start * out_stride..][..count * out_stride];
        if wanted.bias {
            for dout_b in dout_g.chunks_exact(out_stride) {
                add_bias_gradient(&mut partial.bias, dout_b, l);
            }
        }
        // The output gradient as `[co × n]`: a lone sample's already is.
        let dy: &[f32] = if count == 1 {
            dout_g
        } else {
            gather(dout_g, &mut rows[..co * n], co, l);
            &rows[..co * n]
        };
        if wanted.weight {
            let x_g = &x[start * x_stride..][..count * x_stride];
            let patches = patches(shape, &mut cols, x_g, count);
            // grad_w[co×k] += dy[co×n] · patchesᵀ[n×k]; patchesᵀ reads `k×n` row-major.
            matmul(
                [co, k, n],
                &mut partial.weight,
                [k, 1],
                true,
                dy,
                [n, 1],
                patches,
                [1, n],
            );
        }
        if let Some(gx) = grad_x.as_deref_mut() {
            let dx_g = &mut gx[(start - samples.start) * x_stride..][..count * x_stride];
            input_gradient(shape, weight, dy, &mut cols, dx_g);
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

/// `dx_g := col2im(weightᵀ[k×co] · dy[co×n])`, the input gradients of a group of samples
/// (`n` = samples · `l`): the product lands in `cols` and each sample's column block is added
/// back onto the pixels it came from (straight into `dx_g` when `cols` is empty, a lone
/// pointwise sample, where col2im is the identity).
fn input_gradient(
    shape: &Conv2dShape,
    weight: &[f32],
    dy: &[f32],
    cols: &mut [f32],
    dx_g: &mut [f32],
) {
    let (k, l, co) = (shape.patch_len(), shape.out_pixels(), shape.channels_out);
    let n = dy.len() / co;
    let direct = cols.is_empty();
    // weightᵀ reads `co×k` row-major.
    matmul(
        [k, n, co],
        if direct {
            &mut *dx_g
        } else {
            &mut cols[..k * n]
        },
        [n, 1],
        false,
        weight,
        [1, k],
        dy,
        [n, 1],
    );
    if !direct {
        let x_stride = shape.channels_in * shape.in_pixels();
        for (g, dx_b) in dx_g.chunks_exact_mut(x_stride).enumerate() {
            col2im_add(shape, &cols[g * l..], n, dx_b);
        }
    }
}

#[cfg(test)]
mod tests;
