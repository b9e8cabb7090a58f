//! A classifier's predictions against the truth, coded once for every classification part of
//! the model report (the model's classes first, then the target's classes it does not know).

use smelt_core::Proba;

use crate::error::{EvalError, Result};

/// A classifier's prediction against the truth, in one coding: the model's classes first,
/// then the target's classes the model does not know.
pub(super) struct Data<'a> {
    /// Class names by code.
    pub(super) classes: Vec<String>,
    /// The model's classes (codes below this).
    pub(super) n_model: usize,
    /// True codes.
    pub(super) y: Vec<u32>,
    /// Predicted codes.
    pub(super) labels: &'a [u32],
    /// Probabilities over the model's classes, when usable.
    pub(super) proba: Option<&'a Proba>,
    /// Rows whose true class the model knows.
    pub(super) seen: Vec<usize>,
    /// Why the probabilities are not used, if so.
    pub(super) proba_note: Option<String>,
}

impl<'a> Data<'a> {
    /// Matches the target's classes to the model's by label and checks the codes.
    pub(super) fn new(
        codes: &[u32],
        target_classes: &[String],
        labels: &'a [u32],
        model_classes: &[String],
        proba: Option<&'a Proba>,
    ) -> Result<Data<'a>> {
        let ctx = "model_report";
        let mut classes = model_classes.to_vec();
        let map: Vec<u32> = target_classes
            .iter()
            .map(|c| match classes.iter().position(|m| m == c) {
                Some(j) => j as u32,
                None => {
                    classes.push(c.clone());
                    (classes.len() - 1) as u32
                }
            })
            .collect();
        let y = codes
            .iter()
            .map(|&c| {
                map.get(c as usize).copied().ok_or_else(|| {
                    EvalError::input(
                        ctx,
                        format!(
                            "the target has class code {c} but only {} classes",
                            target_classes.len()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<u32>>>()?;
        if let Some(&c) = labels.iter().find(|&&c| c as usize >= model_classes.len()) {
            return Err(EvalError::input(
                ctx,
                format!(
                    "the prediction has class code {c} but the model only {} classes",
                    model_classes.len()
                ),
            ));
        }
        let n_model = model_classes.len();
        let seen: Vec<usize> = (0..y.len())
            .filter(|&i| (y[i] as usize) < n_model)
            .collect();
        let (proba, proba_note) = match proba {
            None => (
                None,
                Some(
                    "The model gives no class probabilities: the ranking, calibration and score \
                     sections are left out."
                        .to_string(),
                ),
            ),
            Some(p) if p.n_classes != n_model || p.values.len() != y.len() * n_model => (
                None,
                Some(format!(
                    "The probabilities do not match the model's {n_model} classes and {} rows; \
                     they are left out.",
                    y.len()
                )),
            ),
            Some(p) if p.values.iter().any(|v| !v.is_finite()) => (
                None,
                Some("Some probabilities are not finite numbers; they are left out.".to_string()),
            ),
            Some(p) => (Some(p), None),
        };
        Ok(Data {
            classes,
            n_model,
            y,
            labels,
            proba,
            seen,
            proba_note,
        })
    }

    /// The name of a class code.
    pub(super) fn name(&self, code: u32) -> String {
        self.classes
            .get(code as usize)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// Rows of each class (by code).
    pub(super) fn support(&self) -> Vec<usize> {
        let mut s = vec![0; self.classes.len()];
        for &c in &self.y {
            s[c as usize] += 1;
        }
        s
    }

    /// Probabilities of class `k` on the seen rows, and whether each is of class `k`.
    pub(super) fn one_vs_rest(&self, proba: &Proba, k: usize) -> (Vec<u32>, Vec<f64>) {
        self.seen
            .iter()
            .map(|&i| (u32::from(self.y[i] as usize == k), proba.row(i)[k]))
            .unzip()
    }
}
