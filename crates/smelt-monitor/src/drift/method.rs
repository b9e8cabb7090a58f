//! The drift methods, named and thresholded as Evidently registers them
//! (`StatTest(...)` in `evidently/legacy/calculations/stattests/*.py`, 0.7.21).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::column::ColumnKind;
use crate::error::{MonitorError, Result};

/// A drift method: a two-sample test (drift when its p-value is below the threshold) or a
/// distance (drift when it reaches the threshold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Two-sample Kolmogorov–Smirnov (`ks`): p ≤ 0.05. Numerical.
    #[serde(rename = "ks")]
    Ks,
    /// Pearson's chi-square of current counts against reference shares (`chisquare`):
    /// p < 0.05.
    #[serde(rename = "chisquare")]
    ChiSquare,
    /// Two-proportion Z-test, the first value (in sorted order) against the rest (`z`):
    /// p < 0.05.
    #[serde(rename = "z")]
    Z,
    /// Wasserstein distance normed by the reference's standard deviation (`wasserstein`):
    /// ≥ 0.1. Numerical.
    #[serde(rename = "wasserstein")]
    Wasserstein,
    /// Jensen–Shannon distance on Evidently's bins (`jensenshannon`): ≥ 0.1.
    #[serde(rename = "jensenshannon")]
    JensenShannon,
    /// Population Stability Index on Evidently's bins (`psi`): ≥ 0.1.
    #[serde(rename = "psi")]
    Psi,
    /// Kullback–Leibler divergence on Evidently's bins (`kl_div`): ≥ 0.1.
    #[serde(rename = "kl_div")]
    KlDiv,
    /// Hellinger distance (`hellinger`): ≥ 0.1.
    #[serde(rename = "hellinger")]
    Hellinger,
    /// Anderson–Darling k-sample test (`anderson`): p < 0.1. Numerical.
    #[serde(rename = "anderson")]
    Anderson,
    /// Cramér–von Mises two-sample test (`cramer_von_mises`): p ≤ 0.1. Numerical.
    #[serde(rename = "cramer_von_mises")]
    CramerVonMises,
    /// Mann–Whitney U test (`mannw`): p < 0.05. Numerical. Two-sided in Smelt.
    #[serde(rename = "mannw")]
    MannWhitney,
    /// Total variation distance with a permutation p-value (`TVD`): p < 0.1.
    #[serde(rename = "TVD")]
    Tvd,
    /// Chi-square test of homogeneity of the two samples (`chi2_contingency`, SciPy's name; not
    /// in Evidently): p < 0.05. Smelt's default where Evidently picks `chisquare`, whose
    /// expected counts treat the reference shares as exact and so flag i.i.d. samples far more
    /// often than its level.
    #[serde(rename = "chi2_contingency")]
    Chi2Contingency,
}

/// How a method's value is compared with its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Drift when the p-value is at most the threshold (`ks`, `cramer_von_mises`).
    PValueAtMost,
    /// Drift when the p-value is below the threshold (the other tests).
    PValueBelow,
    /// Drift when the distance is at least the threshold.
    DistanceAtLeast,
}

impl Method {
    /// Every method, in Evidently's registry order, then Smelt's own.
    pub const ALL: [Method; 13] = [
        Method::Ks,
        Method::ChiSquare,
        Method::Z,
        Method::Wasserstein,
        Method::JensenShannon,
        Method::Psi,
        Method::KlDiv,
        Method::Hellinger,
        Method::Anderson,
        Method::CramerVonMises,
        Method::MannWhitney,
        Method::Tvd,
        Method::Chi2Contingency,
    ];

    /// The name as Evidently spells it (`"ks"`, `"TVD"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::ChiSquare => "chisquare",
            Method::Z => "z",
            Method::Wasserstein => "wasserstein",
            Method::JensenShannon => "jensenshannon",
            Method::Psi => "psi",
            Method::KlDiv => "kl_div",
            Method::Hellinger => "hellinger",
            Method::Anderson => "anderson",
            Method::CramerVonMises => "cramer_von_mises",
            Method::MannWhitney => "mannw",
            Method::Tvd => "TVD",
            Method::Chi2Contingency => "chi2_contingency",
        }
    }

    /// Evidently's `default_threshold`.
    pub fn default_threshold(self) -> f64 {
        match self {
            Method::Ks
            | Method::ChiSquare
            | Method::Chi2Contingency
            | Method::Z
            | Method::MannWhitney => 0.05,
            _ => 0.1,
        }
    }

    /// How the value is compared with the threshold (as each Evidently implementation does).
    pub fn verdict(self) -> Verdict {
        match self {
            Method::Ks | Method::CramerVonMises => Verdict::PValueAtMost,
            Method::ChiSquare
            | Method::Chi2Contingency
            | Method::Z
            | Method::Anderson
            | Method::MannWhitney
            | Method::Tvd => Verdict::PValueBelow,
            _ => Verdict::DistanceAtLeast,
        }
    }

    /// Whether the method is a test with a p-value (else a distance).
    pub fn has_p_value(self) -> bool {
        self.verdict() != Verdict::DistanceAtLeast
    }

    /// Whether `value` (the p-value of a test, the distance otherwise) means drift at
    /// `threshold`. A NaN value never does.
    pub fn is_drift(self, value: f64, threshold: f64) -> bool {
        match self.verdict() {
            Verdict::PValueAtMost => value <= threshold,
            Verdict::PValueBelow => value < threshold,
            Verdict::DistanceAtLeast => value >= threshold,
        }
    }

    /// Whether the method applies to a column kind. Tests on order (KS, Wasserstein,
    /// Anderson–Darling, Cramér–von Mises, Mann–Whitney) need numbers; the rest treat values as
    /// categories and apply to both (Evidently registers `chisquare`, `z` and `TVD` for
    /// categorical columns only, but picks `chisquare` and `z` for numerical columns with few
    /// values itself).
    pub fn applies_to(self, kind: ColumnKind) -> bool {
        match self {
            Method::Ks
            | Method::Wasserstein
            | Method::Anderson
            | Method::CramerVonMises
            | Method::MannWhitney => kind == ColumnKind::Numerical,
            _ => true,
        }
    }

    /// The names of all methods.
    pub fn names() -> Vec<String> {
        Method::ALL.iter().map(|m| m.name().to_string()).collect()
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = MonitorError;

    /// Parses Evidently's name; an unknown name is an error that suggests the closest one.
    fn from_str(s: &str) -> Result<Method> {
        Method::ALL
            .iter()
            .copied()
            .find(|m| m.name() == s)
            .ok_or_else(|| MonitorError::Invalid(unknown_method_message(s)))
    }
}

/// "unknown drift method `x`" with a did-you-mean hint and the list of methods.
pub(crate) fn unknown_method_message(s: &str) -> String {
    let names = Method::names();
    let hint = match smelt_core::text::closest(s, &names) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!("methods: {}", names.join(", ")),
    };
    format!("unknown drift method `{s}`\n\nhint: {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>().expect("known"), m);
            let json = serde_json::to_string(&m).expect("serialises");
            assert_eq!(json, format!("\"{}\"", m.name()));
        }
    }

    #[test]
    fn unknown_name_suggests() {
        let err = "psy".parse::<Method>().expect_err("unknown");
        assert!(err.to_string().contains("did you mean `psi`?"), "{err}");
        let err = "tvd".parse::<Method>().expect_err("case matters");
        assert!(err.to_string().contains("`TVD`"), "{err}");
    }

    #[test]
    fn comparisons_follow_evidently() {
        assert!(Method::Ks.is_drift(0.05, 0.05));
        assert!(!Method::ChiSquare.is_drift(0.05, 0.05));
        assert!(Method::Wasserstein.is_drift(0.1, 0.1));
        assert!(!Method::Psi.is_drift(f64::NAN, 0.1));
    }
}
