//! How far a shadow challenger's answers are from the answering version's, row by row — the
//! evidence for promoting it: a row agrees when the predicted class is the same (classes
//! matched by name, so two versions may order them differently) or, for numbers, when the
//! values differ by at most 1e-6 relative (for embeddings, every component of the vectors). The
//! absolute difference is the largest gap between the two versions' probabilities of one
//! class (classifiers), between the values, or between two components of the vectors.

use smelt_core::Prediction;

/// The comparison of two predictions of the same rows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Agreement {
    /// Rows compared.
    pub rows: u64,
    /// Rows whose answers agree.
    pub agreeing: u64,
    /// Sum over rows of the absolute difference (mean = `difference / rows`).
    pub difference: f64,
}

/// Compares `shadow`'s answers with `answer`'s on the same rows; `None` when they cannot be
/// compared (different kinds or row counts).
pub fn compare(answer: &Prediction, shadow: &Prediction) -> Option<Agreement> {
    let mut a = Agreement::default();
    match (answer, shadow) {
        (Prediction::Regression { values: x }, Prediction::Regression { values: y }) => {
            if x.len() != y.len() {
                return None;
            }
            for (u, v) in x.iter().zip(y) {
                let d = (u - v).abs();
                a.rows += 1;
                a.agreeing += u64::from(d <= 1e-6 * u.abs().max(v.abs()).max(1.0) || u == v);
                a.difference += if d.is_finite() { d } else { 0.0 };
            }
        }
        (
            Prediction::Classification {
                labels: la,
                classes: ca,
                proba: pa,
            },
            Prediction::Classification {
                labels: lb,
                classes: cb,
                proba: pb,
            },
        ) => {
            if la.len() != lb.len() {
                return None;
            }
            // Each of the answer's classes, as a column of the shadow's.
            let column: Vec<Option<usize>> =
                ca.iter().map(|c| cb.iter().position(|d| d == c)).collect();
            for (i, (&x, &y)) in la.iter().zip(lb).enumerate() {
                a.rows += 1;
                let same = ca
                    .get(x as usize)
                    .zip(cb.get(y as usize))
                    .is_some_and(|(p, q)| p == q);
                a.agreeing += u64::from(same);
                a.difference += match (pa, pb) {
                    (Some(p), Some(q)) => column
                        .iter()
                        .enumerate()
                        .map(|(k, col)| {
                            let other = col.map_or(0.0, |c| q.row(i)[c]);
                            (p.row(i)[k] - other).abs()
                        })
                        .fold(0.0, f64::max),
                    _ => f64::from(u8::from(!same)),
                };
            }
        }
        (Prediction::Clustering { labels: x }, Prediction::Clustering { labels: y }) => {
            if x.len() != y.len() {
                return None;
            }
            for (u, v) in x.iter().zip(y) {
                a.rows += 1;
                a.agreeing += u64::from(u == v);
                a.difference += f64::from(u8::from(u != v));
            }
        }
        (
            Prediction::Embedding { dim: da, values: x },
            Prediction::Embedding { dim: db, values: y },
        ) => {
            if da != db || x.len() != y.len() || *da == 0 {
                return None;
            }
            for (u, v) in x.chunks_exact(*da).zip(y.chunks_exact(*da)) {
                let d = u
                    .iter()
                    .zip(v)
                    .map(|(p, q)| f64::from((p - q).abs()))
                    .fold(0.0, f64::max);
                a.rows += 1;
                a.agreeing += u64::from(d <= 1e-6);
                a.difference += if d.is_finite() { d } else { 0.0 };
            }
        }
        _ => return None,
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use smelt_core::Proba;

    use super::*;

    #[test]
    fn embeddings_agree_component_by_component() {
        let answer = Prediction::Embedding {
            dim: 2,
            values: vec![0.6, 0.8, 1.0, 0.0],
        };
        let shadow = Prediction::Embedding {
            dim: 2,
            values: vec![0.6, 0.8, 0.8, 0.6],
        };
        let a = compare(&answer, &shadow).unwrap();
        assert_eq!((a.rows, a.agreeing), (2, 1));
        assert!((a.difference - 0.6).abs() < 1e-6, "{a:?}");
        let other = Prediction::Embedding {
            dim: 4,
            values: vec![0.0; 4],
        };
        assert_eq!(compare(&answer, &other), None);
    }

    #[test]
    fn classes_are_matched_by_name_and_probabilities_compared() {
        let answer = Prediction::Classification {
            labels: vec![0, 1, 1],
            classes: vec!["no".into(), "yes".into()],
            proba: Some(Proba {
                n_classes: 2,
                values: vec![0.9, 0.1, 0.2, 0.8, 0.4, 0.6],
            }),
        };
        // The shadow orders its classes the other way round.
        let shadow = Prediction::Classification {
            labels: vec![1, 0, 1],
            classes: vec!["yes".into(), "no".into()],
            proba: Some(Proba {
                n_classes: 2,
                values: vec![0.15, 0.85, 0.7, 0.3, 0.45, 0.55],
            }),
        };
        let a = compare(&answer, &shadow).unwrap();
        assert_eq!((a.rows, a.agreeing), (3, 2));
        assert!((a.difference - (0.05 + 0.1 + 0.15)).abs() < 1e-12, "{a:?}");
    }

    #[test]
    fn numbers_agree_within_a_relative_tolerance() {
        let a = compare(
            &Prediction::Regression {
                values: vec![100.0, 2.0, 0.0],
            },
            &Prediction::Regression {
                values: vec![100.00001, 2.5, 0.0],
            },
        )
        .unwrap();
        assert_eq!((a.rows, a.agreeing), (3, 2));
        assert!((a.difference - 0.50001).abs() < 1e-9);
        assert!(
            compare(
                &Prediction::Regression { values: vec![1.0] },
                &Prediction::Clustering { labels: vec![1] }
            )
            .is_none()
        );
    }
}
