//! Partitioning a leaf's rows between its children: the leaf's range of the row array is
//! reordered in place, stably (each range stays in row order, so histogram building reads the
//! binned matrix forwards) and branch-free.

use rayon::prelude::*;

/// Reorders `seg` stably so the rows whose bin in `col` goes left (`lut[bin] == 1`) come
/// first; returns how many. Branch-free: each row is written both to the left cursor, in
/// place (it never passes the row being read), and to the right cursor in `scratch`, and only
/// one cursor advances; the right rows are then copied after the left ones. Large segments
/// are split into chunks partitioned in parallel, then gathered.
#[inline(never)]
pub(super) fn partition(
    seg: &mut [u32],
    scratch: &mut Vec<u32>,
    col: &[u8],
    lut: &[u8; 256],
) -> usize {
    const CHUNK: usize = 1 << 15;
    /// Compacts the left rows of `c` at its start and writes its right rows to `r` (one
    /// slot longer than `c`); returns the left count.
    #[inline(never)]
    fn split(c: &mut [u32], col: &[u8], lut: &[u8; 256], r: &mut [u32]) -> usize {
        let (mut a, mut b) = (0usize, 0usize);
        for i in 0..c.len() {
            let x = c[i];
            let g = usize::from(lut[col[x as usize] as usize]);
            c[a] = x;
            r[b] = x;
            a += g;
            b += 1 - g;
        }
        a
    }
    const REGION: usize = CHUNK + 1;
    // The buffer only grows: every slot read is written first, so old contents never matter
    // (clearing and refilling it cost a memset per split).
    let grow_to = |scratch: &mut Vec<u32>, len: usize| {
        if scratch.len() < len {
            scratch.resize(len, 0);
        }
    };
    if seg.len() < 2 * CHUNK {
        grow_to(scratch, seg.len() + 1);
        let nl = split(seg, col, lut, scratch);
        let nr = seg.len() - nl;
        seg[nl..].copy_from_slice(&scratch[..nr]);
        return nl;
    }
    // Each chunk gets a region of the scratch buffer for its right rows (reused across
    // splits and trees: fresh allocations of this size cost page faults).
    grow_to(scratch, seg.len().div_ceil(CHUNK) * REGION);
    let lefts: Vec<usize> = seg
        .par_chunks_mut(CHUNK)
        .zip(scratch.par_chunks_mut(REGION))
        .map(|(c, r)| split(c, col, lut, r))
        .collect();
    // Left rows forward (each chunk's land at or before where they are), then right rows.
    let mut at = 0;
    for (k, &nl) in lefts.iter().enumerate() {
        seg.copy_within(k * CHUNK..k * CHUNK + nl, at);
        at += nl;
    }
    let n_left = at;
    for (k, &nl) in lefts.iter().enumerate() {
        let nr = CHUNK.min(seg.len() - k * CHUNK) - nl;
        seg[at..at + nr].copy_from_slice(&scratch[k * REGION..k * REGION + nr]);
        at += nr;
    }
    n_left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_stable_on_both_paths() {
        for n in [10usize, 1000, 200_000] {
            let col: Vec<u8> = (0..n).map(|i| ((i * 7919) % 251) as u8).collect();
            let mut lut = [0u8; 256];
            lut[..100].iter_mut().for_each(|l| *l = 1);
            let mut seg: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 0).collect();
            let expect_l: Vec<u32> = seg
                .iter()
                .copied()
                .filter(|&r| col[r as usize] < 100)
                .collect();
            let expect_r: Vec<u32> = seg
                .iter()
                .copied()
                .filter(|&r| col[r as usize] >= 100)
                .collect();
            let mut scratch = Vec::new();
            let nl = partition(&mut seg, &mut scratch, &col, &lut);
            assert_eq!(nl, expect_l.len());
            assert_eq!(&seg[..nl], expect_l.as_slice());
            assert_eq!(&seg[nl..], expect_r.as_slice());
        }
    }
}
