"""The cross-process timeline a benchmark reads (vae/timeline.py): off unless LATENT_LAB_TIMELINE
names a file; on, every process's steps land in it on one clock, readable in time order."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.support.harness import ROOT
from vae import timeline


def test_nothing_is_written_without_the_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("LATENT_LAB_TIMELINE", raising=False)
    monkeypatch.chdir(tmp_path)
    timeline.mark("nothing to see")
    assert list(tmp_path.iterdir()) == []


def test_steps_of_two_processes_sort_into_one_timeline(monkeypatch, tmp_path):
    path = tmp_path / "timeline.txt"
    monkeypatch.setenv("LATENT_LAB_TIMELINE", str(path))
    before = time.monotonic()
    timeline.mark("here: first")
    subprocess.run([sys.executable, "-c", "from vae import timeline; timeline.mark('there: second')"],
                   cwd=ROOT, env={"LATENT_LAB_TIMELINE": str(path), "PATH": "/usr/bin:/bin"}, check=True, timeout=60)
    timeline.mark("here: third")
    steps = timeline.read(path)
    assert [event for _, _, event in steps] == ["here: first", "there: second", "here: third"]
    assert len({pid for _, pid, _ in steps}) == 2
    assert before <= steps[0][0] <= steps[-1][0] <= time.monotonic()
