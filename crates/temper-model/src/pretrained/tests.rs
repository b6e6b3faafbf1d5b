//! Parity with PyTorch from the committed fixtures (`fixtures/make_fixtures.py`, torch 2.15,
//! torchvision 0.29.2; `fixtures/README.md` lists the files), the export round trip, and
//! hostile files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::SafeTensors;

use super::*;
use crate::zoo::{MobileNetFeature, TvResNet};
use crate::{MlpConfig, MobileNetV2Config, TvResNetConfig};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/torchvision")
        .join(name)
}

/// The `f32` tensors of an `_io.safetensors` file: shape and values by name.
fn io_tensors(name: &str) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(fixture(&format!("{name}_io.safetensors"))).expect("fixture");
    let file = SafeTensors::deserialize(&bytes).expect("safetensors");
    file.tensors()
        .into_iter()
        .map(|(key, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (key, (view.shape().to_vec(), values))
        })
        .collect()
}

fn tensor<const D: usize>((shape, values): &(Vec<usize>, Vec<f32>), device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.clone(), shape.clone()), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

/// `max |got - want| <= rel * max |want|`: the tolerance relative to the output's scale, as
/// single elements near zero make an element-wise relative bound meaningless.
fn assert_close(got: &[f32], want: &[f32], rel: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = got
        .iter()
        .zip(want)
        .fold(0f32, |m, (g, w)| m.max((g - w).abs()));
    assert!(
        worst <= rel * scale,
        "{what}: max error {worst} against scale {scale} (bound {rel} relative)"
    );
}

/// The four fixture models, built as `make_fixtures.py` builds them in torchvision.
fn fixture_model(name: &str, device: &Device) -> Classifier {
    match name {
        // torchvision `ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)`.
        "resnet_basic" => TvResNetConfig::resnet18()
            .with_layers(vec![1; 4])
            .with_num_classes(10)
            .with_image_size([64, 64])
            .init(device)
            .into(),
        // torchvision `ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10, width_per_group=16)`.
        "resnet_bottleneck" => TvResNetConfig::resnet50()
            .with_layers(vec![1; 4])
            .with_width_per_group(16)
            .with_num_classes(10)
            .with_image_size([64, 64])
            .init(device)
            .into(),
        // torchvision `mobilenet_v2(width_mult=0.25, num_classes=10)`.
        "mobilenet_v2" => MobileNetV2Config::new()
            .with_width_mult(0.25)
            .with_num_classes(10)
            .with_image_size([64, 64])
            .init(device)
            .into(),
        // chenyaofo/pytorch-cifar-models' `cifar10_resnet20`.
        "resnet20" => TvResNetConfig::resnet20().init(device).into(),
        other => panic!("no fixture {other}"),
    }
}

fn weights_file(name: &str) -> PathBuf {
    match name {
        "resnet20" => fixture("resnet20.pt"),
        other => fixture(&format!("{other}.safetensors")),
    }
}

const FIXTURES: [&str; 4] = [
    "resnet_basic",
    "resnet_bottleneck",
    "mobilenet_v2",
    "resnet20",
];

#[test]
fn every_fixture_gives_pytorchs_eval_logits_within_1e_4() {
    // resnet_basic and resnet_bottleneck are stored in f16 (PyTorch computed with those
    // weights in f32), mobilenet_v2 in f32 safetensors, resnet20 as a `torch.save` zip.
    let device = Device::flex();
    for name in FIXTURES {
        let (model, weights) =
            load_pretrained(fixture_model(name, &device), &weights_file(name)).expect(name);
        assert_eq!(weights.new_head(), None, "{name}");
        let io = io_tensors(name);
        let logits = model.valid().forward(tensor(&io["input"], &device));
        assert_close(&values(logits), &io["logits"].1, 1e-4, name);
    }
}

/// The block `make_fixtures.py` ran in training mode: `layer2[0]` or `features[2]`.
fn block_forward(model: &Classifier, x: Tensor<4>) -> Tensor<4> {
    match model {
        Classifier::TvResNet(m) => m.block(1, 0).forward(x),
        Classifier::MobileNetV2(m) => match m.feature(2) {
            MobileNetFeature::Block(b) => b.forward(x),
            MobileNetFeature::Conv(c) => c.forward(x),
        },
        _ => unreachable!("fixtures are torchvision layouts"),
    }
}

/// The running statistics of the block's first BatchNorm, in visit order.
#[derive(Default)]
struct FirstBn {
    path: Vec<String>,
    found: HashMap<String, Vec<f32>>,
}

impl ModuleVisitor for FirstBn {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = self.path.join(".");
        self.found.insert(path, values(param.val()));
    }
}

fn first_bn_stats(model: &Classifier, name: &str) -> (Vec<f32>, Vec<f32>) {
    let mut v = FirstBn::default();
    model.visit(&mut v);
    let bn = match name {
        "mobilenet_v2" => "MobileNetV2.features.2.Block.expand.bn",
        _ => "TvResNet.layer2.0.bn1",
    };
    let get = |stat: &str| {
        v.found
            .get(&format!("{bn}.{stat}"))
            .unwrap_or_else(|| panic!("{bn}.{stat} in {:?}", v.found.keys()))
            .clone()
    };
    (get("running_mean"), get("running_var"))
}

#[test]
fn every_fixture_block_in_training_mode_matches_pytorch() {
    // Batch statistics normalize with the biased variance in both frameworks, so the outputs
    // agree; the running variance does not: PyTorch blends in the unbiased variance
    // (`torch.nn.functional.batch_norm`), Burn the biased one (`batch_norm_train` returns
    // `mean((x - mean)^2)`). With n values per channel, Burn's update is PyTorch's with the
    // batch term scaled by (n - 1) / n, which is what is checked.
    let device = Device::flex().autodiff();
    for name in FIXTURES {
        let (model, _) =
            load_pretrained(fixture_model(name, &device), &weights_file(name)).expect(name);
        let (old_mean, old_var) = first_bn_stats(&model, name);
        let io = io_tensors(name);
        let x: Tensor<4> = tensor(&io["block_input"], &device);
        let [batch, _, h, w] = x.dims();
        let out = block_forward(&model, x);
        assert_close(
            &values(out.detach()),
            &io["block_output"].1,
            1e-4,
            &format!("{name} block"),
        );
        // Burn keeps a training step's statistics per thread until they are synchronized,
        // which `valid()` does (`RunningState::valid`); a plain visit would read the value
        // before the step.
        let (mean, var) = first_bn_stats(&model.valid(), name);
        // Values per channel the first BN normalizes: a basic block strides its first 3x3
        // convolution (layer2[0] halves the resolution), a bottleneck its second, and
        // MobileNetV2's expansion is a 1x1 at stride 1.
        let stride = match name {
            "resnet_basic" | "resnet20" => 2,
            _ => 1,
        };
        let n = (batch * (h / stride) * (w / stride)) as f32;
        let torch_var = &io["block_running_var"].1;
        let burn_var: Vec<f32> = torch_var
            .iter()
            .zip(&old_var)
            .map(|(t, old)| 0.9 * old + (t - 0.9 * old) * (n - 1.0) / n)
            .collect();
        assert_close(&mean, &io["block_running_mean"].1, 1e-5, name);
        assert_close(&var, &burn_var, 1e-5, name);
        assert_ne!(mean, old_mean, "{name}: training updates the running mean");
    }
}

fn keys(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(&format!("keys/{name}.txt")))
        .expect("keys")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn exported_state_dicts_carry_torchvisions_keys_in_order() {
    let device = Device::flex();
    let cases: [(&str, Classifier); 5] = [
        ("resnet18", TvResNetConfig::resnet18().init(&device).into()),
        ("resnet34", TvResNetConfig::resnet34().init(&device).into()),
        ("resnet50", TvResNetConfig::resnet50().init(&device).into()),
        (
            "mobilenet_v2",
            MobileNetV2Config::new().init(&device).into(),
        ),
        ("resnet20", TvResNetConfig::resnet20().init(&device).into()),
    ];
    for (name, model) in cases {
        assert_eq!(state_dict_keys(&model), keys(name), "{name}");
    }
}

/// Every float tensor of a module by path, as bits.
#[derive(Default)]
struct Bits {
    path: Vec<String>,
    tensors: Vec<(String, Vec<u32>)>,
}

impl ModuleVisitor for Bits {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let bits = values(param.val()).iter().map(|v| v.to_bits()).collect();
        self.tensors.push((self.path.join("."), bits));
    }
}

fn bits(model: &Classifier) -> Vec<(String, Vec<u32>)> {
    let mut v = Bits::default();
    model.visit(&mut v);
    v.tensors
}

#[test]
fn an_export_loads_back_bit_for_bit_and_fits_the_fixture_keys() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    for name in ["mobilenet_v2", "resnet20"] {
        device.seed(1);
        let model = fixture_model(name, &device);
        let bytes = to_safetensors(&model, name).expect("export");
        let path = dir.path().join(format!("{name}.safetensors"));
        std::fs::write(&path, &bytes).unwrap();
        device.seed(2);
        let (loaded, _) = load_pretrained(fixture_model(name, &device), &path).expect(name);
        assert_eq!(bits(&loaded), bits(&model), "{name}");
        let key_file = if name == "mobilenet_v2" {
            "mobilenet_v2_w025"
        } else {
            name
        };
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mut written: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
        let mut expected = keys(key_file);
        written.sort();
        expected.sort();
        assert_eq!(written, expected, "{name}");
    }
}

#[test]
fn another_number_of_classes_keeps_the_fresh_head_and_loads_the_rest() {
    let device = Device::flex();
    device.seed(3);
    let fresh: Classifier = TvResNetConfig::resnet20()
        .with_num_classes(5)
        .init(&device)
        .into();
    let before = bits(&fresh);
    let (model, weights) = load_pretrained(fresh, &fixture("resnet20.pt")).unwrap();
    assert_eq!(
        weights.new_head(),
        Some(NewHead {
            file_classes: 10,
            classes: 5
        })
    );
    let after = bits(&model);
    for ((path, a), (_, b)) in after.iter().zip(&before) {
        let head = path.starts_with("TvResNet.fc.");
        assert_eq!(
            a == b,
            head,
            "{path}: only the head keeps its initialization"
        );
    }
}

fn load_err(model: Classifier, path: &Path) -> String {
    match load_pretrained(model, path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_tensor_of_another_shape_is_named_with_both_shapes() {
    let device = Device::flex();
    let narrower: Classifier = TvResNetConfig::resnet20()
        .with_widths(vec![8, 32, 64])
        .init(&device)
        .into();
    let message = load_err(narrower, &fixture("resnet20.pt"));
    assert!(
        message.contains(
            "tensor `conv1.weight` is [16, 3, 3, 3] in the file, the model's is [8, 3, 3, 3]"
        ),
        "{message}"
    );
    assert!(message.starts_with("model.pretrained "), "{message}");
}

#[test]
fn missing_and_unexpected_tensors_are_refused_as_pytorchs_strict_load() {
    let device = Device::flex();
    let shallower: Classifier = TvResNetConfig::resnet20()
        .with_layers(vec![3, 3, 2])
        .init(&device)
        .into();
    let message = load_err(shallower, &fixture("resnet20.pt"));
    assert!(
        message.contains("tensor `layer3.2.bn1.bias` is not in the model (and"),
        "{message}"
    );
    let other = load_err(
        TvResNetConfig::resnet20().init(&device).into(),
        &fixture("mobilenet_v2.safetensors"),
    );
    assert!(other.contains("has no tensor `conv1.weight`"), "{other}");
}

/// The bytes of a safetensors file with one `F32` tensor per entry.
fn safetensors_file(entries: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = entries
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            let view =
                safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes).expect("view");
            (name.to_string(), view)
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}

#[test]
fn hostile_files_are_one_line_errors_not_panics() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let mlp = || -> Classifier {
        MlpConfig::new()
            .with_input_size(4)
            .with_hidden(vec![])
            .with_num_classes(2)
            .init(&device)
            .into()
    };
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let good = std::fs::read(fixture("mobilenet_v2.safetensors")).unwrap();
    let truncated = write("cut.safetensors", &good[..good.len() / 2]);
    let pt = std::fs::read(fixture("resnet20.pt")).unwrap();
    let cut_pt = write("cut.pt", &pt[..pt.len() / 3]);
    let garbage = write("garbage.pth", b"not a zip and not a pickle");
    let unknown = write("weights.h5", b"HDF");
    // A header that claims 2^40 floats over 8 bytes of data.
    let header =
        br#"{"head.output.weight":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,8]}}"#;
    let mut huge = (header.len() as u64).to_le_bytes().to_vec();
    huge.extend_from_slice(header);
    huge.extend_from_slice(&[0; 8]);
    let huge = write("huge.safetensors", &huge);
    let ints = write(
        "ints.safetensors",
        &safetensors_file(&[
            (
                "head.output.weight",
                safetensors::Dtype::I64,
                vec![2, 4],
                vec![0; 64],
            ),
            (
                "head.output.bias",
                safetensors::Dtype::F32,
                vec![2],
                vec![0; 8],
            ),
        ]),
    );
    let cases: [(&Path, &str); 7] = [
        (&truncated, "not a readable safetensors file"),
        (&cut_pt, "not a readable PyTorch file"),
        (&garbage, "not a readable PyTorch file"),
        (&unknown, "expected a .safetensors, .pt or .pth file"),
        (&huge, "not a readable safetensors file"),
        (
            &ints,
            "tensor `head.output.weight` is I64, not floating point",
        ),
        (dir.path(), "is not a regular file"),
    ];
    for (path, expected) in cases {
        let message = load_err(mlp(), path);
        assert!(message.contains(expected), "{}: {message}", path.display());
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn a_data_parallel_prefix_is_read_past() {
    // `torch.save(nn.DataParallel(model).state_dict())` prefixes every key with `module.`.
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let weight: Vec<u8> = (0..8).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let bias: Vec<u8> = [0.5f32, -0.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let path = dir.path().join("dp.safetensors");
    std::fs::write(
        &path,
        safetensors_file(&[
            (
                "module.head.output.weight",
                safetensors::Dtype::F32,
                vec![2, 4],
                weight,
            ),
            (
                "module.head.output.bias",
                safetensors::Dtype::F32,
                vec![2],
                bias,
            ),
        ]),
    )
    .unwrap();
    let model: Classifier = MlpConfig::new()
        .with_input_size(4)
        .with_hidden(vec![])
        .with_num_classes(2)
        .init(&device)
        .into();
    let (model, weights) = load_pretrained(model, &path).unwrap();
    assert_eq!(weights.len(), 2);
    // PyTorch's `[out, in]` weight [[0, 1, 2, 3], [4, 5, 6, 7]] applied to ones, plus bias.
    let logits = model.forward(Tensor::ones([1, 1, 2, 2], &device));
    assert_eq!(values(logits), vec![6.5, 21.5]);
}

#[test]
fn tv_resnet_block_accessor_reaches_layer2() {
    // Guards the test helper above: `block(1, 0)` is `layer2[0]`, the stride-2 block.
    let device = Device::flex();
    let model: TvResNet = TvResNetConfig::resnet20().init(&device);
    let out = model
        .block(1, 0)
        .forward(Tensor::zeros([1, 16, 8, 8], &device));
    assert_eq!(out.dims(), [1, 32, 4, 4]);
}
