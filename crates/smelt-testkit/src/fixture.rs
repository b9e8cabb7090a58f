//! Reference fixtures: [`Fixture`] reads the JSON files written by `tools/fixtures/*.py` (a
//! design matrix, a target, and cases of parameters with the reference library's outputs).

use std::path::Path;

use serde::Deserialize;
use smelt_core::{Dataset, Target};

use crate::data::{categorical, numeric};

/// A reference fixture written by `tools/fixtures/*.py`: a numeric design matrix, a target,
/// and one or more cases (parameters + expected outputs from the reference library).
#[derive(Debug, Deserialize)]
pub struct Fixture {
    /// Versions, dataset, seed.
    #[serde(default)]
    pub meta: serde_json::Value,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// Rows of the design matrix (`null` reads as NaN, a missing value).
    #[serde(deserialize_with = "rows_with_nan")]
    pub x: Vec<Vec<f64>>,
    /// Categorical columns: name → sorted category labels; that column of `x` holds codes
    /// into the labels (NaN = missing). Other columns are numeric.
    #[serde(default)]
    pub categorical: std::collections::BTreeMap<String, Vec<String>>,
    /// Real-valued target, for regression fixtures.
    #[serde(default)]
    pub y: Option<Vec<f64>>,
    /// Class codes `0..k`, for classification fixtures.
    #[serde(default)]
    pub y_class: Option<Vec<u32>>,
    /// Class labels of the codes.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
    /// Parameter sets and the reference outputs (none in a file that only holds a design
    /// matrix, such as the import fixtures' `*.expected.json`).
    #[serde(default)]
    pub cases: Vec<FixtureCase>,
}

/// One case of a [`Fixture`].
#[derive(Debug, Deserialize)]
pub struct FixtureCase {
    /// Case name, shown on failure.
    pub name: String,
    /// Which estimator of the family, when a fixture holds several.
    #[serde(default)]
    pub estimator: Option<String>,
    /// Parameters (reference names, which are also Smelt's).
    #[serde(default)]
    pub params: serde_json::Value,
    /// Per-row sample weights, when the case uses them.
    #[serde(default)]
    pub sample_weight: Option<Vec<f64>>,
    /// Expected outputs by name (`coef`, `intercept`, `predict`, `proba`, …).
    pub expected: serde_json::Map<String, serde_json::Value>,
}

impl Fixture {
    /// Reads a fixture file.
    pub fn load(path: impl AsRef<Path>) -> Fixture {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    /// The design matrix and target as a dataset.
    pub fn dataset(&self) -> Dataset<f64> {
        let n = self.x.len();
        let p = self.feature_names.len();
        let mut values = vec![0.0; n * p];
        for (i, row) in self.x.iter().enumerate() {
            assert_eq!(row.len(), p, "fixture row {i} has {} values", row.len());
            for (j, v) in row.iter().enumerate() {
                values[j * n + i] = *v;
            }
        }
        let features = self
            .feature_names
            .iter()
            .map(|f| match self.categorical.get(f) {
                Some(cats) => categorical(f, cats),
                None => numeric(f),
            })
            .collect();
        let target = match (&self.y, &self.y_class) {
            (Some(y), _) => Some(("y".to_string(), Target::Regression { values: y.clone() })),
            (None, Some(codes)) => Some((
                "y".to_string(),
                Target::Classification {
                    codes: codes.clone(),
                    classes: self.classes.clone().unwrap_or_else(|| {
                        let k = codes.iter().max().map_or(0, |m| *m as usize + 1);
                        (0..k).map(|c| c.to_string()).collect()
                    }),
                },
            )),
            (None, None) => None,
        };
        Dataset::new(n, values, features, target).expect("fixture shapes")
    }
}

impl FixtureCase {
    /// Expected vector `key`.
    pub fn vec(&self, key: &str) -> Vec<f64> {
        let v = self
            .expected
            .get(key)
            .unwrap_or_else(|| panic!("case {}: no expected `{key}`", self.name));
        flatten(v)
    }

    /// The case's parameters as Smelt's params type (same names as the reference library).
    pub fn params<P: serde::de::DeserializeOwned>(&self) -> P {
        serde_json::from_value(self.params.clone())
            .unwrap_or_else(|e| panic!("case {}: params: {e}", self.name))
    }

    /// Expected scalar `key`.
    pub fn scalar(&self, key: &str) -> f64 {
        self.vec(key)[0]
    }
}

fn rows_with_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    let rows: Vec<Vec<Option<f64>>> = Deserialize::deserialize(d)?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        .collect())
}

fn flatten(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flatten).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN)],
        serde_json::Value::Null => vec![f64::NAN],
        other => panic!("expected numbers, found {other}"),
    }
}
