//! Channel (filter) pruning that shrinks a model: Li et al., "Pruning Filters for Efficient
//! ConvNets" (ICLR 2017, arXiv:1608.08710), §3.1.
//!
//! Each convolution's filters are ranked by the L1 norm of their weights, `s_j = Σ |F_j|`, and
//! the `m` smallest are removed together with the next layer's matching input channels; the
//! result is a smaller dense network, not a sparse one. The same rule removes the units of the
//! hidden fully connected layers (a unit's incoming weights play the filter's part); the
//! output layer keeps every class. The count per layer is torch's `ln_structured` count,
//! `round(fraction * out)` half to even with at least one kept, and the ranking is
//! [`temper_compress::channels`]'s.
//!
//! The head's first linear layer reads the last feature map flattened channel-major
//! (`feature = c * H * W + h * W + w`, or `c` with global pooling), so a removed channel `c`
//! removes the `H * W` inputs `c * H * W ..= c * H * W + H * W - 1`. Burn's `Linear` weight is
//! `[in, out]`, transposed from PyTorch's `[out, in]`: its output units are its columns.
//!
//! The smaller model is the original with every tensor sliced (Burn's `select`), so the
//! dropout kind and rate, padding, pooling and the training or validation mode carry over;
//! its parameters get new ids, as the shapes changed. [`Classifier::mask_channels`] zeroes the
//! removed filters in place instead: the same-size model the smaller one must match exactly,
//! since a zeroed filter with a zeroed bias outputs 0 after ReLU, max-pooling and dropout.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Int, Tensor, TensorData};
use temper_compress::channels::{filters_by_l1, filters_to_remove};

use crate::Classifier;
use crate::error::{ModelError, invalid};

/// Which output channels/units of each prunable layer are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelPlan {
    /// The prunable layers in forward order: the convolutions, then the hidden linear layers.
    pub layers: Vec<LayerKeep>,
}

/// The kept output channels of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerKeep {
    /// The layer's module path without enum variants: `convs.0`, `head.hidden.1`.
    pub name: String,
    /// The kept output channels (filters or units), ascending.
    pub kept: Vec<usize>,
    /// The layer's output channels before pruning.
    pub of: usize,
}

/// The widths of the smaller model, for its config (`[model] channels` / `hidden`).
#[derive(Debug, Clone, PartialEq)]
pub struct SlimWidths {
    /// The convolutions' widths (`CnnConfig::channels`); `None` for an MLP.
    pub channels: Option<Vec<usize>>,
    /// The hidden layers' widths (`hidden`).
    pub hidden: Vec<usize>,
}

/// One prunable layer as found in the model.
struct Layer {
    name: String,
    /// The weight's dims as Burn stores them.
    dims: Vec<usize>,
    /// The weight's values, row-major in Burn's layout.
    values: Vec<f32>,
}

impl Layer {
    fn is_conv(&self) -> bool {
        self.dims.len() == 4
    }

    /// Output channels: a convolution's `dims[0]`, a linear layer's `dims[1]` (`[in, out]`).
    fn outputs(&self) -> usize {
        if self.is_conv() {
            self.dims[0]
        } else {
            self.dims[1]
        }
    }

    /// The weight with the output channel leading (a linear weight transposed to `[out, in]`),
    /// as [`filters_by_l1`] reads it.
    fn out_major(&self) -> Vec<f32> {
        if self.is_conv() {
            return self.values.clone();
        }
        let [rows, cols] = [self.dims[0], self.dims[1]];
        (0..cols)
            .flat_map(|o| (0..rows).map(move |i| self.values[i * cols + o]))
            .collect()
    }
}

/// The prefix of a prunable layer's weight path, and its position: `convs.3` sorts before
/// every `head.hidden.N`.
fn prunable(path: &str) -> Option<(usize, usize)> {
    let layer = path.strip_suffix(".weight")?;
    let (group, index) = layer.rsplit_once('.')?;
    let index = index.parse().ok()?;
    match group {
        "convs" => Some((0, index)),
        "head.hidden" => Some((1, index)),
        _ => None,
    }
}

/// Collects the weights of the prunable layers, in forward order (their values only when
/// `values` is set: the plan needs them, slicing only the shapes).
#[derive(Default)]
struct Collect {
    values: bool,
    path: Vec<String>,
    layers: Vec<((usize, usize), Layer)>,
    /// Inputs of `head.output`, the classifier layer.
    output_inputs: usize,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(segment(name, container_type));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = join(&self.path);
        if path == "head.output.weight" {
            self.output_inputs = param.dims()[0];
        }
        if let Some(key) = prunable(&path) {
            let tensor = param.val();
            let dims = tensor.dims().to_vec();
            let values = if self.values {
                let data = tensor.into_data().convert::<f32>();
                data.try_to_vec::<f32>().expect("f32 after convert")
            } else {
                Vec::new()
            };
            let name = path.trim_end_matches(".weight").to_owned();
            self.layers.push((key, Layer { name, dims, values }));
        }
    }
}

/// A path segment; enum variants (`Cnn`, `Plain`) add none, as burn-store's
/// `skip_enum_variants` paths, so a name reads the same for every dropout kind.
fn segment(name: &str, container_type: &str) -> String {
    if container_type.starts_with("Enum:") {
        String::new()
    } else {
        name.to_owned()
    }
}

fn join(path: &[String]) -> String {
    path.iter()
        .filter(|s| !s.is_empty())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(".")
}

impl Classifier {
    /// The kind's name in messages, as `[model] kind` spells it.
    fn kind_name(&self) -> &'static str {
        match self {
            Classifier::Mlp(_) => "mlp",
            Classifier::Cnn(_) => "cnn",
            Classifier::ResNet(_) => "resnet",
            Classifier::TvResNet(_) => "resnet18/34/50/20/56 (torchvision's layout)",
            Classifier::MobileNetV2(_) => "mobilenet_v2",
        }
    }

    /// The prunable layers, in forward order, and the inputs of the output layer; an error for
    /// the kinds channel pruning does not cover.
    fn prunable_layers(&self, values: bool) -> Result<(Vec<Layer>, usize), ModelError> {
        if !matches!(self, Classifier::Mlp(_) | Classifier::Cnn(_)) {
            return Err(invalid(
                "kind",
                format!(
                    "channel pruning covers mlp and cnn, not {}: residual additions and \
                     depthwise convolutions tie channels across layers",
                    self.kind_name()
                ),
            ));
        }
        let mut collect = Collect {
            values,
            ..Collect::default()
        };
        self.visit(&mut collect);
        collect.layers.sort_by_key(|(key, _)| *key);
        let layers = collect.layers.into_iter().map(|(_, l)| l).collect();
        Ok((layers, collect.output_inputs))
    }

    /// Removes `fraction` of the filters of every conv layer and of the units of every hidden
    /// linear layer (never the output layer), by the L1 norm of each filter's/unit's weights.
    ///
    /// Covers `Cnn` and `Mlp` with any dropout kind: a drop-connect hidden layer holds a
    /// weight `[in, out]` as a plain one does and is pruned the same way. Other kinds are
    /// refused, naming the kind; a `fraction` outside `[0, 1)` is refused, naming
    /// `prune.sparsity`.
    pub fn channel_plan(&self, fraction: f64) -> Result<ChannelPlan, ModelError> {
        if !(fraction.is_finite() && (0.0..1.0).contains(&fraction)) {
            return Err(invalid(
                "kind",
                format!("channel pruning: prune.sparsity must be in [0, 1), got {fraction}"),
            ));
        }
        let layers = self
            .prunable_layers(true)?
            .0
            .into_iter()
            .map(|layer| {
                let of = layer.outputs();
                let remove = filters_to_remove(of, fraction);
                let kept = filters_by_l1(&layer.out_major(), of, remove)
                    .map_err(|e| invalid("kind", format!("{}: {e}", layer.name)))?;
                Ok(LayerKeep {
                    name: layer.name,
                    kept,
                    of,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(ChannelPlan { layers })
    }

    /// The smaller dense model keeping `plan`'s channels: conv weights `[out, in, kh, kw]`
    /// sliced on `out` (its filters) and `in` (the previous layer's kept channels), biases
    /// sliced; the first linear layer of the head reads the kept channels' features. Returns
    /// the widths for the config. A plan that does not fit the model (another model's) is an
    /// error.
    pub fn slim(&self, plan: &ChannelPlan) -> Result<(Classifier, SlimWidths), ModelError> {
        let cuts = self.cuts(plan)?;
        let slim = self.clone().map(&mut Slice {
            path: Vec::new(),
            cuts,
            mask: false,
        });
        let width = |conv: bool| -> Vec<usize> {
            plan.layers
                .iter()
                .filter(|l| l.name.starts_with("convs.") == conv)
                .map(|l| l.kept.len())
                .collect()
        };
        let channels = matches!(self, Classifier::Cnn(_)).then(|| width(true));
        let widths = SlimWidths {
            channels,
            hidden: width(false),
        };
        Ok((slim, widths))
    }

    /// The same-size model with the pruned channels' weights and biases set to zero (what the
    /// smaller model must compute exactly).
    ///
    /// # Panics
    /// When `plan` does not fit the model (use [`Classifier::channel_plan`]'s plan).
    pub fn mask_channels(&self, plan: &ChannelPlan) -> Classifier {
        let cuts = self.cuts(plan).expect("a plan of this model");
        self.clone().map(&mut Slice {
            path: Vec::new(),
            cuts,
            mask: true,
        })
    }

    /// For every tensor path, the dims to slice and the indices kept on each.
    fn cuts(&self, plan: &ChannelPlan) -> Result<HashMap<String, Vec<Cut>>, ModelError> {
        let (layers, output_inputs) = self.prunable_layers(false)?;
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        let planned: Vec<&str> = plan.layers.iter().map(|l| l.name.as_str()).collect();
        let fits = plan
            .layers
            .iter()
            .zip(&layers)
            .all(|(k, l)| k.of == l.outputs() && valid_kept(&k.kept, k.of));
        if names != planned || !fits {
            return Err(invalid(
                "kind",
                format!("the channel plan for {planned:?} does not fit this model's {names:?}"),
            ));
        }
        let mut cuts: HashMap<String, Vec<Cut>> = HashMap::new();
        // The inputs each layer keeps: the previous layer's kept outputs, each widened to the
        // `in / of` features it feeds (H * W for a flattened feature map, else 1).
        let mut inputs: Option<(usize, &[usize])> = None;
        for (layer, keep) in layers.iter().zip(&plan.layers) {
            let (out_dim, in_dim) = if layer.is_conv() { (0, 1) } else { (1, 0) };
            let mut weight = vec![Cut::new(out_dim, &keep.kept, 1)];
            if let Some((of, kept)) = inputs {
                weight.push(Cut::new(in_dim, kept, layer.dims[in_dim] / of));
            }
            cuts.insert(format!("{}.weight", layer.name), weight);
            cuts.insert(
                format!("{}.bias", layer.name),
                vec![Cut::new(0, &keep.kept, 1)],
            );
            inputs = Some((keep.of, &keep.kept));
        }
        if let Some((of, kept)) = inputs {
            cuts.insert(
                "head.output.weight".to_owned(),
                vec![Cut::new(0, kept, output_inputs / of)],
            );
        }
        Ok(cuts)
    }
}

/// Ascending, distinct, in range and not empty.
fn valid_kept(kept: &[usize], of: usize) -> bool {
    !kept.is_empty() && kept.windows(2).all(|w| w[0] < w[1]) && kept.iter().all(|&k| k < of)
}

/// One dim of a tensor and the indices kept on it.
struct Cut {
    dim: usize,
    kept: Vec<usize>,
}

impl Cut {
    /// Keeps, on `dim`, the `block` consecutive indices of every kept channel.
    fn new(dim: usize, kept: &[usize], block: usize) -> Self {
        let block = block.max(1);
        Self {
            dim,
            kept: kept
                .iter()
                .flat_map(|&c| c * block..(c + 1) * block)
                .collect(),
        }
    }
}

/// Slices (or, with `mask`, zeroes outside) the kept indices of each tensor in `cuts`.
struct Slice {
    path: Vec<String>,
    cuts: HashMap<String, Vec<Cut>>,
    mask: bool,
}

impl ModuleMapper for Slice {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(segment(name, container_type));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(cuts) = self.cuts.get(&join(&self.path)) else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let grad = tensor.is_require_grad();
        let device = tensor.device();
        let (id, t) = if self.mask {
            // Only the output dim: a zeroed filter's output is 0 after ReLU, so what the next
            // layer reads from it does not matter.
            let cut = &cuts[0];
            let of = tensor.dims()[cut.dim];
            (id, tensor * cut.mask::<D>(of, &device))
        } else {
            let sliced = cuts.iter().fold(tensor, |t, cut| {
                let indices: Vec<i64> = cut.kept.iter().map(|&i| i as i64).collect();
                let n = indices.len();
                let indices = Tensor::<1, Int>::from_data(TensorData::new(indices, [n]), &device);
                t.select(cut.dim, indices)
            });
            // New ids: the shapes changed, so no optimizer state of the parent applies.
            (ParamId::new(), sliced)
        };
        // A leaf again, not a view of the parent's parameter in the autodiff graph.
        let t = t.detach().set_require_grad(grad);
        Param::from_mapped_value(id, t, mapper)
    }
}

impl Cut {
    /// A 0/1 tensor, 1 on the kept indices of `dim`, broadcasting over the other dims.
    fn mask<const D: usize>(&self, of: usize, device: &burn::tensor::Device) -> Tensor<D> {
        let mut values = vec![0f32; of];
        for &k in &self.kept {
            values[k] = 1.0;
        }
        let mut shape = vec![1; D];
        shape[self.dim] = of;
        Tensor::from_data(TensorData::new(values, shape), device)
    }
}

#[cfg(test)]
mod tests;
