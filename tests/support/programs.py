"""Programs some tests need from Debian's packages (chromium, node, redis-server): found on PATH, or
the test skips saying how to install it; in CI, which installs them (.ci/run), it fails instead."""

from __future__ import annotations

import os
import shutil

import pytest


def program_or_skip(name: str, package: str) -> str:
    """The path of the program `name`, which Debian's `package` installs."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
