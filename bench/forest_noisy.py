"""scikit-learn's side of bench/forest_noisy.sh, and the test scores of both: a random forest on
gen_noisy.py's table, string columns one-hot encoded (OneHotEncoder, unknown levels ignored), NaN
passed to the forest (scikit-learn ≥ 1.4 splits on missing values natively).

    python forest_noisy.py DATA_DIR --task clf|reg --threads 2 --trees 100 [--rows N]
    python forest_noisy.py DATA_DIR --task clf|reg --score PREDICTIONS   # Smelt's predictions
Prints one JSON line.
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

CATS = ["c0", "c1", "c2"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--task", choices=["clf", "reg"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--rows", type=int, default=0)
    ap.add_argument("--score")
    a = ap.parse_args()
    target = "y" if a.task == "clf" else "price"
    test = pd.read_parquet(f"{a.data}/noisy_{a.task}_test.parquet")
    if a.score:
        p = pd.read_csv(a.score) if a.score.endswith(".csv") else pd.read_parquet(a.score)
        if a.task == "clf":
            out = {"tool": "smelt", "task": a.task, "test_auc": round(roc_auc_score(test[target], p["proba_1"]), 5)}
        else:
            out = {"tool": "smelt", "task": a.task, "test_rmse": round(float(np.sqrt(mean_squared_error(test[target], p["prediction"]))), 4)}
        print(json.dumps(out))
        return
    train = pd.read_parquet(f"{a.data}/noisy_{a.task}_train.parquet")
    if a.rows:
        train = train.iloc[: a.rows]
    X, y = train.drop(columns=[target]), train[target]
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATS)],
                            remainder="passthrough")
    Forest = RandomForestClassifier if a.task == "clf" else RandomForestRegressor
    model = make_pipeline(pre, Forest(n_estimators=a.trees, n_jobs=a.threads, random_state=0))
    t0 = time.perf_counter()
    model.fit(X, y)
    fit = time.perf_counter() - t0
    Xt = test.drop(columns=[target])
    out = {"tool": "scikit-learn", "task": a.task, "rows": len(train), "trees": a.trees, "fit_s": round(fit, 2)}
    if a.task == "clf":
        out["test_auc"] = round(roc_auc_score(test[target], model.predict_proba(Xt)[:, 1]), 5)
    else:
        out["test_rmse"] = round(float(np.sqrt(mean_squared_error(test[target], model.predict(Xt)))), 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
