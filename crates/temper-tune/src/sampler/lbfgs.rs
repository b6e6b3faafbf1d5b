//! A small box-constrained L-BFGS (Nocedal & Wright 2006, Algorithm 7.4 two-loop recursion)
//! with projection onto the box and Armijo backtracking, for the GP's marginal likelihood.

/// Minimizes `f` (value and gradient; `None` where it cannot be evaluated) inside
/// `[lo, hi]` from `x0`. Returns the best point found and its value.
/// A value-and-gradient oracle.
pub(crate) type Objective<'a> = dyn FnMut(&[f64]) -> Option<(f64, Vec<f64>)> + 'a;

pub(crate) fn minimize_box(
    f: &mut Objective<'_>,
    x0: &[f64],
    lo: &[f64],
    hi: &[f64],
    max_iter: usize,
) -> (Vec<f64>, f64) {
    const M: usize = 6;
    let proj = |x: &mut [f64]| {
        for i in 0..x.len() {
            x[i] = x[i].clamp(lo[i], hi[i]);
        }
    };
    let mut x = x0.to_vec();
    proj(&mut x);
    let Some((mut fx, mut g)) = f(&x) else {
        return (x, f64::INFINITY);
    };
    let mut mem: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    for _ in 0..max_iter {
        // Variables held at a bound by their gradient stay there this step.
        let free: Vec<bool> = (0..x.len())
            .map(|i| !((x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0)))
            .collect();
        let gf: Vec<f64> = (0..x.len())
            .map(|i| if free[i] { g[i] } else { 0.0 })
            .collect();
        if gf.iter().all(|v| v.abs() < 1e-7) {
            break;
        }
        let mut d = two_loop(&gf, &mem);
        for i in 0..d.len() {
            if !free[i] {
                d[i] = 0.0;
            }
        }
        if dot(&d, &gf) >= 0.0 {
            mem.clear();
        }
        if mem.is_empty() {
            // Steepest descent scaled to unit length (no curvature known yet).
            let norm = dot(&gf, &gf).sqrt();
            d = gf.iter().map(|v| -v / norm).collect();
        }
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            let mut xn: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + t * b).collect();
            proj(&mut xn);
            let step: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
            if let Some((fxn, gn)) = f(&xn)
                && fxn <= fx + 1e-4 * dot(&g, &step)
            {
                accepted = Some((xn, fxn, gn, step));
                break;
            }
            t *= 0.5;
        }
        let Some((xn, fxn, gn, s)) = accepted else {
            if mem.is_empty() {
                break;
            }
            mem.clear();
            continue;
        };
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if mem.len() == M {
                mem.remove(0);
            }
            mem.push((s, y, 1.0 / sy));
        }
        let done = (fx - fxn).abs() <= 1e-12 * fx.abs().max(1.0);
        x = xn;
        fx = fxn;
        g = gn;
        if done {
            break;
        }
    }
    (x, fx)
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
        let (x, v) = minimize_box(&mut f, &[-1.2, 1.0], &[-5.0, -5.0], &[5.0, 5.0], 500);
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
        let (x, _) = minimize_box(&mut q, &[0.0, 3.0], &[-1.0, -1.0], &[0.5, 5.0], 100);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-6, "{x:?}");
    }
}
