//! L1, L2 and elastic-net penalties on a module's parameters, added to the loss so that
//! `loss + penalty` backpropagates through Burn's autodiff like any other term.
//!
//! Conventions (the scale of a coefficient differs between libraries):
//!
//! - **L1**: `l1 * sum|w|`, gradient `l1 * sign(w)` (Keras `L1(l1)`, identical).
//! - **L2**: `(l2 / 2) * sum w^2`, gradient `l2 * w`: exactly the gradient that PyTorch's coupled
//!   `weight_decay = l2` adds (`g <- g + weight_decay * w` in every `torch.optim` rule), so
//!   `l2` here and `weight_decay` there are interchangeable with SGD. Keras' `L2(l)` is
//!   `l * sum w^2` (gradient `2 * l * w`, `keras/src/regularizers/regularizers.py`), so Keras'
//!   `l` corresponds to `l2 = 2 * l` here.
//! - Both positive: elastic net, the sum of the two terms.
//!
//! Which parameters are penalized: by default **weights only**, the parameters of rank >= 2.
//! Biases and normalization scales/shifts are rank 1 and left alone, as timm does for weight
//! decay (`param.ndim <= 1` goes to the no-decay group in `param_groups_weight_decay`,
//! `timm/optim/_param_groups.py`). Two lists of path patterns refine this: a parameter
//! matching `include` is penalized whatever its rank, one matching `exclude` never is (exclude
//! wins). Paths are the ones Burn's module traversal reports (the names passed to
//! `ModuleVisitor::enter_module`, joined with `.`, as `ModuleOptimizer` and `ParamGroup` see
//! them): struct fields by name, `Vec` elements by index, enum variants by variant name, the
//! parameter's own field last, e.g. `head.hidden.0.weight`, or `Mlp.head.output.bias` inside
//! an enum `Classifier::Mlp`. In a pattern `*` matches any run of characters, dots included
//! (like timm's `fnmatch`), and the pattern must match the whole path: `*.bias`, `head.*`,
//! `*hidden.0.weight`.
//!
//! Parameters whose gradient is not required (frozen, or running statistics) on an autodiff
//! device are skipped, as timm skips `not param.requires_grad`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, invalid};

/// The `[regularization]` section: penalty coefficients and which parameters they apply to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegularizationSettings {
    /// L1 coefficient: adds `l1 * sum|w|` to the loss. Default 0 (off).
    pub l1: f64,
    /// L2 coefficient: adds `(l2 / 2) * sum w^2`, gradient `l2 * w` (PyTorch's coupled
    /// `weight_decay`; Keras' `L2(l)` is `l2 = 2 * l`). Default 0 (off).
    pub l2: f64,
    /// Path patterns penalized in addition to the rank >= 2 weights (e.g. `["*.bias"]`).
    pub include: Vec<String>,
    /// Path patterns never penalized; wins over `include` and the rank rule.
    pub exclude: Vec<String>,
}

impl RegularizationSettings {
    /// Whether a penalty term exists at all (some coefficient is positive).
    pub fn is_active(&self) -> bool {
        self.l1 > 0.0 || self.l2 > 0.0
    }

    /// Checks every value: coefficients finite and >= 0, patterns well formed.
    pub fn validate(&self) -> Result<(), OptimError> {
        for (name, v) in [("l1", self.l1), ("l2", self.l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(
                    &format!("regularization.{name}"),
                    format!("must be finite and >= 0, got {v}"),
                ));
            }
        }
        for (name, list) in [("include", &self.include), ("exclude", &self.exclude)] {
            for pattern in list {
                check_pattern(pattern).map_err(|why| {
                    invalid(
                        &format!("regularization.{name}"),
                        format!("pattern {pattern:?} {why}"),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Checks that every `include`/`exclude` pattern matches at least one parameter path of
    /// `module`, so that a typo cannot silently disable the filter.
    pub fn check_patterns<M: Module>(&self, module: &M) -> Result<(), OptimError> {
        let paths = parameter_paths(module);
        for (name, list) in [("include", &self.include), ("exclude", &self.exclude)] {
            for pattern in list {
                if !paths.iter().any(|(p, _)| glob_match(pattern, p)) {
                    let example = paths.first().map(|(p, _)| p.as_str()).unwrap_or("none");
                    return Err(invalid(
                        &format!("regularization.{name}"),
                        format!(
                            "pattern {pattern:?} matches no parameter of the model \
                             (paths look like {example:?})"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether the parameter at `path`, of tensor rank `rank`, is penalized.
    pub fn applies_to(&self, path: &str, rank: usize) -> bool {
        let any = |list: &[String]| list.iter().any(|p| glob_match(p, path));
        (rank >= 2 || any(&self.include)) && !any(&self.exclude)
    }

    /// The paths of `module`'s parameters this filter penalizes, in traversal order.
    pub fn penalized_paths<M: Module>(&self, module: &M) -> Vec<String> {
        parameter_paths(module)
            .into_iter()
            .filter(|(path, rank)| self.applies_to(path, *rank))
            .map(|(path, _)| path)
            .collect()
    }

    /// The penalty `l1 * sum|w| + (l2 / 2) * sum w^2` over the selected parameters, as a
    /// shape-`[1]` tensor on the parameters' device (tracked by autodiff when they are).
    /// `None` when both coefficients are 0 or no parameter is selected.
    pub fn penalty<M: Module>(&self, module: &M) -> Option<Tensor<1>> {
        if !self.is_active() {
            return None;
        }
        let mut visitor = PenaltyVisitor {
            settings: self,
            path: Vec::new(),
            total: None,
        };
        module.visit(&mut visitor);
        visitor.total
    }
}

/// `Ok` for a non-empty pattern of `.`-separated non-empty segments made of ASCII letters,
/// digits, `_` and `*`; otherwise why not.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern.is_empty() {
        return Err("is empty");
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*')))
    {
        return Err(match c {
            ' ' | '\t' => "contains whitespace",
            '/' => "uses '/'; path segments are separated by '.'",
            _ => "may only contain letters, digits, '_', '.' and '*'",
        });
    }
    if pattern.split('.').any(str::is_empty) {
        return Err("has an empty segment (leading, trailing or doubled '.')");
    }
    Ok(())
}

/// Whole-string glob match where `*` matches any (possibly empty) run of characters.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Position of the last `*` seen and the text index it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character and retry.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Every float parameter's path and rank, in traversal order.
pub(crate) fn parameter_paths<M: Module>(module: &M) -> Vec<(String, usize)> {
    struct Paths {
        path: Vec<String>,
        out: Vec<(String, usize)>,
    }
    impl ModuleVisitor for Paths {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, _param: &Param<Tensor<D>>) {
            self.out.push((self.path.join("."), D));
        }
    }
    let mut visitor = Paths {
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut visitor);
    visitor.out
}

struct PenaltyVisitor<'a> {
    settings: &'a RegularizationSettings,
    path: Vec<String>,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for PenaltyVisitor<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.settings.applies_to(&self.path.join("."), D) {
            return;
        }
        let w = param.val();
        if w.is_autodiff() && !w.is_require_grad() {
            return;
        }
        let (l1, l2) = (self.settings.l1, self.settings.l2);
        let mut term: Option<Tensor<1>> = None;
        if l1 > 0.0 {
            term = Some(w.clone().abs().sum().mul_scalar(l1));
        }
        if l2 > 0.0 {
            let t = w.square().sum().mul_scalar(l2 / 2.0);
            term = Some(match term {
                Some(a) => a + t,
                None => t,
            });
        }
        if let Some(t) = term {
            self.total = Some(match self.total.take() {
                Some(a) => a + t,
                None => t,
            });
        }
    }
}

#[cfg(test)]
mod tests;
