//! Size limits of the built-in architectures, checked by every config's `validate` before a
//! tensor is allocated.
//!
//! A configuration comes from a TOML file or a tuning trial's sampled values, so a width of
//! `1e12` or a ResNet of a billion blocks must be refused with an error naming its key: the
//! allocation it would ask for cannot be caught (Rust aborts the process on allocation
//! failure), so the check has to come first. Every count here is computed with checked
//! arithmetic, so an overflowing product is refused like a merely large one.

use crate::error::{ModelError, invalid};

/// Most trainable values a built-in model may hold: 2^28 = 268,435,456, which is 1 GiB of
/// `f32` weights and about 4 GiB while training with Adam (weights, gradients, two moments).
/// Ten times ResNet-50 (25.6 M), far above anything these architectures need for the small
/// images they are built for, and small enough that a typo costs an error rather than the
/// machine's memory.
pub const MAX_PARAMETERS: usize = 1 << 28;

/// Most fully connected hidden layers (`[model] hidden` entries): 64. Plain ReLU stacks stop
/// training long before that depth (no normalization or skip connections), and every layer is
/// a module the trainer walks on each step.
pub const MAX_HIDDEN_LAYERS: usize = 64;

/// Most residual blocks of a ResNet, stages × `blocks` per stage: 1024. The deepest network of
/// He et al. 2016, ResNet-1202 on CIFAR-10, has 600 basic blocks.
pub const MAX_RESNET_BLOCKS: usize = 1024;

/// Largest MobileNetV2 `width_mult`: 8. The published multipliers run from 0.35 to 1.4
/// (Sandler et al. 2018, Table 6); the check is first of all on the float, so that no width
/// computed from it overflows, and the parameter count is checked after it.
pub const MAX_WIDTH_MULT: f64 = 8.0;

/// `size >> halvings`, and 0 when the shift is as wide as `usize` or wider (a plain `>>`
/// panics there in debug builds and wraps the shift amount in release builds, so 64 halvings
/// of a 28-pixel side would give 28).
pub(crate) fn halved(size: usize, halvings: u32) -> usize {
    size.checked_shr(halvings).unwrap_or(0)
}

/// The number of stages as a shift amount, saturating: a count beyond `u32` halves any image
/// to nothing, as its true value would.
pub(crate) fn halvings(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Weights and biases of `Linear(input → hidden[0]) → … → Linear(→ num_classes)`; `None`
/// when the count overflows `usize`.
pub(crate) fn dense_parameters(
    input: usize,
    hidden: &[usize],
    num_classes: usize,
) -> Option<usize> {
    let mut total = 0usize;
    let mut width = input;
    for &out in hidden.iter().chain(std::iter::once(&num_classes)) {
        total = total.checked_add(width.checked_mul(out)?.checked_add(out)?)?;
        width = out;
    }
    Some(total)
}

/// Weights of a `k`×`k` convolution from `in_ch` to `out_ch` channels, plus `extra` values per
/// output channel (a bias, or batch normalization's four); `None` on overflow.
pub(crate) fn conv_parameters(
    in_ch: usize,
    out_ch: usize,
    k: usize,
    extra: usize,
) -> Option<usize> {
    in_ch
        .checked_mul(out_ch)?
        .checked_mul(k * k)?
        .checked_add(out_ch.checked_mul(extra)?)
}

/// Refuses `hidden` lists longer than [`MAX_HIDDEN_LAYERS`].
pub(crate) fn check_hidden_layers(hidden: &[usize]) -> Result<(), ModelError> {
    if hidden.len() > MAX_HIDDEN_LAYERS {
        return Err(invalid(
            "hidden",
            format!(
                "{} hidden layers; at most {MAX_HIDDEN_LAYERS}",
                hidden.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses a parameter count (`None`: it overflowed) above [`MAX_PARAMETERS`], naming `field`,
/// the key whose values make the model that large.
pub(crate) fn check_parameters(
    field: &'static str,
    count: Option<usize>,
) -> Result<(), ModelError> {
    match count {
        Some(n) if n <= MAX_PARAMETERS => Ok(()),
        Some(n) => Err(invalid(
            field,
            format!("the model would hold {n} parameters; at most {MAX_PARAMETERS} (2^28)"),
        )),
        None => Err(invalid(
            field,
            format!(
                "the model's parameter count overflows; at most {MAX_PARAMETERS} (2^28) \
                 parameters"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_layers_and_overflow_is_none() {
        // 784*256 + 256 + 256*10 + 10: the reference MLP.
        assert_eq!(dense_parameters(784, &[256], 10), Some(203_530));
        assert_eq!(conv_parameters(1, 32, 3, 1), Some(320));
        assert_eq!(dense_parameters(usize::MAX, &[2], 10), None);
        assert_eq!(conv_parameters(1 << 40, 1 << 40, 3, 1), None);
        assert_eq!(halved(28, 64), 0);
        assert_eq!(halved(28, 2), 7);
        assert_eq!(halvings(usize::MAX), u32::MAX);
    }
}
