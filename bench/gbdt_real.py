"""LightGBM's side of the real-data comparison in bench/gbdt.sh (the Smelt side is
crates/smelt-cli/examples/gbdt_real.rs): 100 rounds, 31 leaves, lr 0.1, max_bin 255, 2 threads,
categorical columns as pandas categories (native) and, when there are any, one-hot encoded
(pd.get_dummies). Same split as the Rust side: UCI's for adult.csv (first 16,281 rows test),
else the last 20 %. Quality as the Rust side prints it.

Usage: python bench/gbdt_real.py data/adult.csv income [--repeat 3] [--native-only] [--threads 2]
"""
import argparse
import json
import os
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("target")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--native-only", action="store_true", help="skip the one-hot variant")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    df = pd.read_parquet(a.path) if a.path.endswith(".parquet") else pd.read_csv(a.path)
    df = df[df[a.target].notna()].reset_index(drop=True)
    x = df.drop(columns=[a.target])
    regression = pd.api.types.is_float_dtype(df[a.target])
    if regression:
        y = df[a.target].to_numpy()
    else:
        labels = df[a.target].astype(str)
        classes = sorted(labels.unique())
        y = labels.map({c: i for i, c in enumerate(classes)}).to_numpy()
    cats = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    for c in cats:
        x[c] = x[c].astype(str).where(x[c].notna()).astype("category")
    n = len(df)
    if os.path.basename(a.path) == "adult.csv":
        te, tr = slice(0, 16_281), slice(16_281, n)
    else:
        tr, te = slice(0, n - n // 5), slice(n - n // 5, n)
    params = dict(n_estimators=100, num_leaves=31, learning_rate=0.1, max_bin=255, n_jobs=a.threads,
                  verbose=-1)
    variants = [("native", x)]
    if cats and not a.native_only:
        variants.append(("one_hot", pd.get_dummies(x, columns=cats, dtype=np.float64)))
    for name, xx in variants:
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            if regression:
                m = lgb.LGBMRegressor(**params).fit(xx[tr], y[tr])
            else:
                m = lgb.LGBMClassifier(**params).fit(xx[tr], y[tr])
            times.append(time.perf_counter() - t)
        if regression:
            q = {"rmse": round(float(np.sqrt(mean_squared_error(y[te], m.predict(xx[te])))), 6)}
        else:
            p = m.predict_proba(xx[te])
            q = {"log_loss": round(log_loss(y[te], p, labels=list(range(p.shape[1]))), 6),
                 "accuracy": round(accuracy_score(y[te], p.argmax(1)), 5)}
            if p.shape[1] == 2:
                q["auc"] = round(roc_auc_score(y[te], p[:, 1]), 5)
        print(json.dumps({"tool": "lightgbm", "task": f"gbdt_real_{name}", "data": a.path,
                          "train_rows": len(y[tr]), "categorical_features": len(cats), "threads": a.threads,
                          "seconds_median": round(sorted(times)[len(times) // 2], 4),
                          "quality": q, "versions": {"lightgbm": lgb.__version__}}), flush=True)


if __name__ == "__main__":
    main()
