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

/// `scripts/install` copies the optimised build to the install folder and says how to put that
/// folder on the PATH. The build itself is a stand-in `cargo` (a real release build takes a
/// quarter of an hour); what is tested is the script's own work.
#[test]
fn install_copies_the_build_and_says_how_to_reach_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let fake_bin = tmp.path().join("bin");
    std::fs::create_dir(&fake_bin).unwrap();
    let cargo = fake_bin.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\n[ \"$1 $2\" = \"build --release\" ] || exit 3\nmkdir -p \"$CARGO_TARGET_DIR/release\"\nprintf '#!/bin/sh\\necho smelt 9.9.9\\n' > \"$CARGO_TARGET_DIR/release/smelt\"\nchmod +x \"$CARGO_TARGET_DIR/release/smelt\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dest = tmp.path().join("dest");
    let path = format!("{}:/usr/bin:/bin", fake_bin.display());
    let o = Command::new("bash")
        .arg("scripts/install")
        .current_dir(repo_root())
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", tmp.path().join("target"))
        .env("SMELT_INSTALL_DIR", &dest)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("about 16 minutes on 2 cores"), "{stdout}");
    assert!(
        stdout.contains(&format!("installed {}/smelt (smelt 9.9.9)", dest.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} is not on your PATH", dest.display())),
        "{stdout}"
    );
    let mode = std::fs::metadata(dest.join("smelt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
}
