use burn::tensor::Device;

use super::*;
use crate::zoo::{MobileNetV2Config, TvResNetConfig};
use crate::{CnnConfig, MlpConfig, ResNetConfig};

/// `floor((n + pad - (k - 1) - 1) / s) + 1`, the output side of a convolution.
fn side(n: usize, k: usize, s: usize, pad: usize) -> usize {
    (n + 2 * pad - k) / s + 1
}

#[test]
fn the_reference_cnn_counts_its_convolutions_and_linear_layers_by_hand() {
    let device = Device::flex();
    let model: Classifier = CnnConfig::new().init(&device).into();
    // conv 1 -> 32, 3x3 on 28x28 (padding 1 keeps 28x28); pool to 14x14; conv 32 -> 64 on
    // 14x14; pool to 7x7; linear 64 * 7 * 7 -> 128 -> 10.
    let expected = 32 * 9 * 28 * 28 + 64 * 32 * 9 * 14 * 14 + 3136 * 128 + 128 * 10;
    assert_eq!(model.macs_per_image([1, 28, 28]), expected);
    assert_eq!(expected, 4_241_152);
    // Global pooling: the head reads 64 means, whatever the image.
    let pooled: Classifier = CnnConfig::new()
        .with_image_size([32, 32])
        .with_global_pool(true)
        .init(&device)
        .into();
    let convs = 32 * 9 * 32 * 32 + 64 * 32 * 9 * 16 * 16;
    assert_eq!(
        pooled.macs_per_image([1, 32, 32]),
        convs + 64 * 128 + 128 * 10
    );
}

#[test]
fn an_mlp_counts_one_mac_per_weight() {
    let device = Device::flex();
    let model: Classifier = MlpConfig::new().init(&device).into();
    // 784 -> 256 -> 10, as the parameter count without biases.
    assert_eq!(model.macs_per_image([1, 28, 28]), 784 * 256 + 256 * 10);
}

#[test]
fn the_small_resnet_counts_its_stem_blocks_and_projections_by_hand() {
    let device = Device::flex();
    let model: Classifier = ResNetConfig::new().init(&device).into();
    // Stem 1 -> 16 at 28x28; stage 1: two 16 -> 16 at 28x28; stage 2 halves to 14x14:
    // 16 -> 32, 32 -> 32 and the 1x1 projection 16 -> 32; stage 3 at 7x7 likewise; fc 64 -> 10.
    let s2 = side(28, 3, 2, 1);
    let s3 = side(s2, 3, 2, 1);
    assert_eq!((s2, s3), (14, 7));
    let expected = 16 * 9 * 28 * 28
        + 2 * 16 * 16 * 9 * 28 * 28
        + (32 * 16 * 9 + 32 * 32 * 9 + 32 * 16) * s2 * s2
        + (64 * 32 * 9 + 64 * 64 * 9 + 64 * 32) * s3 * s3
        + 64 * 10;
    assert_eq!(model.macs_per_image([1, 28, 28]) as usize, expected);
}

/// MACs of the CIFAR ResNet of `6n + 2` layers (He et al. 2016 §4.2) by hand, with the
/// paper's identity (option A) shortcuts: the stem 16*3*9*32^2; per stage `2n` 3x3
/// convolutions at 32^2, 16^2, 8^2 pixels, the first of stages 2 and 3 reading half the
/// channels; the fc 64*10.
fn cifar_option_a(n: usize) -> u64 {
    let stage = |c: usize, pixels: usize, first_in: usize| {
        (c * first_in * 9 + (2 * n - 1) * c * c * 9) * pixels
    };
    (16 * 3 * 9 * 1024 + stage(16, 1024, 16) + stage(32, 256, 16) + stage(64, 64, 32) + 640) as u64
}

#[test]
fn the_cifar_resnets_match_their_published_madds() {
    let device = Device::flex();
    // The option-A counts are the figures the pruning literature quotes: 40.55M for
    // ResNet-20 and 125.49M for ResNet-56 (HRank, Lin et al. 2020, Table 1).
    assert_eq!(cifar_option_a(3), 40_551_040);
    assert_eq!(cifar_option_a(9), 125_485_696);
    // temper's shortcuts are option B, as chenyaofo/pytorch-cifar-models, whose README lists
    // 40.81M MAdds for resnet20 and 125.75M for resnet56 (CIFAR-10): the option-A count plus
    // the 1x1 downsample convolutions 16 -> 32 at 16x16 and 32 -> 64 at 8x8.
    let projections = 32 * 16 * 256 + 64 * 32 * 64;
    for (n, model, published) in [
        (3, TvResNetConfig::resnet20(), 40.81),
        (9, TvResNetConfig::resnet56(), 125.75),
    ] {
        let model: Classifier = model.init(&device).into();
        let macs = model.macs_per_image([3, 32, 32]);
        assert_eq!(macs, cifar_option_a(n) + projections, "n = {n}");
        assert_eq!((macs as f64 / 1e4).round() / 100.0, published, "n = {n}");
    }
}

/// torchvision's published `GFLOPS` (the `_ops` of each weight's meta, shown rounded to two
/// places in its docs) and the exact count behind it: torchvision 0.29.2's model in eval mode
/// on `torch.zeros(1, 3, 224, 224)`, with a forward hook adding `oc * ic/g * kh * kw * oh *
/// ow` for every `nn.Conv2d` and `in * out` for every `nn.Linear`.
const TORCHVISION: [(&str, f64, u64); 3] = [
    ("resnet18", 1.814, 1_814_073_344),
    ("resnet50", 4.089, 4_089_184_256),
    ("mobilenet_v2", 0.301, 300_774_272),
];

#[test]
fn imagenet_networks_match_torchvisions_published_gflops() {
    let device = Device::flex();
    for (name, gflops, exact) in TORCHVISION {
        let model: Classifier = match name {
            "resnet18" => TvResNetConfig::resnet18().init(&device).into(),
            "resnet50" => TvResNetConfig::resnet50().init(&device).into(),
            _ => MobileNetV2Config::new().init(&device).into(),
        };
        let macs = model.macs_per_image([3, 224, 224]);
        assert_eq!(macs, exact, "{name}");
        assert_eq!((macs as f64 / 1e6).round() / 1e3, gflops, "{name}");
    }
}

#[test]
fn windows_follow_pytorchs_output_size_formula() {
    // floor((7 + 2 - 3) / 2) + 1 = 4; a 2x2 pool of 7 gives 3, with ceil_mode 4; a 5-wide
    // window on 3 does not fit.
    assert_eq!(window_out(7, 2, 3, 2, 1, false), 4);
    assert_eq!(window_out(7, 0, 2, 2, 1, false), 3);
    assert_eq!(window_out(7, 0, 2, 2, 1, true), 4);
    assert_eq!(window_out(3, 0, 5, 1, 1, false), 0);
    // Dilation 2 spreads a 3x3 kernel over 5: (10 - 5) / 1 + 1 = 6.
    assert_eq!(window_out(10, 0, 3, 1, 2, false), 6);
    // `Same` pads so that the output is ceil(n / s): 7 / 2 -> 4, by (4 - 1) * 2 + 3 - 7 = 2.
    assert_eq!(
        total_padding(&PaddingConfig2d::Same, [7, 7], [3, 3], [2, 2]),
        [2, 2]
    );
}

#[test]
fn small_and_odd_images_match_torchvisions_models_layer_by_layer() {
    // The same hook count as above on torchvision 0.29.2's models built with
    // `num_classes=10`: odd sides exercise every stride-2 rounding, down to ResNet-18's 1x1
    // last stage at 28x28.
    let device = Device::flex();
    let cases: [(Classifier, [usize; 3], u64); 4] = [
        (
            TvResNetConfig::resnet18()
                .with_num_classes(10)
                .with_image_size([28, 28])
                .init(&device)
                .into(),
            [3, 28, 28],
            34_240_256,
        ),
        (
            TvResNetConfig::resnet50()
                .with_num_classes(10)
                .with_image_size([100, 60])
                .init(&device)
                .into(),
            [3, 100, 60],
            567_141_632,
        ),
        (
            MobileNetV2Config::new()
                .with_num_classes(10)
                .with_image_size([32, 32])
                .init(&device)
                .into(),
            [3, 32, 32],
            6_124_928,
        ),
        (
            MobileNetV2Config::new()
                .with_num_classes(10)
                .with_image_size([45, 33])
                .init(&device)
                .into(),
            [3, 45, 33],
            15_212_768,
        ),
    ];
    for (model, shape, expected) in cases {
        assert_eq!(model.macs_per_image(shape), expected, "{shape:?}");
    }
}
