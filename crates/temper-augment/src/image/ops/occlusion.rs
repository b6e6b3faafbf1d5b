//! Occlusion: random erasing (Zhong et al. 2020; torchvision `RandomErasing`, with timm's
//! `count` of boxes) and Cutout (DeVries & Taylor 2017).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::image::ops::common::{
    MAX_BOXES, MAX_SIDE, check_p, check_range, coin, randint, uniform,
};
use crate::image::ops::params::{EraseBox, EraseFill, OpParams};

/// The fill of erased boxes as written in TOML: a number, `[r, g, b]` or `"random"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum EraseValue {
    /// Same value in every channel.
    All(u8),
    /// Per channel.
    Rgb([u8; 3]),
    /// `"random"`: uniform noise (torchvision `value="random"` draws normal noise in
    /// normalized space; on 8-bit data uniform `0..=255` is the counterpart).
    Word(String),
}

impl Default for EraseValue {
    fn default() -> Self {
        EraseValue::All(0)
    }
}

impl EraseValue {
    fn check(&self) -> Result<(), String> {
        match self {
            EraseValue::Word(w) if w != "random" => Err(format!(
                "value = {w:?}: expected a number, [r, g, b] or \"random\""
            )),
            _ => Ok(()),
        }
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> EraseFill {
        match self {
            EraseValue::All(v) => EraseFill::Constant([*v; 3]),
            EraseValue::Rgb(v) => EraseFill::Constant(*v),
            EraseValue::Word(_) => EraseFill::Random(rng.random()),
        }
    }
}

/// `random-erasing`: torchvision `RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3),
/// value=0)`, with timm's `min_count`/`max_count` (each of `count` boxes targets
/// `1 / count` of the drawn area).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomErasingConfig {
    /// Probability of erasing; default 0.5.
    pub p: f32,
    /// Range of the erased area as a fraction of the image; default `[0.02, 0.33]`.
    pub scale: [f32; 2],
    /// Range of the box aspect ratio height/width, sampled log-uniformly; default `[0.3, 3.3]`.
    pub ratio: [f32; 2],
    /// Fill: a number, `[r, g, b]` or `"random"`; default 0.
    pub value: EraseValue,
    /// Inclusive range of the number of boxes, at most [`MAX_BOXES`]; default `[1, 1]`.
    pub count: [u32; 2],
}

impl Default for RandomErasingConfig {
    fn default() -> Self {
        RandomErasingConfig {
            p: 0.5,
            scale: [0.02, 0.33],
            ratio: [0.3, 3.3],
            value: EraseValue::default(),
            count: [1, 1],
        }
    }
}

impl RandomErasingConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_p(self.p)?;
        check_range("scale", self.scale, 0.0, 1.0)?;
        check_range("ratio", self.ratio, f32::MIN_POSITIVE, f32::MAX)?;
        if self.count[0] > self.count[1] || self.count[1] > MAX_BOXES {
            return Err(format!(
                "count = {:?} must be an ordered range within 0..={MAX_BOXES}",
                self.count
            ));
        }
        self.value.check()
    }

    /// torchvision `RandomErasing.get_params`, per box: up to 10 tries of
    /// `area' = H W U(scale) / count`, `r = exp(U(log ratio))`, `h = round(sqrt(area' r))`,
    /// `w = round(sqrt(area' / r))`, accepted when `h < H` and `w < W`, placed at
    /// `top = randint(0, H - h + 1)`, `left = randint(0, W - w + 1)`; a box with no accepted
    /// try is skipped (torchvision returns the image unchanged).
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        if !coin(rng, self.p) {
            return OpParams::Identity;
        }
        let count = randint(rng, self.count[0] as i64, self.count[1] as i64 + 1).max(1);
        let area = (width as f64) * (height as f64);
        let log_ratio = [self.ratio[0].ln(), self.ratio[1].ln()];
        let mut boxes = Vec::new();
        for _ in 0..count {
            for _ in 0..10 {
                let target = area * uniform(rng, self.scale) as f64 / count as f64;
                let aspect = (uniform(rng, log_ratio) as f64).exp();
                let h = (target * aspect).sqrt().round() as i64;
                let w = (target / aspect).sqrt().round() as i64;
                if !(h < height as i64 && w < width as i64) {
                    continue;
                }
                let fill = self.value.draw(rng);
                let top = randint(rng, 0, height as i64 - h + 1);
                let left = randint(rng, 0, width as i64 - w + 1);
                boxes.push(EraseBox {
                    top: top as u32,
                    left: left as u32,
                    height: h as u32,
                    width: w as u32,
                    fill,
                });
                break;
            }
        }
        if boxes.is_empty() {
            OpParams::Identity
        } else {
            OpParams::Erase(boxes)
        }
    }
}

/// `cutout`: `count` squares of side `size` centred on uniformly drawn pixels, clipped to the
/// image (DeVries & Taylor 2017, reference code `uoguelph-mlrg/Cutout`: centre
/// `randint(0, H)`, `randint(0, W)`, box `[c - size/2, c + size/2)`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CutoutConfig {
    /// Probability; default 1 (the reference always cuts).
    pub p: f32,
    /// Side length in pixels, at most [`MAX_SIDE`]; default 8.
    pub size: u32,
    /// Number of squares, at most [`MAX_BOXES`]; default 1.
    pub count: u32,
    /// Fill: a number, `[r, g, b]` or `"random"`; default 0.
    pub value: EraseValue,
}

impl Default for CutoutConfig {
    fn default() -> Self {
        CutoutConfig {
            p: 1.0,
            size: 8,
            count: 1,
            value: EraseValue::default(),
        }
    }
}

impl CutoutConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_p(self.p)?;
        if self.size > MAX_SIDE {
            return Err(format!("size = {} must be at most {MAX_SIDE}", self.size));
        }
        if self.count > MAX_BOXES {
            return Err(format!(
                "count = {} must be at most {MAX_BOXES}",
                self.count
            ));
        }
        self.value.check()
    }

    /// Draws the squares' centres (row then column per square).
    pub fn sample(&self, rng: &mut ChaCha8Rng, width: u32, height: u32) -> OpParams {
        if !coin(rng, self.p) || self.count == 0 || self.size == 0 {
            return OpParams::Identity;
        }
        let half = (self.size / 2) as i64;
        let boxes = (0..self.count)
            .map(|_| {
                let cy = randint(rng, 0, height as i64);
                let cx = randint(rng, 0, width as i64);
                let fill = self.value.draw(rng);
                let (y0, y1) = ((cy - half).max(0), (cy + half).min(height as i64));
                let (x0, x1) = ((cx - half).max(0), (cx + half).min(width as i64));
                EraseBox {
                    top: y0 as u32,
                    left: x0 as u32,
                    height: (y1 - y0).max(0) as u32,
                    width: (x1 - x0).max(0) as u32,
                    fill,
                }
            })
            .collect();
        OpParams::Erase(boxes)
    }
}

crate::image::ops::config_from_inherent!(RandomErasingConfig, CutoutConfig);
