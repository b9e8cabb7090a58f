//! `ColumnTransformer`: routes columns, by name or by kind, through separate chains of
//! transformers and concatenates the results (scikit-learn's `ColumnTransformer` with each
//! branch a small pipeline).
//!
//! ```
//! use smelt_learn::compose::{Branch, ColumnTransformerParams, Selector};
//! use smelt_learn::preprocessing::{OneHotEncoderParams, SimpleImputerParams, StandardScalerParams};
//!
//! let prep = ColumnTransformerParams::new()
//!     .branch(Branch::new("num", Selector::Numeric)
//!         .step(SimpleImputerParams::default())
//!         .step(StandardScalerParams::default()))
//!     .branch(Branch::new("cat", Selector::Categorical).step(OneHotEncoderParams::default()));
//! ```

use std::collections::HashSet;

use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, FitTransform,
    ParamError, Registry, Result, Transform, UnknownCategory,
};

/// Which columns a branch takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// These columns, by name.
    Names(Vec<String>),
    /// Every numeric feature not taken by an earlier branch.
    Numeric,
    /// Every categorical feature not taken by an earlier branch.
    Categorical,
}

/// One branch: a name, its columns and the chain of transformers applied to them.
#[derive(Debug)]
pub struct Branch {
    /// Branch name (shown in errors and the model file).
    pub name: String,
    /// Its columns.
    pub columns: Selector,
    /// Transformers applied in order (none: pass the columns through).
    pub steps: Vec<Box<dyn FitTransform>>,
}

impl Branch {
    /// A branch with no step yet.
    pub fn new(name: impl Into<String>, columns: Selector) -> Self {
        Branch {
            name: name.into(),
            columns,
            steps: Vec::new(),
        }
    }

    /// Appends a transformer.
    pub fn step(mut self, t: impl FitTransform + 'static) -> Self {
        self.steps.push(Box::new(t));
        self
    }
}

/// What happens to columns no branch takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Remainder {
    /// Left out (scikit-learn's default).
    #[default]
    Drop,
    /// Appended unchanged after the branches' outputs.
    Passthrough,
}

/// Parameters of [`ColumnTransformer`].
#[derive(Debug, Default)]
pub struct ColumnTransformerParams {
    /// Branches, applied to disjoint column sets.
    pub branches: Vec<Branch>,
    /// Untaken columns (default: drop).
    pub remainder: Remainder,
}

impl ColumnTransformerParams {
    /// No branch yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a branch.
    pub fn branch(mut self, b: Branch) -> Self {
        self.branches.push(b);
        self
    }

    /// Sets `remainder`.
    pub fn remainder(mut self, r: Remainder) -> Self {
        self.remainder = r;
        self
    }
}

#[derive(Debug)]
struct FittedBranch {
    name: String,
    columns: Vec<Feature>,
    steps: Vec<Box<dyn Transform>>,
}

/// A fitted column transformer.
#[derive(Debug)]
pub struct ColumnTransformer {
    input: Vec<Feature>,
    branches: Vec<FittedBranch>,
    remainder: Vec<Feature>,
}

impl ColumnTransformer {
    /// Kind in model files.
    pub const KIND: &'static str = "column_transformer";

    /// The fitted branches in output order: each one's name, the columns it takes and its
    /// fitted steps (none: the columns pass through).
    pub fn branches(&self) -> impl Iterator<Item = (&str, &[Feature], &[Box<dyn Transform>])> {
        self.branches
            .iter()
            .map(|b| (b.name.as_str(), b.columns.as_slice(), b.steps.as_slice()))
    }

    /// The columns passed through unchanged after the branches' outputs (empty with
    /// `remainder = drop`).
    pub fn remainder(&self) -> &[Feature] {
        &self.remainder
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, registry: &Registry) -> Result<Box<dyn Transform>> {
        let input: Vec<Feature> = r.get("input")?;
        let remainder: Vec<Feature> = r.get("remainder")?;
        let n: usize = r.get("n_branches")?;
        let mut branches = Vec::with_capacity(n);
        for b in 0..n {
            let br = r.child(&format!("branch{b}"))?;
            let n_steps: usize = br.get("n_steps")?;
            let steps = (0..n_steps)
                .map(|s| registry.load_transform(&br.child(&format!("step{s}"))?))
                .collect::<Result<Vec<_>>>()?;
            branches.push(FittedBranch {
                name: br.get("name")?,
                columns: br.get("columns")?,
                steps,
            });
        }
        Ok(Box::new(ColumnTransformer {
            input,
            branches,
            remainder,
        }))
    }
}

fn select(data: &Dataset<f64>, cols: &[Feature]) -> Result<Dataset<f64>> {
    Ok(data.conform(cols, UnknownCategory::Append)?.into_owned())
}

/// The parts' columns side by side, with `source`'s target: one part is returned as it is (its
/// matrix kept), several are copied once into one matrix.
fn concat(source: &Dataset<f64>, mut parts: Vec<Dataset<f64>>) -> Result<Dataset<f64>> {
    let target = source.named_target();
    parts.retain(|p| p.n_features() > 0);
    let n = source.n_rows();
    if parts.len() == 1 {
        let (rows, values, features, missing, _) = parts.remove(0).into_parts();
        return Dataset::from_parts(rows, values, features, missing, target);
    }
    let total: usize = parts.iter().map(Dataset::n_features).sum();
    let mut values = Vec::with_capacity(n * total);
    let mut features = Vec::with_capacity(total);
    let mut missing = Vec::with_capacity(total);
    for p in parts {
        let (_, v, f, m, _) = p.into_parts();
        values.extend_from_slice(&v);
        features.extend(f);
        missing.extend(m);
    }
    Dataset::from_parts(n, values, features, missing, target)
}

impl FitTransform for ColumnTransformerParams {
    fn name(&self) -> &'static str {
        "ColumnTransformer"
    }

    fn check(&self) -> Vec<ParamError> {
        let mut out: Vec<ParamError> = self
            .branches
            .iter()
            .flat_map(|b| b.steps.iter().flat_map(|s| s.check()))
            .collect();
        let mut names = HashSet::new();
        for b in &self.branches {
            if !names.insert(b.name.as_str()) {
                out.push(ParamError {
                    estimator: "ColumnTransformer",
                    param: "branches",
                    allowed: "unique branch names".into(),
                    got: format!("`{}` twice", b.name),
                });
            }
        }
        out
    }

    fn fit_transform(&self, data: &Dataset<f64>) -> Result<(Box<dyn Transform>, Dataset<f64>)> {
        let errors = FitTransform::check(self);
        if !errors.is_empty() {
            return Err(CoreError::Params(errors));
        }
        let mut taken: HashSet<String> = HashSet::new();
        let mut branches = Vec::new();
        let mut out_cols = Vec::new();
        for b in &self.branches {
            let cols: Vec<Feature> = match &b.columns {
                Selector::Names(names) => {
                    let mut v = Vec::new();
                    for n in names {
                        let j = data.feature_index(n).ok_or_else(|| {
                            let all: Vec<String> =
                                data.feature_names().map(str::to_string).collect();
                            CoreError::MissingColumn {
                                name: n.clone(),
                                suggestion: smelt_core::text::closest(n, &all).map(str::to_string),
                            }
                        })?;
                        v.push(data.features()[j].clone());
                    }
                    v
                }
                Selector::Numeric => data
                    .features()
                    .iter()
                    .filter(|f| f.kind == FeatureKind::Numeric && !taken.contains(&f.name))
                    .cloned()
                    .collect(),
                Selector::Categorical => data
                    .features()
                    .iter()
                    .filter(|f| {
                        matches!(f.kind, FeatureKind::Categorical { .. })
                            && !taken.contains(&f.name)
                    })
                    .cloned()
                    .collect(),
            };
            for c in &cols {
                taken.insert(c.name.clone());
            }
            let mut d = select(data, &cols)?;
            let mut steps = Vec::new();
            if !cols.is_empty() {
                // The selected columns are a copy of our own: each step may rewrite them.
                for s in &b.steps {
                    let (t, out) = s.fit_transform_owned(d)?;
                    steps.push(t);
                    d = out;
                }
            }
            out_cols.push(d);
            branches.push(FittedBranch {
                name: b.name.clone(),
                columns: cols,
                steps,
            });
        }
        let remainder: Vec<Feature> = match self.remainder {
            Remainder::Drop => Vec::new(),
            Remainder::Passthrough => data
                .features()
                .iter()
                .filter(|f| !taken.contains(&f.name))
                .cloned()
                .collect(),
        };
        out_cols.push(select(data, &remainder)?);
        let mut input: Vec<Feature> = branches.iter().flat_map(|b| b.columns.clone()).collect();
        input.extend(remainder.iter().cloned());
        let out = concat(data, out_cols)?;
        Ok((
            Box::new(ColumnTransformer {
                input,
                branches,
                remainder,
            }),
            out,
        ))
    }
}

impl Transform for ColumnTransformer {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn cross_fitted(&self) -> bool {
        self.branches
            .iter()
            .any(|b| b.steps.iter().any(|s| s.cross_fitted()))
    }

    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output_features(&self) -> Vec<Feature> {
        let mut out = Vec::new();
        for b in &self.branches {
            match b.steps.last() {
                Some(t) => out.extend(t.output_features()),
                None => out.extend(b.columns.iter().cloned()),
            }
        }
        out.extend(self.remainder.iter().cloned());
        out
    }

    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        let data = data.conform(&self.input, UnknownCategory::Append)?;
        let mut out_cols = Vec::new();
        for b in &self.branches {
            let mut d = select(&data, &b.columns)?;
            for t in &b.steps {
                d = t.transform_owned(d)?;
            }
            out_cols.push(d);
        }
        out_cols.push(select(&data, &self.remainder)?);
        concat(&data, out_cols)
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.put("input", &self.input)?;
        w.put("remainder", &self.remainder)?;
        w.put("n_branches", &self.branches.len())?;
        for (i, b) in self.branches.iter().enumerate() {
            w.child(&format!("branch{i}"), |bw| {
                bw.put("name", &b.name)?;
                bw.put("columns", &b.columns)?;
                bw.put("n_steps", &b.steps.len())?;
                for (s, t) in b.steps.iter().enumerate() {
                    bw.transform(&format!("step{s}"), t.as_ref())?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}
