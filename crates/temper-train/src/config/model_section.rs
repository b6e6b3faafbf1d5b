//! The `[model]` section: architecture, size and dropout, resolved into a temper-model config.
//!
//! `kind` picks the architecture: temper's own `mlp`, `cnn` and `resnet`, or a standard one in
//! torchvision's layout (`resnet18`, `resnet34`, `resnet50`, `wide_resnet50_2`, the CIFAR
//! `resnet20` and `resnet56`, `mobilenet_v2`; see `temper_model::zoo`). The other keys apply
//! where the architecture has the part they size; a key set for a kind without it is an error
//! naming the key, as is an image smaller than the kind accepts
//! ([`ModelSection::min_image_side`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use temper_model::zoo::min_image_side;
use temper_model::{
    Classifier, CnnConfig, DropoutKind, MlpConfig, MobileNetV2Config, ModelError, ResNetConfig,
    TvResNetConfig,
};

use crate::error::TrainError;

/// Architecture family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// `mlp`: fully connected layers over the flattened image.
    Mlp,
    /// `cnn` (default): 3x3 convolution blocks, then fully connected layers.
    #[default]
    Cnn,
    /// `resnet`: residual stages of basic blocks.
    ResNet,
    /// `resnet18`: torchvision's ResNet-18 (basic blocks `[2, 2, 2, 2]`).
    ResNet18,
    /// `resnet34`: torchvision's ResNet-34 (basic blocks `[3, 4, 6, 3]`).
    ResNet34,
    /// `resnet50`: torchvision's ResNet-50 (bottlenecks `[3, 4, 6, 3]`, ResNet v1.5).
    ResNet50,
    /// `wide_resnet50_2`: torchvision's Wide ResNet-50-2 (ResNet-50 with bottlenecks twice as
    /// wide inside, `width_per_group = 128`).
    #[serde(rename = "wide_resnet50_2")]
    WideResNet50_2,
    /// `resnet20`: the CIFAR ResNet-20 of He et al. 2016 (three stages of 3 basic blocks).
    ResNet20,
    /// `resnet56`: the CIFAR ResNet-56 of He et al. 2016 (three stages of 9 basic blocks).
    ResNet56,
    /// `mobilenet_v2`: torchvision's MobileNetV2.
    #[serde(rename = "mobilenet_v2")]
    MobileNetV2,
}

impl ModelKind {
    /// The `kind` value in the experiment file.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Cnn => "cnn",
            ModelKind::ResNet => "resnet",
            ModelKind::ResNet18 => "resnet18",
            ModelKind::ResNet34 => "resnet34",
            ModelKind::ResNet50 => "resnet50",
            ModelKind::WideResNet50_2 => "wide_resnet50_2",
            ModelKind::ResNet20 => "resnet20",
            ModelKind::ResNet56 => "resnet56",
            ModelKind::MobileNetV2 => "mobilenet_v2",
        }
    }

    /// The preset of a torchvision-layout ResNet kind.
    fn tv_resnet(self) -> Option<TvResNetConfig> {
        match self {
            ModelKind::ResNet18 => Some(TvResNetConfig::resnet18()),
            ModelKind::ResNet34 => Some(TvResNetConfig::resnet34()),
            ModelKind::ResNet50 => Some(TvResNetConfig::resnet50()),
            ModelKind::WideResNet50_2 => Some(TvResNetConfig::wide_resnet50_2()),
            ModelKind::ResNet20 => Some(TvResNetConfig::resnet20()),
            ModelKind::ResNet56 => Some(TvResNetConfig::resnet56()),
            _ => None,
        }
    }

    /// Whether the architecture has residual branches for drop-path.
    fn is_residual(self) -> bool {
        !matches!(self, ModelKind::Mlp | ModelKind::Cnn)
    }
}

/// `pool`: what the cnn's dense head reads from the last feature map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CnnPool {
    /// `flatten` (default): every value, so the head grows with the image.
    #[default]
    Flatten,
    /// `global`: each channel's mean (global average pooling), whatever the image size.
    Global,
}

/// `dropout = { kind = "dropout", p = 0.25 }`: the `[model]` table that picks the member of
/// the dropout family ([`DropoutKind`], temper-nn's) and its rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutSettings {
    /// Which member of the family (default `dropout`).
    #[serde(default)]
    pub kind: DropoutKind,
    /// The drop probability, in `[0, 1)`.
    pub p: f64,
}

/// `[model]`: the architecture and its size. Unset fields take the architecture's defaults
/// (the reference models of `shared/bench` for mlp and cnn, torchvision's for the standard
/// architectures).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// The architecture family (default `cnn`).
    pub kind: ModelKind,
    /// Widths of the fully connected hidden layers (mlp default `[256]`, cnn default `[128]`).
    pub hidden: Option<Vec<usize>>,
    /// Output channels of each convolution block (cnn, default `[32, 64]`) or of each stage
    /// (resnet, default `[16, 32, 64]`; resnet18/34/50, four widths, default
    /// `[64, 128, 256, 512]`; resnet20/56, three, default `[16, 32, 64]`).
    pub channels: Option<Vec<usize>>,
    /// Residual blocks per stage (resnet, default 1).
    pub blocks: Option<usize>,
    /// The dropout kind and rate (mlp default p = 0, cnn p = 0.25, the resnets p = 0,
    /// mobilenet_v2 p = 0.2); `dropout` acts before the classifier of the residual kinds,
    /// `drop-path` in their residual branches.
    pub dropout: Option<DropoutSettings>,
    /// Stochastic-depth rate of the last residual block (residual kinds, default 0), next to a
    /// `dropout` table of kind `dropout`.
    pub drop_path: Option<f64>,
    /// What the cnn's head reads: `flatten` (default) or `global` average pooling.
    pub pool: Option<CnnPool>,
    /// Width multiplier of mobilenet_v2, in `(0, 8]` (default 1.0).
    pub width_mult: Option<f64>,
    /// Inner width of resnet50's and wide_resnet50_2's bottlenecks per 64 units of stage width
    /// (torchvision's `width_per_group`; default 64, and 128 for wide_resnet50_2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width_per_group: Option<usize>,
    /// A PyTorch `state_dict` (`.safetensors`, `.pt` or `.pth`, torchvision's names) to start
    /// from instead of a random initialization; a classifier head for another number of
    /// classes is left freshly initialized (`temper_model::pretrained`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretrained: Option<PathBuf>,
}

/// A model configuration resolved against the data's image shape and class count.
#[derive(Debug, Clone)]
pub enum ModelPlan {
    /// An MLP's Burn config.
    Mlp(MlpConfig),
    /// A CNN's Burn config.
    Cnn(CnnConfig),
    /// A ResNet's Burn config.
    ResNet(ResNetConfig),
    /// A torchvision-layout ResNet's Burn config (resnet18/34/50/20/56).
    TvResNet(TvResNetConfig),
    /// A MobileNetV2's Burn config.
    MobileNetV2(MobileNetV2Config),
}

impl ModelPlan {
    /// Builds the model on `device`.
    pub fn init(&self, device: &burn::tensor::Device) -> Classifier {
        match self {
            ModelPlan::Mlp(cfg) => cfg.init(device).into(),
            ModelPlan::Cnn(cfg) => cfg.init(device).into(),
            ModelPlan::ResNet(cfg) => cfg.init(device).into(),
            ModelPlan::TvResNet(cfg) => cfg.init(device).into(),
            ModelPlan::MobileNetV2(cfg) => cfg.init(device).into(),
        }
    }
}

/// `c * h * w` values per image, checked: the shape comes from the data (or a folder's
/// `image_size`).
fn input_size(c: usize, h: usize, w: usize) -> Result<usize, TrainError> {
    c.checked_mul(h)
        .and_then(|n| n.checked_mul(w))
        .ok_or_else(|| {
            TrainError::Config(format!(
                "data.image_size: {c}x{h}x{w} images have more values than usize holds"
            ))
        })
}

fn only_for(field: &str, kinds: &str) -> TrainError {
    TrainError::Config(format!("model.{field}: applies to kind = {kinds} only"))
}

fn model_error(field: &'static str, message: String) -> TrainError {
    ModelError::Invalid { field, message }.into()
}

impl ModelSection {
    /// The section with the architecture's defaults filled in.
    pub fn resolved(&self) -> Self {
        let dropout = |p| {
            Some(self.dropout.unwrap_or(DropoutSettings {
                kind: DropoutKind::Standard,
                p,
            }))
        };
        let (hidden, channels, blocks, dropout) = match self.kind {
            ModelKind::Mlp => {
                let d = MlpConfig::new();
                (Some(d.hidden), None, None, dropout(d.dropout))
            }
            ModelKind::Cnn => {
                let d = CnnConfig::new();
                (Some(d.hidden), Some(d.channels), None, dropout(d.dropout))
            }
            ModelKind::ResNet => {
                let d = ResNetConfig::new();
                (
                    None,
                    Some(d.channels),
                    Some(d.blocks_per_stage),
                    dropout(d.dropout),
                )
            }
            ModelKind::MobileNetV2 => (None, None, None, dropout(MobileNetV2Config::new().dropout)),
            kind => {
                let d = kind.tv_resnet().expect("a torchvision ResNet kind");
                (None, Some(d.widths), None, dropout(d.dropout))
            }
        };
        let width_mult = (self.kind == ModelKind::MobileNetV2).then(|| {
            self.width_mult
                .unwrap_or(MobileNetV2Config::new().width_mult)
        });
        Self {
            kind: self.kind,
            hidden: self.hidden.clone().or(hidden),
            channels: self.channels.clone().or(channels),
            blocks: self.blocks.or(blocks),
            dropout,
            drop_path: self.drop_path,
            pool: self.pool,
            width_mult: self.width_mult.or(width_mult),
            width_per_group: self.width_per_group.or_else(|| {
                let preset = self.kind.tv_resnet().filter(|_| self.is_bottleneck())?;
                Some(preset.width_per_group)
            }),
            pretrained: self.pretrained.clone(),
        }
    }

    /// Smallest height and width of the images this section's architecture accepts (after
    /// its defaults are filled in): 1 for mlp; `2^blocks` for cnn (each 2×2 max pool halves,
    /// rounding down); `2^(stages - 1)` for resnet; `2^(k - 1) + 1` for the standard
    /// architectures with `k` stride-2 steps (17 for resnet18/34/50 and mobilenet_v2, 3 for
    /// resnet20/56; see `temper_model::zoo::min_image_side`). Saturates at `usize::MAX`.
    pub fn min_image_side(&self) -> usize {
        let resolved = self.resolved();
        let stages = resolved.channels.as_ref().map_or(0, Vec::len);
        let pow2 = |k: usize| u32::try_from(k).ok().and_then(|k| 1usize.checked_shl(k));
        match self.kind {
            ModelKind::Mlp => 1,
            ModelKind::Cnn => pow2(stages).unwrap_or(usize::MAX),
            ModelKind::ResNet => pow2(stages.saturating_sub(1)).unwrap_or(usize::MAX),
            ModelKind::MobileNetV2 => min_image_side(MobileNetV2Config::new().downsamplings()),
            kind => {
                let preset = kind.tv_resnet().expect("a torchvision ResNet kind");
                min_image_side(preset.downsamplings())
            }
        }
    }

    /// Checks everything but the image size, for data whose size is known only once it is
    /// read (a folder without `image_size`): the plan for images of `channels` at the
    /// smallest size the architecture accepts.
    pub fn validate_any_size(&self, channels: usize, num_classes: usize) -> Result<(), TrainError> {
        let side = self.min_image_side();
        self.plan([channels, side, side], num_classes).map(|_| ())
    }

    /// Refuses keys the kind has no part for, naming the first.
    fn check_keys(&self) -> Result<(), TrainError> {
        self.check_pretrained()?;
        let kind = self.kind;
        if self.hidden.is_some() && !matches!(kind, ModelKind::Mlp | ModelKind::Cnn) {
            return Err(only_for("hidden", "\"mlp\" or \"cnn\""));
        }
        if self.channels.is_some() && matches!(kind, ModelKind::Mlp | ModelKind::MobileNetV2) {
            return Err(only_for(
                "channels",
                "\"cnn\", \"resnet\" or resnet18/34/50/20/56, wide_resnet50_2 (mobilenet_v2 takes \
                 width_mult)",
            ));
        }
        if self.blocks.is_some() && kind != ModelKind::ResNet {
            return Err(only_for("blocks", "\"resnet\""));
        }
        if self.pool.is_some() && kind != ModelKind::Cnn {
            return Err(only_for("pool", "\"cnn\""));
        }
        if self.width_mult.is_some() && kind != ModelKind::MobileNetV2 {
            return Err(only_for("width_mult", "\"mobilenet_v2\""));
        }
        if self.width_per_group.is_some() && !self.is_bottleneck() {
            return Err(only_for(
                "width_per_group",
                "\"resnet50\" or \"wide_resnet50_2\" (bottleneck blocks)",
            ));
        }
        if self.drop_path.is_some() && !kind.is_residual() {
            return Err(only_for(
                "drop_path",
                "\"resnet\", resnet18/34/50/20/56, wide_resnet50_2 or \"mobilenet_v2\"",
            ));
        }
        Ok(())
    }

    /// Whether the kind is built of bottleneck blocks, which `width_per_group` sizes.
    fn is_bottleneck(&self) -> bool {
        matches!(self.kind, ModelKind::ResNet50 | ModelKind::WideResNet50_2)
    }

    /// `pretrained` names a file by a path TOML can hold: it is saved in the run's
    /// `config.toml`. Whether the file exists and fits is checked when the run starts.
    fn check_pretrained(&self) -> Result<(), TrainError> {
        let Some(path) = &self.pretrained else {
            return Ok(());
        };
        if path.as_os_str().is_empty() {
            return Err(TrainError::Config(
                "model.pretrained: empty; name a .safetensors, .pt or .pth file".into(),
            ));
        }
        if path.to_str().is_none() {
            return Err(TrainError::Config(format!(
                "model.pretrained: {} is not valid UTF-8; rename the file",
                path.display()
            )));
        }
        Ok(())
    }

    /// The head dropout and drop-path rates a residual kind is given: the `dropout` table sets
    /// the one its kind names, `drop_path` the drop-path rate; unset ones keep the kind's
    /// defaults `default_head` and `default_path`.
    fn residual_rates(
        &self,
        default_head: f64,
        default_path: f64,
    ) -> Result<(f64, f64), TrainError> {
        let (head, path) = match self.dropout {
            Some(DropoutSettings {
                kind: DropoutKind::Standard,
                p,
            }) => (Some(p), None),
            Some(DropoutSettings {
                kind: DropoutKind::Path,
                p,
            }) => (None, Some(p)),
            Some(DropoutSettings { kind, .. }) => {
                return Err(model_error(
                    "dropout",
                    format!(
                        "{} takes kind \"dropout\" or \"drop-path\", not {kind:?}",
                        self.kind.name()
                    ),
                ));
            }
            None => (None, None),
        };
        match (path, self.drop_path) {
            (Some(_), Some(_)) => Err(TrainError::Config(
                "model.drop_path: set either drop_path or dropout = { kind = \"drop-path\" }, \
                 not both"
                    .into(),
            )),
            (_, Some(p)) if !(p.is_finite() && (0.0..1.0).contains(&p)) => Err(TrainError::Config(
                format!("model.drop_path: must be in [0, 1), got {p}"),
            )),
            (path, key) => Ok((
                head.unwrap_or(default_head),
                path.or(key).unwrap_or(default_path),
            )),
        }
    }

    /// Refuses images below [`min_image_side`](Self::min_image_side), naming `model.kind`.
    fn check_image_side(&self, h: usize, w: usize) -> Result<(), TrainError> {
        let min = self.min_image_side();
        if h < min || w < min {
            return Err(model_error(
                "kind",
                format!(
                    "\"{}\" needs images of at least {min}x{min} pixels, got {h}x{w}",
                    self.kind.name()
                ),
            ));
        }
        Ok(())
    }

    /// Fills defaults and validates against images of `[c, h, w]` with `num_classes` classes.
    pub fn plan(
        &self,
        image_shape: [usize; 3],
        num_classes: usize,
    ) -> Result<ModelPlan, TrainError> {
        self.check_keys()?;
        let plan = match self.kind {
            ModelKind::Mlp => ModelPlan::Mlp(self.plan_mlp(image_shape, num_classes)?),
            ModelKind::Cnn => ModelPlan::Cnn(self.plan_cnn(image_shape, num_classes)?),
            ModelKind::ResNet => ModelPlan::ResNet(self.plan_resnet(image_shape, num_classes)?),
            ModelKind::MobileNetV2 => {
                ModelPlan::MobileNetV2(self.plan_mobilenet(image_shape, num_classes)?)
            }
            _ => ModelPlan::TvResNet(self.plan_tv_resnet(image_shape, num_classes)?),
        };
        Ok(plan)
    }

    fn plan_mlp(&self, [c, h, w]: [usize; 3], num_classes: usize) -> Result<MlpConfig, TrainError> {
        let mut cfg = MlpConfig::new()
            .with_input_size(input_size(c, h, w)?)
            .with_num_classes(num_classes);
        if let Some(hidden) = &self.hidden {
            cfg.hidden = hidden.clone();
        }
        if let Some(d) = self.dropout {
            (cfg.dropout, cfg.dropout_kind) = (d.p, d.kind);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn plan_cnn(&self, [c, h, w]: [usize; 3], num_classes: usize) -> Result<CnnConfig, TrainError> {
        let mut cfg = CnnConfig::new()
            .with_in_channels(c)
            .with_image_size([h, w])
            .with_num_classes(num_classes)
            .with_global_pool(self.pool == Some(CnnPool::Global));
        if let Some(channels) = &self.channels {
            cfg.channels = channels.clone();
        }
        if let Some(hidden) = &self.hidden {
            cfg.hidden = hidden.clone();
        }
        if let Some(d) = self.dropout {
            (cfg.dropout, cfg.dropout_kind) = (d.p, d.kind);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn plan_resnet(
        &self,
        [c, h, w]: [usize; 3],
        num_classes: usize,
    ) -> Result<ResNetConfig, TrainError> {
        let mut cfg = ResNetConfig::new()
            .with_in_channels(c)
            .with_image_size([h, w])
            .with_num_classes(num_classes);
        if let Some(channels) = &self.channels {
            cfg.channels = channels.clone();
        }
        cfg.blocks_per_stage = self.blocks.unwrap_or(cfg.blocks_per_stage);
        (cfg.dropout, cfg.drop_path) = self.residual_rates(cfg.dropout, cfg.drop_path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn plan_tv_resnet(
        &self,
        [c, h, w]: [usize; 3],
        num_classes: usize,
    ) -> Result<TvResNetConfig, TrainError> {
        let preset = self.kind.tv_resnet().expect("a torchvision ResNet kind");
        let mut cfg = preset
            .with_in_channels(c)
            .with_image_size([h, w])
            .with_num_classes(num_classes);
        if let Some(channels) = &self.channels {
            if channels.len() != cfg.widths.len() {
                return Err(model_error(
                    "channels",
                    format!(
                        "\"{}\" has {} stages, so {} widths, got {}",
                        self.kind.name(),
                        cfg.widths.len(),
                        cfg.widths.len(),
                        channels.len()
                    ),
                ));
            }
            cfg.widths = channels.clone();
        }
        if let Some(wpg) = self.width_per_group {
            cfg.width_per_group = wpg;
        }
        (cfg.dropout, cfg.drop_path) = self.residual_rates(cfg.dropout, cfg.drop_path)?;
        self.check_image_side(h, w)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn plan_mobilenet(
        &self,
        [c, h, w]: [usize; 3],
        num_classes: usize,
    ) -> Result<MobileNetV2Config, TrainError> {
        let mut cfg = MobileNetV2Config::new()
            .with_in_channels(c)
            .with_image_size([h, w])
            .with_num_classes(num_classes);
        cfg.width_mult = self.width_mult.unwrap_or(cfg.width_mult);
        (cfg.dropout, cfg.drop_path) = self.residual_rates(cfg.dropout, cfg.drop_path)?;
        self.check_image_side(h, w)?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests;
