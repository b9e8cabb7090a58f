"""scikit-learn's side of bench/eval.sh (goal 2): 5-fold cross_validate of logistic regression
on the same CSV that `smelt cv` reads, with Smelt's default preprocessing (median imputation +
standard scaling; --impute mean for scikit-learn's default imputer).

    python bench/eval_cv.py /tmp/smelt-benchdata/clf_full.csv --threads 2 --n-jobs 1 \
        [--impute median|mean] [--check SMELT_CV_JSON]

Prints one JSON line: read and cross-validation seconds apart, the fold accuracies; with
--check (`smelt cv --json`'s output, or eval_bench cv's line) also the largest difference of a
fold accuracy from Smelt's. --n-jobs 1 runs the folds one after another with BLAS capped at
--threads; --n-jobs 2 runs two folds at a time in joblib's worker processes (one thread each).
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--n-jobs", type=int, default=1)
ap.add_argument("--impute", default="median", choices=["median", "mean"],
                help="SimpleImputer strategy: median is Smelt's default (the same work), mean "
                     "scikit-learn's default")
ap.add_argument("--check")
a = ap.parse_args()

with threadpool_limits(a.threads):
    t = time.perf_counter()
    df = pd.read_csv(a.file)
    y = df.pop("y").to_numpy()
    X = df.to_numpy(dtype=np.float64)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    r = cross_validate(make_pipeline(SimpleImputer(strategy=a.impute), StandardScaler(), LogisticRegression()),
                       X, y, cv=KFold(5), scoring="accuracy", n_jobs=a.n_jobs)
    cv_s = time.perf_counter() - t

acc = [float(v) for v in r["test_score"]]
out = {"tool": "sklearn", "task": "cv_logistic_5fold", "rows": int(len(X)), "threads": a.threads,
       "n_jobs": a.n_jobs, "impute": a.impute, "load_seconds": round(load_s, 4), "cv_seconds": round(cv_s, 4),
       "fold_accuracy": acc, "fit_seconds": [round(float(v), 4) for v in r["fit_time"]],
       "versions": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
                   f"pandas {pd.__version__}"}
if a.check:
    with open(a.check) as fh:
        text = fh.read()
    start = text.index("{")
    smelt = json.JSONDecoder().raw_decode(text[start:])[0]
    if "per_fold" in smelt:  # smelt cv --json
        theirs = [f["scores"]["accuracy"] for f in smelt["per_fold"]]
    else:  # eval_bench cv
        theirs = smelt["fold_accuracy"]
    out["max_abs_diff_vs_smelt"] = max(abs(x - s) for x, s in zip(acc, theirs))
print(json.dumps(out), flush=True)
