use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use temper_nn::DropoutKind;

use crate::dense::{DenseHead, check_head, unsupported_kind};
use crate::error::{ModelError, invalid};
use crate::limits::{check_parameters, dense_parameters};

/// Configuration of a multilayer perceptron classifier: `Linear → ReLU → Dropout` per hidden
/// layer, then a linear output layer. The defaults are the reference MLP of
/// `shared/bench` (784 → 256 → 10).
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Number of input features (`C * H * W` of the images).
    #[config(default = 784)]
    pub input_size: usize,
    /// Width of each hidden layer, input side first.
    #[config(default = "vec![256]")]
    pub hidden: Vec<usize>,
    /// Number of classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Dropout probability after each hidden activation.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// What `dropout` drops: units (`Standard`, `Alpha`) or hidden weights (`Connect`).
    #[config(default = "DropoutKind::Standard")]
    pub dropout_kind: DropoutKind,
}

/// Multilayer perceptron classifier. Build it with [`MlpConfig`].
#[derive(Module, Debug)]
pub struct Mlp {
    head: DenseHead,
}

impl MlpConfig {
    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.input_size == 0 {
            return Err(invalid("input_size", "must be positive"));
        }
        check_head(&self.hidden, self.num_classes, self.dropout)?;
        check_parameters(
            "hidden",
            dense_parameters(self.input_size, &self.hidden, self.num_classes),
        )?;
        match self.dropout_kind {
            DropoutKind::Standard | DropoutKind::Alpha => Ok(()),
            DropoutKind::Connect if !self.hidden.is_empty() => Ok(()),
            kind => Err(unsupported_kind(kind, "this mlp")),
        }
    }

    /// Builds the model on `device`.
    ///
    /// # Panics
    /// When [`validate`](Self::validate) fails.
    pub fn init(&self, device: &burn::tensor::Device) -> Mlp {
        self.validate().expect("valid MLP config");
        Mlp {
            head: DenseHead::new(
                self.input_size,
                &self.hidden,
                self.num_classes,
                self.dropout,
                self.dropout_kind,
                device,
            ),
        }
    }
}

impl Mlp {
    /// Class logits for a batch of images (flattened internally).
    ///
    /// # Shapes
    /// - images: `[batch, C, H, W]` with `C * H * W == input_size`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head.forward(images.flatten(1, 3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn the_reference_mlp_has_pytorchs_output_shape_and_parameter_count() {
        let device = Device::flex();
        let model = MlpConfig::new().init(&device);
        let out = model.forward(Tensor::zeros([3, 1, 28, 28], &device));
        assert_eq!(out.dims(), [3, 10]);
        // 784*256 + 256 + 256*10 + 10, as PyTorch counts the same two Linear layers.
        assert_eq!(model.num_params(), 203_530);
    }

    #[test]
    fn invalid_fields_are_named() {
        let err = MlpConfig::new().with_dropout(1.0).validate().unwrap_err();
        assert!(err.to_string().contains("model.dropout"));
        let err = MlpConfig::new()
            .with_hidden(vec![0])
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("model.hidden"));
        let err = MlpConfig::new()
            .with_dropout_kind(DropoutKind::Spatial)
            .validate()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("model.dropout: dropout2d"),
            "{err}"
        );
    }

    #[test]
    fn every_supported_kind_keeps_the_parameter_count() {
        // Dropout variants change what is dropped, never the parameters.
        let device = Device::flex();
        for kind in [
            DropoutKind::Standard,
            DropoutKind::Alpha,
            DropoutKind::Connect,
        ] {
            let model = MlpConfig::new()
                .with_dropout(0.3)
                .with_dropout_kind(kind)
                .init(&device);
            assert_eq!(model.num_params(), 203_530, "{kind:?}");
            let out = model.forward(Tensor::zeros([2, 1, 28, 28], &device));
            assert_eq!(out.dims(), [2, 10]);
        }
    }
}
