//! The statistics behind `smelt data inspect`, computed in one pass over batches.
//!
//! Each column has an accumulator fed batch by batch: counts, missing values, min/max,
//! mean and standard deviation (Welford, in `f64`), distinct values and top categories (exact
//! up to [`ProfileOptions::max_distinct`] distinct values), text lengths, datetime ranges, and
//! quantiles from a sample of at most [`ProfileOptions::quantile_sample`] values per column —
//! exact (linear interpolation, as pandas' `describe`) while the column has no more values than
//! that, a uniform reservoir sample beyond. The fingerprint is computed in the same pass.
//!
//! A file that fits comfortably in memory is read at once and its columns profiled in
//! parallel; a larger one is streamed through polars' streaming engine in batches, so memory
//! stays bounded by the accumulators, not the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use smelt_core::{LogicalType, Role, Schema};

use crate::LoadOptions;
use crate::error::{DataError, Result, owned};
use crate::fingerprint::Fingerprinter;
use crate::infer::{infer_schema, normalize};
use crate::read::{Format, check_path, read, scan};
use smelt_core::rng::SplitMix64;

/// Knobs of a profile.
#[derive(Clone, Debug)]
pub struct ProfileOptions {
    /// Values kept per column for quantiles (exact up to this many rows).
    pub quantile_sample: usize,
    /// Most frequent values reported for categorical, boolean and text columns.
    pub top_k: usize,
    /// Distinct values tracked exactly per column.
    pub max_distinct: usize,
    /// Stream the file in batches instead of reading it at once: `None` decides by file size
    /// (streams files over [`ProfileOptions::stream_above_bytes`]).
    pub streaming: Option<bool>,
    /// Size above which a file is streamed (default 2 GiB).
    pub stream_above_bytes: u64,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            quantile_sample: 1_000_000,
            top_k: 5,
            max_distinct: 100_000,
            streaming: None,
            stream_above_bytes: 2 << 30,
        }
    }
}

/// Summary of a numeric, integer or boolean column.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NumericSummary {
    /// Smallest value.
    pub min: f64,
    /// 25th percentile.
    pub q25: f64,
    /// Median.
    pub q50: f64,
    /// 75th percentile.
    pub q75: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1), as pandas.
    pub std: f64,
}

/// Statistics of one column.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub ltype: LogicalType,
    /// Role.
    pub role: Role,
    /// Physical dtype in the file, as polars reads it.
    pub dtype: String,
    /// Non-missing values.
    pub count: u64,
    /// Missing values (nulls, and NaN in float columns).
    pub missing: u64,
    /// Distinct non-missing values (a lower bound when `distinct_exact` is false).
    pub distinct: u64,
    /// Whether `distinct` is exact.
    pub distinct_exact: bool,
    /// Numeric summary, for numeric, integer and boolean columns with values.
    pub numeric: Option<NumericSummary>,
    /// Most frequent values with their counts, for categorical, boolean and text columns.
    pub top: Vec<(String, u64)>,
    /// Earliest and latest value (ISO 8601), for datetime columns.
    pub range: Option<(String, String)>,
    /// Mean and maximum length in characters, for text columns.
    pub text_length: Option<(f64, u64)>,
}

/// The profile of a table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Its size in bytes.
    pub file_bytes: u64,
    /// Data rows.
    pub rows: u64,
    /// Per-column statistics, in table order.
    pub columns: Vec<ColumnProfile>,
    /// Whether all quantiles are exact (false when a column was sampled).
    pub quantiles_exact: bool,
    /// Whether the file was streamed in batches.
    pub streamed: bool,
    /// Dataset fingerprint (BLAKE3, hex).
    pub fingerprint: String,
    /// The inferred schema.
    pub schema: Schema,
}

struct Acc {
    ltype: LogicalType,
    count: u64,
    missing: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    sample: Vec<f64>,
    seen_for_sample: u64,
    rng: SplitMix64,
    counts: HashMap<String, u64>,
    hashes: std::collections::HashSet<u64>,
    distinct_overflow: bool,
    text_len_sum: u64,
    text_len_max: u64,
}

impl Acc {
    fn new(ltype: LogicalType, seed: u64) -> Self {
        Acc {
            ltype,
            count: 0,
            missing: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sample: Vec::new(),
            seen_for_sample: 0,
            rng: SplitMix64::new(seed),
            counts: HashMap::new(),
            hashes: Default::default(),
            distinct_overflow: false,
            text_len_sum: 0,
            text_len_max: 0,
        }
    }

    fn push_number(&mut self, v: f64, opts: &ProfileOptions) {
        self.count += 1;
        let d = v - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (v - self.mean);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.seen_for_sample += 1;
        if self.sample.len() < opts.quantile_sample {
            self.sample.push(v);
        } else {
            let j = self.rng.below(self.seen_for_sample as usize);
            if j < opts.quantile_sample {
                self.sample[j] = v;
            }
        }
        if !self.distinct_overflow {
            self.hashes.insert(v.to_bits());
            if self.hashes.len() > opts.max_distinct {
                self.distinct_overflow = true;
            }
        }
    }

    fn push_str(&mut self, v: &str, opts: &ProfileOptions) {
        self.count += 1;
        if self.ltype == LogicalType::Text {
            let n = v.chars().count() as u64;
            self.text_len_sum += n;
            self.text_len_max = self.text_len_max.max(n);
        }
        if let Some(c) = self.counts.get_mut(v) {
            *c += 1;
        } else if self.counts.len() < opts.max_distinct {
            self.counts.insert(v.to_string(), 1);
        } else {
            self.distinct_overflow = true;
        }
    }

    fn update(&mut self, s: &Series, opts: &ProfileOptions) -> PolarsResult<()> {
        match self.ltype {
            LogicalType::Categorical | LogicalType::Text => {
                let st = s.cast(&DataType::String)?;
                for v in st.str()?.iter() {
                    match v {
                        Some(v) => self.push_str(v, opts),
                        None => self.missing += 1,
                    }
                }
            }
            LogicalType::Boolean => {
                for v in s.bool()?.iter() {
                    match v {
                        Some(b) => {
                            self.push_str(if b { "true" } else { "false" }, opts);
                            self.count -= 1;
                            self.push_number(f64::from(u8::from(b)), opts);
                        }
                        None => self.missing += 1,
                    }
                }
            }
            _ => {
                let phys = s.to_physical_repr();
                let f = phys.cast(&DataType::Float64)?;
                for v in f.f64()?.iter() {
                    match v {
                        Some(x) if !x.is_nan() => self.push_number(x, opts),
                        _ => self.missing += 1,
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(
        mut self,
        name: String,
        role: Role,
        dtype: String,
        opts: &ProfileOptions,
    ) -> (ColumnProfile, bool) {
        let exact_quantiles = self.seen_for_sample as usize <= opts.quantile_sample;
        let numeric_like = matches!(
            self.ltype,
            LogicalType::Numeric | LogicalType::Integer | LogicalType::Boolean
        );
        let numeric = (numeric_like && self.count > 0).then(|| {
            let q = |p: f64, s: &mut Vec<f64>| quantile(s, p);
            NumericSummary {
                min: self.min,
                q25: q(0.25, &mut self.sample),
                q50: q(0.5, &mut self.sample),
                q75: q(0.75, &mut self.sample),
                max: self.max,
                mean: self.mean,
                std: if self.count > 1 {
                    (self.m2 / (self.count - 1) as f64).sqrt()
                } else {
                    f64::NAN
                },
            }
        });
        let range = (self.ltype == LogicalType::Datetime && self.count > 0)
            .then(|| (iso_micros(self.min as i64), iso_micros(self.max as i64)));
        let mut top: Vec<(String, u64)> = self.counts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let distinct = if top.is_empty() {
            self.hashes.len()
        } else {
            top.len()
        } as u64;
        top.truncate(if self.ltype == LogicalType::Text {
            3
        } else {
            opts.top_k
        });
        let text_length = (self.ltype == LogicalType::Text && self.count > 0).then(|| {
            (
                self.text_len_sum as f64 / self.count as f64,
                self.text_len_max,
            )
        });
        (
            ColumnProfile {
                name,
                ltype: self.ltype,
                role,
                dtype,
                count: self.count,
                missing: self.missing,
                distinct,
                distinct_exact: !self.distinct_overflow,
                numeric,
                top,
                range,
                text_length,
            },
            exact_quantiles || !numeric_like,
        )
    }
}

/// Quantile with linear interpolation between closest ranks (numpy's default), by selection.
fn quantile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = p * (v.len() - 1) as f64;
    let k = pos.floor() as usize;
    let frac = pos - k as f64;
    let (_, &mut lo, right) = v.select_nth_unstable_by(k, f64::total_cmp);
    if frac == 0.0 || right.is_empty() {
        return lo;
    }
    let hi = right.iter().copied().fold(f64::INFINITY, f64::min);
    lo + (hi - lo) * frac
}

/// Formats µs since the epoch as ISO 8601 (UTC).
pub fn iso_micros(us: i64) -> String {
    let days = us.div_euclid(86_400_000_000);
    let rem = us.rem_euclid(86_400_000_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if rem == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}")
    }
}

struct State {
    accs: Vec<Acc>,
    fp: Fingerprinter,
    rows: u64,
    error: Option<DataError>,
}

impl State {
    fn new(schema: &Schema) -> Self {
        State {
            accs: schema
                .columns()
                .iter()
                .enumerate()
                .map(|(i, c)| Acc::new(c.ltype, i as u64))
                .collect(),
            fp: Fingerprinter::new(schema),
            rows: 0,
            error: None,
        }
    }

    fn update(&mut self, batch: &DataFrame, opts: &ProfileOptions, path: &Path) -> Result<()> {
        self.accs
            .par_iter_mut()
            .zip(batch.columns().par_iter())
            .try_for_each(|(a, c)| a.update(c.as_materialized_series(), opts))
            .map_err(|e| DataError::Polars {
                path: owned(path),
                source: e,
            })?;
        self.fp.update(batch, path)?;
        self.rows += batch.height() as u64;
        Ok(())
    }
}

/// Profiles a file. `progress` is called with the number of rows processed so far (streaming
/// reads call it once per batch).
pub fn profile_file(
    path: &Path,
    load: &LoadOptions,
    opts: &ProfileOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Profile> {
    let file_bytes = check_path(path)?;
    let format = load.read.format_of(path)?;
    let streamed = opts
        .streaming
        .unwrap_or(file_bytes > opts.stream_above_bytes);
    let (schema, dtypes, state) = if !streamed {
        let df = read(path, &load.read)?;
        let dtypes: Vec<String> = df.columns().iter().map(|c| c.dtype().to_string()).collect();
        let schema = infer_schema(&df, &load.schema, &load.infer, path)?;
        let df = normalize(df, &schema, path)?;
        let mut state = State::new(&schema);
        state.update(&df, opts, path)?;
        progress(state.rows);
        (schema, dtypes, state)
    } else {
        let lf = scan(path, &load.read)?;
        let head = crate::quiet_panics(|| {
            lf.clone()
                .limit(load.infer.sample_rows as IdxSize)
                .collect()
        })
        .map_err(|m| DataError::Corrupt {
            path: owned(path),
            format: format.name(),
            message: m,
        })?
        .map_err(|e| DataError::Polars {
            path: owned(path),
            source: e,
        })?;
        if head.height() == 0 {
            return Err(DataError::NoRows { path: owned(path) });
        }
        let dtypes: Vec<String> = head
            .columns()
            .iter()
            .map(|c| c.dtype().to_string())
            .collect();
        let schema = infer_schema(&head, &load.schema, &load.infer, path)?;
        drop(head);
        let shared = Arc::new(Mutex::new(State::new(&schema)));
        let cb_state = Arc::clone(&shared);
        let cb_schema = schema.clone();
        let cb_opts = opts.clone();
        let cb_path = path.to_path_buf();
        let progress_rows = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cb_rows = Arc::clone(&progress_rows);
        let callback = PlanCallback::new(move |batch: DataFrame| -> PolarsResult<bool> {
            let mut st = cb_state
                .lock()
                .map_err(|_| polars_err!(ComputeError: "profile state poisoned"))?;
            if st.error.is_some() {
                return Ok(true);
            }
            let res = normalize(batch, &cb_schema, &cb_path)
                .and_then(|b| st.update(&b, &cb_opts, &cb_path));
            if let Err(e) = res {
                st.error = Some(e);
                return Ok(true); // stop
            }
            cb_rows.store(st.rows, std::sync::atomic::Ordering::Relaxed);
            Ok(false)
        });
        let run = crate::quiet_panics(|| -> PolarsResult<()> {
            lf.sink_batches(callback, true, None)?
                .collect_with_engine(Engine::Streaming)?;
            Ok(())
        });
        match run {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(DataError::Polars {
                    path: owned(path),
                    source: e,
                });
            }
            Err(m) => {
                return Err(DataError::Corrupt {
                    path: owned(path),
                    format: format.name(),
                    message: m,
                });
            }
        }
        progress(progress_rows.load(std::sync::atomic::Ordering::Relaxed));
        let mut st = Arc::try_unwrap(shared)
            .map_err(|_| DataError::Invalid("streaming profile still in use".into()))?
            .into_inner()
            .map_err(|_| DataError::Invalid("streaming profile state poisoned".into()))?;
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        if st.rows == 0 {
            return Err(DataError::NoRows { path: owned(path) });
        }
        (schema, dtypes, st)
    };
    let State { accs, fp, rows, .. } = state;
    let mut quantiles_exact = true;
    let columns = accs
        .into_iter()
        .zip(schema.columns())
        .zip(dtypes)
        .map(|((a, c), dtype)| {
            let (p, exact) = a.finish(c.name.clone(), c.role, dtype, opts);
            quantiles_exact &= exact;
            p
        })
        .collect();
    Ok(Profile {
        path: owned(path),
        format,
        file_bytes,
        rows,
        columns,
        quantiles_exact,
        streamed,
        fingerprint: fp.finish(),
        schema,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        let mut v: Vec<f64> = vec![7.0, 1.0, 3.0, 5.0];
        // numpy.percentile([1,3,5,7], [25, 50, 75]) == [2.5, 4.0, 5.5]
        assert_eq!(quantile(&mut v, 0.25), 2.5);
        assert_eq!(quantile(&mut v, 0.5), 4.0);
        assert_eq!(quantile(&mut v, 0.75), 5.5);
        assert_eq!(quantile(&mut [2.0], 0.5), 2.0);
        assert!(quantile(&mut [], 0.5).is_nan());
    }

    #[test]
    fn iso_formatting_round_trips() {
        for s in [
            "1970-01-01",
            "2013-01-01T05:00:00",
            "1958-03-29",
            "2018-10-30T12:34:56.250000",
        ] {
            let us = crate::infer::parse_datetime(s).unwrap();
            assert_eq!(iso_micros(us), s);
        }
    }

    #[test]
    fn reservoir_sample_is_bounded_and_flags_inexact() {
        let opts = ProfileOptions {
            quantile_sample: 100,
            ..Default::default()
        };
        let mut a = Acc::new(LogicalType::Numeric, 1);
        let s = Series::new("x".into(), (0..10_000).map(f64::from).collect::<Vec<_>>());
        a.update(&s, &opts).unwrap();
        assert_eq!(a.sample.len(), 100);
        let (p, exact) = a.finish("x".into(), Role::Feature, "f64".into(), &opts);
        assert!(!exact);
        let n = p.numeric.unwrap();
        assert_eq!((n.min, n.max, n.mean), (0.0, 9999.0, 4999.5));
        assert!((n.q50 - 5000.0).abs() < 1500.0, "{}", n.q50);
    }
}
