//! Isotonic regression (scikit-learn's `IsotonicRegression(out_of_bounds="clip")`): the
//! non-decreasing step function closest to the targets in weighted least squares, found by
//! pool-adjacent-violators, predicted by linear interpolation between its knots.

use serde::{Deserialize, Serialize};

/// A fitted non-decreasing map, stored as its knots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    /// Knot positions, increasing.
    pub x: Vec<f64>,
    /// Knot values, non-decreasing.
    pub y: Vec<f64>,
}

impl Isotonic {
    /// Fits on `(x, y)` with optional weights (rows of weight 0 are left out, as
    /// scikit-learn does). Inputs are finite and of equal length (checked by the caller).
    pub fn fit(x: &[f64], y: &[f64], w: Option<&[f64]>) -> Isotonic {
        let mut rows: Vec<(f64, f64, f64)> = (0..x.len())
            .map(|i| (x[i], y[i], w.map_or(1.0, |w| w[i])))
            .filter(|r| r.2 > 0.0)
            .collect();
        // scikit-learn sorts by x, then y (np.lexsort((y, X))).
        rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        // Equal x — within numpy's float64 resolution (1e-15) of the group's first x, as
        // scikit-learn's `_make_unique` merges them — become one point: weighted mean y,
        // summed weight.
        let (mut ux, mut uy, mut uw) = (Vec::new(), Vec::new(), Vec::new());
        let mut i = 0;
        while i < rows.len() {
            let mut j = i;
            let (mut sy, mut sw) = (0.0, 0.0);
            while j < rows.len() && rows[j].0 - rows[i].0 < 1e-15 {
                sy += rows[j].1 * rows[j].2;
                sw += rows[j].2;
                j += 1;
            }
            ux.push(rows[i].0);
            uy.push(sy / sw);
            uw.push(sw);
            i = j;
        }
        let fitted = pav(&uy, &uw);
        // Keep the first and last knots and those where the value changes on either side.
        let n = fitted.len();
        let keep: Vec<bool> = (0..n)
            .map(|k| {
                k == 0 || k + 1 == n || fitted[k - 1] != fitted[k] || fitted[k] != fitted[k + 1]
            })
            .collect();
        Isotonic {
            x: ux
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| *v)
                .collect(),
            y: fitted
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| *v)
                .collect(),
        }
    }

    /// The fitted value at `t`: linear between knots, clipped to the end values outside.
    pub fn predict(&self, t: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return f64::NAN;
        }
        if n == 1 || t <= self.x[0] {
            return self.y[0];
        }
        if t >= self.x[n - 1] {
            return self.y[n - 1];
        }
        // First knot strictly greater than t.
        let hi = self.x.partition_point(|&k| k <= t);
        let lo = hi - 1;
        let (x0, x1, y0, y1) = (self.x[lo], self.x[hi], self.y[lo], self.y[hi]);
        y0 + (y1 - y0) * (t - x0) / (x1 - x0)
    }
}

/// Pool-adjacent-violators: the non-decreasing sequence closest to `y` in weighted squares.
fn pav(y: &[f64], w: &[f64]) -> Vec<f64> {
    // Blocks of (weighted mean, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(y.len());
    for (&v, &wt) in y.iter().zip(w) {
        blocks.push((v, wt, 1));
        while blocks.len() > 1 {
            let (m2, w2, c2) = blocks[blocks.len() - 1];
            let (m1, w1, c1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = ((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2);
        }
    }
    blocks
        .iter()
        .flat_map(|&(m, _, c)| std::iter::repeat_n(m, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_violators_and_interpolates() {
        // scikit-learn: IsotonicRegression().fit([1,2,3,4,5], [1,3,2,4,3.5]) gives
        // [1, 2.5, 2.5, 3.75, 3.75]; predicting 2.5 interpolates to 2.5, 0 clips to 1.
        let m = Isotonic::fit(&[1., 2., 3., 4., 5.], &[1., 3., 2., 4., 3.5], None);
        assert_eq!(m.x, vec![1., 2., 3., 4., 5.]);
        assert_eq!(m.y, vec![1., 2.5, 2.5, 3.75, 3.75]);
        assert_eq!(m.predict(0.0), 1.0);
        assert_eq!(m.predict(9.0), 3.75);
        assert_eq!(m.predict(3.5), 3.125);
        // Ties in x are averaged first; weights count.
        let m = Isotonic::fit(&[1., 1., 2.], &[0., 1., 0.], Some(&[1., 3., 1.]));
        assert_eq!(m.y, vec![0.6, 0.6]);
    }
}
