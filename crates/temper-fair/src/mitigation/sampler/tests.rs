use super::*;

/// `sizes[g]` samples of group `g`, interleaved so that a group's indices are not contiguous.
fn groups_of(sizes: &[usize]) -> Vec<usize> {
    let mut left = sizes.to_vec();
    let mut groups = Vec::new();
    while left.iter().any(|&l| l > 0) {
        for (g, l) in left.iter_mut().enumerate() {
            if *l > 0 {
                groups.push(g);
                *l -= 1;
            }
        }
    }
    groups
}

/// Asserts that `count` of `draws` is within 3 binomial standard deviations of `p · draws`.
fn assert_within_three_sigma(what: &str, count: usize, draws: usize, p: f64) {
    let mean = p * draws as f64;
    let sigma = (draws as f64 * p * (1.0 - p)).sqrt();
    let off = (count as f64 - mean).abs();
    assert!(
        off <= 3.0 * sigma,
        "{what}: {count} drawn, expected {mean:.0} ± {:.1}",
        3.0 * sigma
    );
}

#[test]
fn an_epoch_is_as_long_as_the_data_and_reproducible_from_seed_and_epoch() {
    let groups = groups_of(&[3, 50, 7]);
    let sampler = BalancedSampler::new(&groups, 3).unwrap();
    let first = sampler.epoch(42, 0);
    assert_eq!(first.len(), groups.len());
    assert!(first.iter().all(|&i| i < groups.len()));
    assert_eq!(first, sampler.epoch(42, 0));
    assert_eq!(
        first,
        BalancedSampler::new(&groups, 3).unwrap().epoch(42, 0)
    );
    assert_ne!(first, sampler.epoch(42, 1));
    assert_ne!(first, sampler.epoch(43, 0));
}

#[test]
fn each_group_is_drawn_one_time_in_g_whatever_its_size() {
    // Groups of 5, 95 and 900 samples: each draw picks a group with p = 1/3, so over
    // 100 epochs of 1000 draws each group's count is Binomial(100 000, 1/3). And a sample
    // of the group of 5 is drawn with p = 1/15 (PyTorch's weights 1/n_g over their sum G).
    let groups = groups_of(&[5, 95, 900]);
    let sampler = BalancedSampler::new(&groups, 3).unwrap();
    let (mut per_group, mut per_sample) = ([0usize; 3], vec![0usize; groups.len()]);
    let epochs = 100;
    for epoch in 0..epochs {
        for i in sampler.epoch(7, epoch) {
            per_group[groups[i]] += 1;
            per_sample[i] += 1;
        }
    }
    let draws = epochs as usize * groups.len();
    for (g, &count) in per_group.iter().enumerate() {
        assert_within_three_sigma(&format!("group {g}"), count, draws, 1.0 / 3.0);
    }
    for (i, _) in groups.iter().enumerate().filter(|(_, g)| **g == 0) {
        assert_within_three_sigma(&format!("sample {i}"), per_sample[i], draws, 1.0 / 15.0);
    }
    // Unbalanced sampling would draw group 0 half a percent of the time.
    assert!(per_group[0] > draws / 4);
}

#[test]
fn empty_groups_are_never_drawn() {
    // Five groups, of which 1 and 3 have no sample: the other three share the draws.
    let groups = [0, 2, 4, 4, 4, 4, 2, 4, 4, 4, 4, 4];
    let sampler = BalancedSampler::new(&groups, 5).unwrap();
    assert_eq!(sampler.drawn_groups(), 3);
    let mut per_group = [0usize; 5];
    let epochs = 5000;
    for epoch in 0..epochs {
        for i in sampler.epoch(1, epoch) {
            per_group[groups[i]] += 1;
        }
    }
    assert_eq!((per_group[1], per_group[3]), (0, 0));
    let draws = epochs as usize * groups.len();
    for g in [0, 2, 4] {
        assert_within_three_sigma(&format!("group {g}"), per_group[g], draws, 1.0 / 3.0);
    }
}

#[test]
fn no_sample_gives_empty_epochs() {
    let sampler = BalancedSampler::new(&[], 4).unwrap();
    assert!(sampler.is_empty());
    assert_eq!(sampler.drawn_groups(), 0);
    assert!(sampler.epoch(0, 0).is_empty());
}

#[test]
fn a_group_out_of_range_is_an_error_naming_it() {
    match BalancedSampler::new(&[0, 1, 2], 2) {
        Err(FairError::BadInput(m)) => {
            assert!(
                m.contains("groups[2] = 2") && m.contains("num_groups is 2"),
                "{m}"
            )
        }
        other => panic!("expected BadInput, got {other:?}"),
    }
}
