//! [`AugmentSettings`]: the experiment file's `[augment]` section.
//!
//! ```toml
//! [augment]
//! ops = [ { op = "random-resized-crop", scale = [0.8, 1.0] }, { op = "rotate", degrees = 15 },
//!         { op = "hflip", p = 0.5 } ]
//! policy = "randaugment"   # or "trivial-augment-wide", "none" (default)
//! n = 2
//! m = 9
//! mixup = { alpha = 0.2 }
//! cutmix = { alpha = 1.0 }
//! label_smoothing = 0.1
//! ```

use serde::Deserialize;
use serde::de::{Deserializer, Error as _};

use crate::image::cpu::mix::{CutmixConfig, MixConfig, MixupConfig};
use crate::image::cpu::pipeline::Pipeline;
use crate::image::error::{ImageAugError, Result};
use crate::image::ops::Op;
use crate::image::ops::common::keyed;
use crate::image::ops::policy::{RandAugmentConfig, TrivialAugmentConfig};

/// A policy appended after `ops`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Only `ops`.
    #[default]
    None,
    /// RandAugment with `n` ops at magnitude `m` of 31 bins.
    #[serde(alias = "rand-augment")]
    Randaugment,
    /// TrivialAugmentWide.
    #[serde(alias = "trivialaugment")]
    TrivialAugmentWide,
}

/// The `[augment]` section; every key has a default (no augmentation).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentSettings {
    /// Per-sample ops, in order. A bad op is reported with its key, `augment.ops[2].size = ...`.
    #[serde(deserialize_with = "ops_with_keys")]
    pub ops: Vec<Op>,
    /// A policy applied after `ops`; default `none`.
    pub policy: Policy,
    /// RandAugment's number of ops, at most
    /// [`MAX_POLICY_OPS`](crate::image::ops::common::MAX_POLICY_OPS); default 2.
    pub n: u32,
    /// RandAugment's magnitude bin (0..=30); default 9.
    pub m: u32,
    /// MixUp; default off.
    pub mixup: Option<MixupConfig>,
    /// CutMix; default off.
    pub cutmix: Option<CutmixConfig>,
    /// Probability of mixing a batch; default 1.
    pub mix_prob: f32,
    /// With both MixUp and CutMix, probability of CutMix; default 0.5.
    pub switch_prob: f32,
    /// Label smoothing; default 0.
    pub label_smoothing: f32,
}

impl Default for AugmentSettings {
    fn default() -> Self {
        AugmentSettings {
            ops: Vec::new(),
            policy: Policy::None,
            n: 2,
            m: 9,
            mixup: None,
            cutmix: None,
            mix_prob: 1.0,
            switch_prob: 0.5,
            label_smoothing: 0.0,
        }
    }
}

/// Deserializes `ops` one table at a time so that an error names the op's key
/// (`augment.ops[2].size = ...`) rather than only its kind.
fn ops_with_keys<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Op>, D::Error> {
    let values = Vec::<toml::Value>::deserialize(d)?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            Op::from_value(v, true).map_err(|(name, m)| {
                let key = keyed(&format!("augment.ops[{i}]"), &m);
                D::Error::custom(if name.is_empty() {
                    key
                } else {
                    format!("{key} (op {name:?})")
                })
            })
        })
        .collect()
}

impl AugmentSettings {
    /// The per-sample pipeline: `ops`, then the policy. An error names the key at fault
    /// (`augment.ops[2].size`, `augment.n`).
    pub fn pipeline(&self) -> Result<Pipeline> {
        let setting = |message| ImageAugError::Setting { message };
        for (i, op) in self.ops.iter().enumerate() {
            op.check()
                .map_err(|m| setting(keyed(&format!("augment.ops[{i}]"), &m)))?;
        }
        let mut ops = self.ops.clone();
        let policy = match self.policy {
            Policy::None => None,
            Policy::Randaugment => Some(Op::RandAugment(RandAugmentConfig {
                n: self.n,
                m: self.m,
                ..RandAugmentConfig::default()
            })),
            Policy::TrivialAugmentWide => {
                Some(Op::TrivialAugmentWide(TrivialAugmentConfig::default()))
            }
        };
        if let Some(op) = policy {
            // The policy's fields are the section's own keys (`augment.n`, `augment.m`).
            op.check().map_err(|m| setting(keyed("augment", &m)))?;
            ops.push(op);
        }
        Pipeline::new(ops)
    }

    /// The batch-level mixing and smoothing (validated).
    pub fn mix(&self) -> Result<MixConfig> {
        let cfg = MixConfig {
            mixup: self.mixup.clone(),
            cutmix: self.cutmix.clone(),
            prob: self.mix_prob,
            switch_prob: self.switch_prob,
            label_smoothing: self.label_smoothing,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Whether batches need soft targets (MixUp, CutMix or label smoothing is on).
    pub fn uses_soft_targets(&self) -> bool {
        self.mixup.is_some() || self.cutmix.is_some() || self.label_smoothing > 0.0
    }

    /// Validates the pipeline and the mix settings.
    pub fn validate(&self) -> Result<()> {
        self.pipeline()?;
        self.mix().map(|_| ())
    }
}
