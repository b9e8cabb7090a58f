//! The [`Dataset`]: a feature matrix, a target and the metadata estimators need.
//!
//! # Layout
//! Features are stored **column-major** (feature `j` is the contiguous slice
//! `values[j * n_rows .. (j + 1) * n_rows]`). Reasons, in order of weight:
//! * tree learners (histogram building, binning, split search) and per-feature preprocessing
//!   (scalers, imputers, encoders) walk one feature at a time;
//! * the conversion from a columnar table (polars/Arrow) is one copy per column with no
//!   transpose, so loading stays memory-bandwidth bound;
//! * faer, the linear-algebra backend for linear models and PCA, is column-major too.
//!
//! Row-major access (kNN, single-row prediction) is served by [`Dataset::row`] or by a one-off
//! [`Dataset::to_row_major`] copy in the estimator that needs it.
//!
//! # Precision
//! The element type is generic over [`Float`] (`f32` or `f64`), `f32` by default: half the memory
//! and bandwidth, exact for categorical codes up to 2^24, and what tree ensembles and neural
//! networks compute in anyway. Estimators whose reference implementation works in `f64`
//! (closed-form linear models, PCA) ask for `Dataset<f64>` and keep bit-for-bit parity.
//!
//! # Missing values
//! A missing cell is NaN in the matrix *and* a set bit in that feature's [`Bitmap`], so
//! estimators with native missing-value support (gradient boosting) read NaN, and others can
//! check the mask cheaply without scanning floats.

use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::schema::LogicalType;
use crate::text_column::TextColumn;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// Element type of a feature matrix: `f32` or `f64`.
pub trait Float:
    sealed::Sealed + Copy + Send + Sync + PartialOrd + Debug + Default + 'static
{
    /// Not-a-number, the in-matrix marker of a missing value.
    const NAN: Self;
    /// Name of the type (`"f32"` / `"f64"`).
    const NAME: &'static str;
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
}

impl Float for f32 {
    const NAN: Self = f32::NAN;
    const NAME: &'static str = "f32";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl Float for f64 {
    const NAN: Self = f64::NAN;
    const NAME: &'static str = "f64";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// A fixed-length bit set; a set bit marks a missing value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bitmap {
    words: Vec<u64>,
    len: usize,
}

impl Bitmap {
    /// A bitmap of `len` cleared bits.
    pub fn new(len: usize) -> Self {
        Bitmap {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// The missing mask of a column: the NaN cells, or `None` when it has none.
    pub fn of_nan<T: Float>(col: &[T]) -> Option<Self> {
        col.iter()
            .any(|v| v.is_nan())
            .then(|| Bitmap::from_bools(col.iter().map(|v| v.is_nan())))
    }

    /// Builds a bitmap from booleans.
    pub fn from_bools(bits: impl IntoIterator<Item = bool>) -> Self {
        let mut words = Vec::new();
        let mut len = 0;
        for b in bits {
            if len % 64 == 0 {
                words.push(0);
            }
            if b {
                words[len / 64] |= 1 << (len % 64);
            }
            len += 1;
        }
        Bitmap { words, len }
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the bitmap has no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets bit `i`. Panics if `i >= len` (an invariant of the caller).
    #[inline]
    pub fn set(&mut self, i: usize) {
        assert!(i < self.len, "Bitmap::set: index {i} >= len {}", self.len);
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Whether bit `i` is set; `false` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// How a feature's numbers are to be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureKind {
    /// A quantity (numeric, integer; booleans as 0/1).
    Numeric,
    /// Integer codes `0..categories.len()` into `categories`, sorted by value.
    Categorical {
        /// The category for each code.
        categories: Vec<String>,
    },
}

/// Metadata of one feature column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    /// Column name in the source table.
    pub name: String,
    /// Logical type in the source table.
    pub ltype: LogicalType,
    /// Numeric or categorical encoding.
    pub kind: FeatureKind,
}

/// Features with distinct names, checked once and shared by reference: what a [`Dataset`]
/// holds, so datasets of the same columns ([`Dataset::with_features`], row subsets, casts) share
/// one copy.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedFeatures(std::sync::Arc<[Feature]>);

impl SharedFeatures {
    /// Checks that the names are distinct ([`CoreError::DuplicateColumn`] names the first
    /// repeated one).
    pub fn new(features: Vec<Feature>) -> Result<Self> {
        // A few dozen names compare faster pairwise than they hash.
        let repeated = if features.len() <= 32 {
            features
                .iter()
                .enumerate()
                .find(|(i, f)| features[..*i].iter().any(|g| g.name == f.name))
                .map(|(_, f)| f)
        } else {
            let mut seen = std::collections::HashSet::with_capacity(features.len());
            features.iter().find(|f| !seen.insert(f.name.as_str()))
        };
        if let Some(f) = repeated {
            return Err(CoreError::DuplicateColumn {
                name: f.name.clone(),
            });
        }
        Ok(SharedFeatures(features.into()))
    }
}

impl std::ops::Deref for SharedFeatures {
    type Target = [Feature];
    fn deref(&self) -> &[Feature] {
        &self.0
    }
}

/// The label vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Target {
    /// Real-valued target.
    Regression {
        /// One value per row.
        values: Vec<f64>,
    },
    /// Class labels as codes into `classes`, which are sorted like scikit-learn's
    /// `np.unique` (numerically for integer and boolean labels, lexically for strings).
    Classification {
        /// One code per row.
        codes: Vec<u32>,
        /// Label of each code.
        classes: Vec<String>,
    },
}

impl Target {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Target::Regression { values } => values.len(),
            Target::Classification { codes, .. } => codes.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self, rows: &[usize]) -> Target {
        match self {
            Target::Regression { values } => Target::Regression {
                values: rows.iter().map(|&i| values[i]).collect(),
            },
            Target::Classification { codes, classes } => Target::Classification {
                codes: rows.iter().map(|&i| codes[i]).collect(),
                classes: classes.clone(),
            },
        }
    }
}

/// A table ready for estimators: column-major, `f32`/`f64`, with missing masks (see `ARCHITECTURE.md`).
///
/// ```
/// use smelt_core::{Dataset, Feature, FeatureKind, LogicalType, Target};
///
/// let features = vec![
///     Feature { name: "x".into(), ltype: LogicalType::Numeric, kind: FeatureKind::Numeric },
///     Feature {
///         name: "colour".into(),
///         ltype: LogicalType::Categorical,
///         kind: FeatureKind::Categorical { categories: vec!["blue".into(), "red".into()] },
///     },
/// ];
/// // Column-major: x = [1.5, NaN, 3.0], colour = [red, blue, red].
/// let values = vec![1.5f32, f32::NAN, 3.0, 1.0, 0.0, 1.0];
/// let target = Target::Regression { values: vec![0.1, 0.2, 0.3] };
/// let ds = Dataset::new(3, values, features, Some(("y".into(), target))).unwrap();
/// assert_eq!(ds.column(1), &[1.0, 0.0, 1.0]);
/// assert!(ds.is_missing(1, 0));
/// assert_eq!(ds.row(2), vec![3.0, 1.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Dataset<T: Float = f32> {
    n_rows: usize,
    values: Vec<T>,
    features: SharedFeatures,
    missing: Vec<Option<Bitmap>>,
    target_name: Option<String>,
    target: Option<Target>,
    /// Free-text columns kept beside the matrix for text models ([`Dataset::texts`]).
    pub(crate) texts: Vec<TextColumn>,
}

/// The missing masks of a column-major matrix of `k` columns: its NaN cells (a short matrix
/// gets empty masks here; the constructors then refuse its length).
fn nan_masks<T: Float>(n_rows: usize, values: &[T], k: usize) -> Vec<Option<Bitmap>> {
    (0..k)
        .map(|j| Bitmap::of_nan(values.get(j * n_rows..(j + 1) * n_rows).unwrap_or(&[])))
        .collect()
}

impl<T: Float> Dataset<T> {
    /// Builds a dataset from a column-major matrix; the missing mask is derived from NaNs.
    pub fn new(
        n_rows: usize,
        values: Vec<T>,
        features: Vec<Feature>,
        target: Option<(String, Target)>,
    ) -> Result<Self> {
        let missing = nan_masks(n_rows, &values, features.len());
        Self::from_parts(n_rows, values, features, missing, target)
    }

    /// Builds a dataset from all its parts, checking their shapes agree.
    pub fn from_parts(
        n_rows: usize,
        values: Vec<T>,
        features: Vec<Feature>,
        missing: Vec<Option<Bitmap>>,
        target: Option<(String, Target)>,
    ) -> Result<Self> {
        Self::from_shared_parts(
            n_rows,
            values,
            SharedFeatures::new(features)?,
            missing,
            target,
        )
    }

    /// [`Dataset::new`] with features checked once and shared: the dataset holds another
    /// reference to them instead of a copy — for code that builds many datasets of the same
    /// columns, such as a server scoring request after request.
    pub fn with_features(n_rows: usize, values: Vec<T>, features: &SharedFeatures) -> Result<Self> {
        let missing = nan_masks(n_rows, &values, features.len());
        Self::from_shared_parts(n_rows, values, features.clone(), missing, None)
    }

    fn from_shared_parts(
        n_rows: usize,
        values: Vec<T>,
        features: SharedFeatures,
        missing: Vec<Option<Bitmap>>,
        target: Option<(String, Target)>,
    ) -> Result<Self> {
        if values.len() != n_rows * features.len() {
            return Err(CoreError::LengthMismatch {
                name: "<feature matrix>".into(),
                expected: n_rows * features.len(),
                got: values.len(),
            });
        }
        if missing.len() != features.len() {
            return Err(CoreError::LengthMismatch {
                name: "<missing mask>".into(),
                expected: features.len(),
                got: missing.len(),
            });
        }
        for (f, m) in features.iter().zip(&missing) {
            if let Some(m) = m
                && m.len() != n_rows
            {
                return Err(CoreError::LengthMismatch {
                    name: f.name.clone(),
                    expected: n_rows,
                    got: m.len(),
                });
            }
        }
        let (target_name, target) = match target {
            Some((name, t)) => {
                if t.len() != n_rows {
                    return Err(CoreError::LengthMismatch {
                        name,
                        expected: n_rows,
                        got: t.len(),
                    });
                }
                if features.iter().any(|f| f.name == name) {
                    return Err(CoreError::DuplicateColumn { name });
                }
                if let Target::Classification { codes, classes } = &t
                    && let Some(row) = codes.iter().position(|&c| c as usize >= classes.len())
                {
                    return Err(CoreError::UnknownClass {
                        target: name,
                        row,
                        code: codes[row],
                        n_classes: classes.len(),
                    });
                }
                (Some(name), Some(t))
            }
            None => (None, None),
        };
        Ok(Dataset {
            n_rows,
            values,
            features,
            missing,
            target_name,
            target,
            texts: Vec::new(),
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// Feature metadata in matrix order.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The features as the dataset shares them: cloning this is a reference count, not a copy
    /// ([`Dataset::with_features`] takes it).
    pub fn shared_features(&self) -> &SharedFeatures {
        &self.features
    }

    /// Feature names in matrix order.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> {
        self.features.iter().map(|f| f.name.as_str())
    }

    /// Position of the feature called `name`.
    pub fn feature_index(&self, name: &str) -> Option<usize> {
        self.features.iter().position(|f| f.name == name)
    }

    /// The whole column-major matrix.
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// Feature `j` as a contiguous slice. Panics if `j >= n_features()`.
    #[inline]
    pub fn column(&self, j: usize) -> &[T] {
        &self.values[j * self.n_rows..(j + 1) * self.n_rows]
    }

    /// Row `i` gathered across features (allocates; use [`Dataset::to_row_major`] for many).
    pub fn row(&self, i: usize) -> Vec<T> {
        (0..self.n_features())
            .map(|j| self.values[j * self.n_rows + i])
            .collect()
    }

    /// A row-major copy of the matrix (`n_rows × n_features`).
    pub fn to_row_major(&self) -> Vec<T> {
        let (n, p) = (self.n_rows, self.n_features());
        let mut out = vec![T::default(); n * p];
        for j in 0..p {
            let col = self.column(j);
            for (i, &v) in col.iter().enumerate() {
                out[i * p + j] = v;
            }
        }
        out
    }

    /// Rewrites the feature values in place — `f` gets the column-major matrix (column `j` at
    /// `j·n_rows..(j+1)·n_rows`) and the number of rows — then derives the missing masks from
    /// NaNs again. Features, rows and target are unchanged: a transform that keeps every
    /// column's place (an imputer, a scaler) writes into the matrix it was given instead of
    /// allocating another.
    pub fn rewrite_values(&mut self, f: impl FnOnce(&mut [T], usize)) {
        f(&mut self.values, self.n_rows);
        let n = self.n_rows;
        for (j, m) in self.missing.iter_mut().enumerate() {
            *m = Bitmap::of_nan(self.values.get(j * n..(j + 1) * n).unwrap_or(&[]));
        }
    }

    /// The parts the dataset is made of: rows, the column-major matrix, features, missing
    /// masks and the named target — what [`Dataset::from_parts`] takes back.
    #[allow(
        clippy::type_complexity,
        reason = "the constructor's own arguments, in order"
    )]
    pub fn into_parts(
        self,
    ) -> (
        usize,
        Vec<T>,
        Vec<Feature>,
        Vec<Option<Bitmap>>,
        Option<(String, Target)>,
    ) {
        let target = self.target_name.zip(self.target);
        (
            self.n_rows,
            self.values,
            self.features.to_vec(),
            self.missing,
            target,
        )
    }

    /// The missing mask of feature `j` (`None` when it has no missing value).
    pub fn missing(&self, j: usize) -> Option<&Bitmap> {
        self.missing.get(j).and_then(|m| m.as_ref())
    }

    /// Whether cell (`i`, `j`) is missing.
    #[inline]
    pub fn is_missing(&self, i: usize, j: usize) -> bool {
        self.missing(j).is_some_and(|m| m.get(i))
    }

    /// Number of missing cells per feature.
    pub fn missing_counts(&self) -> Vec<usize> {
        self.missing
            .iter()
            .map(|m| m.as_ref().map_or(0, Bitmap::count_ones))
            .collect()
    }

    /// The target, if the dataset has one.
    pub fn target(&self) -> Option<&Target> {
        self.target.as_ref()
    }

    /// Name of the target column.
    pub fn target_name(&self) -> Option<&str> {
        self.target_name.as_deref()
    }

    /// The named target, copied, as [`Dataset::new`] and [`Dataset::from_parts`] take it: what a
    /// transform carries from its input to its output.
    pub fn named_target(&self) -> Option<(String, Target)> {
        self.target_name.clone().zip(self.target.clone())
    }

    /// A new dataset holding the given rows, in the given order (repeats allowed, as in a
    /// bootstrap sample).
    pub fn select_rows(&self, rows: &[usize]) -> Result<Self> {
        if let Some(&bad) = rows.iter().find(|&&i| i >= self.n_rows) {
            return Err(CoreError::RowOutOfBounds {
                index: bad,
                n_rows: self.n_rows,
            });
        }
        let p = self.n_features();
        let mut values = Vec::with_capacity(rows.len() * p);
        for j in 0..p {
            let col = self.column(j);
            values.extend(rows.iter().map(|&i| col[i]));
        }
        let missing = self
            .missing
            .iter()
            .map(|m| {
                m.as_ref().and_then(|m| {
                    let b = Bitmap::from_bools(rows.iter().map(|&i| m.get(i)));
                    (b.count_ones() > 0).then_some(b)
                })
            })
            .collect();
        Ok(Dataset {
            n_rows: rows.len(),
            values,
            features: self.features.clone(),
            missing,
            target_name: self.target_name.clone(),
            target: self.target.as_ref().map(|t| t.take(rows)),
            texts: self.texts.iter().map(|t| t.take(rows)).collect(),
        })
    }

    /// Converts the matrix to another precision.
    pub fn cast<U: Float>(&self) -> Dataset<U> {
        Dataset {
            n_rows: self.n_rows,
            values: self
                .values
                .iter()
                .map(|&v| U::from_f64(v.to_f64()))
                .collect(),
            features: self.features.clone(),
            missing: self.missing.clone(),
            target_name: self.target_name.clone(),
            target: self.target.clone(),
            texts: self.texts.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(name: &str) -> Feature {
        Feature {
            name: name.into(),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        }
    }

    fn sample() -> Dataset<f64> {
        let values = vec![1.0, 2.0, f64::NAN, 10.0, 20.0, 30.0];
        let target = Target::Classification {
            codes: vec![0, 1, 1],
            classes: vec!["no".into(), "yes".into()],
        };
        Dataset::new(
            3,
            values,
            vec![numeric("a"), numeric("b")],
            Some(("y".into(), target)),
        )
        .unwrap()
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let err = Dataset::<f32>::new(3, vec![1.0; 5], vec![numeric("a"), numeric("b")], None)
            .unwrap_err();
        assert!(matches!(
            err,
            CoreError::LengthMismatch {
                expected: 6,
                got: 5,
                ..
            }
        ));
    }

    #[test]
    fn target_length_is_checked() {
        let t = Target::Regression { values: vec![1.0] };
        let err = Dataset::<f32>::new(2, vec![1.0, 2.0], vec![numeric("a")], Some(("y".into(), t)))
            .unwrap_err();
        assert!(matches!(
            err,
            CoreError::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            }
        ));
    }

    #[test]
    fn class_codes_outside_the_labels_are_rejected() {
        let t = Target::Classification {
            codes: vec![0, 2],
            classes: vec!["a".into(), "b".into()],
        };
        let err = Dataset::<f64>::new(2, vec![1.0, 2.0], vec![numeric("x")], Some(("y".into(), t)))
            .unwrap_err();
        assert!(
            matches!(
                err,
                CoreError::UnknownClass {
                    row: 1,
                    code: 2,
                    n_classes: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("row 1"), "{err}");
    }

    #[test]
    fn duplicate_feature_names_are_rejected() {
        let err = Dataset::<f32>::new(1, vec![1.0, 2.0], vec![numeric("a"), numeric("a")], None)
            .unwrap_err();
        assert!(matches!(err, CoreError::DuplicateColumn { ref name } if name == "a"));
        // Both ways of checking: pairwise (up to 32 features) and hashed (more).
        for k in [5, 40] {
            let mut features: Vec<Feature> = (0..k).map(|j| numeric(&format!("x{j}"))).collect();
            assert!(SharedFeatures::new(features.clone()).is_ok(), "{k}");
            features.push(numeric("x3"));
            let err = SharedFeatures::new(features).unwrap_err();
            assert!(matches!(err, CoreError::DuplicateColumn { ref name } if name == "x3"));
        }
        // A target named like a feature.
        let target = Target::Regression { values: vec![0.0] };
        let err = Dataset::<f32>::new(1, vec![1.0], vec![numeric("a")], Some(("a".into(), target)))
            .unwrap_err();
        assert!(matches!(err, CoreError::DuplicateColumn { ref name } if name == "a"));
    }

    #[test]
    fn datasets_share_their_features() {
        let features = SharedFeatures::new(vec![numeric("a"), numeric("b")]).unwrap();
        let one = Dataset::with_features(2, vec![1.0, f64::NAN, 3.0, 4.0], &features).unwrap();
        let two = Dataset::with_features(1, vec![5.0, 6.0], &features).unwrap();
        assert!(std::ptr::eq(one.features(), two.features()));
        assert!(one.is_missing(1, 0) && !one.is_missing(1, 1));
        assert!(two.missing(0).is_none());
        // Row subsets and casts share them too.
        let rows = one.select_rows(&[1]).unwrap();
        assert!(std::ptr::eq(rows.features(), &*features));
        assert_eq!(rows.column(1), &[4.0]);
        assert!(std::ptr::eq(one.cast::<f32>().features(), &*features));
        // Shapes are still checked.
        assert!(matches!(
            Dataset::with_features(2, vec![1.0], &features),
            Err(CoreError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn missing_mask_follows_nan() {
        let ds = sample();
        assert!(ds.is_missing(2, 0));
        assert!(!ds.is_missing(1, 0));
        assert!(ds.missing(1).is_none());
        assert_eq!(ds.missing_counts(), vec![1, 0]);
    }

    #[test]
    fn select_rows_keeps_alignment() {
        let ds = sample();
        let sub = ds.select_rows(&[2, 0, 2]).unwrap();
        assert_eq!(sub.n_rows(), 3);
        assert_eq!(sub.column(1), &[30.0, 10.0, 30.0]);
        assert!(sub.is_missing(0, 0) && !sub.is_missing(1, 0) && sub.is_missing(2, 0));
        match sub.target().unwrap() {
            Target::Classification { codes, .. } => assert_eq!(codes, &vec![1, 0, 1]),
            t => panic!("unexpected target {t:?}"),
        }
        assert!(matches!(
            ds.select_rows(&[3]),
            Err(CoreError::RowOutOfBounds {
                index: 3,
                n_rows: 3
            })
        ));
    }

    #[test]
    fn row_major_is_a_transpose() {
        let ds = sample();
        let rm = ds.to_row_major();
        assert_eq!(rm[0..2], [1.0, 10.0]);
        assert_eq!(rm[2..4], [2.0, 20.0]);
        assert_eq!(ds.row(1), vec![2.0, 20.0]);
    }

    #[test]
    fn cast_preserves_values_and_mask() {
        let ds = sample().cast::<f32>();
        assert_eq!(ds.column(1), &[10.0f32, 20.0, 30.0]);
        assert!(ds.is_missing(2, 0));
    }

    #[test]
    fn bitmap_basics() {
        let mut b = Bitmap::new(130);
        b.set(0);
        b.set(129);
        assert!(b.get(0) && b.get(129) && !b.get(64) && !b.get(500));
        assert_eq!(b.count_ones(), 2);
    }
}
