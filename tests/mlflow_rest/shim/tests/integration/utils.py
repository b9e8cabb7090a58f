"""Stand-in for MLflow's tests/integration/utils.py."""

from click.testing import CliRunner


def invoke_cli_runner(*args, **kwargs):
    """Runs a click command in-process and fails the test on a non-zero exit code."""
    result = CliRunner().invoke(*args, **kwargs)
    assert result.exit_code == 0, f"exit code {result.exit_code}, output: {result.output}"
    return result
