//! The plain types shared by the parts of tree growth: what the histograms cover, the growth
//! parameters, the grower's inputs, a leaf's sums, a split candidate and a growing leaf.

use super::super::bin::Binned;

/// Histogram entries per feature: every feature gets 256 (its value bins, its missing bin,
/// unused entries), so a `u8` bin indexes its feature's block without a bounds check.
pub(crate) const STRIDE: usize = 256;

/// What the histograms cover: bins and kind per feature.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Value bins per feature (the missing bin follows them).
    pub n_bins: Vec<usize>,
    /// Categorical features.
    pub categorical: Vec<bool>,
}

/// Growth limits and regularisation.
#[derive(Clone, Debug)]
pub(crate) struct GrowParams {
    pub max_leaf_nodes: Option<usize>,
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub min_sum_hessian: f64,
    pub l1: f64,
    pub l2: f64,
    pub min_gain: f64,
    /// Per feature: +1 increasing, −1 decreasing, 0 free.
    pub monotonic: Vec<i8>,
}

/// Gradient, hessian and (estimated) row count of a set of rows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Stats {
    pub g: f64,
    pub h: f64,
    pub n: f64,
}

impl Stats {
    #[inline]
    pub fn add(&mut self, e: [f64; 2], cf: f64) {
        self.g += e[0];
        self.h += e[1];
        // Rounded estimate of the rows; `h·cf >= 0`, so truncating `+ 0.5` rounds (and avoids
        // a libm `floor` call per bin, which profiles showed on small data). Through `i64`
        // (clamped at 0, as the `u64` cast saturated): one instruction each way, where `u64`
        // takes a dozen on x86_64. The clamp is taken in `f64` (the same value: the conversion
        // is monotone and keeps 0): as an integer `max` it compiled to a branch on the count
        // being 0, which mispredicts on every empty bin of a sparse histogram.
        self.n += (((e[1] * cf + 0.5) as i64) as f64).max(0.0);
    }
    #[inline]
    pub fn minus(self, o: Stats) -> Stats {
        Stats {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }
}

/// The best split found for a leaf.
#[derive(Clone, Debug)]
pub(super) struct Split {
    pub gain: f64,
    pub feature: usize,
    pub bin: u8,
    pub missing_left: bool,
    pub cat: Option<[u64; 4]>,
    pub left: Stats,
    pub right: Stats,
    pub left_value: f64,
    pub right_value: f64,
}

/// What growth needs beyond the rows: the data, limits and the features allowed.
pub(crate) struct Grower<'a> {
    pub binned: &'a Binned,
    /// Sample weights of the rows (row counts are weighted counts).
    pub weights: Option<&'a [f64]>,
    pub layout: &'a Layout,
    pub params: &'a GrowParams,
}

/// A leaf during growth.
pub(super) struct Leaf {
    pub node: usize,
    pub start: usize,
    pub end: usize,
    pub depth: usize,
    pub stats: Stats,
    /// Unshrunk output.
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    pub hist: Option<Vec<[f64; 2]>>,
    pub best: Option<Split>,
}

impl Leaf {
    /// The root of a tree over rows `0..end` with totals `stats`: unbounded, no histogram
    /// or split yet, its value still to be set.
    pub(super) fn root(stats: Stats, end: usize) -> Leaf {
        Leaf {
            node: 0,
            start: 0,
            end,
            depth: 0,
            stats,
            value: 0.0,
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
            hist: None,
            best: None,
        }
    }
}
