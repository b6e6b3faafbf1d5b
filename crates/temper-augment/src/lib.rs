//! Data augmentation for temper: image operations on CPU buffers and batched on Burn tensors,
//! text augmentation (EDA with WordNet synonyms) and audio augmentation.
//!
//! Nothing is implemented yet; the operations arrive with their issues.
