//! A group-balanced sampler: an epoch of `n` indices drawn with replacement, each draw a group
//! uniformly among the non-empty ones, then a sample uniformly within it. Sample `i` of group
//! `g` is drawn with probability
//!
//! ```text
//! P(i) = (1 / G) · (1 / n_g)
//! ```
//!
//! (`G` the number of non-empty groups), the distribution of PyTorch's
//! `WeightedRandomSampler(weights, n, replacement=True)` (`torch/utils/data/sampler.py`, one
//! `torch.multinomial` over the weights) with per-sample weights `1 / n_g`, since those sum
//! to `G`. Group DRO's code builds exactly that sampler for `--reweight_groups`
//! (`kohpangwei/group_DRO`, `data/dro_dataset.py`: weights `len(self) / group_counts`,
//! `replacement=True`, "otherwise we'll run out of minority samples"). The same
//! distribution, not the same stream: the draws come from ChaCha8 rather than PyTorch's
//! generator.
//!
//! The random stream of an epoch is ChaCha8 seeded with `seed` on stream `epoch`, as the
//! trainer's shuffle draws it, so that a resumed run draws the epochs an uninterrupted one
//! would. With replacement, a small group's samples repeat within an epoch and a large
//! group's are not all seen: that is the price of balance, and the reason the epoch keeps
//! the data's length (PyTorch's `num_samples = len(dataset)` in group DRO's loader).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::FairError;

use super::check_indices;

/// Draws epochs in which every non-empty group is equally likely (see the module docs).
#[derive(Debug, Clone)]
pub struct BalancedSampler {
    /// The sample indices of each non-empty group, in ascending order; empty groups are
    /// left out so that they are never drawn.
    members: Vec<Vec<usize>>,
    /// The number of samples, the length of an epoch.
    len: usize,
}

impl BalancedSampler {
    /// A sampler over `groups` (one group index per sample, each below `num_groups`).
    pub fn new(groups: &[usize], num_groups: usize) -> Result<Self, FairError> {
        check_indices("groups", groups, "num_groups", num_groups)?;
        let mut members = vec![Vec::new(); num_groups];
        for (i, &g) in groups.iter().enumerate() {
            members[g].push(i);
        }
        members.retain(|m| !m.is_empty());
        Ok(Self {
            members,
            len: groups.len(),
        })
    }

    /// The number of samples, which is also the length of every epoch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no sample (every epoch is then empty).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of groups that have samples, among which each draw picks uniformly.
    pub fn drawn_groups(&self) -> usize {
        self.members.len()
    }

    /// Epoch `epoch`'s `len()` sample indices, with replacement, the same for the same
    /// `(seed, epoch)`.
    pub fn epoch(&self, seed: u64, epoch: u64) -> Vec<usize> {
        if self.members.is_empty() {
            return Vec::new();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(epoch);
        (0..self.len)
            .map(|_| {
                let group = &self.members[rng.random_range(0..self.members.len())];
                group[rng.random_range(0..group.len())]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
