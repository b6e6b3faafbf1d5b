use crate::limits::halved;

/// A model configuration that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A field holds a value outside its valid range; the message names the field.
    #[error("model.{field}: {message}")]
    Invalid {
        /// The `[model]` key, e.g. `hidden`.
        field: &'static str,
        /// Why its value is refused.
        message: String,
    },
    /// A pretrained weights file (`[model] pretrained`) that cannot be loaded into the model;
    /// the message names the first tensor at fault.
    #[error("model.pretrained {path}: {message}")]
    Pretrained {
        /// The file.
        path: String,
        /// What is wrong, on one line.
        message: String,
    },
    /// The model's weights could not be written as a PyTorch `state_dict`.
    #[error("export: {message}")]
    Export {
        /// What failed, on one line.
        message: String,
    },
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        field,
        message: message.into(),
    }
}

pub(crate) fn check_dropout(p: f64) -> Result<(), ModelError> {
    if p.is_finite() && (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(invalid("dropout", format!("must be in [0, 1), got {p}")))
    }
}

/// Checks the convolutional trunk shared by the CNN and the ResNet: positive input channels,
/// at least one stage of positive width, and an image that survives `halvings` halvings of its
/// resolution. `unit` names a stage in messages ("block", "stage").
pub(crate) fn check_conv_trunk(
    in_channels: usize,
    channels: &[usize],
    image_size: [usize; 2],
    halvings: u32,
    unit: &str,
) -> Result<(), ModelError> {
    if in_channels == 0 {
        return Err(invalid("in_channels", "must be positive"));
    }
    if channels.is_empty() || channels.contains(&0) {
        return Err(invalid(
            "channels",
            format!("needs at least one {unit}, every width positive"),
        ));
    }
    // Checked: 64 or more halvings give 0, where a plain shift would panic or wrap.
    if image_size.iter().any(|&s| halved(s, halvings) == 0) {
        return Err(invalid(
            "channels",
            format!(
                "{} {unit}s halve {image_size:?} images {halvings} times, to nothing",
                channels.len()
            ),
        ));
    }
    Ok(())
}
