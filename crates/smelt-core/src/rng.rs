//! Seeded random streams, fixed forever: a seed gives the same split, the same synthetic data
//! and the same model in every future version of Smelt, on every platform.
//!
//! * [`SplitMix64`] (Steele, Lea & Flood 2014): splits, fold assignment, profile reservoirs,
//!   synthetic test data.
//! * [`Rng`]: xoshiro256++ (Blackman & Vigna) seeded through SplitMix64, the stream of every
//!   randomised estimator (`random_state`): k-means++ draws, SAGA's row order, bootstraps,
//!   randomized SVD.
//!
//! Why not the `rand` crate: its algorithms and APIs changed in each of its last major
//! versions, and a `random_state` must reproduce a model across upgrades. Reference values
//! pin both generators (`tests` below).
//!
//! ```
//! use smelt_core::rng::{Rng, SplitMix64};
//!
//! let mut split = SplitMix64::new(0);
//! assert_eq!(split.next_u64(), 0xE220_A839_7B1D_CDAF);
//! let mut rng = Rng::new(42);
//! let u = rng.uniform();
//! assert!((0.0..1.0).contains(&u));
//! ```

/// One SplitMix64 step: advances `state` and returns the next 64 bits.
#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in `[0, 1)` from the top 53 of 64 random bits.
#[inline]
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// SplitMix64: tiny, fast, and fixed forever.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        splitmix64(&mut self.0)
    }

    /// A uniform integer in `0..n` (Lemire's multiply-shift with rejection, so without bias;
    /// `n > 0`).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }

    /// Fisher–Yates shuffle (with [`SplitMix64::below`]).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Standard normal (Box–Muller, the first uniform floored at `1e-300`).
    #[inline]
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// xoshiro256++ seeded through SplitMix64: the stream of every randomised estimator, so
/// `random_state` fully determines a fit on every platform.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Uniform integer in `0..n` (`n > 0`): Lemire's multiply-shift without rejection (a bias
    /// below `n / 2⁶⁴`).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Standard normal (Box–Muller on `1 - u`, so the logarithm never sees 0).
    #[inline]
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Fisher–Yates shuffle (with [`Rng::below`]).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }

    /// A child stream (for per-thread or per-restart streams that stay reproducible).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // From the published algorithm, seed 0.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn xoshiro_stream_is_pinned() {
        // Fixtures and fitted models depend on these values (computed independently from the
        // published algorithm): they must never change.
        let mut r = Rng::new(0);
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut again = Rng::new(0);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        assert_eq!(first, PINNED_XOSHIRO_SEED0);
    }

    /// `Rng::new(0)`'s first three outputs.
    const PINNED_XOSHIRO_SEED0: [u64; 3] = [
        0x5317_5D61_490B_23DF,
        0x61DA_6F3D_C380_D507,
        0x5C0F_DF91_EC9A_7BFC,
    ];

    #[test]
    fn streams_are_seeded_and_uniform() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut r = Rng::new(1);
        let mean = (0..10_000).map(|_| r.uniform()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02);
        assert!((0..1000).all(|_| r.below(3) < 3));
        let mut v: Vec<usize> = (0..10).collect();
        r.shuffle(&mut v);
        v.sort();
        assert_eq!(v, (0..10).collect::<Vec<_>>());
        let mut s = SplitMix64::new(3);
        let mean = (0..10_000).map(|_| s.normal()).sum::<f64>() / 10_000.0;
        assert!(mean.abs() < 0.05);
        assert!((0..1000).all(|_| s.below(5) < 5));
    }
}
