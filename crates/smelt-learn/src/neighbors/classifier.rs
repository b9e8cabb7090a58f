//! [`KNeighborsClassifier`]: class proportions among the nearest neighbours.

use smelt_core::model::classification_target;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Proba, Registry, Result,
};

use super::{Index, knn_params, weights_of};
use smelt_core::artifact::{load_common, save_common};

const NAME: &str = "KNeighborsClassifier";

knn_params!(
    /// Parameters of [`KNeighborsClassifier`] (scikit-learn's `KNeighborsClassifier`).
    KNeighborsClassifierParams,
    "KNeighborsClassifier"
);

/// A fitted k-nearest-neighbours classifier: the training rows and their classes.
#[derive(Clone, Debug, PartialEq)]
pub struct KNeighborsClassifier {
    params: KNeighborsClassifierParams,
    index: Index,
    classes: Vec<String>,
    codes: Vec<u32>,
}

impl Fit for KNeighborsClassifierParams {
    type Model = KNeighborsClassifier;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        self.param_errors()
    }

    /// Fits (stores the rows, builds the search structure). Sample weights are an error.
    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<KNeighborsClassifier> {
        self.validate()?;
        let (codes, classes) = classification_target(NAME, data)?;
        let index = Index::fit(NAME, data, w, self.search())?;
        Ok(KNeighborsClassifier {
            params: self.clone(),
            index,
            classes: classes.to_vec(),
            codes: codes.to_vec(),
        })
    }
}

impl KNeighborsClassifier {
    /// The model kind in model files.
    pub const KIND: &'static str = "k_neighbors_classifier";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &KNeighborsClassifierParams {
        &self.params
    }
    /// Class labels, in code order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// Number of training rows (`n_samples_fit_`).
    pub fn n_samples_fit(&self) -> usize {
        self.index.n
    }
    /// The search structure `algorithm` resolved to: `"kd_tree"` or `"brute"` (`_fit_method`).
    pub fn fit_method(&self) -> &'static str {
        self.index.fit_method()
    }

    /// The `k` nearest training rows of every row of `data`: distances and training row
    /// indices, each row-major `n_rows × k`, nearest first (ties: smaller training index).
    pub fn kneighbors(&self, data: &Dataset<f64>, k: usize) -> Result<(Vec<f64>, Vec<usize>)> {
        self.index.kneighbors(NAME, data, k)
    }

    /// Class probabilities, row-major `n_rows × n_classes` (`predict_proba`).
    pub fn predict_proba(&self, data: &Dataset<f64>) -> Result<Proba> {
        let k = self.params.n_neighbors;
        let (dist, ind) = self.kneighbors(data, k)?;
        let nc = self.classes.len();
        let nq = dist.len() / k;
        let mut values = vec![0.0; nq * nc];
        let mut w = vec![0.0; k];
        for (r, row) in values.chunks_mut(nc).enumerate() {
            weights_of(self.params.weights, &dist[r * k..(r + 1) * k], &mut w);
            for (t, &i) in ind[r * k..(r + 1) * k].iter().enumerate() {
                row[self.codes[i] as usize] += w[t];
            }
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
        Ok(Proba {
            n_classes: nc,
            values,
        })
    }

    /// Registry loader (rebuilds the search structure).
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, KNeighborsClassifierParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let (shape, x) = r.array("fit_x", 2)?;
        let (n, d) = (shape[0], shape[1]);
        if d != input.len() {
            return Err(r.invalid(format!("fit_x has {d} columns for {} inputs", input.len())));
        }
        let y = r.vector("y", n)?;
        let codes = y
            .iter()
            .map(|&c| {
                if c >= 0.0 && (c as usize) < classes.len() && c.fract() == 0.0 {
                    Ok(c as u32)
                } else {
                    Err(r.invalid(format!("class code {c} out of range")))
                }
            })
            .collect::<Result<Vec<u32>>>()?;
        let check = params.param_errors();
        if !check.is_empty() {
            return Err(CoreError::Params(check));
        }
        Ok(Box::new(KNeighborsClassifier {
            index: Index::build(input, x, n, params.search()),
            params,
            classes,
            codes,
        }))
    }
}

impl Predictor for KNeighborsClassifier {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.index.input
    }
    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: true,
        }
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let proba = self.predict_proba(data)?;
        Ok(Prediction::from_proba(proba, self.classes.clone()))
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.index.input, &self.params)?;
        w.put("classes", &self.classes)?;
        let (n, d) = (self.index.n, self.index.input.len());
        w.array("fit_x", &[n, d], &self.index.x)?;
        let y: Vec<f64> = self.codes.iter().map(|&c| c as f64).collect();
        w.array("y", &[n], &y)
    }
}
