/// Anything that can go wrong in a search: a bad space or setting, a storage failure, a
/// misuse of the ask/tell protocol, or a sampler with nothing left to suggest.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TuneError {
    /// A space entry or setting is out of range or malformed; `field` names it (for a space
    /// parameter, its dotted key).
    #[error("{field}: {message}")]
    Invalid {
        /// The setting or dotted parameter key at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The study file or database failed; `context` says what was being done.
    #[error("storage: {context}: {message}")]
    Storage {
        /// The operation that failed.
        context: String,
        /// The underlying error's message.
        message: String,
    },
    /// No study of that name exists in the storage (`open` does not create one).
    #[error("study {0:?} not found in the storage")]
    StudyNotFound(String),
    /// The study exists but was created with another direction.
    #[error("study {name:?} was created to {stored}, not to {asked}")]
    DirectionMismatch {
        /// The study's name.
        name: String,
        /// The stored direction (`minimize` or `maximize`).
        stored: String,
        /// The direction asked for.
        asked: String,
    },
    /// A trial number that the study does not hold, or that is already finished.
    #[error("trial {number}: {message}")]
    Trial {
        /// The trial number.
        number: u64,
        /// What is wrong with it.
        message: String,
    },
    /// The grid sampler has handed out every point of its grid.
    #[error("grid exhausted: all {0} grid points have been tried")]
    GridExhausted(usize),
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> TuneError {
    TuneError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

pub(crate) fn storage(context: &str, err: impl std::fmt::Display) -> TuneError {
    TuneError::Storage {
        context: context.to_string(),
        message: err.to_string(),
    }
}
