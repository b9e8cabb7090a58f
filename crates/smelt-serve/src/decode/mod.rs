//! Requests to rows: every protocol's body becomes [`Rows`], the model's feature matrix for the
//! request, validated cell by cell against the [`Signature`](crate::signature::Signature) so a
//! bad request is answered with a precise 4xx and never reaches the model (where it would fail
//! a whole batch of other people's rows).
//!
//! One module per body shape: [`oip`] (Open Inference Protocol v2 tensors, JSON and binary),
//! [`table`] (MLflow's `dataframe_split` / `dataframe_records` / `instances` / `inputs` and the
//! named-feature objects of `/predict`), [`csv_body`] (CSV bodies).

pub mod csv_body;
pub mod fast;
pub mod oip;
pub mod table;

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;
use smelt_core::{Feature, FeatureKind, LogicalType, SharedFeatures};

/// The feature matrix of one request: `n` rows, column-major in the model's feature order,
/// missing values as NaN; free-text features (text models) beside it, their matrix column NaN.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    /// Number of rows.
    pub n: usize,
    /// `n × features` values, column-major.
    pub values: Vec<f64>,
    /// The text of each free-text feature: (feature position, one value per row), by position.
    pub texts: Vec<(usize, Vec<Option<String>>)>,
}

impl Rows {
    /// Numeric rows (no free text).
    pub fn numeric(n: usize, values: Vec<f64>) -> Rows {
        Rows {
            n,
            values,
            texts: Vec::new(),
        }
    }

    /// The request as the model's input `Dataset`: tabular features in the matrix, free-text
    /// features as text columns.
    pub fn into_dataset(
        self,
        features: &SharedFeatures,
    ) -> smelt_core::Result<smelt_core::Dataset<f64>> {
        if !features.iter().any(|f| f.ltype == LogicalType::Text) {
            return smelt_core::Dataset::with_features(self.n, self.values, features);
        }
        let n = self.n;
        let mut values = Vec::with_capacity(self.values.len());
        let mut tabular = Vec::new();
        let mut texts = Vec::new();
        let mut given = self.texts.into_iter().peekable();
        for (j, f) in features.iter().enumerate() {
            if f.ltype == LogicalType::Text {
                let column = match given.next_if(|(p, _)| *p == j) {
                    Some((_, v)) => v,
                    None => vec![None; n],
                };
                texts.push(smelt_core::TextColumn::new(f.name.clone(), column));
            } else {
                values.extend_from_slice(&self.values[j * n..(j + 1) * n]);
                tabular.push(f.clone());
            }
        }
        smelt_core::Dataset::new(n, values, tabular, None)?.with_texts(texts)
    }
}

/// A request the server refuses, with the message the client sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to do with a categorical value the model never saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unseen {
    /// Refuse the request (400), naming the feature, the value and the accepted ones.
    #[default]
    Error,
    /// Score it as a missing value (when the model accepts missing values).
    Missing,
}

enum Cell {
    Number,
    Integer,
    Bool,
    Datetime,
    Category(HashMap<String, u32>),
    /// Free text (kept as a string beside the matrix).
    Text,
}

/// How each of a model's features is read from a request.
pub struct Codec {
    names: Vec<String>,
    cells: Vec<Cell>,
    categories: Vec<Option<Vec<String>>>,
    index: HashMap<String, usize>,
    nullable: bool,
    unseen: Unseen,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("features", &self.names)
            .field("nullable", &self.nullable)
            .field("unseen", &self.unseen)
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// The codec for a model's input features.
    pub fn new(features: &[Feature], nullable: bool, unseen: Unseen) -> Codec {
        let cells = features
            .iter()
            .map(|f| match (&f.kind, f.ltype) {
                (FeatureKind::Categorical { categories }, _) => Cell::Category(
                    categories
                        .iter()
                        .enumerate()
                        .map(|(k, c)| (c.clone(), k as u32))
                        .collect(),
                ),
                (_, LogicalType::Integer) => Cell::Integer,
                (_, LogicalType::Boolean) => Cell::Bool,
                (_, LogicalType::Datetime) => Cell::Datetime,
                (_, LogicalType::Text) => Cell::Text,
                _ => Cell::Number,
            })
            .collect();
        Codec {
            names: features.iter().map(|f| f.name.clone()).collect(),
            cells,
            categories: features
                .iter()
                .map(|f| match &f.kind {
                    FeatureKind::Categorical { categories } => Some(categories.clone()),
                    FeatureKind::Numeric => None,
                })
                .collect(),
            index: features
                .iter()
                .enumerate()
                .map(|(j, f)| (f.name.clone(), j))
                .collect(),
            nullable,
            unseen,
        }
    }

    /// Number of features.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// Feature names in the model's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The position of a feature by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Whether feature `j` is free text.
    pub fn is_text(&self, j: usize) -> bool {
        matches!(self.cells[j], Cell::Text)
    }

    /// Whether any feature is free text.
    pub fn has_text(&self) -> bool {
        self.cells.iter().any(|c| matches!(c, Cell::Text))
    }

    /// A free-text value from JSON: a string, or `null` (missing).
    pub fn json_text(&self, j: usize, row: usize, v: &Value) -> Result<Option<String>, BadInput> {
        match v {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            _ => Err(self.wrong(j, row, &short(v))),
        }
    }

    /// Whether missing values are accepted.
    pub fn nullable(&self) -> bool {
        self.nullable
    }

    /// A missing value for feature `j` (an error when the model does not accept them).
    pub fn missing(&self, j: usize, row: usize) -> Result<f64, BadInput> {
        if self.nullable {
            Ok(f64::NAN)
        } else {
            Err(BadInput(format!(
                "row {row}, feature \"{}\": missing value, and this model does not accept missing values",
                self.names[j]
            )))
        }
    }

    /// A JSON value for feature `j` of row `row` (rows count from 0 in messages, as in the body).
    pub fn json(&self, j: usize, row: usize, v: &Value) -> Result<f64, BadInput> {
        match v {
            Value::Null => self.missing(j, row),
            Value::Number(n) => match n.as_f64() {
                Some(x) => self.number(j, row, x),
                None => Err(self.wrong(j, row, &v.to_string())),
            },
            Value::Bool(b) => match self.cells[j] {
                Cell::Bool | Cell::Number | Cell::Integer => Ok(f64::from(u8::from(*b))),
                Cell::Category(_) => self.category(j, row, if *b { "true" } else { "false" }),
                Cell::Datetime | Cell::Text => Err(self.wrong(j, row, &v.to_string())),
            },
            Value::String(s) => self.text(j, row, s),
            Value::Array(_) | Value::Object(_) => Err(self.wrong(j, row, &short(v))),
        }
    }

    /// A number for feature `j`.
    pub fn number(&self, j: usize, row: usize, x: f64) -> Result<f64, BadInput> {
        match &self.cells[j] {
            _ if x.is_nan() => self.missing(j, row),
            Cell::Text => Err(self.wrong(j, row, &x.to_string())),
            Cell::Number | Cell::Datetime => finite(self, j, row, x),
            Cell::Integer => {
                let x = finite(self, j, row, x)?;
                if x.fract() == 0.0 {
                    Ok(x)
                } else {
                    Err(BadInput(format!(
                        "row {row}, feature \"{}\": expected an integer, got {x}",
                        self.names[j]
                    )))
                }
            }
            Cell::Bool => {
                if x == 0.0 || x == 1.0 {
                    Ok(x)
                } else {
                    Err(BadInput(format!(
                        "row {row}, feature \"{}\": expected a boolean (true/false or 0/1), got {x}",
                        self.names[j]
                    )))
                }
            }
            Cell::Category(_) => self.category(j, row, &smelt_core::number_label(x)),
        }
    }

    /// A string for feature `j` (JSON strings, CSV cells, `BYTES` tensor elements).
    pub fn text(&self, j: usize, row: usize, s: &str) -> Result<f64, BadInput> {
        match &self.cells[j] {
            Cell::Category(_) => self.category(j, row, s),
            Cell::Datetime => parse_datetime(s).ok_or_else(|| {
                BadInput(format!(
                    "row {row}, feature \"{}\": expected a date-time (RFC 3339 such as \
                     2024-05-01T12:00:00Z, or 2024-05-01), got {s:?}",
                    self.names[j]
                ))
            }),
            Cell::Bool => match s.trim() {
                "true" | "True" | "TRUE" | "1" => Ok(1.0),
                "false" | "False" | "FALSE" | "0" => Ok(0.0),
                "" => self.missing(j, row),
                _ => Err(self.wrong(j, row, &format!("{s:?}"))),
            },
            Cell::Number | Cell::Integer => Err(self.wrong(j, row, &format!("{s:?}"))),
            // The string itself is kept by the decoder (`Filler::text`); the matrix cell is NaN.
            Cell::Text => Ok(f64::NAN),
        }
    }

    /// A CSV cell: empty is missing, numbers are parsed for numeric features.
    pub fn csv_cell(&self, j: usize, row: usize, s: &str) -> Result<f64, BadInput> {
        let t = s.trim();
        match &self.cells[j] {
            Cell::Number | Cell::Integer | Cell::Datetime if t.is_empty() => self.missing(j, row),
            Cell::Number | Cell::Integer => match t.parse::<f64>() {
                Ok(x) => self.number(j, row, x),
                Err(_) if is_nan_word(t) => self.missing(j, row),
                Err(_) => Err(self.wrong(j, row, &format!("{s:?}"))),
            },
            Cell::Datetime => match t.parse::<f64>() {
                Ok(x) => self.number(j, row, x),
                Err(_) => self.text(j, row, t),
            },
            Cell::Category(_) if t.is_empty() => self.missing(j, row),
            _ => self.text(j, row, t),
        }
    }

    fn category(&self, j: usize, row: usize, s: &str) -> Result<f64, BadInput> {
        let Cell::Category(map) = &self.cells[j] else {
            return Err(self.wrong(j, row, &format!("{s:?}")));
        };
        match map.get(s) {
            Some(&k) => Ok(f64::from(k)),
            // As in CSV files: an empty category is a missing value (BYTES tensors have no null).
            None if s.is_empty() => self.missing(j, row),
            None if self.unseen == Unseen::Missing => self.missing(j, row),
            None => {
                let known = self.categories[j].as_deref().unwrap_or_default();
                let shown: Vec<&str> = known.iter().take(12).map(String::as_str).collect();
                let more = if known.len() > 12 {
                    format!(", … ({} in all)", known.len())
                } else {
                    String::new()
                };
                let hint = smelt_core::text::closest(s, known)
                    .map(|c| format!("; did you mean {c:?}?"))
                    .unwrap_or_default();
                Err(BadInput(format!(
                    "row {row}, feature \"{}\": unseen category {s:?} (the model knows {}{more}){hint}",
                    self.names[j],
                    shown.join(", "),
                )))
            }
        }
    }

    fn wrong(&self, j: usize, row: usize, got: &str) -> BadInput {
        let expected = match &self.cells[j] {
            Cell::Number => "a number",
            Cell::Integer => "an integer",
            Cell::Bool => "a boolean",
            Cell::Datetime => "a date-time string or microseconds since 1970",
            Cell::Category(_) => "a category (string)",
            Cell::Text => "a text (string)",
        };
        BadInput(format!(
            "row {row}, feature \"{}\": expected {expected}, got {got}",
            self.names[j]
        ))
    }

    /// "missing feature" with a did-you-mean over the names the client sent.
    pub fn missing_feature<'a>(
        &self,
        j: usize,
        sent: impl Iterator<Item = &'a str>,
        where_: &str,
    ) -> BadInput {
        let sent: Vec<&str> = sent.collect();
        let unknown: Vec<String> = sent
            .iter()
            .filter(|s| self.position(s).is_none())
            .map(|s| s.to_string())
            .collect();
        // Every feature that is missing, not only the first, so one answer fixes the request.
        let missing: Vec<&str> = self
            .names
            .iter()
            .filter(|n| !sent.contains(&n.as_str()))
            .map(String::as_str)
            .collect();
        let missing = if missing.is_empty() {
            vec![self.names[j].as_str()]
        } else {
            missing
        };
        let hints: Vec<String> = missing
            .iter()
            .filter_map(|m| {
                smelt_core::text::closest(m, &unknown)
                    .map(|c| format!("did you mean to send {c:?} as \"{m}\"?"))
            })
            .collect();
        let hint = if hints.is_empty() {
            String::new()
        } else {
            format!("; {}", hints.join(" "))
        };
        let quoted: Vec<String> = missing
            .iter()
            .take(10)
            .map(|m| format!("\"{m}\""))
            .collect();
        let more = if missing.len() > 10 {
            format!(" and {} more", missing.len() - 10)
        } else {
            String::new()
        };
        BadInput(format!(
            "{where_}: missing feature{} {}{more} (the model needs {}){hint}",
            if missing.len() == 1 { "" } else { "s" },
            quoted.join(", "),
            self.names.join(", ")
        ))
    }
}

fn finite(codec: &Codec, j: usize, row: usize, x: f64) -> Result<f64, BadInput> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(BadInput(format!(
            "row {row}, feature \"{}\": {x} is not a finite number",
            codec.names[j]
        )))
    }
}

fn is_nan_word(s: &str) -> bool {
    matches!(s, "NaN" | "nan" | "NA" | "null" | "None")
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        let cut = (0..=40).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

/// RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (UTC) or `YYYY-MM-DD`, as microseconds since 1970.
fn parse_datetime(s: &str) -> Option<f64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros() as f64);
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_micros() as f64);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros() as f64)
}

/// JSON as Python's `json.dumps` writes it (what MLflow's and many clients send for pandas'
/// missing values): bare `NaN` becomes `null` (a missing value); `Infinity` and `-Infinity` become
/// strings, which a numeric feature then refuses by name. Bodies without those words are
/// returned as they are, without a copy.
pub fn lenient_json(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    // Built once: building a searcher per request was 0.25 % of `/predict`'s CPU.
    static NAN: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"NaN"));
    static INFINITY: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"Infinity"));
    if NAN.find(body).is_none() && INFINITY.find(body).is_none() {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        let rest = &body[i..];
        if c == b'"' {
            in_string = true;
            out.push(c);
            i += 1;
        } else if rest.starts_with(b"NaN") {
            out.extend_from_slice(b"null");
            i += 3;
        } else if rest.starts_with(b"-Infinity") {
            out.extend_from_slice(b"\"-Infinity\"");
            i += 9;
        } else if rest.starts_with(b"Infinity") {
            out.extend_from_slice(b"\"Infinity\"");
            i += 8;
        } else {
            out.push(c);
            i += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Fills a column-major matrix row by row (and the free-text features beside it).
pub(crate) struct Filler {
    n: usize,
    values: Vec<f64>,
    texts: std::collections::BTreeMap<usize, Vec<Option<String>>>,
}

impl Filler {
    pub(crate) fn new(n: usize, width: usize) -> Filler {
        Filler {
            n,
            values: vec![f64::NAN; n * width],
            texts: std::collections::BTreeMap::new(),
        }
    }

    pub(crate) fn set(&mut self, row: usize, j: usize, v: f64) {
        self.values[j * self.n + row] = v;
    }

    /// The text of free-text feature `j` in row `row`.
    pub(crate) fn text(&mut self, row: usize, j: usize, s: Option<String>) {
        let n = self.n;
        self.texts.entry(j).or_insert_with(|| vec![None; n])[row] = s;
    }

    /// A JSON value of feature `j`: a number or category into the matrix, a text beside it.
    pub(crate) fn json(
        &mut self,
        codec: &Codec,
        row: usize,
        j: usize,
        v: &Value,
    ) -> Result<(), BadInput> {
        if codec.is_text(j) {
            let s = codec.json_text(j, row, v)?;
            self.text(row, j, s);
        } else {
            self.set(row, j, codec.json(j, row, v)?);
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Rows {
        Rows {
            n: self.n,
            values: self.values,
            texts: self.texts.into_iter().collect(),
        }
    }
}

/// The codec the decoders' tests share: `x` (numeric), `c` (categories `a`, `b`), `y` (numeric),
/// missing values accepted.
#[cfg(test)]
pub(crate) fn test_codec() -> Codec {
    let num = |name: &str| Feature {
        name: name.into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    };
    let cat = Feature {
        name: "c".into(),
        ltype: LogicalType::Categorical,
        kind: FeatureKind::Categorical {
            categories: vec!["a".into(), "b".into()],
        },
    };
    Codec::new(&[num("x"), cat, num("y")], true, Unseen::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Vec<Feature> {
        vec![
            Feature {
                name: "age".into(),
                ltype: LogicalType::Integer,
                kind: FeatureKind::Numeric,
            },
            Feature {
                name: "colour".into(),
                ltype: LogicalType::Categorical,
                kind: FeatureKind::Categorical {
                    categories: vec!["blue".into(), "red".into()],
                },
            },
            Feature {
                name: "member".into(),
                ltype: LogicalType::Boolean,
                kind: FeatureKind::Numeric,
            },
            Feature {
                name: "when".into(),
                ltype: LogicalType::Datetime,
                kind: FeatureKind::Numeric,
            },
        ]
    }

    #[test]
    fn cells_by_type() {
        let c = Codec::new(&features(), true, Unseen::Error);
        assert_eq!(c.json(0, 0, &serde_json::json!(41)), Ok(41.0));
        assert_eq!(c.json(1, 0, &serde_json::json!("red")), Ok(1.0));
        assert_eq!(c.json(2, 0, &serde_json::json!(true)), Ok(1.0));
        assert_eq!(
            c.json(3, 0, &serde_json::json!("1970-01-01T00:00:01Z")),
            Ok(1e6)
        );
        assert_eq!(c.text(3, 0, "1970-01-02"), Ok(86_400e6));
        assert!(c.json(0, 0, &Value::Null).is_ok_and(f64::is_nan));
        assert_eq!(c.csv_cell(0, 0, " 7 "), Ok(7.0));
        assert!(c.csv_cell(0, 0, "").is_ok_and(f64::is_nan));
    }

    #[test]
    fn errors_name_row_feature_and_value() {
        let c = Codec::new(&features(), false, Unseen::Error);
        let e = c.json(1, 3, &serde_json::json!("rde")).unwrap_err().0;
        assert!(e.contains("row 3") && e.contains("\"colour\""), "{e}");
        assert!(e.contains("unseen category \"rde\""), "{e}");
        assert!(e.contains("did you mean \"red\""), "{e}");
        let e = c.json(0, 0, &serde_json::json!(41.5)).unwrap_err().0;
        assert!(e.contains("expected an integer, got 41.5"), "{e}");
        let e = c.json(0, 0, &serde_json::json!("forty")).unwrap_err().0;
        assert!(e.contains("expected an integer, got \"forty\""), "{e}");
        let e = c.json(0, 0, &Value::Null).unwrap_err().0;
        assert!(e.contains("does not accept missing values"), "{e}");
        let e = c.json(2, 0, &serde_json::json!(3)).unwrap_err().0;
        assert!(e.contains("expected a boolean"), "{e}");
        let e = c.json(0, 0, &serde_json::json!([1, 2])).unwrap_err().0;
        assert!(e.contains("got [1,2]"), "{e}");
    }

    #[test]
    fn python_json_words() {
        let body = br#"{"a": [NaN, 1.5, -Infinity], "s": "NaN stays"}"#;
        let v: Value = serde_json::from_slice(&lenient_json(body)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": [null, 1.5, "-Infinity"], "s": "NaN stays"})
        );
        assert!(matches!(
            lenient_json(b"[1]"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn unseen_as_missing() {
        let c = Codec::new(&features(), true, Unseen::Missing);
        assert!(
            c.json(1, 0, &serde_json::json!("green"))
                .is_ok_and(f64::is_nan)
        );
    }
}
