use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};

use crate::error::{ModelError, check_dropout, invalid};

/// Checks the fields every classifier's head shares.
pub(crate) fn check_head(
    hidden: &[usize],
    num_classes: usize,
    dropout: f64,
) -> Result<(), ModelError> {
    if hidden.contains(&0) {
        return Err(invalid("hidden", "every width must be positive"));
    }
    if num_classes < 2 {
        return Err(invalid("num_classes", "must be at least 2"));
    }
    check_dropout(dropout)
}

/// The fully connected part shared by every classifier: `Linear → ReLU → Dropout` per hidden
/// width, then a linear output layer producing logits.
#[derive(Module, Debug)]
pub struct DenseHead {
    hidden: Vec<Linear>,
    output: Linear,
    activation: Relu,
    dropout: Dropout,
}

impl DenseHead {
    /// Builds the head; widths and `dropout` must already be validated.
    pub fn new(
        input: usize,
        hidden: &[usize],
        num_classes: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        let mut width = input;
        let hidden = hidden
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(width, h).init(device);
                width = h;
                layer
            })
            .collect();
        Self {
            hidden,
            output: LinearConfig::new(width, num_classes).init(device),
            activation: Relu::new(),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// # Shapes
    /// - features: `[batch, input]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let mut x = features;
        for layer in &self.hidden {
            x = self
                .dropout
                .forward(self.activation.forward(layer.forward(x)));
        }
        self.output.forward(x)
    }
}
