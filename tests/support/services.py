"""Real services for the tests that need them, on 127.0.0.1 and free ports, stopped by pid: a
redis-server (Debian's package; `.ci/run` installs it) and Celery worker processes (our
`python -m vae.jobs.celery_worker`). Without redis-server, those tests skip locally and fail in CI."""

from __future__ import annotations

import json
import os
import secrets
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
    """redis-server on a free 127.0.0.1 port, set up as the README says: a password (requirepass,
    given in a config file, so it is on no command line), protected mode on. `durable`: an
    append-only file in `folder`, so a restart keeps what it held. `tls`: TLS only, with a
    certificate for 127.0.0.1 signed by a CA made here (`ca_file`)."""

    def __init__(self, folder: Path, durable: bool = True, tls: bool = False):
        self.folder, self.durable, self.tls = Path(folder), durable, tls
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.ca_file = self.folder / "ca.crt"
        query = f"?ssl_ca_certs={self.ca_file}" if tls else ""
        self.url = f"{'rediss' if tls else 'redis'}://:{self.password}@127.0.0.1:{self.port}/0{query}"
        self.process: subprocess.Popen | None = None
        self.folder.mkdir(parents=True, exist_ok=True)
        if tls:
            make_certificates(self.folder)
        self.start()

    def _config(self) -> Path:
        listen = (["port 0", f"tls-port {self.port}", f"tls-cert-file {self.folder / 'server.crt'}",
                   f"tls-key-file {self.folder / 'server.key'}", f"tls-ca-cert-file {self.ca_file}",
                   "tls-auth-clients no"] if self.tls else [f"port {self.port}"])
        persistence = ["appendonly yes", "appendfsync always"] if self.durable else ["appendonly no"]
        config = self.folder / "redis.conf"
        config.write_text("\n".join([*listen, "bind 127.0.0.1", "protected-mode yes", f"requirepass {self.password}",
                                     'save ""', f"dir {self.folder}", *persistence]) + "\n")
        config.chmod(0o600)
        return config

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([redis_server_path(), str(self._config())], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.answers():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start within 20 s")

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        """A client with the password (what a test reads and writes the broker's keys with)."""
        url = self.url if not self.tls else self.url + "&ssl_cert_reqs=required"
        return redis.Redis.from_url(url, socket_timeout=2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def make_certificates(folder: Path) -> None:
    """A CA and a server certificate for 127.0.0.1 it signs, with openssl (Debian's package)."""
    openssl = program_or_skip("openssl", "openssl")
    ca_key, ca, key, request, certificate = (folder / name for name in
                                             ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    extensions = folder / "server.ext"
    extensions.write_text("subjectAltName = IP:127.0.0.1\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Latent Lab test CA",
        "-keyout", str(ca_key), "-out", str(ca))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(request))
    run("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
        "-extfile", str(extensions), "-out", str(certificate))


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
        client = redis.Redis.from_url(self.broker_url, socket_timeout=2)  # the URL carries the password
        try:
            names = list(client.scan_iter("latent-lab:worker:*"))
            values = client.mget(names) if names else []
        except redis.RedisError:
            return {}
        states = {}
        for value in values:
            try:
                state = json.loads(value)
                states[state["name"]] = state
            except (ValueError, TypeError, KeyError):
                continue  # not a heartbeat (a test may plant one)
        return states

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if all(states.get(name, {}).get("ready") for name in self.processes):
                return
            ended = [name for name, process in self.processes.items() if process.poll() is not None]
            if ended:  # it said why in its log (a setting missing, Redis refusing it)
                raise RuntimeError(f"the Celery worker {ended[0]} exited: {self.log_tails(500)[ended[0]].strip()}")
            time.sleep(0.2)
        raise RuntimeError(f"the Celery workers were not ready within {timeout:.0f} s: {self.states()}")

    def log_tails(self, characters: int = 3000) -> dict[str, str]:
        """The end of each worker's log: what a failing test shows of them."""
        return {name: (self.log_folder / f"{name}.log").read_text(errors="replace")[-characters:]
                for name in self.processes}

    def training_processes(self) -> set[int]:
        """The pids of the workers' training processes (`python -m vae.jobs.worker`, their children)."""
        workers = {str(process.pid) for process in self.processes.values() if process.poll() is None}
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" (", 1)
                parent = rest.rsplit(") ", 1)[1].split()[1]
                command = (stat.parent / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue  # it ended while being read
            if parent in workers and b"vae.jobs.worker" in command:
                found.add(int(pid))
        return found

    def kill(self, name: str) -> None:
        """SIGKILL a worker and everything it started (a machine lost, mid-job)."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
