/// A model configuration that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A field holds a value outside its valid range; the message names the field.
    #[error("model.{field}: {message}")]
    Invalid {
        field: &'static str,
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
