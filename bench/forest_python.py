"""scikit-learn's side of bench/forest.sh: RandomForestClassifier (100 trees, max_features
"sqrt", fully grown, bootstrap; n_jobs = threads) on the first 200,000 rows of clf_train.csv,
ROC AUC on clf_test.csv. Loading is not timed.

    python bench/forest_python.py /tmp/smelt-benchdata --threads 2 [--trees 100] [--rows 200000]
"""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--trees", type=int, default=100)
ap.add_argument("--rows", type=int, default=200_000)
a = ap.parse_args()

train = pd.read_csv(os.path.join(a.dir, "clf_train.csv"), nrows=a.rows)
test = pd.read_csv(os.path.join(a.dir, "clf_test.csv"))
y = train.pop("y").to_numpy()
yt = test.pop("y").to_numpy()
x = train.to_numpy(dtype=np.float32)
xt = test.to_numpy(dtype=np.float32)

with threadpool_limits(a.threads):
    m = RandomForestClassifier(n_estimators=a.trees, max_features="sqrt", n_jobs=a.threads,
                               random_state=0)
    t, c = time.perf_counter(), time.process_time()
    m.fit(x, y)
    fit, fit_cpu = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    proba = m.predict_proba(xt)[:, 1]
    predict = time.perf_counter() - t
nodes = sum(e.tree_.node_count for e in m.estimators_)
print(json.dumps({"tool": "sklearn", "task": "random_forest_classifier_fit",
                  "threads": a.threads, "rows": len(x), "n_estimators": a.trees,
                  "fit_seconds": round(fit, 3), "fit_cpu_seconds": round(fit_cpu, 2),
                  "predict_seconds": round(predict, 3),
                  "test_auc": round(roc_auc_score(yt, proba), 5), "nodes": nodes}), flush=True)
