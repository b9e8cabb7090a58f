"""Native capacity and 10,000-run search of one MLflow-compatible tracking server (bench/tracking.sh).

Usage: python tracking_load.py NAME WORKDIR PORT HEALTH_PATH [--duration 15] [--threads 2] [--conns 16]
                               [--search-runs 10000] [--keep-db] -- SERVER_CMD ... ({port}, {workdir} filled in)
Run it with the mlflow client's Python (it needs `mlflow` and `requests`).
Starts the server (../shared/bench/startup.py, own process group, loopback only), then:
1. capacity: for MODE in batch (runs/log-batch, 100 points a request) and metric (runs/log-metric), a fresh run,
   `wrk -tT -cC -dD` with bench/tracking_load.lua (new steps in every request), recording accepted points/s, the
   server tree's CPU seconds (utime+stime from /proc, all descendants) per point, wrk's own CPU and the CPU other
   processes used meanwhile (foreign_cpu_s), HTTP errors, and the points the server really stored
   (metrics/get-history, paged) -- stored_points must equal accepted points;
2. search: --search-runs runs in a new experiment, each made with runs/create + runs/log-batch (metric auc =
   (i % 100) / 100, param i) over raw HTTP (4 threads) -- or, with --seed-db, the experiment "search10k" that
   `python tracking_load.py seed-mlflow DB N` wrote into an MLflow SQLite file beforehand (MLflow-schema servers:
   the same rows, minutes faster than 20,000 calls to `mlflow server`) -- then 10 x MlflowClient.search_runs(
   "metrics.auc > 0.9", max_results=1000) -> median latency and the match count (900 of 10,000 expected); then
   30 x the same request over one kept-alive HTTP session with the body read but not decoded (raw latency), and
   the client's own parsing of that answer without any server (what separates the two).
Prints JSON lines with "server": NAME; stops the server (SIGTERM to its group, SIGKILL after 15 s).
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import requests  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("SMELT_SHARED_BENCH", os.path.join(HERE, "..", "..", "..", "shared", "bench"))
_CLK = os.sysconf("SC_CLK_TCK")


def emit(**kw):
    print(json.dumps(kw), flush=True)


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / _CLK


def tree(pid):
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return seen


def tree_cpu(pid):
    tot = 0.0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read().rsplit(")", 1)[1].split()
            tot += (int(s[11]) + int(s[12])) / _CLK
        except OSError:
            pass
    return tot


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def own_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def stop(pid):
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "gone"
    t = time.time()
    while time.time() - t < 15:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return "stopped"
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
    return "killed"


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/") + "/api/2.0/mlflow/"
        self.s = requests.Session()

    def post(self, path, body, tries=5):
        for k in range(tries):
            r = self.s.post(self.base + path, json=body, timeout=120)
            if r.ok:
                return r.json()
            if k == tries - 1 or r.status_code < 500:
                raise RuntimeError(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
            time.sleep(0.2 * (k + 1))

    def get(self, path, params):
        r = self.s.get(self.base + path, params=params, timeout=300)
        if not r.ok:
            raise RuntimeError(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json()


def stored_points(api, run_id, key):
    n, token, pages = 0, None, 0
    while True:
        params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
        if token:
            params["page_token"] = token
        d = api.get("metrics/get-history", params)
        n += len(d.get("metrics", []))
        pages += 1
        token = d.get("next_page_token")
        if not token:
            return n, pages


def capacity(a, pid, api, exp, mode):
    rid = api.post("runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000)})["run"]["info"]["run_id"]
    per_req = 100 if mode == "batch" else 1
    env = dict(os.environ, RUN_ID=rid, MODE=mode, POINTS=str(per_req), KEY="m")
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{a.duration}s", "--timeout", "30s",
           "-s", os.path.join(HERE, "tracking_load.lua"), f"http://127.0.0.1:{a.port}/"]
    b0, s0, c0, o0 = machine_busy(), tree_cpu(pid), children_cpu(), own_cpu()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    b1, s1, c1, o1 = machine_busy(), tree_cpu(pid), children_cpu(), own_cpu()
    w = None
    for line in p.stdout.splitlines():
        if line.startswith("WRK "):
            w = json.loads(line[4:])
    if w is None:
        emit(server=a.name, task=f"capacity_{mode}", error=(p.stdout + p.stderr)[-2000:])
        return
    srv, wrk_cpu = s1 - s0, c1 - c0
    ok_req = w["requests"] - w["http_errors"]
    accepted = ok_req * per_req
    time.sleep(0.5)  # let in-flight writes of cut-off connections land before counting
    stored, pages = stored_points(api, rid, "m")
    emit(server=a.name, task=f"capacity_{mode}", wrk=" ".join(cmd[:5]), points_per_request=per_req,
         requests=w["requests"], http_errors=w["http_errors"],
         socket_errors=w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"],
         duration_s=w["duration_s"], requests_per_s=round(ok_req / w["duration_s"], 1),
         points_per_s=round(accepted / w["duration_s"], 1), accepted_points=accepted, stored_points=stored,
         history_pages=pages,
         # wrk stops counting at the deadline; requests still in flight then are stored but not counted
         stored_check=accepted <= stored <= accepted + a.conns * per_req, server_cpu_s=round(srv, 2),
         server_cpu_us_per_point=round(srv / accepted * 1e6, 2) if accepted else None,
         server_cores_busy=round(srv / w["duration_s"], 2), wrk_cpu_s=round(wrk_cpu, 2),
         foreign_cpu_s=round(max(0.0, (b1 - b0) - srv - wrk_cpu - (o1 - o0)), 2),
         latency_ms_p50=w["latency_ms_p50"], latency_ms_p99=w["latency_ms_p99"])


def seed_mlflow(db, n):
    """Writes the search experiment ("search10k", n runs) straight into an MLflow SQLite database through
    MLflow's own SqlAlchemyStore: the same rows `mlflow server` writes, without n x 2 slow HTTP calls."""
    import sqlalchemy
    from mlflow.entities import Metric, Param
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    st = SqlAlchemyStore(f"sqlite:///{os.path.abspath(db)}", os.path.abspath(db) + ".artifacts")
    st.engine.dispose()
    sqlalchemy.event.listen(st.engine, "connect", lambda c, _r: c.execute("PRAGMA synchronous=OFF"))
    t0, now = time.perf_counter(), int(time.time() * 1000)
    exp = st.create_experiment("search10k")
    for i in range(n):
        rid = st.create_run(exp, user_id="bench", start_time=now, tags=[], run_name=None).info.run_id
        st.log_batch(rid, metrics=[Metric("auc", (i % 100) / 100, now, 0)], params=[Param("i", str(i))], tags=[])
    emit(task="seed_mlflow_db", db=db, runs=n, seconds=round(time.perf_counter() - t0, 1))


def search(a, api, uri):
    now = int(time.time() * 1000)
    if a.seed_db:
        exp = api.get("experiments/get-by-name", {"experiment_name": "search10k"})["experiment"]["experiment_id"]
        return search_timed_fresh(a, uri, exp, None)
    exp = api.post("experiments/create", {"name": f"search10k-{time.time_ns()}"})["experiment_id"]
    tl = threading.local()

    def api_for_thread():  # one kept-alive session per worker thread
        if not hasattr(tl, "api"):
            tl.api = Api(uri)
        return tl.api

    def one(i):
        rid = api_for_thread().post("runs/create", {"experiment_id": exp, "start_time": now})["run"]["info"]["run_id"]
        api_for_thread().post("runs/log-batch", {
            "run_id": rid, "metrics": [{"key": "auc", "value": (i % 100) / 100, "timestamp": now, "step": 0}],
            "params": [{"key": "i", "value": str(i)}]})

    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(one, range(a.search_runs)))
    search_timed_fresh(a, uri, exp, time.perf_counter() - t0)


def search_timed_fresh(a, uri, exp, made):
    """search_timed in a new Python process: this one has parsed the capacity phases' histories
    (over a million points for a fast server), and its garbage collector's heap would slow the
    client's parsing of the search answers by a server-dependent amount."""
    subprocess.run([sys.executable, os.path.abspath(__file__), "search-timed", a.name, uri, exp,
                    str(a.search_runs), "" if made is None else f"{made:.1f}"], check=True)


def client_parse_ms(body):
    """The mlflow client's own work on a runs/search answer, no server involved: JSON decode,
    protobuf ParseDict and Run.from_proto for every run (what MlflowClient.search_runs does
    after the HTTP call). Median of 10, ms."""
    from mlflow.entities import Run
    from mlflow.protos.service_pb2 import SearchRuns
    from mlflow.utils.proto_json_utils import parse_dict

    lat = []
    for _ in range(10):
        t = time.perf_counter()
        msg = SearchRuns.Response()
        parse_dict(json.loads(body), msg)
        [Run.from_proto(r) for r in msg.runs]
        lat.append(time.perf_counter() - t)
    return round(statistics.median(lat) * 1000, 2)


def search_timed(a, uri, exp, made):
    made = None if made in (None, "") else float(made)
    c = MlflowClient(uri)
    lat, matched = [], None
    for _ in range(10):
        t = time.perf_counter()
        res = c.search_runs([exp], filter_string="metrics.auc > 0.9", max_results=1000)
        lat.append(time.perf_counter() - t)
        matched = len(res)
    # The same request without the client's parsing: one kept-alive HTTP session, the body read
    # whole but not decoded -- the server's latency plus loopback transfer.
    s = requests.Session()
    req = {"experiment_ids": [exp], "filter": "metrics.auc > 0.9", "max_results": 1000}
    raw, body = [], b""
    for _ in range(30):
        t = time.perf_counter()
        r = s.post(f"{uri}/api/2.0/mlflow/runs/search", json=req)
        body = r.content
        raw.append(time.perf_counter() - t)
        r.raise_for_status()
    emit(server=a.name, task="search_runs_10k", runs_total=a.search_runs,
         created="seeded through MLflow's SqlAlchemyStore" if made is None else f"HTTP, {made:.1f} s",
         matched=matched, expected=sum(1 for i in range(a.search_runs) if (i % 100) / 100 > 0.9),
         median_ms=round(statistics.median(lat) * 1000, 2), min_ms=round(min(lat) * 1000, 2),
         max_ms=round(max(lat) * 1000, 2), raw_http_median_ms=round(statistics.median(raw) * 1000, 2),
         raw_http_min_ms=round(min(raw) * 1000, 2), answer_bytes=len(body),
         client_parse_median_ms=client_parse_ms(body))


def summary(path):
    """Prints a table from the JSON lines of bench/tracking.sh (the last record of each kind wins)."""
    last, starts = {}, {}
    with open(path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            srv, task = r.get("server"), r.get("task")
            if srv is None:
                continue
            if task == "startup_s" and r.get("ok"):
                starts.setdefault((srv, r["db"]), []).append(r["startup_s"])
            key = (srv, task, r.get("size", "").split("#")[0], r.get("db", ""))
            last[key] = r
    servers = list(dict.fromkeys(k[0] for k in last))

    def g(srv, task, field, size="", db=""):
        return last.get((srv, task, size, db), {}).get(field)

    def fmt(v, nd=1):
        return "-" if v is None else (f"{v:,.{nd}f}" if isinstance(v, float) else f"{v:,}")

    rows = [
        ("start, new DB (s)", lambda s: starts.get((s, "new_db"), [None])[-1], 3),
        ("start, existing DB, median (s)",
         lambda s: statistics.median(starts[(s, "existing_db")]) if (s, "existing_db") in starts else None, 3),
        ("idle RSS, existing DB (MiB, tree)", lambda s: g(s, "idle_memory", "rss_mib_sum", db="existing_db"), 1),
        ("idle PSS, existing DB (MiB, tree)", lambda s: g(s, "idle_memory", "pss_mib_sum", db="existing_db"), 1),
        ("py client: log_metric calls/s", lambda s: g(s, "log_metric_single_calls", "calls_per_s", "large"), 1),
        ("py client: log_batch points/s", lambda s: g(s, "log_batch", "points_per_s", "large"), 1),
        ("py client: search 1k runs (ms)", lambda s: g(s, "search_runs_metric_filter", "median_ms", "large"), 2),
        ("py client run: server CPU (s)", lambda s: g(s, "tracking_py_run", "server_cpu_s", "large"), 2),
        ("py client run: foreign CPU (s)", lambda s: g(s, "tracking_py_run", "foreign_cpu_s", "large"), 2),
        ("wrk log-batch: points/s", lambda s: g(s, "capacity_batch", "points_per_s"), 0),
        ("wrk log-batch: server CPU µs/point", lambda s: g(s, "capacity_batch", "server_cpu_us_per_point"), 2),
        ("wrk log-batch: HTTP errors", lambda s: g(s, "capacity_batch", "http_errors"), 0),
        ("wrk log-batch: stored == accepted", lambda s: g(s, "capacity_batch", "stored_check"), 0),
        ("wrk log-batch: foreign CPU (s)", lambda s: g(s, "capacity_batch", "foreign_cpu_s"), 2),
        ("wrk log-metric: points/s", lambda s: g(s, "capacity_metric", "points_per_s"), 0),
        ("wrk log-metric: server CPU µs/point", lambda s: g(s, "capacity_metric", "server_cpu_us_per_point"), 1),
        ("wrk log-metric: HTTP errors", lambda s: g(s, "capacity_metric", "http_errors"), 0),
        ("wrk log-metric: stored == accepted", lambda s: g(s, "capacity_metric", "stored_check"), 0),
        ("wrk log-metric: foreign CPU (s)", lambda s: g(s, "capacity_metric", "foreign_cpu_s"), 2),
        ("search 10k runs, metric filter, median (ms)", lambda s: g(s, "search_runs_10k", "median_ms"), 2),
        ("search 10k runs: matched", lambda s: g(s, "search_runs_10k", "matched"), 0),
        ("search 10k runs, raw HTTP (no client parsing), median (ms)",
         lambda s: g(s, "search_runs_10k", "raw_http_median_ms"), 2),
        ("search 10k runs: answer size (bytes)", lambda s: g(s, "search_runs_10k", "answer_bytes"), 0),
        ("search 10k runs: client's own parsing of that answer, median (ms)",
         lambda s: g(s, "search_runs_10k", "client_parse_median_ms"), 2),
    ]
    print("| figure | " + " | ".join(servers) + " |")
    print("|---" * (len(servers) + 1) + "|")
    for name, fn, nd in rows:
        vals = []
        for srv in servers:
            try:
                v = fn(srv)
            except (KeyError, IndexError, TypeError):
                v = None
            vals.append(str(v).lower() if isinstance(v, bool) else fmt(v, nd))
        print(f"| {name} | " + " | ".join(vals) + " |")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "summary":
        return summary(sys.argv[2])
    if len(sys.argv) == 7 and sys.argv[1] == "search-timed":
        _, _, name, uri, exp, runs, made = sys.argv
        return search_timed(argparse.Namespace(name=name, search_runs=int(runs)), uri, exp, made)
    if len(sys.argv) == 4 and sys.argv[1] == "seed-mlflow":
        return seed_mlflow(sys.argv[2], int(sys.argv[3]))
    if "--" not in sys.argv:
        raise SystemExit(__doc__)
    i = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("workdir")
    ap.add_argument("port", type=int)
    ap.add_argument("health")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--search-runs", type=int, default=10000)
    ap.add_argument("--skip", default="", help="comma list of: batch,metric,search")
    ap.add_argument("--keep-db", action="store_true", help="do not wipe WORKDIR first")
    ap.add_argument("--seed-db", help="an MLflow SQLite file made by `seed-mlflow`, copied to WORKDIR/db.sqlite")
    a = ap.parse_args(sys.argv[1:i])
    cmd = [x.replace("{port}", str(a.port)).replace("{workdir}", a.workdir) for x in sys.argv[i + 1:]]
    if not a.keep_db:
        subprocess.run(["rm", "-rf", a.workdir], check=True)
    os.makedirs(a.workdir, exist_ok=True)
    if a.seed_db:
        subprocess.run(["cp", a.seed_db, os.path.join(a.workdir, "db.sqlite")], check=True)
    pidfile = os.path.join(a.workdir, "load.pid")
    out = subprocess.run([sys.executable, os.path.join(SHARED, "startup.py"), f"http://127.0.0.1:{a.port}{a.health}",
                          pidfile, "--timeout", "180", "--"] + cmd, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    pid = r["pid"]
    if not r["ok"]:
        stop(pid)
        with open(pidfile + ".log", errors="replace") as f:
            emit(server=a.name, task="startup_failed", log_tail=f.read()[-3000:])
        sys.exit(1)
    uri = f"http://127.0.0.1:{a.port}"
    skip = set(filter(None, a.skip.split(",")))
    try:
        api = Api(uri)
        exp = api.post("experiments/create", {"name": f"load-{time.time_ns()}"})["experiment_id"]
        for mode in ("batch", "metric"):
            if mode not in skip:
                capacity(a, pid, api, exp, mode)
        if "search" not in skip:
            search(a, api, uri)
    finally:
        emit(server=a.name, task="stop", how=stop(pid))


if __name__ == "__main__":
    main()
