"""A small classroom in the test suite: 5 sessions moving sliders for 30 s while one trains.
(benchmarks/classroom_load.py is the full-size run with 40 sessions and the latency figures.)"""

import sys
from pathlib import Path

from tests.conftest import TINY
from tests.e2e.harness import AppServer
from vae.lab import train_and_save
from vae.runs import list_runs

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from classroom_load import run_load  # noqa: E402


def test_five_sessions_and_a_training_get_answers_without_errors(tmp_path, mnist_cache_dir, mnist):
    runs_dir = tmp_path / "runs"
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), runs_dir, "class-demo")
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path / "server.log")
    try:
        figures = run_load(server.url, sessions=5, seconds=30, trainings=1, runs_dir=runs_dir)
    finally:
        server.stop()
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["stuck_sessions"] == 0
    assert figures["moves"] >= 5 * 10  # every session was answered all along, about once a second
    # Not a timing test (machines are noisy); this bound only catches a server that stalls.
    assert figures["worst_session_p95_ms"] < 5000, figures
    assert figures["trainings_saved"] == 1
    assert len(list_runs(runs_dir).runs) == 2
