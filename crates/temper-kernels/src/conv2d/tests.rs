//! Tests of [`super`]: the kernels against the definition of convolution, in f64.

use super::*;

/// Deterministic values in [-0.5, 0.5).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

/// The input pixel tap `(ky, kx)` of output `(oy, ox)` reads, if inside the image.
fn source(s: &Conv2dShape, [oy, ox]: [usize; 2], [ky, kx]: [usize; 2]) -> Option<usize> {
    let iy = (oy * s.stride[0] + ky * s.dilation[0]) as isize - s.padding[0].0 as isize;
    let ix = (ox * s.stride[1] + kx * s.dilation[1]) as isize - s.padding[1].0 as isize;
    let inside = (0..s.input[0] as isize).contains(&iy) && (0..s.input[1] as isize).contains(&ix);
    inside.then(|| iy as usize * s.input[1] + ix as usize)
}

/// Every (b, co, ci, oy, ox, ky, kx) term of the convolution sum, straight from its
/// definition `out[b][co][oy][ox] = bias[co] + Σ x[b][ci][iy][ix] · w[co][ci][ky][kx]`.
fn for_each_term(s: &Conv2dShape, mut f: impl FnMut(usize, usize, usize, usize)) {
    let [kh, kw] = s.kernel;
    let (hw, ohw) = (s.in_pixels(), s.out_pixels());
    for b in 0..s.batch {
        for co in 0..s.channels_out {
            for ci in 0..s.channels_in {
                for oy in 0..s.output[0] {
                    for ox in 0..s.output[1] {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                if let Some(p) = source(s, [oy, ox], [ky, kx]) {
                                    let out =
                                        (b * s.channels_out + co) * ohw + oy * s.output[1] + ox;
                                    let inp = (b * s.channels_in + ci) * hw + p;
                                    let wi = ((co * s.channels_in + ci) * kh + ky) * kw + kx;
                                    f(out, inp, wi, co);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn assert_close(actual: &[f32], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what} length");
    let scale = expected.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (*a as f64 - e).abs() <= 1e-5 * scale,
            "{what}[{i}]: {a} vs {e} (scale {scale})"
        );
    }
}

fn shapes() -> Vec<Conv2dShape> {
    vec![
        // The reference CNN's blocks, smaller batch.
        Conv2dShape::new(3, 1, [28, 28], 4, [3, 3], [1, 1], [(1, 1); 2], [1, 1]).unwrap(),
        Conv2dShape::new(5, 6, [14, 14], 7, [3, 3], [1, 1], [(1, 1); 2], [1, 1]).unwrap(),
        // Strides, dilation, asymmetric padding, a non-square kernel.
        Conv2dShape::new(2, 3, [9, 8], 4, [3, 2], [2, 3], [(0, 2), (1, 0)], [2, 1]).unwrap(),
        // Pointwise (the input is the patch matrix).
        Conv2dShape::new(4, 5, [6, 7], 3, [1, 1], [1, 1], [(0, 0); 2], [1, 1]).unwrap(),
        // Batch not divisible by the thread count, one output pixel.
        Conv2dShape::new(7, 2, [3, 3], 2, [3, 3], [1, 1], [(0, 0); 2], [1, 1]).unwrap(),
    ]
}

/// Shapes whose output maps are small enough to be convolved in groups of samples (see
/// [`group_size`]): 1×1, 2×2, 4×4 and 8×8 outputs, with stride 2, padding, dilation and 1×1
/// kernels, on batches of 1, 3, 7 and 13 samples (none a multiple of a group).
fn small_map_shapes() -> Vec<Conv2dShape> {
    let new = |batch, ci, input, co, kernel, stride, padding, dilation| {
        Conv2dShape::new(batch, ci, input, co, kernel, stride, padding, dilation).unwrap()
    };
    vec![
        // 8×8 → 8×8, 3×3 pad 1: ResNet-20's third stage, narrower.
        new(13, 3, [8, 8], 4, [3, 3], [1, 1], [(1, 1); 2], [1, 1]),
        // 8×8 → 4×4, stride 2 pad 1: a stage's first convolution.
        new(7, 3, [8, 8], 5, [3, 3], [2, 2], [(1, 1); 2], [1, 1]),
        // 4×4 → 2×2, 1×1 stride 2: a downsampling projection.
        new(3, 4, [4, 4], 6, [1, 1], [2, 2], [(0, 0); 2], [1, 1]),
        // 2×2 → 2×2, pointwise (its patch matrix is the input, gathered across samples).
        new(7, 5, [2, 2], 3, [1, 1], [1, 1], [(0, 0); 2], [1, 1]),
        // 4×4 → 4×4 dilated by 2, asymmetric padding.
        new(13, 2, [4, 4], 3, [3, 3], [1, 1], [(2, 2), (1, 3)], [2, 2]),
        // 2×2 → 1×1, 3×3 stride 2 pad 1 (ResNet-18's layer4 entry at 32×32), one sample.
        new(1, 3, [2, 2], 4, [3, 3], [2, 2], [(1, 1); 2], [1, 1]),
        // 1×1 → 1×1, 3×3 pad 1: every tap but the centre falls in the padding.
        new(13, 4, [1, 1], 3, [3, 3], [1, 1], [(1, 1); 2], [1, 1]),
    ]
}

/// Runs `f` on rayon pools of 1, 2 and 3 threads, so that tasks hold different numbers of
/// samples and groups end part-full in different places.
fn on_each_pool(f: impl Fn() + Sync) {
    for threads in [1, 2, 3] {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(&f);
    }
}

#[test]
fn forward_equals_the_definition() {
    check_forward(shapes());
}

#[test]
fn forward_on_small_maps_equals_the_definition() {
    on_each_pool(|| check_forward(small_map_shapes()));
}

#[test]
fn gradients_equal_the_definition() {
    check_gradients(shapes());
}

#[test]
fn gradients_on_small_maps_equal_the_definition() {
    on_each_pool(|| check_gradients(small_map_shapes()));
}

/// The small-map shapes are convolved in groups (more than one sample per product) whose
/// patch matrix stays within its bound, and a 28×28 map one sample at a time.
#[test]
fn small_maps_are_grouped_and_large_ones_are_not() {
    for s in small_map_shapes() {
        let g = group_size(&s, s.batch);
        assert!(g > 1 || s.batch == 1, "{s:?}");
        assert!(g * s.out_pixels() >= GROUP_COLUMNS || g == s.batch, "{s:?}");
    }
    // ResNet-18's layer4 at 64×64 input: 2×2 maps, 512·9 patch rows, 32 samples a task.
    let deep = Conv2dShape::new(64, 512, [2, 2], 512, [3, 3], [1, 1], [(1, 1); 2], [1, 1]).unwrap();
    let g = group_size(&deep, 32);
    assert!(g > 1 && g * deep.patch_len() * deep.out_pixels() <= GROUP_PATCH_FLOATS);
    assert_eq!(group_size(&shapes()[0], 3), 1);
}

fn check_forward(shapes: Vec<Conv2dShape>) {
    for s in shapes {
        let x = values(s.input_len(), 1);
        let w = values(s.weight_len(), 2);
        let bias = values(s.channels_out, 3);
        let mut expected = vec![0.0f64; s.output_len()];
        for (o, e) in expected.iter_mut().enumerate() {
            *e = bias[(o / s.out_pixels()) % s.channels_out] as f64;
        }
        for_each_term(&s, |out, inp, wi, _| {
            expected[out] += x[inp] as f64 * w[wi] as f64
        });
        assert_close(
            &forward(&s, &x, &w, Some(&bias)),
            &expected,
            &format!("output of {s:?}"),
        );

        let no_bias = forward(&s, &x, &w, None);
        let mut expected = vec![0.0f64; s.output_len()];
        for_each_term(&s, |out, inp, wi, _| {
            expected[out] += x[inp] as f64 * w[wi] as f64
        });
        assert_close(
            &no_bias,
            &expected,
            &format!("output without bias of {s:?}"),
        );
    }
}

/// The gradients of `L = Σ out · g` for a random `g`: ∂L/∂x, ∂L/∂w and ∂L/∂bias, each the
/// sum of the definition's terms.
fn check_gradients(shapes: Vec<Conv2dShape>) {
    for s in shapes {
        let x = values(s.input_len(), 4);
        let w = values(s.weight_len(), 5);
        let g = values(s.output_len(), 6);
        let (mut gx, mut gw, mut gb) = (
            vec![0.0f64; x.len()],
            vec![0.0f64; w.len()],
            vec![0.0f64; s.channels_out],
        );
        for_each_term(&s, |out, inp, wi, _| {
            gx[inp] += g[out] as f64 * w[wi] as f64;
            gw[wi] += g[out] as f64 * x[inp] as f64;
        });
        for (o, v) in g.iter().enumerate() {
            gb[(o / s.out_pixels()) % s.channels_out] += *v as f64;
        }
        let all = Wanted {
            input: true,
            weight: true,
            bias: true,
        };
        let grads = backward(&s, &x, &w, &g, all);
        assert_close(
            grads.input.as_ref().unwrap(),
            &gx,
            &format!("grad input of {s:?}"),
        );
        assert_close(
            grads.weight.as_ref().unwrap(),
            &gw,
            &format!("grad weight of {s:?}"),
        );
        assert_close(
            grads.bias.as_ref().unwrap(),
            &gb,
            &format!("grad bias of {s:?}"),
        );

        // Asking for less computes less and gives the same values.
        let only_weight = backward(
            &s,
            &x,
            &[],
            &g,
            Wanted {
                input: false,
                weight: true,
                bias: false,
            },
        );
        assert!(only_weight.input.is_none() && only_weight.bias.is_none());
        assert_eq!(only_weight.weight, grads.weight);
        let only_input = backward(
            &s,
            &[],
            &w,
            &g,
            Wanted {
                input: true,
                weight: false,
                bias: false,
            },
        );
        assert_eq!(only_input.input, grads.input);
    }
}

#[test]
fn shapes_that_cannot_convolve_are_refused() {
    let ok = |k, s, p, d| Conv2dShape::new(1, 1, [4, 4], 1, k, s, p, d);
    assert!(ok([5, 5], [1, 1], [(0, 0); 2], [1, 1]).is_none());
    assert_eq!(
        ok([5, 5], [1, 1], [(1, 0); 2], [1, 1]).unwrap().output,
        [1, 1]
    );
    assert!(ok([3, 3], [0, 1], [(0, 0); 2], [1, 1]).is_none());
    assert!(ok([3, 3], [1, 1], [(0, 0); 2], [2, 0]).is_none());
    assert!(ok([3, 3], [1, 1], [(0, 0); 2], [2, 1]).is_none());
    assert!(Conv2dShape::new(1, 0, [4, 4], 1, [1, 1], [1, 1], [(0, 0); 2], [1, 1]).is_none());
}

#[test]
fn an_empty_batch_has_empty_outputs_and_zero_parameter_gradients() {
    let s = Conv2dShape::new(0, 2, [5, 5], 3, [3, 3], [1, 1], [(1, 1); 2], [1, 1]).unwrap();
    assert!(forward(&s, &[], &values(s.weight_len(), 1), None).is_empty());
    let all = Wanted {
        input: true,
        weight: true,
        bias: true,
    };
    let g = backward(&s, &[], &values(s.weight_len(), 1), &[], all);
    assert_eq!(g.input.unwrap().len(), 0);
    assert_eq!(g.weight.unwrap(), vec![0.0; 54]);
    assert_eq!(g.bias.unwrap(), vec![0.0; 3]);
}
