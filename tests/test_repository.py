"""The repository as a newcomer gets it: no file a run of the app writes is tracked by git, the
package installs with pip, and the Python versions claimed are the ones the code needs."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.harness import ROOT

# What the app, the tests and the tools write as they run: none of it belongs in git.
RUNTIME = ("runs/*", "*/.queue.sqlite3*", ".queue.sqlite3*", "*.sqlite3", "*.sqlite3-wal", "*.sqlite3-shm",
           "*/.live/*", "build/*", "dist/*", "*__pycache__*", "*.pyc", ".cache/*", ".hypothesis/*", "*.egg-info/*",
           ".venv/*", "*.log")


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def test_no_runtime_file_is_tracked_by_git():
    runtime = [path for path in tracked_files() if any(fnmatch.fnmatch(path, pattern) for pattern in RUNTIME)]
    assert runtime == []


def test_the_python_versions_claimed_are_those_the_code_needs():
    """pyproject's requires-python, ruff's target and vermin's verdict on every module agree."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == ">=3.11"
    assert project["tool"]["ruff"]["target-version"] == "py311"
    vermin = subprocess.run([str(Path(sys.executable).parent / "vermin"), "--no-tips", "--violations", "-t=3.11-",
                             "--eval-annotations", "vae", "ui", "pages", "app.py", "tests", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert vermin.returncode == 0, vermin.stdout[-3000:] + vermin.stderr[-2000:]


def test_pip_builds_the_package_with_its_browser_files(tmp_path):
    """`pip install .` works: the wheel holds the core and the web server's code with every
    component's .js and .css, and names the CLI (offline: the venv's own setuptools builds it)."""
    source = tmp_path / "source"  # a copy: setuptools writes build/ and *.egg-info beside what it builds
    for name in ("vae", "ui"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("latent_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"vae/__init__.py", "vae/cli/__init__.py", "ui/latent_map/latent_map.js", "ui/latent_map/decoder.js",
            "ui/app.css", "ui/drawing_pad/drawing_pad.js"} <= names
    assert not any(name.startswith(("tests/", "benchmarks/", "runs/")) for name in names)
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "latent-lab = vae.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_suites_longest_first_order_names_test_files_that_exist():
    """tests/conftest.py hands xdist the longest files first: a renamed file would quietly lose its place."""
    from tests.conftest import LONGEST_FIRST

    missing = [path for path in LONGEST_FIRST if not (ROOT / path).is_file()]
    assert missing == [] and len(set(LONGEST_FIRST)) == len(LONGEST_FIRST), missing
