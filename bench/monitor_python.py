"""Monitoring benchmark, Python side (bench/monitor.sh).

  gen DATA OUT [--rows N]   writes OUT/ref.parquet and OUT/cur.parquet exactly as
                            ../shared/bench/drift_evidently.py builds its frames: pool = clf_train +
                            clf_test without y (1M x 28); reference = the first N rows; current = N
                            rows by a seeded permutation with f0..f13 shifted by +0.25 standard
                            deviations (float32), so 14 of 28 columns drift.
  evidently OUT [--repeat K] Evidently's DataDriftPreset report on those two files (read with
                            pandas first, not timed), timed like drift_evidently.py: the run, then
                            snapshot.dict(), peak RSS from VmHWM after resetting it; plus the
                            HTML file (save_html), which `smelt monitor report` also writes.
Prints one JSON line per measurement.
"""
import argparse
import json
import os
import time

os.environ.setdefault("DO_NOT_TRACK", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def gen(a):
    pool = pd.concat([pd.read_parquet(f"{a.data}/clf_train.parquet"),
                      pd.read_parquet(f"{a.data}/clf_test.parquet")], ignore_index=True).drop(columns="y")
    n = min(a.rows, len(pool))
    ref = pool.iloc[:n].reset_index(drop=True).copy()
    perm = np.random.default_rng(0).permutation(len(pool))[:n]
    cur = pool.iloc[perm].reset_index(drop=True).copy()
    for c in [f"f{i}" for i in range(14)]:
        cur[c] = (cur[c] + 0.25 * pool[c].std()).astype(np.float32)
    os.makedirs(a.out, exist_ok=True)
    ref.to_parquet(f"{a.out}/ref.parquet", index=False)
    cur.to_parquet(f"{a.out}/cur.parquet", index=False)
    print(json.dumps({"wrote": a.out, "rows": n, "columns": ref.shape[1]}))


def evidently_run(a):
    import evidently
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref = pd.read_parquet(f"{a.out}/ref.parquet")
    cur = pd.read_parquet(f"{a.out}/cur.parquet")
    for rep in range(a.repeat):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = kib("VmRSS")
        t = time.perf_counter()
        snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
        t_run = time.perf_counter() - t
        t = time.perf_counter()
        d = snap.dict()
        t_dict = time.perf_counter() - t
        t = time.perf_counter()
        snap.save_html(f"{a.out}/evidently.html")
        t_html = time.perf_counter() - t
        peak = kib("VmHWM")
        drifted = None
        for m in d.get("metrics", []):
            if str(m.get("metric_name", "")).startswith("DriftedColumnsCount"):
                drifted = m.get("value", {}).get("count")
        print(json.dumps({"tool": "evidently", "version": evidently.__version__, "repeat": rep,
                          "rows": len(ref), "run_s": round(t_run, 2), "dict_s": round(t_dict, 2),
                          "html_s": round(t_html, 2), "total_s": round(t_run + t_dict + t_html, 2),
                          "drifted_columns": drifted, "rss_before_mib": round(before / 1024),
                          "peak_rss_mib": round(peak / 1024)}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["gen", "evidently"])
    ap.add_argument("data", nargs="?")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    if a.cmd == "gen":
        gen(a)
    else:
        a.out = a.data
        evidently_run(a)


if __name__ == "__main__":
    main()
