//! `scripts/quickstart`, the README's first command, run whole with the test build of `smelt`
//! into a temporary folder: every step of the lifecycle must run and say what it did.

use std::process::Command;

use crate::repo_root;

#[test]
fn quickstart_walks_the_whole_lifecycle() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new("bash")
        .arg("scripts/quickstart")
        .current_dir(repo_root())
        .env("SMELT_BIN", insta_cmd::get_cargo_bin("smelt"))
        .env("SMELT_QUICKSTART_OUT", tmp.path())
        .env("NO_COLOR", "1")
        .env_remove("SMELT_TRACKING_URI")
        .env_remove("SMELT_ARTIFACTS_DESTINATION")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    // Each step, in order.
    let steps = [
        "$ smelt data inspect data/adult.csv",
        "all 11 rules hold",
        "train      39,074 rows",
        "Trained logistic_regression",
        "Trained hist_gradient_boosting_classifier",
        "registered adult-income version 1",
        "Evaluated models:/adult-income@champion",
        "roc_auc",
        "\"prediction\":",
        "No dataset drift",
        "Estimated performance (CBPE",
        "== Next",
        "smelt runs list --experiment adult",
    ];
    let mut at = 0;
    for s in steps {
        let found = stdout[at..].find(s);
        assert!(found.is_some(), "`{s}` missing after byte {at}:\n{stdout}");
        at += found.unwrap_or(0);
    }
    assert!(stderr.contains("wrote 9,768 predictions"), "{stderr}");
    for f in [
        "adult-report.html",
        "adult-monitor.html",
        "adult-predictions.csv",
        "smelt-runs/tracking.db",
    ] {
        assert!(tmp.path().join(f).is_file(), "{f}");
    }
    // The printed store finds the runs, as the script's last lines say.
    let store = format!("sqlite:///{}/smelt-runs/tracking.db", tmp.path().display());
    let o = crate::smelt()
        .args([
            "runs",
            "list",
            "--experiment",
            "adult",
            "--tracking-uri",
            &store,
        ])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(list.contains("gbdt") && list.contains("logistic"), "{list}");
}
