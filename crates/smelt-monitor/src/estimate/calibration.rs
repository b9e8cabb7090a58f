//! Calibration of reference probabilities for CBPE (NannyML's `nannyml.calibration`):
//! isotonic regression (`smelt_eval::calibrate::Isotonic`, scikit-learn's
//! `IsotonicRegression(out_of_bounds="clip")`), used only when it lowers the expected
//! calibration error on held-out reference rows.
//!
//! NannyML's test: ten stratified shuffle splits holding out 10 % of the reference; isotonic
//! regression fitted on the rest calibrates the held-out rows; the expected calibration error
//! (rows sorted by probability, about ten equal-count bins, Σ weight · |mean p − mean y|) of
//! all held-out rows before and after is compared. The splits are scikit-learn's
//! `StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)` reproduced row for
//! row — numpy's legacy `RandomState` (MT19937) and its `permutation`, scikit-learn's
//! `_approximate_mode` — because the decision is sensitive to which rows are held out. Rows
//! tied in probability are ordered stably here, where numpy's quicksort leaves their order
//! unspecified; that moves the error by a few parts in 10⁴ of a bin and, on NannyML's datasets,
//! never the decision. [`Calibration::Always`] / [`Calibration::Never`] take the decision out of
//! the test.

use serde::{Deserialize, Serialize};
use smelt_eval::calibrate::Isotonic;
use smelt_eval::metrics::roc_auc;

use crate::error::{MonitorError, Result};

/// Whether CBPE calibrates the probabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    /// When it lowers the expected calibration error on held-out reference rows (NannyML).
    #[default]
    Auto,
    /// Always (isotonic regression on the whole reference).
    Always,
    /// Never: the probabilities are taken as calibrated.
    Never,
}

/// A fitted map from the model's probabilities to calibrated ones (the identity when
/// calibration was not needed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibrator {
    /// The isotonic map, `None` for the identity.
    pub isotonic: Option<Isotonic>,
}

impl Calibrator {
    /// Isotonic regression of the labels on the probabilities.
    pub fn fit(proba: &[f64], y_true: &[f64]) -> Calibrator {
        Calibrator {
            isotonic: Some(Isotonic::fit(proba, y_true, None)),
        }
    }

    /// The identity.
    pub fn identity() -> Calibrator {
        Calibrator { isotonic: None }
    }

    /// The calibrated probability of `p` (NaN stays NaN).
    pub fn calibrate(&self, p: f64) -> f64 {
        match &self.isotonic {
            Some(iso) if !p.is_nan() => iso.predict(p),
            _ => p,
        }
    }
}

/// NannyML's `needs_calibration` on complete rows (labels 0/1, probabilities): false for a
/// single class or a ROC AUC above 0.999, otherwise whether isotonic calibration lowers the
/// held-out expected calibration error. `seed` drives the splits.
pub fn needs_calibration(y_true: &[f64], proba: &[f64], seed: u64) -> Result<bool> {
    let n = y_true.len();
    let codes: Vec<u32> = y_true.iter().map(|&v| u32::from(v == 1.0)).collect();
    let n_pos = codes.iter().filter(|&&c| c == 1).count();
    if n_pos == 0 || n_pos == n {
        return Ok(false);
    }
    let auc = roc_auc(&codes, proba, None).map_err(|e| MonitorError::Invalid(e.to_string()))?;
    if auc > 0.999 {
        return Ok(false);
    }
    let Some(splits) = stratified_shuffle_split(&codes, 10, seed as u32) else {
        // Too few rows of a class to hold some out (scikit-learn raises): no calibration.
        return Ok(false);
    };
    let (mut t_all, mut before, mut after) = (Vec::new(), Vec::new(), Vec::new());
    for (train, test) in splits {
        let x: Vec<f64> = train.iter().map(|&i| proba[i]).collect();
        let y: Vec<f64> = train.iter().map(|&i| y_true[i]).collect();
        let iso = Isotonic::fit(&x, &y, None);
        for &i in &test {
            t_all.push(y_true[i]);
            before.push(proba[i]);
            after.push(iso.predict(proba[i]));
        }
    }
    let edges = bin_edges(t_all.len(), 10)?;
    Ok(ece(&t_all, &before, &edges) > ece(&t_all, &after, &edges))
}

/// numpy's legacy `RandomState`: MT19937 seeded as `mt19937_seed` (Matsumoto and Nishimura's
/// `init_genrand`), 32-bit outputs.
struct Mt19937 {
    state: [u32; 624],
    pos: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Mt19937 {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, pos: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX: u32 = 0x9908_b0df;
        if self.pos >= 624 {
            for i in 0..624 {
                let y = (self.state[i] & UPPER) | (self.state[(i + 1) % 624] & LOWER);
                let mag = if y & 1 == 1 { MATRIX } else { 0 };
                self.state[i] = self.state[(i + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.pos = 0;
        }
        let mut y = self.state[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// numpy's `random_interval`: uniform in `0..=max` by masked rejection.
    fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `RandomState.shuffle` of a 1-d array (Fisher–Yates from the end).
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.interval(i as u32) as usize;
            v.swap(i, j);
        }
    }

    /// `RandomState.permutation(n)`.
    fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

/// scikit-learn's `_approximate_mode`: `n_draws` spread over classes in proportion to their
/// counts, the remainder to the largest fractional parts (ties drawn at random).
fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut Mt19937) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need = n_draws.saturating_sub(floored.iter().sum());
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, &f)| c - f as f64)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add = inds.len().min(need);
            let chosen = rng.permutation(inds.len());
            for &k in &chosen[..add] {
                floored[inds[k]] += 1;
            }
            need -= add;
            if need == 0 {
                break;
            }
        }
    }
    floored
}

/// scikit-learn's `StratifiedShuffleSplit(n_splits, test_size=0.1, random_state=seed)` on
/// class codes: `(train, test)` row lists in its order; `None` where it raises (a class with
/// fewer than 2 rows, or fewer train or test rows than classes).
fn stratified_shuffle_split(
    codes: &[u32],
    n_splits: usize,
    seed: u32,
) -> Option<Vec<(Vec<usize>, Vec<usize>)>> {
    let n = codes.len();
    let n_test = (n as f64 * 0.1).ceil() as usize;
    let n_train = n.checked_sub(n_test)?;
    let mut classes: Vec<u32> = codes.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let class_rows: Vec<Vec<usize>> = classes
        .iter()
        .map(|&c| (0..n).filter(|&i| codes[i] == c).collect())
        .collect();
    let counts: Vec<usize> = class_rows.iter().map(Vec::len).collect();
    if counts.iter().any(|&c| c < 2) || n_train < classes.len() || n_test < classes.len() {
        return None;
    }
    let mut rng = Mt19937::new(seed);
    let mut splits = Vec::with_capacity(n_splits);
    for _ in 0..n_splits {
        let n_i = approximate_mode(&counts, n_train, &mut rng);
        let remaining: Vec<usize> = counts.iter().zip(&n_i).map(|(c, k)| c - k).collect();
        let t_i = approximate_mode(&remaining, n_test, &mut rng);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (k, rows) in class_rows.iter().enumerate() {
            let perm = rng.permutation(rows.len());
            let picked: Vec<usize> = perm.iter().map(|&p| rows[p]).collect();
            train.extend_from_slice(&picked[..n_i[k]]);
            test.extend_from_slice(&picked[n_i[k]..n_i[k] + t_i[k]]);
        }
        rng.shuffle(&mut train);
        rng.shuffle(&mut test);
        splits.push((train, test));
    }
    Some(splits)
}

/// NannyML's `_get_bin_index_edges`: equal-count bins over sorted rows.
fn bin_edges(len: usize, mut bins: usize) -> Result<Vec<(usize, usize)>> {
    if len <= 2 * bins {
        bins = len / 2;
        if bins < 2 {
            return Err(MonitorError::TooFew(format!(
                "cannot split {len} held-out rows into 2 calibration bins\n\nhint: use a larger \
                 reference, or set calibration explicitly"
            )));
        }
    }
    let width = len / bins;
    let mut edges: Vec<usize> = (0..=len).step_by(width).collect();
    if let Some(last) = edges.last_mut() {
        *last = len;
    }
    Ok(edges.windows(2).map(|w| (w[0], w[1])).collect())
}

/// Expected calibration error over the given bins of rows sorted by probability.
fn ece(y_true: &[f64], proba: &[f64], edges: &[(usize, usize)]) -> f64 {
    let mut order: Vec<usize> = (0..proba.len()).collect();
    order.sort_by(|&a, &b| proba[a].total_cmp(&proba[b]));
    let n = proba.len() as f64;
    edges
        .iter()
        .map(|&(l, r)| {
            let rows = &order[l..r];
            let m = rows.len() as f64;
            let mp = rows.iter().map(|&i| proba[i]).sum::<f64>() / m;
            let my = rows.iter().map(|&i| y_true[i]).sum::<f64>() / m;
            m / n * (mp - my).abs()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_edges_like_nannyml() {
        assert_eq!(bin_edges(25, 10).unwrap().len(), 12);
        assert_eq!(bin_edges(100, 10).unwrap()[9], (90, 100));
        assert_eq!(bin_edges(10, 10).unwrap().len(), 5);
        assert!(bin_edges(3, 10).is_err());
    }

    #[test]
    fn numpy_random_state_42() {
        assert_eq!(Mt19937::new(42).next_u32(), 1_608_637_542);
        // np.random.RandomState(42).permutation(10)
        assert_eq!(
            Mt19937::new(42).permutation(10),
            [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]
        );
    }

    #[test]
    fn stratified_shuffle_split_like_scikit_learn() {
        let y = [
            0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0,
        ];
        let splits = stratified_shuffle_split(&y, 3, 42).unwrap();
        // StratifiedShuffleSplit(n_splits=3, test_size=0.1, random_state=42).split(X, y)
        assert_eq!(
            splits[0].0,
            [
                2, 19, 3, 17, 20, 1, 4, 14, 21, 12, 8, 15, 16, 22, 6, 7, 18, 10, 11, 0
            ]
        );
        assert_eq!(splits[0].1, [9, 13, 5]);
        assert_eq!(splits[1].1, [18, 2, 5]);
        assert_eq!(
            splits[2].0,
            [
                11, 18, 12, 5, 3, 1, 22, 7, 4, 21, 20, 10, 17, 16, 13, 14, 0, 9, 15, 8
            ]
        );
        assert_eq!(splits[2].1, [19, 2, 6]);
        assert!(stratified_shuffle_split(&[0, 0, 0, 1], 3, 42).is_none());
    }

    #[test]
    fn miscalibrated_scores_need_calibration() {
        // Labels drawn with probability p², scores p: overconfident.
        let mut rng = smelt_core::rng::SplitMix64::new(3);
        let n = 4000;
        let p: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
        let y: Vec<f64> = p
            .iter()
            .map(|&q| f64::from(u8::from(rng.uniform() < q * q)))
            .collect();
        assert!(needs_calibration(&y, &p, 42).unwrap());
        // A single class never does.
        assert!(!needs_calibration(&[1.0; 10], &p[..10], 42).unwrap());
    }
}
