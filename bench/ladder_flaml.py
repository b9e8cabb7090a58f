"""FLAML's side of bench/ladder_flaml.sh (issue 14, goal 4): AutoML on the training rows of the
adult split for the same time budget as `smelt ladder`, then the test AUC of its best model.

    python bench/ladder_flaml.py TRAIN_CSV TEST_CSV --budget 120 --threads 2

Prints one JSON line: the best estimator, its configuration, wall seconds, test ROC-AUC.
Columns as pandas reads them (strings become categories, which FLAML's LightGBM takes
natively); `fnlwgt` is dropped as Smelt's schema does.
"""
import argparse
import json
import time

import flaml
import pandas as pd
from flaml import AutoML
from sklearn.metrics import roc_auc_score

ap = argparse.ArgumentParser()
ap.add_argument("train")
ap.add_argument("test")
ap.add_argument("--budget", type=float, default=120)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()


def load(path):
    df = pd.read_csv(path)
    y = (df.pop("income") == ">50K").astype(int)
    df = df.drop(columns=["fnlwgt"])
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("category")
    return df, y


X, y = load(a.train)
Xt, yt = load(a.test)
# The test columns' categories as in training (pandas would number unseen orders differently).
for c in X.columns:
    if str(X[c].dtype) == "category":
        Xt[c] = pd.Categorical(Xt[c], categories=X[c].cat.categories)
automl = AutoML()
t = time.perf_counter()
automl.fit(X, y, task="classification", metric="roc_auc", time_budget=a.budget,
           n_jobs=a.threads, seed=a.seed, verbose=0)
wall = time.perf_counter() - t
p = automl.predict_proba(Xt)[:, 1]
print(json.dumps({"tool": "flaml", "version": flaml.__version__, "best_estimator": automl.best_estimator,
                  "best_config": automl.best_config, "cv_best_auc": 1 - automl.best_loss,
                  "seconds": round(wall, 1), "test_auc": roc_auc_score(yt, p)}))
