//! Sorting a node's rows by a feature's rank: the LSD radix sort of integer keys the grower
//! uses on large nodes (see [`super::grow`]); small nodes use a comparison sort.

/// Nodes with fewer rows sort with a comparison sort (pdqsort on `u64` keys), larger ones
/// with the radix sort.
pub(super) const RADIX_ROWS: usize = 192;
/// Largest radix digit, in bits (a 2048-bucket histogram stays in L1).
const MAX_DIGIT: u32 = 11;

/// Sorts `keys` (`rank << 32 | payload`) by rank, stably: LSD radix sort on `rank - lo`, whose largest
/// value is `span`, in as few passes of at most [`MAX_DIGIT`] bits as it takes.
pub(super) fn radix_sort(
    keys: &mut Vec<u64>,
    tmp: &mut Vec<u64>,
    counts: &mut Vec<u32>,
    lo: u32,
    span: u32,
) {
    let bits = 32 - span.leading_zeros();
    let passes = bits.div_ceil(MAX_DIGIT);
    let digit = bits.div_ceil(passes);
    let buckets = 1usize << digit;
    let mask = (buckets - 1) as u32;
    tmp.resize(keys.len(), 0);
    for pass in 0..passes {
        let shift = pass * digit;
        let d = |k: u64| ((((k >> 32) as u32 - lo) >> shift) & mask) as usize;
        counts.clear();
        counts.resize(buckets, 0);
        for &k in keys.iter() {
            counts[d(k)] += 1;
        }
        let mut sum = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for &k in keys.iter() {
            let b = d(k);
            tmp[counts[b] as usize] = k;
            counts[b] += 1;
        }
        std::mem::swap(keys, tmp);
    }
}

#[cfg(test)]
mod tests {
    use smelt_core::rng::Rng;

    use super::*;

    #[test]
    fn radix_sort_orders_by_rank() {
        let mut rng = Rng::new(5);
        for (n, range) in [(1000usize, 7u32), (5000, 100_000), (300, 1 << 22)] {
            let lo = 17;
            let mut keys: Vec<u64> = (0..n)
                .map(|i| (u64::from(lo + rng.below(range as usize) as u32) << 32) | i as u64)
                .collect();
            let mut expected = keys.clone();
            expected.sort_by_key(|k| k >> 32);
            let hi = keys.iter().map(|k| (k >> 32) as u32).max().unwrap_or(lo);
            let (mut tmp, mut counts) = (Vec::new(), Vec::new());
            radix_sort(&mut keys, &mut tmp, &mut counts, lo, hi - lo);
            // LSD radix sort is stable: equal ranks keep their row order, like the stable sort.
            assert_eq!(keys, expected);
        }
    }
}
