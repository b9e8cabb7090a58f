//! The byte-block features of a node searched in one pass over its rows.
//!
//! When a node visits every feature (regression forests and single trees: `max_features` is
//! all of them), the bin search ([`super::bins`]) would pass over the node's rows once per
//! one-hot column, each pass reading the same 64-byte block of ranks per row. Instead, one
//! pass reads each row's ranks a word at a time — the two-valued features' as bits (64 to a
//! word), the others' as bytes (eight) — keeps those that differ from each feature's most
//! frequent rank (a one-hot row has one such bit per categorical column, not one per level),
//! and adds the row to those features' bins. The bins are the ones the per-feature search
//! fills — same rows, same order — so the candidates are identical.

use super::builder::{Bins, Builder, Candidate, NodeData, Target, Totals};
use super::columns::PREFETCH_AHEAD;

impl Builder<'_> {
    /// Adds the node's rows to the bins of the block features not in `consts` (features known
    /// constant), for [`Builder::best_from_block`]. Rows at a feature's most frequent rank are
    /// left out, as [`Builder::best_by_bins`] leaves them.
    pub(super) fn block_pass(&self, rows: &[u32], nd: &NodeData, consts: &[u64], b: &mut Bins) {
        let cols = self.cols;
        let block = &cols.block;
        let n_out = self.bin_stride();
        if b.count.len() < block.bins {
            b.count.resize(block.bins, 0);
            b.weight.resize(block.bins, 0.0);
        }
        if b.sums.len() < block.bins * n_out {
            b.sums.resize(block.bins * n_out, 0.0);
        }
        // Per 8-byte word of a row's block: the bytes of active features, and their modes;
        // per word of a row's bits, the same for the two-valued features.
        let words = block.of_slot.len() / 8;
        let bit_words = block.of_bit.len().div_ceil(64);
        let (mut active, mut modes) = (vec![0u64; words], vec![0u64; words]);
        let (mut bit_active, mut bit_modes) = (vec![0u64; bit_words], vec![0u64; bit_words]);
        for &(f, s, _, _) in &block.features {
            if consts[f / 64] >> (f % 64) & 1 == 1 {
                continue;
            }
            if let Some(bit) = cols.bit_slot[f] {
                bit_active[bit / 64] |= 1 << (bit % 64);
                bit_modes[bit / 64] |= u64::from(cols.mode[f]) << (bit % 64);
            } else {
                active[s / 8] |= 0xff << (8 * (s % 8));
                modes[s / 8] |= u64::from(cols.mode[f]) << (8 * (s % 8));
            }
        }
        let live: Vec<(usize, u64, u64)> = (0..words)
            .filter(|&w| active[w] != 0)
            .map(|w| (w, active[w], modes[w]))
            .collect();
        let live_bits: Vec<(usize, u64, u64)> = (0..bit_words)
            .filter(|&w| bit_active[w] != 0)
            .map(|w| (w, bit_active[w], bit_modes[w]))
            .collect();
        let add = |b: &mut Bins, i: usize, bin: usize| {
            let w = nd.w[i];
            match self.target {
                Target::Class { .. } => b.sums[bin * n_out + nd.code[i] as usize] += w,
                Target::Reg { .. } => b.sums[bin] += w * nd.y[i],
            }
            b.weight[bin] += w;
            b.count[bin] += 1;
        };
        for (i, &r) in rows.iter().enumerate() {
            if let Some(&ahead) = rows.get(i + PREFETCH_AHEAD) {
                if !live_bits.is_empty() {
                    cols.prefetch_bit_row(ahead as usize);
                }
                if !live.is_empty() {
                    cols.prefetch_narrow_row(ahead as usize);
                }
            }
            if !live_bits.is_empty() {
                let bits = cols.bit_row(r as usize);
                for &(w, act, mode) in &live_bits {
                    let word = bits[w];
                    let mut diff = (word ^ mode) & act;
                    while diff != 0 {
                        let bit = diff.trailing_zeros() as usize;
                        diff &= diff - 1;
                        let at = block.of_bit[w * 64 + bit] as usize;
                        let k = (word >> bit) as usize & 1;
                        add(b, i, block.features[at].2 + k);
                    }
                }
            }
            if live.is_empty() {
                continue;
            }
            let row = cols.narrow_row(r as usize);
            for &(w, act, mode) in &live {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&row[w * 8..w * 8 + 8]);
                let word = u64::from_le_bytes(bytes);
                let mut diff = (word ^ mode) & act;
                while diff != 0 {
                    let byte = diff.trailing_zeros() as usize / 8;
                    diff &= !(0xff << (8 * byte));
                    let at = block.of_slot[w * 8 + byte] as usize;
                    let k = (word >> (8 * byte)) as u8 as usize;
                    add(b, i, block.features[at].2 + k);
                }
            }
        }
    }

    /// The candidate of block feature `f` from the bins [`Builder::block_pass`] filled (and
    /// leaves zeroed).
    pub(super) fn best_from_block(
        &self,
        f: usize,
        t: &Totals,
        b: &mut Bins,
        m: usize,
    ) -> Candidate {
        let block = &self.cols.block;
        let (_, _, off, nv) = block.features[block.of_feature[f] as usize];
        let (mut lo, mut hi, mut rest) = (u32::MAX, 0u32, 0usize);
        for k in 0..nv {
            let c = b.count[off + k] as usize;
            if c > 0 {
                lo = lo.min(k as u32);
                hi = k as u32;
                rest += c;
            }
        }
        self.finish_bins(f, t, b, off, (lo, hi, rest), m)
    }
}
