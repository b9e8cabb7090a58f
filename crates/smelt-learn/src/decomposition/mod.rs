//! Matrix decompositions used as transformers: principal component analysis.

mod pca;

pub use pca::{IteratedPower, NComponents, Pca, PcaParams, SvdSolver};
