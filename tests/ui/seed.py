"""Fills a running `smelt server` with what the UI tests look at, through MLflow's REST API only.

    python tests/ui/seed.py http://127.0.0.1:5000 [--runs N] [--long-history N]

Experiments `churn` (runs with params, per-epoch metrics, tags, a dataset input, parent/child
runs, artifacts: a PNG, an SVG, an HTML report, JSON, CSV, text, a model JSON) and `empty`; a
registered model `churn-model` with three versions, aliases `champion` (v2) and `challenger` (v3).
`--runs N` adds N small runs to an experiment `bulk` (for the speed checks); `--long-history N`
gives one run of `churn` an N-step metric `loss_long` with a single spike at step N*3//7.
Prints a JSON summary (ids) on stdout.
"""

import argparse
import base64
import json
import math
import sys
import urllib.request
from pathlib import Path

# A 4×4 orange PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAFklEQVR4nGO4tVQQjhhw8xiOKQcBABGuJLEWH5fLAAAAAElFTkSuQmCC"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" fill="#2563eb"/><text x="10" y="35" fill="#fff">roc curve</text></svg>'
HTML = b"<!doctype html><html><body><h1>Evaluation report</h1><p>AUC 0.91</p><script>document.body.append(' scripted')</script></body></html>"


class Client:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        if body is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req) as r:
            text = r.read()
        return json.loads(text) if text.strip().startswith(b"{") else text

    def post(self, ep, body):
        return self.call("POST", "/api/2.0/mlflow/" + ep, body)

    def get(self, ep, **q):
        from urllib.parse import urlencode

        return self.call("GET", "/api/2.0/mlflow/" + ep + "?" + urlencode(q))

    def upload(self, artifact_uri, path, content):
        # artifact_uri: mlflow-artifacts:/<exp>/<run>/artifacts
        prefix = artifact_uri.split("mlflow-artifacts:", 1)[1].lstrip("/")
        self.call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{prefix}/{path}", raw=content)


def run(c, exp, name, params, metrics_by_step, tags=None, start=1_700_000_000_000, status="FINISHED", parent=None):
    tags = dict(tags or {})
    tags["mlflow.runName"] = name
    if parent:
        tags["mlflow.parentRunId"] = parent
    r = c.post("runs/create", {"experiment_id": exp, "run_name": name, "start_time": start,
                                "tags": [{"key": k, "value": v} for k, v in tags.items()]})["run"]["info"]
    rid = r["run_id"]
    metrics = [{"key": k, "value": v, "timestamp": start + 1000 * (s + 1), "step": s}
               for s, kv in enumerate(metrics_by_step) for k, v in kv.items()]
    for i in range(0, max(len(metrics), 1), 1000):
        c.post("runs/log-batch", {"run_id": rid, "metrics": metrics[i:i + 1000],
                                  "params": [{"key": k, "value": str(v)} for k, v in params.items()] if i == 0 else []})
    if status != "RUNNING":
        c.post("runs/update", {"run_id": rid, "status": status, "end_time": start + 1000 * (len(metrics_by_step) + 2)})
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--long-history", type=int, default=0)
    a = ap.parse_args()
    c = Client(a.url)
    out = {}
    exp = c.post("experiments/create", {"name": "churn", "tags": [{"key": "team", "value": "growth"}]})["experiment_id"]
    c.post("experiments/create", {"name": "empty"})
    out["experiment_id"] = exp
    runs = []
    t0 = 1_765_000_000_000
    for i, (model, lr, depth) in enumerate([("gbdt", 0.1, 6), ("gbdt", 0.05, 8), ("logistic", 1.0, 0), ("forest", 0.0, 12), ("gbdt", 0.2, 4)]):
        hist = []
        for e in range(30):
            loss = 0.7 * math.exp(-(e + 1) * lr * 3 if lr else -(e + 1) * 0.05) + 0.1 + 0.01 * i
            hist.append({"loss": loss, "val_auc": 0.8 + 0.1 * (1 - math.exp(-e / (5 + i))) + 0.005 * i})
        hist[-1]["accuracy"] = 0.85 + 0.01 * i
        r = run(c, exp, f"{model}-{i}", {"model": model, "learning_rate": lr, "max_depth": depth, "n_estimators": 100 + 50 * i},
                hist, {"smelt.task": "classification", "mlflow.source.git.commit": "0123456789abcdef0123456789abcdef01234567",
                       "mlflow.user": "ada", "smelt.env.os": "linux", "smelt.env.smelt_version": "0.1.0"},
                start=t0 + i * 600_000, status="FAILED" if i == 3 else "FINISHED")
        runs.append(r)
    # A running run and a child run.
    live = run(c, exp, "live-run", {"model": "gbdt", "learning_rate": 0.3}, [{"loss": 0.9}, {"loss": 0.8}], start=t0 + 4_000_000, status="RUNNING")
    child = run(c, exp, "fold-0", {"fold": 0}, [{"val_auc": 0.88}], parent=runs[0]["run_id"], start=t0 + 10_000)
    out["run_ids"] = [r["run_id"] for r in runs]
    out["live_run_id"] = live["run_id"]
    out["child_run_id"] = child["run_id"]
    best = runs[0]
    c.post("runs/log-inputs", {"run_id": best["run_id"], "datasets": [{
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": "churn.csv", "digest": "b3:9f2c41d0a7e5", "source_type": "local",
                    "source": json.dumps({"uri": "data/churn.csv"}),
                    "schema": json.dumps({"mlflow_colspec": [{"name": "tenure", "type": "long"}, {"name": "plan", "type": "string"}]}),
                    "profile": json.dumps({"num_rows": 7043, "num_elements": 14086})}}]})
    au = best["artifact_uri"]
    c.upload(au, "plots/roc.png", PNG)
    c.upload(au, "plots/roc.svg", SVG)
    c.upload(au, "report.html", HTML)
    c.upload(au, "metrics.json", json.dumps({"auc": 0.91, "folds": [0.9, 0.92]}).encode())
    c.upload(au, "predictions.csv", b"id,label,score\n1,yes,0.93\n2,no,0.12\n3,\"maybe, later\",0.5\n")
    c.upload(au, "notes.txt", b"trained on the churn table\nsecond line\n")
    # 250 rows (id, score, plan with nulls), zstd-compressed, written by pyarrow: fixtures/README.md.
    c.upload(au, "scores.parquet", (Path(__file__).parent / "fixtures" / "scores.parquet").read_bytes())
    fixtures = Path(__file__).parent / "fixtures"
    c.upload(au, "model/model.json", (fixtures / "model.json").read_bytes())
    c.upload(au, "model/arrays.safetensors", (fixtures / "arrays.safetensors").read_bytes())
    # Registry.
    c.post("registered-models/create", {"name": "churn-model", "description": "Predicts churn within 30 days.",
                                        "tags": [{"key": "owner", "value": "growth"}]})
    for i in range(3):
        c.post("model-versions/create", {"name": "churn-model", "source": f"runs:/{runs[i]['run_id']}/model", "run_id": runs[i]["run_id"]})
    c.post("registered-models/alias", {"name": "churn-model", "alias": "champion", "version": "2"})
    c.post("registered-models/alias", {"name": "churn-model", "alias": "challenger", "version": "3"})
    c.post("registered-models/create", {"name": "fraud"})
    # Monitoring runs for version 2, as `smelt watch` logs them.
    mon = c.post("experiments/create", {"name": "monitoring"})["experiment_id"]
    run(c, mon, "watch churn-model 2", {}, [{"drift_share": 0.1 * k, "rows": 1000} for k in range(5)],
        {"smelt.monitor.model": "churn-model", "smelt.monitor.version": "2", "smelt.monitor.source": "data/live.csv"}, start=t0 + 7_000_000)
    if a.runs:
        bulk = c.post("experiments/create", {"name": "bulk"})["experiment_id"]
        out["bulk_experiment_id"] = bulk
        for i in range(a.runs):
            r = c.post("runs/create", {"experiment_id": bulk, "run_name": f"trial-{i:05d}", "start_time": t0 + i})["run"]["info"]
            c.post("runs/log-batch", {"run_id": r["run_id"],
                                      "params": [{"key": f"p{j}", "value": str((i * (j + 3)) % 17)} for j in range(10)],
                                      "metrics": [{"key": f"m{j}", "value": ((i * 7919 + j * 104729) % 10007) / 10007, "timestamp": t0, "step": 0} for j in range(10)]})
    if a.long_history:
        n = a.long_history
        rid = runs[1]["run_id"]
        spike = n * 3 // 7
        for i in range(0, n, 1000):
            c.post("runs/log-batch", {"run_id": rid, "metrics": [
                {"key": "loss_long", "value": 50.0 if s == spike else 1.0 / (1 + s / 1000), "timestamp": t0 + s, "step": s}
                for s in range(i, min(n, i + 1000))]})
        out["long_run_id"] = rid
        out["spike_step"] = spike
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
