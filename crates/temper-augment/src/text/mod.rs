//! Text augmentation: EDA ("Easy Data Augmentation", Wei & Zou, EMNLP 2019) with WordNet 3.0
//! synonyms.
//!
//! - [`tokenize`](mod@tokenize): a lossless tokenizer (words, punctuation, whitespace).
//! - [`wordnet`]: a reader of WordNet dictionary directories.
//! - [`SynonymTable`]: single-token synonyms across all parts of speech, with WordNet's
//!   morphology; [`SynonymTable::bundled`] is the WordNet 3.0 copy compiled in.
//! - [`eda`]: the four operations, [`EdaConfig`] and [`augment_lines`].

pub mod eda;
mod error;
mod synonyms;
pub mod tokenize;
pub mod wordnet;

pub use eda::{EdaConfig, augment_line, augment_lines};
pub use error::{Result, TextError};
pub use synonyms::SynonymTable;
