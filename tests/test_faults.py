"""Processes that die mid-way and processes that write at once: nothing saved is lost or corrupted."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import TINY
from vae import runs
from vae.training.keras_files import load_models
from vae.training.lab import train_and_save

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A child that trains a tiny model on random data and saves it; SAVE_DELAY makes the save linger
# between "every file written" and "renamed into place", so it can be killed right there; GO (1) makes
# it wait there for a line on its stdin, so that two saves can be let go at the same moment.
CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from vae import runs
    from vae.runs import saving
    from vae.data import MnistData
    from vae.training.lab import train_and_save
    from tests.conftest import TINY
    runs_dir, name, epochs, save_delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    go = sys.argv[5] == "1"
    x = np.random.default_rng(0).random((256, 784), dtype=np.float32)
    data = MnistData(x, np.arange(256) % 10, x[:100], np.arange(100) % 10)
    if save_delay or go:
        real_fsync = saving._fsync_tree
        def slow_fsync(folder):
            real_fsync(folder)
            print("SAVING", flush=True)
            sys.stdin.readline() if go else time.sleep(save_delay)
        saving._fsync_tree = slow_fsync
    class Progress:
        def on_batch(self, progress): print("BATCH", flush=True)
        def on_epoch(self, summary): pass
    try:
        train_and_save(TINY.replace(epochs=epochs), data, runs_dir, name, listeners=[Progress()])
        print("SAVED", flush=True)
    except runs.RunError as error:
        print("REFUSED", error, flush=True)
""")


def start_child(runs_dir, name, epochs=1, save_delay=0.0, go=False):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(runs_dir), name, str(epochs), str(save_delay),
                             "1" if go else "0"], cwd=ROOT, stdin=subprocess.PIPE if go else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def wait_for_line(process, word, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(word):
            return
        if not line and process.poll() is not None:
            raise AssertionError(f"child exited with {process.returncode} before printing {word}")
    raise AssertionError(f"no {word} within {timeout} s")


@pytest.fixture
def earlier_run(runs_dir, small_data):
    saved = train_and_save(TINY.replace(epochs=1), small_data, runs_dir, "earlier")
    return {path.name: path.read_bytes() for path in saved.path.iterdir()}


def assert_only_earlier_run_intact(runs_dir, earlier_files):
    listing = runs.list_runs(runs_dir)
    assert [run.name for run in listing.runs] == ["earlier"] and listing.problems == []
    assert {p.name: p.read_bytes() for p in (runs_dir / "earlier").iterdir()} == earlier_files
    load_models(runs_dir / "earlier")


@pytest.mark.parametrize("moment", ["training", "saving"])
def test_sigkill_leaves_earlier_runs_intact_and_no_half_run(runs_dir, earlier_run, moment):
    child = start_child(runs_dir, "killed", epochs=500 if moment == "training" else 1,
                        save_delay=0 if moment == "training" else 60)
    wait_for_line(child, "BATCH" if moment == "training" else "SAVING")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert_only_earlier_run_intact(runs_dir, earlier_run)
    if moment == "saving":  # the staged copy is hidden, and cleared once it is stale
        assert any(p.name.startswith(runs.TEMP_PREFIX) for p in runs_dir.iterdir())
        runs.remove_stale_temporaries(runs_dir, older_than_seconds=0)
        assert sorted(p.name for p in runs_dir.iterdir()) == ["earlier"]


def test_two_processes_saving_at_once_do_not_corrupt_each_other(runs_dir, earlier_run):
    """Three at once: two under one name (one is refused) beside one under its own (each process
    imports TensorFlow, ~3 s of CPU: a fourth, under a name of its own too, added nothing). The two
    of one name both pass the name's check before training, stage every file, and are let go
    together: one rename wins, the other is refused, neither copy is mixed into the other."""
    children = [start_child(runs_dir, "from-app"), *(start_child(runs_dir, "same", go=True) for _ in range(2))]
    for child in children[1:]:
        wait_for_line(child, "SAVING")
    for child in children[1:]:
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = [child.communicate(timeout=180)[0] for child in children]
    assert "SAVED" in outputs[0]
    same = sorted(output.strip().splitlines()[-1].split()[0] for output in outputs[1:])
    assert same == ["REFUSED", "SAVED"], outputs[1:]
    listing = runs.list_runs(runs_dir)
    assert sorted(run.name for run in listing.runs) == ["earlier", "from-app", "same"]
    assert listing.problems == []
    for run in listing.runs:
        load_models(run.path)
    assert not any(p.name.startswith(".") for p in runs_dir.iterdir())


def test_a_runs_dir_that_cannot_be_written_is_refused_before_training(tmp_path, small_data, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr("vae.training.lab.train", lambda *a, **k: pytest.fail("trained though nothing can be saved"))
    with pytest.raises(runs.RunError, match="Cannot write runs to"):
        train_and_save(TINY, small_data, blocker / "runs", "x")
