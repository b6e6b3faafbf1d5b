use temper_tune::{Direction, ParamValue};

use super::{METRIC, space, trials};
use crate::study::{ContourChart, GRID, interpolate, node};

#[test]
fn a_plane_given_on_the_grids_edge_is_reproduced_inside() {
    // A plane is harmonic, and its discrete Laplacian is exactly zero: with the whole edge
    // known (Dirichlet), the interior solution is the plane itself.
    let n = 24;
    let plane = |x: usize, y: usize| 2.0 + 0.3 * x as f64 - 0.7 * y as f64;
    let known: Vec<(usize, usize, f64)> = (0..n)
        .flat_map(|x| (0..n).map(move |y| (x, y)))
        .filter(|&(x, y)| x == 0 || y == 0 || x == n - 1 || y == n - 1)
        .map(|(x, y)| (x, y, plane(x, y)))
        .collect();
    let z = interpolate(n, &known);
    for y in 0..n {
        for x in 0..n {
            assert!((z[y * n + x] - plane(x, y)).abs() < 1e-9, "({x}, {y})");
        }
    }
}

#[test]
fn two_known_columns_give_a_ramp_flat_along_the_free_edges() {
    // Known columns x = 0 (value 1) and x = n-1 (value 4); the zero-derivative top and bottom
    // edges leave the ramp z = 1 + 3x / (n-1), constant in y.
    let n = 17;
    let known: Vec<(usize, usize, f64)> = (0..n)
        .flat_map(|y| [(0, y, 1.0), (n - 1, y, 4.0)])
        .collect();
    let z = interpolate(n, &known);
    for y in 0..n {
        for x in 0..n {
            let ramp = 1.0 + 3.0 * x as f64 / (n - 1) as f64;
            assert!((z[y * n + x] - ramp).abs() < 1e-9, "({x}, {y})");
        }
    }
}

#[test]
fn scattered_points_are_kept_and_filled_as_optuna_fills_them() {
    let known = [(0, 0, 1.0), (4, 1, 5.0), (2, 4, -2.0)];
    let z = interpolate(5, &known);
    for &(x, y, v) in &known {
        assert_eq!(z[y * 5 + x], v);
    }
    // `_interpolate_zmap({(0, 0): 1.0, (4, 1): 5.0, (2, 4): -2.0}, 5)` from
    // optuna/visualization/matplotlib/_contour.py, Optuna 5.1.0 with SciPy 1.17.1; its rows
    // are y, its columns x.
    let optuna = [
        [
            1.0,
            1.4474768526973938,
            2.1022739950763047,
            3.0146360149882656,
            4.007318007494132,
        ],
        [
            0.9399715880073782,
            1.240156563015876,
            1.844709117543255,
            2.934316042394359,
            5.0,
        ],
        [
            0.5797582010062589,
            0.7284686938154772,
            1.1020898696864803,
            1.8779190370459167,
            2.7401797259775122,
        ],
        [
            0.07083432119592101,
            -0.008129858446706993,
            -0.042737369658727625,
            0.735090510125315,
            1.342620140886621,
        ],
        [
            -0.35912537897178876,
            -0.7890850791394985,
            -2.0,
            -0.23743976777254985,
            0.5525901865570355,
        ],
    ];
    for (y, row) in optuna.iter().enumerate() {
        for (x, v) in row.iter().enumerate() {
            assert!(
                (z[y * 5 + x] - v).abs() < 1e-9,
                "({x}, {y}): {} vs {v}",
                z[y * 5 + x]
            );
        }
    }
    // One known node: the constant solution.
    assert!(interpolate(6, &[(3, 2, 0.25)]).iter().all(|v| *v == 0.25));
}

#[test]
fn the_contour_takes_the_two_most_important_numeric_parameters() {
    let trials = trials();
    let importance = [
        ("optim.kind".to_string(), 0.5),
        ("optim.lr".to_string(), 0.1),
        ("train.batch_size".to_string(), 0.3),
        ("optim.momentum".to_string(), 0.1),
    ];
    let chart =
        ContourChart::build(&trials, &space(), Direction::Minimize, METRIC, &importance).unwrap();
    // The categorical is skipped; batch size outranks the learning rate.
    assert_eq!(
        (chart.x.name.as_str(), chart.y.name.as_str()),
        ("train.batch_size", "optim.lr")
    );
    let plain = ContourChart::build(&trials, &space(), Direction::Minimize, METRIC, &[]).unwrap();
    assert_eq!(
        (plain.x.name.as_str(), plain.y.name.as_str()),
        ("optim.lr", "train.batch_size")
    );
    assert_eq!(plain.points.len(), 14);
    for p in &plain.points {
        let t = &trials[p.number as usize];
        let lr = t
            .params
            .get("optim.lr")
            .and_then(ParamValue::as_f64)
            .unwrap();
        assert!((p.x - (lr.log10() + 5.0) / 4.0).abs() < 1e-12, "log axis");
        // Each trial's node keeps the value of the last trial put on it.
        let last = plain
            .points
            .iter()
            .rfind(|q| node(q.x) == node(p.x) && node(q.y) == node(p.y))
            .unwrap();
        assert_eq!(plain.grid[node(p.y) * GRID + node(p.x)], last.value);
    }
    let (lo, hi) = crate::chart::bounds(plain.points.iter().map(|p| p.value));
    // The maximum principle: nothing outside the trials' values.
    assert!(
        plain
            .grid
            .iter()
            .all(|v| *v >= lo - 1e-9 && *v <= hi + 1e-9)
    );
}

#[test]
fn no_contour_without_three_complete_trials_or_two_numeric_parameters() {
    let trials = trials();
    let few: Vec<_> = trials.iter().filter(|t| t.number < 2).cloned().collect();
    assert!(ContourChart::build(&few, &space(), Direction::Minimize, METRIC, &[]).is_none());
    let one_numeric = temper_tune::Space::new(
        space()
            .params()
            .iter()
            .filter(|p| p.name != "train.batch_size" && p.name != "optim.momentum")
            .cloned()
            .collect(),
    )
    .unwrap();
    assert!(ContourChart::build(&trials, &one_numeric, Direction::Minimize, METRIC, &[]).is_none());
}
