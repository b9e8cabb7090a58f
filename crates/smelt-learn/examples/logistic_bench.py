"""scikit-learn's side of `logistic_bench.rs`: fits LogisticRegression (lbfgs, defaults) on the
matrix the Rust example dumped, and prints the time and the training log-loss.

    cargo run --release -p smelt-learn --example logistic_bench -- 1000000 28 /tmp/lr.bin
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 python logistic_bench.py /tmp/lr.bin 1000000 28
"""
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

path, n, p = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = np.fromfile(path, dtype="<f8")
x = np.ascontiguousarray(raw[: n * p].reshape((n, p), order="F"))  # C order: no copy in fit
y = raw[n * p:].astype(int)
for _ in range(2):
    t = time.perf_counter()
    m = LogisticRegression().fit(x, y)
    secs = time.perf_counter() - t
    print(f"sklearn lbfgs n={n} p={p}: fit {secs:.3f} s, n_iter {m.n_iter_[0]}, "
          f"log-loss {log_loss(y, m.predict_proba(x)):.10f}")
