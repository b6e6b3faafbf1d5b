//! Freezing parameters by path for fine-tuning: a frozen parameter gets no gradient, so no
//! optimizer moves it (PyTorch's `param.requires_grad_(False)`, Keras' `layer.trainable =
//! False`).

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;

use crate::error::{OptimError, invalid};
use crate::regularization::{check_pattern, glob_match, parameter_paths};

/// Freezes every float parameter of `module` whose path (module names joined by `.`, as in
/// `[regularization] include`) matches one of `patterns` (`*` matches any run of characters);
/// returns the module and the frozen paths in traversal order.
///
/// # Errors
/// A malformed pattern, or one that matches no parameter (a typo would otherwise freeze
/// nothing silently); the message names `field` and shows what paths look like.
pub fn freeze<M: Module>(
    module: M,
    patterns: &[String],
    field: &str,
) -> Result<(M, Vec<String>), OptimError> {
    let paths = parameter_paths(&module);
    for pattern in patterns {
        check_pattern(pattern)
            .map_err(|why| invalid(field, format!("pattern {pattern:?} {why}")))?;
        if !paths.iter().any(|(p, _)| glob_match(pattern, p)) {
            let example = paths.first().map(|(p, _)| p.as_str()).unwrap_or("none");
            return Err(invalid(
                field,
                format!(
                    "pattern {pattern:?} matches no parameter of the model (paths look like \
                     {example:?})"
                ),
            ));
        }
    }
    let mut mapper = Freeze {
        patterns,
        path: Vec::new(),
        frozen: Vec::new(),
    };
    let module = module.map(&mut mapper);
    Ok((module, mapper.frozen))
}

struct Freeze<'a> {
    patterns: &'a [String],
    path: Vec<String>,
    frozen: Vec<String>,
}

impl ModuleMapper for Freeze<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        if self.patterns.iter().any(|p| glob_match(p, &path)) {
            self.frozen.push(path);
            param.set_require_grad(false)
        } else {
            param
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, Tensor};

    use super::*;

    #[derive(Module, Debug)]
    struct Two {
        first: Linear,
        second: Linear,
    }

    /// Gradients reach only the unfrozen layer: the frozen one has none to step with.
    #[test]
    fn frozen_parameters_get_no_gradient() {
        let device = Device::flex().autodiff();
        let model = Two {
            first: LinearConfig::new(3, 4).init(&device),
            second: LinearConfig::new(4, 2).init(&device),
        };
        let (model, frozen) = freeze(model, &["first.*".to_string()], "finetune.freeze").unwrap();
        assert_eq!(frozen, vec!["first.weight", "first.bias"]);
        let x = Tensor::<2>::ones([5, 3], &device);
        let loss = model.second.forward(model.first.forward(x)).sum();
        let grads = loss.backward();
        assert!(model.first.weight.val().grad(&grads).is_none());
        assert!(model.second.weight.val().grad(&grads).is_some());
    }

    #[test]
    fn a_pattern_that_matches_nothing_names_the_field() {
        let device = Device::flex();
        let model = Two {
            first: LinearConfig::new(3, 4).init(&device),
            second: LinearConfig::new(4, 2).init(&device),
        };
        let err = freeze(model, &["conv*".to_string()], "finetune.freeze")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("finetune.freeze: pattern \"conv*\" matches no parameter"),
            "{err}"
        );
    }
}
