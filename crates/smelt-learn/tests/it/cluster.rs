//! Clustering against scikit-learn (fixtures from `tools/fixtures/cluster.py`), the
//! conformance suite, and bad input.
//!
//! Tolerances: k-means reaches the same optimum as scikit-learn (both with enough restarts):
//! identical partition up to renaming, inertia and centres to 1e-6 relative. Mini-batch k-means
//! is stochastic with different random streams: identical partition (k = 2, well separated),
//! inertia within 1 %. DBSCAN is deterministic: identical labels up to renaming, identical
//! noise rows and core samples.

use smelt_core::{CoreError, Fit, Prediction, Predictor};
use smelt_learn::cluster::{
    DbscanParams, KMeansAlgorithm, KMeansInit, KMeansParams, MiniBatchKMeansParams, NInit,
};
use smelt_testkit::{CheckEstimator, Fixture, assert_close, classification_data, same_partition};

fn labels_of(p: Prediction) -> Vec<i64> {
    match p {
        Prediction::Clustering { labels } => labels,
        other => panic!("clustering expected, got {other:?}"),
    }
}

fn ints(v: Vec<f64>) -> Vec<i64> {
    v.into_iter().map(|x| x as i64).collect()
}

/// Centres of `ours` reordered to match `theirs` through the label mapping.
fn permuted_centres(ours: &[f64], our_labels: &[i64], their_labels: &[i64], p: usize) -> Vec<f64> {
    let k = ours.len() / p;
    let mut map = vec![0usize; k];
    for (a, b) in our_labels.iter().zip(their_labels) {
        map[*b as usize] = *a as usize;
    }
    (0..k)
        .flat_map(|c| ours[map[c] * p..(map[c] + 1) * p].to_vec())
        .collect()
}

#[test]
fn kmeans_matches_scikit_learn() {
    let fx = Fixture::load(crate::fixture("cluster.json"));
    let data = fx.dataset();
    let p = fx.feature_names.len();
    let mut seen = 0;
    for case in fx
        .cases
        .iter()
        .filter(|c| c.estimator.as_deref() == Some("kmeans"))
    {
        let params: KMeansParams = case.params();
        let w = case.sample_weight.as_deref();
        let m = params.fit_weighted(&data, w).unwrap();
        let expected = ints(case.vec("labels"));
        assert!(
            same_partition(m.labels(), &expected),
            "{}: partition differs from scikit-learn",
            case.name
        );
        assert_close(
            &format!("{}: inertia", case.name),
            &[m.inertia()],
            &[case.scalar("inertia")],
            0.0,
            1e-6,
        );
        let centres = permuted_centres(m.cluster_centers(), m.labels(), &expected, p);
        assert_close(
            &format!("{}: centres", case.name),
            &centres,
            &case.vec("cluster_centers"),
            1e-6,
            1e-6,
        );
        // predict on the training rows = the training labels (converged Lloyd).
        assert_eq!(
            labels_of(m.predict(&data).unwrap()),
            m.labels(),
            "{}",
            case.name
        );
        // transform: distances to the centres (in scikit-learn's centre order).
        let k = params.n_clusters;
        let head = data.select_rows(&(0..20).collect::<Vec<_>>()).unwrap();
        let t = m.transform(&head).unwrap();
        let mut map = vec![0usize; k];
        for (a, b) in m.labels().iter().zip(&expected) {
            map[*b as usize] = *a as usize;
        }
        let t: Vec<f64> = (0..20)
            .flat_map(|i| (0..k).map(move |c| (i, c)))
            .map(|(i, c)| t[i * k + map[c]])
            .collect();
        assert_close(
            &format!("{}: transform", case.name),
            &t,
            &case.vec("transform"),
            1e-6,
            1e-6,
        );
        seen += 1;
    }
    assert_eq!(seen, 6);
}

#[test]
fn lloyd_and_elkan_agree() {
    let fx = Fixture::load(crate::fixture("cluster.json"));
    let data = fx.dataset();
    for seed in 0..5 {
        let base = KMeansParams::default()
            .n_clusters(4)
            .random_state(seed)
            .tol(0.0);
        let a = base.clone().fit(&data).unwrap();
        let b = base.algorithm(KMeansAlgorithm::Elkan).fit(&data).unwrap();
        assert_eq!(a.labels(), b.labels(), "seed {seed}");
        assert_eq!(a.n_iter(), b.n_iter(), "seed {seed}");
        assert!((a.inertia() - b.inertia()).abs() <= 1e-9 * a.inertia());
    }
}

#[test]
fn minibatch_kmeans_matches_scikit_learn() {
    let fx = Fixture::load(crate::fixture("cluster.json"));
    let data = fx.dataset();
    let mut seen = 0;
    for case in fx
        .cases
        .iter()
        .filter(|c| c.estimator.as_deref() == Some("mini_batch_kmeans"))
    {
        let params: MiniBatchKMeansParams = case.params();
        let m = params
            .fit_weighted(&data, case.sample_weight.as_deref())
            .unwrap();
        assert!(
            same_partition(m.labels(), &ints(case.vec("labels"))),
            "{}: partition differs from scikit-learn",
            case.name
        );
        assert_close(
            &format!("{}: inertia", case.name),
            &[m.inertia()],
            &[case.scalar("inertia")],
            0.0,
            1e-2,
        );
        assert!(m.n_steps() >= 1 && m.n_iter() >= 1);
        seen += 1;
    }
    assert_eq!(seen, 2);
}

#[test]
fn dbscan_matches_scikit_learn() {
    let fx = Fixture::load(crate::fixture("cluster.json"));
    let data = fx.dataset();
    let mut seen = 0;
    for case in fx
        .cases
        .iter()
        .filter(|c| c.estimator.as_deref() == Some("dbscan"))
    {
        let params: DbscanParams = case.params();
        let m = params
            .fit_weighted(&data, case.sample_weight.as_deref())
            .unwrap();
        let expected = ints(case.vec("labels"));
        let noise = |l: &[i64]| -> Vec<usize> { (0..l.len()).filter(|&i| l[i] == -1).collect() };
        assert_eq!(
            noise(m.labels()),
            noise(&expected),
            "{}: noise rows",
            case.name
        );
        assert!(
            same_partition(m.labels(), &expected),
            "{}: clusters differ from scikit-learn",
            case.name
        );
        let core: Vec<usize> = ints(case.vec("core_sample_indices"))
            .into_iter()
            .map(|i| i as usize)
            .collect();
        assert_eq!(m.core_sample_indices(), core.as_slice(), "{}", case.name);
        // Core samples predict their own cluster; noise rows predict noise.
        let pred = labels_of(m.predict(&data).unwrap());
        for &i in &core {
            assert_eq!(pred[i], m.labels()[i], "{}: core row {i}", case.name);
        }
        for i in noise(m.labels()) {
            assert_eq!(pred[i], -1, "{}: noise row {i}", case.name);
        }
        seen += 1;
    }
    assert_eq!(seen, 4);
}

#[test]
fn kmeans_conformance() {
    let reg = smelt_learn::registry();
    for algorithm in [KMeansAlgorithm::Lloyd, KMeansAlgorithm::Elkan] {
        for init in [KMeansInit::KMeansPlusPlus, KMeansInit::Random] {
            let p = KMeansParams::default()
                .n_clusters(3)
                .algorithm(algorithm)
                .init(init);
            let check = CheckEstimator::new(&p, &reg)
                .data(classification_data(60, 3, 3, 1))
                .invalid(KMeansParams::default().n_clusters(0), "n_clusters")
                .invalid(KMeansParams::default().max_iter(0), "max_iter")
                .invalid(KMeansParams::default().tol(-1.0), "tol")
                .invalid(KMeansParams::default().n_init(NInit::Count(0)), "n_init");
            // Integer weights = repeated rows holds for k-means++ (inverse-CDF sampling lands
            // on the same rows); random init draws without replacement, where it cannot.
            if init == KMeansInit::KMeansPlusPlus {
                check.sample_weight().run();
            } else {
                check.run();
            }
        }
    }
}

#[test]
fn minibatch_kmeans_conformance() {
    let reg = smelt_learn::registry();
    let p = MiniBatchKMeansParams::default()
        .n_clusters(3)
        .batch_size(16);
    CheckEstimator::new(&p, &reg)
        .data(classification_data(60, 3, 3, 2))
        .invalid(MiniBatchKMeansParams::default().n_clusters(0), "n_clusters")
        .invalid(MiniBatchKMeansParams::default().batch_size(0), "batch_size")
        .invalid(MiniBatchKMeansParams::default().max_iter(0), "max_iter")
        .invalid(MiniBatchKMeansParams::default().tol(-0.1), "tol")
        .invalid(
            MiniBatchKMeansParams::default().reassignment_ratio(-1.0),
            "reassignment_ratio",
        )
        .invalid(MiniBatchKMeansParams::default().init_size(0), "init_size")
        .run();
}

#[test]
fn dbscan_conformance() {
    let reg = smelt_learn::registry();
    let p = DbscanParams::default().eps(1.2).min_samples(4);
    // No `.sample_weight()`: a zero-weight row can still be a core sample (as in
    // scikit-learn), so weights are not exactly repeated rows; weights are checked against
    // scikit-learn in `dbscan_matches_scikit_learn`.
    CheckEstimator::new(&p, &reg)
        .data(classification_data(60, 2, 3, 3))
        .invalid(DbscanParams::default().eps(0.0), "eps")
        .invalid(DbscanParams::default().min_samples(0), "min_samples")
        .run();
}

#[test]
fn more_clusters_than_rows_is_an_error() {
    let data = classification_data(5, 2, 2, 4);
    let err = KMeansParams::default().fit(&data).unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::TooFew {
                needed: 8,
                got: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let err = MiniBatchKMeansParams::default().fit(&data).unwrap_err();
    assert!(matches!(err, CoreError::TooFew { .. }), "{err:?}");
    // Fewer rows with positive weight than clusters.
    let w = [1.0, 0.0, 0.0, 0.0, 1.0];
    let err = KMeansParams::default()
        .n_clusters(3)
        .fit_weighted(&data, Some(&w))
        .unwrap_err();
    assert!(matches!(err, CoreError::TooFew { got: 2, .. }), "{err:?}");
}

#[test]
fn duplicate_rows_and_all_noise_do_not_panic() {
    // Every row the same: k-means cannot find two distinct centres but must not fail.
    let data = smelt_testkit::regression_data(10, 2, 5);
    let same = data.select_rows(&[3; 10]).unwrap();
    let m = KMeansParams::default().n_clusters(2).fit(&same).unwrap();
    assert!(m.inertia().abs() < 1e-12);
    // DBSCAN with a tiny eps: every row is noise, with no core samples.
    let m = DbscanParams::default().eps(1e-9).fit(&data).unwrap();
    assert!(m.labels().iter().all(|&l| l == -1));
    assert!(m.core_sample_indices().is_empty());
    assert!(
        labels_of(m.predict(&data).unwrap())
            .iter()
            .all(|&l| l == -1)
    );
    let dir = tempfile::tempdir().unwrap();
    smelt_core::artifact::save(&m, &dir.path().join("m"), serde_json::Value::Null).unwrap();
    let back = smelt_core::artifact::load(&dir.path().join("m"), &smelt_learn::registry()).unwrap();
    assert!(
        labels_of(back.model.predict(&data).unwrap())
            .iter()
            .all(|&l| l == -1)
    );
}

#[test]
fn params_deserialize_with_scikit_learn_spellings() {
    let p: KMeansParams = serde_json::from_value(serde_json::json!({
        "n_clusters": 3, "init": "k-means++", "n_init": "auto", "algorithm": "elkan"
    }))
    .unwrap();
    assert_eq!(p.n_init, NInit::Auto);
    let p: KMeansParams =
        serde_json::from_value(serde_json::json!({"init": "random", "n_init": 4})).unwrap();
    assert_eq!((p.init, p.n_init), (KMeansInit::Random, NInit::Count(4)));
    assert!(serde_json::from_value::<KMeansParams>(serde_json::json!({"n_init": "x"})).is_err());
    let p: MiniBatchKMeansParams =
        serde_json::from_value(serde_json::json!({"max_no_improvement": null})).unwrap();
    assert_eq!(p.max_no_improvement, None);
}

/// DBSCAN's kd-tree neighbourhoods (≤ 15 features) equal the brute-force ones: the same data
/// padded with zero columns to 16 features takes the brute-force path and must give identical
/// labels and core samples (a coarse grid makes many distances exactly `eps`).
#[test]
fn dbscan_kd_tree_equals_brute_force() {
    use smelt_core::{Dataset, Fit};
    use smelt_learn::cluster::DbscanParams;
    let mut r = smelt_core::rng::Rng::new(5);
    let n = 600;
    let mut values = vec![0.0; n * 16];
    for i in 0..n {
        for j in 0..3 {
            let corner = if (i >> j) & 1 == 1 { 10.0 } else { 0.0 };
            values[j * n + i] = corner + (r.below(8) as f64) * 0.25;
        }
    }
    let feats = |p: usize| {
        (0..p)
            .map(|j| smelt_testkit::numeric(&format!("x{j}")))
            .collect()
    };
    let low = Dataset::new(n, values[..3 * n].to_vec(), feats(3), None).unwrap();
    let high = Dataset::new(n, values, feats(16), None).unwrap();
    let params = DbscanParams::default().eps(0.5).min_samples(4);
    let a = params.fit(&low).unwrap();
    let b = params.fit(&high).unwrap();
    assert_eq!(a.labels(), b.labels());
    assert_eq!(a.core_sample_indices(), b.core_sample_indices());
    assert!(a.labels().iter().any(|&l| l >= 0));
}
