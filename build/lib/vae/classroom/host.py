"""The class's launcher (`make classroom`): it opens the class's store (a damaged one is set aside
here, once, before any web server opens it), then starts and supervises the class's processes
(vae.classroom.supervise: each started again on its port if it dies, and each ending when the
launcher ends). It holds nothing of the class itself.

- One web server (`make classroom`): it listens on the join port itself and keeps its own queue.
- Several (`make classroom SERVERS=3`): web servers on the ports after the join port; the join
  address (vae.classroom.join), which sends each new browser to the next web server in turn; and
  the training queue (vae.classroom.dispatch), which listens on nothing. What the class shares (the
  board, names, settings, the queue's line and each job's state) is in the store, which every
  process reads itself; running jobs' live progress is in files beside the runs.

Ctrl-C (or `kill`) stops them all."""

from __future__ import annotations

import os
import signal
import socket
import sys

from vae.classroom.codes import TEACHER_CODE_ENV
from vae.classroom.dispatch import QUEUE_PROCESS_ENV
from vae.classroom.launch import CLASSROOM_ENV, JOIN_PORT_ENV
from vae.classroom.supervise import Supervisor
from vae.errors import LabError
from vae.jobs.broker import check_setup
from vae.jobs.store import JobStore


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def web_server_command(root: str, address: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", os.path.join(root, "app.py"), "--server.address", address,
            "--server.port", str(port)]


def join_command(address: str, port: int, web_ports: list[int]) -> list[str]:
    return [sys.executable, "-m", "vae.classroom.join", "--address", address, "--port", str(port),
            "--to", ",".join(str(p) for p in web_ports)]


def dispatch_command() -> list[str]:
    return [sys.executable, "-m", "vae.classroom.dispatch"]


def busy_port(address: str, ports: list[int]) -> tuple[int, str] | None:
    """The first of `ports` something else listens on, with why, if any."""
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError as error:
                return port, error.strerror or str(error)
    return None


def run_class(root: str, address: str, port: int, servers: int, code: str, runs_dir) -> int:
    """Start the class's processes and keep them running until Ctrl-C, `kill`, or one that keeps
    dying. Problems at start: one sentence, exit code 2."""
    web_ports = [port] if servers == 1 else [port + n for n in range(1, servers + 1)]
    busy = busy_port(address, [port, *web_ports] if servers > 1 else web_ports)
    if busy:
        print(f"error: cannot listen on {address}:{busy[0]} ({busy[1]})", file=sys.stderr)
        return 2
    environment = {**os.environ, CLASSROOM_ENV: "1", TEACHER_CODE_ENV: code}
    try:
        check_setup()  # a refused password or no shared secret: one sentence now, not a class without training
        JobStore.beside(runs_dir)  # a damaged store is set aside now, before several processes open it
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if servers > 1:
        environment.update({JOIN_PORT_ENV: str(port), QUEUE_PROCESS_ENV: "1"})
    supervisor = Supervisor(environment, cwd=root)  # cwd: the repository's .streamlit/config.toml applies
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops the class as Ctrl-C does: its processes too
    try:
        if servers > 1:
            supervisor.start("the training queue", dispatch_command())
            supervisor.start("the join address", join_command(address, port, web_ports))
        for web_port in web_ports:
            supervisor.start(f"the web server on port {web_port}", web_server_command(root, address, web_port))
        print(supervisor.watch(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        supervisor.stop_all()
