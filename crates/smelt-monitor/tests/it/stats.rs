//! `stats` against SciPy 1.17.1 on the fixtures of `tools/fixtures/monitor_stats.py`.
//!
//! Tolerance: statistics and p-values agree to `1e-9 · max(1, |expected|)` (absolute below 1,
//! relative above), where SciPy's value is exact up to rounding. Small p-values and tail
//! probabilities are also checked relatively (`TAIL_RTOL`), since an absolute 1e-9 says nothing
//! about a p-value of 1e-12.

use serde_json::Value;
use smelt_monitor::stats::{
    Alternative, anderson_ksamp, chi2_contingency, chisquare, cramervonmises_2samp, jensenshannon,
    kl_div, kolmogn_sf, ks_2samp, mannwhitneyu, smirnov_sf, special, wasserstein_distance,
};

const TOL: f64 = 1e-9;
/// Relative agreement of probabilities in (1e-300, 1e-3).
const TAIL_RTOL: f64 = 1e-9;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/stats/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture number: null is NaN, "inf" / "-inf" are infinities.
fn num(v: &Value) -> f64 {
    match v.as_str() {
        Some("inf") => f64::INFINITY,
        Some("-inf") => f64::NEG_INFINITY,
        _ => v.as_f64().unwrap_or(f64::NAN),
    }
}

fn vec(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

fn cases<'a>(fixture: &'a Value, key: &str) -> &'a [Value] {
    fixture[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("fixture has no `{key}`"))
}

#[track_caller]
fn check(what: &str, got: f64, want: f64) {
    if want.is_nan() {
        assert!(got.is_nan(), "{what}: got {got}, want NaN");
        return;
    }
    if want.is_infinite() {
        assert_eq!(got, want, "{what}");
        return;
    }
    let err = (got - want).abs();
    assert!(
        err <= TOL * want.abs().max(1.0),
        "{what}: got {got:e}, want {want:e} (error {err:.2e})"
    );
}

#[track_caller]
fn check_probability(what: &str, got: f64, want: f64) {
    check(what, got, want);
    if want > 1e-300 && want < 1e-3 {
        let rel = (got - want).abs() / want;
        assert!(
            rel <= TAIL_RTOL,
            "{what}: got {got:e}, want {want:e} (relative error {rel:.2e})"
        );
    }
}

struct Pairs(Value);

impl Pairs {
    fn get(&self, name: &str) -> (Vec<f64>, Vec<f64>) {
        let p = &self.0["pairs"][name];
        (vec(&p["a"]), vec(&p["b"]))
    }
}

#[test]
fn ks_2samp_matches_scipy() {
    let f = load("tests.json");
    let pairs = Pairs(f.clone());
    for c in cases(&f, "ks_2samp") {
        let name = c["name"].as_str().unwrap_or("?");
        let (a, b) = pairs.get(name);
        let r = ks_2samp(&a, &b).expect("valid samples");
        check(
            &format!("ks {name} statistic"),
            r.statistic,
            num(&c["statistic"]),
        );
        check_probability(&format!("ks {name} p"), r.p_value, num(&c["p_value"]));
    }
}

#[test]
fn ks_2samp_asymptotic_matches_scipy() {
    let f = load("large.json");
    for c in cases(&f, "ks_2samp") {
        let name = c["name"].as_str().unwrap_or("?");
        let (n1, n2, shift) = (num(&c["n1"]) as u64, num(&c["n2"]) as u64, num(&c["shift"]));
        let a: Vec<f64> = (0..n1).map(|i| (i * 7919 % 10007) as f64).collect();
        let b: Vec<f64> = (0..n2)
            .map(|j| (j * 104_729 % 10009) as f64 + shift)
            .collect();
        let r = ks_2samp(&a, &b).expect("valid samples");
        check(
            &format!("ks {name} statistic"),
            r.statistic,
            num(&c["statistic"]),
        );
        check_probability(&format!("ks {name} p"), r.p_value, num(&c["p_value"]));
    }
}

#[test]
fn mannwhitneyu_matches_scipy() {
    let f = load("tests.json");
    let pairs = Pairs(f.clone());
    for c in cases(&f, "mannwhitneyu") {
        let name = c["name"].as_str().unwrap_or("?");
        let alt = match c["alternative"].as_str() {
            Some("less") => Alternative::Less,
            Some("greater") => Alternative::Greater,
            _ => Alternative::TwoSided,
        };
        let (x, y) = pairs.get(name);
        let r = mannwhitneyu(&x, &y, alt).expect("valid samples");
        check(
            &format!("mwu {name} {alt:?} U"),
            r.statistic,
            num(&c["statistic"]),
        );
        check_probability(
            &format!("mwu {name} {alt:?} p"),
            r.p_value,
            num(&c["p_value"]),
        );
    }
}

#[test]
fn cramervonmises_matches_scipy() {
    let f = load("tests.json");
    let pairs = Pairs(f.clone());
    for c in cases(&f, "cramervonmises_2samp") {
        let name = c["name"].as_str().unwrap_or("?");
        let (x, y) = pairs.get(name);
        let r = cramervonmises_2samp(&x, &y).expect("valid samples");
        check(&format!("cvm {name} T"), r.statistic, num(&c["statistic"]));
        // The limiting distribution's series stops at terms below 1e-7 (as SciPy): agreement
        // is to rounding, but 1 - cdf loses relative precision in the far tail.
        check(&format!("cvm {name} p"), r.p_value, num(&c["p_value"]));
    }
}

#[test]
fn anderson_ksamp_matches_scipy() {
    let f = load("tests.json");
    let pairs = Pairs(f.clone());
    for c in cases(&f, "anderson_ksamp") {
        let name = c["name"].as_str().unwrap_or("?");
        let samples: Vec<Vec<f64>> = if c["samples"].is_null() {
            let (a, b) = pairs.get(name);
            vec![a, b]
        } else {
            c["samples"]
                .as_array()
                .map(|s| s.iter().map(vec).collect())
                .unwrap_or_default()
        };
        let refs: Vec<&[f64]> = samples.iter().map(Vec::as_slice).collect();
        let r = anderson_ksamp(&refs).expect("valid samples");
        check(
            &format!("anderson {name} A2"),
            r.statistic,
            num(&c["statistic"]),
        );
        for (i, (g, w)) in r
            .critical_values
            .iter()
            .zip(vec(&c["critical_values"]))
            .enumerate()
        {
            check(&format!("anderson {name} critical {i}"), *g, w);
        }
        check(&format!("anderson {name} p"), r.p_value, num(&c["p_value"]));
    }
}

#[test]
fn chisquare_matches_scipy() {
    let f = load("tests.json");
    for c in cases(&f, "chisquare") {
        let name = c["name"].as_str().unwrap_or("?");
        let r = chisquare(&vec(&c["f_obs"]), &vec(&c["f_exp"])).expect("valid counts");
        check(
            &format!("chisquare {name} stat"),
            r.statistic,
            num(&c["statistic"]),
        );
        let want_p = if c["p_value"].is_null() {
            f64::NAN
        } else {
            num(&c["p_value"])
        };
        check_probability(&format!("chisquare {name} p"), r.p_value, want_p);
    }
}

#[test]
fn chi2_contingency_matches_scipy() {
    let f = load("tests.json");
    for c in cases(&f, "chi2_contingency") {
        let name = c["name"].as_str().unwrap_or("?");
        let r = chi2_contingency(&vec(&c["a"]), &vec(&c["b"])).expect("valid counts");
        check(
            &format!("chi2_contingency {name} stat"),
            r.statistic,
            num(&c["statistic"]),
        );
        check_probability(
            &format!("chi2_contingency {name} p"),
            r.p_value,
            num(&c["p_value"]),
        );
    }
}

#[test]
fn distances_match_scipy() {
    let f = load("tests.json");
    let pairs = Pairs(f.clone());
    for c in cases(&f, "wasserstein_distance") {
        let name = c["name"].as_str().unwrap_or("?");
        let (mut u, mut v) = pairs.get(name);
        u.sort_by(f64::total_cmp);
        v.sort_by(f64::total_cmp);
        check(
            &format!("wasserstein {name}"),
            wasserstein_distance(&u, &v),
            num(&c["distance"]),
        );
    }
    for c in cases(&f, "jensenshannon") {
        let name = c["name"].as_str().unwrap_or("?");
        let got = jensenshannon(&vec(&c["p"]), &vec(&c["q"]));
        check(&format!("jensenshannon {name}"), got, num(&c["distance"]));
    }
    for c in cases(&f, "entropy") {
        let name = c["name"].as_str().unwrap_or("?");
        let got = kl_div(&vec(&c["p"]), &vec(&c["q"]));
        check(&format!("entropy {name}"), got, num(&c["value"]));
    }
}

#[test]
fn distribution_functions_match_scipy() {
    let f = load("special.json");
    for c in cases(&f, "kstwo_sf") {
        let (n, x) = (num(&c["n"]) as u64, num(&c["x"]));
        check_probability(
            &format!("kstwo.sf({x}, {n})"),
            kolmogn_sf(n, x),
            num(&c["sf"]),
        );
    }
    for c in cases(&f, "smirnov") {
        let (n, x) = (num(&c["n"]) as u64, num(&c["x"]));
        check_probability(
            &format!("smirnov({n}, {x})"),
            smirnov_sf(n, x),
            num(&c["sf"]),
        );
    }
    for c in cases(&f, "chi2_sf") {
        let (x, df) = (num(&c["x"]), num(&c["df"]));
        check_probability(
            &format!("chi2.sf({x}, {df})"),
            special::chi2_sf(x, df),
            num(&c["sf"]),
        );
    }
    for c in cases(&f, "ndtr") {
        let x = num(&c["x"]);
        check_probability(&format!("ndtr({x})"), special::ndtr(x), num(&c["value"]));
    }
    for c in cases(&f, "kve_quarter") {
        let x = num(&c["x"]);
        check(
            &format!("kve(1/4, {x})"),
            special::bessel_kve(0.25, x),
            num(&c["value"]),
        );
    }
}
