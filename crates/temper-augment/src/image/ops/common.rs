//! Small config types shared by the ops (ranges, sizes, fill values) and the two sampling
//! primitives every op uses, so that the random draws are the same on every path.
//!
//! **Bounds.** Config values that size an allocation are bounded when the config is validated,
//! each error naming its key: an output side (crop, resize, cutout) is at most [`MAX_SIDE`],
//! a padding at most [`MAX_PADDING`] per side, a blur kernel at most [`MAX_KERNEL_SIZE`] taps,
//! a box count at most [`MAX_BOXES`], a policy's op count at most [`MAX_POLICY_OPS`] and its
//! magnitude bins at most [`MAX_BINS`].

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::image::ops::params::OpParams;

/// Largest side, in pixels, of a size an op produces or covers (crop, resize, cutout): 8192,
/// so one RGB output is at most 192 MiB; training images are a few hundred pixels.
pub const MAX_SIDE: u32 = 8192;

/// Largest padding per side, in pixels: 512. torchvision's CIFAR recipe pads by 4; the device
/// path pads a whole batch by the farthest box, so this bounds that tensor too.
pub const MAX_PADDING: u32 = 512;

/// Largest Gaussian blur kernel, in taps: 255 (an odd size; sigma 40 needs about 241).
pub const MAX_KERNEL_SIZE: u32 = 255;

/// Most boxes one random-erasing or cutout draws per image: 1024.
pub const MAX_BOXES: u32 = 1024;

/// Most ops a RandAugment policy applies per image: 16 (the paper uses 1 to 3).
pub const MAX_POLICY_OPS: u32 = 16;

/// Most magnitude bins of RandAugment and TrivialAugmentWide: 1024 (torchvision uses 31).
pub const MAX_BINS: u32 = 1024;

/// Checks `1 <= side <= MAX_SIDE` for both sides of an output size; `key` names the field.
pub(crate) fn check_size(key: &str, (h, w): (u32, u32)) -> Result<(), String> {
    if h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE {
        return Err(format!(
            "{key} = [{h}, {w}] must be positive and at most {MAX_SIDE} per side"
        ));
    }
    Ok(())
}

/// Prefixes a validation message with the TOML key of the op it comes from: a message that
/// starts with its field (`size = ...`, `p must ...`) becomes `prefix.size = ...`, any other
/// (`unknown field ...`) `prefix: ...`. `prefix` is `ops[2]`, `augment.ops[2]`, ...
pub(crate) fn keyed(prefix: &str, message: &str) -> String {
    let mut words = message.splitn(3, ' ');
    let (first, second) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let is_key = !first.is_empty()
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.[]".contains(c));
    if is_key && ["=", "must", "has"].contains(&second) {
        format!("{prefix}.{message}")
    } else {
        format!("{prefix}: {message}")
    }
}

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

/// `params` with probability `p`, else [`OpParams::Identity`] (the flips and every op
/// without a random magnitude).
pub(crate) fn flip(p: f32, rng: &mut ChaCha8Rng, params: OpParams) -> OpParams {
    if coin(rng, p) {
        params
    } else {
        OpParams::Identity
    }
}

/// With probability `p`, `make` of a value drawn uniformly from `range`; else
/// [`OpParams::Identity`] (the factor ops: brightness, sharpness, hue, ...).
pub(crate) fn factor(
    rng: &mut ChaCha8Rng,
    p: f32,
    range: [f32; 2],
    make: fn(f32) -> OpParams,
) -> OpParams {
    if coin(rng, p) {
        make(uniform(rng, range))
    } else {
        OpParams::Identity
    }
}
