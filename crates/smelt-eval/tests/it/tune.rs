//! Studies end to end: a TOML space, TPE, pruning, failures, budgets.

use std::time::Duration;

use smelt_eval::tune::{
    Direction, GridSampler, MedianPruner, RandomSampler, Space, Study, TpeSampler, TrialState,
};

fn space() -> Space {
    Space::from_toml(
        r#"
learning_rate = "loguniform(1e-3, 1)"
max_depth = "int(2, 12)"
loss = "choice(log_loss, exponential)"
"#,
        "space.toml",
    )
    .unwrap()
}

/// A smooth objective with a known best: learning_rate 0.1, max_depth 6, loss log_loss.
fn score(p: &serde_json::Map<String, serde_json::Value>) -> f64 {
    let lr = p["learning_rate"].as_f64().unwrap().log10();
    let d = p["max_depth"].as_i64().unwrap() as f64;
    let loss = if p["loss"] == "log_loss" { 0.0 } else { 0.05 };
    0.9 - 0.05 * (lr + 1.0).powi(2) - 0.002 * (d - 6.0).powi(2) - loss
}

#[test]
fn tpe_finds_the_optimum_region_and_prunes() {
    let mut study = Study::new(space(), Direction::Maximize, Box::new(TpeSampler::new(0)))
        .with_pruner(MedianPruner::default());
    let mut seen = 0;
    study
        .optimize(
            50,
            None,
            |trial| {
                let s = score(trial.params());
                // Five "folds", each reporting the running mean.
                for fold in 0..5 {
                    trial.report(fold, s - 0.01 * (4 - fold) as f64)?;
                }
                Ok(s)
            },
            |_, best| {
                seen += 1;
                assert!(best.is_some());
            },
        )
        .unwrap();
    assert_eq!(seen, 50);
    let best = study.best().unwrap();
    let states: Vec<_> = study.trials().iter().map(|t| (t.state, t.value)).collect();
    assert!(best.value.unwrap() > 0.88, "{best:?} {states:?}");
    let pruned = study
        .trials()
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .count();
    assert!(pruned > 5, "{pruned} pruned");
    // A pruned trial stopped before its last fold.
    assert!(
        study
            .trials()
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .all(|t| t.intermediate.len() < 5)
    );
}

#[test]
fn failures_are_recorded_not_fatal() {
    let mut study = Study::new(
        space(),
        Direction::Maximize,
        Box::new(RandomSampler::new(1)),
    );
    study
        .optimize(
            20,
            None,
            |trial| {
                if trial.params()["loss"] == "exponential" {
                    Err(smelt_eval::EvalError::input(
                        "fit",
                        "exponential loss refused",
                    ))
                } else {
                    Ok(score(trial.params()))
                }
            },
            |_, _| {},
        )
        .unwrap();
    let failed: Vec<_> = study
        .trials()
        .iter()
        .filter(|t| t.state == TrialState::Failed)
        .collect();
    assert!(!failed.is_empty());
    assert!(failed[0].error.as_deref().unwrap().contains("refused"));
    // Every trial failing is an error that quotes the first failure.
    let mut study = Study::new(
        space(),
        Direction::Maximize,
        Box::new(RandomSampler::new(1)),
    );
    let e = study
        .optimize(
            3,
            None,
            |_| Err(smelt_eval::EvalError::input("fit", "nope")),
            |_, _| {},
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no trial completed") && e.contains("nope"),
        "{e}"
    );
}

#[test]
fn a_grid_ends_and_a_timeout_stops() {
    let mut study = Study::new(
        Space::from_args(&["a=choice(1,2,3)".into(), "b=choice(x,y)".into()]).unwrap(),
        Direction::Minimize,
        Box::new(GridSampler::new(5, 0)),
    );
    study
        .optimize(
            100,
            None,
            |t| Ok(t.params()["a"].as_f64().unwrap()),
            |_, _| {},
        )
        .unwrap();
    assert_eq!(study.trials().len(), 6);
    assert_eq!(study.best().unwrap().value, Some(1.0));
    let mut study = Study::new(space(), Direction::Maximize, Box::new(TpeSampler::new(0)));
    study
        .optimize(
            1000,
            Some(Duration::from_millis(30)),
            |t| {
                std::thread::sleep(Duration::from_millis(10));
                Ok(score(t.params()))
            },
            |_, _| {},
        )
        .unwrap();
    assert!(study.trials().len() < 10, "{}", study.trials().len());
}
