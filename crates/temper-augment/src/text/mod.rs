//! Text augmentation: EDA ("Easy Data Augmentation", Wei & Zou, EMNLP 2019) with WordNet 3.0
//! synonyms.
//!
//! - [`tokenize`](mod@tokenize): a lossless tokenizer (words, punctuation, whitespace).
//! - [`wordnet`]: a reader of WordNet dictionary directories.
//! - [`SynonymTable`]: single-token synonyms across all parts of speech, with WordNet's
//!   morphology; [`SynonymTable::bundled`] is the WordNet 3.0 copy compiled in.
//! - [`eda`]: the four operations, [`EdaConfig`] and [`augment_lines`].
//! - [`read_text`]: a text file to augment, at most [`MAX_TEXT_BYTES`].

pub mod eda;
mod error;
mod index;
mod synonyms;
pub mod tokenize;
pub mod wordnet;

pub use eda::{EdaConfig, augment_line, augment_lines};
pub use error::{Result, TextError};
pub use synonyms::SynonymTable;

use std::path::Path;

/// Largest text file [`read_text`] reads: 256 MiB, whose ten EDA copies (the default
/// `num_aug = 9` and the original) stay within [`eda::MAX_OUTPUT_BYTES`].
pub const MAX_TEXT_BYTES: u64 = 256 << 20;

/// Reads a UTF-8 text file of at most [`MAX_TEXT_BYTES`] (refused from its length before
/// reading); the error names the file.
pub fn read_text(path: &Path) -> Result<String> {
    let io = |source| TextError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = crate::fs::read_bounded(path, MAX_TEXT_BYTES).map_err(io)?;
    String::from_utf8(bytes)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

#[cfg(test)]
mod tests;
