#!/usr/bin/env python3
"""Drives an MLflow-compatible tracking server with the official `mlflow` Python client.

Usage: test_client.py TRACKING_URI        (for example http://127.0.0.1:5077)

Every check is small and named; the script prints one line per check (`ok NAME` or
`FAIL NAME: ERROR`), keeps going after a failure, ends with a summary line
`mlflow-client: N passed, N failed` and exits 1 if any check failed (2 on bad usage).

Only the public client is used (`mlflow.*` fluent API, `MlflowClient`, `mlflow.sklearn`,
`mlflow.pyfunc`), except for the checks named `rest_*`, which send raw HTTP requests to pin down
wire details the client hides (error bodies, the /ajax-api prefix, int64 as JSON numbers).

All names carry a per-invocation prefix, so the script can run again against the same server;
the run is deterministic otherwise (fixed values, fixed timestamps, seeded data). The server
must serve artifacts (`mlflow server --serve-artifacts` or `smelt server`): nothing here touches
the server's disk directly.
"""

import os
import sys

# The client reads these at import time or per request: set them before importing mlflow.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
# The server under test is on loopback: never go through a proxy to reach it.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"

import filecmp  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
import requests  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

MISSING_RUN_ID = "0" * 32


class State:
    """What earlier checks made and later checks read (ids, names, paths)."""


S = State()
RESULTS = []  # (name, passed, seconds)


def need(*names):
    """Fails the current check early, and clearly, when an earlier check did not set `names`."""
    for n in names:
        if not hasattr(S, n):
            raise AssertionError(f"skipped: needs {n!r}, which an earlier check failed to make")
    return [getattr(S, n) for n in names] if len(names) > 1 else getattr(S, names[0])


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def raises(code, fn, *args, **kwargs):
    """Asserts that fn raises MlflowException with error_code `code`; returns the exception."""
    try:
        fn(*args, **kwargs)
    except MlflowException as e:
        if e.error_code != code:
            raise AssertionError(f"expected error_code {code}, got {e.error_code}: {e.message}")
        return e
    raise AssertionError(f"expected MlflowException {code}, nothing was raised")


def check(fn):
    """Runs one named check now, records and prints its outcome, never lets it escape."""
    name = fn.__name__
    t0 = time.monotonic()
    try:
        fn()
        ok = True
        print(f"ok {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - a check reports every kind of failure
        ok = False
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        if len(msg) > 600:
            msg = msg[:600] + "..."
        print(f"FAIL {name}: {msg}", flush=True)
        if os.environ.get("SMELT_MLFLOW_TRACEBACK"):
            traceback.print_exc()
    finally:
        # A failed fluent check must not leave a run active for the next one.
        while mlflow.active_run() is not None:
            mlflow.end_run()
    RESULTS.append((name, ok, time.monotonic() - t0))
    return fn


def run_all(uri):
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    base = uri.rstrip("/")
    prefix = f"smelt-{os.getpid()}-{int(time.time())}"
    tmp = Path(tempfile.mkdtemp(prefix="smelt-mlflow-client-"))
    S.prefix, S.tmp = prefix, tmp

    # ---------------------------------------------------------------- server and raw REST
    @check
    def rest_health():
        r = requests.get(f"{base}/health", timeout=10)
        eq(r.status_code, 200, "status")
        eq(r.text.strip(), "OK", "body")

    @check
    def rest_ajax_get_default_experiment():
        r = requests.get(f"{base}/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}, timeout=10)
        eq(r.status_code, 200, "status")
        exp = r.json()["experiment"]
        eq(exp["experiment_id"], "0", "experiment_id")
        eq(exp["name"], "Default", "name")
        eq(exp["lifecycle_stage"], "active", "lifecycle_stage")

    @check
    def rest_404_error_body():
        r = requests.get(f"{base}/api/2.0/mlflow/runs/get", params={"run_id": MISSING_RUN_ID}, timeout=10)
        eq(r.status_code, 404, "status")
        body = r.json()
        eq(body.get("error_code"), "RESOURCE_DOES_NOT_EXIST", "error_code")
        if not isinstance(body.get("message"), str) or not body["message"]:
            raise AssertionError(f"message must be a non-empty string, body was {body!r}")

    @check
    def rest_bad_request_error_body():
        r = requests.post(f"{base}/api/2.0/mlflow/experiments/create", json={}, timeout=10)
        eq(r.status_code, 400, "status")
        eq(r.json().get("error_code"), "INVALID_PARAMETER_VALUE", "error_code")

    # ---------------------------------------------------------------- experiments
    @check
    def experiment_set_creates():
        name = f"{prefix}-main"
        exp = mlflow.set_experiment(name)
        eq(exp.name, name, "name")
        eq(exp.lifecycle_stage, "active", "lifecycle_stage")
        if not exp.artifact_location.startswith("mlflow-artifacts:/"):
            raise AssertionError(f"artifact_location {exp.artifact_location!r} is not proxied (mlflow-artifacts:/)")
        S.exp_id, S.exp_name = exp.experiment_id, name

    @check
    def experiment_get_by_name():
        exp_id, name = need("exp_id", "exp_name")
        exp = client.get_experiment_by_name(name)
        eq(exp.experiment_id, exp_id, "experiment_id")
        eq(client.get_experiment(exp_id).name, name, "get_experiment name")
        eq(client.get_experiment_by_name(f"{prefix}-no-such-experiment"), None, "missing name")

    @check
    def experiment_set_existing_reuses():
        exp_id, name = need("exp_id", "exp_name")
        eq(mlflow.set_experiment(name).experiment_id, exp_id, "experiment_id")

    @check
    def experiment_create_with_tags():
        exp_id = client.create_experiment(f"{prefix}-tagged", tags={"team": "ml", "unicode": "héllo ✓"})
        client.set_experiment_tag(exp_id, "stage", "dev")
        client.delete_experiment_tag(exp_id, "team")
        tags = client.get_experiment(exp_id).tags
        expected = {"unicode": "héllo ✓", "stage": "dev"}
        eq(tags, expected, "tags")
        S.tagged_exp_id = exp_id

    @check
    def experiment_create_existing_fails():
        name = need("exp_name")
        raises("RESOURCE_ALREADY_EXISTS", client.create_experiment, name)

    @check
    def experiment_get_missing_fails():
        raises("RESOURCE_DOES_NOT_EXIST", client.get_experiment, "987654321")

    # ---------------------------------------------------------------- one run, fluent API
    @check
    def run_start_with_name_and_tags():
        exp_id = need("exp_id")
        run = mlflow.start_run(experiment_id=exp_id, run_name="alpha", tags={"t": "abc", "team": "x"})
        S.run_id = run.info.run_id
        got = client.get_run(S.run_id)
        eq(got.info.run_name, "alpha", "run_name")
        eq(got.info.experiment_id, exp_id, "experiment_id")
        eq(got.info.status, "RUNNING", "status")
        eq(got.info.lifecycle_stage, "active", "lifecycle_stage")
        eq(got.data.tags.get("t"), "abc", "tag t")
        eq(got.data.tags.get("team"), "x", "tag team")
        eq(got.data.tags.get("mlflow.runName"), "alpha", "tag mlflow.runName")
        if not got.info.artifact_uri.startswith("mlflow-artifacts:/"):
            raise AssertionError(f"artifact_uri {got.info.artifact_uri!r} is not proxied (mlflow-artifacts:/)")
        if not isinstance(got.info.start_time, int) or got.info.start_time < 1_600_000_000_000:
            raise AssertionError(f"start_time {got.info.start_time!r} is not epoch milliseconds")
        eq(mlflow.active_run().info.run_id, S.run_id, "active run")

    def resume():
        """Makes the main run the active fluent run again (check() ends runs between checks)."""
        return mlflow.start_run(run_id=need("run_id"))

    @check
    def run_log_param_and_params():
        with resume():
            mlflow.log_param("y", "a")
            mlflow.log_params({"lr": 0.1, "depth": 3, "long": "v" * 500, "empty": ""})
        p = client.get_run(S.run_id).data.params
        eq(p, {"y": "a", "lr": "0.1", "depth": "3", "long": "v" * 500, "empty": ""}, "params")

    @check
    def run_log_metric_steps_timestamps():
        with resume():
            mlflow.log_metric("x", 0.1, step=0, timestamp=1_700_000_001_000)
            mlflow.log_metric("x", 0.4, step=1, timestamp=1_700_000_002_000)
            mlflow.log_metric("x", 0.9, step=2, timestamp=1_700_000_003_000)
            mlflow.log_metrics({"m1": 1.5, "m2": -2.25, "big": 1e300}, step=7, timestamp=1_700_000_004_000)
        m = client.get_run(S.run_id).data.metrics
        eq(m, {"x": 0.9, "m1": 1.5, "m2": -2.25, "big": 1e300}, "latest metrics")

    @check
    def run_metric_nan_and_infinity():
        with resume():
            mlflow.log_metrics({"nan": float("nan"), "pinf": float("inf"), "ninf": float("-inf")}, step=0)
        m = client.get_run(S.run_id).data.metrics
        if not (m.get("nan") != m.get("nan")):
            raise AssertionError(f"nan: expected NaN, got {m.get('nan')!r}")
        # MLflow's SQL store clamps +-inf to +-DBL_MAX; keeping the infinity is fine too.
        if m.get("pinf") not in (float("inf"), sys.float_info.max):
            raise AssertionError(f"pinf: expected inf or DBL_MAX, got {m.get('pinf')!r}")
        if m.get("ninf") not in (float("-inf"), -sys.float_info.max):
            raise AssertionError(f"ninf: expected -inf or -DBL_MAX, got {m.get('ninf')!r}")
        hist = client.get_metric_history(S.run_id, "nan")
        if len(hist) != 1 or hist[0].value == hist[0].value:
            raise AssertionError(f"nan history: expected one NaN point, got {hist!r}")

    @check
    def run_set_tag_set_tags_delete_tag():
        with resume():
            mlflow.set_tag("t2", "v2")
            mlflow.set_tags({"a": "1", "b": "two", "t2": "v2-overwritten", "gone": "soon"})
            mlflow.delete_tag("gone")
        tags = client.get_run(S.run_id).data.tags
        user = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
        eq(user, {"t": "abc", "team": "x", "t2": "v2-overwritten", "a": "1", "b": "two"}, "user tags")

    @check
    def run_delete_missing_tag_fails():
        raises("RESOURCE_DOES_NOT_EXIST", client.delete_tag, need("run_id"), "never-set")

    @check
    def run_log_batch():
        run_id = need("run_id")
        client.log_batch(
            run_id,
            metrics=[
                Metric("x", 1.2, 1_700_000_005_000, 3),
                Metric("bm", 5.0, 1_700_000_005_000, 0),
                Metric("bm", 6.0, 1_700_000_006_000, 1),
            ],
            params=[Param("y", "a"), Param("batch_p", "bp")],
            tags=[RunTag("lw", "first"), RunTag("lw", "second"), RunTag("bt", "btv")],
            synchronous=True,
        )
        run = client.get_run(run_id)
        eq(run.data.metrics.get("x"), 1.2, "latest x")
        eq(run.data.metrics.get("bm"), 6.0, "latest bm")
        eq(run.data.params.get("y"), "a", "param y")
        eq(run.data.params.get("batch_p"), "bp", "param batch_p")
        eq(run.data.tags.get("lw"), "second", "tag lw (last write wins)")
        eq(run.data.tags.get("bt"), "btv", "tag bt")

    @check
    def run_log_batch_param_conflict_fails():
        run_id = need("run_id")
        raises("INVALID_PARAMETER_VALUE", client.log_batch, run_id, params=[Param("y", "b")], synchronous=True)
        raises("INVALID_PARAMETER_VALUE", client.log_param, run_id, "y", "b")
        eq(client.get_run(run_id).data.params.get("y"), "a", "param y after conflict")

    @check
    def run_metric_history():
        hist = client.get_metric_history(need("run_id"), "x")
        got = [(m.key, m.value, m.timestamp, m.step) for m in hist]
        expected = [
            ("x", 0.1, 1_700_000_001_000, 0),
            ("x", 0.4, 1_700_000_002_000, 1),
            ("x", 0.9, 1_700_000_003_000, 2),
            ("x", 1.2, 1_700_000_005_000, 3),
        ]
        eq(sorted(got, key=lambda t: (t[2], t[3])), expected, "history points")
        eq(got, expected, "history order (timestamp, step)")

    @check
    def run_metric_history_many_points_same_step():
        run_id = need("run_id")
        pts = [Metric("many", float(i) / 4, 1_700_000_100_000 + i, i // 2) for i in range(300)]
        for i in range(0, len(pts), 100):
            client.log_batch(run_id, metrics=pts[i : i + 100], synchronous=True)
        hist = client.get_metric_history(run_id, "many")
        got = sorted((m.timestamp, m.step, m.value) for m in hist)
        eq(len(got), 300, "number of points")
        eq(got, [(m.timestamp, m.step, m.value) for m in pts], "points")
        eq(client.get_metric_history(run_id, "never-logged"), [], "unknown key")

    # ---------------------------------------------------------------- artifacts
    src = tmp / "src"

    def make_tree():
        (src / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
        (src / "a.txt").write_text("alpha\n")
        (src / "with space.txt").write_text("spaces in the name\n")
        (src / "sub" / "b.json").write_text(json.dumps({"k": [1, 2, 3]}))
        (src / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 4 + b"\x00\xff\r\n")
        (src / "sub" / "deeper" / "big.bin").write_bytes(random.Random(42).randbytes(300_000))
        (src / "single.csv").write_text("a,b\n1,2\n")

    make_tree()

    @check
    def artifact_log_artifact_file():
        with resume():
            mlflow.log_artifact(str(src / "single.csv"))
            mlflow.log_artifact(str(src / "with space.txt"), artifact_path="one")
        files = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(S.run_id, "one")}
        eq(files, {("one/with space.txt", False, 19)}, "list one/")
        top = {f.path: f for f in client.list_artifacts(S.run_id)}
        eq(top["single.csv"].file_size, 8, "single.csv size")
        eq(top["one"].is_dir, True, "one is a directory")

    @check
    def artifact_log_artifacts_nested():
        with resume():
            mlflow.log_artifacts(str(src), artifact_path="tree")
        run_id = S.run_id
        lst = lambda p: {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, p)}  # noqa: E731
        eq(
            lst("tree"),
            {
                ("tree/a.txt", False, 6),
                ("tree/with space.txt", False, 19),
                ("tree/single.csv", False, 8),
                ("tree/sub", True, None),
            },
            "list tree/",
        )
        eq(lst("tree/sub"), {("tree/sub/b.json", False, 16), ("tree/sub/deeper", True, None)}, "list tree/sub")
        eq(
            lst("tree/sub/deeper"),
            {("tree/sub/deeper/c.bin", False, 1028), ("tree/sub/deeper/big.bin", False, 300_000)},
            "list tree/sub/deeper",
        )
        eq(lst("tree/a.txt"), set(), "listing a file")
        eq(lst("no/such/dir"), set(), "listing a missing dir")

    @check
    def artifact_download_tree_byte_exact():
        dst = tmp / "dl-tree"
        dst.mkdir()
        out = Path(mlflow.artifacts.download_artifacts(run_id=need("run_id"), artifact_path="tree", dst_path=str(dst)))
        cmp = filecmp.dircmp(src, out)

        def walk(c, rel=""):
            bad = [f"{rel}{n} (only on one side)" for n in c.left_only + c.right_only]
            _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
            bad += [f"{rel}{n} (bytes differ)" for n in mismatch + errors]
            for name, sub in c.subdirs.items():
                bad += walk(sub, f"{rel}{name}/")
            return bad

        bad = walk(cmp)
        if bad:
            raise AssertionError("downloaded tree differs: " + ", ".join(bad))

    @check
    def artifact_download_single_files():
        run_id = need("run_id")
        dst = tmp / "dl-one"
        dst.mkdir()
        for rel, local in [
            ("one/with space.txt", src / "with space.txt"),
            ("tree/sub/deeper/c.bin", src / "sub/deeper/c.bin"),
        ]:
            got = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=rel, dst_path=str(dst))
            eq(Path(got).read_bytes(), local.read_bytes(), f"bytes of {rel}")
        uri = f"runs:/{run_id}/single.csv"
        got = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst))
        eq(Path(got).read_bytes(), b"a,b\n1,2\n", f"bytes of {uri}")

    @check
    def artifact_log_text_and_dict():
        with resume():
            mlflow.log_text("héllo wörld\nline 2\n", "notes/readme.txt")
            mlflow.log_dict({"a": 1, "nested": {"b": [1, 2]}}, "cfg/config.json")
            mlflow.log_dict({"a": 1, "s": "x"}, "cfg/config.yaml")
        run_id = S.run_id
        eq(mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.txt"), "héllo wörld\nline 2\n", "text")
        eq(mlflow.artifacts.load_dict(f"runs:/{run_id}/cfg/config.json"), {"a": 1, "nested": {"b": [1, 2]}}, "json")
        import yaml

        eq(yaml.safe_load(mlflow.artifacts.load_text(f"runs:/{run_id}/cfg/config.yaml")), {"a": 1, "s": "x"}, "yaml")

    @check
    def run_end_finished():
        run_id = need("run_id")
        with resume():
            pass  # leaving the block ends the run as FINISHED
        info = client.get_run(run_id).info
        eq(info.status, "FINISHED", "status")
        if not info.end_time or info.end_time < info.start_time:
            raise AssertionError(f"end_time {info.end_time!r} is not after start_time {info.start_time!r}")

    @check
    def run_get_missing_fails():
        raises("RESOURCE_DOES_NOT_EXIST", client.get_run, MISSING_RUN_ID)

    @check
    def rest_int64_as_json_numbers():
        r = requests.get(f"{base}/api/2.0/mlflow/runs/get", params={"run_id": need("run_id")}, timeout=10)
        eq(r.status_code, 200, "status")
        info = r.json()["run"]["info"]
        for k in ("start_time", "end_time"):
            if type(info.get(k)) is not int:
                raise AssertionError(f"run.info.{k} must be a JSON number, got {info.get(k)!r}")
        hist = requests.get(
            f"{base}/api/2.0/mlflow/metrics/get-history",
            params={"run_id": S.run_id, "metric_key": "x"},
            timeout=10,
        ).json()["metrics"]
        if not all(type(m["timestamp"]) is int and type(m["step"]) is int for m in hist):
            raise AssertionError(f"metric timestamp/step must be JSON numbers: {hist[:2]!r}")

    # ---------------------------------------------------------------- search runs
    @check
    def search_setup_runs():
        sid = client.create_experiment(f"{prefix}-search")
        S.search_exp = sid
        spec = [
            # name,   x,   y,   t,     final status
            ("alpha", 0.9, "a", "abc", "FINISHED"),
            ("beta", 0.3, "a", "xyz", "FINISHED"),
            ("gamma", 0.7, "b", "ab", "RUNNING"),
            ("delta", 0.6, "a", "b-a", "FAILED"),
        ]
        S.search_ids = {}
        for name, x, y, t, status in spec:
            r = client.create_run(sid, run_name=name, tags={"t": t})
            client.log_metric(r.info.run_id, "x", x, timestamp=1_700_000_000_000, step=0)
            client.log_param(r.info.run_id, "y", y)
            if status != "RUNNING":
                client.set_terminated(r.info.run_id, status=status)
            S.search_ids[name] = r.info.run_id
        eq(len(client.search_runs([sid])), 4, "runs in the experiment")

    def names(runs):
        return sorted(r.info.run_name for r in runs)

    @check
    def search_runs_metric_and_param():
        got = client.search_runs([need("search_exp")], "metrics.x > 0.5 and params.y = 'a'")
        eq(names(got), ["alpha", "delta"], "runs")

    @check
    def search_runs_tag_like():
        eq(names(client.search_runs([need("search_exp")], "tags.t LIKE 'a%'")), ["alpha", "gamma"], "runs")

    @check
    def search_runs_run_name():
        got = client.search_runs([need("search_exp")], "attributes.run_name = 'beta'")
        eq([r.info.run_id for r in got], [S.search_ids["beta"]], "runs")

    @check
    def search_runs_status():
        eq(names(client.search_runs([need("search_exp")], "attributes.status = 'FINISHED'")), ["alpha", "beta"], "runs")

    @check
    def search_runs_order_by():
        sid = need("search_exp")
        got = client.search_runs([sid], order_by=["metrics.x DESC"])
        eq([r.info.run_name for r in got], ["alpha", "gamma", "delta", "beta"], "metrics.x DESC")
        got = client.search_runs([sid], order_by=["attributes.run_name ASC"])
        eq([r.info.run_name for r in got], ["alpha", "beta", "delta", "gamma"], "run_name ASC")
        got = client.search_runs([sid], order_by=["params.y DESC", "metrics.x ASC"])
        eq([r.info.run_name for r in got], ["gamma", "beta", "delta", "alpha"], "params.y DESC, metrics.x ASC")

    @check
    def search_runs_fluent_dataframe():
        df = mlflow.search_runs(
            experiment_ids=[need("search_exp")], filter_string="params.y = 'a'", order_by=["metrics.x ASC"]
        )
        eq(list(df["tags.mlflow.runName"]), ["beta", "delta", "alpha"], "runName column")
        eq(list(df["metrics.x"]), [0.3, 0.6, 0.9], "metrics.x column")
        runs = mlflow.search_runs(
            experiment_names=[f"{prefix}-search"], filter_string="tags.t = 'xyz'", output_format="list"
        )
        eq([r.info.run_name for r in runs], ["beta"], "by experiment name")

    @check
    def search_runs_pagination():
        pid = client.create_experiment(f"{prefix}-pages")
        expected = [f"p{i:02d}" for i in range(8)]
        for n in reversed(expected):
            client.create_run(pid, run_name=n)
        seen, token, pages = [], None, 0
        while True:
            page = client.search_runs([pid], max_results=3, order_by=["attributes.run_name ASC"], page_token=token)
            pages += 1
            if len(page) > 3:
                raise AssertionError(f"page {pages} has {len(page)} runs, max_results was 3")
            seen += [r.info.run_name for r in page]
            token = page.token
            if not token or pages > 10:
                break
        eq(seen, expected, "runs across pages")
        eq(pages, 3, "number of pages")

    @check
    def search_experiments_filter_order_pages():
        for i in range(3):
            client.create_experiment(f"{prefix}-exps-{i}", tags={"kind": "even" if i % 2 == 0 else "odd"})
        got = client.search_experiments(filter_string=f"name LIKE '{prefix}-exps-%'", order_by=["name DESC"])
        eq([e.name for e in got], [f"{prefix}-exps-{i}" for i in (2, 1, 0)], "name LIKE, name DESC")
        got = client.search_experiments(filter_string=f"name LIKE '{prefix}-exps-%' AND tags.kind = 'even'")
        eq(sorted(e.name for e in got), [f"{prefix}-exps-0", f"{prefix}-exps-2"], "tags.kind = 'even'")
        page1 = client.search_experiments(
            max_results=2, filter_string=f"name LIKE '{prefix}-exps-%'", order_by=["name ASC"]
        )
        if not page1.token:
            raise AssertionError("first page of 2 out of 3 has no next_page_token")
        page2 = client.search_experiments(
            max_results=2, filter_string=f"name LIKE '{prefix}-exps-%'", order_by=["name ASC"], page_token=page1.token
        )
        eq([e.name for e in page1] + [e.name for e in page2], [f"{prefix}-exps-{i}" for i in range(3)], "pages")
        eq(page2.token, None, "last page token")

    # ---------------------------------------------------------------- lifecycle
    @check
    def run_rename():
        rid = need("search_ids")["beta"]
        client.update_run(rid, name="beta-renamed")
        run = client.get_run(rid)
        eq(run.info.run_name, "beta-renamed", "run_name")
        eq(run.data.tags.get("mlflow.runName"), "beta-renamed", "mlflow.runName tag")
        got = client.search_runs([S.search_exp], "attributes.run_name = 'beta-renamed'")
        eq([r.info.run_id for r in got], [rid], "search by new name")

    @check
    def run_delete_and_restore():
        sid, ids = need("search_exp", "search_ids")
        rid = ids["gamma"]
        client.delete_run(rid)
        eq(client.get_run(rid).info.lifecycle_stage, "deleted", "lifecycle_stage after delete")
        eq("gamma" in names(client.search_runs([sid])), False, "deleted run in ACTIVE_ONLY search")
        eq(names(client.search_runs([sid], run_view_type=ViewType.DELETED_ONLY)), ["gamma"], "DELETED_ONLY")
        eq(len(client.search_runs([sid], run_view_type=ViewType.ALL)), 4, "ALL")
        client.restore_run(rid)
        eq(client.get_run(rid).info.lifecycle_stage, "active", "lifecycle_stage after restore")
        eq(len(client.search_runs([sid])), 4, "runs after restore")

    @check
    def experiment_rename():
        eid = client.create_experiment(f"{prefix}-old-name")
        client.rename_experiment(eid, f"{prefix}-new-name")
        eq(client.get_experiment(eid).name, f"{prefix}-new-name", "name")
        eq(client.get_experiment_by_name(f"{prefix}-new-name").experiment_id, eid, "get by new name")
        eq(client.get_experiment_by_name(f"{prefix}-old-name"), None, "get by old name")
        S.rename_exp = eid

    @check
    def experiment_delete_and_restore():
        eid = need("rename_exp")
        client.delete_experiment(eid)
        eq(client.get_experiment(eid).lifecycle_stage, "deleted", "lifecycle_stage after delete")
        flt = f"name = '{prefix}-new-name'"
        eq([e.experiment_id for e in client.search_experiments(filter_string=flt)], [], "ACTIVE_ONLY")
        got = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=flt)
        eq([e.experiment_id for e in got], [eid], "DELETED_ONLY")
        client.restore_experiment(eid)
        eq(client.get_experiment(eid).lifecycle_stage, "active", "lifecycle_stage after restore")
        eq([e.experiment_id for e in client.search_experiments(filter_string=flt)], [eid], "ACTIVE_ONLY after restore")

    @check
    def run_nested_parent_child():
        exp_id = need("exp_id")
        with mlflow.start_run(experiment_id=exp_id, run_name="parent") as parent:
            with mlflow.start_run(run_name="child", nested=True) as child:
                mlflow.log_param("level", "child")
        pid, cid = parent.info.run_id, child.info.run_id
        eq(client.get_run(cid).data.tags.get("mlflow.parentRunId"), pid, "child's mlflow.parentRunId")
        eq(client.get_run(cid).info.experiment_id, exp_id, "child's experiment")
        got = client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{pid}'")
        eq([r.info.run_id for r in got], [cid], "children of parent")
        eq(client.get_run(pid).info.status, "FINISHED", "parent status")

    @check
    def run_log_input_dataset():
        import pandas as pd

        df = pd.DataFrame({"f1": [1.0, 2.0, 3.0], "f2": ["a", "b", "c"], "label": [0, 1, 0]})
        ds = mlflow.data.from_pandas(df, name="tiny-train", targets="label")
        with mlflow.start_run(experiment_id=need("exp_id"), run_name="with-input") as run:
            mlflow.log_input(ds, context="training", tags={"split": "train"})
        inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
        eq(len(inputs), 1, "number of dataset inputs")
        d = inputs[0].dataset
        eq(d.name, "tiny-train", "dataset name")
        eq(d.digest, ds.digest, "dataset digest")
        sent = ds._to_mlflow_entity()  # exactly what the client sent
        for field in ("source_type", "source", "schema", "profile"):
            eq(getattr(d, field), getattr(sent, field), f"dataset {field}")
        tags = {t.key: t.value for t in inputs[0].tags}
        eq(tags.get("mlflow.data.context"), "training", "context tag")
        eq(tags.get("split"), "train", "user input tag")

    # ---------------------------------------------------------------- model registry
    rm = f"{prefix}-reg"

    @check
    def registry_create_registered_model():
        client.create_registered_model(rm, tags={"k": "v"}, description="first model")
        m = client.get_registered_model(rm)
        eq(m.name, rm, "name")
        eq(m.description, "first model", "description")
        eq(m.tags, {"k": "v"}, "tags")
        raises("RESOURCE_ALREADY_EXISTS", client.create_registered_model, rm)

    @check
    def registry_create_model_versions():
        run_id = need("run_id")
        source = client.get_run(run_id).info.artifact_uri + "/tree"
        v1 = client.create_model_version(rm, source, run_id=run_id, tags={"vk": "vv"}, description="v one")
        v2 = client.create_model_version(rm, source, run_id=run_id)
        eq((v1.version, v2.version), ("1", "2"), "versions")
        eq(v1.status, "READY", "status")
        S.mv_source = source

    @check
    def registry_get_model_version():
        source = need("mv_source")
        v = client.get_model_version(rm, "1")
        eq((v.name, v.version, v.source, v.run_id), (rm, "1", source, S.run_id), "name/version/source/run_id")
        eq(v.description, "v one", "description")
        eq(v.tags, {"vk": "vv"}, "tags")
        eq(v.current_stage, "None", "current_stage")
        raises("RESOURCE_DOES_NOT_EXIST", client.get_model_version, rm, "99")

    @check
    def registry_update_model_version():
        client.update_model_version(rm, "1", description="v one, updated")
        eq(client.get_model_version(rm, "1").description, "v one, updated", "description")
        client.update_registered_model(rm, description="first model, updated")
        eq(client.get_registered_model(rm).description, "first model, updated", "model description")

    @check
    def registry_tags():
        client.set_registered_model_tag(rm, "k2", "v2")
        client.set_registered_model_tag(rm, "k", "v-overwritten")
        client.delete_registered_model_tag(rm, "k2")
        eq(client.get_registered_model(rm).tags, {"k": "v-overwritten"}, "model tags")
        client.set_model_version_tag(rm, "2", "vk", "vv")
        client.set_model_version_tag(rm, "2", "tmp", "x")
        client.delete_model_version_tag(rm, "2", "tmp")
        eq(client.get_model_version(rm, "2").tags, {"vk": "vv"}, "version tags")

    @check
    def registry_search_registered_models():
        client.create_registered_model(f"{rm}-other", tags={"k": "other"})
        got = client.search_registered_models(f"name LIKE '{prefix}-reg%'", order_by=["name ASC"])
        eq([m.name for m in got], [rm, f"{rm}-other"], "name LIKE")
        got = client.search_registered_models(f"name LIKE '{prefix}-reg%' AND tags.k = 'v-overwritten'")
        eq([m.name for m in got], [rm], "tags.k filter")
        got = client.search_registered_models(f"name = '{rm}-other'")
        eq([m.name for m in got], [f"{rm}-other"], "name =")

    @check
    def registry_search_model_versions():
        got = client.search_model_versions(f"name = '{rm}'")
        eq(sorted(v.version for v in got), ["1", "2"], "name =")
        got = client.search_model_versions(f"run_id = '{need('run_id')}' AND name = '{rm}'")
        eq(sorted(v.version for v in got), ["1", "2"], "run_id =")
        got = client.search_model_versions(f"name = '{rm}' AND tags.vk = 'vv'")
        eq(sorted(v.version for v in got), ["1", "2"], "tags.vk")
        got = client.search_model_versions(f"name = '{rm}' AND tags.vk != 'vv'")
        eq(sorted(v.version for v in got), [], "tags.vk !=")

    @check
    def registry_aliases():
        client.set_registered_model_alias(rm, "champion", "1")
        client.set_registered_model_alias(rm, "challenger", "2")
        eq(client.get_model_version_by_alias(rm, "champion").version, "1", "champion")
        eq(client.get_model_version_by_alias(rm, "challenger").version, "2", "challenger")
        eq(client.get_registered_model(rm).aliases, {"champion": "1", "challenger": "2"}, "model aliases")
        eq(client.get_model_version(rm, "1").aliases, ["champion"], "version 1 aliases")
        client.set_registered_model_alias(rm, "challenger", "1")  # moving an alias
        eq(sorted(client.get_model_version(rm, "1").aliases), ["challenger", "champion"], "after move")
        eq(client.get_model_version(rm, "2").aliases, [], "version 2 after move")
        client.delete_registered_model_alias(rm, "challenger")
        eq(client.get_registered_model(rm).aliases, {"champion": "1"}, "after delete")
        try:
            client.get_model_version_by_alias(rm, "challenger")
        except MlflowException as e:
            if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise AssertionError(f"deleted alias: unexpected error_code {e.error_code}") from e
        else:
            raise AssertionError("deleted alias still resolves")

    @check
    def registry_rename_registered_model():
        new = f"{rm}-renamed"
        client.rename_registered_model(rm, new)
        eq(client.get_registered_model(new).name, new, "new name")
        eq(client.get_model_version(new, "1").name, new, "version 1 moved")
        eq(client.get_model_version_by_alias(new, "champion").version, "1", "alias survives rename")
        raises("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, rm)
        S.rm_renamed = new

    @check
    def registry_delete_model_version():
        new = need("rm_renamed")
        client.delete_model_version(new, "2")
        raises("RESOURCE_DOES_NOT_EXIST", client.get_model_version, new, "2")
        eq([v.version for v in client.search_model_versions(f"name = '{new}'")], ["1"], "versions left")

    @check
    def registry_delete_registered_model():
        new = need("rm_renamed")
        client.delete_registered_model(new)
        raises("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, new)
        eq(list(client.search_model_versions(f"name = '{new}'")), [], "versions of a deleted model")

    # ---------------------------------------------------------------- MLflow 3 end to end
    iris = f"{prefix}-iris-clf"

    @check
    def e2e_sklearn_log_model_registers():
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True, as_frame=True)
        model = LogisticRegression(max_iter=300).fit(X, y)
        with mlflow.start_run(experiment_id=need("exp_id"), run_name="train-iris") as run:
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name=iris)
        eq(str(info.registered_model_version), "1", "registered version")
        v = client.get_model_version(iris, "1")
        eq(v.run_id, run.info.run_id, "version run_id")
        eq(v.status, "READY", "version status")
        S.iris = (model, X, info, run.info.run_id)

    @check
    def e2e_pyfunc_load_by_version():
        model, X, _, _ = need("iris")
        loaded = mlflow.pyfunc.load_model(f"models:/{iris}/1")
        eq(list(loaded.predict(X)), list(model.predict(X)), "predictions")

    @check
    def e2e_pyfunc_load_by_alias():
        model, X, _, _ = need("iris")
        client.set_registered_model_alias(iris, "champion", "1")
        loaded = mlflow.pyfunc.load_model(f"models:/{iris}@champion")
        eq(list(loaded.predict(X)), list(model.predict(X)), "predictions")

    @check
    def e2e_sklearn_load_by_model_uri():
        model, X, info, _ = need("iris")
        loaded = mlflow.sklearn.load_model(info.model_uri)  # models:/m-<id>, the LoggedModel
        eq(list(loaded.predict_proba(X).round(12).ravel()), list(model.predict_proba(X).round(12).ravel()), "proba")


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        run_all(argv[1])
    finally:
        if hasattr(S, "tmp"):
            shutil.rmtree(S.tmp, ignore_errors=True)
    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = [n for n, ok, _ in RESULTS if not ok]
    slow = sorted(RESULTS, key=lambda r: -r[2])[:3]
    print(
        f"# {len(RESULTS)} checks in {time.monotonic() - t0:.1f}s against {argv[1]} with mlflow {mlflow.__version__}; "
        f"slowest: " + ", ".join(f"{n} {s:.1f}s" for n, _, s in slow)
    )
    if failed:
        print("# failed: " + " ".join(failed))
    print(f"mlflow-client: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
