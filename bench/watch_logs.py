"""Writes prediction logs in smelt serve's layout for bench/watch.sh.

Usage: python watch_logs.py ADULT_CSV PREDICTIONS_PARQUET ROWS_PARQUET OUT_DIR
  (rows: the features scored; predictions: `smelt predict --out` of them, same order)
make: python watch_logs.py make ADULT_CSV ROWS_PARQUET N   -> N rows drawn from adult (seeded),
      the last quarter with age and hours_per_week + 10.
Files: OUT_DIR/model=adult/version=1/date=2026-12-01/part-<time>-<seq>-bench0001.parquet,
10,000 rows each, the columns of crates/smelt-serve/src/predlog/mod.rs.
"""
import sys

import numpy as np
import pandas as pd


def make(adult, out, n):
    df = pd.read_csv(adult).drop(columns=["income"])
    idx = np.random.default_rng(0).integers(0, len(df), n)
    rows = df.iloc[idx].reset_index(drop=True)
    q = n * 3 // 4
    rows.loc[q:, "age"] = rows.loc[q:, "age"] + 10
    rows.loc[q:, "hours_per_week"] = rows.loc[q:, "hours_per_week"] + 10
    rows.to_parquet(out, index=False)


def logs(rows_path, pred_path, out):
    rows = pd.read_parquet(rows_path)
    pred = pd.read_parquet(pred_path)
    n = len(rows)
    t0 = pd.Timestamp("2026-12-01T00:00:00Z")
    frame = pd.DataFrame({
        "request_id": [f"req-{i}" for i in range(n)],
        "time": t0 + pd.to_timedelta(np.arange(n) * 50, unit="ms"),
        "model": "adult",
        "version": "1",
        "protocol": "predict",
        "latency_us": np.full(n, 120, dtype=np.uint64),
        "row": np.zeros(n, dtype=np.uint32),
    })
    for c in rows.columns:
        col = rows[c]
        frame[c] = col.astype("float64") if col.dtype.kind in "if" else col
    for c in pred.columns:
        frame[c] = pred[c].values
    folder = f"{out}/model=adult/version=1/date=2026-12-01"
    import os
    os.makedirs(folder, exist_ok=True)
    for k, start in enumerate(range(0, n, 10_000)):
        part = frame.iloc[start:start + 10_000]
        stamp = part["time"].iloc[0].strftime("%Y%m%dT%H%M%SZ")
        part.to_parquet(f"{folder}/part-{stamp}-{k + 1:06d}-bench0001.parquet", index=False,
                        compression="zstd")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        logs(sys.argv[2], sys.argv[3], sys.argv[4])
