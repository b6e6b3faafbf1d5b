//! What the `temper tune` command prints and plots: the trials as CSV, the best-so-far
//! history, and parameter importance.
//!
//! Importance here is a documented proxy for fANOVA's first-order main effects (Hutter et al.
//! 2014): for each parameter, the share of the variance of the complete trials' values that
//! its one-way grouping explains (the correlation ratio η² = SS_between / SS_total), with
//! numeric parameters grouped into equal-count bins on their unit scale (at most 5 bins, at
//! least 2 trials per bin) and categoricals by choice; the shares are normalized to sum to 1.
//! Unlike fANOVA it fits no model and ignores interactions.

use crate::space::Space;
use crate::trial::{Direction, Trial};

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `number,state,value,duration_s,<param keys...>`, one row per trial; empty cells where a
/// value is missing (an inactive parameter, an unfinished trial).
pub fn trials_csv(trials: &[Trial]) -> String {
    let mut keys: Vec<&String> = trials.iter().flat_map(|t| t.params.0.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::from("number,state,value,duration_s");
    for k in &keys {
        out.push(',');
        out.push_str(&csv_field(k));
    }
    out.push('\n');
    for t in trials {
        out.push_str(&format!(
            "{},{},{},{}",
            t.number,
            t.state.as_str(),
            t.value.map(|v| v.to_string()).unwrap_or_default(),
            t.duration().map(|d| format!("{d:.3}")).unwrap_or_default()
        ));
        for k in &keys {
            out.push(',');
            if let Some(v) = t.params.get(k) {
                out.push_str(&csv_field(&v.to_string()));
            }
        }
        out.push('\n');
    }
    out
}

/// `(trial number, best complete value so far)` at each complete trial, in number order.
pub fn best_so_far(trials: &[Trial], direction: Direction) -> Vec<(u64, f64)> {
    let mut sorted: Vec<&Trial> = trials.iter().collect();
    sorted.sort_by_key(|t| t.number);
    let mut best: Option<f64> = None;
    let mut out = Vec::new();
    for t in sorted {
        if let Some(v) = t.complete_value().filter(|v| !v.is_nan()) {
            if best.is_none_or(|b| direction.better(v, b)) {
                best = Some(v);
            }
            out.push((t.number, best.unwrap_or(v)));
        }
    }
    out
}

/// Correlation-ratio importance of each parameter (see the module doc), in space order,
/// normalized to sum to 1 (all zeros when nothing varies). Parameters active in fewer than
/// 2 complete trials get 0.
pub fn param_importance(space: &Space, trials: &[Trial]) -> Vec<(String, f64)> {
    let raw: Vec<(String, f64)> = space
        .params()
        .iter()
        .map(|spec| {
            let mut pts: Vec<(f64, f64)> = trials
                .iter()
                .filter_map(|t| {
                    let y = t.complete_value().filter(|v| v.is_finite())?;
                    let u = spec.to_unit(t.params.get(&spec.name)?)?;
                    Some((u, y))
                })
                .collect();
            if pts.len() < 2 {
                return (spec.name.clone(), 0.0);
            }
            let groups: Vec<usize> = if spec.is_categorical() {
                pts.iter().map(|(u, _)| (u * 1e6) as usize).collect()
            } else {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let bins = (pts.len() / 2).clamp(1, 5);
                (0..pts.len()).map(|i| i * bins / pts.len()).collect()
            };
            (spec.name.clone(), eta_squared(&pts, &groups))
        })
        .collect();
    let total: f64 = raw.iter().map(|r| r.1).sum();
    raw.into_iter()
        .map(|(k, v)| (k, if total > 0.0 { v / total } else { 0.0 }))
        .collect()
}

fn eta_squared(pts: &[(f64, f64)], groups: &[usize]) -> f64 {
    let n = pts.len() as f64;
    let mean = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let ss_total: f64 = pts.iter().map(|p| (p.1 - mean).powi(2)).sum();
    if ss_total <= 0.0 {
        return 0.0;
    }
    let mut sums: std::collections::BTreeMap<usize, (f64, f64)> = Default::default();
    for (p, g) in pts.iter().zip(groups) {
        let e = sums.entry(*g).or_default();
        e.0 += p.1;
        e.1 += 1.0;
    }
    let ss_between: f64 = sums.values().map(|(s, c)| c * (s / c - mean).powi(2)).sum();
    (ss_between / ss_total).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::TrialState;
    use crate::value::ParamValue;

    fn t(
        number: u64,
        state: TrialState,
        value: Option<f64>,
        params: &[(&str, ParamValue)],
    ) -> Trial {
        let mut t = Trial::new(number, 100.0);
        t.state = state;
        t.value = value;
        t.finished_at = state.is_finished().then_some(101.5);
        for (k, v) in params {
            t.params.insert(*k, v.clone());
        }
        t
    }

    #[test]
    fn csv_lists_every_parameter_and_leaves_missing_cells_empty() {
        let trials = [
            t(
                0,
                TrialState::Complete,
                Some(0.5),
                &[("lr", 0.01.into()), ("kind", "a,b".into())],
            ),
            t(1, TrialState::Running, None, &[("lr", 0.1.into())]),
        ];
        assert_eq!(
            trials_csv(&trials),
            "number,state,value,duration_s,kind,lr\n0,complete,0.5,1.500,\"a,b\",0.01\n1,running,,,,0.1\n"
        );
    }

    #[test]
    fn best_so_far_is_the_running_minimum_or_maximum() {
        let trials = [
            t(0, TrialState::Complete, Some(3.0), &[]),
            t(1, TrialState::Failed, None, &[]),
            t(2, TrialState::Complete, Some(4.0), &[]),
            t(3, TrialState::Complete, Some(1.0), &[]),
        ];
        assert_eq!(
            best_so_far(&trials, Direction::Minimize),
            vec![(0, 3.0), (2, 3.0), (3, 1.0)]
        );
        assert_eq!(
            best_so_far(&trials, Direction::Maximize),
            vec![(0, 3.0), (2, 4.0), (3, 4.0)]
        );
    }

    #[test]
    fn importance_finds_the_parameter_the_value_depends_on() {
        // y = x = i/19, z = (7i mod 20)/19, 20 trials, 5 equal-count bins of 4 (in units of
        // 1/19², SS_total = Σ(i − 9.5)² = 665).
        // x: bins hold consecutive i, within-bin SS = 5 · 5 = 25, so η² = 640/665.
        // z: bins {0..3}, {4..7}, ... of 7i mod 20 hold i = {0,3,6,9}, {12,15,18,1},
        // {4,7,10,13}, {16,19,2,5}, {8,11,14,17} with means 4.5, 11.5, 8.5, 10.5, 12.5:
        // SS_between = 4 · (25 + 4 + 1 + 1 + 9) = 160, η² = 160/665.
        // Shares: 640/800 = 0.8 and 160/800 = 0.2.
        let space =
            Space::from_toml_str("x = { uniform = [0.0, 1.0] }\nz = { uniform = [0.0, 1.0] }")
                .unwrap();
        let trials: Vec<Trial> = (0..20)
            .map(|i| {
                let x = i as f64 / 19.0;
                let z = ((i * 7) % 20) as f64 / 19.0;
                t(
                    i,
                    TrialState::Complete,
                    Some(x),
                    &[("x", x.into()), ("z", z.into())],
                )
            })
            .collect();
        let imp = param_importance(&space, &trials);
        assert_eq!(imp[0].0, "x");
        assert!(
            (imp[0].1 - 0.8).abs() < 1e-12 && (imp[1].1 - 0.2).abs() < 1e-12,
            "{imp:?}"
        );
    }
}
