//! One axis in a parameter's own units, shared by the parallel-coordinate, slice and contour
//! charts: where a value sits along it and which ticks label it.
//!
//! Every chart draws in *positions*: a value's place along its axis as a fraction in [0, 1]
//! (0 at the low end). A linear axis maps `(v - lo) / (hi - lo)`, a log axis the same in
//! `ln v`, and a categorical axis puts choice `i` of `n` at `(i + 0.5) / n`, evenly spaced with
//! half a band of margin at either end. Ticks are positions with labels in the axis' units:
//! - linear: "nice" steps of 1, 2 or 5 times a power of ten, about five of them (Heckbert,
//!   "Nice numbers for graph labels", Graphics Gems, 1990; matplotlib's `MaxNLocator` picks
//!   from the same steps), integers only on an integer parameter's axis;
//! - log: the powers of ten inside the range, as Optuna's `plot_parallel_coordinate` places
//!   its log ticks (`tickvals = range(ceil(log10 min), ceil(log10 max))`,
//!   `optuna/visualization/_parallel_coordinate.py`); where fewer than two fall inside, the
//!   1-2-5 multiples, and failing those the linear steps, still placed in log space;
//! - categorical: each choice's name at its band's centre.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use temper_tune::{Distribution, ParamSpec, ParamValue};

use crate::chart::format_number;

/// How values map onto an axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    /// `lo..=hi` evenly; `integer` keeps ticks on integers (an int parameter).
    Linear {
        /// Value at position 0.
        lo: f64,
        /// Value at position 1.
        hi: f64,
        /// Ticks only at integers.
        integer: bool,
    },
    /// `lo..=hi` evenly in `ln v` (both positive).
    Log {
        /// Value at position 0.
        lo: f64,
        /// Value at position 1.
        hi: f64,
    },
    /// Named choices, evenly spaced, in the order given.
    Categories(Vec<String>),
}

/// A named axis: a parameter or the objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The parameter's dotted key, or the metric's name.
    pub name: String,
    /// How its values map onto it.
    pub scale: Scale,
}

/// A labelled place on an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Position in [0, 1].
    pub position: f64,
    /// The value there, in the axis' units.
    pub label: String,
}

/// About this many ticks on a linear axis.
const LINEAR_TICKS: f64 = 5.0;
/// At most this many powers of ten labelled on a log axis (every other one beyond).
const MAX_LOG_TICKS: usize = 7;

impl Scale {
    /// A linear axis over `lo..=hi`, widened around a single value (half its magnitude, or
    /// ±0.5 around 0) so that one distinct value still has an axis; `0..1` with no finite
    /// bound.
    pub fn linear(lo: f64, hi: f64, integer: bool) -> Scale {
        let (lo, hi) = widen(lo, hi);
        Scale::Linear { lo, hi, integer }
    }

    /// The axis of parameter `spec`: its declared range (widened to cover any of `observed`
    /// outside it, from a space edited since), log when the parameter is drawn on a log scale,
    /// its choices in declared order when categorical.
    pub fn for_param<'a>(
        spec: &ParamSpec,
        observed: impl Iterator<Item = &'a ParamValue>,
    ) -> Scale {
        let (lo, hi) = observed
            .filter_map(ParamValue::as_f64)
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        match &spec.distribution {
            Distribution::Float { low, high, log } => {
                numeric(low.min(lo), high.max(hi), *log, false)
            }
            Distribution::Int { low, high, log, .. } => {
                numeric((*low as f64).min(lo), (*high as f64).max(hi), *log, true)
            }
            Distribution::Categorical { choices } => {
                Scale::Categories(choices.iter().map(ToString::to_string).collect())
            }
        }
    }

    /// Whether the axis is logarithmic.
    pub fn is_log(&self) -> bool {
        matches!(self, Scale::Log { .. })
    }

    /// Whether the axis names choices rather than numbers.
    pub fn is_categorical(&self) -> bool {
        matches!(self, Scale::Categories(_))
    }

    /// Where `value` sits: its position (0 at the low end, 1 at the high end; outside [0, 1]
    /// only for a number outside the range). `None` for a value the axis cannot place: a
    /// non-number or non-finite number on a numeric axis, a non-positive one on a log axis,
    /// a name that is not among the choices (matched by its display form).
    pub fn position(&self, value: &ParamValue) -> Option<f64> {
        match self {
            Scale::Categories(names) => {
                let name = value.to_string();
                let i = names.iter().position(|n| *n == name)?;
                Some((i as f64 + 0.5) / names.len() as f64)
            }
            _ => self.position_of(value.as_f64()?),
        }
    }

    /// Where the number `x` sits on a numeric axis; `None` on a categorical axis, for a
    /// non-finite `x`, and for `x <= 0` on a log axis.
    pub fn position_of(&self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        match self {
            Scale::Linear { lo, hi, .. } => Some((x - lo) / (hi - lo)),
            Scale::Log { lo, hi } => (x > 0.0).then(|| (x.ln() - lo.ln()) / (hi.ln() - lo.ln())),
            Scale::Categories(_) => None,
        }
    }

    /// The number at `position` on a numeric axis (`None` on a categorical one).
    pub fn value_at(&self, position: f64) -> Option<f64> {
        match self {
            Scale::Linear { lo, hi, .. } => Some(lo + position * (hi - lo)),
            Scale::Log { lo, hi } => Some((lo.ln() + position * (hi.ln() - lo.ln())).exp()),
            Scale::Categories(_) => None,
        }
    }

    /// The labelled ticks, low to high (see the module doc).
    pub fn ticks(&self) -> Vec<Tick> {
        match self {
            Scale::Linear { lo, hi, integer } => nice_steps(*lo, *hi, *integer)
                .into_iter()
                .map(|v| self.tick(v))
                .collect(),
            Scale::Log { lo, hi } => log_ticks(*lo, *hi)
                .into_iter()
                .map(|v| self.tick(v))
                .collect(),
            Scale::Categories(names) => names
                .iter()
                .enumerate()
                .map(|(i, n)| Tick {
                    position: (i as f64 + 0.5) / names.len() as f64,
                    label: n.clone(),
                })
                .collect(),
        }
    }

    /// The label of the tick at `position` (empty when there is none): the formatter for a
    /// plotters axis whose key points are [`Scale::ticks`]' positions.
    pub fn label_at(&self, position: f64) -> String {
        self.ticks()
            .into_iter()
            .find(|t| (t.position - position).abs() < 1e-9)
            .map(|t| t.label)
            .unwrap_or_default()
    }

    fn tick(&self, v: f64) -> Tick {
        Tick {
            position: self.position_of(v).unwrap_or(0.0),
            label: format_number(v),
        }
    }
}

/// A plotters axis over positions whose only grid lines and labels are given ticks (label
/// them with [`Scale::label_at`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TickedRange {
    /// The positions shown, usually a little wider than [0, 1].
    pub range: Range<f64>,
    /// The tick positions.
    pub ticks: Vec<f64>,
}

impl TickedRange {
    /// `scale`'s ticks over `range`.
    pub fn new(scale: &Scale, range: Range<f64>) -> TickedRange {
        TickedRange {
            range,
            ticks: scale.ticks().iter().map(|t| t.position).collect(),
        }
    }
}

impl Ranged for TickedRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.range.start) / (self.range.end - self.range.start);
        (limit.0 as f64 + t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // The ticks are the bold grid lines; there are no light ones.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// `lo..hi` when it is a non-empty range; around a single value, half its magnitude (±0.5
/// around 0) either side; `0..1` when there is no finite value.
pub(super) fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.5 };
        (lo - pad, lo + pad)
    } else {
        (0.0, 1.0)
    }
}

fn numeric(lo: f64, hi: f64, log: bool, integer: bool) -> Scale {
    if log && lo > 0.0 && hi > lo {
        Scale::Log { lo, hi }
    } else {
        Scale::linear(lo, hi, integer)
    }
}

/// Multiples of a 1-2-5 step inside `lo..=hi`, about [`LINEAR_TICKS`] of them.
fn nice_steps(lo: f64, hi: f64, integer: bool) -> Vec<f64> {
    let rough = (hi - lo) / LINEAR_TICKS;
    if !(rough > 0.0 && rough.is_finite()) {
        return vec![lo];
    }
    let magnitude = 10f64.powf(rough.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough * 0.999)
        .unwrap_or(10.0 * magnitude);
    if integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // Multiplying the index (rather than adding steps) keeps 0.3 from drifting to
    // 0.30000000000000004; `+ 0.0` turns -0 into 0.
    (first..=last).map(|k| k as f64 * step + 0.0).collect()
}

/// Powers of ten inside `lo..=hi`; else the 1-2-5 multiples; else linear steps.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let (e_lo, e_hi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let powers: Vec<f64> = (e_lo..=e_hi)
        .map(|e| 10f64.powi(e))
        .filter(inside)
        .collect();
    if powers.len() >= 2 {
        let every = powers.len().div_ceil(MAX_LOG_TICKS);
        return powers.into_iter().step_by(every).collect();
    }
    let multiples: Vec<f64> = (e_lo..=e_hi)
        .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
        .filter(inside)
        .collect();
    if multiples.len() >= 2 {
        return multiples;
    }
    nice_steps(lo, hi, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_are_the_powers_of_ten_inside_the_range() {
        let scale = Scale::Log { lo: 2e-5, hi: 0.3 };
        let ticks = scale.ticks();
        let values: Vec<f64> = ticks
            .iter()
            .map(|t| scale.value_at(t.position).unwrap())
            .collect();
        // 10^-4 .. 10^-1 are the powers of ten between 2e-5 and 0.3.
        let expected = [1e-4, 1e-3, 1e-2, 1e-1];
        assert_eq!(values.len(), expected.len());
        for (v, e) in values.iter().zip(expected) {
            assert!((v / e - 1.0).abs() < 1e-12, "{v} vs {e}");
        }
        // Placed in log space: 1e-3 sits at ln(1e-3 / 2e-5) / ln(0.3 / 2e-5).
        let p = (1e-3f64 / 2e-5).ln() / (0.3f64 / 2e-5).ln();
        assert!((ticks[1].position - p).abs() < 1e-12);
        assert_eq!(ticks[1].label, "1e-3");
    }

    #[test]
    fn a_narrow_log_range_falls_back_to_one_two_five_multiples() {
        let ticks = Scale::Log { lo: 1.5, hi: 8.0 }.ticks();
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["2", "5"]);
    }

    #[test]
    fn linear_ticks_step_by_one_two_or_five_times_a_power_of_ten() {
        let ticks = Scale::linear(0.0, 0.99, false).ticks();
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        // (0.99 - 0) / 5 = 0.198 rounds up to the step 0.2.
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8"]);
        let ints = Scale::linear(1.0, 3.0, true).ticks();
        let labels: Vec<&str> = ints.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["1", "2", "3"]);
    }

    #[test]
    fn categories_sit_at_the_centres_of_even_bands() {
        let scale = Scale::Categories(vec!["adam".into(), "sgd".into(), "lion".into()]);
        assert_eq!(scale.position(&"sgd".into()), Some(0.5));
        assert_eq!(scale.position(&"rmsprop".into()), None);
        let ticks = scale.ticks();
        assert_eq!(ticks[0].position, 1.0 / 6.0);
        assert_eq!(ticks[2].label, "lion");
    }

    #[test]
    fn a_log_axis_cannot_place_zero_or_a_name() {
        let scale = Scale::Log { lo: 1e-3, hi: 1.0 };
        assert_eq!(scale.position(&ParamValue::Float(0.0)), None);
        assert_eq!(scale.position(&"adam".into()), None);
        assert!(
            (scale
                .position(&ParamValue::Float(0.031_622_776_601_683_79))
                .unwrap()
                - 0.5)
                .abs()
                < 1e-12
        );
    }
}
