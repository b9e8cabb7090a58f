//! What the split searches share: the target and the growth settings of a fit, a node's
//! gathered rows and totals, the candidate a search returns, the per-thread buffers, and
//! [`Builder`] with the arithmetic every search uses (totals, proxies, node values). The
//! searches themselves add their methods to [`Builder`] in their own files: sorted scans
//! ([`super::scan`]), bins ([`super::bins`]), the byte-block pass ([`super::block`]),
//! presorted lists ([`super::presort`]); [`super::grow`] picks among them and grows the tree.

use super::columns::Columns;
use super::fenwick::Fenwick;

/// The target a tree is grown on.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// Class codes `0..k`; Gini impurity, or entropy when `entropy`.
    Class {
        codes: &'a [u32],
        k: usize,
        entropy: bool,
    },
    /// Real values, with a regression loss.
    Reg { y: &'a [f64], loss: RegLoss },
}

/// The impurity of a regression tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegLoss {
    /// Weighted variance; leaves predict the weighted mean.
    Squared,
    /// Weighted mean absolute deviation from the weighted median; leaves predict the weighted
    /// median (scikit-learn's `"absolute_error"`).
    Absolute,
}

impl Target<'_> {
    pub(super) fn n_outputs(&self) -> usize {
        match self {
            Target::Class { k, .. } => *k,
            Target::Reg { .. } => 1,
        }
    }
}

/// How a node's split is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Splitter {
    /// The best threshold of each candidate feature (CART; scikit-learn's `"best"`).
    Best,
    /// One threshold per candidate feature, uniform between the node's smallest and largest
    /// value (Extremely Randomized Trees; scikit-learn's `"random"`).
    Random,
}

/// Growth limits and the feature sampling of a fit.
pub(crate) struct Grow {
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub max_features: usize,
    pub random_state: u64,
    pub splitter: Splitter,
    /// Best-first growth up to this many leaves (`None`: depth first, unbounded).
    pub max_leaf_nodes: Option<usize>,
    /// Evaluate the candidate features of large nodes in parallel (off inside forests, which
    /// are parallel over trees).
    pub parallel: bool,
}

/// What one candidate feature gives at a node.
pub(super) enum Candidate {
    /// Constant at the node: not counted towards `max_features`.
    Constant,
    /// Counted, but no threshold leaves `min_samples_leaf` rows on each side.
    NoSplit,
    /// The proxy and where the split cuts.
    Split(f64, Cut),
}

/// Where a split cuts a feature.
#[derive(Clone, Copy)]
pub(super) enum Cut {
    /// Between two ranks of the node (best-split search): the largest going left and the
    /// smallest going right. The threshold, their values' midpoint, is only looked up for
    /// the node's winning feature (the distinct values of a continuous feature are a large
    /// array: a cache miss per candidate feature was a tenth of a regression forest's fit).
    Ranks(u32, u32),
    /// At a threshold (random splitter).
    Value(f64),
}

/// Per-thread buffers of the split search.
#[derive(Default)]
pub(super) struct Scratch {
    /// Sort keys `rank << 32 | position in the node`.
    pub(super) keys: Vec<u64>,
    pub(super) vals: Vec<f32>,
    pub(super) tmp: Vec<u64>,
    pub(super) counts: Vec<u32>,
    pub(super) left: Vec<f64>,
    pub(super) right: Vec<f64>,
    /// Absolute error only: the error of each prefix / suffix of the sorted rows.
    pub(super) left_ae: Vec<f64>,
    pub(super) right_ae: Vec<f64>,
    pub(super) fenwick: Fenwick,
    /// The bin search's per-rank totals (see `bins.rs`).
    pub(super) bins: Bins,
    /// The block pass's bins (see `block.rs`).
    pub(super) block: Bins,
}

/// The weights and targets of a node's rows, by position in the node.
#[derive(Default)]
pub(super) struct NodeData {
    pub(super) w: Vec<f64>,
    pub(super) code: Vec<u32>,
    pub(super) y: Vec<f64>,
    /// Absolute error only: the node's targets sorted, and each position's rank among them.
    pub(super) sorted_y: Vec<f64>,
    pub(super) yrank: Vec<u32>,
}

impl NodeData {
    /// The weight and class of the row at position `p` in the node.
    #[inline(always)]
    pub(super) fn class_of(&self, p: u64) -> (f64, u32) {
        (self.w[p as usize], self.code[p as usize])
    }

    /// The weight and target of the row at position `p` in the node.
    #[inline(always)]
    pub(super) fn value_of(&self, p: u64) -> (f64, f64) {
        (self.w[p as usize], self.y[p as usize])
    }
}

/// A node's target totals: weighted class counts (or `[Σ w·y, Σ w·y²]`) and total weight.
pub(super) struct Totals {
    pub(super) sums: Vec<f64>,
    pub(super) weight: f64,
}

pub(super) struct Builder<'a> {
    pub(super) cols: &'a Columns,
    pub(super) target: Target<'a>,
    pub(super) w: &'a [f64],
    pub(super) grow: &'a Grow,
    /// Features with at most this many distinct values search by bins (see `bins.rs`).
    pub(super) bins_max: usize,
}

impl Builder<'_> {
    /// The node's totals, from its rows' weights and targets gathered in `nd` (read in row
    /// order, as the rows would be).
    pub(super) fn totals(&self, nd: &NodeData) -> Totals {
        match &self.target {
            Target::Class { k, .. } => {
                let mut sums = vec![0.0; *k];
                for (&c, &w) in nd.code.iter().zip(&nd.w) {
                    sums[c as usize] += w;
                }
                let weight = sums.iter().sum();
                Totals { sums, weight }
            }
            Target::Reg { .. } => {
                let (mut s, mut sq, mut weight) = (0.0, 0.0, 0.0);
                for (&wi, &yi) in nd.w.iter().zip(&nd.y) {
                    s += wi * yi;
                    sq += wi * yi * yi;
                    weight += wi;
                }
                Totals {
                    sums: vec![s, sq],
                    weight,
                }
            }
        }
    }

    /// Node value and impurity from its totals (and, for the absolute error, its rows).
    pub(super) fn node_value(&self, t: &Totals, nd: &NodeData, s: &mut Scratch) -> (Vec<f64>, f64) {
        match &self.target {
            Target::Reg {
                loss: RegLoss::Absolute,
                ..
            } => {
                let (ae, median) = self.abs_error_of(nd, 0..nd.w.len(), &mut s.fenwick);
                (vec![median], ae / t.weight)
            }
            Target::Class { entropy, .. } => {
                let imp = class_impurity(&t.sums, t.weight, *entropy);
                (t.sums.iter().map(|c| c / t.weight).collect(), imp)
            }
            Target::Reg { .. } => {
                let mean = t.sums[0] / t.weight;
                (vec![mean], t.sums[1] / t.weight - mean * mean)
            }
        }
    }

    /// The proxy of a split with left totals `left` (class counts or `[Σ w·y]`) and left
    /// weight `wl`: `-(W_L·I(L) + W_R·I(R))` for classes, `S_L²/W_L + S_R²/W_R` for squared
    /// error (both rank splits as the impurity decrease does).
    #[inline(always)]
    pub(super) fn proxy(&self, t: &Totals, left: &[f64], wl: f64, right: &mut [f64]) -> f64 {
        let wr = t.weight - wl;
        match &self.target {
            Target::Class { entropy: false, .. } => {
                // Gini: W_L·(1 - Σl²/W_L²) + W_R·(1 - Σr²/W_R²) = W - Σl²/W_L - Σr²/W_R.
                let (mut ql, mut qr) = (0.0, 0.0);
                for (&tot, &l) in t.sums.iter().zip(left) {
                    let r = tot - l;
                    ql += l * l;
                    qr += r * r;
                }
                ql / wl + qr / wr - t.weight
            }
            Target::Class { entropy, .. } => {
                for ((r, &tot), &l) in right.iter_mut().zip(&t.sums).zip(left) {
                    *r = tot - l;
                }
                let il = class_impurity(left, wl, *entropy);
                let ir = class_impurity(right, wr, *entropy);
                -wr * ir - wl * il
            }
            Target::Reg { .. } => {
                let (sl, sr) = (left[0], t.sums[0] - left[0]);
                sl * sl / wl + sr * sr / wr
            }
        }
    }

    /// The node's rows' weights and targets, in row order: the split searches read them by
    /// position in the node (compact, cache-resident) rather than by row (scattered).
    pub(super) fn node_data(&self, rows: &[u32], nd: &mut NodeData) {
        nd.w.clear();
        nd.w.extend(rows.iter().map(|&r| self.w[r as usize]));
        match &self.target {
            Target::Class { codes, .. } => {
                nd.code.clear();
                nd.code.extend(rows.iter().map(|&r| codes[r as usize]));
            }
            Target::Reg { y, loss } => {
                nd.y.clear();
                nd.y.extend(rows.iter().map(|&r| y[r as usize]));
                if *loss == RegLoss::Absolute {
                    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
                    order.sort_by(|&a, &b| nd.y[a as usize].total_cmp(&nd.y[b as usize]));
                    nd.sorted_y.clear();
                    nd.sorted_y.extend(order.iter().map(|&i| nd.y[i as usize]));
                    nd.yrank.clear();
                    nd.yrank.resize(rows.len(), 0);
                    for (rank, &i) in order.iter().enumerate() {
                        nd.yrank[i as usize] = rank as u32;
                    }
                }
            }
        }
    }

    /// The fewest and the most rows a split of `m` rows may send left: positions leaving
    /// fewer than `min_samples_leaf` rows on a side are never candidates.
    #[inline]
    pub(super) fn left_sizes(&self, m: usize) -> (usize, usize) {
        let msl = self.grow.min_samples_leaf;
        (msl.max(1), m.saturating_sub(msl))
    }

    /// Adds node row `i` to the left totals.
    #[inline(always)]
    pub(super) fn add_left(&self, nd: &NodeData, i: usize, left: &mut [f64]) -> f64 {
        let wi = nd.w[i];
        match &self.target {
            Target::Class { .. } => left[nd.code[i] as usize] += wi,
            Target::Reg { .. } => left[0] += wi * nd.y[i],
        }
        wi
    }

    /// Absolute error and weighted median of the node rows at `positions`, through the
    /// Fenwick tree (scikit-learn's arithmetic).
    pub(super) fn abs_error_of(
        &self,
        nd: &NodeData,
        positions: impl Iterator<Item = usize>,
        fw: &mut Fenwick,
    ) -> (f64, f64) {
        fw.reset(nd.sorted_y.len());
        let mut out = (0.0, 0.0);
        for i in positions {
            fw.add(nd.yrank[i] as usize, nd.y[i], nd.w[i]);
            out = fw.abs_error(&nd.sorted_y);
        }
        out
    }
}

/// Whether `proxy` beats `best` by more than rounding noise. Splits equally good in exact
/// arithmetic (the same partition through different features) differ only in the last bits
/// depending on summation order; treating them as ties keeps the first in visiting order,
/// so integer weights and repeated rows grow the same tree.
pub(super) fn better(proxy: f64, best: f64) -> bool {
    proxy > best + 1e-12 * best.abs()
}

/// Gini `1 - Σ (c/W)²` or entropy `-Σ (c/W) log2 (c/W)` of weighted class counts.
fn class_impurity(counts: &[f64], total: f64, entropy: bool) -> f64 {
    if entropy {
        let mut e = 0.0;
        for &c in counts {
            if c > 0.0 {
                let p = c / total;
                e -= p * p.log2();
            }
        }
        e
    } else {
        let sq: f64 = counts.iter().map(|c| c * c).sum();
        1.0 - sq / (total * total)
    }
}

/// Per-rank totals, kept zeroed between searches (each search clears the bins it filled).
#[derive(Default)]
pub(crate) struct Bins {
    /// Per rank, the target sums of [`Totals::sums`] without the weight: class weights
    /// (`k` per rank) or `Σ w·y` (one per rank).
    pub(super) sums: Vec<f64>,
    /// Per rank, the total weight.
    pub(super) weight: Vec<f64>,
    /// Per rank, the number of rows.
    pub(super) count: Vec<u32>,
    pub(super) left: Vec<f64>,
    pub(super) right: Vec<f64>,
}
