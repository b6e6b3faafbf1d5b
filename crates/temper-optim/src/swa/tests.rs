//! SWA's average against the arithmetic mean of its snapshots, and `update_bn` against the
//! batch statistics computed by hand.
use super::*;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, TensorData};
use temper_compress::settings::SwaAnneal;

fn settings() -> SwaSettings {
    SwaSettings {
        start_epoch: 2,
        lr: 0.05,
        anneal_epochs: 0,
        anneal: SwaAnneal::Cos,
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// `layer` with its weight set to `w` (shape [2, 3]) and its bias to `b`.
fn with_weights(layer: &Linear, w: [f32; 6], b: [f32; 3], device: &Device) -> Linear {
    let mut out = layer.clone();
    out.weight = out
        .weight
        .map(|_| Tensor::from_data(TensorData::new(w.to_vec(), [2, 3]), device));
    out.bias = out
        .bias
        .map(|p| p.map(|_| Tensor::from_data(TensorData::new(b.to_vec(), [3]), device)));
    out
}

#[test]
fn the_average_after_k_updates_is_the_mean_of_the_k_snapshots() {
    let device = Device::flex();
    let base = LinearConfig::new(2, 3).init(&device);
    let snapshots = [
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 0.0, -1.0]),
        ([0.5, -2.0, 3.5, 0.0, 1.0, 2.0], [2.0, 2.0, 2.0]),
        ([-1.0, 4.0, 0.0, 1.0, -5.0, 0.5], [0.0, 1.0, 5.0]),
        ([2.0, 2.0, 2.0, 2.0, 2.0, 2.0], [-3.0, 0.5, 0.25]),
    ];
    let mut swa = ModelSwa::new(&settings());
    for (k, (w, b)) in snapshots.iter().enumerate() {
        swa.update(&with_weights(&base, *w, *b, &device)).unwrap();
        assert_eq!(swa.count(), k + 1);
        let average = swa.average().unwrap();
        for (i, got) in values(average.weight.val()).iter().enumerate() {
            let mean = snapshots[..=k].iter().map(|(w, _)| w[i]).sum::<f32>() / (k + 1) as f32;
            assert!(
                (got - mean).abs() < 1e-6,
                "weight {i} after {k}: {got} vs {mean}"
            );
        }
        let bias = values(average.bias.as_ref().unwrap().val());
        for (i, got) in bias.iter().enumerate() {
            let mean = snapshots[..=k].iter().map(|(_, b)| b[i]).sum::<f32>() / (k + 1) as f32;
            assert!((got - mean).abs() < 1e-6);
        }
    }
}

#[test]
fn an_update_with_another_model_is_refused_and_keeps_the_average() {
    let device = Device::flex();
    let mut swa = ModelSwa::new(&settings());
    swa.update(&LinearConfig::new(2, 3).init(&device)).unwrap();
    let kept = values(swa.average().unwrap().weight.val());
    let err = swa
        .update(&LinearConfig::new(4, 3).init(&device))
        .unwrap_err();
    assert!(err.to_string().starts_with("optim.swa:"), "{err}");
    assert_eq!(values(swa.average().unwrap().weight.val()), kept);
    assert_eq!(swa.count(), 1);
}

#[test]
fn swa_averages_from_its_start_epoch() {
    let swa: ModelSwa<Linear> = ModelSwa::new(&settings());
    assert!(!swa.averages(1));
    assert!(swa.averages(2) && swa.averages(7));
}

/// Mean and biased variance of each column of `x` (`[n, c]`).
fn column_stats(x: &[Vec<f32>]) -> (Vec<f64>, Vec<f64>) {
    let (n, c) = (x.len() as f64, x[0].len());
    let mean: Vec<f64> = (0..c)
        .map(|j| x.iter().map(|r| f64::from(r[j])).sum::<f64>() / n)
        .collect();
    let var = (0..c)
        .map(|j| {
            x.iter()
                .map(|r| (f64::from(r[j]) - mean[j]).powi(2))
                .sum::<f64>()
                / n
        })
        .collect();
    (mean, var)
}

fn batches() -> Vec<Vec<Vec<f32>>> {
    vec![
        vec![vec![1.0, 10.0], vec![3.0, 14.0], vec![2.0, 9.0]],
        vec![vec![-1.0, 0.0], vec![5.0, 2.0], vec![0.0, 1.0]],
        vec![vec![4.0, 4.0], vec![4.5, 3.0], vec![6.0, 8.0]],
    ]
}

fn recompute(norm: BatchNorm, data: &[Vec<Vec<f32>>]) -> BatchNorm {
    let device = Device::flex().autodiff();
    update_batch_norm(norm, data.len(), |model, i| {
        let rows = &data[i];
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let x = Tensor::<2>::from_data(TensorData::new(flat, [rows.len(), 2]), &device);
        let _ = model.forward(x);
    })
}

#[test]
fn update_bn_sets_the_statistics_to_the_mean_of_the_batch_statistics() {
    // Two momenta: the average must not depend on the layer's momentum (PyTorch's update_bn
    // sets momentum = None, a cumulative average).
    for momentum in [0.1, 0.35] {
        let norm = BatchNormConfig::new(2)
            .with_momentum(momentum)
            .init(&Device::flex());
        let out = recompute(norm, &batches());
        let stats: Vec<_> = batches().iter().map(|b| column_stats(b)).collect();
        let mean = values(out.running_mean.value());
        let var = values(out.running_var.value());
        for j in 0..2 {
            let want_mean = stats.iter().map(|(m, _)| m[j]).sum::<f64>() / 3.0;
            let want_var = stats.iter().map(|(_, v)| v[j]).sum::<f64>() / 3.0;
            assert!(
                (f64::from(mean[j]) - want_mean).abs() < 1e-4,
                "m {momentum}: {mean:?}"
            );
            assert!(
                (f64::from(var[j]) - want_var).abs() < 1e-3,
                "m {momentum}: {var:?}"
            );
        }
    }
}

#[test]
fn update_bn_on_one_batch_of_all_the_data_gives_the_datas_statistics() {
    let all: Vec<Vec<f32>> = batches().into_iter().flatten().collect();
    let (mean, var) = column_stats(&all);
    let out = recompute(BatchNormConfig::new(2).init(&Device::flex()), &[all]);
    let got_mean = values(out.running_mean.value());
    let got_var = values(out.running_var.value());
    for j in 0..2 {
        assert!((f64::from(got_mean[j]) - mean[j]).abs() < 1e-4);
        // Burn's running variance is the biased one (PyTorch keeps n / (n − 1) times it).
        assert!((f64::from(got_var[j]) - var[j]).abs() < 1e-3);
    }
}

#[test]
fn update_bn_leaves_a_model_without_batch_norm_unchanged() {
    let device = Device::flex();
    let layer = LinearConfig::new(2, 3).init(&device);
    let before = values(layer.weight.val());
    let mut calls = 0;
    let out = update_batch_norm(layer, 5, |_, _| calls += 1);
    assert_eq!(calls, 0);
    assert_eq!(values(out.weight.val()), before);
}
