//! Max pooling fused with ReLU on contiguous `f32` buffers: `relu(max(window))`, forward and
//! backward.
//!
//! `relu(max(window)) = max(relu(window))` exactly (both are monotone), so this is the usual
//! `max_pool2d(relu(x))` of a conv block, computed with one pass over the input instead of
//! two, and ReLU applied to a quarter of the values (2×2 windows).
//!
//! The forward pass records, per output, the plane offset `iy·w + ix` of the window's first
//! maximum, or [`NO_GRADIENT`] where ReLU cut it to 0; the backward pass adds each output
//! gradient to the recorded position.

use rayon::prelude::*;

/// Index recorded for outputs whose ReLU was inactive (`max ≤ 0`): they pass no gradient.
pub const NO_GRADIENT: u32 = u32::MAX;

/// The sizes of one pooling (no padding, no dilation, floor mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolShape {
    /// Number of images.
    pub batch: usize,
    /// Channels per image.
    pub channels: usize,
    /// Input `[height, width]`.
    pub input: [usize; 2],
    /// Window `[height, width]`, each at least 1 and at most the input's.
    pub kernel: [usize; 2],
    /// `[stride_h, stride_w]`, each at least 1.
    pub stride: [usize; 2],
    /// Output `[height, width]`: `(input − kernel) / stride + 1`.
    pub output: [usize; 2],
}

impl PoolShape {
    /// The shape of a pooling, or `None` when a kernel size or stride is zero, the kernel is
    /// larger than the input, or a plane has more pixels than a `u32` index can name.
    pub fn new(
        batch: usize,
        channels: usize,
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> Option<Self> {
        let mut output = [0; 2];
        for d in 0..2 {
            if kernel[d] == 0 || stride[d] == 0 || kernel[d] > input[d] {
                return None;
            }
            output[d] = (input[d] - kernel[d]) / stride[d] + 1;
        }
        if input[0] * input[1] >= NO_GRADIENT as usize {
            return None;
        }
        Some(Self {
            batch,
            channels,
            input,
            kernel,
            stride,
            output,
        })
    }

    fn planes(&self) -> usize {
        self.batch * self.channels
    }

    fn in_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn out_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }
}

/// Planes per rayon task: enough work per task to amortize scheduling.
fn planes_per_task(shape: &PoolShape) -> usize {
    (16_384 / shape.in_plane().max(1)).max(1)
}

/// `relu(max_pool(x))` `[batch, channels, out_h, out_w]` and the argmax offsets.
///
/// # Panics
/// When `x.len()` does not match `shape`.
pub fn forward_relu(shape: &PoolShape, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    assert_eq!(
        x.len(),
        shape.planes() * shape.in_plane(),
        "pool input length"
    );
    let (inp, outp) = (shape.in_plane(), shape.out_plane());
    let per_task = planes_per_task(shape);
    let mut out = vec![0.0f32; shape.planes() * outp];
    let mut argmax = vec![NO_GRADIENT; out.len()];
    out.par_chunks_mut(per_task * outp)
        .zip(argmax.par_chunks_mut(per_task * outp))
        .zip(x.par_chunks(per_task * inp))
        .for_each(|((out, argmax), x)| {
            for ((o, a), plane) in out
                .chunks_exact_mut(outp)
                .zip(argmax.chunks_exact_mut(outp))
                .zip(x.chunks_exact(inp))
            {
                pool_plane(shape, plane, o, a);
            }
        });
    (out, argmax)
}

fn pool_plane(shape: &PoolShape, x: &[f32], out: &mut [f32], argmax: &mut [u32]) {
    let [_, w] = shape.input;
    let [oh, ow] = shape.output;
    let [kh, kw] = shape.kernel;
    let [sy, sx] = shape.stride;
    if shape.kernel == [2, 2] && shape.stride == [2, 2] {
        // The conv-block case: two input rows per output row, no inner loops.
        for oy in 0..oh {
            let top = 2 * oy * w;
            let (r0, r1) = (&x[top..][..2 * ow], &x[top + w..][..2 * ow]);
            for ox in 0..ow {
                let c = 2 * ox;
                let (mut best, mut at) = (r0[c], top + c);
                for (v, i) in [
                    (r0[c + 1], top + c + 1),
                    (r1[c], top + w + c),
                    (r1[c + 1], top + w + c + 1),
                ] {
                    if v > best {
                        (best, at) = (v, i);
                    }
                }
                let o = oy * ow + ox;
                (out[o], argmax[o]) = if best > 0.0 {
                    (best, at as u32)
                } else {
                    (0.0, NO_GRADIENT)
                };
            }
        }
        return;
    }
    for oy in 0..oh {
        for ox in 0..ow {
            let first = oy * sy * w + ox * sx;
            let (mut best, mut at) = (x[first], first);
            for ky in 0..kh {
                for kx in 0..kw {
                    let i = first + ky * w + kx;
                    if x[i] > best {
                        (best, at) = (x[i], i);
                    }
                }
            }
            let o = oy * ow + ox;
            (out[o], argmax[o]) = if best > 0.0 {
                (best, at as u32)
            } else {
                (0.0, NO_GRADIENT)
            };
        }
    }
}

/// Gradient of the input `[batch, channels, h, w]` given the output gradient and the argmax
/// offsets of [`forward_relu`].
///
/// # Panics
/// When a slice's length does not match `shape`.
pub fn backward(shape: &PoolShape, argmax: &[u32], grad_out: &[f32]) -> Vec<f32> {
    let (inp, outp) = (shape.in_plane(), shape.out_plane());
    assert_eq!(
        grad_out.len(),
        shape.planes() * outp,
        "pool output-gradient length"
    );
    assert_eq!(argmax.len(), grad_out.len(), "pool argmax length");
    let per_task = planes_per_task(shape);
    let mut grad_x = vec![0.0f32; shape.planes() * inp];
    grad_x
        .par_chunks_mut(per_task * inp)
        .zip(argmax.par_chunks(per_task * outp))
        .zip(grad_out.par_chunks(per_task * outp))
        .for_each(|((gx, argmax), g)| {
            for ((plane, a), g) in gx
                .chunks_exact_mut(inp)
                .zip(argmax.chunks_exact(outp))
                .zip(g.chunks_exact(outp))
            {
                for (&i, &g) in a.iter().zip(g) {
                    if i != NO_GRADIENT {
                        plane[i as usize] += g;
                    }
                }
            }
        });
    grad_x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4×4 plane pooled 2×2: each output is the window's max, or 0 where all four are ≤ 0,
    /// and its gradient lands on the max's position only (worked by hand).
    #[test]
    fn two_by_two_windows_by_hand() {
        #[rustfmt::skip]
        let x = [
            1.0, 5.0,   -1.0, -2.0,
            3.0, 2.0,   -3.0, -0.5,
            0.0, 0.0,    7.0,  7.0,   // a tie: the first maximum wins
            0.0, -1.0,   1.0,  2.0,
        ];
        let s = PoolShape::new(1, 1, [4, 4], [2, 2], [2, 2]).unwrap();
        let (out, argmax) = forward_relu(&s, &x);
        assert_eq!(out, [5.0, 0.0, 0.0, 7.0]);
        assert_eq!(argmax, [1, NO_GRADIENT, NO_GRADIENT, 10]);
        let gx = backward(&s, &argmax, &[10.0, 20.0, 30.0, 40.0]);
        let mut expected = [0.0; 16];
        expected[1] = 10.0;
        expected[10] = 40.0;
        assert_eq!(gx, expected);
    }

    /// The generic path (3×3 windows, stride 2, overlapping) equals a direct evaluation of
    /// `relu(max)` and accumulates gradients of overlapping windows.
    #[test]
    fn overlapping_windows_match_the_definition() {
        let (h, w) = (7, 8);
        let x: Vec<f32> = (0..2 * 3 * h * w)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let s = PoolShape::new(2, 3, [h, w], [3, 3], [2, 2]).unwrap();
        assert_eq!(s.output, [3, 3]);
        let (out, argmax) = forward_relu(&s, &x);
        let g: Vec<f32> = (0..out.len()).map(|i| i as f32 + 1.0).collect();
        let gx = backward(&s, &argmax, &g);
        let mut expected_gx = vec![0.0f32; x.len()];
        for p in 0..6 {
            for oy in 0..3 {
                for ox in 0..3 {
                    let window: Vec<usize> = (0..9)
                        .map(|t| p * h * w + (oy * 2 + t / 3) * w + ox * 2 + t % 3)
                        .collect();
                    let max = window.iter().map(|&i| x[i]).fold(f32::MIN, f32::max);
                    let o = p * 9 + oy * 3 + ox;
                    assert_eq!(out[o], max.max(0.0));
                    if max > 0.0 {
                        let first = *window.iter().find(|&&i| x[i] == max).unwrap();
                        expected_gx[first] += g[o];
                    }
                }
            }
        }
        assert_eq!(gx, expected_gx);
    }

    #[test]
    fn impossible_poolings_are_refused() {
        assert!(PoolShape::new(1, 1, [3, 3], [4, 2], [1, 1]).is_none());
        assert!(PoolShape::new(1, 1, [3, 3], [2, 2], [0, 1]).is_none());
        assert_eq!(
            PoolShape::new(1, 1, [5, 5], [2, 2], [2, 2]).unwrap().output,
            [2, 2]
        );
    }
}
