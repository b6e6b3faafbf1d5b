use super::*;

fn figures(scale: u64, latency: f64, throughput: f64) -> Efficiency {
    Efficiency {
        parameters: 11_689_512,
        nonzero_parameters: 11_689_512 / scale,
        macs_per_image: Some(1_814_073_344),
        checkpoint_bytes: 46_758_048,
        checkpoint_gzip_bytes: 43_000_000 / scale,
        latency_ms_batch1: latency,
        throughput_batch64: throughput,
    }
}

#[test]
fn the_markdown_table_shows_parent_over_this_for_sizes_and_this_over_parent_for_rates() {
    let parent = figures(1, 8.0, 500.0);
    let pruned = figures(4, 4.0, 1500.0);
    let md = pruned.to_markdown("pruned", Some(("parent", &parent)));
    assert!(
        md.starts_with("| figure | pruned | parent | ratio |\n"),
        "{md}"
    );
    // 11,689,512 / 2,922,378 = 4; 43,000,000 / 10,750,000 = 4; 8 / 4 = 2; 1500 / 500 = 3.
    assert!(
        md.contains("| nonzero parameters | 2922378 | 11689512 | 4.00x |"),
        "{md}"
    );
    assert!(
        md.contains("| checkpoint gzip bytes | 10750000 | 43000000 | 4.00x |"),
        "{md}"
    );
    assert!(
        md.contains("| parameters | 11689512 | 11689512 | 1.00x |"),
        "{md}"
    );
    assert!(
        md.contains("| latency ms (batch 1) | 4.000 | 8.000 | 2.00x |"),
        "{md}"
    );
    assert!(
        md.contains("| images/s (batch 64) | 1500.0 | 500.0 | 3.00x |"),
        "{md}"
    );
    assert_eq!(md.lines().count(), 2 + 7);

    let alone = pruned.to_markdown("pruned", None);
    assert!(
        alone.contains("| MACs per image | 1814073344 |\n"),
        "{alone}"
    );
    assert!(!alone.contains("ratio"));
}

#[test]
fn missing_macs_or_a_zero_figure_give_no_ratio() {
    let parent = Efficiency {
        macs_per_image: None,
        ..figures(1, 8.0, 0.0)
    };
    let this = figures(2, 0.0, 10.0);
    let md = this.to_markdown("a", Some(("b", &parent)));
    assert!(
        md.contains("| MACs per image | 1814073344 | - | - |"),
        "{md}"
    );
    assert!(
        md.contains("| latency ms (batch 1) | 0.000 | 8.000 | - |"),
        "{md}"
    );
    assert!(
        md.contains("| images/s (batch 64) | 10.0 | 0.0 | - |"),
        "{md}"
    );
}

#[test]
fn efficiency_round_trips_through_toml() {
    let e = figures(3, 1.5, 99.5);
    assert_eq!(
        toml::from_str::<Efficiency>(&toml::to_string(&e).unwrap()).unwrap(),
        e
    );
}

#[test]
fn gzip_of_zeros_is_small_and_of_noise_is_not() {
    let zeros = vec![0u8; 1 << 20];
    // A 1 MiB run of zeros deflates to about 1 KiB (deflate's 258-byte matches: 4 bits per
    // match, plus gzip's 18-byte frame).
    let z = gzip_len(&zeros);
    assert!((18..2048).contains(&z), "{z}");
    let mut x = 1u32;
    let noise: Vec<u8> = (0..1 << 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    assert!(
        gzip_len(&noise) > 65_536,
        "incompressible bytes grow by the framing"
    );
    assert_eq!(
        gzip_len(&[]),
        20,
        "gzip's 10-byte header, an empty block, 8-byte trailer"
    );
}

#[test]
fn resnet18_first_conv_and_classifier_macs() {
    // 7x7 stride-2 conv, 3 -> 64 channels, 224x224 -> 112x112: 64*3*7*7*112*112.
    assert_eq!(conv2d_macs(3, 64, [7, 7], 1, [112, 112]), 118_013_952);
    // A depthwise 3x3 over 32 channels of 112x112 (MobileNet's first block): 32*1*9*112*112.
    assert_eq!(conv2d_macs(32, 32, [3, 3], 32, [112, 112]), 3_612_672);
    // ResNet-18's fc: 512 -> 1000.
    assert_eq!(linear_macs(512, 1000), 512_000);
}

#[test]
fn median_seconds_runs_warmup_and_at_least_min_iters() {
    let mut calls = 0;
    let t = median_seconds(|| calls += 1, 3, 5, Duration::ZERO);
    assert_eq!(calls, 8);
    assert!(t >= 0.0);
    let sleep = median_seconds(
        || std::thread::sleep(Duration::from_millis(2)),
        0,
        3,
        Duration::from_millis(1),
    );
    assert!(sleep >= 0.002, "{sleep}");
}
