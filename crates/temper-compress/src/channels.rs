//! Which filters channel pruning removes: Li et al., "Pruning Filters for Efficient
//! ConvNets" (ICLR 2017, arXiv:1608.08710), §3.1. Each output channel (filter) is ranked by
//! the L1 norm of its weights, `s_j = Σ |F_j|`, and the `m` smallest of each layer are
//! removed, with the next layer's matching input channels. Li et al. rank within each layer
//! independently ("we prune filters of each layer independently") and then retrain.
//!
//! The count removed is torch's `ln_structured` count (`_compute_nparams_toprune` in
//! `torch/nn/utils/prune.py`): `round(fraction * out_channels)`, half to even, capped so that
//! at least one filter stays, since a layer with none disconnects the network.

use crate::error::CompressError;
use crate::magnitude::prune_count;

/// How many of `out_channels` filters to remove for `fraction`: `round(fraction *
/// out_channels)` (half to even, as torch's `ln_structured`), at most `out_channels - 1`.
pub fn filters_to_remove(out_channels: usize, fraction: f64) -> usize {
    prune_count(out_channels, fraction).min(out_channels.saturating_sub(1))
}

/// The filters to keep, ascending, ranked by the L1 norm of each output channel's weights
/// (`weight` is row-major with `out_channels` leading, e.g. `[out, in, kh, kw]` or a linear
/// `[out, in]`); the `remove` smallest sums are removed, ties to the lower index first. A NaN
/// norm ranks as the largest, as in [`magnitude_masks`](crate::magnitude::magnitude_masks).
pub fn filters_by_l1(
    weight: &[f32],
    out_channels: usize,
    remove: usize,
) -> Result<Vec<usize>, CompressError> {
    if out_channels == 0 || !weight.len().is_multiple_of(out_channels) {
        return Err(CompressError::BadInput(format!(
            "a weight of {} values does not split into {out_channels} output channels",
            weight.len()
        )));
    }
    if remove >= out_channels {
        return Err(CompressError::BadInput(format!(
            "removing {remove} of {out_channels} filters leaves none"
        )));
    }
    let per = weight.len() / out_channels;
    // The norm is summed in f64: a filter of 4,608 weights (512 x 3 x 3) in f32 would round.
    let norms: Vec<f64> = weight
        .chunks_exact(per.max(1))
        .map(|f| f.iter().map(|&w| f64::from(w.abs())).sum())
        .chain(std::iter::repeat(0.0))
        .take(out_channels)
        .collect();
    let mut order: Vec<usize> = (0..out_channels).collect();
    // total_cmp orders NaN (positive: a sum of magnitudes) above infinity; sort_by is stable,
    // so equal norms keep index order and the lower index goes first.
    order.sort_by(|&a, &b| norms[a].abs().total_cmp(&norms[b].abs()));
    let mut keep = order.split_off(remove);
    keep.sort_unstable();
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_ranked_by_the_l1_norm_of_their_weights() {
        // [out 4, in 2, 1, 2]: L1 norms by hand 1+1+1+1 = 4, 0.5*4 = 2, 3+0+0+0 = 3, 10.
        let w = [
            1.0, -1.0, 1.0, -1.0, //
            0.5, 0.5, -0.5, 0.5, //
            -3.0, 0.0, 0.0, 0.0, //
            10.0, 0.0, 0.0, 0.0,
        ];
        assert_eq!(filters_by_l1(&w, 4, 0).unwrap(), [0, 1, 2, 3]);
        assert_eq!(filters_by_l1(&w, 4, 1).unwrap(), [0, 2, 3]);
        assert_eq!(filters_by_l1(&w, 4, 2).unwrap(), [0, 3]);
        assert_eq!(filters_by_l1(&w, 4, 3).unwrap(), [3]);
        // Note: the largest single weight does not decide; filter 2 (one weight of 3) loses to
        // filter 0 (four weights of 1) only on the sum.
    }

    #[test]
    fn equal_norms_remove_the_lower_index_first() {
        let w = [1.0, -2.0, 2.0, 1.0, 3.0];
        assert_eq!(filters_by_l1(&w, 5, 3).unwrap(), [2, 4]);
        let nan = [f32::NAN, 1.0, 0.5];
        assert_eq!(
            filters_by_l1(&nan, 3, 2).unwrap(),
            [0],
            "a NaN filter ranks largest"
        );
    }

    #[test]
    fn removal_counts_round_half_to_even_and_keep_one_filter() {
        // torch's round(): 0.5 * 5 = 2.5 -> 2, 0.5 * 7 = 3.5 -> 4, 0.25 * 64 = 16.
        assert_eq!(filters_to_remove(5, 0.5), 2);
        assert_eq!(filters_to_remove(7, 0.5), 4);
        assert_eq!(filters_to_remove(64, 0.25), 16);
        assert_eq!(filters_to_remove(2, 0.9), 1, "one filter always stays");
        assert_eq!(filters_to_remove(1, 0.9), 0);
        assert_eq!(filters_to_remove(0, 0.5), 0);
    }

    #[test]
    fn mismatched_shapes_and_removing_every_filter_are_errors() {
        assert!(filters_by_l1(&[1.0; 10], 3, 0).is_err());
        assert!(filters_by_l1(&[1.0; 10], 0, 0).is_err());
        assert!(filters_by_l1(&[1.0; 10], 2, 2).is_err());
    }
}
