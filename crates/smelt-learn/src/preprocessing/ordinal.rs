//! `OrdinalEncoder`: each categorical feature becomes one numeric column of category codes
//! `0..k` (categories sorted, as scikit-learn's `categories_`).
//!
//! The categories are those **observed** in the training rows (a `Dataset` may declare
//! categories that no training row has, e.g. after a split; scikit-learn never sees those).
//! A missing value (NaN) seen in training is encoded as `encoded_missing_value` (default NaN);
//! at transform time an unseen category — or a missing value never seen in training, which
//! scikit-learn treats the same way — is an error with `handle_unknown = "error"` and
//! `unknown_value` with `"use_encoded_value"`. Numeric features pass through unchanged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Fit, ParamError,
    Registry, Result, Transform, UnknownCategory,
};

use super::{fit_then_transform, numeric_feature, output_dataset};
use smelt_core::artifact::{load_common, save_common};

/// What [`OrdinalEncoder`] does with a category not seen in training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrdinalUnknown {
    /// Fail, naming the column and the value.
    #[default]
    Error,
    /// Encode it as `unknown_value`.
    UseEncodedValue,
}

smelt_core::params! {
    /// Parameters of [`OrdinalEncoder`].
    pub struct OrdinalEncoderParams("OrdinalEncoder") {
        /// Unseen categories (default `error`).
        handle_unknown: OrdinalUnknown = OrdinalUnknown::Error;
        /// Code of unseen categories with `use_encoded_value`: an integer outside `0..k` of every
        /// feature, or NaN (`"nan"`); required then, and must be unset with `error`
        /// (default unset).
        unknown_value: Option<f64> = None, serde(with = "opt_float_or_nan");
        /// Code of missing values seen in training (default NaN, written `"nan"` or `null`); an
        /// integer must lie outside `0..k` of every feature.
        encoded_missing_value: f64 = f64::NAN, serde(with = "float_or_nan");
    }
}

impl OrdinalEncoderParams {
    /// `handle_unknown = "use_encoded_value"` with this `unknown_value`.
    pub fn use_encoded_value(mut self, unknown_value: f64) -> Self {
        self.handle_unknown = OrdinalUnknown::UseEncodedValue;
        self.unknown_value = Some(unknown_value);
        self
    }
}

/// Serde for an `f64` that may be NaN: NaN is written `"nan"`; `"nan"`, `"NaN"` and `null`
/// read as NaN (JSON has no NaN literal).
pub(crate) mod float_or_nan {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(crate) enum Repr {
        Num(f64),
        Text(String),
    }

    pub(crate) fn from_repr<E: serde::de::Error>(r: Option<Repr>) -> std::result::Result<f64, E> {
        match r {
            None => Ok(f64::NAN),
            Some(Repr::Num(v)) => Ok(v),
            Some(Repr::Text(s)) if s.eq_ignore_ascii_case("nan") => Ok(f64::NAN),
            Some(Repr::Text(s)) => Err(E::custom(format!(
                "expected a number or \"nan\", got {s:?}"
            ))),
        }
    }

    pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_str("nan")
        } else {
            s.serialize_f64(*v)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<f64, D::Error> {
        from_repr(Option::<Repr>::deserialize(d)?)
    }
}

/// Like [`float_or_nan`] for an optional value: `null` is unset, `"nan"` is NaN.
pub(crate) mod opt_float_or_nan {
    use super::float_or_nan::{Repr, from_repr};
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &Option<f64>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(v) => float_or_nan::serialize(v, s),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<f64>, D::Error> {
        match Option::<Repr>::deserialize(d)? {
            None => Ok(None),
            r => from_repr(r).map(Some),
        }
    }
}

/// The categories of feature `j` observed in `data` (sorted like the declared ones), whether
/// a missing value was observed, and the feature re-declared with only those categories.
pub(crate) fn observed_feature(data: &Dataset<f64>, j: usize) -> (Feature, bool) {
    let f = &data.features()[j];
    let FeatureKind::Categorical { categories } = &f.kind else {
        return (f.clone(), false);
    };
    let mut seen = vec![false; categories.len()];
    let mut nan = false;
    for &v in data.column(j) {
        if v.is_nan() {
            nan = true;
        } else if let Some(s) = seen.get_mut(v as usize) {
            *s = true;
        }
    }
    let kept = categories
        .iter()
        .zip(&seen)
        .filter(|(_, s)| **s)
        .map(|(c, _)| c.clone())
        .collect();
    let mut out = f.clone();
    out.kind = FeatureKind::Categorical { categories: kept };
    (out, nan)
}

/// Checks that every categorical code is NaN (missing) or an integer in `0..k`.
pub(crate) fn check_codes(estimator: &'static str, data: &Dataset<f64>) -> Result<()> {
    for (j, f) in data.features().iter().enumerate() {
        let k = n_categories(f) as f64;
        if !matches!(f.kind, FeatureKind::Categorical { .. }) {
            continue;
        }
        let col = data.column(j);
        if let Some(i) = col
            .iter()
            .position(|&v| !(v.is_nan() || (v >= 0.0 && v < k && v.fract() == 0.0)))
        {
            return Err(CoreError::NonFinite {
                estimator,
                feature: f.name.clone(),
                row: i,
                value: col[i],
            });
        }
    }
    Ok(())
}

/// Number of categories of a feature (0 for numeric).
pub(crate) fn n_categories(f: &Feature) -> usize {
    match &f.kind {
        FeatureKind::Categorical { categories } => categories.len(),
        FeatureKind::Numeric => 0,
    }
}

/// A fitted ordinal encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct OrdinalEncoder {
    params: OrdinalEncoderParams,
    /// Input features, categorical ones with their observed categories.
    input: Vec<Feature>,
    /// Per feature: whether a missing value was seen in training.
    missing_seen: Vec<bool>,
}

impl OrdinalEncoder {
    /// Kind in model files.
    pub const KIND: &'static str = "ordinal_encoder";

    /// The categories of each input feature (empty for numeric features), in code order.
    pub fn categories(&self) -> Vec<&[String]> {
        self.input
            .iter()
            .map(|f| match &f.kind {
                FeatureKind::Categorical { categories } => categories.as_slice(),
                FeatureKind::Numeric => &[],
            })
            .collect()
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params): (Vec<Feature>, OrdinalEncoderParams) = load_common(r)?;
        let missing_seen: Vec<bool> = r.get("missing_seen")?;
        if missing_seen.len() != input.len() {
            return Err(r.invalid("`missing_seen` does not have one entry per input feature"));
        }
        Ok(Box::new(OrdinalEncoder {
            params,
            input,
            missing_seen,
        }))
    }
}

impl Fit for OrdinalEncoderParams {
    type Model = OrdinalEncoder;

    fn name(&self) -> &'static str {
        "OrdinalEncoder"
    }

    fn check(&self) -> Vec<ParamError> {
        let int_or_nan = |v: f64| v.is_nan() || (v.is_finite() && v.fract() == 0.0);
        let show = |v: Option<f64>| v.map_or_else(|| "None".to_string(), |v| v.to_string());
        let mut c = self.range_check("OrdinalEncoder");
        c = match self.handle_unknown {
            OrdinalUnknown::Error => c.require(
                self.unknown_value.is_none(),
                "unknown_value",
                "unset when handle_unknown is \"error\"",
                show(self.unknown_value),
            ),
            OrdinalUnknown::UseEncodedValue => c.require(
                self.unknown_value.is_some_and(int_or_nan),
                "unknown_value",
                "an integer or NaN when handle_unknown is \"use_encoded_value\"",
                show(self.unknown_value),
            ),
        };
        c.require(
            int_or_nan(self.encoded_missing_value),
            "encoded_missing_value",
            "an integer or NaN",
            self.encoded_missing_value,
        )
        .finish()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, _w: Option<&[f64]>) -> Result<OrdinalEncoder> {
        self.validate()?;
        check_codes("OrdinalEncoder", data)?;
        if data.n_rows() == 0 {
            return Err(CoreError::TooFew {
                estimator: "OrdinalEncoder",
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        let (input, missing_seen): (Vec<Feature>, Vec<bool>) = (0..data.n_features())
            .map(|j| observed_feature(data, j))
            .unzip();
        // scikit-learn refuses codes that collide with the codes of seen categories.
        let max_k = input.iter().map(n_categories).max().unwrap_or(0) as f64;
        let collides = |v: f64| v >= 0.0 && v < max_k;
        let mut errors = Vec::new();
        if let Some(u) = self.unknown_value
            && collides(u)
        {
            errors.push(ParamError {
                estimator: "OrdinalEncoder",
                param: "unknown_value",
                allowed: format!("a value outside the codes of seen categories 0..{max_k}"),
                got: u.to_string(),
            });
        }
        let any_missing = input
            .iter()
            .zip(&missing_seen)
            .any(|(f, m)| *m && matches!(f.kind, FeatureKind::Categorical { .. }));
        if any_missing && collides(self.encoded_missing_value) {
            errors.push(ParamError {
                estimator: "OrdinalEncoder",
                param: "encoded_missing_value",
                allowed: format!("a value outside the codes of seen categories 0..{max_k}"),
                got: self.encoded_missing_value.to_string(),
            });
        }
        if !errors.is_empty() {
            return Err(CoreError::Params(errors));
        }
        Ok(OrdinalEncoder {
            params: self.clone(),
            input,
            missing_seen,
        })
    }
}

fit_then_transform!(OrdinalEncoderParams);

impl Transform for OrdinalEncoder {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output_features(&self) -> Vec<Feature> {
        self.input
            .iter()
            .map(|f| match f.kind {
                FeatureKind::Numeric => f.clone(),
                FeatureKind::Categorical { .. } => numeric_feature(f.name.clone()),
            })
            .collect()
    }

    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        // Unseen categories get codes >= k; we decide below what they become.
        let d = data.conform(&self.input, UnknownCategory::Append)?;
        let mut cols = Vec::with_capacity(self.input.len());
        for (j, f) in self.input.iter().enumerate() {
            let col = d.column(j);
            let FeatureKind::Categorical { categories } = &f.kind else {
                cols.push((f.clone(), col.to_vec()));
                continue;
            };
            let k = categories.len();
            let mut out = Vec::with_capacity(col.len());
            for &v in col {
                let known = if v.is_nan() {
                    self.missing_seen[j]
                } else {
                    (v as usize) < k
                };
                out.push(if !known {
                    match self.params.unknown_value {
                        Some(u)
                            if self.params.handle_unknown == OrdinalUnknown::UseEncodedValue =>
                        {
                            u
                        }
                        _ => {
                            let value = match &d.features()[j].kind {
                                _ if v.is_nan() => "NaN (missing)".to_string(),
                                FeatureKind::Categorical { categories: all } => {
                                    all.get(v as usize).cloned().unwrap_or_default()
                                }
                                FeatureKind::Numeric => v.to_string(),
                            };
                            return Err(CoreError::UnknownCategory {
                                name: f.name.clone(),
                                value,
                            });
                        }
                    }
                } else if v.is_nan() {
                    self.params.encoded_missing_value
                } else {
                    v
                });
            }
            cols.push((numeric_feature(f.name.clone()), out));
        }
        output_dataset(data, cols)
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("missing_seen", &self.missing_seen)
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
    fn codes_of_observed_categories() {
        // "green" is declared but never observed: scikit-learn's categories are blue, red.
        let train = colour(vec![0.0, 2.0, f64::NAN, 2.0], &["blue", "green", "red"]);
        let enc = OrdinalEncoderParams::default().fit(&train).unwrap();
        assert_eq!(enc.categories()[0], ["blue", "red"]);
        let out = enc.transform(&train).unwrap();
        assert_eq!(out.column(0)[..2], [0.0, 1.0]);
        assert!(out.column(0)[2].is_nan());

        let new = colour(vec![0.0, 1.0], &["green", "red"]);
        let err = enc.transform(&new).unwrap_err();
        assert!(matches!(err, CoreError::UnknownCategory { ref value, .. } if value == "green"));
        let enc = OrdinalEncoderParams::default()
            .use_encoded_value(-1.0)
            .encoded_missing_value(-2.0)
            .fit(&train)
            .unwrap();
        assert_eq!(enc.transform(&new).unwrap().column(0), &[-1.0, 1.0]);
        assert_eq!(enc.transform(&train).unwrap().column(0)[2], -2.0);
    }

    #[test]
    fn params_and_serde() {
        let p = OrdinalEncoderParams::default().unknown_value(Some(-1.0));
        assert_eq!(p.check()[0].param, "unknown_value");
        let p = OrdinalEncoderParams::default().handle_unknown(OrdinalUnknown::UseEncodedValue);
        assert_eq!(p.check()[0].param, "unknown_value");
        let p = OrdinalEncoderParams::default().use_encoded_value(0.0);
        let err = p.fit(&colour(vec![0.0, 1.0], &["a", "b"])).unwrap_err();
        assert!(matches!(err, CoreError::Params(ref e) if e[0].param == "unknown_value"));

        let p: OrdinalEncoderParams = serde_json::from_str(
            r#"{"handle_unknown":"use_encoded_value","unknown_value":"nan","encoded_missing_value":-1}"#,
        )
        .unwrap();
        assert!(p.unknown_value.unwrap().is_nan());
        assert_eq!(p.encoded_missing_value, -1.0);
        let d = OrdinalEncoderParams::default();
        let back: OrdinalEncoderParams =
            serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert!(back.encoded_missing_value.is_nan() && back.unknown_value.is_none());
    }
}
