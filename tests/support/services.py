"""Real services for the tests that need them, on 127.0.0.1 and free ports, stopped by pid: a
redis-server (Debian's package; `.ci/run` installs it) and Celery worker processes (our
`python -m vae.jobs.celery_worker`). Without redis-server, those tests skip locally and fail in CI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.support.harness import ROOT, free_port
from tests.support.programs import program_or_skip


def redis_server_path() -> str:
    return program_or_skip("redis-server", "redis-server")


class RedisServer:
    """redis-server on a free 127.0.0.1 port; `durable`: an append-only file in `folder`, so a
    restart keeps what it held (as a department's Redis would be configured)."""

    def __init__(self, folder: Path, durable: bool = True):
        self.folder, self.durable = Path(folder), durable
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir",
             str(self.folder), *persistence], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.answers():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start within 20 s")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=2).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class CeleryWorkers:
    """`count` Celery worker processes (standing in for as many machines), each with its warm
    training process; ready once every one has said so in its heartbeat."""

    def __init__(self, broker_url: str, count: int, log_folder: Path, env: dict | None = None):
        self.broker_url = broker_url
        self.env = {**os.environ, "LATENT_LAB_BROKER": broker_url, "PYTHONPATH": str(ROOT), **(env or {})}
        self.log_folder = Path(log_folder)
        self.processes: dict[str, subprocess.Popen] = {}
        for n in range(count):
            self.add(f"worker{n + 1}")

    def add(self, name: str) -> None:
        log = open(self.log_folder / f"{name}.log", "w")  # noqa: SIM115 - the process writes it until stopped
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "vae.jobs.celery_worker", "--name", name], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def states(self) -> dict[str, dict]:
        client = redis.Redis.from_url(self.broker_url, socket_timeout=2)
        try:
            names = list(client.scan_iter("latent-lab:worker:*"))
            return {json.loads(v)["name"]: json.loads(v) for v in client.mget(names) if v} if names else {}
        except redis.RedisError:
            return {}

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if all(states.get(name, {}).get("ready") for name in self.processes):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the Celery workers were not ready within {timeout:.0f} s: {self.states()}")

    def kill(self, name: str) -> None:
        """SIGKILL a worker and everything it started (a machine lost, mid-job)."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
