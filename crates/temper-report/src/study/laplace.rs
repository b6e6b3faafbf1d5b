//! Filling a grid from scattered values by the discrete Laplace equation, the interpolation of
//! Optuna's contour plot (`_interpolate_zmap` in
//! `optuna/visualization/matplotlib/_contour.py`), itself plotly's heatmap gap filling
//! (`src/traces/heatmap/interp2d.js`: "an iterative poisson equation solver with
//! zero-derivative BC at edges").
//!
//! On an `n × n` grid, a node holding a trial's value keeps it; every other node is the mean
//! of its neighbours inside the grid:
//!
//! ```text
//! z[x, y] = known value                                          (a trial's node)
//! deg(x, y) · z[x, y] = Σ z over the 2–4 neighbours inside the grid   (every other node)
//! ```
//!
//! Counting only the neighbours inside the grid is the zero-derivative (Neumann) boundary. The
//! result is the harmonic interpolant of the known nodes: smooth, with no value outside the
//! known range (the maximum principle), and exact for any function linear along the grid
//! where the boundary does not cut it. Optuna solves the sparse system directly with
//! `scipy.sparse.linalg.spsolve`; here the unknown nodes' system — symmetric positive
//! definite once one node is known, since every unknown node then connects to a known one — is
//! solved by conjugate gradients (Hestenes & Stiefel, 1952) to a relative residual of 1e-13,
//! a few hundred iterations on Optuna's 100 × 100 grid.

/// Solves the grid's Laplace equation. `known` holds `(x, y, value)` nodes (a later entry on
/// the same node replaces an earlier one, as Optuna's dictionary does); the result is
/// row-major, `z[y * n + x]`. With no known node every value is NaN.
pub fn interpolate(n: usize, known: &[(usize, usize, f64)]) -> Vec<f64> {
    let cells = n * n;
    let mut z = vec![f64::NAN; cells];
    let mut fixed = vec![false; cells];
    for &(x, y, v) in known.iter().filter(|k| k.0 < n && k.1 < n) {
        z[y * n + x] = v;
        fixed[y * n + x] = true;
    }
    let count = fixed.iter().filter(|f| **f).count();
    if count == 0 {
        return z;
    }
    let mean = z.iter().filter(|v| !v.is_nan()).sum::<f64>() / count as f64;
    let grid = Grid { n, fixed: &fixed };
    // Unknown nodes start at the known mean; `b` carries the known neighbours' values.
    let mut b = vec![0.0; cells];
    for i in 0..cells {
        if fixed[i] {
            continue;
        }
        z[i] = mean;
        grid.neighbours(i, |j| {
            if fixed[j] {
                b[i] += z[j];
            }
        });
    }
    conjugate_gradients(&grid, &mut z, &b);
    z
}

/// The grid's adjacency and which nodes are known.
struct Grid<'a> {
    n: usize,
    fixed: &'a [bool],
}

impl Grid<'_> {
    /// Calls `f` with each neighbour of node `i` inside the grid.
    fn neighbours(&self, i: usize, mut f: impl FnMut(usize)) {
        let (x, y, n) = (i % self.n, i / self.n, self.n);
        if x > 0 {
            f(i - 1);
        }
        if x + 1 < n {
            f(i + 1);
        }
        if y > 0 {
            f(i - n);
        }
        if y + 1 < n {
            f(i + n);
        }
    }

    /// `A v` on the unknown nodes: `deg · v[i] - Σ v` over unknown neighbours; 0 on known
    /// nodes.
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            if self.fixed[i] {
                *o = 0.0;
                continue;
            }
            let (mut degree, mut sum) = (0.0, 0.0);
            self.neighbours(i, |j| {
                degree += 1.0;
                if !self.fixed[j] {
                    sum += v[j];
                }
            });
            *o = degree * v[i] - sum;
        }
    }
}

/// Conjugate gradients on the unknown nodes of `z`, from the values in it, for `A z = b`.
fn conjugate_gradients(grid: &Grid, z: &mut [f64], b: &[f64]) {
    let cells = z.len();
    let unknown = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(grid.fixed)
            .map(|(x, f)| if *f { 0.0 } else { *x })
            .collect()
    };
    let dot = |a: &[f64], c: &[f64]| a.iter().zip(c).map(|(p, q)| p * q).sum::<f64>();
    let x0 = unknown(z);
    let mut ax = vec![0.0; cells];
    grid.apply(&x0, &mut ax);
    let mut r: Vec<f64> = (0..cells)
        .map(|i| if grid.fixed[i] { 0.0 } else { b[i] - ax[i] })
        .collect();
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    let stop = 1e-26 * dot(b, b).max(dot(&x0, &x0)).max(1e-300);
    let mut ap = vec![0.0; cells];
    for _ in 0..10 * cells {
        if rr <= stop {
            break;
        }
        grid.apply(&p, &mut ap);
        let alpha = rr / dot(&p, &ap);
        for i in 0..cells {
            if !grid.fixed[i] {
                z[i] += alpha * p[i];
                r[i] -= alpha * ap[i];
            }
        }
        let next = dot(&r, &r);
        let beta = next / rr;
        rr = next;
        for i in 0..cells {
            p[i] = r[i] + beta * p[i];
        }
    }
}
