//! The weighted Fenwick tree behind the `absolute_error` criterion's medians.

/// scikit-learn's `WeightedFenwickTree`: prefix sums of weights and of weight × target over
/// target ranks, with its weighted-median search (ported step for step, so medians and
/// absolute errors come out with the same arithmetic).
#[derive(Default)]
pub(super) struct Fenwick {
    w: Vec<f64>,
    wy: Vec<f64>,
    size: usize,
    max_pow2: usize,
    total_w: f64,
    total_wy: f64,
}

impl Fenwick {
    pub(super) fn reset(&mut self, size: usize) {
        self.size = size;
        self.w.clear();
        self.w.resize(size + 1, 0.0);
        self.wy.clear();
        self.wy.resize(size + 1, 0.0);
        self.total_w = 0.0;
        self.total_wy = 0.0;
        let mut p = 1;
        while p <= size {
            p <<= 1;
        }
        self.max_pow2 = p >> 1;
    }

    pub(super) fn add(&mut self, idx: usize, y: f64, weight: f64) {
        let wy = weight * y;
        let mut i = idx + 1;
        while i <= self.size {
            self.w[i] += weight;
            self.wy[i] += wy;
            i += i & i.wrapping_neg();
        }
        self.total_w += weight;
        self.total_wy += wy;
    }

    /// (index where the cumulative weight first exceeds `target` — or, on an exact match, the
    /// first index past it —, cumulative weight and weighted target before it, the index where
    /// the cumulative weight reaches `target`).
    pub(super) fn search(&self, mut target: f64) -> (usize, f64, f64, usize) {
        let (mut current, mut cw, mut cwy) = (0usize, 0.0, 0.0);
        let mut bit = self.max_pow2;
        let mut equal = None;
        while bit != 0 {
            let next = current + bit;
            if next <= self.size {
                let nw = self.w[next];
                if target == nw {
                    equal = Some((target, bit));
                    break;
                } else if target > nw {
                    target -= nw;
                    current = next;
                    cw += nw;
                    cwy += self.wy[next];
                }
            }
            bit >>= 1;
        }
        let Some((equal_target, equal_bit)) = equal else {
            return (current, cw, cwy, current);
        };
        let mut prev = current;
        while bit != 0 {
            let next = prev + bit;
            if next <= self.size {
                let nw = self.w[next];
                if target > nw {
                    target -= nw;
                    prev = next;
                }
            }
            bit >>= 1;
        }
        let (mut bit, mut target) = (equal_bit, equal_target);
        while bit != 0 {
            let next = current + bit;
            if next <= self.size {
                let nw = self.w[next];
                if target >= nw {
                    target -= nw;
                    current = next;
                    cw += nw;
                    cwy += self.wy[next];
                }
            }
            bit >>= 1;
        }
        (current, cw, cwy, prev)
    }

    /// (absolute error from the weighted median, the median) of the values added so far
    /// (`sorted_y`: the values by rank).
    pub(super) fn abs_error(&self, sorted_y: &[f64]) -> (f64, f64) {
        let (rank, wl, wyl, prev) = self.search(0.5 * self.total_w);
        let median = if rank != prev {
            (sorted_y[prev] + sorted_y[rank]) / 2.0
        } else {
            sorted_y[rank]
        };
        let (wr, wyr) = (self.total_w - wl, self.total_wy - wyl);
        ((wyr - median * wr) + (median * wl - wyl), median)
    }
}
