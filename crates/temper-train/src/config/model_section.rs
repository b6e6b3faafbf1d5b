//! The `[model]` section: architecture, size and dropout, resolved into a temper-model config.

use serde::{Deserialize, Serialize};
use temper_model::{Classifier, CnnConfig, DropoutKind, MlpConfig, ResNetConfig};

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
/// (the reference models of `shared/bench` for mlp and cnn).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// The architecture family (default `cnn`).
    pub kind: ModelKind,
    /// Widths of the fully connected hidden layers (mlp default `[256]`, cnn default `[128]`).
    pub hidden: Option<Vec<usize>>,
    /// Output channels of each convolution block (cnn, default `[32, 64]`) or of each stage
    /// (resnet, default `[16, 32, 64]`).
    pub channels: Option<Vec<usize>>,
    /// Residual blocks per stage (resnet, default 1).
    pub blocks: Option<usize>,
    /// The dropout kind and rate (mlp default p = 0, cnn p = 0.25, resnet p = 0).
    pub dropout: Option<DropoutSettings>,
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
}

impl ModelPlan {
    /// Builds the model on `device`.
    pub fn init(&self, device: &burn::tensor::Device) -> Classifier {
        match self {
            ModelPlan::Mlp(cfg) => cfg.init(device).into(),
            ModelPlan::Cnn(cfg) => cfg.init(device).into(),
            ModelPlan::ResNet(cfg) => cfg.init(device).into(),
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
        };
        Self {
            kind: self.kind,
            hidden: self.hidden.clone().or(hidden),
            channels: self.channels.clone().or(channels),
            blocks: self.blocks.or(blocks),
            dropout,
        }
    }

    /// Fills defaults and validates against images of `[c, h, w]` with `num_classes` classes.
    pub fn plan(
        &self,
        image_shape: [usize; 3],
        num_classes: usize,
    ) -> Result<ModelPlan, TrainError> {
        let [c, h, w] = image_shape;
        let kind = self.dropout.map(|d| d.kind);
        let p = self.dropout.map(|d| d.p);
        if self.blocks.is_some() && self.kind != ModelKind::ResNet {
            return Err(only_for("blocks", "\"resnet\""));
        }
        let plan = match self.kind {
            ModelKind::Mlp => {
                if self.channels.is_some() {
                    return Err(only_for("channels", "\"cnn\" or \"resnet\""));
                }
                let input = input_size(c, h, w)?;
                let mut cfg = MlpConfig::new()
                    .with_input_size(input)
                    .with_num_classes(num_classes);
                if let Some(hidden) = &self.hidden {
                    cfg.hidden = hidden.clone();
                }
                cfg.dropout = p.unwrap_or(cfg.dropout);
                cfg.dropout_kind = kind.unwrap_or(cfg.dropout_kind);
                cfg.validate()?;
                ModelPlan::Mlp(cfg)
            }
            ModelKind::Cnn => {
                let mut cfg = CnnConfig::new()
                    .with_in_channels(c)
                    .with_image_size([h, w])
                    .with_num_classes(num_classes);
                if let Some(channels) = &self.channels {
                    cfg.channels = channels.clone();
                }
                if let Some(hidden) = &self.hidden {
                    cfg.hidden = hidden.clone();
                }
                cfg.dropout = p.unwrap_or(cfg.dropout);
                cfg.dropout_kind = kind.unwrap_or(cfg.dropout_kind);
                cfg.validate()?;
                ModelPlan::Cnn(cfg)
            }
            ModelKind::ResNet => {
                if self.hidden.is_some() {
                    return Err(only_for("hidden", "\"mlp\" or \"cnn\""));
                }
                let mut cfg = ResNetConfig::new()
                    .with_in_channels(c)
                    .with_image_size([h, w])
                    .with_num_classes(num_classes);
                if let Some(channels) = &self.channels {
                    cfg.channels = channels.clone();
                }
                cfg.blocks_per_stage = self.blocks.unwrap_or(cfg.blocks_per_stage);
                match (kind, p) {
                    (Some(DropoutKind::Path), Some(p)) => cfg.drop_path = p,
                    (Some(DropoutKind::Standard), Some(p)) => cfg.dropout = p,
                    (Some(other), _) => {
                        return Err(temper_model::ModelError::Invalid {
                            field: "dropout",
                            message: format!(
                                "resnet takes kind \"dropout\" or \"drop-path\", not {other:?}"
                            ),
                        }
                        .into());
                    }
                    _ => {}
                }
                cfg.validate()?;
                ModelPlan::ResNet(cfg)
            }
        };
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<ModelPlan, TrainError> {
        let section: ModelSection = toml::from_str(text).unwrap();
        section.plan([1, 28, 28], 10)
    }

    #[test]
    fn dropout_kinds_reach_the_models() {
        let Ok(ModelPlan::Cnn(cfg)) = plan("dropout = { kind = \"dropout2d\", p = 0.1 }") else {
            panic!("cnn expected")
        };
        assert_eq!((cfg.dropout_kind, cfg.dropout), (DropoutKind::Spatial, 0.1));
        let Ok(ModelPlan::ResNet(cfg)) =
            plan("kind = \"resnet\"\nblocks = 2\ndropout = { kind = \"drop-path\", p = 0.2 }")
        else {
            panic!("resnet expected")
        };
        assert_eq!((cfg.drop_path, cfg.blocks_per_stage), (0.2, 2));
        let Ok(ModelPlan::Mlp(cfg)) =
            plan("kind = \"mlp\"\ndropout = { kind = \"drop-connect\", p = 0.5 }")
        else {
            panic!("mlp expected")
        };
        assert_eq!(cfg.dropout_kind, DropoutKind::Connect);
    }

    #[test]
    fn misplaced_fields_and_kinds_are_named() {
        let err = |t: &str| plan(t).err().unwrap().to_string();
        assert!(err("kind = \"mlp\"\nchannels = [3]").starts_with("model.channels"));
        assert!(err("blocks = 2").starts_with("model.blocks"));
        assert!(err("kind = \"resnet\"\nhidden = [3]").starts_with("model.hidden"));
        assert!(
            err("kind = \"mlp\"\ndropout = { kind = \"drop-path\", p = 0.1 }")
                .starts_with("model.dropout: drop-path")
        );
        assert!(
            err("kind = \"resnet\"\ndropout = { kind = \"alpha\", p = 0.1 }")
                .starts_with("model.dropout: resnet takes")
        );
    }

    #[test]
    fn resolved_fills_each_architecture_defaults() {
        let resnet = ModelSection {
            kind: ModelKind::ResNet,
            ..Default::default()
        }
        .resolved();
        assert_eq!(resnet.channels, Some(vec![16, 32, 64]));
        assert_eq!((resnet.blocks, resnet.hidden.as_ref()), (Some(1), None));
    }
}
