"""Stand-in for MLflow's tests/helper_functions.py: only what the two REST test files import."""

import socket

LOCALHOST = "127.0.0.1"


def get_safe_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]
