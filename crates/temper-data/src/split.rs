//! Seeded, reproducible train/validation splits.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, Result};

/// Indices of a dataset divided into a training part and a validation part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Indices to train on.
    pub train: Vec<usize>,
    /// Indices held out for validation.
    pub valid: Vec<usize>,
}

/// Shuffles `0..n` with `seed`, keeps the first `limit` indices (`0` = all), and holds out
/// `round(kept * valid_fraction)` of them for validation. The same arguments always give the
/// same split on every platform (ChaCha8 is specified bit for bit, unlike `StdRng`).
pub fn split_indices(n: usize, limit: usize, valid_fraction: f64, seed: u64) -> Result<Split> {
    if !(0.0..1.0).contains(&valid_fraction) {
        return Err(DataError::BadFraction(valid_fraction));
    }
    let mut indices: Vec<usize> = (0..n).collect();
    indices.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    if limit > 0 {
        indices.truncate(limit);
    }
    let n_valid = (indices.len() as f64 * valid_fraction).round() as usize;
    let train = indices.split_off(n_valid);
    Ok(Split {
        train,
        valid: indices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_a_seeded_partition() {
        let a = split_indices(1000, 0, 0.1, 7).unwrap();
        assert_eq!(a.valid.len(), 100);
        assert_eq!(a.train.len(), 900);
        let mut all: Vec<usize> = a.train.iter().chain(&a.valid).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(a, split_indices(1000, 0, 0.1, 7).unwrap());
        assert_ne!(a, split_indices(1000, 0, 0.1, 8).unwrap());
    }

    #[test]
    fn limit_keeps_a_prefix_of_the_same_shuffle() {
        let full = split_indices(100, 0, 0.0, 3).unwrap();
        let limited = split_indices(100, 20, 0.25, 3).unwrap();
        assert_eq!(limited.valid.len(), 5);
        assert_eq!(limited.train.len(), 15);
        let kept: Vec<usize> = limited
            .valid
            .iter()
            .chain(&limited.train)
            .copied()
            .collect();
        assert_eq!(kept, full.train[..20]);
    }

    #[test]
    fn fraction_out_of_range_is_an_error() {
        assert!(matches!(
            split_indices(10, 0, 1.0, 0),
            Err(DataError::BadFraction(_))
        ));
        assert!(split_indices(10, 0, -0.1, 0).is_err());
        assert!(split_indices(10, 0, f64::NAN, 0).is_err());
        assert_eq!(split_indices(10, 0, 0.0, 0).unwrap().valid.len(), 0);
    }
}
