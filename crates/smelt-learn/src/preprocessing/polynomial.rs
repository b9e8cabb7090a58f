//! `PolynomialFeatures`: every product of at most `degree` input features.
//!
//! Columns come in scikit-learn's order: the bias `1` (with `include_bias`), then for each
//! degree `d = 1..=degree` the multisets of `d` features (sets with `interaction_only`) in
//! lexicographic order — `1, x0, x1, x0^2, x0 x1, x1^2` for two features and degree 2 — and
//! are named like `get_feature_names_out` (`x0^2 x1`) from the input feature names. Products
//! are evaluated right to left, `x_a·(x_b·x_c)`, as scikit-learn builds them, so results agree
//! to the last bit. Numeric, finite input only (scikit-learn rejects NaN too).

use rayon::prelude::*;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Fit, ParamError,
    Registry, Result, Transform, UnknownCategory,
};

use super::{fit_then_transform, numeric_feature, output_dataset, require_numeric_kinds};
use smelt_core::artifact::{load_common, save_common};

smelt_core::params! {
    /// Parameters of [`PolynomialFeatures`].
    pub struct PolynomialFeaturesParams("PolynomialFeatures") {
        /// Maximal degree (default 2; an integer >= 0, and > 0 unless `include_bias`).
        /// scikit-learn's `(min_degree, max_degree)` tuple form is not supported.
        degree: usize = 2;
        /// Only products of distinct features, no powers (default `false`).
        interaction_only: bool = false;
        /// Include the all-ones bias column `1` (default `true`).
        include_bias: bool = true;
    }
}

/// A fitted polynomial expansion.
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialFeatures {
    params: PolynomialFeaturesParams,
    input: Vec<Feature>,
    /// The feature indices multiplied in each output column (empty: the bias).
    combos: Vec<Vec<usize>>,
}

/// Upper bound on output columns, so a large degree is an error rather than an out-of-memory.
const MAX_OUTPUT_COLUMNS: usize = 1 << 20;

/// The combinations of scikit-learn's `_combinations`, or `None` past `MAX_OUTPUT_COLUMNS`.
fn combinations(p: usize, params: &PolynomialFeaturesParams) -> Option<Vec<Vec<usize>>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    if params.include_bias {
        out.push(Vec::new());
    }
    // Lexicographic (multi)sets of size d, built from those of size d - 1.
    let mut prev: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 1..=params.degree {
        let mut next = Vec::new();
        for c in &prev {
            let start = match c.last() {
                None => 0,
                Some(&l) if params.interaction_only => l + 1,
                Some(&l) => l,
            };
            for j in start..p {
                let mut n = c.clone();
                n.push(j);
                next.push(n);
                if out.len() + next.len() > MAX_OUTPUT_COLUMNS {
                    return None;
                }
            }
        }
        out.extend(next.iter().cloned());
        prev = next;
        if prev.is_empty() {
            break;
        }
    }
    Some(out)
}

impl PolynomialFeatures {
    /// Kind in model files.
    pub const KIND: &'static str = "polynomial_features";

    /// Exponent of each input feature in each output column (scikit-learn's `powers_`).
    pub fn powers(&self) -> Vec<Vec<usize>> {
        self.combos
            .iter()
            .map(|c| {
                let mut row = vec![0; self.input.len()];
                for &j in c {
                    row[j] += 1;
                }
                row
            })
            .collect()
    }

    /// Number of output columns.
    pub fn n_output_features(&self) -> usize {
        self.combos.len()
    }

    fn name_of(&self, combo: &[usize]) -> String {
        if combo.is_empty() {
            return "1".into();
        }
        let mut parts = Vec::new();
        let mut i = 0;
        while i < combo.len() {
            let j = combo[i];
            let exp = combo[i..].iter().take_while(|&&k| k == j).count();
            let name = &self.input[j].name;
            parts.push(if exp == 1 {
                name.clone()
            } else {
                format!("{name}^{exp}")
            });
            i += exp;
        }
        parts.join(" ")
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params): (Vec<Feature>, PolynomialFeaturesParams) = load_common(r)?;
        let combos = combinations(input.len(), &params)
            .ok_or_else(|| r.invalid("too many output columns"))?;
        Ok(Box::new(PolynomialFeatures {
            params,
            input,
            combos,
        }))
    }
}

/// NaN and ±inf are errors (scikit-learn's `ensure_all_finite=True`).
fn require_finite(data: &Dataset<f64>) -> Result<()> {
    for (j, f) in data.features().iter().enumerate() {
        let col = data.column(j);
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(if col[i].is_nan() {
                CoreError::MissingValues {
                    estimator: "PolynomialFeatures",
                    feature: f.name.clone(),
                    row: i,
                    count: col.iter().filter(|v| v.is_nan()).count(),
                }
            } else {
                CoreError::NonFinite {
                    estimator: "PolynomialFeatures",
                    feature: f.name.clone(),
                    row: i,
                    value: col[i],
                }
            });
        }
    }
    Ok(())
}

impl Fit for PolynomialFeaturesParams {
    type Model = PolynomialFeatures;

    fn name(&self) -> &'static str {
        "PolynomialFeatures"
    }

    fn check(&self) -> Vec<ParamError> {
        self.range_check("PolynomialFeatures")
            .require(
                self.degree > 0 || self.include_bias,
                "degree",
                "an integer in [1, inf) when include_bias is false (degree 0 would give no column)",
                self.degree,
            )
            .finish()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, _w: Option<&[f64]>) -> Result<PolynomialFeatures> {
        self.validate()?;
        require_numeric_kinds("PolynomialFeatures", data)?;
        require_finite(data)?;
        if data.n_rows() == 0 {
            return Err(CoreError::TooFew {
                estimator: "PolynomialFeatures",
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        let combos = combinations(data.n_features(), self).ok_or_else(|| {
            CoreError::Params(vec![ParamError {
                estimator: "PolynomialFeatures",
                param: "degree",
                allowed: format!("a degree giving at most {MAX_OUTPUT_COLUMNS} output columns"),
                got: self.degree.to_string(),
            }])
        })?;
        Ok(PolynomialFeatures {
            params: self.clone(),
            input: data.features().to_vec(),
            combos,
        })
    }
}

fit_then_transform!(PolynomialFeaturesParams);

impl Transform for PolynomialFeatures {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output_features(&self) -> Vec<Feature> {
        self.combos
            .iter()
            .map(|c| numeric_feature(self.name_of(c)))
            .collect()
    }

    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        if let Some(f) = d
            .features()
            .iter()
            .find(|f| matches!(f.kind, FeatureKind::Categorical { .. }))
        {
            return Err(CoreError::NotNumeric {
                estimator: "PolynomialFeatures",
                feature: f.name.clone(),
            });
        }
        require_finite(&d)?;
        let n = d.n_rows();
        let cols = self
            .combos
            .par_iter()
            .map(|c| {
                let values = match c.split_last() {
                    None => vec![1.0; n],
                    Some((&last, rest)) => {
                        // Right to left: x_a·(x_b·x_c), scikit-learn's order of products.
                        let mut acc = d.column(last).to_vec();
                        for &j in rest.iter().rev() {
                            for (a, x) in acc.iter_mut().zip(d.column(j)) {
                                *a *= x;
                            }
                        }
                        acc
                    }
                };
                (numeric_feature(self.name_of(c)), values)
            })
            .collect();
        output_dataset(data, cols)
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::super::numeric_feature;
    use super::*;

    fn two() -> Dataset<f64> {
        Dataset::new(
            2,
            vec![1.0, 2.0, 3.0, 4.0],
            vec![numeric_feature("a"), numeric_feature("b")],
            None,
        )
        .unwrap()
    }

    #[test]
    fn sklearn_order_and_names() {
        let m = PolynomialFeaturesParams::default().fit(&two()).unwrap();
        let out = m.transform(&two()).unwrap();
        let names: Vec<_> = out.feature_names().collect();
        assert_eq!(names, ["1", "a", "b", "a^2", "a b", "b^2"]);
        assert_eq!(out.row(1), vec![1.0, 2.0, 4.0, 4.0, 8.0, 16.0]);
        let m = PolynomialFeaturesParams::default()
            .degree(3)
            .interaction_only(true)
            .include_bias(false)
            .fit(&two())
            .unwrap();
        let names: Vec<_> = m.output_features().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["a", "b", "a b"]);
        let m = PolynomialFeaturesParams::default()
            .degree(3)
            .fit(&two())
            .unwrap();
        assert_eq!(m.n_output_features(), 10);
        assert_eq!(m.output_features()[7].name, "a^2 b");
        assert_eq!(m.powers()[8], vec![1, 2]);
    }

    #[test]
    fn degree_zero_without_bias_is_invalid() {
        let p = PolynomialFeaturesParams::default()
            .degree(0)
            .include_bias(false);
        assert_eq!(p.check()[0].param, "degree");
        let m = PolynomialFeaturesParams::default()
            .degree(0)
            .fit(&two())
            .unwrap();
        assert_eq!(m.transform(&two()).unwrap().column(0), &[1.0, 1.0]);
    }
}
