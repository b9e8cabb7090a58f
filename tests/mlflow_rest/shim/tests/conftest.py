"""Stand-in for MLflow's tests/conftest.py: the fixtures the two REST test files use.

MLflow's fixtures first open the tracking store in-process (`initialize_backend_stores`); the
server under test is a separate process here (tracking/integration_test_utils.py), so that step
is skipped.
"""

import pytest

import mlflow
import mlflow.server.handlers

mlflow.server.handlers.initialize_backend_stores = lambda *args, **kwargs: None


@pytest.fixture
def db_uri(tmp_path):
    return f"sqlite:///{tmp_path}/mlflow.db"


@pytest.fixture(autouse=True)
def _reset_tracking_uri():
    yield
    mlflow.set_tracking_uri(None)
    if mlflow.active_run():
        mlflow.end_run()
