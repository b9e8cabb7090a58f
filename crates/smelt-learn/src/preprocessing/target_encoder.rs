//! `TargetEncoder`: each categorical feature becomes the (shrunk) mean of the target per
//! category — one column for continuous and binary targets, one per class (`feature_class`)
//! for multiclass targets.
//!
//! For category `c` with `n_c` rows and target mean `ȳ_c`, and the overall mean `ȳ`:
//! * `smooth = m` (a float): `(Σ_{i∈c} y_i + m·ȳ) / (n_c + m)`;
//! * `smooth = "auto"` (empirical Bayes, Micci-Barreca eqs. 5–6):
//!   `λ_c·ȳ_c + (1 - λ_c)·ȳ` with `λ_c = n_c·σ² / (n_c·σ² + s²_c / n_c)`, where `σ²` is the
//!   variance of `y` and `s²_c` the sum of squared deviations within `c`.
//!
//! Binary targets encode the second class as 1; multiclass targets are one-vs-rest indicators.
//! A missing value seen in training is a category of its own (as in scikit-learn); an unseen
//! category (or a missing value never seen) is encoded as the target mean.
//!
//! **Cross fitting.** [`FitTransform::fit_transform`] encodes each training row with encodings
//! learnt on the *other* folds (`cv` folds: `KFold` for continuous targets, `StratifiedKFold`
//! for classes, both as in scikit-learn, shuffled with [`smelt_core::rng::Rng`] when `shuffle`),
//! so a row's encoding never uses its own target; `fit` + `transform` uses the encodings of
//! all rows (for new data). Without shuffling the folds are exactly scikit-learn's.
//! Numeric features pass through unchanged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Fit, FitTransform,
    ParamError, Registry, Result, Target, Transform, UnknownCategory,
};

use super::ordinal::{check_codes, n_categories, observed_feature};
use super::{numeric_feature, output_dataset};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::rng::Rng;

/// The kind of target to encode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// From the data: a regression target is continuous, a classification target binary
    /// (two classes) or multiclass.
    #[default]
    Auto,
    /// Real-valued target.
    Continuous,
    /// Two classes; the second is encoded as 1.
    Binary,
    /// Three or more classes; one output column per class.
    Multiclass,
}

/// Shrinkage of the per-category means towards the global mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Smooth {
    /// Empirical Bayes (scikit-learn's `"auto"`).
    Auto,
    /// A fixed weight `m >= 0` of the global mean.
    Value(f64),
}

impl Serialize for Smooth {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Smooth::Auto => s.serialize_str("auto"),
            Smooth::Value(v) => s.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Smooth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Num(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Num(v) => Ok(Smooth::Value(v)),
            Repr::Text(s) if s == "auto" => Ok(Smooth::Auto),
            Repr::Text(s) => Err(serde::de::Error::custom(format!(
                "smooth must be \"auto\" or a number, got {s:?}"
            ))),
        }
    }
}

smelt_core::params! {
    /// Parameters of [`TargetEncoder`].
    pub struct TargetEncoderParams("TargetEncoder") {
        /// Target kind (default `auto`).
        target_type: TargetType = TargetType::Auto;
        /// Shrinkage: `"auto"` or a float in `[0, inf)` (default `"auto"`).
        smooth: Smooth = Smooth::Auto,
            range: check(
                "\"auto\" or a float in [0, inf)",
                |s| match s {
                    Smooth::Auto => true,
                    Smooth::Value(v) => v.is_finite() && *v >= 0.0,
                },
                |s| match s {
                    Smooth::Auto => "auto".to_string(),
                    Smooth::Value(v) => v.to_string(),
                }
            );
        /// Number of cross-fitting folds in `fit_transform` (default 5; an integer >= 2).
        cv: usize = 5, range: at_least_int(2);
        /// Shuffle the rows before splitting into folds (default `true`).
        shuffle: bool = true;
        /// Seed of the shuffle (default 0).
        random_state: u64 = 0;
    }
}

/// The resolved target kind of a fitted encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Resolved {
    Continuous,
    Binary,
    Multiclass,
}

/// A fitted target encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetEncoder {
    params: TargetEncoderParams,
    /// Input features, categorical ones with their observed categories.
    input: Vec<Feature>,
    /// Per feature: whether a missing value was seen (it then has the last slot).
    missing_seen: Vec<bool>,
    target_type: Resolved,
    /// Classes (present in training, sorted), empty for a continuous target.
    classes: Vec<String>,
    /// Target mean per encoded column (1, or one per class for multiclass).
    target_mean: Vec<f64>,
    /// Per feature, `target_mean.len() × n_slots` encodings (class-major); empty if numeric.
    encodings: Vec<Vec<f64>>,
}

/// What fit learns besides the model: the training rows' category slots and target columns.
struct Prepared {
    model: TargetEncoder,
    /// Per feature: slot of each row (`None` for numeric features).
    slots: Vec<Option<Vec<u32>>>,
    /// One target column per encoded class (or the continuous target).
    y: Vec<Vec<f64>>,
    /// Class codes for stratification (classification targets).
    strata: Option<Vec<u32>>,
}

fn n_slots(f: &Feature, missing_seen: bool) -> usize {
    n_categories(f) + usize::from(missing_seen)
}

/// Encodings of every slot from the rows `rows` (scikit-learn's `_fit_encoding_fast` and
/// `_fit_encoding_fast_auto_smooth`).
fn fit_encoding(
    slots: &[u32],
    n_slots: usize,
    y: &[f64],
    rows: &[usize],
    smooth: Smooth,
    y_mean: f64,
) -> Vec<f64> {
    match smooth {
        Smooth::Value(m) => {
            let mut sums = vec![m * y_mean; n_slots];
            let mut counts = vec![m; n_slots];
            for &i in rows {
                let s = slots[i] as usize;
                sums[s] += y[i];
                counts[s] += 1.0;
            }
            sums.iter()
                .zip(&counts)
                .map(|(s, c)| if *c == 0.0 { y_mean } else { s / c })
                .collect()
        }
        Smooth::Auto => {
            let var =
                rows.iter().map(|&i| (y[i] - y_mean).powi(2)).sum::<f64>() / rows.len() as f64;
            let mut means = vec![0.0; n_slots];
            let mut counts = vec![0usize; n_slots];
            for &i in rows {
                let s = slots[i] as usize;
                counts[s] += 1;
                means[s] += y[i];
            }
            for (m, &c) in means.iter_mut().zip(&counts) {
                *m /= c as f64;
            }
            let mut ssd = vec![0.0; n_slots];
            for &i in rows {
                let s = slots[i] as usize;
                let d = y[i] - means[s];
                ssd[s] += d * d;
            }
            (0..n_slots)
                .map(|s| {
                    let c = counts[s] as f64;
                    let lambda = var * c / (var * c + ssd[s] / c);
                    if lambda.is_nan() {
                        y_mean
                    } else {
                        lambda * means[s] + (1.0 - lambda) * y_mean
                    }
                })
                .collect()
        }
    }
}

fn mean_of(y: &[f64], rows: &[usize]) -> f64 {
    rows.iter().map(|&i| y[i]).sum::<f64>() / rows.len() as f64
}

impl TargetEncoderParams {
    fn prepare(&self, data: &Dataset<f64>) -> Result<Prepared> {
        const NAME: &str = "TargetEncoder";
        self.validate()?;
        let n = data.n_rows();
        if n == 0 {
            return Err(CoreError::TooFew {
                estimator: NAME,
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        let wrong = |expected: &'static str, got: &'static str| CoreError::WrongTask {
            estimator: NAME,
            expected,
            target: data.target_name().unwrap_or("target").to_string(),
            got,
        };
        // Target columns, classes and the resolved kind.
        let (target_type, classes, y, strata) = match data.target() {
            None => return Err(CoreError::NoTarget { estimator: NAME }),
            Some(Target::Regression { values }) => match self.target_type {
                TargetType::Auto | TargetType::Continuous => {
                    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                        return Err(CoreError::NonFinite {
                            estimator: NAME,
                            feature: data.target_name().unwrap_or("target").to_string(),
                            row: i,
                            value: values[i],
                        });
                    }
                    (Resolved::Continuous, Vec::new(), vec![values.clone()], None)
                }
                _ => return Err(wrong("classification", "real-valued (regression)")),
            },
            Some(Target::Classification { .. }) => {
                if self.target_type == TargetType::Continuous {
                    return Err(wrong("regression", "categorical (classification)"));
                }
                let (codes, all) = smelt_core::model::classification_target(NAME, data)?;
                // Only the classes present, in sorted order (scikit-learn's `classes_`).
                let mut present = vec![false; all.len()];
                for &c in codes {
                    if let Some(p) = present.get_mut(c as usize) {
                        *p = true;
                    }
                }
                let mut new_code = vec![0u32; all.len()];
                let mut classes = Vec::new();
                for (k, p) in present.iter().enumerate() {
                    if *p {
                        new_code[k] = classes.len() as u32;
                        classes.push(all[k].clone());
                    }
                }
                let codes: Vec<u32> = codes
                    .iter()
                    .map(|&c| new_code.get(c as usize).copied().unwrap_or(0))
                    .collect();
                let resolved = match (self.target_type, classes.len()) {
                    (TargetType::Auto | TargetType::Binary, 2) => Resolved::Binary,
                    (TargetType::Binary, _) => return Err(wrong("binary", "multiclass")),
                    (TargetType::Multiclass, 2) => return Err(wrong("multiclass", "binary")),
                    _ => Resolved::Multiclass,
                };
                let y = match resolved {
                    Resolved::Binary => {
                        vec![codes.iter().map(|&c| f64::from(c)).collect()]
                    }
                    _ => (0..classes.len() as u32)
                        .map(|k| codes.iter().map(|&c| f64::from(u8::from(c == k))).collect())
                        .collect(),
                };
                (resolved, classes, y, Some(codes))
            }
        };

        check_codes(NAME, data)?;
        let (input, missing_seen): (Vec<Feature>, Vec<bool>) = (0..data.n_features())
            .map(|j| observed_feature(data, j))
            .unzip();
        // Training codes re-mapped onto the observed categories.
        let d = data.conform(&input, UnknownCategory::Error)?;
        let slots: Vec<Option<Vec<u32>>> = input
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let k = n_categories(f) as u32;
                matches!(f.kind, FeatureKind::Categorical { .. }).then(|| {
                    d.column(j)
                        .iter()
                        .map(|&v| if v.is_nan() { k } else { v as u32 })
                        .collect()
                })
            })
            .collect();

        let all: Vec<usize> = (0..n).collect();
        let target_mean: Vec<f64> = y.iter().map(|yc| mean_of(yc, &all)).collect();
        let encodings = input
            .iter()
            .zip(&slots)
            .zip(&missing_seen)
            .map(|((f, s), &m)| match s {
                None => Vec::new(),
                Some(s) => y
                    .iter()
                    .zip(&target_mean)
                    .flat_map(|(yc, &mean)| {
                        fit_encoding(s, n_slots(f, m), yc, &all, self.smooth, mean)
                    })
                    .collect(),
            })
            .collect();
        Ok(Prepared {
            model: TargetEncoder {
                params: self.clone(),
                input,
                missing_seen,
                target_type,
                classes,
                target_mean,
                encodings,
            },
            slots,
            y,
            strata,
        })
    }

    /// The cross-fitting fold (`0..cv`) of each row of `data`, as `fit_transform` uses them.
    pub fn folds(&self, data: &Dataset<f64>) -> Result<Vec<usize>> {
        let p = self.prepare(data)?;
        self.assign_folds(data.n_rows(), p.strata.as_deref())
    }

    /// scikit-learn's `KFold` (no strata) or `StratifiedKFold` test folds; shuffled with our
    /// own generator when `shuffle` (so only the unshuffled folds equal scikit-learn's).
    fn assign_folds(&self, n: usize, strata: Option<&[u32]>) -> Result<Vec<usize>> {
        let k = self.cv;
        let mut rng = Rng::new(self.random_state);
        let mut fold = vec![0usize; n];
        match strata {
            None => {
                if k > n {
                    return Err(CoreError::TooFew {
                        estimator: "TargetEncoder",
                        what: "rows (one per cross-fitting fold, `cv`)",
                        needed: k,
                        got: n,
                    });
                }
                let mut idx: Vec<usize> = (0..n).collect();
                if self.shuffle {
                    rng.shuffle(&mut idx);
                }
                let mut start = 0;
                for f in 0..k {
                    let size = n / k + usize::from(f < n % k);
                    for &i in &idx[start..start + size] {
                        fold[i] = f;
                    }
                    start += size;
                }
            }
            Some(codes) => {
                // Classes numbered by first appearance, as StratifiedKFold does.
                let mut order: Vec<Option<usize>> = Vec::new();
                let mut enc = Vec::with_capacity(n);
                let mut n_cls = 0;
                for &c in codes {
                    let c = c as usize;
                    if order.len() <= c {
                        order.resize(c + 1, None);
                    }
                    let e = *order[c].get_or_insert_with(|| {
                        n_cls += 1;
                        n_cls - 1
                    });
                    enc.push(e);
                }
                let mut counts = vec![0usize; n_cls];
                for &e in &enc {
                    counts[e] += 1;
                }
                if counts.iter().all(|&c| c < k) {
                    return Err(CoreError::TooFew {
                        estimator: "TargetEncoder",
                        what: "rows in some class (one per cross-fitting fold, `cv`)",
                        needed: k,
                        got: counts.iter().copied().max().unwrap_or(0),
                    });
                }
                // Round robin over the sorted class codes: alloc[class][fold].
                let mut sorted = enc.clone();
                sorted.sort_unstable();
                let mut alloc = vec![vec![0usize; k]; n_cls];
                for (pos, &e) in sorted.iter().enumerate() {
                    alloc[e][pos % k] += 1;
                }
                for (cls, per_fold) in alloc.iter().enumerate() {
                    let mut folds_for_class: Vec<usize> = per_fold
                        .iter()
                        .enumerate()
                        .flat_map(|(f, &c)| std::iter::repeat_n(f, c))
                        .collect();
                    if self.shuffle {
                        rng.shuffle(&mut folds_for_class);
                    }
                    let mut it = folds_for_class.into_iter();
                    for (i, &e) in enc.iter().enumerate() {
                        if e == cls {
                            fold[i] = it.next().unwrap_or(0);
                        }
                    }
                }
            }
        }
        Ok(fold)
    }
}

impl TargetEncoder {
    /// Kind in model files.
    pub const KIND: &'static str = "target_encoder";

    /// The encodings of input feature `j`: one vector per encoded class (a single one for
    /// continuous and binary targets), one value per category (the missing value's last, when
    /// seen); empty for numeric features.
    pub fn encodings(&self, j: usize) -> Vec<&[f64]> {
        let e = &self.encodings[j];
        let m = self.target_mean.len();
        if e.is_empty() {
            return Vec::new();
        }
        e.chunks(e.len() / m).collect()
    }

    /// The target mean (one per class for multiclass targets).
    pub fn target_mean(&self) -> &[f64] {
        &self.target_mean
    }

    /// The classes (empty for a continuous target).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params): (Vec<Feature>, TargetEncoderParams) = load_common(r)?;
        let missing_seen: Vec<bool> = r.get("missing_seen")?;
        let target_type: Resolved = r.get("target_type")?;
        let classes: Vec<String> = r.get("classes")?;
        if missing_seen.len() != input.len() {
            return Err(r.invalid("`missing_seen` does not have one entry per input feature"));
        }
        let m = if target_type == Resolved::Multiclass {
            classes.len()
        } else {
            1
        };
        let target_mean = r.vector("target_mean", m)?;
        let mut encodings = Vec::with_capacity(input.len());
        for (j, f) in input.iter().enumerate() {
            encodings.push(match f.kind {
                FeatureKind::Numeric => Vec::new(),
                FeatureKind::Categorical { .. } => {
                    r.vector(&format!("encodings_{j}"), m * n_slots(f, missing_seen[j]))?
                }
            });
        }
        Ok(Box::new(TargetEncoder {
            params,
            input,
            missing_seen,
            target_type,
            classes,
            target_mean,
            encodings,
        }))
    }

    /// Output columns: `(feature, per-row values)` from each categorical feature's slots.
    /// `encode(j, class, slot)` gives an encoding; `slot = None` is an unknown category.
    fn columns(
        &self,
        d: &Dataset<f64>,
        slot_of: impl Fn(usize, usize) -> Option<usize>,
        encode: impl Fn(usize, usize, Option<usize>, usize) -> f64,
    ) -> Vec<(Feature, Vec<f64>)> {
        let n = d.n_rows();
        let mut cols = Vec::new();
        for (j, f) in self.input.iter().enumerate() {
            if matches!(f.kind, FeatureKind::Numeric) {
                cols.push((f.clone(), d.column(j).to_vec()));
                continue;
            }
            for (c, name) in self.output_names(f).into_iter().enumerate() {
                let v = (0..n).map(|i| encode(j, c, slot_of(j, i), i)).collect();
                cols.push((numeric_feature(name), v));
            }
        }
        cols
    }

    fn output_names(&self, f: &Feature) -> Vec<String> {
        match self.target_type {
            Resolved::Multiclass => self
                .classes
                .iter()
                .map(|c| format!("{}_{c}", f.name))
                .collect(),
            _ => vec![f.name.clone()],
        }
    }
}

impl Fit for TargetEncoderParams {
    type Model = TargetEncoder;

    fn name(&self) -> &'static str {
        "TargetEncoder"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<TargetEncoder> {
        self.validate()?;
        if w.is_some() {
            return Err(CoreError::SampleWeight {
                estimator: "TargetEncoder",
                reason: "this transformer does not use sample weights".into(),
            });
        }
        Ok(self.prepare(data)?.model)
    }
}

impl FitTransform for TargetEncoderParams {
    fn name(&self) -> &'static str {
        Fit::name(self)
    }

    fn check(&self) -> Vec<ParamError> {
        Fit::check(self)
    }

    /// Cross-fitted encoding of the training rows (see the module docs).
    fn fit_transform(&self, data: &Dataset<f64>) -> Result<(Box<dyn Transform>, Dataset<f64>)> {
        let p = self.prepare(data)?;
        let n = data.n_rows();
        let fold = self.assign_folds(n, p.strata.as_deref())?;
        let model = &p.model;
        // Per fold: its training rows, their target means, and the encodings they give.
        let mut per_fold = Vec::with_capacity(self.cv);
        for f in 0..self.cv {
            let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
            let means: Vec<f64> = p.y.iter().map(|yc| mean_of(yc, &train)).collect();
            let enc: Vec<Vec<Vec<f64>>> = model
                .input
                .iter()
                .zip(&p.slots)
                .zip(&model.missing_seen)
                .map(|((feat, s), &m)| match s {
                    None => Vec::new(),
                    Some(s) => {
                        p.y.iter()
                            .zip(&means)
                            .map(|(yc, &mean)| {
                                fit_encoding(s, n_slots(feat, m), yc, &train, self.smooth, mean)
                            })
                            .collect()
                    }
                })
                .collect();
            per_fold.push(enc);
        }
        let d = data.conform(&model.input, UnknownCategory::Error)?;
        let cols = model.columns(
            &d,
            |j, i| p.slots[j].as_ref().map(|s| s[i] as usize),
            |j, c, slot, i| {
                // Every training category is known (categories come from these rows).
                let s = slot.unwrap_or(0);
                per_fold[fold[i]][j][c][s]
            },
        );
        let out = output_dataset(data, cols)?;
        Ok((Box::new(p.model), out))
    }
}

impl Transform for TargetEncoder {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn cross_fitted(&self) -> bool {
        true
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output_features(&self) -> Vec<Feature> {
        let mut out = Vec::new();
        for f in &self.input {
            match f.kind {
                FeatureKind::Numeric => out.push(f.clone()),
                FeatureKind::Categorical { .. } => {
                    out.extend(self.output_names(f).into_iter().map(numeric_feature));
                }
            }
        }
        out
    }

    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        // Unseen categories get codes >= k: encoded as the target mean.
        let d = data.conform(&self.input, UnknownCategory::Append)?;
        let cols = self.columns(
            &d,
            |j, i| {
                let f = &self.input[j];
                let k = n_categories(f);
                let v = d.column(j)[i];
                if v.is_nan() {
                    self.missing_seen[j].then_some(k)
                } else {
                    ((v as usize) < k).then_some(v as usize)
                }
            },
            |j, c, slot, _| match slot {
                None => self.target_mean[c],
                Some(s) => {
                    let e = &self.encodings[j];
                    let per_class = e.len() / self.target_mean.len();
                    e[c * per_class + s]
                }
            },
        );
        output_dataset(data, cols)
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("missing_seen", &self.missing_seen)?;
        w.put("target_type", &self.target_type)?;
        w.put("classes", &self.classes)?;
        w.vector("target_mean", &self.target_mean)?;
        for (j, e) in self.encodings.iter().enumerate() {
            if !e.is_empty() {
                w.vector(&format!("encodings_{j}"), e)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::LogicalType;

    fn data(codes: Vec<f64>, y: Vec<f64>) -> Dataset<f64> {
        let f = Feature {
            name: "c".into(),
            ltype: LogicalType::Categorical,
            kind: FeatureKind::Categorical {
                categories: vec!["a".into(), "b".into()],
            },
        };
        Dataset::new(
            codes.len(),
            codes,
            vec![f],
            Some(("y".into(), Target::Regression { values: y })),
        )
        .unwrap()
    }

    #[test]
    fn smoothed_means() {
        let d = data(vec![0.0, 0.0, 1.0, 1.0], vec![1.0, 3.0, 10.0, 10.0]);
        let m = TargetEncoderParams::default()
            .smooth(Smooth::Value(2.0))
            .fit(&d)
            .unwrap();
        // mean 6; a: (4 + 12) / 4 = 4; b: (20 + 12) / 4 = 8.
        assert_eq!(m.encodings(0), vec![&[4.0, 8.0][..]]);
        let m = TargetEncoderParams::default().fit(&d).unwrap();
        // b has no variance inside: λ = 1, its own mean.
        assert_eq!(m.encodings(0)[0][1], 10.0);
    }

    #[test]
    fn kfold_without_shuffle_is_contiguous() {
        let d = data(vec![0.0; 7], vec![0.0; 7]);
        let p = TargetEncoderParams::default().cv(3).shuffle(false);
        assert_eq!(p.folds(&d).unwrap(), vec![0, 0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn smooth_serde() {
        let p: TargetEncoderParams = serde_json::from_str(r#"{"smooth": 1.5}"#).unwrap();
        assert_eq!(p.smooth, Smooth::Value(1.5));
        let p: TargetEncoderParams = serde_json::from_str(r#"{"smooth": "auto"}"#).unwrap();
        assert_eq!(p.smooth, Smooth::Auto);
        assert!(serde_json::from_str::<TargetEncoderParams>(r#"{"smooth": "x"}"#).is_err());
    }
}
