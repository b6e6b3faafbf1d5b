use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};
use temper_nn::{
    AlphaDropout, AlphaDropoutConfig, DropConnectLinear, DropConnectLinearConfig, DropoutKind,
};

use crate::error::{ModelError, check_dropout, invalid};
use crate::limits::check_hidden_layers;

/// Checks the fields every classifier's head shares.
pub(crate) fn check_head(
    hidden: &[usize],
    num_classes: usize,
    dropout: f64,
) -> Result<(), ModelError> {
    check_hidden_layers(hidden)?;
    if hidden.contains(&0) {
        return Err(invalid("hidden", "every width must be positive"));
    }
    if num_classes < 2 {
        return Err(invalid("num_classes", "must be at least 2"));
    }
    check_dropout(dropout)
}

/// Error for a dropout kind a model has no place for.
pub(crate) fn unsupported_kind(kind: DropoutKind, model: &str) -> ModelError {
    let why = match kind {
        DropoutKind::Spatial => "dropout2d drops whole channels and needs convolutions (cnn)",
        DropoutKind::Path => "drop-path drops residual branches and needs kind = \"resnet\"",
        DropoutKind::Connect => "drop-connect needs fully connected hidden layers (mlp or cnn)",
        DropoutKind::Alpha => "alpha dropout needs fully connected hidden layers (mlp or cnn)",
        DropoutKind::Standard => "standard dropout is supported everywhere",
    };
    invalid("dropout", format!("{why}; {model} has none"))
}

#[derive(Module, Debug)]
enum HiddenLinear {
    Plain(Linear),
    Connect(DropConnectLinear),
}

#[derive(Module, Debug)]
enum UnitDropout {
    Standard(Dropout),
    Alpha(AlphaDropout),
}

/// The fully connected part shared by the MLP and the CNN: `Linear → ReLU → dropout` per
/// hidden width, then a linear output layer producing logits. The dropout kind decides what is
/// dropped: units ([`DropoutKind::Standard`], [`DropoutKind::Alpha`]), hidden weights
/// ([`DropoutKind::Connect`]) or nothing here (the other kinds act elsewhere in the model).
#[derive(Module, Debug)]
pub struct DenseHead {
    hidden: Vec<HiddenLinear>,
    output: Linear,
    activation: Relu,
    dropout: Option<UnitDropout>,
}

impl DenseHead {
    /// Builds the head; widths and `dropout` must already be validated.
    pub fn new(
        input: usize,
        hidden: &[usize],
        num_classes: usize,
        dropout: f64,
        kind: DropoutKind,
        device: &Device,
    ) -> Self {
        let mut width = input;
        let hidden = hidden
            .iter()
            .map(|&h| {
                let layer = match kind {
                    DropoutKind::Connect => HiddenLinear::Connect(
                        DropConnectLinearConfig::new(width, h, dropout).init(device),
                    ),
                    _ => HiddenLinear::Plain(LinearConfig::new(width, h).init(device)),
                };
                width = h;
                layer
            })
            .collect();
        let dropout = match kind {
            DropoutKind::Standard => {
                Some(UnitDropout::Standard(DropoutConfig::new(dropout).init()))
            }
            DropoutKind::Alpha => Some(UnitDropout::Alpha(AlphaDropoutConfig::new(dropout).init())),
            _ => None,
        };
        Self {
            hidden,
            output: LinearConfig::new(width, num_classes).init(device),
            activation: Relu::new(),
            dropout,
        }
    }

    /// # Shapes
    /// - features: `[batch, input]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let mut x = features;
        for layer in &self.hidden {
            x = match layer {
                HiddenLinear::Plain(l) => l.forward(x),
                HiddenLinear::Connect(l) => l.forward(x),
            };
            x = self.activation.forward(x);
            x = match &self.dropout {
                Some(UnitDropout::Standard(d)) => d.forward(x),
                Some(UnitDropout::Alpha(d)) => d.forward(x),
                None => x,
            };
        }
        self.output.forward(x)
    }
}
