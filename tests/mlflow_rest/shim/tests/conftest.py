"""Stand-in for MLflow's tests/conftest.py: the fixtures the two REST test files use.

MLflow's fixtures first open the tracking store in-process (`initialize_backend_stores`); the
server under test is a separate process here (tracking/integration_test_utils.py), so that step
is skipped.
"""

import os

import pytest

import mlflow
import mlflow.server.handlers

mlflow.server.handlers.initialize_backend_stores = lambda *args, **kwargs: None


@pytest.fixture
def db_uri(tmp_path):
    return f"sqlite:///{tmp_path}/mlflow.db"


@pytest.fixture(autouse=True)
def _reset_fluent_state():
    """Each test starts as a fresh process would: no tracking URI, active run, experiment or
    environment variable left over from the one before (each test has a new server, whose ids
    start again)."""
    environ = dict(os.environ)
    yield
    # `mlflow.set_experiment` and the CLI leave MLFLOW_EXPERIMENT_ID and friends behind.
    os.environ.clear()
    os.environ.update(environ)
    # The test's server is gone by now: drop a run left active without ending it there.
    mlflow.tracking.fluent._active_run_stack.get().clear()
    mlflow.set_tracking_uri(None)
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.tracking.fluent._reset_last_logged_model_id()
