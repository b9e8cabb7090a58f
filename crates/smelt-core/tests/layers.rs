//! The crate layering, read from `cargo metadata`: every workspace crate depends (as a normal
//! dependency) only on crates of a lower floor, so dependencies point one way and crates of one
//! floor build in parallel. A new crate must be given its floor here. (The test of the whole
//! workspace lives in the bottom crate because its test binary links nothing heavy.)

use std::collections::BTreeMap;
use std::process::Command;

/// Floor of every workspace crate: 0 is the bottom.
const FLOORS: &[(&str, u32)] = &[
    ("smelt-core", 0),
    ("smelt-testkit", 1), // dev-dependency only
    ("smelt-data", 1),
    ("smelt-learn", 2),
    ("smelt-trees", 2),
    ("smelt-deep", 2),
    ("smelt-eval", 2),
    ("smelt-track", 2),
    ("smelt-workflow", 3),
    ("smelt-onnx", 3),
    ("smelt-monitor", 3),
    // The web UI (assets and its few JSON answers) is mounted by the tracking server.
    ("smelt-ui", 3),
    ("smelt-track-server", 4),
    ("smelt", 4),
    ("smelt-serve", 5),
    ("smelt-cli", 6),
];

#[test]
fn workspace_dependencies_point_down() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let floors: BTreeMap<&str, u32> = FLOORS.iter().copied().collect();
    let packages = meta["packages"].as_array().expect("packages");
    let mut problems = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        let Some(&floor) = floors.get(name) else {
            problems.push(format!("{name} has no floor in tests/layers.rs"));
            continue;
        };
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"].as_str().unwrap_or_default();
            let normal = d["kind"].is_null();
            let Some(&dep_floor) = floors.get(dep) else {
                continue; // not ours
            };
            if normal && dep_floor >= floor {
                problems.push(format!(
                    "{name} (floor {floor}) depends on {dep} (floor {dep_floor})"
                ));
            }
            if normal && dep == "smelt-testkit" {
                problems.push(format!("{name} depends on smelt-testkit outside its tests"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn trees_and_learn_build_in_parallel() {
    // The issue that moved the shared services into smelt-core: smelt-trees needed smelt-learn
    // only for them. Checked by name too, so that a floor change above cannot hide it.
    let toml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../smelt-trees/Cargo.toml"
    ))
    .expect("smelt-trees/Cargo.toml");
    let deps = toml
        .split("[dependencies]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .unwrap_or_default();
    assert!(!deps.contains("smelt-learn"), "{deps}");
}
