//! Occlusion on the CPU: erasing boxes (random erasing and Cutout draw them in
//! [`ops::occlusion`](crate::image::ops::occlusion)).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::image::cpu::raster::AugImage;
use crate::image::ops::params::{EraseBox, EraseFill};

/// Overwrites each box (clipped to the image) with its fill.
pub fn erase(img: &AugImage, boxes: &[EraseBox]) -> AugImage {
    img.map_raw(|src, d| {
        let mut out = src.to_vec();
        for b in boxes {
            let (y1, x1) = (
                (b.top as usize + b.height as usize).min(d.h),
                (b.left as usize + b.width as usize).min(d.w),
            );
            let mut rng = match b.fill {
                EraseFill::Random(seed) => Some(ChaCha8Rng::seed_from_u64(seed)),
                EraseFill::Constant(_) => None,
            };
            for i in b.top as usize..y1 {
                for j in b.left as usize..x1 {
                    let o = (i * d.w + j) * d.c;
                    for k in 0..d.c {
                        out[o + k] = match (&mut rng, b.fill) {
                            (Some(r), _) => r.random(),
                            (None, EraseFill::Constant(v)) => v[k],
                            (None, EraseFill::Random(_)) => unreachable!(),
                        };
                    }
                }
            }
        }
        (d, out)
    })
}
