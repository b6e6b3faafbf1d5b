use serde::{Deserialize, Serialize};

/// Which member of the dropout family a model uses, and so where its dropout rate acts.
///
/// The serde names are those of an experiment file's `dropout = { kind = "...", p = ... }`
/// (`dropout`, `dropout2d`, `drop-path`, `alpha`, `drop-connect`); the default is
/// [`Standard`](Self::Standard), as `kind` may be left out there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DropoutKind {
    /// `dropout`: units after each hidden activation, Burn's [`Dropout`](burn::nn::Dropout)
    /// (Srivastava et al. 2014; every model).
    #[default]
    #[serde(rename = "dropout")]
    Standard,
    /// `dropout2d`: whole feature-map channels after each convolution block,
    /// [`Dropout2d`](super::Dropout2d) (cnn).
    #[serde(rename = "dropout2d")]
    Spatial,
    /// `drop-path`: whole residual branches per sample, stochastic depth,
    /// [`DropPath`](super::DropPath) (resnet).
    #[serde(rename = "drop-path")]
    Path,
    /// `alpha`: alpha dropout after each hidden activation, for self-normalizing networks,
    /// [`AlphaDropout`](super::AlphaDropout) (mlp, cnn).
    #[serde(rename = "alpha")]
    Alpha,
    /// `drop-connect`: weights of the hidden linear layers,
    /// [`DropConnectLinear`](super::DropConnectLinear) (mlp, cnn).
    #[serde(rename = "drop-connect")]
    Connect,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Table {
        #[serde(default)]
        kind: DropoutKind,
    }

    #[test]
    fn dropout_kinds_read_and_write_the_experiment_file_names() {
        let names = [
            ("dropout", DropoutKind::Standard),
            ("dropout2d", DropoutKind::Spatial),
            ("drop-path", DropoutKind::Path),
            ("alpha", DropoutKind::Alpha),
            ("drop-connect", DropoutKind::Connect),
        ];
        for (name, kind) in names {
            let text = format!("kind = \"{name}\"\n");
            let table: Table = toml::from_str(&text).unwrap();
            assert_eq!(table.kind, kind);
            assert_eq!(toml::to_string(&table).unwrap(), text);
        }
    }

    #[test]
    fn dropout_kind_defaults_to_standard_and_refuses_other_names() {
        let table: Table = toml::from_str("").unwrap();
        assert_eq!(table.kind, DropoutKind::Standard);
        assert!(toml::from_str::<Table>("kind = \"Standard\"").is_err());
    }
}
