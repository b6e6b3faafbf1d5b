/// A layer setting that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NnError {
    /// A field is out of range; the message names it as `layer.field`.
    #[error("{field}: {message}")]
    Invalid {
        /// The setting at fault, as `layer.field` (e.g. `drop_path.prob`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> NnError {
    NnError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}
