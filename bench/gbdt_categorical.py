"""LightGBM's side of the native-categorical comparison in bench/gbdt.sh (the Smelt side is
crates/smelt-cli/examples/gbdt_categorical.rs): 100 rounds, 31 leaves, lr 0.1, 2 threads, on the
categorical columns as pandas categories (native) and one-hot encoded (pd.get_dummies).
Same split as the Rust side: UCI's for adult.csv (first 16,281 rows test), else the last 20 %.

Usage: python bench/gbdt_categorical.py data/adult.csv income [--repeat 3]
"""
import argparse
import json
import os
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("target")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    df = pd.read_csv(a.path)
    y = df[a.target].astype(str)
    classes = sorted(y.unique())
    y = (y == classes[1]).astype(int).to_numpy()
    x = df.drop(columns=[a.target])
    cats = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    for c in cats:
        x[c] = x[c].astype("category")
    n = len(df)
    n_test = 16_281 if os.path.basename(a.path) == "adult.csv" else n // 5
    if n_test == 16_281:
        te, tr = slice(0, n_test), slice(n_test, n)
    else:
        tr, te = slice(0, n - n_test), slice(n - n_test, n)
    params = dict(objective="binary", n_estimators=100, num_leaves=31, learning_rate=0.1,
                  max_bin=255, n_jobs=2, verbose=-1)
    onehot = pd.get_dummies(x, columns=cats, dtype=np.float64)
    for name, xx in (("native", x), ("one_hot", onehot)):
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            m = lgb.LGBMClassifier(**params).fit(xx[tr], y[tr])
            times.append(time.perf_counter() - t)
        p = m.predict_proba(xx[te])[:, 1]
        print(json.dumps({"tool": "lightgbm", "task": f"gbdt_categorical_{name}",
                          "data": a.path, "train_rows": len(y[tr]),
                          "categorical_features": len(cats),
                          "seconds_median": round(sorted(times)[len(times) // 2], 4),
                          "quality": {"auc": round(roc_auc_score(y[te], p), 5),
                                      "log_loss": round(log_loss(y[te], p), 6)},
                          "versions": {"lightgbm": lgb.__version__}}), flush=True)


if __name__ == "__main__":
    main()
