//! Partitioning a leaf's rows between its children: the leaf's range of the row array is
//! reordered in place, stably (each range stays in row order, so histogram building reads the
//! binned matrix forwards) and branch-free.

use rayon::prelude::*;

/// Reorders `seg` stably so the rows whose bin in `col` goes left (`lut[bin] == 1`) come
/// first; returns how many. Branch-free (each row is written to both sides and only one
/// cursor advances); large segments are split into chunks partitioned in parallel, then
/// gathered.
#[inline(never)]
pub(super) fn partition(
    seg: &mut [u32],
    scratch: &mut Vec<u32>,
    col: &[u8],
    lut: &[u8; 256],
) -> usize {
    const CHUNK: usize = 1 << 15;
    #[inline(never)]
    fn split(c: &[u32], col: &[u8], lut: &[u8; 256], l: &mut [u32], r: &mut [u32]) -> usize {
        let (mut a, mut b) = (0usize, 0usize);
        for &x in c {
            let g = usize::from(lut[col[x as usize] as usize]);
            l[a] = x;
            r[b] = x;
            a += g;
            b += 1 - g;
        }
        a
    }
    const REGION: usize = 2 * CHUNK + 2;
    // The buffer only grows: every slot read is written first, so old contents never matter
    // (clearing and refilling it cost a memset per split).
    let grow_to = |scratch: &mut Vec<u32>, len: usize| {
        if scratch.len() < len {
            scratch.resize(len, 0);
        }
    };
    if seg.len() < 2 * CHUNK {
        grow_to(scratch, 2 * seg.len() + 2);
        let (l, r) = scratch.split_at_mut(seg.len() + 1);
        let nl = split(seg, col, lut, l, r);
        seg[..nl].copy_from_slice(&l[..nl]);
        let nr = seg.len() - nl;
        seg[nl..].copy_from_slice(&r[..nr]);
        return nl;
    }
    // Each chunk gets a region of the scratch buffer (reused across splits and trees: fresh
    // allocations of this size cost page faults): its left rows, then its right rows.
    grow_to(scratch, seg.len().div_ceil(CHUNK) * REGION);
    let lefts: Vec<usize> = seg
        .par_chunks(CHUNK)
        .zip(scratch.par_chunks_mut(REGION))
        .map(|(c, buf)| {
            let (l, r) = buf.split_at_mut(c.len() + 1);
            let nl = split(c, col, lut, l, r);
            let nr = c.len() - nl;
            buf.copy_within(c.len() + 1..c.len() + 1 + nr, nl);
            nl
        })
        .collect();
    let mut at = 0;
    for (k, &nl) in lefts.iter().enumerate() {
        seg[at..at + nl].copy_from_slice(&scratch[k * REGION..k * REGION + nl]);
        at += nl;
    }
    let n_left = at;
    for (k, &nl) in lefts.iter().enumerate() {
        let len = CHUNK.min(seg.len() - k * CHUNK);
        seg[at..at + len - nl].copy_from_slice(&scratch[k * REGION + nl..k * REGION + len]);
        at += len - nl;
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
