"""The class's Redis trusted only as far as it should be (vae.jobs.broker): the address rule judged
on the URL alone (no traffic leaves this machine), a real redis-server with a password, a refused or
missing password as one sentence and exit 2 (never a worker that waits), TLS with rediss://, and the
password on no command line and in no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.harness import ROOT
from tests.support.services import RedisServer
from vae.errors import ConfigError
from vae.jobs.broker import BrokerError, check_broker_answers, check_broker_url, redacted


@pytest.mark.parametrize("url", [
    "redis://192.168.1.23:6379/0",  # the class network, no password
    "redis://school-redis.example:6379/0",
    "rediss://10.0.0.9:6380/0",
    "redis://user@10.0.0.9:6379/0",  # a user, but no password
])
def test_a_broker_on_another_machine_without_a_password_is_refused_before_connecting(url):
    with pytest.raises(ConfigError, match="without a password"):
        check_broker_url(url)


@pytest.mark.parametrize("url, why", [
    ("http://:pw@127.0.0.1:6379/0", "must start with redis://"),
    ("redis://:pw@/0", "names no host"),
    ("redis://:pw@127.0.0.1:99999/0", "not a valid address"),
    ("redis://:pw@127.0.0.1:6379/queue", "must be a number"),
])
def test_a_malformed_broker_address_is_one_sentence(url, why):
    with pytest.raises(ConfigError, match=why) as refused:
        check_broker_url(url)
    assert "pw" not in str(refused.value).replace("PASSWORD", "")


def test_accepted_addresses_and_what_is_shown_of_them():
    assert check_broker_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"  # this machine only
    assert check_broker_url("redis://:s3cret@192.168.1.23:6379/0") == "redis://:s3cret@192.168.1.23:6379/0"
    assert check_broker_url("redis://latent:s3cret@[::1]:6379/0")  # an ACL user
    tls = check_broker_url("rediss://:s3cret@redis.school.example:6380/0")
    assert tls.endswith("?ssl_cert_reqs=required")  # Celery needs it said; verifying is the default
    assert "ssl_cert_reqs=none" in check_broker_url("rediss://:s3cret@10.0.0.9:6380/0?ssl_cert_reqs=none")
    assert redacted("redis://latent:s3cret@10.0.0.9:6379/0") == "redis://***@10.0.0.9:6379/0"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_with_password(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis-auth"), durable=False)
    yield server
    server.stop()


def test_the_broker_answers_to_its_password_and_refuses_others(redis_with_password):
    server = redis_with_password
    check_broker_answers(server.url)
    with pytest.raises(BrokerError, match="refused the password in LATENT_LAB_BROKER"):
        check_broker_answers(server.url.replace(server.password, "not-the-password"))
    with pytest.raises(BrokerError, match="asks for a password"):
        check_broker_answers(server.url.replace(f":{server.password}@", ""))


def run_with_broker(url: str, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LATENT_LAB_BROKER": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("how", ["wrong password", "no password"])
def test_a_worker_whose_broker_refuses_it_says_so_and_exits(redis_with_password, how):
    server = redis_with_password
    url = (server.url.replace(server.password, "Wrong-Password-123") if how == "wrong password"
           else server.url.replace(f":{server.password}@", ""))
    worker = run_with_broker(url, "-m", "vae.jobs.celery_worker", "--name", "refused")
    assert worker.returncode == 2
    lines = [line for line in worker.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the Redis server at redis://"), worker.stderr
    assert "Traceback" not in worker.stderr + worker.stdout
    assert "Wrong-Password-123" not in worker.stderr + worker.stdout and server.password not in worker.stderr


def test_the_check_that_make_app_runs_first(redis_with_password):
    server = redis_with_password
    assert run_with_broker(server.url, "-m", "vae.settings", "--check").returncode == 0
    refused = run_with_broker(server.url.replace(server.password, "nope"), "-m", "vae.settings", "--check")
    assert refused.returncode == 2 and "refused the password" in refused.stderr and "nope" not in refused.stderr
    open_redis = run_with_broker("redis://192.168.1.23:6379/0", "-m", "vae.settings", "--check")  # never dialled
    assert open_redis.returncode == 2 and "without a password" in open_redis.stderr


def test_rediss_reaches_a_redis_with_tls_and_checks_its_certificate(tmp_path):
    server = RedisServer(tmp_path / "redis-tls", durable=False, tls=True)
    try:
        check_broker_answers(check_broker_url(server.url))  # verified against the class's CA
        without_ca = server.url.split("?")[0]
        with pytest.raises(BrokerError, match="a TLS certificate this machine does not trust"):
            check_broker_answers(check_broker_url(without_ca))
    finally:
        server.stop()


def test_the_password_is_on_no_command_line_and_in_no_output_of_a_working_class(redis_with_password, tmp_path):
    """redis-server reads it from its config file; a worker from its environment: `ps` shows neither."""
    from tests.support.services import CeleryWorkers

    server = redis_with_password
    workers = CeleryWorkers(server.url, 1, tmp_path)
    try:
        workers.wait_ready()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                words = cmdline.read_bytes()
            except OSError:
                continue  # a process that ended meanwhile
            assert server.password.encode() not in words, cmdline
    finally:
        workers.stop()
    assert server.password not in (tmp_path / "worker1.log").read_text()


def test_heartbeats_that_are_not_ours_are_dropped_whatever_they_hold():
    from vae.jobs.remote import MAX_HEARTBEAT_BYTES, worker_states
    from vae.jobs.signing import LogOnce, Signer

    signer = Signer(b"the class's secret, 32 bytes long")
    state = {"name": "lab-pc-3", "host": "lab-pc-3", "job": None, "ready": True}
    genuine = json.dumps({**state, "mac": signer.sign("heartbeat", json.dumps(state, sort_keys=True))})
    # Signed, but larger than any heartbeat: not read (whoever wrote it, reading it costs the reader).
    padded = {**state, "name": "lab-pc-9", "host": "x" * MAX_HEARTBEAT_BYTES}
    oversized = json.dumps({**padded, "mac": signer.sign("heartbeat", json.dumps(padded, sort_keys=True))})
    hostile = [b"[" * 200_000, b"\xff\xfe", b"null", b'{"name": 3}', json.dumps({**state, "mac": "0" * 64}).encode(),
               genuine.replace("lab-pc-3", "lab-pc-4", 1).encode(), oversized.encode()]
    assert worker_states([*hostile, genuine.encode()], signer, LogOnce()) == [
        {"name": "lab-pc-3", "job": None, "ready": True}]


def test_an_event_line_longer_than_any_event_is_refused_before_it_is_parsed():
    """What a worker's stream in Redis may hold: a well-formed event past the size limit is refused
    for its size (the hostile broker test's oversized entry is refused for its missing signature)."""
    from vae.jobs import protocol

    line = json.dumps({"event": "failed", "message": "x" * protocol.MAX_LINE_BYTES}).encode()
    with pytest.raises(protocol.ProtocolError, match="a line of"):
        protocol.decode_event(line)
