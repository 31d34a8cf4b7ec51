"""A class on several web server processes (vae.classroom.sharing, vae.classroom.host): what one web
server does through a proxy happens to the class's one board, state and queue, with the same rules;
a process without the class's secret is refused; the join address spreads browsers over the web
servers. The whole class on real processes is tests/e2e/test_class_servers.py."""

from __future__ import annotations

import pickle
import secrets
import socket
import threading

import pytest

from tests.conftest import TINY
from tests.test_training_queue import StandInWorker
from vae.classroom import STUDENT, TEACHER, Person, sharing
from vae.errors import ConfigError
from vae.jobs.queue import TrainingQueue

TEACHER_PERSON = Person(TEACHER, "the teacher", browser="t" * 32)
ADA = Person(STUDENT, "Ada", "a" * 64, browser="a" * 32, address="10.0.0.5")
TYPES = {"training_queue": TrainingQueue}


@pytest.fixture
def served():
    key = secrets.token_bytes(32)
    objects = {"training_queue": TrainingQueue(slots=1, worker_factory=StandInWorker)}
    address = sharing.serve(objects, key)
    yield objects, sharing.connect(address, key, TYPES), (address, key)
    objects["training_queue"].shutdown()


def test_one_line_for_every_web_server(served, runs_dir):
    objects, remote, _ = served
    job = remote["training_queue"].submit(TINY, runs_dir, name="shared-run")
    assert [snap.id for snap in objects["training_queue"].snapshots()] == [job]
    assert remote["training_queue"].snapshot(job).run_name == "shared-run"
    assert remote["training_queue"].stall_seconds == objects["training_queue"].stall_seconds


def test_an_error_with_two_parts_crosses_processes_whole():
    error = ConfigError("epochs", "must be from 1 to 200")
    again = pickle.loads(pickle.dumps(error))
    assert (again.field, str(again)) == ("epochs", "epochs: must be from 1 to 200")


def test_every_thread_of_a_web_server_may_use_the_proxies(served, runs_dir):
    objects, remote, _ = served
    errors = []

    def submit(n):
        try:
            remote["training_queue"].submit(TINY, runs_dir, name=f"from-thread-{n}")
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and len(objects["training_queue"].snapshots()) == 8


def test_a_process_without_the_class_secret_is_refused(served):
    _, _, (address, _) = served
    with pytest.raises(sharing.SharingError, match="secret does not match"):
        sharing.connect(address, secrets.token_bytes(32), TYPES, timeout=5)


def test_only_public_methods_and_attributes_are_shared(served):
    _, _, (address, key) = served
    connections = sharing.Connections(address, key)
    for member, args in (("_jobs", ()), (sharing.READ, ("_jobs",)), (sharing.READ, ("__class__",)),
                         ("__init__", ())):
        with pytest.raises(sharing.SharingError, match="is not shared"):
            connections.call("training_queue", member, args, {})
    with pytest.raises(sharing.SharingError, match="nothing shared is called 'runs'"):
        connections.call("runs", sharing.READ, ("version",), {})


class Holder:
    def __init__(self):
        self.lock = threading.Lock()


def test_what_cannot_cross_processes_comes_back_as_a_sentence():
    key = secrets.token_bytes(32)
    remote = sharing.connect(sharing.serve({"holder": Holder()}, key), key, {"holder": Holder})
    with pytest.raises(sharing.SharingError, match="cannot pickle"):
        _ = remote["holder"].lock


def test_the_shared_address_is_this_machine_only():
    with pytest.raises(sharing.SharingError, match="127.0.0.1"):
        sharing.parse_address("0.0.0.0:5000")
    assert sharing.parse_address("127.0.0.1:5000") == ("127.0.0.1", 5000)


def test_make_classroom_says_in_one_sentence_what_is_wrong(capsys):
    from vae.classroom.launch import main

    assert main(["--servers", "0"]) == 2
    assert "--servers must be from 1 to 8" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--servers", "2", "--address", "127.0.0.1", "--port", str(port)]) == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
