//! Batch-level MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019) with soft targets and
//! label smoothing, timm's `Mixup` semantics (`timm/data/mixup.py`, `mode="batch"`,
//! `correct_lam=True`): one `lambda` per batch, sample `i` mixed with sample `n - 1 - i`
//! (the flipped batch), targets `lambda y_i + (1 - lambda) y_{n-1-i}` of smoothed one-hots.
//! Works on a plain `f32` NCHW buffer so a trainer (or a device path, on tensors) can do the
//! same after converting images.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use serde::Deserialize;

use crate::image::error::{Result, invalid};
use crate::image::ops::common::randint;

/// `mixup = { alpha = .. }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixupConfig {
    /// `lambda ~ Beta(alpha, alpha)`; default 1 (timm `mixup_alpha`, torchvision v2 `MixUp`).
    pub alpha: f32,
}

impl Default for MixupConfig {
    fn default() -> Self {
        MixupConfig { alpha: 1.0 }
    }
}

/// `cutmix = { alpha = .. }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CutmixConfig {
    /// `lambda ~ Beta(alpha, alpha)` before the box is cut; default 1.
    pub alpha: f32,
}

impl Default for CutmixConfig {
    fn default() -> Self {
        CutmixConfig { alpha: 1.0 }
    }
}

/// MixUp and/or CutMix with their switch, and label smoothing.
#[derive(Debug, Clone, PartialEq)]
pub struct MixConfig {
    /// MixUp, if enabled.
    pub mixup: Option<MixupConfig>,
    /// CutMix, if enabled.
    pub cutmix: Option<CutmixConfig>,
    /// Probability of mixing a batch at all (timm `prob`, default 1).
    pub prob: f32,
    /// With both enabled, probability of CutMix (timm `switch_prob`, default 0.5).
    pub switch_prob: f32,
    /// Label smoothing `eps`: off value `eps / K`, on value `1 - eps + eps / K`.
    pub label_smoothing: f32,
}

impl Default for MixConfig {
    fn default() -> Self {
        MixConfig {
            mixup: None,
            cutmix: None,
            prob: 1.0,
            switch_prob: 0.5,
            label_smoothing: 0.0,
        }
    }
}

/// One batch's mixing decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MixParams {
    /// No mixing (`lambda = 1`).
    None,
    /// `x_i <- lambda x_i + (1 - lambda) x_{n-1-i}`.
    MixUp {
        /// Weight of the sample itself.
        lambda: f32,
    },
    /// Rows `top..bottom`, columns `left..right` of `x_i` replaced by `x_{n-1-i}`'s;
    /// `lambda = 1 - box area / (H W)` (the kept fraction).
    CutMix {
        /// Kept-area fraction.
        lambda: f32,
        /// First row of the box.
        top: usize,
        /// One past the last row.
        bottom: usize,
        /// First column.
        left: usize,
        /// One past the last column.
        right: usize,
    },
}

impl MixParams {
    /// The weight of each sample's own label.
    pub fn lambda(&self) -> f32 {
        match *self {
            MixParams::None => 1.0,
            MixParams::MixUp { lambda } | MixParams::CutMix { lambda, .. } => lambda,
        }
    }
}

/// Seed mixer separating the batch streams from the per-sample ones.
const MIX_DOMAIN: u64 = 0x6d69_7875_705f_6375;

/// The stream of batch `batch` in `epoch`: ChaCha8 keyed by `seed ^ MIX_DOMAIN`, stream
/// `epoch << 32 | batch`.
pub fn mix_rng(seed: u64, epoch: u32, batch: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ MIX_DOMAIN);
    rng.set_stream(((epoch as u64) << 32) | batch as u64);
    rng
}

fn beta(rng: &mut ChaCha8Rng, alpha: f32) -> f32 {
    Beta::new(alpha as f64, alpha as f64).map_or(1.0, |b| b.sample(rng) as f32)
}

impl MixConfig {
    /// Checks alphas `> 0` and probabilities and smoothing in `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        for (name, a) in [
            ("mixup.alpha", self.mixup.as_ref().map(|m| m.alpha)),
            ("cutmix.alpha", self.cutmix.as_ref().map(|c| c.alpha)),
        ] {
            if let Some(a) = a
                && !(a > 0.0 && a.is_finite())
            {
                return Err(invalid(name, format!("{a} must be positive")));
            }
        }
        for (name, v) in [
            ("mix_prob", self.prob),
            ("switch_prob", self.switch_prob),
            ("label_smoothing", self.label_smoothing),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(name, format!("{v} must be in [0, 1]")));
            }
        }
        Ok(())
    }

    /// timm `Mixup._params_per_batch` then `cutmix_bbox_and_lam`: with probability `prob`
    /// mix; with both kinds enabled CutMix when `U < switch_prob`; `lambda ~ Beta(a, a)`.
    /// CutMix box: `r = sqrt(1 - lambda)`, `h = floor(H r)`, `w = floor(W r)`, centre
    /// `cy = randint(0, H)`, `cx = randint(0, W)`, rows `clip(cy -+ h/2)`, columns likewise,
    /// then `lambda = 1 - area / (H W)`.
    pub fn sample(&self, rng: &mut ChaCha8Rng, height: usize, width: usize) -> MixParams {
        if self.mixup.is_none() && self.cutmix.is_none() {
            return MixParams::None;
        }
        if self.prob < 1.0 && rng.random::<f32>() >= self.prob {
            return MixParams::None;
        }
        let use_cutmix = match (&self.mixup, &self.cutmix) {
            (Some(_), Some(_)) => rng.random::<f32>() < self.switch_prob,
            (None, Some(_)) => true,
            _ => false,
        };
        if !use_cutmix {
            let lambda = beta(rng, self.mixup.as_ref().map_or(1.0, |m| m.alpha));
            return MixParams::MixUp { lambda };
        }
        let lam = beta(rng, self.cutmix.as_ref().map_or(1.0, |c| c.alpha));
        let r = (1.0 - lam as f64).max(0.0).sqrt();
        let (ch, cw) = ((height as f64 * r) as i64, (width as f64 * r) as i64);
        let cy = randint(rng, 0, height as i64);
        let cx = randint(rng, 0, width as i64);
        let clip = |v: i64, n: usize| v.clamp(0, n as i64) as usize;
        let (top, bottom) = (clip(cy - ch / 2, height), clip(cy + ch / 2, height));
        let (left, right) = (clip(cx - cw / 2, width), clip(cx + cw / 2, width));
        let area = (bottom - top) * (right - left);
        MixParams::CutMix {
            lambda: 1.0 - (area as f64 / (height as f64 * width as f64).max(1.0)) as f32,
            top,
            bottom,
            left,
            right,
        }
    }
}

/// Checks `images.len() == n * c * h * w`, the product computed without overflow (a shape
/// whose product wraps around must not pass as a small one).
fn check_shape(images: &[f32], [n, c, h, w]: [usize; 4]) -> Result<()> {
    let product = [c, h, w].iter().try_fold(n, |acc, &d| acc.checked_mul(d));
    if product != Some(images.len()) {
        let expected = product.map_or("more than usize::MAX".to_string(), |p| p.to_string());
        return Err(invalid(
            "images",
            format!(
                "buffer has {} values, expected n*c*h*w = {n}*{c}*{h}*{w} = {expected}",
                images.len(),
            ),
        ));
    }
    Ok(())
}

/// Mixes an NCHW batch in place: sample `i` with sample `n - 1 - i` of the original batch.
pub fn apply_mix(images: &mut [f32], shape: [usize; 4], params: &MixParams) -> Result<()> {
    check_shape(images, shape)?;
    let [n, c, h, w] = shape;
    let per = c * h * w;
    let original = match params {
        MixParams::None => return Ok(()),
        _ => images.to_vec(),
    };
    for i in 0..n {
        let j = n - 1 - i;
        let (dst, src) = (
            &mut images[i * per..(i + 1) * per],
            &original[j * per..(j + 1) * per],
        );
        match *params {
            MixParams::None => {}
            MixParams::MixUp { lambda } => {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = lambda * *d + (1.0 - lambda) * s;
                }
            }
            MixParams::CutMix {
                top,
                bottom,
                left,
                right,
                ..
            } => {
                for k in 0..c {
                    for y in top..bottom.min(h) {
                        let row = k * h * w + y * w;
                        let (a, b) = (row + left, row + right.min(w));
                        if a < b {
                            dst[a..b].copy_from_slice(&src[a..b]);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Soft targets, `n x classes` row-major: `lambda s(y_i) + (1 - lambda) s(y_{n-1-i})` with
/// `s` the smoothed one-hot (timm `mixup_target`). Each row sums to 1.
pub fn soft_targets(
    labels: &[usize],
    classes: usize,
    params: &MixParams,
    label_smoothing: f32,
) -> Result<Vec<f32>> {
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return Err(invalid(
            format!("labels[{i}]"),
            format!("{l} is not a class index below {classes}"),
        ));
    }
    let Some(len) = labels.len().checked_mul(classes) else {
        return Err(invalid(
            "classes",
            format!("{} labels x {classes} classes overflows", labels.len()),
        ));
    };
    let off = label_smoothing / classes as f32;
    let on = 1.0 - label_smoothing + off;
    let lam = params.lambda();
    let n = labels.len();
    // The caller's class count sizes this buffer: an impossible size is an error, not an
    // abort.
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| {
        invalid(
            "classes",
            format!("{n} labels x {classes} classes do not fit in memory"),
        )
    })?;
    out.resize(len, 0f32);
    for (i, row) in out.chunks_exact_mut(classes.max(1)).enumerate() {
        for v in row.iter_mut() {
            *v = off;
        }
        row[labels[i]] += lam * (on - off);
        row[labels[n - 1 - i]] += (1.0 - lam) * (on - off);
    }
    Ok(out)
}

/// Samples the batch's mix from [`mix_rng`]`(seed, epoch, batch)`, mixes `images` in place
/// and returns the soft targets and the parameters.
#[allow(clippy::too_many_arguments)]
pub fn mix_batch(
    cfg: &MixConfig,
    images: &mut [f32],
    shape: [usize; 4],
    labels: &[usize],
    classes: usize,
    seed: u64,
    epoch: u32,
    batch: u32,
) -> Result<(Vec<f32>, MixParams)> {
    check_shape(images, shape)?;
    if labels.len() != shape[0] {
        return Err(invalid(
            "labels",
            format!("{} labels for a batch of {}", labels.len(), shape[0]),
        ));
    }
    let params = cfg.sample(&mut mix_rng(seed, epoch, batch), shape[2], shape[3]);
    apply_mix(images, shape, &params)?;
    let targets = soft_targets(labels, classes, &params, cfg.label_smoothing)?;
    Ok((targets, params))
}

/// Mean soft-target cross-entropy `-(1/n) sum_i sum_k t_ik log softmax(z_i)_k` (timm
/// `SoftTargetCrossEntropy`), a reference for the trainer's tensor version.
pub fn soft_cross_entropy(logits: &[f32], targets: &[f32], classes: usize) -> f32 {
    if classes == 0 {
        return 0.0;
    }
    let n = logits.len() / classes;
    let mut total = 0.0f64;
    for (z, t) in logits
        .chunks_exact(classes)
        .zip(targets.chunks_exact(classes))
    {
        let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = m + z.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        total += z
            .iter()
            .zip(t)
            .map(|(&v, &p)| -(p as f64) * (v as f64 - lse))
            .sum::<f64>();
    }
    (total / n.max(1) as f64) as f32
}
