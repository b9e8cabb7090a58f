//! The `Q` matrices the SMO solver works on, and their kernel-row cache.
//!
//! Rows of `Q` are computed on demand from the training rows and kept in an LRU cache bounded
//! by `cache_size` megabytes (libsvm's `Cache`): a row holds the entries of the active part,
//! and shrinking swaps indices, so the cache swaps them in every stored row too.

use rayon::prelude::*;

use super::{KernelFn, dot};

/// Storage type of cached `Q` rows: single precision, as libsvm's `Qfloat`, so the cache holds
/// twice as many rows (gradients and `α` stay in `f64`).
pub(crate) type Qf = f32;

/// An LRU cache of (partial) rows: row `i` holds entries `0..len_i`.
pub(crate) struct Cache {
    rows: Vec<Vec<Qf>>,
    prev: Vec<usize>,
    next: Vec<usize>,
    /// Free row slots.
    free: usize,
}

impl Cache {
    /// A cache for `l` rows within `bytes` (at least two full rows, as the solver needs).
    pub fn new(l: usize, bytes: f64) -> Self {
        let slots = (bytes / size_of::<Qf>() as f64) as usize;
        let free = slots.max(2 * l);
        Cache {
            rows: vec![Vec::new(); l],
            prev: vec![l; l + 1],
            next: vec![l; l + 1],
            free,
        }
    }

    fn head(&self) -> usize {
        self.prev.len() - 1
    }

    fn unlink(&mut self, h: usize) {
        let (p, n) = (self.prev[h], self.next[h]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn push_back(&mut self, h: usize) {
        let head = self.head();
        let last = self.prev[head];
        self.next[h] = head;
        self.prev[h] = last;
        self.next[last] = h;
        self.prev[head] = h;
    }

    /// Makes row `i` at least `len` long and most recently used; returns how many entries were
    /// already there (the caller fills the rest). Never evicts `pin`.
    pub fn get(&mut self, i: usize, len: usize, pin: Option<usize>) -> usize {
        let have = self.rows[i].len();
        if have > 0 {
            self.unlink(i);
        }
        if len > have {
            let more = len - have;
            let head = self.head();
            while self.free < more {
                let mut victim = self.next[head];
                if Some(victim) == pin || victim == i {
                    victim = self.next[victim];
                }
                if Some(victim) == pin || victim == i {
                    victim = self.next[victim];
                }
                if victim == head {
                    break;
                }
                self.unlink(victim);
                self.free += self.rows[victim].len();
                self.rows[victim] = Vec::new();
            }
            self.rows[i].resize(len, 0.0);
            self.free = self.free.saturating_sub(more);
        }
        self.push_back(i);
        have
    }

    pub fn row(&self, i: usize) -> &[Qf] {
        &self.rows[i]
    }

    pub fn row_mut(&mut self, i: usize) -> &mut [Qf] {
        &mut self.rows[i]
    }

    /// Swaps indices `i` and `j` in every cached row (rows too short to hold both are dropped).
    pub fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        if !self.rows[i].is_empty() {
            self.unlink(i);
        }
        if !self.rows[j].is_empty() {
            self.unlink(j);
        }
        self.rows.swap(i, j);
        if !self.rows[i].is_empty() {
            self.push_back(i);
        }
        if !self.rows[j].is_empty() {
            self.push_back(j);
        }
        let (lo, hi) = (i.min(j), i.max(j));
        let head = self.head();
        let mut h = self.next[head];
        while h != head {
            let nx = self.next[h];
            let len = self.rows[h].len();
            if len > lo {
                if len > hi {
                    self.rows[h].swap(lo, hi);
                } else {
                    self.unlink(h);
                    self.free += len;
                    self.rows[h] = Vec::new();
                }
            }
            h = nx;
        }
    }
}

/// The training rows (row-major, contiguous) with their squared norms.
pub(crate) struct KernelRows {
    pub x: Vec<f64>,
    pub sq: Vec<f64>,
    pub p: usize,
    pub k: KernelFn,
}

/// Entries past which a kernel row is computed in parallel.
const PAR_WORK: usize = 1 << 15;

impl KernelRows {
    pub fn new(x: Vec<f64>, n: usize, p: usize, k: KernelFn) -> Self {
        let sq = if p == 0 {
            vec![0.0; n]
        } else {
            x.chunks_exact(p).map(|r| dot(r, r)).collect()
        };
        KernelRows { x, sq, p, k }
    }

    pub fn n(&self) -> usize {
        self.sq.len()
    }

    fn xr(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }

    #[inline]
    pub fn eval(&self, i: usize, j: usize) -> f64 {
        self.k
            .eval_dot(dot(self.xr(i), self.xr(j)), self.sq[i], self.sq[j])
    }

    /// `out[t] = K(i, start + t) · f(start + t)`.
    pub fn fill(&self, i: usize, start: usize, out: &mut [Qf], f: impl Fn(usize) -> f64 + Sync) {
        let work = out.len() * self.p.max(1);
        if work > PAR_WORK {
            out.par_chunks_mut(1024).enumerate().for_each(|(c, ch)| {
                let s = start + c * 1024;
                for (t, o) in ch.iter_mut().enumerate() {
                    *o = (self.eval(i, s + t) * f(s + t)) as Qf;
                }
            });
        } else {
            for (t, o) in out.iter_mut().enumerate() {
                *o = (self.eval(i, start + t) * f(start + t)) as Qf;
            }
        }
    }

    pub fn swap(&mut self, i: usize, j: usize) {
        if i == j || self.p == 0 {
            return;
        }
        let p = self.p;
        let (lo, hi) = (i.min(j), i.max(j));
        let (a, b) = self.x.split_at_mut(hi * p);
        a[lo * p..(lo + 1) * p].swap_with_slice(&mut b[..p]);
        self.sq.swap(i, j);
    }
}

/// The `Q` matrix as the solver sees it.
pub(crate) trait QMatrix {
    /// The diagonal.
    fn qd(&self) -> &[f64];
    /// Row `i`, entries `0..len`.
    fn get_q(&mut self, i: usize, len: usize) -> &[Qf];
    /// Rows `i` and `j`, entries `0..len`.
    fn get_q2(&mut self, i: usize, j: usize, len: usize) -> (&[Qf], &[Qf]);
    /// Exchanges indices `i` and `j` (shrinking).
    fn swap_index(&mut self, i: usize, j: usize);
}

/// `Q_ij = y_i y_j K(x_i, x_j)` for classification.
pub(crate) struct SvcQ {
    rows: KernelRows,
    y: Vec<f64>,
    qd: Vec<f64>,
    cache: Cache,
}

impl SvcQ {
    pub fn new(rows: KernelRows, y: &[f64], cache_bytes: f64) -> Self {
        let l = rows.n();
        let qd = (0..l).map(|i| rows.eval(i, i)).collect();
        SvcQ {
            rows,
            y: y.to_vec(),
            qd,
            cache: Cache::new(l, cache_bytes),
        }
    }

    fn ensure(&mut self, i: usize, len: usize, pin: Option<usize>) {
        let start = self.cache.get(i, len, pin);
        if start < len {
            let (rows, y) = (&self.rows, &self.y);
            let yi = y[i];
            let out = &mut self.cache.row_mut(i)[start..len];
            rows.fill(i, start, out, |j| yi * y[j]);
        }
    }
}

impl QMatrix for SvcQ {
    fn qd(&self) -> &[f64] {
        &self.qd
    }
    fn get_q(&mut self, i: usize, len: usize) -> &[Qf] {
        self.ensure(i, len, None);
        &self.cache.row(i)[..len]
    }
    fn get_q2(&mut self, i: usize, j: usize, len: usize) -> (&[Qf], &[Qf]) {
        self.ensure(i, len, None);
        self.ensure(j, len, Some(i));
        (&self.cache.row(i)[..len], &self.cache.row(j)[..len])
    }
    fn swap_index(&mut self, i: usize, j: usize) {
        self.cache.swap_index(i, j);
        self.rows.swap(i, j);
        self.y.swap(i, j);
        self.qd.swap(i, j);
    }
}

/// `Q` of ε-SVR: `2l × 2l`, `Q_ij = s_i s_j K(x_{i mod l}, x_{j mod l})` with `s = (1…1, -1…-1)`.
/// Kernel rows of the `l` samples are cached and never swapped; the index map is.
pub(crate) struct SvrQ {
    rows: KernelRows,
    sign: Vec<f64>,
    index: Vec<usize>,
    qd: Vec<f64>,
    cache: Cache,
    buf: [Vec<Qf>; 2],
    /// Which row (and length) each buffer holds; reset when indices are swapped.
    held: [Option<(usize, usize)>; 2],
}

impl SvrQ {
    pub fn new(rows: KernelRows, cache_bytes: f64) -> Self {
        let l = rows.n();
        let kd: Vec<f64> = (0..l).map(|i| rows.eval(i, i)).collect();
        let mut sign = vec![1.0; 2 * l];
        let mut index = vec![0; 2 * l];
        let mut qd = vec![0.0; 2 * l];
        for k in 0..l {
            sign[k + l] = -1.0;
            index[k] = k;
            index[k + l] = k;
            qd[k] = kd[k];
            qd[k + l] = kd[k];
        }
        SvrQ {
            rows,
            sign,
            index,
            qd,
            cache: Cache::new(l, cache_bytes),
            buf: [vec![0.0; 2 * l], vec![0.0; 2 * l]],
            held: [None, None],
        }
    }

    fn fill_buf(&mut self, b: usize, i: usize, len: usize) {
        if self.held[b].is_some_and(|(r, n)| r == i && n >= len) {
            return;
        }
        self.held[b] = Some((i, len));
        let l = self.rows.n();
        let real = self.index[i];
        let start = self.cache.get(real, l, None);
        if start < l {
            let rows = &self.rows;
            let out = &mut self.cache.row_mut(real)[start..l];
            rows.fill(real, start, out, |_| 1.0);
        }
        let data = self.cache.row(real);
        let si = self.sign[i] as Qf;
        let (sign, index) = (&self.sign, &self.index);
        for (t, o) in self.buf[b][..len].iter_mut().enumerate() {
            *o = si * sign[t] as Qf * data[index[t]];
        }
    }
}

impl QMatrix for SvrQ {
    fn qd(&self) -> &[f64] {
        &self.qd
    }
    fn get_q(&mut self, i: usize, len: usize) -> &[Qf] {
        // Buffer 0 holds the `i` of the next step (selection, then the update).
        self.fill_buf(0, i, len);
        &self.buf[0][..len]
    }
    fn get_q2(&mut self, i: usize, j: usize, len: usize) -> (&[Qf], &[Qf]) {
        self.fill_buf(0, i, len);
        self.fill_buf(1, j, len);
        (&self.buf[0][..len], &self.buf[1][..len])
    }
    fn swap_index(&mut self, i: usize, j: usize) {
        self.held = [None, None];
        self.sign.swap(i, j);
        self.index.swap(i, j);
        self.qd.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_evicts_least_recent_and_swaps() {
        // Room for two rows of 3.
        let mut c = Cache::new(3, 6.0 * size_of::<Qf>() as f64);
        assert_eq!(c.get(0, 3, None), 0);
        c.row_mut(0).copy_from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(c.get(1, 3, None), 0);
        c.row_mut(1).copy_from_slice(&[4.0, 5.0, 6.0]);
        assert_eq!(c.get(0, 3, None), 3); // hit, now most recent
        assert_eq!(c.get(2, 3, Some(0)), 0); // evicts row 1
        assert!(c.row(1).is_empty());
        c.swap_index(0, 2);
        assert_eq!(c.row(2), &[3.0, 2.0, 1.0]);
    }
}
