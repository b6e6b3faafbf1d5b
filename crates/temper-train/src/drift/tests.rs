//! The drift statistics against closed forms and scipy's published values, and `check_drift`
//! end to end on a small MLP with the same, darkened and rotated MNIST.

use std::path::Path;

use temper_augment::image::geometric::{AffineParams, affine};
use temper_augment::image::{AugImage, Interpolation};
use temper_data::{DataSplits, ImageDataset, bundled_mnist, write_mnist_dir};

use crate::drift::stats::{
    histogram, kolmogorov_sf, ks_two_sample, pixel_stats, psi, shares, total_variation,
};
use crate::drift::{DriftReport, DriftThresholds, check_drift, verdict};
use crate::run::tests::training::SEEDED;
use crate::{DeviceChoice, Experiment, ModelKind, Silent, train};

#[test]
fn psi_is_zero_for_equal_shares_and_matches_hand_computed_pairs() {
    let p = [0.1, 0.2, 0.3, 0.4];
    assert_eq!(psi(&p, &p), 0.0);
    // (0.25 − 0.5) ln(0.25/0.5) + (0.75 − 0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5
    // = 0.25 ln 3.
    let got = psi(&[0.5, 0.5], &[0.25, 0.75]);
    assert!((got - 0.25 * 3f64.ln()).abs() < 1e-15, "{got}");
    // Symmetric (it is the Jeffreys divergence).
    assert!((psi(&[0.25, 0.75], &[0.5, 0.5]) - got).abs() < 1e-15);
    // An empty bin is floored at 1e-4: (0.5 − 1) ln(0.5) + (0.5 − 1e-4) ln(0.5 / 1e-4).
    let got = psi(&[1.0, 0.0], &[0.5, 0.5]);
    let want = 0.5 * 2f64.ln() + (0.5 - 1e-4) * 5000f64.ln();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // Total variation: ½(|0.5 − 0.25| + |0.5 − 0.75|) = 0.25.
    assert_eq!(total_variation(&[0.5, 0.5], &[0.25, 0.75]), 0.25);
}

#[test]
fn histogram_bins_like_numpy_and_shares_sum_to_one() {
    // numpy.histogram([0, 0.1, 0.5, 0.99, 1.0], bins=4, range=(0, 1)) -> [2, 0, 1, 2]: the
    // last bin is closed on the right. Out-of-range values go to the edge bins here.
    let h = histogram([0.0, 0.1, 0.5, 0.99, 1.0, -3.0, 7.0, f64::NAN], 0.0, 1.0, 4);
    assert_eq!(h, vec![3, 0, 1, 3]);
    assert_eq!(shares(&[1, 3]), vec![0.25, 0.75]);
    assert_eq!(shares(&[0, 0]), vec![0.0, 0.0]);
}

#[test]
fn kolmogorov_sf_matches_scipys_published_values() {
    // scipy/special/tests/test_kolmogorov.py, TestKolmogorov.test_basic.
    for (x, want) in [
        (0.0, 1.0),
        (0.5, 0.963_945_243_664_875_1),
        (0.827_573_555_189_907_7, 0.5),
        (1.0, 0.269_999_671_677_354_56),
        (2.0, 0.000_670_925_255_779_695_3),
    ] {
        let got = kolmogorov_sf(x);
        assert!((got - want).abs() < 1e-14, "Q({x}) = {got}, scipy {want}");
    }
    // The classical critical values: P(K > 1.3581) = 0.05, P(K > 1.6276) = 0.01 (Smirnov 1948).
    assert!((kolmogorov_sf(1.3581) - 0.05).abs() < 1e-4);
    assert!((kolmogorov_sf(1.6276) - 0.01).abs() < 1e-4);
}

#[test]
fn ks_two_sample_d_by_hand_and_its_asymptotic_p_value() {
    // F_a and F_b of {1,2,3,4} and {3,4,5,6}: at x = 2, 0.5 vs 0; at 3, 0.75 vs 0.25; at 4,
    // 1 vs 0.5; so D = 0.5. p = Q(√(4·4/8) · 0.5) = Q(0.70710678...).
    let ks = ks_two_sample(&[4.0, 2.0, 3.0, 1.0], &[3.0, 4.0, 5.0, 6.0]);
    assert_eq!(ks.d, 0.5);
    assert_eq!(ks.p_value, kolmogorov_sf(2f64.sqrt() * 0.5));
    // Identical samples: D = 0, p = 1. Disjoint ones: D = 1.
    let same = ks_two_sample(&[0.3, 0.1, 0.2], &[0.1, 0.2, 0.3]);
    assert_eq!((same.d, same.p_value), (0.0, 1.0));
    assert_eq!(ks_two_sample(&[1.0, 2.0], &[3.0]).d, 1.0);
    // Ties across samples step together: {1, 1, 2} vs {1, 2, 2}: after 1, 2/3 vs 1/3.
    let tied = ks_two_sample(&[1.0, 1.0, 2.0], &[1.0, 2.0, 2.0]);
    assert!((tied.d - 1.0 / 3.0).abs() < 1e-15);
    assert_eq!(ks_two_sample(&[], &[1.0]).p_value, 1.0);
}

#[test]
fn pixel_stats_are_the_population_moments_in_unit_scale() {
    // One 1×2×2 image with levels 0, 0, 255, 255: mean 0.5, std 0.5; two in bin 0, two in 31.
    let d = ImageDataset::new(vec![0, 0, 255, 255], vec![0], [1, 2, 2], vec!["a".into()]);
    let s = pixel_stats(&d, &[0]);
    assert_eq!((s.mean[0], s.std[0]), (0.5, 0.5));
    assert_eq!((s.histograms[0][0], s.histograms[0][31]), (2, 2));
    assert_eq!(s.histograms[0].len(), 32);
}

#[test]
fn the_verdict_names_every_flag() {
    assert_eq!(verdict(false, false, None), "no drift");
    assert_eq!(verdict(true, false, None), "drift in inputs");
    assert_eq!(verdict(false, true, None), "drift in predictions");
    assert_eq!(
        verdict(true, true, Some(12.34)),
        "drift in inputs and predictions; accuracy drop 12.3 points"
    );
    assert_eq!(verdict(false, false, Some(3.0)), "accuracy drop 3.0 points");
}

#[test]
fn bad_thresholds_fail_naming_the_flag() {
    let t = DriftThresholds {
        ks_p: 1.5,
        ..DriftThresholds::default()
    };
    let err = t.validate().unwrap_err().to_string();
    assert!(err.contains("--ks-p"), "{err}");
    let t = DriftThresholds {
        input_psi: f64::NAN,
        ..DriftThresholds::default()
    };
    assert!(
        t.validate()
            .unwrap_err()
            .to_string()
            .contains("--input-psi")
    );
    DriftThresholds::default().validate().unwrap();
}

/// Writes `splits` with every image passed through `f` as an MNIST folder under `dir`.
fn variant(dir: &Path, splits: &DataSplits, f: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let map = |d: &ImageDataset| {
        let pixels: Vec<u8> = (0..d.len()).flat_map(|i| f(d.image(i))).collect();
        ImageDataset::new(
            pixels,
            d.labels().to_vec(),
            d.image_shape(),
            d.class_names().to_vec(),
        )
    };
    let out = DataSplits {
        train: map(&splits.train),
        test: map(&splits.test),
    };
    write_mnist_dir(dir, &out).unwrap();
    format!("mnist:{}", dir.display())
}

#[test]
fn same_data_is_no_drift_darkened_is_input_drift_rotated_is_prediction_drift() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::Mlp;
    exp.train.batch_size = 32;
    exp.data.limit_train = 2000;
    exp.train.epochs = 1;
    exp.train.device = DeviceChoice::Flex;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train(&exp, &run, &mut Silent).unwrap();
    let t = DriftThresholds::default();
    let check = |data: &str, name: &str| -> DriftReport {
        let out = tmp.path().join(name);
        let r = check_drift(&run, data, None, None, &t, &out, &mut Silent).unwrap();
        assert!(out.join("monitor.png").exists());
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("monitor.json")).unwrap())
                .unwrap();
        assert_eq!(json["verdict"], r.verdict.as_str());
        assert_eq!(json["thresholds"]["ks_p"], 0.01);
        r
    };

    // The run's own source: predictions are compared on the same 10,000 test images (D = 0,
    // PSI = 0); the inputs are MNIST's test images against the run's 1,800 training images:
    // pixel PSI measured 0.0001.
    let same = check("bundled", "same");
    // No [early_stopping]: the run tested its last epoch's weights, and so does the monitor.
    assert!(same.weights.ends_with("checkpoints/last.bpk"), "{same:#?}");
    assert_eq!(same.verdict, "no drift", "{same:#?}");
    assert!(!same.drift);
    assert_eq!(same.predictions.ks.d, 0.0);
    assert_eq!(same.predictions.confidence_psi, 0.0);
    assert_eq!(same.accuracy.drop_points, 0.0);
    assert!(same.inputs.max_psi < 0.01, "{}", same.inputs.max_psi);
    assert_eq!(
        (same.reference_train_images, same.new_images),
        (1800, 10_000)
    );

    let mnist = bundled_mnist().unwrap();
    // Every pixel halved: the bright strokes leave the top bins. Measured: pixel PSI 1.01,
    // mean 0.131 -> 0.065; the model notices too (confidence KS D 0.41, PSI 1.21) and loses
    // 12.3 accuracy points, so the verdict is "drift in inputs and predictions; accuracy drop
    // 12.3 points".
    let dark = variant(&tmp.path().join("dark"), &mnist, |img| {
        img.iter().map(|&p| p / 2).collect()
    });
    let dark = check(&dark, "dark-report");
    assert!(dark.inputs.drift, "{dark:#?}");
    assert!(dark.inputs.max_psi > 0.5, "{}", dark.inputs.max_psi);
    let ch = &dark.inputs.channels[0];
    assert!(
        (ch.new_mean - ch.reference_mean / 2.0).abs() < 0.01,
        "{ch:?}"
    );
    assert!(
        dark.verdict.starts_with("drift in inputs"),
        "{}",
        dark.verdict
    );

    // Rotated 90° counter-clockwise (exact for 28×28 with nearest sampling): the same pixel
    // values, so the inputs pass (PSI 0.0001, as for the same data); the predictions do not:
    // measured confidence KS D 0.443 (p below f64's range, 0), confidence PSI 1.34,
    // predicted-class PSI 1.40, and accuracy falls 73.8 points.
    let rotate = AffineParams::rotation(90.0, Interpolation::Nearest, [0; 3]);
    let rotated = variant(&tmp.path().join("rotated"), &mnist, |img| {
        let image = AugImage::from_raw(28, 28, 1, img.to_vec()).unwrap();
        affine(&image, &rotate).as_raw().to_vec()
    });
    let rotated = check(&rotated, "rotated-report");
    assert!(!rotated.inputs.drift, "{}", rotated.inputs.max_psi);
    assert!(rotated.predictions.drift, "{rotated:#?}");
    assert!(rotated.accuracy.drift, "{}", rotated.accuracy.drop_points);
    assert!(rotated.accuracy.drop_points > 30.0);
    assert!(
        rotated
            .verdict
            .starts_with("drift in predictions; accuracy drop"),
        "{}",
        rotated.verdict
    );
    // The per-class table lists the largest recall drop first.
    let drops: Vec<f64> = rotated
        .accuracy
        .classes
        .iter()
        .filter_map(|c| c.recall_drop_points)
        .collect();
    assert!(drops.windows(2).all(|w| w[0] >= w[1]), "{drops:?}");
}
