//! A small box-constrained L-BFGS (Nocedal & Wright 2006, Algorithm 7.4 two-loop recursion)
//! with projection onto the box and Armijo backtracking, for the GP's marginal likelihood and
//! its acquisition function. It stops as SciPy's L-BFGS-B does (`scipy/optimize/_lbfgsb_py.py`):
//! when the projected gradient's largest component is at most `pgtol`, or the relative
//! decrease (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) is at most `ftol` (SciPy's
//! `factr · eps` = 1e7 · 2.2e-16), or after `max_iter` iterations. It keeps SciPy's 10
//! curvature pairs.

/// A value-and-gradient oracle: `None` where the function cannot be evaluated.
pub(crate) type Objective<'a> = dyn FnMut(&[f64]) -> Option<(f64, Vec<f64>)> + 'a;

/// Curvature pairs `(s, y, 1 / sᵀy)` kept, oldest first.
type Memory = Vec<(Vec<f64>, Vec<f64>, f64)>;

/// How many curvature pairs the memory holds (SciPy's default `m`).
const M: usize = 10;

/// When [`minimize_box`] stops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stop {
    /// Most iterations.
    pub max_iter: usize,
    /// Largest projected-gradient component at which it has converged.
    pub pgtol: f64,
    /// Relative decrease of `f` at which it has converged.
    pub ftol: f64,
}

impl Stop {
    /// SciPy's `ftol` default, `factr = 1e7` times machine epsilon.
    pub const SCIPY_FTOL: f64 = 1e7 * f64::EPSILON;
}

/// Minimizes `f` (value and gradient; `None` where it cannot be evaluated) inside
/// `[lo, hi]` from `x0`. Returns the best point found, its value and the number of
/// iterations that moved.
pub(crate) fn minimize_box(
    f: &mut Objective<'_>,
    x0: &[f64],
    lo: &[f64],
    hi: &[f64],
    stop: Stop,
) -> (Vec<f64>, f64, usize) {
    let mut x = x0.to_vec();
    project(&mut x, lo, hi);
    let Some((mut fx, mut g)) = f(&x) else {
        return (x, f64::INFINITY, 0);
    };
    let mut mem = Memory::new();
    let mut moved = 0;
    for _ in 0..stop.max_iter {
        if projected_gradient_norm(&x, &g, lo, hi) <= stop.pgtol {
            break;
        }
        let Some(d) = search_direction(&x, &g, lo, hi, &mut mem) else {
            break;
        };
        let Some(accepted) = backtrack(f, &x, &d, fx, &g, lo, hi) else {
            if mem.is_empty() {
                break;
            }
            mem.clear();
            continue;
        };
        let y: Vec<f64> = accepted.g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&accepted.s, &y);
        if sy > 1e-12 {
            if mem.len() == M {
                mem.remove(0);
            }
            mem.push((accepted.s, y, 1.0 / sy));
        }
        let done = (fx - accepted.fx) <= stop.ftol * fx.abs().max(accepted.fx.abs()).max(1.0);
        (x, fx, g) = (accepted.x, accepted.fx, accepted.g);
        moved += 1;
        if done {
            break;
        }
    }
    (x, fx, moved)
}

/// max_i |P(x − g)_i − x_i|, P the projection onto the box (SciPy's `projgr`).
fn projected_gradient_norm(x: &[f64], g: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    (0..x.len())
        .map(|i| ((x[i] - g[i]).clamp(lo[i], hi[i]) - x[i]).abs())
        .fold(0.0, f64::max)
}

/// Clamps `x` into the box `[lo, hi]`.
fn project(x: &mut [f64], lo: &[f64], hi: &[f64]) {
    for i in 0..x.len() {
        x[i] = x[i].clamp(lo[i], hi[i]);
    }
}

/// The L-BFGS direction at `x` over the free variables (a variable held at a bound by its
/// gradient stays there this step), or steepest descent scaled to unit length when no
/// curvature is known or the L-BFGS direction does not descend (which clears `mem`). `None`
/// when the free gradient vanishes: converged.
fn search_direction(
    x: &[f64],
    g: &[f64],
    lo: &[f64],
    hi: &[f64],
    mem: &mut Memory,
) -> Option<Vec<f64>> {
    let free: Vec<bool> = (0..x.len())
        .map(|i| !((x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0)))
        .collect();
    let gf: Vec<f64> = (0..x.len())
        .map(|i| if free[i] { g[i] } else { 0.0 })
        .collect();
    if gf.iter().all(|v| v.abs() < 1e-7) {
        return None;
    }
    let mut d = two_loop(&gf, mem);
    for i in 0..d.len() {
        if !free[i] {
            d[i] = 0.0;
        }
    }
    if dot(&d, &gf) >= 0.0 {
        mem.clear();
    }
    if mem.is_empty() {
        let norm = dot(&gf, &gf).sqrt();
        d = gf.iter().map(|v| -v / norm).collect();
    }
    Some(d)
}

/// A point the line search accepted.
struct Accepted {
    x: Vec<f64>,
    /// `f(x)`.
    fx: f64,
    /// The gradient at `x`.
    g: Vec<f64>,
    /// The step taken to reach `x`, after projection.
    s: Vec<f64>,
}

/// Armijo backtracking from `x` along `d`, each trial point projected onto the box: the step
/// starts at 1 and halves up to 30 times; `None` when no step decreases `f` enough.
fn backtrack(
    f: &mut Objective<'_>,
    x: &[f64],
    d: &[f64],
    fx: f64,
    g: &[f64],
    lo: &[f64],
    hi: &[f64],
) -> Option<Accepted> {
    let mut t = 1.0;
    for _ in 0..30 {
        let mut xn: Vec<f64> = x.iter().zip(d).map(|(a, b)| a + t * b).collect();
        project(&mut xn, lo, hi);
        let step: Vec<f64> = xn.iter().zip(x).map(|(a, b)| a - b).collect();
        if let Some((fxn, gn)) = f(&xn)
            && fxn <= fx + 1e-4 * dot(g, &step)
        {
            return Some(Accepted {
                x: xn,
                fx: fxn,
                g: gn,
                s: step,
            });
        }
        t *= 0.5;
    }
    None
}

fn two_loop(g: &[f64], mem: &[(Vec<f64>, Vec<f64>, f64)]) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = vec![0.0; mem.len()];
    for (i, (s, y, rho)) in mem.iter().enumerate().rev() {
        let a = rho * dot(s, &q);
        alphas[i] = a;
        for (qj, yj) in q.iter_mut().zip(y) {
            *qj -= a * yj;
        }
    }
    if let Some((s, y, _)) = mem.last() {
        let gamma = dot(s, y) / dot(y, y);
        for v in &mut q {
            *v *= gamma;
        }
    }
    for (i, (s, y, rho)) in mem.iter().enumerate() {
        let b = rho * dot(y, &q);
        for (qj, sj) in q.iter_mut().zip(s) {
            *qj += (alphas[i] - b) * sj;
        }
    }
    q.iter().map(|v| -v).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lbfgs_finds_rosenbrock_minimum_and_respects_box() {
        // Rosenbrock's minimum is (1, 1) with value 0 (Nocedal & Wright, eq. 2.22).
        let mut f = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let v = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            let g = vec![
                -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
                200.0 * (b - a * a),
            ];
            Some((v, g))
        };
        let stop = Stop {
            max_iter: 500,
            pgtol: 1e-9,
            ftol: 1e-15,
        };
        let (x, v, _) = minimize_box(&mut f, &[-1.2, 1.0], &[-5.0, -5.0], &[5.0, 5.0], stop);
        assert!(
            (x[0] - 1.0).abs() < 1e-4 && (x[1] - 1.0).abs() < 1e-4,
            "{x:?}"
        );
        assert!(v < 1e-8);
        // With x0 <= 0.5 the constrained minimum of (x0-1)^2 + x1^2 is (0.5, 0).
        let mut q = |x: &[f64]| {
            Some((
                (x[0] - 1.0).powi(2) + x[1] * x[1],
                vec![2.0 * (x[0] - 1.0), 2.0 * x[1]],
            ))
        };
        let (x, _, _) = minimize_box(&mut q, &[0.0, 3.0], &[-1.0, -1.0], &[0.5, 5.0], stop);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-6, "{x:?}");
    }
}
