//! PyTorch names of a [`Classifier`]'s tensors.
//!
//! burn-store collects a module's tensors under their Burn paths (`layer1.0.bn1.gamma`); with
//! [`BurnToPyTorchAdapter`] normalization parameters read `weight`/`bias` and a linear
//! weight is transposed to PyTorch's `[out, in]`, and with enum variants skipped a
//! [`MobileNetFeature`](crate::zoo::MobileNetFeature) adds no path segment. What is left to
//! translate is where torchvision numbers the children of an `nn.Sequential` and temper names
//! them:
//!
//! | temper | torchvision |
//! |---|---|
//! | `layerS.B.downsample.conv` / `.bn` | `layerS.B.downsample.0` / `.1` |
//! | `features.N.conv` / `.bn` (stem, last 1×1) | `features.N.0` / `.1` |
//! | `features.N.expand.conv` / `.bn` | `features.N.conv.0.0` / `.0.1` |
//! | `features.N.depthwise.conv` / `.bn` | `features.N.conv.D.0` / `.D.1` |
//! | `features.N.project` / `project_bn` | `features.N.conv.D+1` / `.D+2` |
//! | MobileNetV2 `classifier` | `classifier.1` (after `classifier.0`, the dropout) |
//!
//! `D` is 1 in a block with an expansion and 0 in one without (`t = 1`, torchvision's
//! `features.1`), as `InvertedResidual` appends its layers to one list
//! (`torchvision/models/mobilenetv2.py`). temper's own `mlp`, `cnn` and `resnet` have no
//! torchvision counterpart and keep their Burn paths.

use std::collections::BTreeSet;

use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};

use crate::Classifier;

/// One tensor of a model as PyTorch names and shapes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    /// The PyTorch name (`layer1.0.downsample.0.weight`).
    pub torch: String,
    /// The Burn path with PyTorch's parameter names (`layer1.0.downsample.conv.weight`):
    /// what burn-store's `PyTorchToBurnAdapter` matches when the tensor is applied.
    pub burn: String,
    /// The shape in PyTorch's layout (a linear weight is `[out, in]`).
    pub shape: Vec<usize>,
}

/// How a model's paths translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Same,
    TvResNet,
    MobileNetV2,
}

fn layout(model: &Classifier) -> Layout {
    match model {
        Classifier::TvResNet(_) => Layout::TvResNet,
        Classifier::MobileNetV2(_) => Layout::MobileNetV2,
        Classifier::Mlp(_) | Classifier::Cnn(_) | Classifier::ResNet(_) => Layout::Same,
    }
}

/// Every float tensor of `model` (parameters and BatchNorm running statistics) with its
/// PyTorch name and shape, in the model's order. Reads no tensor data.
pub fn torch_tensors(model: &Classifier) -> Vec<TorchTensor> {
    collect_torch(model)
        .into_iter()
        .map(|(torch, t)| TorchTensor {
            torch,
            burn: t.name,
            shape: t.shape.to_vec(),
        })
        .collect()
}

/// The model's tensors in PyTorch's layout (data read lazily), each with its PyTorch name.
pub(super) fn collect_torch(model: &Classifier) -> Vec<(String, PackTensor)> {
    let collected = model.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true);
    let names: Vec<&str> = collected.iter().map(|t| t.name.as_str()).collect();
    let expanded = expanded_blocks(&names);
    let layout = layout(model);
    collected
        .into_iter()
        .map(|t| (torch_name(layout, &t.name, &expanded), t))
        .collect()
}

/// The `features` indices of MobileNetV2 blocks that have an expansion convolution.
fn expanded_blocks(names: &[&str]) -> BTreeSet<usize> {
    names
        .iter()
        .filter_map(|name| {
            let rest = name.strip_prefix("features.")?;
            let (index, rest) = rest.split_once('.')?;
            rest.starts_with("expand.")
                .then(|| index.parse().ok())
                .flatten()
        })
        .collect()
}

fn torch_name(layout: Layout, name: &str, expanded: &BTreeSet<usize>) -> String {
    match layout {
        Layout::Same => name.to_owned(),
        Layout::TvResNet => name
            .replace(".downsample.conv.", ".downsample.0.")
            .replace(".downsample.bn.", ".downsample.1."),
        Layout::MobileNetV2 => mobilenet_name(name, expanded),
    }
}

fn mobilenet_name(name: &str, expanded: &BTreeSet<usize>) -> String {
    if let Some(param) = name.strip_prefix("classifier.") {
        return format!("classifier.1.{param}");
    }
    let Some((index, rest)) = name
        .strip_prefix("features.")
        .and_then(|rest| rest.split_once('.'))
    else {
        return name.to_owned();
    };
    let d = usize::from(index.parse().is_ok_and(|i: usize| expanded.contains(&i)));
    let (layer, param) = rest.rsplit_once('.').unwrap_or((rest, ""));
    let torch_layer = match layer {
        "conv" => "0".to_owned(),
        "bn" => "1".to_owned(),
        "expand.conv" => "conv.0.0".to_owned(),
        "expand.bn" => "conv.0.1".to_owned(),
        "depthwise.conv" => format!("conv.{d}.0"),
        "depthwise.bn" => format!("conv.{d}.1"),
        "project" => format!("conv.{}", d + 1),
        "project_bn" => format!("conv.{}", d + 2),
        other => other.to_owned(),
    };
    format!("features.{index}.{torch_layer}.{param}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobilenet_blocks_number_their_layers_as_torchvision_does() {
        let expanded = BTreeSet::from([2]);
        let cases = [
            ("features.0.conv.weight", "features.0.0.weight"),
            ("features.0.bn.running_var", "features.0.1.running_var"),
            (
                "features.1.depthwise.conv.weight",
                "features.1.conv.0.0.weight",
            ),
            ("features.1.depthwise.bn.bias", "features.1.conv.0.1.bias"),
            ("features.1.project.weight", "features.1.conv.1.weight"),
            ("features.1.project_bn.weight", "features.1.conv.2.weight"),
            (
                "features.2.expand.conv.weight",
                "features.2.conv.0.0.weight",
            ),
            (
                "features.2.expand.bn.running_mean",
                "features.2.conv.0.1.running_mean",
            ),
            (
                "features.2.depthwise.conv.weight",
                "features.2.conv.1.0.weight",
            ),
            ("features.2.project.weight", "features.2.conv.2.weight"),
            ("features.2.project_bn.bias", "features.2.conv.3.bias"),
            ("classifier.weight", "classifier.1.weight"),
        ];
        for (ours, torch) in cases {
            assert_eq!(mobilenet_name(ours, &expanded), torch, "{ours}");
        }
    }

    #[test]
    fn resnet_shortcuts_become_torchvision_sequential_indices() {
        let none = BTreeSet::new();
        assert_eq!(
            torch_name(Layout::TvResNet, "layer2.0.downsample.bn.weight", &none),
            "layer2.0.downsample.1.weight"
        );
        assert_eq!(
            torch_name(Layout::TvResNet, "layer2.0.conv1.weight", &none),
            "layer2.0.conv1.weight"
        );
    }
}
