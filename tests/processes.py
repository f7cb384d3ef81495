"""Helpers for tests that run the product's commands as processes: a free port, and waiting
for something to become true."""

import socket
import time
from collections.abc import Callable

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], bool], *, seconds: float, what: str, every: float = 0.2) -> None:
    """Return as soon as `check()` holds; fail the test naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}")
