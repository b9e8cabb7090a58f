"""scikit-learn's side of bench/learn.sh, on the same rows of the same file, same thread count.

    python bench/learn_python.py /tmp/smelt-benchdata --repeat 3 --threads 2
"""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()

df = pd.read_csv(os.path.join(a.dir, "clf_full.csv"))
y = df.pop("y").to_numpy()
x = df.to_numpy(dtype=np.float64)  # Smelt's estimators compute in f64 too


def best(f):
    out, secs = None, float("inf")
    for _ in range(a.repeat):
        t = time.perf_counter()
        out = f()
        secs = min(secs, time.perf_counter() - t)
    return secs, out


def emit(**kw):
    print(json.dumps({"tool": "sklearn", "threads": a.threads, **kw}), flush=True)


with threadpool_limits(a.threads):
    secs, m = best(lambda: LogisticRegression().fit(x, y))
    emit(task="logistic_regression_fit", rows=len(x), seconds=round(secs, 4),
         n_iter=int(m.n_iter_[0]), log_loss=round(log_loss(y, m.predict_proba(x)), 10))
    secs, _ = best(lambda: PCA(n_components=10).fit(x))
    emit(task="pca10_fit", rows=len(x), seconds=round(secs, 4))
    x200 = x[:200_000]
    secs, m = best(lambda: KMeans(n_clusters=8, random_state=0).fit(x200))
    emit(task="kmeans8_fit", rows=200_000, seconds=round(secs, 4), n_iter=int(m.n_iter_),
         inertia=float(m.inertia_))
    total, iters = 0.0, 0
    for seed in range(12):
        t = time.perf_counter()
        m = KMeans(n_clusters=8, random_state=seed).fit(x200)
        total += time.perf_counter() - t
        iters += int(m.n_iter_)
    emit(task="kmeans8_fit_12_seeds", rows=200_000, seconds=round(total, 4), n_iter=iters,
         ms_per_iter=round(1000 * total / iters, 3))
    knn = KNeighborsClassifier(n_jobs=a.threads).fit(x200, y[:200_000])
    q = x[200_000:210_000]
    secs, pred = best(lambda: knn.predict(q))
    emit(task="knn_predict_10k_vs_200k", seconds=round(secs, 4),
         accuracy=float((pred == y[200_000:210_000]).mean()))
