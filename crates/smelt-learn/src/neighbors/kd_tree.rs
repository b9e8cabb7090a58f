//! A kd-tree for exact k-nearest-neighbour queries under a Minkowski distance.
//!
//! **Build.** Each node covers a contiguous range of a permutation of the training rows and
//! stores the bounding box of its points. A node with more than `leaf_size` points is split at
//! the median of its widest dimension (`select_nth_unstable`, ties by row index), so the tree is
//! balanced and has `O(n / leaf_size)` leaves. The points are copied in tree order, so a leaf
//! scans contiguous memory.
//!
//! **Query.** Depth-first, nearer child first, with a bounded max-heap of the `k` best pairs;
//! a node is skipped when the reduced distance from the query to its box exceeds the worst kept
//! distance. Boxes that merely *tie* the worst are still visited, so equal distances resolve to
//! the smallest training index, as in the brute-force path.

use rayon::prelude::*;

use super::Power;
use super::heap::KHeap;

#[derive(Clone, Debug)]
struct Node {
    start: usize,
    end: usize,
    /// Children, `None` for a leaf.
    children: Option<(usize, usize)>,
}

/// A kd-tree over `n × d` points (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct KdTree {
    d: usize,
    /// The points in tree order, row-major.
    data: Vec<f64>,
    /// Original row of each point in tree order.
    idx: Vec<usize>,
    nodes: Vec<Node>,
    /// Per node: `d` lower then `d` upper bounds.
    bounds: Vec<f64>,
}

impl KdTree {
    /// Builds the tree over the row-major `x` (`n × d`).
    pub(crate) fn build(x: &[f64], n: usize, d: usize, leaf_size: usize) -> KdTree {
        let mut t = KdTree {
            d,
            data: Vec::new(),
            idx: (0..n).collect(),
            nodes: Vec::new(),
            bounds: Vec::new(),
        };
        t.split(x, 0, n, leaf_size.max(1));
        let mut data = Vec::with_capacity(n * d);
        for &i in &t.idx {
            data.extend_from_slice(&x[i * d..(i + 1) * d]);
        }
        t.data = data;
        t
    }

    fn split(&mut self, x: &[f64], start: usize, end: usize, leaf_size: usize) -> usize {
        let d = self.d;
        let id = self.nodes.len();
        self.nodes.push(Node {
            start,
            end,
            children: None,
        });
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for &i in &self.idx[start..end] {
            for j in 0..d {
                let v = x[i * d + j];
                lo[j] = lo[j].min(v);
                hi[j] = hi[j].max(v);
            }
        }
        self.bounds.extend_from_slice(&lo);
        self.bounds.extend_from_slice(&hi);
        let count = end - start;
        if count <= leaf_size || d == 0 {
            return id;
        }
        let dim = (0..d)
            .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])).then(b.cmp(&a)))
            .unwrap_or(0);
        let mid = count / 2;
        self.idx[start..end].select_nth_unstable_by(mid, |&a, &b| {
            x[a * d + dim].total_cmp(&x[b * d + dim]).then(a.cmp(&b))
        });
        let left = self.split(x, start, start + mid, leaf_size);
        let right = self.split(x, start + mid, end, leaf_size);
        self.nodes[id].children = Some((left, right));
        id
    }

    /// Reduced distance (`Σ |gap|^p`) from `q` to the box of `node`.
    #[inline]
    fn min_rdist(&self, pw: Power, q: &[f64], node: usize) -> f64 {
        let d = self.d;
        let lo = &self.bounds[2 * d * node..2 * d * node + d];
        let hi = &self.bounds[2 * d * node + d..2 * d * (node + 1)];
        let mut s = 0.0;
        for j in 0..d {
            let gap = (lo[j] - q[j]).max(q[j] - hi[j]).max(0.0);
            s += pw.term(gap);
        }
        s
    }

    /// The `k` nearest points of one query into `heap` (reset first); reduced distances.
    fn query_one(&self, pw: Power, q: &[f64], heap: &mut KHeap, stack: &mut Vec<(usize, f64)>) {
        heap.reset();
        stack.clear();
        let d = self.d;
        stack.push((0, self.min_rdist(pw, q, 0)));
        while let Some((node, lb)) = stack.pop() {
            if lb > heap.worst() {
                continue;
            }
            let nd = &self.nodes[node];
            match nd.children {
                None => {
                    for t in nd.start..nd.end {
                        let r = pw.rdist(q, &self.data[t * d..(t + 1) * d]);
                        heap.push(r, self.idx[t]);
                    }
                }
                Some((l, r)) => {
                    let (ll, lr) = (self.min_rdist(pw, q, l), self.min_rdist(pw, q, r));
                    let worst = heap.worst();
                    // Push the farther first so the nearer is explored first.
                    let (near, far) = if ll <= lr {
                        ((l, ll), (r, lr))
                    } else {
                        ((r, lr), (l, ll))
                    };
                    if far.1 <= worst {
                        stack.push(far);
                    }
                    if near.1 <= worst {
                        stack.push(near);
                    }
                }
            }
        }
    }

    /// Training rows whose squared Euclidean distance to `q` is at most `r2` (computed
    /// exactly as `Σ (q_j − x_j)²` in column order, so the answer equals a brute-force scan),
    /// in increasing row order, into `out`. A node is skipped when the squared distance from
    /// `q` to its box exceeds `r2`; that bound never exceeds a contained point's distance, even
    /// after rounding (sums of smaller non-negative terms round no higher).
    pub(crate) fn within_sq(&self, q: &[f64], r2: f64, out: &mut Vec<u32>, stack: &mut Vec<usize>) {
        out.clear();
        stack.clear();
        stack.push(0);
        let d = self.d;
        while let Some(node) = stack.pop() {
            let lo = &self.bounds[2 * d * node..2 * d * node + d];
            let hi = &self.bounds[2 * d * node + d..2 * d * (node + 1)];
            let mut b = 0.0;
            for j in 0..d {
                let gap = (lo[j] - q[j]).max(q[j] - hi[j]).max(0.0);
                b += gap * gap;
            }
            if b > r2 {
                continue;
            }
            let nd = &self.nodes[node];
            match nd.children {
                None => {
                    for t in nd.start..nd.end {
                        let x = &self.data[t * d..(t + 1) * d];
                        let s: f64 = q.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
                        if s <= r2 {
                            out.push(self.idx[t] as u32);
                        }
                    }
                }
                Some((l, r)) => {
                    stack.push(l);
                    stack.push(r);
                }
            }
        }
        out.sort_unstable();
    }

    /// The `k` nearest training rows of each row of the row-major `q` (`nq × d`): distances
    /// and indices, row-major `nq × k`, nearest first.
    pub(crate) fn query(
        &self,
        pw: Power,
        q: &[f64],
        nq: usize,
        k: usize,
    ) -> (Vec<f64>, Vec<usize>) {
        const CHUNK: usize = 64;
        let d = self.d;
        let mut dist = vec![0.0; nq * k];
        let mut ind = vec![0usize; nq * k];
        dist.par_chunks_mut(CHUNK * k)
            .zip(ind.par_chunks_mut(CHUNK * k))
            .enumerate()
            .for_each(|(b, (dc, ic))| {
                let mut heap = KHeap::new(k);
                let mut stack = Vec::new();
                for (r, (dr, ir)) in dc.chunks_mut(k).zip(ic.chunks_mut(k)).enumerate() {
                    let qi = b * CHUNK + r;
                    self.query_one(pw, &q[qi * d..(qi + 1) * d], &mut heap, &mut stack);
                    heap.sorted_into(dr, ir);
                    dr.iter_mut().for_each(|v| *v = pw.to_dist(*v));
                }
            });
        (dist, ind)
    }
}
