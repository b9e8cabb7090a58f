"""Reference side of the load benchmark: pandas / pyarrow load the same files into a float32
NumPy matrix, and pandas' read_csv + describe() for `smelt data inspect`.

Usage: python load_python.py DATA_DIR [--repeat N] [--threads 2]
Prints one JSON line per measurement (wall seconds, peak RSS of a fresh child process).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time


def child(kind, path, threads):
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    t0 = time.perf_counter()
    if kind == "pandas_read_csv":
        df = pd.read_csv(path)
        X = df.drop(columns=["y"]).to_numpy(dtype=np.float32)
    elif kind == "pandas_read_csv_pyarrow":
        df = pd.read_csv(path, engine="pyarrow")
        X = df.drop(columns=["y"]).to_numpy(dtype=np.float32)
    elif kind == "pyarrow_read_parquet":
        t = pq.read_table(path)
        X = np.column_stack([t.column(c).to_numpy() for c in t.column_names if c != "y"]).astype(np.float32, copy=False)
    elif kind == "pandas_describe":
        df = pd.read_csv(path)
        d = df.describe()
        X = d.to_numpy()
    else:
        raise SystemExit(f"unknown {kind}")
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tool": kind, "file": path, "shape": list(X.shape), "total_s": round(dt, 4), "peak_rss_mib": round(peak, 1)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1], a.threads)
        return
    jobs = [
        ("pandas_read_csv", "clf_train.csv"),
        ("pandas_read_csv_pyarrow", "clf_train.csv"),
        ("pyarrow_read_parquet", "clf_train.parquet"),
        ("pandas_describe", "clf_full.csv"),
    ]
    for kind, f in jobs:
        for _ in range(a.repeat):
            subprocess.run([sys.executable, __file__, a.data, "--threads", str(a.threads), "--child", kind, os.path.join(a.data, f)], check=True)


if __name__ == "__main__":
    main()
