//! A bounded max-heap of the `k` best `(distance, index)` pairs seen so far.
//!
//! Pairs are ordered lexicographically, so among equal distances the smaller training index
//! wins: neighbour sets are deterministic whatever the visiting order (kd-tree) or blocking
//! (brute force).

/// The `k` smallest `(distance, index)` pairs pushed so far; the root is the worst kept pair.
#[derive(Clone, Debug)]
pub(crate) struct KHeap {
    d: Vec<f64>,
    i: Vec<usize>,
}

#[inline]
fn greater(d1: f64, i1: usize, d2: f64, i2: usize) -> bool {
    d1 > d2 || (d1 == d2 && i1 > i2)
}

impl KHeap {
    /// An empty heap of capacity `k` (`k >= 1`), filled with `(inf, usize::MAX)` sentinels.
    pub(crate) fn new(k: usize) -> Self {
        KHeap {
            d: vec![f64::INFINITY; k],
            i: vec![usize::MAX; k],
        }
    }

    /// Empties the heap (back to sentinels).
    pub(crate) fn reset(&mut self) {
        self.d.iter_mut().for_each(|v| *v = f64::INFINITY);
        self.i.iter_mut().for_each(|v| *v = usize::MAX);
    }

    /// The largest distance kept (`inf` until `k` pairs were pushed).
    #[inline]
    pub(crate) fn worst(&self) -> f64 {
        self.d[0]
    }

    /// Offers a pair; kept when it is smaller than the worst kept pair.
    #[inline]
    pub(crate) fn push(&mut self, d: f64, i: usize) {
        if greater(self.d[0], self.i[0], d, i) {
            self.replace_root(d, i);
        }
    }

    /// Offers a pair whose index is larger than every index pushed before (a scan in index
    /// order): a distance equal to the worst then loses, so one comparison suffices.
    #[inline]
    pub(crate) fn push_in_order(&mut self, d: f64, i: usize) {
        if d < self.d[0] {
            self.replace_root(d, i);
        }
    }

    #[inline]
    fn replace_root(&mut self, d: f64, i: usize) {
        let n = self.d.len();
        let mut pos = 0;
        loop {
            let l = 2 * pos + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let big = if r < n && greater(self.d[r], self.i[r], self.d[l], self.i[l]) {
                r
            } else {
                l
            };
            if greater(self.d[big], self.i[big], d, i) {
                self.d[pos] = self.d[big];
                self.i[pos] = self.i[big];
                pos = big;
            } else {
                break;
            }
        }
        self.d[pos] = d;
        self.i[pos] = i;
    }

    /// The kept pairs, smallest first, into `dist` and `idx` (each of length `k`).
    pub(crate) fn sorted_into(&self, dist: &mut [f64], idx: &mut [usize]) {
        let mut pairs: Vec<(f64, usize)> =
            self.d.iter().copied().zip(self.i.iter().copied()).collect();
        pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (t, (d, i)) in pairs.into_iter().enumerate() {
            dist[t] = d;
            idx[t] = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_k_smallest_with_index_tiebreak() {
        let mut h = KHeap::new(3);
        for (i, d) in [5.0, 1.0, 3.0, 1.0, 0.5, 3.0, 9.0].iter().enumerate() {
            h.push(*d, i);
        }
        let (mut d, mut i) = (vec![0.0; 3], vec![0; 3]);
        h.sorted_into(&mut d, &mut i);
        assert_eq!(d, vec![0.5, 1.0, 1.0]);
        assert_eq!(i, vec![4, 1, 3]);
        // Out of order: a tie with a smaller index replaces the larger one.
        let mut h = KHeap::new(1);
        h.push(2.0, 7);
        h.push(2.0, 3);
        h.push(2.0, 5);
        let (mut d, mut i) = (vec![0.0], vec![0]);
        h.sorted_into(&mut d, &mut i);
        assert_eq!(i, vec![3]);
    }
}
