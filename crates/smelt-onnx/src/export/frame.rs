//! The table as the graph sees it between steps: named columns, each a column of a `double`
//! tensor or the codes of a categorical input, and the helpers that gather them into matrices.
//!
//! **Categorical columns** keep one code tensor (`int64`, `[N, 1]`) per graph input from the
//! first node to the last, whatever step they pass through: code 0 is a label no step knows
//! ([`UNSEEN`]), 1 is missing ([`MISSING`]) and `2 + i` is label `i` of the input's *universe*,
//! every label any step of the pipeline names for that column. A step that reads categories
//! (an encoder, a tree split) does so by label through a lookup table indexed by the code, so
//! Smelt's matching of categories by label (`Dataset::conform`) holds across steps without
//! re-coding anything.

use smelt_core::{Feature, FeatureKind};

use super::graph::{Graph, int, ints, strings};
use crate::error::{OnnxError, Result};
use crate::pb::tensor_proto::DataType;

/// Code of a label that is not in the input's universe.
pub(crate) const UNSEEN: i64 = 0;
/// Code of a missing value (the empty string).
pub(crate) const MISSING: i64 = 1;

/// Column `col` of the `double` tensor `tensor` (shape `[N, width]`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NumCol {
    pub(crate) tensor: String,
    pub(crate) col: usize,
    pub(crate) width: usize,
}

/// What a column holds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// Numbers (NaN: missing).
    Num(NumCol),
    /// Codes of categorical input `cat` (see the module docs), in tensor `code`.
    Cat { cat: usize, code: String },
}

/// A named column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) value: Value,
}

/// The columns after a step, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Frame {
    pub(crate) cols: Vec<Column>,
}

impl Frame {
    /// The columns `features` names, in that order, checking that each has the kind the step
    /// expects (`step` names it in errors).
    pub(crate) fn select(&self, features: &[Feature], step: &str) -> Result<Frame> {
        let mut cols = Vec::with_capacity(features.len());
        for f in features {
            let c = self.cols.iter().find(|c| c.name == f.name).ok_or_else(|| {
                OnnxError::Export(format!(
                    "{step} reads column `{}`, which no earlier step writes",
                    f.name
                ))
            })?;
            let fits = matches!(
                (&f.kind, &c.value),
                (FeatureKind::Numeric, Value::Num(_))
                    | (FeatureKind::Categorical { .. }, Value::Cat { .. })
            );
            if !fits {
                return Err(OnnxError::Export(format!(
                    "{step} reads column `{}` as {}, but the previous step writes it as {}",
                    f.name,
                    kind_name(&f.kind),
                    match c.value {
                        Value::Num(_) => "numbers",
                        Value::Cat { .. } => "categories",
                    }
                )));
            }
            cols.push(c.clone());
        }
        Ok(Frame { cols })
    }

    /// The numeric columns (all of them, or an error naming the first categorical one).
    pub(crate) fn numeric(&self, step: &str) -> Result<Vec<NumCol>> {
        self.cols
            .iter()
            .map(|c| match &c.value {
                Value::Num(n) => Ok(n.clone()),
                Value::Cat { .. } => Err(OnnxError::Export(format!(
                    "{step} needs numbers, but column `{}` is categorical",
                    c.name
                ))),
            })
            .collect()
    }
}

fn kind_name(k: &FeatureKind) -> &'static str {
    match k {
        FeatureKind::Numeric => "numbers",
        FeatureKind::Categorical { .. } => "categories",
    }
}

/// A categorical graph input's label universe.
#[derive(Clone, Debug)]
pub(crate) struct CatInput {
    pub(crate) labels: Vec<String>,
}

/// The graph and the categorical inputs' universes.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) g: Graph,
    pub(crate) cats: Vec<CatInput>,
}

impl Ctx {
    /// Adds categorical input `name` with label universe `labels` and returns its column: a
    /// `LabelEncoder` from the text to the codes of the module docs. The empty string is
    /// missing unless it is one of the labels.
    pub(crate) fn categorical_input(&mut self, name: &str, labels: Vec<String>) -> Value {
        let mut keys = labels.clone();
        let mut values: Vec<i64> = (0..labels.len() as i64).map(|i| i + 2).collect();
        if !labels.iter().any(String::is_empty) {
            keys.push(String::new());
            values.push(MISSING);
        }
        let code = self.g.ml_op(
            "LabelEncoder",
            &[name],
            vec![
                strings("keys_strings", &keys),
                ints("values_int64s", values),
                int("default_int64", UNSEEN),
            ],
        );
        let cat = self.cats.len();
        self.cats.push(CatInput { labels });
        Value::Cat { cat, code }
    }

    /// The code of `label` in input `cat`'s universe ([`UNSEEN`] when absent).
    pub(crate) fn code_of(&self, cat: usize, label: &str) -> i64 {
        self.cats[cat]
            .labels
            .iter()
            .position(|l| l == label)
            .map_or(UNSEEN, |i| i as i64 + 2)
    }

    /// Number of codes of input `cat` (rows of its lookup tables).
    pub(crate) fn n_codes(&self, cat: usize) -> usize {
        self.cats[cat].labels.len() + 2
    }

    /// A `[N, width]` `double` tensor: row `code` of `table` (`n_codes × width`, row-major) for
    /// each row's code of input `cat`.
    pub(crate) fn lookup(&mut self, cat: usize, code: &str, table: &[f64], width: usize) -> String {
        let n = self.n_codes(cat);
        let t = self.g.f64s("table", &[n, width], table);
        let gathered = self.g.op("Gather", &[&t, code], vec![int("axis", 0)]);
        self.g.reshape(&gathered, &[-1, width as i64])
    }

    /// The columns `cols` as one `[N, len]` `double` tensor: runs of adjacent columns of one
    /// tensor are taken whole or sliced, and the runs concatenated.
    pub(crate) fn block(&mut self, cols: &[NumCol]) -> Result<String> {
        if cols.is_empty() {
            return Err(OnnxError::Export(
                "a step reads no numeric column (nothing to put in a matrix)".into(),
            ));
        }
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < cols.len() {
            let first = &cols[i];
            let mut end = i + 1;
            while end < cols.len()
                && cols[end].tensor == first.tensor
                && cols[end].col == first.col + (end - i)
            {
                end += 1;
            }
            let (start, stop) = (first.col, first.col + (end - i));
            if start == 0 && stop == first.width {
                parts.push(first.tensor.clone());
            } else {
                let s = self.g.i64s("starts", &[1], &[start as i64]);
                let e = self.g.i64s("ends", &[1], &[stop as i64]);
                let a = self.g.i64s("axes", &[1], &[1]);
                parts.push(self.g.op("Slice", &[&first.tensor, &s, &e, &a], vec![]));
            }
            i = end;
        }
        if parts.len() == 1 {
            return Ok(parts.remove(0));
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        Ok(self.g.op("Concat", &refs, vec![int("axis", 1)]))
    }

    /// `x` (`double`) rounded to `float` and back: what a model that reads its features as
    /// `f32` sees.
    pub(crate) fn round_f32(&mut self, x: &str) -> String {
        let f = self.g.cast(x, DataType::Float);
        self.g.cast(&f, DataType::Double)
    }
}

/// The columns of a `[N, width]` tensor, named `names`.
pub(crate) fn columns_of(tensor: &str, names: impl IntoIterator<Item = String>) -> Vec<Column> {
    let names: Vec<String> = names.into_iter().collect();
    let width = names.len();
    names
        .into_iter()
        .enumerate()
        .map(|(col, name)| Column {
            name,
            value: Value::Num(NumCol {
                tensor: tensor.to_string(),
                col,
                width,
            }),
        })
        .collect()
}
