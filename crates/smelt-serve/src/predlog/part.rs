//! The rows of one future file, as columns, and the table they become (see the module docs of
//! [`super`] for the columns).

use std::sync::Arc;
use std::time::Instant;

use smelt_core::{FeatureKind, LogicalType, Prediction};
use smelt_data::polars::prelude::{
    Column, DataFrame, Int64Chunked, IntoColumn, NamedFrom, PlSmallStr, PolarsError, Series,
    TimeUnit, TimeZone,
};

use super::{Entry, VersionInfo};

/// What the rows of one request share.
struct Request {
    id: String,
    time_us: i64,
    protocol: &'static str,
    latency_us: u64,
    n: u32,
}

/// The output columns.
enum Output {
    Regression(Vec<f64>),
    Classification {
        classes: Vec<String>,
        labels: Vec<u32>,
        /// One column per class.
        proba: Option<Vec<Vec<f64>>>,
    },
    Clustering(Vec<i64>),
    /// Vectors of `dim` values, row-major.
    Embedding {
        dim: usize,
        values: Vec<f32>,
    },
}

/// The rows of one future file.
pub(super) struct Part {
    /// The model version.
    pub(super) info: Arc<VersionInfo>,
    /// UTC day of its rows (days since 1970).
    day: i64,
    /// When its first row came.
    pub(super) opened: Instant,
    requests: Vec<Request>,
    /// Rows so far.
    pub(super) rows: usize,
    /// One column per feature.
    features: Vec<Vec<f64>>,
    /// The free-text features' values (empty for the others), in row order.
    texts: Vec<Vec<Option<String>>>,
    output: Output,
}

impl Output {
    fn empty(p: &Prediction) -> Output {
        match p {
            Prediction::Regression { .. } => Output::Regression(Vec::new()),
            Prediction::Classification { classes, proba, .. } => Output::Classification {
                classes: classes.clone(),
                labels: Vec::new(),
                proba: proba.as_ref().map(|_| vec![Vec::new(); classes.len()]),
            },
            Prediction::Clustering { .. } => Output::Clustering(Vec::new()),
            Prediction::Embedding { dim, .. } => Output::Embedding {
                dim: *dim,
                values: Vec::new(),
            },
        }
    }

    /// Whether `p` has this output's columns.
    fn fits(&self, p: &Prediction) -> bool {
        match (self, p) {
            (Output::Regression(_), Prediction::Regression { .. })
            | (Output::Clustering(_), Prediction::Clustering { .. }) => true,
            (
                Output::Classification { classes, proba, .. },
                Prediction::Classification {
                    classes: c,
                    proba: p,
                    ..
                },
            ) => classes == c && proba.is_some() == p.is_some(),
            (Output::Embedding { dim, .. }, Prediction::Embedding { dim: d, .. }) => dim == d,
            _ => false,
        }
    }

    fn push(&mut self, p: Prediction) {
        match (self, p) {
            (Output::Regression(v), Prediction::Regression { values }) => v.extend(values),
            (Output::Clustering(v), Prediction::Clustering { labels }) => v.extend(labels),
            (Output::Embedding { values, .. }, Prediction::Embedding { values: p, .. }) => {
                values.extend(p);
            }
            (
                Output::Classification { labels, proba, .. },
                Prediction::Classification {
                    labels: l,
                    proba: p,
                    ..
                },
            ) => {
                labels.extend(l);
                if let (Some(cols), Some(p)) = (proba, p) {
                    let k = p.n_classes;
                    for (c, col) in cols.iter_mut().enumerate() {
                        col.extend(p.values.iter().skip(c).step_by(k.max(1)));
                    }
                }
            }
            // `fits` was checked first.
            _ => {}
        }
    }

    fn columns(&self) -> Vec<String> {
        match self {
            Output::Classification {
                classes,
                proba: Some(_),
                ..
            } => classes.iter().map(|c| format!("proba_{c}")).collect(),
            _ => Vec::new(),
        }
    }
}

impl Part {
    pub(super) fn new(e: &Entry, day: i64) -> Part {
        Part {
            info: e.version.clone(),
            day,
            opened: Instant::now(),
            requests: Vec::new(),
            rows: 0,
            features: vec![Vec::new(); e.version.features.len()],
            texts: vec![Vec::new(); e.version.features.len()],
            output: Output::empty(&e.prediction),
        }
    }

    /// Whether `e` goes into this file: same day, same inputs, same outputs.
    pub(super) fn fits(&self, e: &Entry, day: i64) -> bool {
        day == self.day
            && (Arc::ptr_eq(&self.info, &e.version) || self.info.features == e.version.features)
            && self.output.fits(&e.prediction)
    }

    pub(super) fn push(&mut self, e: Entry, time_us: i64) {
        let n = e.rows.n;
        for (j, col) in self.features.iter_mut().enumerate() {
            col.extend_from_slice(&e.rows.values[j * n..(j + 1) * n]);
        }
        for (j, f) in self.info.features.iter().enumerate() {
            if f.ltype == LogicalType::Text {
                match e.rows.texts.iter().find(|(p, _)| *p == j) {
                    Some((_, v)) => self.texts[j].extend(v.iter().cloned()),
                    None => self.texts[j].extend(std::iter::repeat_n(None, n)),
                }
            }
        }
        self.output.push(e.prediction);
        self.requests.push(Request {
            id: e.request_id,
            time_us,
            protocol: e.protocol,
            latency_us: e.latency_us,
            n: n as u32,
        });
        self.rows += n;
    }

    /// The file's frame (see the module docs for the columns).
    /// Time of the first row, µs since 1970.
    pub(super) fn first_time_us(&self) -> i64 {
        self.requests.first().map_or(0, |r| r.time_us)
    }

    pub(super) fn frame(self) -> Result<DataFrame, PolarsError> {
        let n = self.rows;
        let mut ids = Vec::with_capacity(n);
        let mut times = Vec::with_capacity(n);
        let mut protocols = Vec::with_capacity(n);
        let mut latencies = Vec::with_capacity(n);
        let mut row = Vec::with_capacity(n);
        for r in &self.requests {
            for i in 0..r.n {
                ids.push(r.id.as_str());
                times.push(r.time_us);
                protocols.push(r.protocol);
                latencies.push(r.latency_us);
                row.push(i);
            }
        }
        let info = &self.info;
        let mut cols = vec![
            Column::new("request_id".into(), ids),
            Int64Chunked::from_vec("time".into(), times)
                .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                .into_column(),
            Column::new("model".into(), vec![info.model.as_str(); n]),
            Column::new("version".into(), vec![info.version.as_str(); n]),
            Column::new("protocol".into(), protocols),
            Column::new("latency_us".into(), latencies),
            Column::new("row".into(), row),
        ];
        let proba_names = self.output.columns();
        let names = feature_names(info, &proba_names);
        for (j, ((f, values), name)) in info
            .features
            .iter()
            .zip(&self.features)
            .zip(names)
            .enumerate()
        {
            let name = name.into();
            let present = |x: f64| (!x.is_nan()).then_some(x);
            cols.push(match (&f.kind, f.ltype) {
                (_, LogicalType::Text) => {
                    let v: Vec<Option<&str>> = self.texts[j].iter().map(|t| t.as_deref()).collect();
                    Column::new(name, v)
                }
                (FeatureKind::Categorical { categories }, _) => {
                    let v: Vec<Option<&str>> = values
                        .iter()
                        .map(|&x| {
                            let code = present(x).filter(|c| *c >= 0.0)?;
                            categories.get(code as usize).map(String::as_str)
                        })
                        .collect();
                    Column::new(name, v)
                }
                (_, LogicalType::Integer) => {
                    let v: Vec<Option<i64>> = values
                        .iter()
                        .map(|&x| present(x).map(|x| x.round() as i64))
                        .collect();
                    Column::new(name, v)
                }
                (_, LogicalType::Boolean) => {
                    let v: Vec<Option<bool>> = values
                        .iter()
                        .map(|&x| present(x).map(|x| x != 0.0))
                        .collect();
                    Column::new(name, v)
                }
                (_, LogicalType::Datetime) => {
                    let v: Vec<Option<i64>> = values
                        .iter()
                        .map(|&x| present(x).map(|x| x.round() as i64))
                        .collect();
                    Int64Chunked::new(name, &v)
                        .into_datetime(TimeUnit::Microseconds, None)
                        .into_column()
                }
                _ => {
                    let v: Vec<Option<f64>> = values.iter().map(|&x| present(x)).collect();
                    Column::new(name, v)
                }
            });
        }
        match self.output {
            Output::Regression(v) => cols.push(Column::new("prediction".into(), v)),
            Output::Clustering(v) => cols.push(Column::new("prediction".into(), v)),
            // One list of f32 per row.
            Output::Embedding { dim, values } => {
                let rows: Vec<Series> = values
                    .chunks_exact(dim.max(1))
                    .map(|r| Series::new(PlSmallStr::EMPTY, r))
                    .collect();
                cols.push(Column::new("prediction".into(), rows));
            }
            Output::Classification {
                classes,
                labels,
                proba,
            } => {
                let v: Vec<&str> = labels
                    .iter()
                    .map(|&l| classes[l as usize].as_str())
                    .collect();
                cols.push(Column::new("prediction".into(), v));
                for (col, name) in proba.into_iter().flatten().zip(proba_names) {
                    cols.push(Column::new(name.into(), col));
                }
            }
        }
        DataFrame::new(n, cols)
    }
}

/// Feature column names: a feature's own, unless a fixed or output column has it.
fn feature_names(info: &VersionInfo, proba: &[String]) -> Vec<String> {
    let names: Vec<&str> = info.features.iter().map(|f| f.name.as_str()).collect();
    smelt_core::predlog::feature_columns(&names, proba)
}
