//! `OneHotEncoder`: one 0/1 column per category of each categorical feature.
//!
//! Output columns are named `feature_category` (scikit-learn's `get_feature_names_out`),
//! in feature order then category order (categories sorted, as the `Dataset` codes are);
//! only categories present in the training rows get a column.
//! Numeric features are passed through unchanged, so the encoder can sit on a whole table.
//! An unseen category (or a missing value) at transform time is an error with
//! `handle_unknown = "error"` and an all-zero row with `"ignore"`.

use serde::{Deserialize, Serialize};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Fit, ParamError,
    Registry, Result, Transform, UnknownCategory,
};

use super::{fit_then_transform, numeric_feature, output_dataset};
use smelt_core::artifact::{load_common, save_common};

/// What to do with a category not seen in training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandleUnknown {
    /// Fail, naming the column and the value.
    #[default]
    Error,
    /// Encode it as all zeros.
    Ignore,
}

/// Which category column to drop per feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneHotDrop {
    /// Keep every category.
    #[default]
    None,
    /// Drop the first category of every feature (avoids collinearity in unpenalised models).
    First,
    /// Drop the first category of features with exactly two categories.
    IfBinary,
}

smelt_core::params! {
    /// Parameters of [`OneHotEncoder`].
    pub struct OneHotEncoderParams("OneHotEncoder") {
        /// Unseen categories (default `error`).
        handle_unknown: HandleUnknown = HandleUnknown::default();
        /// Dropped categories (default none).
        drop: OneHotDrop = OneHotDrop::default();
    }
}

/// A fitted one-hot encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct OneHotEncoder {
    params: OneHotEncoderParams,
    input: Vec<Feature>,
}

impl OneHotEncoder {
    /// Kind in model files.
    pub const KIND: &'static str = "one_hot_encoder";

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params) = load_common(r)?;
        Ok(Box::new(OneHotEncoder { params, input }))
    }

    /// The hyperparameters it was fitted with (`handle_unknown`, `drop`).
    pub fn params(&self) -> &OneHotEncoderParams {
        &self.params
    }

    /// The first category code that gets a column, for a feature with `k` categories (the
    /// codes before it are dropped by `drop`).
    pub fn first_kept(&self, k: usize) -> usize {
        match self.params.drop {
            OneHotDrop::None => 0,
            OneHotDrop::First => usize::from(k > 0),
            OneHotDrop::IfBinary => usize::from(k == 2),
        }
    }
}

impl Fit for OneHotEncoderParams {
    type Model = OneHotEncoder;

    fn name(&self) -> &'static str {
        "OneHotEncoder"
    }

    fn check(&self) -> Vec<ParamError> {
        Vec::new()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, _w: Option<&[f64]>) -> Result<OneHotEncoder> {
        self.validate()?;
        if data.n_rows() == 0 {
            return Err(CoreError::TooFew {
                estimator: "OneHotEncoder",
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        super::ordinal::check_codes("OneHotEncoder", data)?;
        // Categories are those observed in the training rows (sorted labels), as scikit-learn's
        // `categories_`: a category declared by the table but absent from these rows (after a
        // split, say) gets no column.
        let input = (0..data.n_features())
            .map(|j| super::ordinal::observed_feature(data, j).0)
            .collect();
        Ok(OneHotEncoder {
            params: self.clone(),
            input,
        })
    }
}

fit_then_transform!(OneHotEncoderParams);

impl Transform for OneHotEncoder {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output_features(&self) -> Vec<Feature> {
        let mut out = Vec::new();
        for f in &self.input {
            match &f.kind {
                FeatureKind::Numeric => out.push(f.clone()),
                FeatureKind::Categorical { categories } => {
                    for c in &categories[self.first_kept(categories.len())..] {
                        out.push(numeric_feature(format!("{}_{}", f.name, c)));
                    }
                }
            }
        }
        out
    }

    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        let policy = match self.params.handle_unknown {
            HandleUnknown::Error => UnknownCategory::Error,
            HandleUnknown::Ignore => UnknownCategory::Missing,
        };
        let d = data.conform(&self.input, policy)?;
        let n = d.n_rows();
        let mut cols = Vec::new();
        for (j, f) in self.input.iter().enumerate() {
            let col = d.column(j);
            match &f.kind {
                FeatureKind::Numeric => cols.push((f.clone(), col.to_vec())),
                FeatureKind::Categorical { categories } => {
                    if self.params.handle_unknown == HandleUnknown::Error
                        && let Some(i) = col.iter().position(|v| v.is_nan())
                    {
                        return Err(CoreError::MissingValues {
                            estimator: "OneHotEncoder",
                            feature: f.name.clone(),
                            row: i,
                            count: col.iter().filter(|v| v.is_nan()).count(),
                        });
                    }
                    let first = self.first_kept(categories.len());
                    let mut block = vec![vec![0.0; n]; categories.len() - first];
                    for (i, &v) in col.iter().enumerate() {
                        if v.is_nan() {
                            continue;
                        }
                        let k = v as usize;
                        if k >= first && k < categories.len() {
                            block[k - first][i] = 1.0;
                        }
                    }
                    for (c, v) in categories[first..].iter().zip(block) {
                        cols.push((numeric_feature(format!("{}_{}", f.name, c)), v));
                    }
                }
            }
        }
        output_dataset(data, cols)
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::LogicalType;

    fn colour(codes: Vec<f64>, cats: &[&str]) -> Dataset<f64> {
        let f = Feature {
            name: "colour".into(),
            ltype: LogicalType::Categorical,
            kind: FeatureKind::Categorical {
                categories: cats.iter().map(|c| c.to_string()).collect(),
            },
        };
        Dataset::new(codes.len(), codes, vec![f], None).unwrap()
    }

    #[test]
    fn encodes_and_handles_unknown() {
        let train = colour(vec![0.0, 1.0, 2.0], &["blue", "green", "red"]);
        let enc = OneHotEncoderParams::default().fit(&train).unwrap();
        let out = enc.transform(&train).unwrap();
        let names: Vec<_> = out.feature_names().collect();
        assert_eq!(names, ["colour_blue", "colour_green", "colour_red"]);
        assert_eq!(out.column(2), &[0.0, 0.0, 1.0]);

        let new = colour(vec![0.0, 1.0], &["pink", "red"]);
        let err = enc.transform(&new).unwrap_err();
        assert!(matches!(err, CoreError::UnknownCategory { ref value, .. } if value == "pink"));
        let enc = OneHotEncoderParams::default()
            .handle_unknown(HandleUnknown::Ignore)
            .fit(&train)
            .unwrap();
        let out = enc.transform(&new).unwrap();
        assert_eq!(out.row(0), vec![0.0, 0.0, 0.0]);
        assert_eq!(out.row(1), vec![0.0, 0.0, 1.0]);
    }

    #[test]
    fn only_observed_categories_get_columns() {
        let train = colour(vec![0.0, 2.0], &["blue", "green", "red"]);
        let enc = OneHotEncoderParams::default().fit(&train).unwrap();
        let out = enc.transform(&train).unwrap();
        assert_eq!(
            out.feature_names().collect::<Vec<_>>(),
            ["colour_blue", "colour_red"]
        );
        assert_eq!(out.column(1), &[0.0, 1.0]);
    }

    #[test]
    fn drop_first_and_if_binary() {
        let train = colour(vec![0.0, 1.0], &["no", "yes"]);
        let enc = OneHotEncoderParams::default()
            .drop(OneHotDrop::IfBinary)
            .fit(&train)
            .unwrap();
        let out = enc.transform(&train).unwrap();
        assert_eq!(out.feature_names().collect::<Vec<_>>(), ["colour_yes"]);
        assert_eq!(out.column(0), &[0.0, 1.0]);
    }
}
