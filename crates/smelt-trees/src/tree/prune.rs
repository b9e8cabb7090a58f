//! Minimal cost-complexity pruning (scikit-learn's `ccp_alpha` and
//! `cost_complexity_pruning_path`).
//!
//! The cost of a subtree `T` is `R(T) = Σ_leaves w_l · I(l) / w_root` (weighted impurity of
//! its leaves); a node `t` turned into a leaf costs `R(t) = w_t · I(t) / w_root`. The weakest
//! link is the internal node with the smallest effective alpha
//! `(R(t) - R(T_t)) / (|leaves(T_t)| - 1)`; it is pruned (the first such node in node order
//! on ties), the costs and leaf counts of its ancestors are updated, and this repeats while the
//! smallest effective alpha is `<= ccp_alpha` — scikit-learn's `_cost_complexity_prune`, step
//! for step.

use super::{LEAF_CHILD, LEAF_FEATURE, Tree};

/// Runs the weakest-link pruning sequence on `t`. `stop(alpha)` is asked before each pruning
/// step; `record(alpha, r_root)` sees the starting cost (alpha 0) and every step's. Returns
/// which nodes are in the pruned tree and which of those are its leaves.
fn prune_sequence(
    t: &Tree,
    mut stop: impl FnMut(f64) -> bool,
    mut record: impl FnMut(f64, f64),
) -> (Vec<bool>, Vec<bool>) {
    let n = t.node_count();
    let total = t.weighted_n_node_samples[0];
    let r_node: Vec<f64> = (0..n)
        .map(|i| t.weighted_n_node_samples[i] * t.impurity[i] / total)
        .collect();
    let mut parent = vec![usize::MAX; n];
    let mut is_leaf = vec![false; n];
    for i in 0..n {
        if t.left[i] == LEAF_CHILD {
            is_leaf[i] = true;
        } else {
            parent[t.left[i] as usize] = i;
            parent[t.right[i] as usize] = i;
        }
    }
    let mut r_branch = vec![0.0; n];
    let mut n_leaves = vec![0usize; n];
    for leaf in (0..n).filter(|&i| is_leaf[i]) {
        r_branch[leaf] = r_node[leaf];
        let mut at = leaf;
        while at != 0 {
            let pa = parent[at];
            r_branch[pa] += r_node[leaf];
            n_leaves[pa] += 1;
            at = pa;
        }
    }
    let mut candidate: Vec<bool> = is_leaf.iter().map(|l| !l).collect();
    let mut in_subtree = vec![true; n];
    record(0.0, r_branch[0]);
    let mut stack = Vec::new();
    while candidate[0] {
        let mut alpha = f64::MAX;
        let mut weakest = 0;
        for i in (0..n).filter(|&i| candidate[i]) {
            let a = (r_node[i] - r_branch[i]) / (n_leaves[i] as f64 - 1.0);
            if a < alpha {
                alpha = a;
                weakest = i;
            }
        }
        if stop(alpha) {
            break;
        }
        // The weakest branch's descendants leave the subtree; it becomes a leaf.
        stack.push(weakest);
        while let Some(i) = stack.pop() {
            if !in_subtree[i] {
                continue;
            }
            candidate[i] = false;
            is_leaf[i] = false;
            in_subtree[i] = false;
            if t.left[i] != LEAF_CHILD {
                stack.push(t.left[i] as usize);
                stack.push(t.right[i] as usize);
            }
        }
        is_leaf[weakest] = true;
        in_subtree[weakest] = true;
        let pruned = n_leaves[weakest] - 1;
        n_leaves[weakest] = 0;
        let diff = r_node[weakest] - r_branch[weakest];
        r_branch[weakest] = r_node[weakest];
        let mut at = parent[weakest];
        while at != usize::MAX {
            n_leaves[at] -= pruned;
            r_branch[at] += diff;
            at = parent[at];
        }
        record(alpha, r_branch[0]);
    }
    (in_subtree, is_leaf)
}

impl Tree {
    /// The tree pruned with complexity parameter `ccp_alpha` (scikit-learn's `ccp_alpha`):
    /// weakest links are pruned while their effective alpha is `<= ccp_alpha`. Nodes keep
    /// their values, impurities and sample counts, renumbered in pre-order. `ccp_alpha = 0`
    /// prunes nothing.
    pub fn pruned(&self, ccp_alpha: f64) -> Tree {
        if ccp_alpha <= 0.0 || self.node_count() <= 1 {
            return self.clone();
        }
        let (keep, leaf) = prune_sequence(self, |a| ccp_alpha < a, |_, _| {});
        // The original numbering is pre-order, so the kept nodes in index order are the
        // pruned tree's pre-order.
        let mut new_id = vec![0i64; self.node_count()];
        let mut next = 0;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                new_id[i] = next;
                next += 1;
            }
        }
        let k = self.n_outputs;
        let mut t = Tree {
            feature: Vec::new(),
            threshold: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            value: Vec::new(),
            n_outputs: k,
            impurity: Vec::new(),
            n_node_samples: Vec::new(),
            weighted_n_node_samples: Vec::new(),
        };
        for i in (0..self.node_count()).filter(|&i| keep[i]) {
            if leaf[i] {
                t.feature.push(LEAF_FEATURE);
                t.threshold.push(-2.0);
                t.left.push(LEAF_CHILD);
                t.right.push(LEAF_CHILD);
            } else {
                t.feature.push(self.feature[i]);
                t.threshold.push(self.threshold[i]);
                t.left.push(new_id[self.left[i] as usize]);
                t.right.push(new_id[self.right[i] as usize]);
            }
            t.value.extend_from_slice(&self.value[i * k..(i + 1) * k]);
            t.impurity.push(self.impurity[i]);
            t.n_node_samples.push(self.n_node_samples[i]);
            t.weighted_n_node_samples
                .push(self.weighted_n_node_samples[i]);
        }
        t
    }

    /// The minimal cost-complexity pruning path (scikit-learn's
    /// `cost_complexity_pruning_path`): the effective alphas at which subtrees are pruned,
    /// starting with 0, and the total leaf impurity `R(T)` of the tree after each step.
    pub fn cost_complexity_pruning_path(&self) -> (Vec<f64>, Vec<f64>) {
        let (mut alphas, mut impurities) = (Vec::new(), Vec::new());
        prune_sequence(
            self,
            |_| false,
            |a, r| {
                alphas.push(a);
                impurities.push(r);
            },
        );
        (alphas, impurities)
    }
}
