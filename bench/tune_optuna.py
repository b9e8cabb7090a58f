"""Tuning benchmark (issue 14): Smelt's TPE (`smelt tune --sampler tpe`) against Optuna's
TPESampler with the same number of trials, on three bundled tables, 5 seeds each.

    python bench/tune_optuna.py SMELT_BINARY [--trials 50] [--seeds 5] > results.jsonl

Both sides search the same space for the same model on the same folds: unshuffled stratified
(classification) or plain (regression) 5-fold splits, which Smelt cuts exactly as
scikit-learn's StratifiedKFold / KFold(shuffle=False) do, and the same preprocessing (median
imputation + standard scaling where Smelt's default pipeline scales). Smelt's models are
checked against scikit-learn's elsewhere (SVC, CART), so the objectives nearly coincide and the
comparison is of the samplers. Neither side prunes (`--no-prune`; Optuna without a pruner).
The seed only moves the sampler (the folds are unshuffled).

Per study it prints one JSON line: tool, table, seed, best CV score, wall seconds, and the
sampler's own overhead per trial (Smelt: `overhead_seconds_per_trial` from `smelt tune
--json`, the study's time outside the objective; Optuna: the study's wall time minus the
objective's, over the trials), then a summary line per table: median best score per tool over
the seeds, and the median overhead.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import optuna
import pandas as pd
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# (name, file, target, ignored columns, smelt model, smelt space, scoring, task)
CASES = [
    (
        "breast_cancer/svc",
        "data/breast_cancer.csv",
        "target",
        [],
        "svc",
        ["C=loguniform(0.01,1000)", "gamma=loguniform(0.0001,1)"],
        "accuracy",
        "classification",
    ),
    (
        "housing/decision_tree",
        "data/housing.csv",
        "med_house_val",
        [],
        "decision_tree_regressor",
        ["max_depth=int(2,30)", "min_samples_leaf=int(1,200)", "min_samples_split=int(2,100)"],
        "r2",
        "regression",
    ),
    (
        "seattle_weather/decision_tree",
        "data/seattle_weather.csv",
        "weather",
        ["date"],
        "decision_tree_classifier",
        [
            "max_depth=int(1,20)",
            "min_samples_leaf=int(1,100)",
            "criterion=choice(gini,entropy)",
        ],
        "accuracy",
        "classification",
    ),
]


def optuna_space(trial, name):
    if name.startswith("breast_cancer"):
        return SVC(
            C=trial.suggest_float("C", 0.01, 1000, log=True),
            gamma=trial.suggest_float("gamma", 1e-4, 1, log=True),
        ), True
    if name.startswith("housing"):
        return DecisionTreeRegressor(
            max_depth=trial.suggest_int("max_depth", 2, 30),
            min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 200),
            min_samples_split=trial.suggest_int("min_samples_split", 2, 100),
            random_state=0,
        ), False
    return DecisionTreeClassifier(
        max_depth=trial.suggest_int("max_depth", 1, 20),
        min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 100),
        criterion=trial.suggest_categorical("criterion", ["gini", "entropy"]),
        random_state=0,
    ), False


def run_smelt(binary, case, seed, trials, schema_dir):
    name, file, target, ignore, model, space, scoring, _ = case
    args = [binary, "tune", os.path.join(ROOT, file), "--target", target, "--model", model,
            "--trials", str(trials), "--sampler", "tpe", "--no-prune", "--no-shuffle",
            "--seed", str(seed), "--metric", scoring, "--json", "--threads", "2"]
    if ignore:
        schema = os.path.join(schema_dir, name.replace("/", "_") + ".toml")
        with open(schema, "w") as f:
            f.write("ignore = [" + ", ".join(f'"{c}"' for c in ignore) + "]\n")
        args += ["--schema", schema]
    for p in space:
        args += ["-p", p]
    t = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "SMELT_NO_TRACK": "1"})
    wall = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"smelt tune failed on {name}: {out.stderr}")
    d = json.loads(out.stdout)
    return {"tool": "smelt", "case": name, "seed": seed, "best": d["best_value"],
            "seconds": round(wall, 3), "overhead_ms_per_trial": round(d["overhead_seconds_per_trial"] * 1e3, 3)}


def run_optuna(case, seed, trials):
    name, file, target, ignore, _, _, scoring, task = case
    df = pd.read_csv(os.path.join(ROOT, file))
    y = df[target]
    X = df.drop(columns=[target, *ignore]).to_numpy(dtype=float)
    cv = StratifiedKFold(5) if task == "classification" else KFold(5)
    spent = [0.0]

    def objective(trial):
        est, scale = optuna_space(trial, name)
        steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else []) + [est]
        t = time.perf_counter()
        s = cross_val_score(make_pipeline(*steps), X, y, cv=cv, scoring=scoring).mean()
        spent[0] += time.perf_counter() - t
        return s

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    t = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    wall = time.perf_counter() - t
    return {"tool": "optuna", "case": name, "seed": seed, "best": study.best_value,
            "seconds": round(wall, 3), "overhead_ms_per_trial": round((wall - spent[0]) / trials * 1e3, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("smelt")
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as schema_dir:
        for case in CASES:
            for seed in range(a.seeds):
                for r in (run_smelt(a.smelt, case, seed, a.trials, schema_dir), run_optuna(case, seed, a.trials)):
                    print(json.dumps(r), flush=True)
                    rows.append(r)
    for case in CASES:
        summary = {"case": case[0], "trials": a.trials, "seeds": a.seeds,
                   "versions": f"optuna {optuna.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}"}
        for tool in ("smelt", "optuna"):
            mine = [r for r in rows if r["case"] == case[0] and r["tool"] == tool]
            summary[f"{tool}_median_best"] = statistics.median(r["best"] for r in mine)
            summary[f"{tool}_median_overhead_ms"] = statistics.median(r["overhead_ms_per_trial"] for r in mine)
            summary[f"{tool}_median_seconds"] = statistics.median(r["seconds"] for r in mine)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
