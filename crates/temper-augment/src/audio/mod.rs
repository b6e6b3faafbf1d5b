//! Audio augmentation.
