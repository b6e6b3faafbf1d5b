//! Symmetric int8 weights, one scale per tensor or per output channel:
//!
//! ```text
//! scale = max |w| / 127           (over the tensor, or over each slice of the leading axis)
//! q     = clamp(round_half_even(w / scale), -127, 127)
//! w'    = q * scale               (|w' - w| <= scale / 2)
//! ```
//!
//! The range is TFLite's restricted symmetric one (`[-127, 127]`, zero point 0; the TFLite
//! 8-bit quantization spec, and Krishnamoorthi 2018, arXiv:1806.08342, §2.2): `-128` is left
//! out so that `q` and `-q` are both representable and an int8 x int8 product's sum never
//! needs the extra bit. Other libraries differ only in that range and the rounding:
//!
//! - PyTorch's `per_channel_symmetric` observers (`torch/ao/quantization/observer.py`,
//!   `_calculate_qparams`) take `scale = max / ((qmax - qmin) / 2) = max / 127.5` over the
//!   full `[-128, 127]`, and `torch.quantize_per_channel` rounds half to even (`nearbyint`).
//! - Burn 0.22 (`burn-backend`'s `quantization/scheme.rs`, `compute_q_params`) takes
//!   `scale = 2 max(|min|, |max|) / (b - a)` with `(a, b)` from `QuantValue::range()`
//!   (cubecl-common's `quant/scheme.rs`): `Q8S` is `[-127, 127]`, which gives this module's
//!   `max / 127`; `Q8F`, the default `QuantScheme`, is `[-128, 127]`, PyTorch's `max / 127.5`.
//!   Burn has per-tensor and per-block scales (`BlockSize` over the trailing axes), not a
//!   per-output-channel axis, and its CPU backends round half away from zero (`f32::round`:
//!   burn-flex's `ops/qtensor.rs` on `x * (1 / scale)`, burn-ndarray's `ops/quantization.rs`
//!   on `x / scale`). So a Burn `Q8S` per-tensor quantization agrees with
//!   [`QuantScheme::PerTensor`] here except where `w / scale` is exactly `k + 0.5` (and, for
//!   burn-flex, where the reciprocal's rounding moves a value across a half).
//!
//! Half to even is PyTorch's and TFLite's rounding and keeps the rounding error unbiased over
//! many weights. An all-zero tensor or channel gets scale 1 (any positive scale dequantizes
//! its zeros exactly, and 1 keeps the stored scales positive and finite, which the reader
//! requires); so does a channel whose `max / 127` underflows to 0.

use crate::error::CompressError;
pub use crate::settings::QuantScheme;

/// The largest quantized magnitude of the restricted symmetric range.
const QMAX: f32 = 127.0;

/// An int8 tensor with its scales.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedTensor {
    /// The quantized values, row-major, in `[-127, 127]`.
    pub values: Vec<i8>,
    /// One scale (per tensor) or `shape[0]` scales (per channel), each positive and finite.
    pub scales: Vec<f32>,
    /// The tensor's shape; its product is `values.len()`.
    pub shape: Vec<usize>,
    /// How many scales there are.
    pub scheme: QuantScheme,
}

/// Quantizes `values` (row-major, of `shape`) to symmetric int8 with one scale for the tensor
/// or one per output channel (the leading axis). Errors when the shape does not match the
/// length, a per-channel tensor has no axis, or a value is not finite.
pub fn quantize(
    values: &[f32],
    shape: &[usize],
    scheme: QuantScheme,
) -> Result<QuantizedTensor, CompressError> {
    let len = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if len != Some(values.len()) {
        return Err(CompressError::BadInput(format!(
            "shape {shape:?} does not hold {} values",
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|w| !w.is_finite()) {
        return Err(CompressError::BadInput(format!(
            "value {i} is {}: only finite weights quantize",
            values[i]
        )));
    }
    let groups = match scheme {
        QuantScheme::PerTensor => 1,
        QuantScheme::PerChannel => *shape.first().ok_or_else(|| {
            CompressError::BadInput("a per-channel tensor needs an output-channel axis".into())
        })?,
    };
    let per = values.len().checked_div(groups).unwrap_or(0);
    let mut scales = Vec::with_capacity(groups);
    let mut q = Vec::with_capacity(values.len());
    for g in 0..groups {
        let chunk = &values[g * per..(g + 1) * per];
        let max = chunk.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = match max / QMAX {
            s if s > 0.0 => s,
            _ => 1.0,
        };
        scales.push(scale);
        q.extend(
            chunk
                .iter()
                .map(|&w| (w / scale).round_ties_even().clamp(-QMAX, QMAX) as i8),
        );
    }
    Ok(QuantizedTensor {
        values: q,
        scales,
        shape: shape.to_vec(),
        scheme,
    })
}

impl QuantizedTensor {
    /// The float values `q * scale`, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        if self.scales.is_empty() {
            return Vec::new();
        }
        let per = self.values.len() / self.scales.len();
        self.values
            .chunks(per.max(1))
            .zip(&self.scales)
            .flat_map(|(chunk, &s)| chunk.iter().map(move |&q| f32::from(q) * s))
            .collect()
    }

    /// Bytes of the values and scales: one per value, four per scale.
    pub fn stored_bytes(&self) -> usize {
        self.values.len() + 4 * self.scales.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_tensor_quantizes_to_the_closed_form() {
        // max |w| = 127, so scale = 127 / 127 = 1 and q = round_half_even(w):
        // 2.5 -> 2, -2.5 -> -2, 3.5 -> 4, -0.5 -> 0 (half to even), 1.4 -> 1, 126.6 -> 127.
        let w = [127.0, 2.5, -2.5, 3.5, -0.5, 1.4, 126.6, -127.0];
        let q = quantize(&w, &[8], QuantScheme::PerTensor).unwrap();
        assert_eq!(q.scales, [1.0]);
        assert_eq!(q.values, [127, 2, -2, 4, 0, 1, 127, -127]);
        assert_eq!(
            q.dequantize(),
            [127.0, 2.0, -2.0, 4.0, 0.0, 1.0, 127.0, -127.0]
        );
        assert_eq!(q.stored_bytes(), 8 + 4);
    }

    #[test]
    fn per_channel_scales_follow_each_output_channel() {
        // [2, 3]: row 0 max 127 -> scale 1; row 1 max 63.5 -> scale 0.5, where
        // w / scale = [127, 2.5, -1.5] -> [127, 2, -2] and w' = [63.5, 1, -1].
        let w = [127.0, -1.0, 0.5, 63.5, 1.25, -0.75];
        let q = quantize(&w, &[2, 3], QuantScheme::PerChannel).unwrap();
        assert_eq!(q.scales, [1.0, 0.5]);
        assert_eq!(q.values, [127, -1, 0, 127, 2, -2]);
        assert_eq!(q.dequantize(), [127.0, -1.0, 0.0, 63.5, 1.0, -1.0]);
        // One scale of 1 for the whole tensor: 63.5 -> 64 (half to even), 1.25 -> 1,
        // -0.75 -> -1.
        let t = quantize(&w, &[2, 3], QuantScheme::PerTensor).unwrap();
        assert_eq!(t.values, [127, -1, 0, 64, 1, -1]);
    }

    #[test]
    fn the_error_is_at_most_half_a_scale() {
        let mut x = 7u64;
        let w: Vec<f32> = (0..4096)
            .map(|i| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                let r = ((x >> 33) as f32 / (1u64 << 31) as f32) - 0.5;
                r * (1.0 + (i / 512) as f32 * 10.0)
            })
            .collect();
        for scheme in [QuantScheme::PerTensor, QuantScheme::PerChannel] {
            let q = quantize(&w, &[8, 512], scheme).unwrap();
            let back = q.dequantize();
            for (i, (a, b)) in w.iter().zip(&back).enumerate() {
                let scale = q.scales[if q.scales.len() == 1 { 0 } else { i / 512 }];
                assert!(
                    (a - b).abs() <= scale / 2.0 * (1.0 + 1e-5),
                    "{scheme:?} {i}"
                );
            }
        }
    }

    #[test]
    fn an_all_zero_channel_gets_scale_one_and_zeros() {
        let q = quantize(&[0.0, 0.0, 3.0, -1.0], &[2, 2], QuantScheme::PerChannel).unwrap();
        assert_eq!(q.scales[0], 1.0);
        assert_eq!(&q.values[..2], [0, 0]);
        assert_eq!(q.dequantize()[..2], [0.0, 0.0]);
    }

    #[test]
    fn bad_shapes_and_non_finite_values_are_errors() {
        assert!(quantize(&[1.0; 5], &[2, 3], QuantScheme::PerTensor).is_err());
        assert!(quantize(&[1.0], &[], QuantScheme::PerChannel).is_err());
        assert!(quantize(&[1.0, f32::NAN], &[2], QuantScheme::PerTensor).is_err());
        assert!(quantize(&[f32::INFINITY], &[1], QuantScheme::PerChannel).is_err());
        let scalar = quantize(&[2.0], &[], QuantScheme::PerTensor).unwrap();
        assert_eq!(scalar.values, [127]);
    }
}
