"""Waiting on a condition with a deadline (never on the machine's pace), for tests and benchmarks."""

from __future__ import annotations

import time


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1, message: str = "condition",
               pause=time.sleep):
    """Poll until `condition()` is truthy and return its value; fail after `timeout` seconds.
    `pause(interval)` between polls: time.sleep, or a wait that lets a browser's events in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        pause(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
