"""Chart downsampling of a 1,000,000-point metric history (issue 6: histories that render instantly).

Usage: python bench/downsample.py [BASE_URL]   (default http://127.0.0.1:5061; a running `smelt server`)
Logs one run with 1M points of `loss` (1,000 log-batch calls; a spike of +5 at step 654,321), then times
`ajax-api/2.0/mlflow/metrics/get-history-bulk-interval` with max_results 320 and 1,000 (median of 5), and
checks that the spike survives the downsampling.
"""
import sys
import requests, time, json, statistics, random
BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5061"
api = BASE + "/api/2.0/mlflow/"
s = requests.Session()
rid = s.post(api + "runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
t0 = time.time()
random.seed(0)
for b in range(1000):
    ms = [{"key": "loss", "value": 1.0 / (1 + (b * 1000 + i) / 1000) + random.random() * 0.01 + (5.0 if b * 1000 + i == 654321 else 0), "timestamp": 1000 + b * 1000 + i, "step": b * 1000 + i} for i in range(1000)]
    s.post(api + "runs/log-batch", json={"run_id": rid, "metrics": ms}).raise_for_status()
print("logged 1M in", round(time.time() - t0, 1), "s")
for mx in (320, 1000):
    lat = []
    for _ in range(5):
        t = time.perf_counter()
        r = s.get(BASE + "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params={"run_ids": rid, "metric_key": "loss", "max_results": mx})
        r.raise_for_status(); lat.append(time.perf_counter() - t)
    pts = r.json()["metrics"]
    print(mx, "points", len(pts), "median s", round(statistics.median(lat), 3), "spike kept", any(p["value"] > 4 for p in pts))
