//! [`KNeighborsRegressor`]: the (weighted) mean target of the nearest neighbours.

use smelt_core::model::finite_regression_target;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result,
};

use super::{Index, Weights, knn_params, weights_of};
use smelt_core::artifact::{load_common, save_common};

const NAME: &str = "KNeighborsRegressor";

knn_params!(
    /// Parameters of [`KNeighborsRegressor`] (scikit-learn's `KNeighborsRegressor`).
    KNeighborsRegressorParams,
    "KNeighborsRegressor"
);

/// A fitted k-nearest-neighbours regressor: the training rows and their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct KNeighborsRegressor {
    params: KNeighborsRegressorParams,
    index: Index,
    y: Vec<f64>,
}

impl Fit for KNeighborsRegressorParams {
    type Model = KNeighborsRegressor;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        self.param_errors()
    }

    /// Fits (stores the rows, builds the search structure). Sample weights are an error.
    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<KNeighborsRegressor> {
        self.validate()?;
        let index = Index::fit(NAME, data, w, self.search())?;
        let y = finite_regression_target(NAME, data)?;
        Ok(KNeighborsRegressor {
            params: self.clone(),
            index,
            y: y.to_vec(),
        })
    }
}

impl KNeighborsRegressor {
    /// The model kind in model files.
    pub const KIND: &'static str = "k_neighbors_regressor";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &KNeighborsRegressorParams {
        &self.params
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

    /// Registry loader (rebuilds the search structure).
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, KNeighborsRegressorParams) = load_common(r)?;
        let (shape, x) = r.array("fit_x", 2)?;
        let (n, d) = (shape[0], shape[1]);
        if d != input.len() {
            return Err(r.invalid(format!("fit_x has {d} columns for {} inputs", input.len())));
        }
        let y = r.vector("y", n)?;
        let check = params.param_errors();
        if !check.is_empty() {
            return Err(CoreError::Params(check));
        }
        Ok(Box::new(KNeighborsRegressor {
            index: Index::build(input, x, n, params.search()),
            params,
            y,
        }))
    }
}

impl Predictor for KNeighborsRegressor {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.index.input
    }
    fn output(&self) -> Output {
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let k = self.params.n_neighbors;
        let (dist, ind) = self.kneighbors(data, k)?;
        let mut w = vec![0.0; k];
        let values = dist
            .chunks(k)
            .zip(ind.chunks(k))
            .map(|(dr, ir)| match self.params.weights {
                Weights::Uniform => ir.iter().map(|&i| self.y[i]).sum::<f64>() / k as f64,
                Weights::Distance => {
                    weights_of(Weights::Distance, dr, &mut w);
                    let num: f64 = ir.iter().zip(&w).map(|(&i, wt)| self.y[i] * wt).sum();
                    num / w.iter().sum::<f64>()
                }
            })
            .collect();
        Ok(Prediction::Regression { values })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.index.input, &self.params)?;
        let (n, d) = (self.index.n, self.index.input.len());
        w.array("fit_x", &[n, d], &self.index.x)?;
        w.array("y", &[n], &self.y)
    }
}
