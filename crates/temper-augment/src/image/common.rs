//! Small config types shared by the ops (ranges, sizes, fill values) and the two sampling
//! primitives every op uses, so that the random draws are the same on every path.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

/// A parameter range written as one number or `[lo, hi]`. What a single number means is the
/// op's choice, documented on its field: a symmetric range `[-d, d]` (degrees), a range
/// around one `[max(0, 1 - d), 1 + d]` (torchvision `ColorJitter` factors) or a fixed value.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Span {
    /// One number.
    One(f32),
    /// `[lo, hi]`.
    Two([f32; 2]),
}

impl Span {
    /// `d -> [-d, d]` (torchvision `RandomRotation(degrees=d)`).
    pub fn symmetric(self) -> [f32; 2] {
        match self {
            Span::One(d) => [-d.abs(), d.abs()],
            Span::Two(r) => r,
        }
    }

    /// `d -> [max(0, 1 - d), 1 + d]` (torchvision `ColorJitter(brightness=d)`).
    pub fn around_one(self) -> [f32; 2] {
        match self {
            Span::One(d) => [(1.0 - d).max(0.0), 1.0 + d],
            Span::Two(r) => r,
        }
    }

    /// `d -> [d, d]`.
    pub fn fixed(self) -> [f32; 2] {
        match self {
            Span::One(d) => [d, d],
            Span::Two(r) => r,
        }
    }
}

/// An output size: one number for a square, or `[height, width]` (torchvision's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Size {
    /// `s -> s x s`.
    Square(u32),
    /// `[height, width]`.
    Hw([u32; 2]),
}

impl Size {
    /// `(height, width)`.
    pub fn hw(self) -> (u32, u32) {
        match self {
            Size::Square(s) => (s, s),
            Size::Hw([h, w]) => (h, w),
        }
    }
}

/// A fill value: one number for every channel, or `[r, g, b]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Fill {
    /// Same value in every channel.
    All(u8),
    /// Per channel (a gray image uses the first).
    Rgb([u8; 3]),
}

impl Default for Fill {
    fn default() -> Self {
        Fill::All(0)
    }
}

impl Fill {
    /// The value per channel as `f32`.
    pub fn values(self) -> [f32; 3] {
        match self {
            Fill::All(v) => [v as f32; 3],
            Fill::Rgb([r, g, b]) => [r as f32, g as f32, b as f32],
        }
    }
}

/// Padding per side written as one number (all sides), `[left_right, top_bottom]` or
/// `[left, top, right, bottom]` (torchvision `RandomCrop(padding=...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Sides {
    /// All four sides.
    All(u32),
    /// `[left_right, top_bottom]`.
    Two([u32; 2]),
    /// `[left, top, right, bottom]`.
    Four([u32; 4]),
}

impl Default for Sides {
    fn default() -> Self {
        Sides::All(0)
    }
}

impl Sides {
    /// `[left, top, right, bottom]`.
    pub fn ltrb(self) -> [u32; 4] {
        match self {
            Sides::All(p) => [p; 4],
            Sides::Two([lr, tb]) => [lr, tb, lr, tb],
            Sides::Four(s) => s,
        }
    }
}

/// A uniform draw in `[lo, hi]` (torch `uniform_`): `lo + (hi - lo) * u`, `u` in `[0, 1)`.
/// One `f64` draw, so the same stream gives the same value on every path.
#[inline]
pub fn uniform(rng: &mut ChaCha8Rng, [lo, hi]: [f32; 2]) -> f32 {
    let u: f64 = rng.random();
    (lo as f64 + (hi as f64 - lo as f64) * u) as f32
}

/// A uniform integer in `lo..hi` (torch `randint(lo, hi)`); `lo` when the range is empty.
#[inline]
pub fn randint(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

/// `true` with probability `p` (torchvision `torch.rand(1) < p`). Draws nothing when `p` is
/// 0 or 1, so an always-on op leaves the stream where it was.
#[inline]
pub fn coin(rng: &mut ChaCha8Rng, p: f32) -> bool {
    if p >= 1.0 {
        true
    } else if p <= 0.0 {
        false
    } else {
        rng.random::<f32>() < p
    }
}

/// Checks `0 <= p <= 1`.
pub(crate) fn check_p(p: f32) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("p = {p} must be in [0, 1]"))
    }
}

/// Checks `lo <= hi`, both finite and within `[min, max]`.
pub(crate) fn check_range(
    name: &str,
    [lo, hi]: [f32; 2],
    min: f32,
    max: f32,
) -> Result<(), String> {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi || lo < min || hi > max {
        Err(format!(
            "{name} = [{lo}, {hi}] must be an ordered range within [{min}, {max}]"
        ))
    } else {
        Ok(())
    }
}
