//! The stand-in reference rebuilt from a trained model's profile: the training table does not
//! drift against it, a shifted copy drifts exactly where it drifts against the real table, and
//! its quantiles are the profile's.

use std::path::{Path, PathBuf};

use smelt_core::profile::{ColumnProfile, ColumnStats, ReferenceProfile};
use smelt_monitor::drift::{ColumnInput, DriftConfig, drift_columns};
use smelt_monitor::profile::{STAND_IN_CAP, table_from_profile};
use smelt_monitor::table::{self, ColumnRole, Table, TableOptions, Values};

fn adult() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/adult.csv")
}

/// The profile of a logistic regression trained on adult.csv (its training split).
fn trained_profile() -> ReferenceProfile {
    let data = smelt_data::load(
        &adult(),
        &smelt_data::LoadOptions::default().with_target("income"),
    )
    .expect("load");
    let trained = smelt_workflow::train(
        &data,
        "logistic_regression",
        smelt_workflow::Params::new(),
        &smelt_workflow::train::TrainOptions::default(),
    )
    .expect("train");
    serde_json::from_value(trained.model.metadata()["profile"].clone()).expect("profile")
}

/// adult.csv with `age` + 15 and `hours_per_week` + 12 (other columns as they are).
fn shifted(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(adult()).expect("adult.csv");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for l in lines {
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        for (i, by) in [(0usize, 15i64), (12, 12)] {
            if let Ok(v) = f[i].parse::<i64>() {
                f[i] = (v + by).to_string();
            }
        }
        out.push_str(&f.join(","));
        out.push('\n');
    }
    let p = dir.join("shifted.csv");
    std::fs::write(&p, out).expect("write");
    p
}

fn options() -> TableOptions {
    TableOptions {
        target: Some("income".into()),
        ..TableOptions::default()
    }
}

/// Each feature's drift verdict, by name.
fn verdicts(reference: &Table, current: &Table) -> Vec<(String, bool)> {
    let mut inputs = Vec::new();
    for c in current
        .columns
        .iter()
        .filter(|c| c.role == ColumnRole::Feature)
    {
        let Some(r) = reference.column(&c.name) else {
            continue;
        };
        inputs.push(match (&r.values, &c.values) {
            (Values::Numeric(a), Values::Numeric(b)) => ColumnInput::numerical(&c.name, a, b),
            (Values::Categorical { codes: a, labels }, Values::Categorical { codes: b, .. }) => {
                ColumnInput::categorical(&c.name, a, b, labels)
            }
            _ => panic!("{}: kinds differ", c.name),
        });
    }
    let mut out: Vec<(String, bool)> = drift_columns(&inputs, &DriftConfig::default())
        .expect("drift")
        .into_iter()
        .map(|d| (d.column, d.drifted))
        .collect();
    out.sort();
    out
}

#[test]
fn the_stand_in_reference_gives_the_real_tables_verdicts() {
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained_profile();
    let mut stand_in = table_from_profile(&profile, STAND_IN_CAP).expect("stand-in");
    assert_eq!(stand_in.n_rows, profile.rows);
    assert!(
        stand_in
            .columns
            .iter()
            .all(|c| c.values.len() == profile.rows)
    );
    // The outputs are named as the prediction log names them.
    let roles: Vec<(&str, ColumnRole)> = stand_in
        .columns
        .iter()
        .filter(|c| c.role != ColumnRole::Feature)
        .map(|c| (c.name.as_str(), c.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("income", ColumnRole::Target),
            ("prediction", ColumnRole::Prediction),
            ("proba_>50K", ColumnRole::Prediction),
        ]
    );

    // The training table itself does not drift from its own profile.
    let (same, _) = table::load_current(&adult(), &mut stand_in, &options()).expect("current");
    let clean = verdicts(&stand_in, &same);
    assert_eq!(clean.len(), 14);
    assert!(clean.iter().all(|(_, d)| !d), "{clean:?}");

    // A shifted copy drifts where it drifts against the real table, and only there.
    let moved = shifted(tmp.path());
    let (cur, _) = table::load_current(&moved, &mut stand_in, &options()).expect("current");
    let by_profile = verdicts(&stand_in, &cur);
    let mut real = table::load_reference(&adult(), &options()).expect("reference");
    let (cur, _) = table::load_current(&moved, &mut real, &options()).expect("current");
    let by_table = verdicts(&real, &cur);
    assert_eq!(by_profile, by_table);
    let drifted: Vec<&str> = by_profile
        .iter()
        .filter(|(_, d)| *d)
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(drifted, ["age", "hours_per_week"]);
}

#[test]
fn the_stand_ins_quantiles_are_the_profiles_within_one_step() {
    let profile = trained_profile();
    let stand_in = table_from_profile(&profile, STAND_IN_CAP).expect("stand-in");
    let mut checked = 0;
    for p in profile.columns.iter().chain(&profile.score) {
        let ColumnStats::Numeric { quantiles: q, .. } = &p.stats else {
            continue;
        };
        let name = if p.name == "score" {
            "proba_>50K"
        } else {
            p.name.as_str()
        };
        let Some(Values::Numeric(v)) = stand_in.column(name).map(|c| &c.values) else {
            panic!("{name} is numeric");
        };
        let again = ColumnProfile::numeric(name, v.iter().copied());
        assert_eq!((again.count, again.missing), (p.count, p.missing), "{name}");
        let ColumnStats::Numeric { quantiles: r, .. } = &again.stats else {
            panic!("numeric");
        };
        let last = q.len() - 1;
        for k in 0..=last {
            let (lo, hi) = (q[k.saturating_sub(1)], q[(k + 1).min(last)]);
            let slack = 1e-9 * (q[last] - q[0]).abs().max(1.0);
            assert!(
                r[k] >= lo - slack && r[k] <= hi + slack,
                "{name}: quantile {k} is {} outside [{lo}, {hi}]",
                r[k]
            );
        }
        checked += 1;
    }
    // age, fnlwgt, educational_num, capital_gain, capital_loss, hours_per_week and the score.
    assert_eq!(checked, 7);
}

#[test]
fn a_large_profile_is_scaled_to_the_cap_keeping_shares() {
    let profile = trained_profile();
    let t = table_from_profile(&profile, 1000).expect("stand-in");
    assert_eq!(t.n_rows, 1000);
    let wc = profile
        .columns
        .iter()
        .find(|c| c.name == "workclass")
        .expect("workclass");
    let ColumnStats::Categorical { counts, .. } = &wc.stats else {
        panic!("categorical");
    };
    let Some(Values::Categorical { codes, .. }) = t.column("workclass").map(|c| &c.values) else {
        panic!("categorical");
    };
    for (k, &n) in counts.iter().enumerate() {
        let got = codes.iter().filter(|&&c| c == k as u32).count() as f64 / 1000.0;
        let want = n as f64 / profile.rows as f64;
        assert!((got - want).abs() <= 0.001 + 1e-12, "{k}: {got} vs {want}");
    }
}
