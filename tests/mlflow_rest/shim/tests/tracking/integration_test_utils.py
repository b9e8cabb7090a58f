"""Stand-in for MLflow's tests/tracking/integration_test_utils.py.

MLflow's own fixtures serve the tracking app in-process (`ServerThread(app, port)`) or start
uvicorn on it (`_init_server`). Here both start the server under test as a separate process
instead, on a fresh SQLite store and artifact folder each time:

- SMELT_REST_SERVER=/path/to/smelt: `smelt server` (the default is `smelt` on the PATH);
- SMELT_REST_SERVER=mlflow: the real `mlflow server` of this venv (the reference).

The process runs in pytest's working directory (relative paths resolve as they would in-process)
and its output goes to $SMELT_REST_LOG_DIR/<test>.<n>.log when that is set.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import requests

import mlflow

from tests.helper_functions import LOCALHOST, get_safe_port

_started = 0


def _server_command(store: Path, port: int) -> list[str]:
    server = os.environ.get("SMELT_REST_SERVER", "smelt")
    backend = f"sqlite:///{store}/db.sqlite"
    artifacts = store / "artifacts"
    if server == "mlflow":
        mlflow_bin = Path(sys.executable).with_name("mlflow")
        return [
            str(mlflow_bin), "server", "--backend-store-uri", backend,
            "--artifacts-destination", str(artifacts), "--serve-artifacts",
            "--host", LOCALHOST, "--port", str(port), "--workers", "1",
        ]  # fmt: skip
    return [
        server, "server", "--backend-store-uri", backend,
        "--artifacts-destination", artifacts.as_uri(),
        "--host", LOCALHOST, "--port", str(port),
    ]  # fmt: skip


def _log_path(store: Path) -> Path:
    global _started
    _started += 1
    log_dir = os.environ.get("SMELT_REST_LOG_DIR")
    if not log_dir:
        return store / "server.log"
    test = os.environ.get("PYTEST_CURRENT_TEST", "session").split(" ")[0]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.split("::", 1)[-1])[:150]
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    return Path(log_dir) / f"{name}.{_started}.log"


def _wait_ready(proc: subprocess.Popen, url: str, log: Path) -> None:
    limit = float(os.environ.get("SMELT_REST_START_TIMEOUT", "120"))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the server exited ({proc.returncode}) before /health; log:\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no 200 from {url}/health within {limit:.0f}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def _external_server(port: int | None = None, extra_env: dict | None = None):
    """Starts the server under test on a fresh store and yields its URL."""
    mlflow.set_tracking_uri(None)
    port = port or get_safe_port()
    store = Path(tempfile.mkdtemp(prefix="smelt-mlflow-rest-"))
    (store / "artifacts").mkdir()
    log = _log_path(store)
    env = {**os.environ, **{k: str(v) for k, v in (extra_env or {}).items()}}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    url = f"http://{LOCALHOST}:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _server_command(store, port),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, url, log)
        yield url
    finally:
        _stop(proc)
        shutil.rmtree(store, ignore_errors=True)


@contextlib.contextmanager
def _init_server(backend_uri, root_artifact_uri, extra_env=None, app=None, server_type=None):
    """MLflow's signature; the store URIs are replaced by a fresh store of the server under test."""
    with _external_server(extra_env=extra_env) as url:
        yield url


def _send_rest_tracking_post_request(tracking_server_uri, api_path, json_payload, auth=None):
    return requests.post(tracking_server_uri + api_path, json=json_payload, auth=auth)


class ServerThread:
    """MLflow's `ServerThread(app, port)` context manager, serving from a separate process."""

    def __init__(self, app, port: int):
        self.port = port
        self.url = f"http://{LOCALHOST}:{port}"
        self._server = None

    def __enter__(self) -> str:
        self._server = _external_server(self.port)
        return self._server.__enter__()

    def __exit__(self, *exc) -> None:
        self._server.__exit__(*exc)
