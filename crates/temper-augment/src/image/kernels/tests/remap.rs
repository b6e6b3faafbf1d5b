//! The bilinear warp's fill (`kernels/remap.rs`, `kernels/x86/remap_avx2.rs`,
//! `kernels/x86/remap_avx512.rs`) against values computed by hand from torchvision's rule
//! (`_apply_grid_transform` in `torchvision/transforms/v2/functional/_geometry.py`): with a
//! fill, `mask * (img - fill) + fill`, the image and a channel of ones both sampled with zeros
//! padding; without one, the zeros-padded sample. At every CPU level: the rows are wide
//! enough (24 pixels) for the AVX2 and AVX-512 groups.
//!
//! torchvision 0.29.2 (torch 2.15.0, CPU) gives the same bytes for every case below:
//!
//! ```python
//! import torch
//! import torchvision.transforms.v2.functional as F
//! from torchvision.transforms import InterpolationMode as I
//! ramp = torch.tensor([[[40 + 8 * j for j in range(24)]]], dtype=torch.uint8)
//! for tx, fill in [(0.25, 9), (0.25, None), (-0.25, 9), (-0.25, 255), (-0.25, 0), (-0.25, None)]:
//!     out = F.affine(ramp, angle=0.0, translate=[tx, 0], scale=1.0, shear=[0.0, 0.0],
//!                    interpolation=I.BILINEAR, fill=fill)
//!     print(tx, fill, out[0, 0, 0].item(), out[0, 0, -1].item(), out[0, 0, 1:4].tolist())
//! # 0.25 9 25 222 [46, 54, 62]      0.25 None 30 222 [46, 54, 62]
//! # -0.25 9 42 128 [50, 58, 66]     -0.25 255 42 190 [50, 58, 66]
//! # -0.25 0 42 126 [50, 58, 66]     -0.25 None 42 168 [50, 58, 66]
//! img = torch.full((3, 2, 24), 60, dtype=torch.uint8)
//! img[:, 0, 0] = torch.tensor([200, 104, 0])
//! out = F.affine(img, angle=0.0, translate=[0.25, 0.25], scale=1.0, shear=[0.0, 0.0],
//!                interpolation=I.BILINEAR, fill=[10, 20, 30])
//! print(out[:, 0, 0].tolist(), out[:, 1, 1].tolist())  # [68, 42, 13] [69, 63, 56]
//! ```

use super::assert_every_level;
use crate::image::cpu::geometric::{AffineParams, affine};
use crate::image::cpu::raster::AugImage;

/// The row `40 + 8 j`, `j = 0..24`, shifted right by `tx` pixels with `fill` (torchvision
/// `F.affine(img, angle=0, translate=[tx, 0], scale=1, shear=0, BILINEAR, fill)`).
fn shifted_ramp(tx: f32, fill: Option<u8>) -> AugImage {
    let img = AugImage::from_raw(24, 1, 1, (0..24).map(|j| 40 + 8 * j).collect()).unwrap();
    let p = AffineParams {
        translate: [tx, 0.0],
        fill: fill.map(|f| [f; 3]),
        ..AffineParams::identity()
    };
    let out = affine(&img, &p);
    assert_every_level(&out, || affine(&img, &p));
    out
}

#[test]
fn bilinear_fill_weights_the_zero_padded_sample_by_the_mask_as_torchvision() {
    // tx = 0.25: output j reads u = j - 0.25, i.e. 0.25 p[j-1] + 0.75 p[j] = 38 + 8 j inside.
    // Column 0: its left neighbour (weight 0.25) is outside, so S = 0.75 * 40 = 30 and the
    // mask m = 0.75. Fill 9: (S - 9) m + 9 = 21 * 0.75 + 9 = 24.75 -> 25 (blending the fill
    // into the outside weight instead, S + 0.25 * 9 = 32.25, would give 32). No fill: S = 30.
    let inside: Vec<u8> = (1..24).map(|j| 38 + 8 * j).collect();
    for (fill, first) in [(Some(9), 25), (None, 30)] {
        let out = shifted_ramp(0.25, fill);
        assert_eq!(out.as_raw()[0], first, "fill {fill:?}");
        assert_eq!(&out.as_raw()[1..], &inside[..], "fill {fill:?}");
    }
    // tx = -0.25: u = j + 0.25, 0.75 p[j] + 0.25 p[j+1] = 42 + 8 j inside; the last column's
    // right neighbour is outside: S = 0.75 * 224 = 168, m = 0.75. Fill 9: 159 * 0.75 + 9 =
    // 128.25 -> 128; fill 255: (168 - 255) 0.75 + 255 = 189.75 -> 190; fill 0 is a fill
    // too: S m = 126; no fill: 168.
    let inside: Vec<u8> = (0..23).map(|j| 42 + 8 * j).collect();
    for (fill, last) in [
        (Some(9), 128),
        (Some(255), 190),
        (Some(0), 126),
        (None, 168),
    ] {
        let out = shifted_ramp(-0.25, fill);
        assert_eq!(out.as_raw()[23], last, "fill {fill:?}");
        assert_eq!(&out.as_raw()[..23], &inside[..], "fill {fill:?}");
    }
    // Shifted by 30 pixels every column is outside: the fill, or 0 without one.
    assert_eq!(shifted_ramp(30.0, Some(77)).as_raw(), &[77; 24]);
    assert_eq!(shifted_ramp(30.0, None).as_raw(), &[0; 24]);
}

#[test]
fn bilinear_fill_applies_per_channel_at_a_corner() {
    // 24x2 RGB, pixel (0, 0) = (200, 104, 0), the rest (60, 60, 60); shifted by a quarter
    // pixel right and down. Output (0, 0) reads u = v = -0.25: of its four neighbours only
    // (0, 0) is inside, with weight 0.75 * 0.75 = 0.5625 = m, so S = 0.5625 p. Fill
    // (10, 20, 30): R (112.5 - 10) 0.5625 + 10 = 67.66 -> 68, G (58.5 - 20) 0.5625 + 20 =
    // 41.66 -> 42, B (0 - 30) 0.5625 + 30 = 13.125 -> 13. Output (1, 1) has all four
    // neighbours inside: 0.0625 (200, 104, 0) + 0.9375 * 60 = (68.75, 62.75, 56.25) ->
    // (69, 63, 56), the fill playing no part.
    let mut raw = vec![60u8; 24 * 2 * 3];
    raw[..3].copy_from_slice(&[200, 104, 0]);
    let img = AugImage::from_raw(24, 2, 3, raw).unwrap();
    let p = AffineParams {
        translate: [0.25, 0.25],
        fill: Some([10, 20, 30]),
        ..AffineParams::identity()
    };
    let out = affine(&img, &p);
    assert_every_level(&out, || affine(&img, &p));
    assert_eq!(&out.as_raw()[..3], &[68, 42, 13]);
    let at = |x: usize, y: usize| &out.as_raw()[(y * 24 + x) * 3..][..3];
    assert_eq!(at(1, 1), &[69, 63, 56]);
}
