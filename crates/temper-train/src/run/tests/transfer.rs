//! Transfer learning: a network trained on some classes fine-tuned on others with a new
//! classifier head, from a parent run (`--from`) and from a PyTorch `state_dict`
//! (`[model] pretrained`); and `temper export` back to one.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor};
use temper_data::{ImageData, ImageDataset, bundled_mnist};
use temper_model::pretrained::{PretrainedWeights, to_safetensors};
use temper_model::{Classifier, CnnConfig, TvResNetConfig};

use super::small_data::Said;
use crate::run::tests::training::SEEDED;
use crate::{
    DeviceChoice, EvalWeights, Experiment, FinetuneSection, ModelKind, Silent, TrainData,
    export_run, train, train_model,
};

/// The first `n` images of `d` whose digit is in `digits`, relabelled `0..digits.len()` and
/// named by their digit.
fn digits(d: &ImageDataset, digits: &[usize], n: usize) -> ImageDataset {
    let picked: Vec<usize> = (0..d.len())
        .filter(|&i| digits.contains(&ImageData::label(d, i)))
        .take(n)
        .collect();
    let kept = d.subset(&picked);
    let labels = (0..kept.len())
        .map(|i| {
            let digit = ImageData::label(&kept, i);
            digits.iter().position(|&x| x == digit).unwrap() as u8
        })
        .collect();
    let pixels = (0..kept.len())
        .flat_map(|i| kept.image(i).to_vec())
        .collect();
    let names = digits.iter().map(|x| x.to_string()).collect();
    ImageDataset::new(pixels, labels, kept.image_shape(), names)
}

/// Every float tensor of a checkpoint loaded into `model`, by path.
fn tensors(model: Classifier, path: &Path) -> BTreeMap<String, Vec<f32>> {
    let model = model
        .try_load_record(ModuleRecord::load(path).unwrap())
        .unwrap();
    let mut out = BTreeMap::new();
    collect_into(&model, &mut out);
    out
}

fn cnn(classes: usize) -> impl Fn(&Device) -> Classifier {
    move |d| CnnConfig::new().with_num_classes(classes).init(d).into()
}

#[test]
fn a_backbone_trained_on_five_digits_learns_the_other_five_with_a_new_head() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mnist = bundled_mnist().unwrap();
    let (low, high) = ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9]);
    let mut exp = Experiment::default();
    exp.train.device = DeviceChoice::Flex;
    exp.train.epochs = 1;
    exp.train.batch_size = 32;
    exp.data.valid_fraction = 0.0;
    let (train_low, test_low) = (
        digits(&mnist.train, &low, 3000),
        digits(&mnist.test, &low, 500),
    );
    let parent = dir.path().join("parent");
    let data = TrainData {
        train: &train_low,
        test: &test_low,
        name: "digits 0-4".into(),
    };
    train_model(&exp, cnn(5), data, &parent, &mut Silent).unwrap();

    // The other five digits, as many classes: the head is started afresh because the section
    // asks (its shape would fit), the convolutions stay frozen, and one epoch of 3,000 images
    // trains the dense layers on the parent's features.
    let (train_high, test_high) = (
        digits(&mnist.train, &high, 3000),
        digits(&mnist.test, &high, 1000),
    );
    let mut child = exp.clone();
    child.finetune = Some(FinetuneSection {
        from: parent.clone(),
        freeze: vec!["*convs*".into()],
        new_head: true,
        lr_factor: 1.0,
        ..FinetuneSection::default()
    });
    let data = TrainData {
        train: &train_high,
        test: &test_high,
        name: "digits 5-9".into(),
    };
    let mut said = Vec::new();
    let run = dir.path().join("child");
    let summary = train_model(&child, cnn(5), data, &run, &mut Said(&mut said)).unwrap();
    assert!(
        said.iter()
            .any(|m| m.contains("a new classifier head `Cnn.head.output`")),
        "{said:?}"
    );
    // Measured 0.926 on 1,000 test digits (chance is 0.2).
    assert!(summary.test.accuracy > 0.85, "{}", summary.test.accuracy);
    let before = tensors(
        cnn(5)(&Device::flex()),
        &parent.join("checkpoints/best.bpk"),
    );
    let after = tensors(cnn(5)(&Device::flex()), &run.join("checkpoints/best.bpk"));
    for (path, values) in &before {
        let frozen = path.contains("convs");
        assert_eq!(after[path] == *values, frozen, "{path}");
    }
}

#[test]
fn another_number_of_classes_starts_the_head_afresh_without_being_asked() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mnist = bundled_mnist().unwrap();
    let mut exp = Experiment::default();
    exp.train.device = DeviceChoice::Flex;
    exp.train.epochs = 1;
    exp.data.valid_fraction = 0.0;
    let (train3, test3) = (
        digits(&mnist.train, &[0, 1, 2], 300),
        digits(&mnist.test, &[0, 1, 2], 60),
    );
    let parent = dir.path().join("parent");
    let data = TrainData {
        train: &train3,
        test: &test3,
        name: "three".into(),
    };
    train_model(&exp, cnn(3), data, &parent, &mut Silent).unwrap();
    let (train2, test2) = (
        digits(&mnist.train, &[7, 8], 200),
        digits(&mnist.test, &[7, 8], 40),
    );
    let mut child = exp.clone();
    child.finetune = Some(FinetuneSection {
        from: parent.clone(),
        ..FinetuneSection::default()
    });
    let data = || TrainData {
        train: &train2,
        test: &test2,
        name: "two".into(),
    };
    let mut said = Vec::new();
    train_model(
        &child,
        cnn(2),
        data(),
        &dir.path().join("child"),
        &mut Said(&mut said),
    )
    .unwrap();
    assert!(
        said.iter().any(|m| m.contains("new classifier head")),
        "{said:?}"
    );

    // A body that does not fit is still refused, naming the tensor and both shapes.
    let wider = |d: &Device| -> Classifier {
        CnnConfig::new()
            .with_channels(vec![16, 64])
            .with_num_classes(2)
            .init(d)
            .into()
    };
    let err = train_model(
        &child,
        wider,
        data(),
        &dir.path().join("wider"),
        &mut Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("finetune.from"), "{err}");
    assert!(
        err.contains("`Cnn.convs.0.weight` is [32, 1, 3, 3]"),
        "{err}"
    );
    assert!(!dir.path().join("wider").exists());
}

#[test]
fn a_pretrained_file_starts_a_run_and_the_run_exports_back_to_one() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    // A one-channel ResNet-20 for 10 classes, written as PyTorch would (torchvision names,
    // [out, in] linear weights, BatchNorm counters).
    device.seed(11);
    let source: Classifier = TvResNetConfig::resnet20()
        .with_in_channels(1)
        .with_image_size([28, 28])
        .init(&device)
        .into();
    let file = dir.path().join("resnet20.safetensors");
    std::fs::write(&file, to_safetensors(&source, "resnet20").unwrap()).unwrap();

    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::ResNet20;
    exp.model.pretrained = Some(file.clone());
    exp.train.device = DeviceChoice::Flex;
    exp.train.epochs = 1;
    exp.data.limit_train = 256;
    // A linear probe: everything but the head stays as the file has it.
    exp.finetune = Some(FinetuneSection {
        freeze: vec![
            "TvResNet.conv1.*".into(),
            "TvResNet.bn1.*".into(),
            "*layer*".into(),
        ],
        ..FinetuneSection::default()
    });
    let mut said = Vec::new();
    let run = dir.path().join("run");
    train(&exp, &run, &mut Said(&mut said)).unwrap();
    // The stem (a convolution and a BatchNorm's four tensors), nine blocks of two of each, two
    // projection shortcuts of one of each and the linear head: 5 + 90 + 10 + 2.
    assert!(
        said.iter()
            .any(|m| m.starts_with("pretrained: 107 tensors from ")),
        "{said:?}"
    );

    let exported = export_run(&run, Some(EvalWeights::Last), None, &mut Silent).unwrap();
    assert_eq!(exported.file, run.join("model.safetensors"));
    // Reading the export into a fresh model gives the checkpoint, bit for bit; the frozen
    // weights are still the source file's.
    let fresh = || -> Classifier {
        TvResNetConfig::resnet20()
            .with_in_channels(1)
            .with_image_size([28, 28])
            .init(&device)
            .into()
    };
    let weights = PretrainedWeights::read(&exported.file, &fresh()).unwrap();
    let reloaded = weights.apply(fresh()).unwrap();
    let last = tensors(fresh(), &run.join("checkpoints/last.bpk"));
    let mut visit = BTreeMap::new();
    collect_into(&reloaded, &mut visit);
    assert_eq!(visit, last);
    let mut original = BTreeMap::new();
    collect_into(&source, &mut original);
    for (path, values) in &original {
        let frozen_param = path.contains("layer") && !path.contains("running");
        if frozen_param {
            assert_eq!(&last[path], values, "{path}");
        }
    }
    assert_ne!(last["TvResNet.fc.weight"], original["TvResNet.fc.weight"]);

    // Nothing is overwritten.
    let err = export_run(&run, None, None, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("exists; export writes a new file"), "{err}");
}

#[test]
fn gradual_unfreezing_layer_decay_and_frozen_batch_norm_hold_what_they_promise() {
    let _serial = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    device.seed(12);
    let resnet20 = || -> Classifier {
        TvResNetConfig::resnet20()
            .with_in_channels(1)
            .with_image_size([28, 28])
            .init(&device)
            .into()
    };
    let source = resnet20();
    let file = dir.path().join("resnet20.safetensors");
    std::fs::write(&file, to_safetensors(&source, "resnet20").unwrap()).unwrap();
    let mut exp = Experiment::default();
    exp.model.kind = ModelKind::ResNet20;
    exp.model.pretrained = Some(file);
    exp.train.device = DeviceChoice::Flex;
    exp.train.epochs = 2;
    exp.data.limit_train = 128;
    exp.finetune = Some(
        toml::from_str("layer_decay = 0.5\nunfreeze = { every = 1 }\nbn = \"frozen\"").unwrap(),
    );
    let mut said = Vec::new();
    let run = dir.path().join("run");
    train(&exp, &run, &mut Said(&mut said)).unwrap();
    // Stages: conv1, bn1, nine blocks, fc: twelve, the lowest at 0.5^11.
    for expected in [
        "BatchNorm frozen: 21 layers keep their statistics",
        "layer decay: 12 stages, rate factors from 4.883e-4 (conv1) to 1 (TvResNet.fc)",
        "unfreezing: epoch 1 trains 1 of 12 stages (from TvResNet.fc)",
        "unfreezing: epoch 2 trains 2 of 12 stages (from layer3.2)",
    ] {
        assert!(said.iter().any(|m| m == expected), "{expected}: {said:?}");
    }
    let last = tensors(resnet20(), &run.join("checkpoints/last.bpk"));
    let mut original = BTreeMap::new();
    collect_into(&source, &mut original);
    for (path, values) in &original {
        // Running statistics never move; weights move only in the two stages trained.
        let trained =
            (path.contains("layer3.2") || path.contains(".fc.")) && !path.contains("running");
        assert_eq!(last[path] != *values, trained, "{path}");
    }
}

/// Every float tensor of `model` (BatchNorm statistics included) into `out`, by path.
pub(super) fn collect_into(model: &Classifier, out: &mut BTreeMap<String, Vec<f32>>) {
    struct Collect<'a> {
        path: Vec<String>,
        out: &'a mut BTreeMap<String, Vec<f32>>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.out.insert(self.path.join("."), values);
        }
    }
    model.visit(&mut Collect {
        path: Vec::new(),
        out,
    });
}
