//! The seasonal-naive forecast: the value one season earlier — the baseline a forecasting
//! model must beat (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, §5.2).
//!
//! It reads the lag columns `smelt data window` writes (`{target}_lag{k}`: `k` steps before
//! the latest known value, which is `horizon` steps before the target). For a season `m` and
//! horizon `H` it predicts `ŷ_s = y_{s − m·⌈H/m⌉}`, the latest value of the same phase known
//! at forecast time: the column `{target}_lag{m·⌈H/m⌉ − H + 1}`. With `season = 1` that is
//! `{target}_lag1`, the naive (persistence) forecast. Nothing is learned; a missing value in
//! that column falls back to the same phase one season further back, then to the latest
//! known value of any lag.

use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, finite_regression_target};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result, UnknownCategory,
};

smelt_core::params! {
    /// Parameters of [`SeasonalNaive`].
    pub struct SeasonalNaiveParams("SeasonalNaive") {
        /// Steps per season, the lag whose value is repeated (12 for monthly data with a
        /// yearly cycle, 48 for half-hourly data with a daily one), `>= 1`; default 1, the
        /// naive forecast.
        season: usize = 1, range: at_least_int(1), aliases: ["m", "period"];
        /// Steps ahead the windows forecast (`smelt data window --horizon`), `>= 1`;
        /// default 1.
        horizon: usize = 1, range: at_least_int(1);
    }
}

/// A fitted seasonal-naive forecast (the columns it reads).
#[derive(Clone, Debug, PartialEq)]
pub struct SeasonalNaive {
    params: SeasonalNaiveParams,
    input: Vec<Feature>,
    target: String,
}

impl SeasonalNaiveParams {
    /// The lag column holding the value one season before the target.
    fn lag(&self) -> usize {
        let (m, h) = (self.season.max(1), self.horizon.max(1));
        m * h.div_ceil(m) - h + 1
    }
}

/// `("y", 3)` for `y_lag3`.
fn parse_lag(name: &str) -> Option<(&str, usize)> {
    let at = name.rfind("_lag")?;
    let k: usize = name[at + 4..].parse().ok()?;
    (at > 0 && k >= 1).then_some((&name[..at], k))
}

impl Fit for SeasonalNaiveParams {
    type Model = SeasonalNaive;

    fn name(&self) -> &'static str {
        "SeasonalNaive"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<SeasonalNaive> {
        self.validate()?;
        if data.n_rows() == 0 {
            return Err(CoreError::TooFew {
                estimator: "SeasonalNaive",
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        finite_regression_target("SeasonalNaive", data)?;
        check_sample_weight("SeasonalNaive", data.n_rows(), w)?;
        let target = data
            .target_name()
            .ok_or(CoreError::NoTarget {
                estimator: "SeasonalNaive",
            })?
            .to_string();
        let name = format!("{target}_lag{}", self.lag());
        if data.feature_index(&name).is_none() {
            let have = data
                .feature_names()
                .filter_map(parse_lag)
                .filter(|(b, _)| *b == target)
                .map(|(_, k)| k)
                .max();
            return Err(CoreError::BadParam {
                estimator: "SeasonalNaive".into(),
                message: format!(
                    "season={} horizon={} reads the column `{name}`, which the data does not \
                     have ({}); write windows with at least {} lags: `smelt data window \
                     --target {target} --lags {} --horizon {}`",
                    self.season,
                    self.horizon,
                    match have {
                        Some(k) => format!("its lags of `{target}` go up to `{target}_lag{k}`"),
                        None => format!("no `{target}_lag{{k}}` column"),
                    },
                    self.lag(),
                    self.lag(),
                    self.horizon
                ),
                suggestion: None,
            });
        }
        Ok(SeasonalNaive {
            params: self.clone(),
            input: data.features().to_vec(),
            target,
        })
    }
}

impl SeasonalNaive {
    /// The model kind in model files.
    pub const KIND: &'static str = "seasonal_naive";

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, SeasonalNaiveParams) = load_common(r)?;
        let target: String = r.get("target")?;
        Ok(Box::new(SeasonalNaive {
            params,
            input,
            target,
        }))
    }
}

impl Predictor for SeasonalNaive {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = data.conform(&self.input, UnknownCategory::Append)?;
        // The target's lag columns by lag.
        let mut lags: Vec<(usize, &[f64])> = d
            .features()
            .iter()
            .enumerate()
            .filter_map(|(j, f)| match parse_lag(&f.name) {
                Some((b, k)) if b == self.target => Some((k, d.column(j))),
                _ => None,
            })
            .collect();
        lags.sort_by_key(|&(k, _)| k);
        let m = self.params.season.max(1);
        let first = self.params.lag();
        let same_phase: Vec<&[f64]> = lags
            .iter()
            .filter(|(k, _)| *k >= first && (k - first).is_multiple_of(m))
            .map(|&(_, c)| c)
            .collect();
        let values = (0..d.n_rows())
            .map(|i| {
                same_phase
                    .iter()
                    .chain(lags.iter().map(|(_, c)| c))
                    .map(|c| c[i])
                    .find(|v| v.is_finite())
                    .unwrap_or(f64::NAN)
            })
            .collect();
        Ok(Prediction::Regression { values })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("target", &self.target)
    }
}

#[cfg(test)]
mod tests {
    use smelt_core::{Feature, FeatureKind, LogicalType, Target};

    use super::*;

    fn windows() -> Dataset<f64> {
        // y_lag1 .. y_lag4 and a covariate; three rows.
        let names = ["y_lag1", "y_lag2", "y_lag3", "y_lag4", "x_lag1"];
        let features = names
            .iter()
            .map(|n| Feature {
                name: n.to_string(),
                ltype: LogicalType::Numeric,
                kind: FeatureKind::Numeric,
            })
            .collect();
        let cols = [
            [1.0, 2.0, f64::NAN],
            [10.0, 20.0, 30.0],
            [100.0, f64::NAN, f64::NAN],
            [1000.0, 2000.0, f64::NAN],
            [7.0, 7.0, 7.0],
        ];
        let values: Vec<f64> = cols.iter().flatten().copied().collect();
        Dataset::new(
            3,
            values,
            features,
            Some((
                "y".into(),
                Target::Regression {
                    values: vec![0.0; 3],
                },
            )),
        )
        .expect("dataset")
    }

    fn predict(p: SeasonalNaiveParams) -> Vec<f64> {
        let m = p.fit(&windows()).expect("fit");
        let Prediction::Regression { values } = m.predict(&windows()).expect("predict") else {
            panic!("not a regression")
        };
        values
    }

    #[test]
    fn reads_the_lag_one_season_back() {
        // season 3, horizon 1: lag 3; missing → lag 6 (absent) → the latest known value.
        let p = SeasonalNaiveParams::default().season(3);
        assert_eq!(predict(p), [100.0, 2.0, 30.0]);
        // season 1: the naive forecast, lag 1 (missing in row 3: the next known lag).
        assert_eq!(predict(SeasonalNaiveParams::default()), [1.0, 2.0, 30.0]);
        // season 4, horizon 2: the value 4 steps before the target is lag 3.
        let p = SeasonalNaiveParams::default().season(4).horizon(2);
        assert_eq!(p.lag(), 3);
        // season 2, horizon 3: two seasons back (4 steps), lag 2.
        assert_eq!(SeasonalNaiveParams::default().season(2).horizon(3).lag(), 2);
    }

    #[test]
    fn a_missing_lag_column_is_an_error_naming_it() {
        let err = SeasonalNaiveParams::default()
            .season(12)
            .fit(&windows())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`y_lag12`") && err.contains("`y_lag4`"),
            "{err}"
        );
        assert!(err.contains("--lags 12"), "{err}");
    }
}
