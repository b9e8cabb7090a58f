//! Lasso and elastic net by coordinate descent, and their regularisation paths.
//!
//! Both minimise scikit-learn's objective
//!
//! ```text
//! 1/(2n) ‖y - Xw - b‖² + α·ρ·‖w‖₁ + ½·α·(1-ρ)·‖w‖²        (ρ = l1_ratio; Lasso: ρ = 1)
//! ```
//!
//! With sample weights the squared error becomes `Σ sᵢ rᵢ²` with the weights rescaled to
//! sum to `n` (so the objective is a weighted average, as in scikit-learn). The intercept is
//! not penalised: the data is centred with (weighted) means, rows scaled by `√sᵢ`, and
//! `b = ȳ - x̄·w`. On the centred problem the solver minimises `n` times the objective,
//! `½‖y - Xw‖² + a‖w‖₁ + ½β‖w‖²` with `a = nαρ`, `β = nα(1-ρ)`, one coordinate at a time:
//!
//! ```text
//! wⱼ ← S(Xⱼ·r + wⱼ‖Xⱼ‖², a) / (‖Xⱼ‖² + β)        S(z, a) = sign(z)·max(|z| - a, 0)
//! ```
//!
//! (clipped at 0 when `positive`), keeping the residual `r = y - Xw` — or, when there are more
//! rows than features, `Qw` with the Gram matrix `Q = XᵀX` — up to date, so a sweep costs
//! `O(np)` or `O(p²)`. It stops, as scikit-learn's `enet_coordinate_descent`, when after a
//! sweep whose largest update is small relative to the largest coefficient the duality gap
//! (dual point `r` scaled to be feasible) is at most `tol·‖y‖²`. Gap-safe screening
//! (Fercoq et al. 2015) drops features proven to be zero at the optimum.
//!
//! [`enet_path`] / [`lasso_path`] solve for a descending grid of alphas (log-spaced from
//! `α_max = max|Xᵀy| / (nρ)`, where every coefficient is zero, down to `eps·α_max`), each
//! starting from the previous solution (warm start).

mod model;
mod params;
mod path;
mod solver;

pub use model::{ElasticNet, Lasso};
pub use params::{ElasticNetParams, EnetPathParams, LassoParams, Selection};
pub use path::{EnetPath, enet_path, lasso_path};

#[cfg(test)]
mod tests {
    use super::params::Solver;
    use super::path::{Alphas, geomspace, run_path};
    use super::solver::{Centred, Design, GramCd};
    use super::*;
    use crate::util::{mat, weighted_mean, weighted_means};
    use smelt_core::model::regression_target;
    use smelt_core::rng::Rng;
    use smelt_core::{Dataset, Fit};
    use smelt_core::{Feature, FeatureKind, LogicalType, Target};

    fn data(n: usize, p: usize, seed: u64) -> Dataset<f64> {
        let mut rng = Rng::new(seed);
        let x: Vec<f64> = (0..n * p).map(|_| rng.normal() + 3.0).collect();
        let y = (0..n)
            .map(|i| (0..p).map(|j| (j as f64 - 1.0) * x[j * n + i]).sum::<f64>() + rng.normal())
            .collect();
        let feats = (0..p)
            .map(|j| Feature {
                name: format!("x{j}"),
                ltype: LogicalType::Numeric,
                kind: FeatureKind::Numeric,
            })
            .collect();
        Dataset::new(
            n,
            x,
            feats,
            Some(("y".into(), Target::Regression { values: y })),
        )
        .unwrap()
    }

    fn solve(
        d: &Dataset<f64>,
        w: Option<&[f64]>,
        gram: bool,
        l1_ratio: f64,
        alpha: f64,
    ) -> (Vec<f64>, f64, usize) {
        let y = regression_target("t", d).unwrap();
        let c = Centred::new(d, y, w, true, gram);
        let solver = Solver {
            max_iter: 10_000,
            tol: 1e-12,
            positive: false,
            random: false,
            random_state: 0,
        };
        let path = match c.design {
            Design::Gram(mut g) => run_path(
                "t",
                &mut g,
                &c.x_offset,
                c.y_offset,
                d.n_rows(),
                l1_ratio,
                Alphas::Given(vec![alpha]),
                solver,
            ),
            Design::Dense(mut g) => run_path(
                "t",
                &mut g,
                &c.x_offset,
                c.y_offset,
                d.n_rows(),
                l1_ratio,
                Alphas::Given(vec![alpha]),
                solver,
            ),
        }
        .unwrap();
        (path.coefs[0].clone(), path.intercepts[0], path.n_iters[0])
    }

    #[test]
    fn gram_and_residual_forms_agree() {
        let d = data(300, 6, 1);
        let w: Vec<f64> = (0..300).map(|i| 0.5 + (i % 5) as f64).collect();
        for (l1_ratio, alpha) in [(1.0, 0.05), (0.5, 0.3), (0.0, 0.2), (0.7, 0.0)] {
            for wt in [None, Some(w.as_slice())] {
                let (a, ia, na) = solve(&d, wt, true, l1_ratio, alpha);
                let (b, ib, nb) = solve(&d, wt, false, l1_ratio, alpha);
                for (x, y) in a.iter().zip(&b) {
                    assert!((x - y).abs() < 1e-9 * (1.0 + y.abs()), "{a:?} vs {b:?}");
                }
                assert!((ia - ib).abs() < 1e-9 * (1.0 + ib.abs()));
                assert_eq!(na, nb, "same sweeps in both forms");
            }
        }
    }

    #[test]
    fn gram_blocks_are_reproducible_and_exact() {
        // More rows than one block: the blockwise sums match a direct computation.
        let d = data(20_000, 3, 2);
        let y = regression_target("t", &d).unwrap();
        let xm = weighted_means(mat(&d), None);
        let ym = weighted_mean(y, None);
        let g = GramCd::new(&d, y, &xm, ym, None);
        let g2 = GramCd::new(&d, y, &xm, ym, None);
        assert_eq!(g.q, g2.q);
        for a in 0..3 {
            for b in 0..3 {
                let direct: f64 = (0..20_000)
                    .map(|i| (d.column(a)[i] - xm[a]) * (d.column(b)[i] - xm[b]))
                    .sum();
                assert!((g.q[b * 3 + a] - direct).abs() < 1e-9 * direct.abs().max(1.0));
            }
        }
    }

    #[test]
    fn geomspace_matches_numpy() {
        // numpy.geomspace(2.0, 0.002, 4) = [2, 0.2, 0.02, 0.002]
        let g = geomspace(2.0, 0.002, 4);
        assert_eq!(g[0], 2.0);
        assert_eq!(g[3], 0.002);
        assert!((g[1] - 0.2).abs() < 1e-15 && (g[2] - 0.02).abs() < 1e-16);
        assert_eq!(geomspace(5.0, 1.0, 1), vec![5.0]);
    }

    #[test]
    fn alpha_max_zeroes_every_coefficient() {
        let d = data(100, 4, 3);
        let path = enet_path(
            &d,
            &EnetPathParams::default().fit_intercept(true).n_alphas(3),
            None,
        )
        .unwrap();
        assert!(path.coefs[0].iter().all(|&c| c == 0.0));
        assert!(path.coefs[1].iter().any(|&c| c != 0.0));
        assert!(path.alphas.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn zero_target_gives_the_minimal_alpha_grid() {
        let mut d = data(30, 2, 4);
        d = Dataset::new(
            30,
            d.values().to_vec(),
            d.features().to_vec(),
            Some((
                "y".into(),
                Target::Regression {
                    values: vec![0.0; 30],
                },
            )),
        )
        .unwrap();
        let path = enet_path(&d, &EnetPathParams::default().n_alphas(4), None).unwrap();
        assert_eq!(path.alphas, vec![1e-15; 4]);
        assert!(path.coefs.iter().flatten().all(|&c| c == 0.0));
    }

    #[test]
    fn alpha_must_be_non_negative() {
        let e = ElasticNetParams::default().alpha(-1.0).check();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].param, "alpha");
        assert_eq!(
            LassoParams::default().alpha(f64::NAN).check()[0].param,
            "alpha"
        );
    }

    #[test]
    fn l1_ratio_must_be_in_unit_interval() {
        assert_eq!(
            ElasticNetParams::default().l1_ratio(1.01).check()[0].param,
            "l1_ratio"
        );
        assert_eq!(
            ElasticNetParams::default().l1_ratio(f64::NAN).check()[0].param,
            "l1_ratio"
        );
        assert!(ElasticNetParams::default().l1_ratio(0.0).check().is_empty());
    }

    #[test]
    fn tol_and_max_iter_are_checked() {
        let e = LassoParams::default().tol(-1.0).max_iter(0).check();
        let names: Vec<_> = e.iter().map(|e| e.param).collect();
        assert_eq!(names, ["max_iter", "tol"]);
        assert!(LassoParams::default().tol(0.0).check().is_empty());
    }

    #[test]
    fn params_use_scikit_learn_spellings() {
        let p: ElasticNetParams = serde_json::from_str(
            r#"{"alpha": 0.5, "l1_ratio": 0.1, "selection": "random", "positive": true}"#,
        )
        .unwrap();
        assert_eq!(p.selection, Selection::Random);
        assert!(serde_json::from_str::<LassoParams>(r#"{"l1_ratio": 0.5}"#).is_err());
    }
}
