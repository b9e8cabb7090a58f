//! Multivariate drift: changes in the joint distribution of the features that per-column
//! tests can miss (a changed correlation with unchanged marginals), after NannyML 0.13.1.
//!
//! * [`reconstruction`]: NannyML's `DataReconstructionDriftCalculator`. Features are imputed
//!   (mean; most frequent category), categories replaced by their reference frequency,
//!   standardised, and projected on the principal components keeping 65 % of the reference
//!   variance (`smelt_learn`'s scaler and PCA, scikit-learn's); a row's reconstruction error is
//!   the Euclidean distance between it and its projection mapped back. A chunk's value is the
//!   mean error; a structure the reference's components do not capture raises it.
//! * [`domain`]: NannyML's `DomainClassifierCalculator`. A gradient-boosting classifier
//!   (Smelt's histogram GBDT with LightGBM's defaults, for NannyML's LightGBM) learns to tell a
//!   chunk's rows from the reference's; its cross-validated ROC AUC is the drift score (0.5: the
//!   same distribution, 1: fully separable), alerting outside [0.45, 0.65].
//!
//! Inputs are [`smelt_core::Dataset`]s of features (numeric or categorical), the analysis table
//! with the reference's columns, kinds and categories.
//!
//! ```
//! use smelt_core::{Dataset, Feature, FeatureKind, LogicalType};
//! use smelt_core::rng::SplitMix64;
//! use smelt_monitor::chunk::{Chunker, Incomplete};
//! use smelt_monitor::multivariate::DataReconstructionParams;
//!
//! // Two correlated features, then the same marginals with the correlation reversed.
//! let table = |rho: f64, seed: u64| {
//!     let mut rng = SplitMix64::new(seed);
//!     let n = 1000;
//!     let (mut a, mut b) = (Vec::new(), Vec::new());
//!     for _ in 0..n {
//!         let (z1, z2) = (rng.normal(), rng.normal());
//!         a.push(z1);
//!         b.push(rho * z1 + (1.0 - rho * rho).sqrt() * z2);
//!     }
//!     a.extend(b);
//!     let f = |name: &str| Feature {
//!         name: name.into(),
//!         ltype: LogicalType::Numeric,
//!         kind: FeatureKind::Numeric,
//!     };
//!     Dataset::new(n, a, vec![f("a"), f("b")], None)
//! };
//! let params = DataReconstructionParams {
//!     chunker: Chunker::Size { chunk_size: 200, incomplete: Incomplete::Keep },
//!     ..DataReconstructionParams::default()
//! };
//! let fitted = params.fit(&table(0.9, 1)?, None)?;
//! let drift = fitted.calculate(&table(-0.9, 2)?, None)?;
//! assert!(drift.chunks.iter().all(|c| c.alert));
//! # Ok::<(), smelt_monitor::MonitorError>(())
//! ```

pub mod domain;
pub mod reconstruction;

pub use domain::{DomainClassifier, DomainClassifierParams};
pub use reconstruction::{DataReconstruction, DataReconstructionParams};

use smelt_core::{Dataset, Feature};

use crate::error::{MonitorError, Result};

/// Checks that `analysis` has the reference's features (names, kinds, categories, order).
pub(crate) fn check_features(reference: &[Feature], analysis: &Dataset<f64>) -> Result<()> {
    if analysis.features() == reference {
        return Ok(());
    }
    let names = |f: &[Feature]| f.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    let (want, got) = (names(reference), names(analysis.features()));
    if let Some(missing) = want.iter().find(|n| !got.contains(n)) {
        return Err(MonitorError::Schema(format!(
            "column `{missing}` of the reference is missing from the analysis table"
        )));
    }
    Err(MonitorError::Schema(format!(
        "the analysis features differ from the reference's (order, kinds or categories): \
         expected {want:?}, got {got:?}\n\nhint: conform the analysis table to the reference's \
         schema"
    )))
}
