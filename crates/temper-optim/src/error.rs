/// An optimizer or schedule setting that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimError {
    /// A field is out of range or does not apply; the message names it as `section.field`.
    #[error("{field}: {message}")]
    Invalid {
        /// The setting at fault, as `section.field`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> OptimError {
    OptimError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}
