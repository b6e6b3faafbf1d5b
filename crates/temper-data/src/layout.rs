//! Pixel layouts: interleaved `[H, W, C]` (what decoders give and the augmentation works in)
//! and planar `[C, H, W]` (what tensors and [`ImageData`](crate::ImageData) hold), and the two
//! conversions, which a streamed batch runs once per image in each direction.

/// An image at its own size, as decoders give it: interleaved `[H, W, C]` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceImage {
    /// 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Row-major pixels, channels interleaved: `height * width * channels` bytes.
    pub pixels: Vec<u8>,
}

/// Interleaved `[H*W, C]` bytes to planar `[C, H*W]`; one channel is a copy.
pub fn to_planar(interleaved: &[u8], channels: usize) -> Vec<u8> {
    let mut out = vec![0; interleaved.len()];
    match channels {
        3 => {
            let n = interleaved.len() / 3;
            let (r, gb) = out.split_at_mut(n);
            let (g, b) = gb.split_at_mut(n);
            for (((px, r), g), b) in interleaved.chunks_exact(3).zip(r).zip(g).zip(b) {
                (*r, *g, *b) = (px[0], px[1], px[2]);
            }
        }
        1 => out.copy_from_slice(interleaved),
        c => {
            let plane = interleaved.len() / c;
            for (i, px) in interleaved.chunks_exact(c).enumerate() {
                for (k, &v) in px.iter().enumerate() {
                    out[k * plane + i] = v;
                }
            }
        }
    }
    out
}

/// Planar `[C, H*W]` bytes to interleaved `[H*W, C]`; one channel is a copy.
pub fn to_interleaved(planar: &[u8], channels: usize) -> Vec<u8> {
    let mut out = vec![0; planar.len()];
    match channels {
        3 => {
            let n = planar.len() / 3;
            let (r, gb) = planar.split_at(n);
            let (g, b) = gb.split_at(n);
            for (((px, r), g), b) in out.chunks_exact_mut(3).zip(r).zip(g).zip(b) {
                px.copy_from_slice(&[*r, *g, *b]);
            }
        }
        1 => out.copy_from_slice(planar),
        c => {
            let plane = planar.len() / c;
            for (i, px) in out.chunks_exact_mut(c).enumerate() {
                for (k, v) in px.iter_mut().enumerate() {
                    *v = planar[k * plane + i];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_and_interleaved_pixels_convert_both_ways_for_every_channel_count() {
        // Two pixels: planar [R R G G B B] <-> interleaved [R G B R G B].
        assert_eq!(
            to_planar(&[1, 10, 100, 2, 20, 200], 3),
            [1, 2, 10, 20, 100, 200]
        );
        assert_eq!(
            to_interleaved(&[1, 2, 10, 20, 100, 200], 3),
            [1, 10, 100, 2, 20, 200]
        );
        assert_eq!(to_planar(&[7, 8], 1), [7, 8]);
        assert_eq!(to_interleaved(&[7, 8], 1), [7, 8]);
        // Two channels take the general path: [a b a b] <-> [a a b b].
        assert_eq!(to_planar(&[1, 5, 2, 6], 2), [1, 2, 5, 6]);
        let planar: Vec<u8> = (0..=255).cycle().take(3 * 37 * 5).collect();
        assert_eq!(to_planar(&to_interleaved(&planar, 3), 3), planar);
    }
}
