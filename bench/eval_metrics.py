"""The reference side of bench/eval.sh (goal 1): ROC-AUC, log loss and average precision over
the 10M predictions that `eval_bench` wrote, with scikit-learn and with hand-vectorised NumPy.

    python bench/eval_metrics.py /tmp/smelt-benchdata/eval_10000000.bin --repeat 5 \
        --smelt /tmp/smelt-eval.jsonl

The file holds n little-endian f64 scores, then n u8 labels. Every figure is the best of
`repeat` runs; each value is checked against the other implementations and, with --smelt
(eval_bench's JSON lines), against Smelt's to 1e-9. One JSON line per figure.
"""
import argparse
import json
import os
import time

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--repeat", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--smelt", help="eval_bench's output (JSON lines) to check the values against")
a = ap.parse_args()

n = os.path.getsize(a.file) // 9
score = np.fromfile(a.file, dtype="<f8", count=n)
y = np.fromfile(a.file, dtype=np.uint8, count=n, offset=8 * n)
EPS = np.finfo(np.float64).eps  # scikit-learn 1.9's clip, as Smelt's LOG_LOSS_EPS


def _curve(y, s):
    """Cumulative true/false positives at each distinct score, in decreasing score."""
    order = np.argsort(s)[::-1]  # one unstable sort; ties are grouped below
    sd = s[order]
    yd = y[order]
    last = np.flatnonzero(sd[1:] != sd[:-1])  # last index of each tied group but the final one
    last = np.append(last, sd.size - 1)
    tps = np.cumsum(yd, dtype=np.int64)[last]
    fps = (last + 1) - tps
    return tps, fps


def np_roc_auc(y, s):
    tps, fps = _curve(y, s)
    p, q = tps[-1], fps[-1]
    # trapezoids between consecutive points (a tied group is one diagonal step: counts half)
    tp0 = np.concatenate(([0], tps))
    fp0 = np.concatenate(([0], fps))
    return float(np.sum(np.diff(fp0) * (tp0[1:] + tp0[:-1])) / (2.0 * p * q))


def np_average_precision(y, s):
    tps, fps = _curve(y, s)
    precision = tps / (tps + fps)
    recall_step = np.diff(tps, prepend=0) / tps[-1]
    return float(np.dot(recall_step, precision))


def np_log_loss(y, s):
    q = np.where(y.astype(bool), s, 1.0 - s)
    np.clip(q, EPS, 1.0 - EPS, out=q)
    return float(-np.mean(np.log(q)))


def best(f):
    out, secs = None, float("inf")
    for _ in range(a.repeat):
        t = time.perf_counter()
        out = f()
        secs = min(secs, time.perf_counter() - t)
    return secs, out


smelt = {}
if a.smelt:
    with open(a.smelt) as fh:
        for line in fh:
            if line.startswith("{"):
                r = json.loads(line)
                smelt[r["task"]] = r["value"]

cases = [
    ("roc_auc", "sklearn", lambda: roc_auc_score(y, score)),
    ("roc_auc", "numpy", lambda: np_roc_auc(y, score)),
    ("log_loss", "sklearn", lambda: log_loss(y, score)),
    ("log_loss", "numpy", lambda: np_log_loss(y, score)),
    ("average_precision", "sklearn", lambda: average_precision_score(y, score)),
    ("average_precision", "numpy", lambda: np_average_precision(y, score)),
]
failed = False
with threadpool_limits(a.threads):
    for task, tool, f in cases:
        secs, v = best(f)
        ref = smelt.get(task)
        diff = None if ref is None else abs(float(v) - ref)
        ok = diff is None or diff <= 1e-9
        failed |= not ok
        print(json.dumps({"tool": tool, "task": task, "n": int(n), "threads": a.threads,
                          "seconds": round(secs, 4), "value": float(v),
                          "abs_diff_vs_smelt": diff, "agrees_1e-9": ok,
                          "versions": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"}),
              flush=True)
if failed:
    raise SystemExit("values disagree with Smelt's beyond 1e-9")
