//! The boosting loop: bin the data, start from the loss's best constant, then each round
//! compute gradients, grow one tree per output group on a row sample, shrink its leaves,
//! and update the margins; stop early when the validation loss stalls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use smelt_core::rng::Rng;
use smelt_core::{Dataset, Result};

use super::bin::{BinMapper, bin_rows, fit_mappers};
use super::grow::{BinNode, BinTree, GrowParams, Grower, Layout, Scratch};
use super::loss::{Loss, weighted_quantile};

/// Everything the loop needs besides the data.
#[derive(Clone, Debug)]
pub(crate) struct BoostParams {
    pub loss: Loss,
    pub learning_rate: f64,
    pub max_iter: usize,
    pub grow: GrowParams,
    pub max_bins: usize,
    pub subsample: f64,
    pub colsample_bytree: f64,
    pub early_stopping: bool,
    pub validation_fraction: f64,
    pub n_iter_no_change: usize,
    pub tol: f64,
    pub seed: u64,
}

/// A fitted booster, still over bins.
#[derive(Clone, Debug)]
pub(crate) struct Boosted {
    pub mappers: Vec<BinMapper>,
    pub base: Vec<f64>,
    /// Trees in round order, `n_groups` per round (group `g` at position `round·k + g`).
    pub trees: Vec<BinTree>,
    /// Rounds kept.
    pub n_iter: usize,
    /// Validation loss before any tree and after each round (with early stopping).
    pub validation_loss: Vec<f64>,
    /// Training loss likewise (with early stopping; empty otherwise).
    pub train_loss: Vec<f64>,
    /// The kept trees' margins on every row of the fitted data (base included; row-major,
    /// `row · k + group`), as boosting already holds them: what predicting the training rows
    /// would give, without walking the trees again. `None` when rows were left out of the fit
    /// (zero weights).
    pub train_margins: Option<Vec<f64>>,
}

/// Splits off a seeded validation set (stratified by `strata` when given): (train, valid).
fn validation_split(
    n: usize,
    fraction: f64,
    strata: Option<&[u32]>,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Rng::new(seed ^ 0x5EED_0F5A_11AA);
    let mut train = Vec::new();
    let mut valid = Vec::new();
    let groups: Vec<Vec<usize>> = match strata {
        Some(codes) => {
            let k = codes.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
            let mut g = vec![Vec::new(); k];
            for (i, &c) in codes.iter().enumerate() {
                g[c as usize].push(i);
            }
            g
        }
        None => vec![(0..n).collect()],
    };
    for mut g in groups {
        rng.shuffle(&mut g);
        let nv = ((g.len() as f64) * fraction).round() as usize;
        valid.extend_from_slice(&g[..nv.min(g.len())]);
        train.extend_from_slice(&g[nv.min(g.len())..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

/// Runs boosting on `data` with targets `y` (class codes as floats for classification).
///
/// The whole fit runs on a worker of rayon's pool: parallel loops and joins issued from a
/// worker cost a push on its own queue, where from an outside thread each one is sent to the
/// pool and waited for (a wake-up and a sleep per call, hundreds per fit, which profiles of
/// small tables showed). On tables below [`HELP_ROWS`] rows a second worker stays on call for
/// the fit's tasks ([`help`]).
pub(crate) fn boost(
    data: &Dataset<f64>,
    y: &[f64],
    w: Option<&[f64]>,
    strata: Option<&[u32]>,
    p: &BoostParams,
    estimator: &'static str,
) -> Result<Boosted> {
    let done = AtomicBool::new(false);
    rayon::scope(|s| {
        // Set when the fit ends, even by a panic (the helper would otherwise never leave).
        let _done = Done(&done);
        let home = rayon::current_thread_index();
        if rayon::current_num_threads() > 1 && data.n_rows() < HELP_ROWS {
            let done = &done;
            s.spawn(move |_| help(done, home));
        }
        boost_on_worker(data, y, w, strata, p, estimator)
    })
}

/// Rows below which a fit keeps a second worker taking its tasks ([`help`]); on larger tables
/// a split's parallel sections are long enough for rayon to wake a sleeping worker in time.
const HELP_ROWS: usize = 1 << 17;

/// Sets its flag when dropped.
struct Done<'a>(&'a AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Keeps a second worker taking the fit's parallel tasks until `done`. A split's parallel
/// section lasts 10–30 µs on tables of a few thousand rows; an idle rayon worker sleeps after a
/// few dozen empty rounds, and waking it took longer than the section, so the fit's own worker
/// ran both halves and a second thread bought little (housing: 2 threads no faster than 1).
/// Here the worker looks for a task, and between tasks yields its core to the system (not
/// spinning on it, so a loaded machine loses little), so each section's second half starts
/// within microseconds. The fit's worker never waits for the helper to pick a task up: one not
/// taken yet, it runs itself. The helper leaves at once if the fit's own worker runs it (it
/// can, while waiting on a task), and after [`HELP_IDLE`] without a task: fits running side
/// by side in one pool could otherwise nest one's helper under another's task and wait on
/// each other.
fn help(done: &AtomicBool, home: Option<usize>) {
    if rayon::current_thread_index() == home {
        return;
    }
    let mut idle_since: Option<Instant> = None;
    while !done.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => idle_since = None,
            Some(rayon::Yield::Idle) => {
                let now = Instant::now();
                match idle_since {
                    None => idle_since = Some(now),
                    Some(t) if now.duration_since(t) > HELP_IDLE => return,
                    Some(_) => {}
                }
                std::thread::yield_now();
            }
            None => return,
        }
    }
}

/// How long [`help`] waits for a task before it leaves: longer than a fit's serial stretches
/// between parallel sections (gradients, margins, a partition) on the tables it helps.
const HELP_IDLE: Duration = Duration::from_millis(2);

fn boost_on_worker(
    data: &Dataset<f64>,
    y: &[f64],
    w: Option<&[f64]>,
    strata: Option<&[u32]>,
    p: &BoostParams,
    estimator: &'static str,
) -> Result<Boosted> {
    // Zero-weight rows change nothing but the bin edges: leave them out, so integer weights
    // are exactly repeated rows.
    let kept: Vec<usize> = (0..data.n_rows())
        .filter(|&i| w.is_none_or(|w| w[i] > 0.0))
        .collect();
    let (train, valid) = if p.early_stopping && kept.len() >= 2 {
        let strata: Option<Vec<u32>> = strata.map(|s| kept.iter().map(|&i| s[i]).collect());
        let (t, v) = validation_split(kept.len(), p.validation_fraction, strata.as_deref(), p.seed);
        (
            t.into_iter().map(|i| kept[i]).collect(),
            v.into_iter().map(|i| kept[i]).collect(),
        )
    } else {
        (kept, Vec::new())
    };
    let mappers = fit_mappers(data, &train, p.max_bins, p.seed, estimator)?;
    let binned = bin_rows(data, &train, &mappers);
    let vbinned = bin_rows(data, &valid, &mappers);
    let pick = |rows: &[usize], v: &[f64]| -> Vec<f64> { rows.iter().map(|&r| v[r]).collect() };
    let yt = pick(&train, y);
    let yv = pick(&valid, y);
    let wt = w.map(|w| pick(&train, w));
    let wv = w.map(|w| pick(&valid, w));
    let layout = Layout {
        n_bins: mappers.iter().map(|m| m.n_bins).collect(),
        categorical: mappers.iter().map(|m| m.categorical).collect(),
    };
    let k = p.loss.n_groups();
    let n = train.len();
    let base = p.loss.init(&yt, wt.as_deref());
    let mut raw: Vec<f64> = (0..n).flat_map(|_| base.iter().copied()).collect();
    let mut vraw: Vec<f64> = (0..valid.len())
        .flat_map(|_| base.iter().copied())
        .collect();
    let mut gh = vec![[0.0f32; 2]; n * k];
    let grower = Grower {
        binned: &binned,
        weights: wt.as_deref(),
        layout: &layout,
        params: &p.grow,
    };
    let mut rng = Rng::new(p.seed);
    let mut trees: Vec<BinTree> = Vec::new();
    let mut vloss = Vec::new();
    let mut tloss = Vec::new();
    let monitor = !valid.is_empty();
    if monitor {
        vloss.push(p.loss.value(&yv, wv.as_deref(), &vraw));
        tloss.push(p.loss.value(&yt, wt.as_deref(), &raw));
    }
    let n_features = binned.p;
    let mut rows: Vec<u32> = Vec::with_capacity(n);
    let mut all: Vec<bool> = vec![true; n];
    let mut n_iter = 0;
    let mut idx: Vec<u32> = Vec::with_capacity(n);
    let mut scratch = Scratch::default();
    for _round in 0..p.max_iter {
        p.loss.gradients(&yt, wt.as_deref(), &raw, &mut gh);
        // Row sample (bagging) and feature sample of this round.
        let sampled = p.subsample < 1.0;
        rows.clear();
        if sampled {
            let want = ((n as f64) * p.subsample).round().max(1.0) as usize;
            let mut perm: Vec<u32> = (0..n as u32).collect();
            for i in 0..want.min(n) {
                let j = i + rng.below(n - i);
                perm.swap(i, j);
            }
            perm.truncate(want.min(n));
            perm.sort_unstable();
            all.iter_mut().for_each(|a| *a = false);
            for &r in &perm {
                all[r as usize] = true;
            }
            rows.extend(perm);
        }
        let allowed: Vec<bool> = if p.colsample_bytree < 1.0 {
            let want = ((n_features as f64) * p.colsample_bytree).round().max(1.0) as usize;
            let mut f: Vec<usize> = (0..n_features).collect();
            rng.shuffle(&mut f);
            let mut a = vec![false; n_features];
            f[..want.min(n_features)].iter().for_each(|&j| a[j] = true);
            a
        } else {
            vec![true; n_features]
        };
        let mut round_trees = Vec::with_capacity(k);
        for g in 0..k {
            idx.clear();
            if sampled {
                idx.extend_from_slice(&rows);
            } else {
                idx.extend(0..n as u32);
            }
            let ghg = &gh[g * n..(g + 1) * n];
            let (mut tree, ranges) = grower.grow(ghg, &mut idx, !sampled, &allowed, &mut scratch);
            if let Some(q) = p.loss.refit_quantile() {
                // Leaves of the non-smooth losses: the quantile of their residuals.
                for &(node, start, end) in &ranges {
                    let res: Vec<f64> = idx[start..end]
                        .iter()
                        .map(|&r| yt[r as usize] - raw[r as usize * k + g])
                        .collect();
                    let ws: Option<Vec<f64>> = wt
                        .as_ref()
                        .map(|w| idx[start..end].iter().map(|&r| w[r as usize]).collect());
                    tree.nodes[node].value = weighted_quantile(&res, ws.as_deref(), q);
                }
            }
            for nd in tree.nodes.iter_mut() {
                nd.value *= p.learning_rate;
            }
            // Margins of the rows the tree was grown on, from the leaf ranges; the others
            // walk the tree.
            add_leaf_values(&mut raw, k, g, &tree, &ranges, &idx);
            if sampled {
                for r in 0..n {
                    if !all[r] {
                        raw[r * k + g] += tree.nodes[tree.leaf(&binned, r)].value;
                    }
                }
            }
            for r in 0..vbinned.n {
                vraw[r * k + g] += tree.nodes[tree.leaf(&vbinned, r)].value;
            }
            round_trees.push(tree);
        }
        // A round where no tree could split adds constants only: boosting has converged.
        let stuck =
            round_trees.iter().all(|t| t.nodes.len() == 1) && p.loss.refit_quantile().is_none();
        if stuck {
            // The margins took this round's constants; the model does not keep them.
            for (g, t) in round_trees.iter().enumerate() {
                let v = t.nodes[0].value;
                raw.iter_mut().skip(g).step_by(k).for_each(|m| *m -= v);
                vraw.iter_mut().skip(g).step_by(k).for_each(|m| *m -= v);
            }
            break;
        }
        trees.extend(round_trees);
        n_iter += 1;
        if monitor {
            vloss.push(p.loss.value(&yv, wv.as_deref(), &vraw));
            tloss.push(p.loss.value(&yt, wt.as_deref(), &raw));
            if should_stop(&vloss, p.n_iter_no_change, p.tol) {
                break;
            }
        }
    }
    if monitor && n_iter > 0 {
        // Keep the rounds up to the best validation loss (LightGBM's best_iteration).
        let best = vloss
            .iter()
            .enumerate()
            .skip(1)
            .fold((0usize, f64::INFINITY), |acc, (i, &v)| {
                if v < acc.1 { (i, v) } else { acc }
            })
            .0;
        let best = best.max(1);
        n_iter = best;
        // The margins took the rounds after the best one; take them off again.
        for (i, t) in trees.iter().enumerate().skip(best * k) {
            let g = i % k;
            for r in 0..n {
                raw[r * k + g] -= t.nodes[t.leaf(&binned, r)].value;
            }
            for r in 0..vbinned.n {
                vraw[r * k + g] -= t.nodes[t.leaf(&vbinned, r)].value;
            }
        }
        trees.truncate(best * k);
    }
    // Margins in the data's row order, when every row took part (train or validation).
    let train_margins = (train.len() + valid.len() == data.n_rows()).then(|| {
        let mut m = vec![0.0; data.n_rows() * k];
        for (rows, values) in [(&train, &raw), (&valid, &vraw)] {
            for (i, &r) in rows.iter().enumerate() {
                m[r * k..(r + 1) * k].copy_from_slice(&values[i * k..(i + 1) * k]);
            }
        }
        m
    });
    if trees.is_empty() {
        // Nothing to split (a single row, constant features): one leaf per group at 0.
        for _ in 0..k {
            trees.push(BinTree {
                nodes: vec![BinNode::leaf(0.0, n)],
            });
        }
    }
    Ok(Boosted {
        mappers,
        base,
        trees,
        n_iter,
        validation_loss: vloss,
        train_loss: tloss,
        train_margins,
    })
}

/// Rows from which the margins of a tree's leaves are added in two halves in parallel.
const PAR_MARGIN_ROWS: usize = 1 << 16;

/// Adds each leaf's value to the margins (`raw`, row-major with `k` groups, column `g`) of
/// its rows (`ranges` into `idx`). Each leaf's rows are in increasing order (partitioning is
/// stable), so on large data the rows below and above the middle row are a prefix and a
/// suffix of every range, and the two halves of `raw` are updated in parallel; every margin
/// still takes exactly one addition, so the result is the same.
fn add_leaf_values(
    raw: &mut [f64],
    k: usize,
    g: usize,
    tree: &BinTree,
    ranges: &[(usize, usize, usize)],
    idx: &[u32],
) {
    // `rows`: which part of each leaf's rows `raw` holds (`raw[0]` is row `rows.start`).
    let add = |raw: &mut [f64], rows: std::ops::Range<usize>| {
        for &(node, start, end) in ranges {
            let v = tree.nodes[node].value;
            let seg = &idx[start..end];
            let a = seg.partition_point(|&r| (r as usize) < rows.start);
            let b = seg.partition_point(|&r| (r as usize) < rows.end);
            for &r in &seg[a..b] {
                raw[(r as usize - rows.start) * k + g] += v;
            }
        }
    };
    let n = raw.len() / k.max(1);
    if n < PAR_MARGIN_ROWS {
        add(raw, 0..n);
        return;
    }
    let mid = n / 2;
    let (lo, hi) = raw.split_at_mut(mid * k);
    rayon::join(|| add(lo, 0..mid), || add(hi, mid..n));
}

/// scikit-learn's rule: stop when none of the last `n_iter_no_change` losses beats the one
/// before them by more than `tol`.
fn should_stop(loss: &[f64], n_iter_no_change: usize, tol: f64) -> bool {
    let reference = n_iter_no_change + 1;
    if loss.len() < reference {
        return false;
    }
    let ref_loss = loss[loss.len() - reference] - tol;
    !loss[loss.len() - reference + 1..]
        .iter()
        .any(|&l| l < ref_loss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_values_are_added_alike_in_halves() {
        // 70k rows: the parallel path; three leaves whose rows interleave.
        let n = 70_000usize;
        let (k, g) = (2usize, 1usize);
        let tree = BinTree {
            nodes: vec![
                BinNode::leaf(0.5, 0),
                BinNode::leaf(-1.25, 0),
                BinNode::leaf(3.0, 0),
            ],
        };
        let mut idx: Vec<u32> = Vec::new();
        let mut ranges = Vec::new();
        for leaf in 0..3u32 {
            let start = idx.len();
            idx.extend((0..n as u32).filter(|r| (r * 7 + r / 5) % 3 == leaf));
            ranges.push((leaf as usize, start, idx.len()));
        }
        let base: Vec<f64> = (0..n * k).map(|i| (i % 13) as f64 * 0.1).collect();
        let mut want = base.clone();
        for &(node, start, end) in &ranges {
            for &r in &idx[start..end] {
                want[r as usize * k + g] += tree.nodes[node].value;
            }
        }
        let mut got = base;
        add_leaf_values(&mut got, k, g, &tree, &ranges, &idx);
        assert_eq!(got, want);
    }

    #[test]
    fn stops_when_the_loss_stalls() {
        assert!(!should_stop(&[1.0, 0.9, 0.8], 2, 1e-7));
        assert!(should_stop(&[1.0, 0.9, 0.9, 0.95], 2, 1e-7));
        assert!(!should_stop(&[1.0, 0.9, 0.9, 0.85], 2, 1e-7));
    }

    #[test]
    fn stratified_validation_split_keeps_class_shares() {
        let codes: Vec<u32> = (0..100).map(|i| u32::from(i % 4 == 0)).collect();
        let (t, v) = validation_split(100, 0.2, Some(&codes), 1);
        assert_eq!(t.len() + v.len(), 100);
        assert_eq!(v.iter().filter(|&&i| codes[i] == 1).count(), 5);
        assert_eq!(v.len(), 20);
    }
}
