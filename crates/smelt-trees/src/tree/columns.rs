//! The feature columns a tree grows on, prepared once per fit however many trees are grown:
//! each feature rounded to f32 and, for the best-split search, each row's rank among the
//! feature's distinct values, row-major, with the tie bounds of [`FEATURE_THRESHOLD`] (see
//! [`super::grow`] for how the grower reads them).

use rayon::prelude::*;
use smelt_core::Dataset;

use super::FEATURE_THRESHOLD;
use super::sort::radix_sort;
use crate::prefetch::prefetch;

/// Feature columns prepared once for growing any number of trees on the same rows.
///
/// Ranks are row-major: a node's split search reads a few features of each of its rows, and
/// those then share a cache line or two per row instead of costing a miss per feature. They
/// are stored in two blocks, so that a row's ranks span as few cache lines as possible:
/// features with at most 256 distinct values (one-hot columns, small integers) as bytes, the
/// others as `u32`, each block's rows padded to a power of two or a multiple of 64 bytes and
/// aligned to 64 (57 one-hot and 15 numeric columns: two cache lines per row instead of
/// five; the reads of a tree's nodes were cache misses on the ranks, most of a fit's time).
pub(crate) struct Columns {
    n_rows: usize,
    pub(super) p: usize,
    /// Values rounded to f32 (as scikit-learn stores `X` for trees), row-major; only for the
    /// random splitter (the best-split search works on ranks).
    pub(super) values: Vec<f32>,
    /// Ranks of the narrow features (at most 256 distinct values), row-major with
    /// `narrow_stride` bytes per row from `narrow_at`; only for the best-split search.
    narrow: Vec<u8>,
    narrow_at: usize,
    narrow_stride: usize,
    /// Ranks of the other features, row-major with `wide_stride` per row from `wide_at`.
    wide: Vec<u32>,
    wide_at: usize,
    wide_stride: usize,
    /// The same ranks column-major (slot `s`'s ranks from `s · n_rows`), read at nodes holding
    /// at least 1/[`DENSE_SHARE`] of the rows: their rows, in increasing order, then share
    /// cache lines (a byte column is 1/64 of the row-major block's lines).
    narrow_cols: Vec<u8>,
    wide_cols: Vec<u32>,
    /// The ranks of the features of at most two values (one-hot columns) once more, as bits:
    /// row-major, `bit_words` words per row, bit `b` of a row for the feature with
    /// `bit_slot == Some(b)`. Read at nodes below the dense share: 57 one-hot columns of 200k
    /// rows take 1.6 MB as bits (the cache holds them) against 12.8 MB in the byte block.
    bits: Vec<u64>,
    bit_words: usize,
    pub(super) bit_slot: Vec<Option<usize>>,
    /// Per feature, its block (`true`: narrow) and slot in a row of that block.
    slot: Vec<(bool, usize)>,
    /// Per feature, its most frequent rank (the bin search adds up every other rank and
    /// takes this one's totals as the rest: a one-hot column's zeros are never added).
    pub(super) mode: Vec<u32>,
    /// The byte-block features searched together in one pass over a node's rows (see
    /// `block.rs`): those with at most [`BLOCK_VALUES`] values.
    pub(super) block: Block,
    /// Per feature, the distinct values in increasing order, as f64.
    pub(super) uniq: Vec<Vec<f64>>,
    /// Per feature, for each rank `a`, the first rank whose value is more than
    /// [`FEATURE_THRESHOLD`] above rank `a`'s (so ranks `a < b` are one value exactly when
    /// `b < far[a]`); empty when no two distinct values are that close (then `far[a] = a + 1`).
    pub(super) far: Vec<Vec<u32>>,
    /// Per feature, bit `a` set when `far[a] > a + 1` (a small bitset read before the large
    /// `far`, which is then rarely touched).
    pub(super) close: Vec<Vec<u64>>,
}

/// One feature's ranks, distinct values, `far` and `close` (see [`Columns`]).
type Ranked = (Vec<u32>, Vec<f64>, Vec<u32>, Vec<u64>);

impl Columns {
    /// Prepares `data` for the best-split search (`ranks`: per-feature ranks of the f32
    /// values) or for the random splitter (the f32 values).
    pub(crate) fn new(data: &Dataset<f64>, ranks: bool) -> Columns {
        let (n, p) = (data.n_rows(), data.n_features());
        // `+ 0.0` turns -0.0 into +0.0: one value, one rank.
        let f32_col = |j: usize| data.column(j).iter().map(|&v| v as f32 + 0.0);
        let mut c = Columns {
            n_rows: n,
            p,
            values: Vec::new(),
            narrow: Vec::new(),
            narrow_at: 0,
            narrow_stride: 0,
            wide: Vec::new(),
            wide_at: 0,
            wide_stride: 0,
            narrow_cols: Vec::new(),
            wide_cols: Vec::new(),
            bits: Vec::new(),
            bit_words: 0,
            bit_slot: Vec::new(),
            slot: Vec::new(),
            mode: Vec::new(),
            block: Block::default(),
            uniq: Vec::new(),
            far: Vec::new(),
            close: Vec::new(),
        };
        if !ranks {
            c.values = vec![0.0; n * p];
            c.values
                .par_chunks_mut(p.max(1))
                .enumerate()
                .for_each(|(i, row)| {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = data.column(j)[i] as f32 + 0.0;
                    }
                });
            return c;
        }
        let ranked: Vec<Ranked> = (0..p)
            .into_par_iter()
            .map(|j| {
                let (rank, uniq) = rank_column(f32_col(j));
                let any_close = uniq.windows(2).any(|w| w[1] <= w[0] + FEATURE_THRESHOLD);
                let (mut far, mut close) = (Vec::new(), Vec::new());
                if any_close {
                    far = vec![0u32; uniq.len()];
                    close = vec![0u64; uniq.len().div_ceil(64)];
                    let mut b = 0;
                    for (a, f) in far.iter_mut().enumerate() {
                        b = b.max(a + 1);
                        while b < uniq.len() && uniq[b] <= uniq[a] + FEATURE_THRESHOLD {
                            b += 1;
                        }
                        *f = b as u32;
                        if b > a + 1 {
                            close[a / 64] |= 1 << (a % 64);
                        }
                    }
                }
                (rank, uniq, far, close)
            })
            .collect();
        let (mut n_narrow, mut n_wide) = (0, 0);
        for (rank, uniq, _, _) in &ranked {
            let narrow = uniq.len() <= NARROW_VALUES;
            let count = if narrow { &mut n_narrow } else { &mut n_wide };
            c.slot.push((narrow, *count));
            *count += 1;
            let mut mode = 0;
            if narrow {
                let mut freq = vec![0u32; uniq.len()];
                for &r in rank {
                    freq[r as usize] += 1;
                }
                mode = (0..freq.len())
                    .max_by_key(|&r| (freq[r], std::cmp::Reverse(r)))
                    .unwrap_or(0);
            }
            c.mode.push(mode as u32);
            debug_assert_eq!(rank.len(), n);
        }
        c.narrow_stride = padded_row(n_narrow, 64);
        c.wide_stride = padded_row(n_wide, 16);
        (c.narrow, c.narrow_at) = aligned(n * c.narrow_stride);
        (c.wide, c.wide_at) = aligned(n * c.wide_stride);
        let (slot, ranks) = (&c.slot, &ranked);
        let fill = |i: usize, narrow_row: &mut [u8], wide_row: &mut [u32]| {
            for (j, &(narrow, s)) in slot.iter().enumerate() {
                let r = ranks[j].0[i];
                if narrow {
                    // At most 256 distinct values: ranks fit a byte.
                    narrow_row[s] = r as u8;
                } else {
                    wide_row[s] = r;
                }
            }
        };
        let (ns, ws) = (c.narrow_stride, c.wide_stride);
        let narrow_rows = c.narrow[c.narrow_at..c.narrow_at + n * ns].par_chunks_mut(ns.max(1));
        let wide_rows = c.wide[c.wide_at..c.wide_at + n * ws].par_chunks_mut(ws.max(1));
        match (ns, ws) {
            (0, _) => wide_rows.enumerate().for_each(|(i, w)| fill(i, &mut [], w)),
            (_, 0) => narrow_rows
                .enumerate()
                .for_each(|(i, b)| fill(i, b, &mut [])),
            _ => narrow_rows
                .zip(wide_rows)
                .enumerate()
                .for_each(|(i, (b, w))| fill(i, b, w)),
        }
        c.narrow_cols = vec![0; n * n_narrow];
        c.wide_cols = vec![0; n * n_wide];
        for (&(narrow, s), (rank, ..)) in c.slot.iter().zip(&ranked) {
            if narrow {
                let col = &mut c.narrow_cols[s * n..(s + 1) * n];
                for (to, &r) in col.iter_mut().zip(rank) {
                    *to = r as u8;
                }
            } else {
                c.wide_cols[s * n..(s + 1) * n].copy_from_slice(rank);
            }
        }
        let mut n_bits = 0;
        for (_, uniq, ..) in &ranked {
            let two = uniq.len() <= 2;
            c.bit_slot.push(two.then_some(n_bits));
            n_bits += usize::from(two);
        }
        c.bit_words = n_bits.div_ceil(64);
        let n_values: Vec<usize> = ranked.iter().map(|r| r.1.len()).collect();
        c.block = Block::new(&c.slot, &c.bit_slot, &n_values, c.narrow_stride);
        c.bits = vec![0; n * c.bit_words];
        for (slot, (rank, ..)) in c.bit_slot.iter().zip(&ranked) {
            if let Some(b) = *slot {
                let (word, bit) = (b / 64, b % 64);
                for (i, &r) in rank.iter().enumerate() {
                    c.bits[i * c.bit_words + word] |= u64::from(r) << bit;
                }
            }
        }
        for (_, u, f, b) in ranked {
            c.uniq.push(u);
            c.far.push(f);
            c.close.push(b);
        }
        c
    }

    /// Row `r`'s byte block (the narrow features' ranks, by slot).
    #[inline(always)]
    pub(super) fn narrow_row(&self, r: usize) -> &[u8] {
        let at = self.narrow_at + r * self.narrow_stride;
        &self.narrow[at..at + self.narrow_stride]
    }

    /// Row `r`'s bits (the two-valued features' ranks, by bit slot).
    #[inline(always)]
    pub(super) fn bit_row(&self, r: usize) -> &[u64] {
        &self.bits[r * self.bit_words..(r + 1) * self.bit_words]
    }

    /// Asks for row `r`'s bits to be fetched into the cache.
    #[inline(always)]
    pub(super) fn prefetch_bit_row(&self, r: usize) {
        prefetch(&self.bits, r * self.bit_words);
    }

    /// Asks for row `r`'s byte block to be fetched into the cache.
    #[inline(always)]
    pub(super) fn prefetch_narrow_row(&self, r: usize) {
        prefetch(&self.narrow, self.narrow_at + r * self.narrow_stride);
    }

    /// Number of rows.
    pub(crate) fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The threshold between ranks `a < b` of feature `f`: the midpoint of their values (the
    /// lower value where the midpoint rounds to the upper one or overflows).
    pub(super) fn threshold(&self, f: usize, a: usize, b: usize) -> f64 {
        let (va, vb) = (self.uniq[f][a], self.uniq[f][b]);
        let thr = va / 2.0 + vb / 2.0;
        if thr == vb || thr.is_infinite() || thr.is_nan() {
            va
        } else {
            thr
        }
    }

    /// Feature `f`'s ranks (best-split search only), for a node of `m` rows: column-major
    /// at a node with at least 1/[`DENSE_SHARE`] of the rows, row-major below (as bits for a
    /// feature of two values).
    #[inline]
    pub(super) fn ranks(&self, f: usize, m: usize) -> FeatureRanks<'_> {
        let n = self.n_rows;
        if m.saturating_mul(DENSE_SHARE) >= n {
            return match self.slot[f] {
                (true, s) => FeatureRanks::Narrow(RankCol {
                    data: &self.narrow_cols[s * n..(s + 1) * n],
                    stride: 1,
                }),
                (false, s) => FeatureRanks::Wide(RankCol {
                    data: &self.wide_cols[s * n..(s + 1) * n],
                    stride: 1,
                }),
            };
        }
        if let Some(b) = self.bit_slot[f] {
            return FeatureRanks::Bit(BitCol {
                data: &self.bits[b / 64..],
                stride: self.bit_words,
                shift: (b % 64) as u32,
            });
        }
        match self.slot[f] {
            (true, s) => FeatureRanks::Narrow(RankCol {
                data: &self.narrow[self.narrow_at + s..],
                stride: self.narrow_stride,
            }),
            (false, s) => FeatureRanks::Wide(RankCol {
                data: &self.wide[self.wide_at + s..],
                stride: self.wide_stride,
            }),
        }
    }

    /// Whether ranks `a <= b` of feature `f` are one value (within [`FEATURE_THRESHOLD`]):
    /// `b < far[a]`, read only where the `close` bit of `a` says `far[a] > a + 1`.
    #[inline]
    pub(super) fn same(&self, f: usize, a: usize, b: usize) -> bool {
        a == b || {
            let close = &self.close[f];
            !close.is_empty() && close[a / 64] >> (a % 64) & 1 == 1 && b < self.far[f][a] as usize
        }
    }
}

/// Nodes with at least `1 / DENSE_SHARE` of the rows read ranks column-major (see
/// [`Columns::ranks`]).
const DENSE_SHARE: usize = 8;

/// Features with at most this many distinct values store their ranks as bytes.
const NARROW_VALUES: usize = 256;

/// A feature's ranks, in one of the blocks of [`Columns`]; read them through
/// [`with_ranks!`](crate::tree::columns::with_ranks), which compiles the reading code once per
/// block.
pub(super) enum FeatureRanks<'a> {
    Narrow(RankCol<'a, u8>),
    Wide(RankCol<'a, u32>),
    Bit(BitCol<'a>),
}

/// A two-valued feature's ranks: row `r`'s is bit `shift` of `data[r * stride]`.
#[derive(Clone, Copy)]
pub(super) struct BitCol<'a> {
    data: &'a [u64],
    stride: usize,
    shift: u32,
}

impl BitCol<'_> {
    /// Row `r`'s rank.
    #[inline(always)]
    pub(super) fn at(self, r: usize) -> u32 {
        (self.data[r * self.stride] >> self.shift) as u32 & 1
    }

    /// Asks for row `r`'s rank to be fetched into the cache.
    #[inline(always)]
    pub(super) fn prefetch(self, r: usize) {
        prefetch(self.data, r * self.stride);
    }
}

/// One feature's ranks: row `r`'s is `data[r * stride]`.
#[derive(Clone, Copy)]
pub(super) struct RankCol<'a, T> {
    data: &'a [T],
    stride: usize,
}

impl<T: Copy + Into<u32>> RankCol<'_, T> {
    /// Row `r`'s rank.
    #[inline(always)]
    pub(super) fn at(self, r: usize) -> u32 {
        self.data[r * self.stride].into()
    }

    /// Asks for row `r`'s rank to be fetched into the cache.
    #[inline(always)]
    pub(super) fn prefetch(self, r: usize) {
        prefetch(self.data, r * self.stride);
    }
}

/// Rows ahead whose ranks a node's loops prefetch: a node's rows are scattered over the table,
/// and each row's ranks were a cache miss.
pub(super) const PREFETCH_AHEAD: usize = 16;

/// Runs `$body` with `$c` bound to feature `$f`'s [`RankCol`] for a node of `$m` rows,
/// whichever block holds it.
macro_rules! with_ranks {
    ($cols:expr, $f:expr, $m:expr, |$c:ident| $body:expr) => {
        match $cols.ranks($f, $m) {
            $crate::tree::columns::FeatureRanks::Narrow($c) => $body,
            $crate::tree::columns::FeatureRanks::Wide($c) => $body,
            $crate::tree::columns::FeatureRanks::Bit($c) => $body,
        }
    };
}
pub(super) use with_ranks;

/// Elements per row for `k` values: a power of two up to a cache line (`line` elements), a
/// multiple of it beyond, so that no row straddles more cache lines than it must.
fn padded_row(k: usize, line: usize) -> usize {
    match k {
        0 => 0,
        k if k <= line => k.next_power_of_two(),
        k => k.div_ceil(line) * line,
    }
}

/// A zeroed vector with room for `len` elements from an index aligned to 64 bytes.
fn aligned<T: Clone + Default>(len: usize) -> (Vec<T>, usize) {
    if len == 0 {
        return (Vec::new(), 0);
    }
    let size = size_of::<T>();
    let extra = 64 / size;
    let v = vec![T::default(); len + extra];
    let misalign = (v.as_ptr() as usize % 64) / size;
    let at = if misalign == 0 { 0 } else { extra - misalign };
    (v, at)
}

/// Columns with at most this many distinct values are ranked by a lookup in a small table
/// of their values (one-hot columns: two), the others by a radix sort.
const FEW_VALUES: usize = 16;

/// Each row's rank among the column's distinct values, and those values in increasing order.
///
/// A column of a few values (one-hot, small integers) takes one pass collecting them and one
/// looking each row up; the others an LSD radix sort of `value bits << 32 | row` (stable, so
/// the order of a comparison sort of the keys). 72 columns of 200k rows took a third of a
/// second by comparison sorts, a fixed cost of every forest fit.
fn rank_column(col: impl Iterator<Item = f32>) -> (Vec<u32>, Vec<f64>) {
    let bits: Vec<u32> = col.map(sortable).collect();
    let n = bits.len();
    let mut few: Vec<u32> = Vec::with_capacity(FEW_VALUES);
    let is_few = bits.iter().all(|&b| {
        few.contains(&b) || {
            few.push(b);
            few.len() <= FEW_VALUES
        }
    });
    if is_few {
        few.sort_unstable();
        let rank = bits
            .iter()
            .map(|b| few.iter().position(|v| v == b).unwrap_or(0) as u32)
            .collect();
        let uniq = few.iter().map(|&b| f64::from(unsortable(b))).collect();
        return (rank, uniq);
    }
    let (lo, hi) = bits
        .iter()
        .fold((u32::MAX, 0), |(lo, hi), &b| (lo.min(b), hi.max(b)));
    let mut keys: Vec<u64> = bits
        .iter()
        .enumerate()
        .map(|(i, &b)| (u64::from(b) << 32) | i as u64)
        .collect();
    drop(bits);
    let (mut tmp, mut counts) = (Vec::new(), Vec::new());
    radix_sort(&mut keys, &mut tmp, &mut counts, lo, hi - lo);
    let mut rank = vec![0u32; n];
    let mut uniq: Vec<f64> = Vec::new();
    let mut last = None;
    for k in keys {
        let b = (k >> 32) as u32;
        if last != Some(b) {
            last = Some(b);
            uniq.push(f64::from(unsortable(b)));
        }
        rank[k as u32 as usize] = (uniq.len() - 1) as u32;
    }
    (rank, uniq)
}

/// The inverse of [`sortable`].
fn unsortable(b: u32) -> f32 {
    f32::from_bits(if b >> 31 == 1 { b & 0x7fff_ffff } else { !b })
}

/// The bits of a finite f32 as an unsigned integer of the same order.
fn sortable(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

// The byte-block layout: which features the block pass (`block.rs`) reads, where.

/// Byte-block features with at most this many distinct values join the block pass (their
/// bins are scanned whole, so they must be few).
pub(crate) const BLOCK_VALUES: usize = 16;

/// The features of the block pass and where their bins lie.
#[derive(Default)]
pub(crate) struct Block {
    /// Per feature, its index in `features`, or `u32::MAX`.
    pub(super) of_feature: Vec<u32>,
    /// (feature, slot in the byte block, first bin, number of values).
    pub(super) features: Vec<(usize, usize, usize, usize)>,
    /// Per byte of a row's block, the index in `features` of the feature there (not
    /// two-valued), or `u32::MAX`.
    pub(super) of_slot: Vec<u32>,
    /// Per bit of a row's bits, the index in `features` of the two-valued feature there, or
    /// `u32::MAX`.
    pub(super) of_bit: Vec<u32>,
    /// Total bins.
    pub(super) bins: usize,
}

impl Block {
    /// The block of the byte-block features (`slot`: per feature, narrow or not and its slot;
    /// `bit_slot`: per feature, its bit if it has at most two values; `n_values`: per
    /// feature, its distinct values) in rows of `stride` bytes. Empty when the rows are not
    /// whole 8-byte words.
    pub(crate) fn new(
        slot: &[(bool, usize)],
        bit_slot: &[Option<usize>],
        n_values: &[usize],
        stride: usize,
    ) -> Block {
        let n_bits = bit_slot.iter().flatten().count();
        let mut b = Block {
            of_feature: vec![u32::MAX; slot.len()],
            of_slot: vec![u32::MAX; stride],
            of_bit: vec![u32::MAX; n_bits],
            ..Block::default()
        };
        if !stride.is_multiple_of(8) {
            return b;
        }
        for (f, ((&(narrow, s), &nv), &bit)) in slot.iter().zip(n_values).zip(bit_slot).enumerate()
        {
            if narrow && nv <= BLOCK_VALUES {
                let i = b.features.len() as u32;
                b.of_feature[f] = i;
                match bit {
                    Some(bit) => b.of_bit[bit] = i,
                    None => b.of_slot[s] = i,
                }
                b.features.push((f, s, b.bins, nv));
                b.bins += nv;
            }
        }
        b
    }

    /// Number of features in the block.
    pub(crate) fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether feature `f` is in the block.
    #[inline]
    pub(crate) fn has(&self, f: usize) -> bool {
        self.of_feature[f] != u32::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every feature's rank reads back from its block and its column — only narrow, only
    /// wide, and mixed tables — and orders rows as their values do.
    #[test]
    fn ranks_read_back_from_both_blocks() {
        let n = 700;
        for kinds in [
            vec![2usize, 3, 300],
            vec![2; 70],
            vec![1, 2, 2, 5, 2],
            vec![1000, 5000],
            vec![2; 1],
        ] {
            let p = kinds.len();
            let values: Vec<f64> = kinds
                .iter()
                .flat_map(|&k| (0..n).map(move |i| ((i * 7919) % k) as f64 * 0.5 - 3.0))
                .collect();
            let features =
                crate::import::numeric_features((0..p).map(|j| format!("x{j}")).collect());
            let data = Dataset::new(n, values, features, None).expect("shapes");
            let c = Columns::new(&data, true);
            // A node of one row reads the row-major blocks (or the bits), one of every row the
            // columns.
            for (f, &k) in kinds.iter().enumerate() {
                let col = data.column(f);
                for m in [1, n] {
                    with_ranks!(c, f, m, |ranks| {
                        for (i, &v) in col.iter().enumerate() {
                            let r = ranks.at(i) as usize;
                            assert_eq!(c.uniq[f][r], v, "feature {f} row {i}, node of {m}");
                        }
                        assert_eq!(c.uniq[f].len(), k.min(n));
                    });
                }
            }
        }
    }

    /// Both ways of ranking (the small table, the radix sort) give the ranks of a sort.
    #[test]
    fn columns_rank_as_a_sort_does() {
        let mut rng = smelt_core::rng::Rng::new(3);
        for k in [1usize, 2, 16, 17, 300, 5000] {
            let col: Vec<f32> = (0..3000)
                .map(|_| rng.below(k) as f32 * 0.25 - 100.0)
                .collect();
            let (rank, uniq) = rank_column(col.iter().copied());
            let mut sorted = col.clone();
            sorted.sort_by(f32::total_cmp);
            sorted.dedup();
            let expected: Vec<f64> = sorted.iter().map(|&v| f64::from(v)).collect();
            assert_eq!(uniq, expected, "{k} values");
            for (i, &v) in col.iter().enumerate() {
                assert_eq!(uniq[rank[i] as usize], f64::from(v), "{k} values, row {i}");
            }
        }
        assert_eq!(rank_column(std::iter::empty()), (vec![], vec![]));
    }

    #[test]
    fn sortable_bits_keep_the_float_order() {
        let v = [-3.5f32, -1e-30, 0.0, 1e-30, 2.0, f32::MAX];
        for w in v.windows(2) {
            assert!(sortable(w[0]) < sortable(w[1]));
        }
        assert!(v.iter().all(|&x| unsortable(sortable(x)) == x));
    }
}
