"""The class's own process, for a class on several web server processes (`make classroom SERVERS=3`):
it keeps the board, the classroom's state and the training queue (whose training processes it
starts) and serves them to the web servers (vae.classroom.sharing), starts the web servers, one
per port after the join port, and answers the join address itself, sending each new browser to
the next web server in turn (a redirect: the page and its websocket then stay there, and the
browser's key cookie holds for every port of this machine). Ctrl-C, or any web server ending,
stops them all."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vae import runs
from vae.classroom import sharing
from vae.classroom.codes import TEACHER_CODE_ENV
from vae.classroom.launch import CLASSROOM_ENV, JOIN_PORT_ENV
from vae.classroom.state import ClassroomPolicy, ClassroomState
from vae.errors import LabError
from vae.jobs.queue import TrainingQueue
from vae.jobs.store import JobStore

HOST_PATTERN = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


def shared_objects(runs_dir) -> dict[str, object]:
    """What the web servers of the class use through this process: the training queue (with its
    training processes). The board, names and settings are in the class's store, which each web
    server reads itself (vae.database)."""
    runs.remove_stale_temporaries(runs_dir, older_than_seconds=runs.STALE_SECONDS)
    store = JobStore.beside(runs_dir)
    state = ClassroomState(store.database)
    return {"training_queue": TrainingQueue.from_environment(policy=ClassroomPolicy(state), store=store)}


def request_host(header: str) -> str | None:
    """The host a browser asked for (without its port), if it is a plain name or address."""
    header = header.strip()
    host = header[: header.find("]") + 1] if header.startswith("[") else header.split(":", 1)[0]
    return host if HOST_PATTERN.fullmatch(host) else None


class Redirector(ThreadingHTTPServer):
    """The join address: each request is sent on to the next web server, same host, same path."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], ports: list[int]):
        self.next_port = itertools.cycle(ports).__next__
        self._lock = threading.Lock()
        super().__init__(address, _RedirectHandler)

    def take_port(self) -> int:
        with self._lock:
            return self.next_port()


class _RedirectHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        host = request_host(self.headers.get("Host", ""))
        if host is None:
            self.send_error(400, "Open the address the teacher shows.")
            return
        path = self.path if self.path.startswith("/") and not self.path.startswith("//") else "/"
        self.send_response(302)
        self.send_header("Location", f"http://{host}:{self.server.take_port()}{path}")
        self.send_header("Cache-Control", "no-store")  # every new browser is sent on afresh
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet: the terminal shows the code
        pass


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def web_server_command(root: str, address: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", os.path.join(root, "app.py"), "--server.address", address,
            "--server.port", str(port)]


def run_class(root: str, address: str, port: int, servers: int, code: str, runs_dir) -> int:
    """Serve the class's state, start `servers` web servers on the ports after `port`, and answer
    `port` with redirects until Ctrl-C or a web server ends. Problems at start: one sentence, 2."""
    ports = [port + n for n in range(1, servers + 1)]
    try:
        redirector = Redirector((address, port), ports)
    except OSError as error:
        print(f"error: cannot listen on {address}:{port} ({error.strerror or error})", file=sys.stderr)
        return 2
    try:
        objects = shared_objects(runs_dir)
    except LabError as error:
        redirector.server_close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    key = secrets.token_bytes(32)
    shared_address = sharing.serve(objects, key)
    environment = {**os.environ, CLASSROOM_ENV: "1", TEACHER_CODE_ENV: code, JOIN_PORT_ENV: str(port),
                   sharing.ADDRESS_ENV: f"{shared_address[0]}:{shared_address[1]}", sharing.KEY_ENV: key.hex()}
    children = [subprocess.Popen(web_server_command(root, address, web_port), env=environment, cwd=root)
                for web_port in ports]  # cwd: the repository's .streamlit/config.toml applies, wherever this started
    threading.Thread(target=redirector.serve_forever, daemon=True, name="join-redirect").start()
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops the class as Ctrl-C does: its web servers too
    try:
        while all(child.poll() is None for child in children):
            try:
                children[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
        ended = next(child for child in children if child.poll() is not None)
        print(f"A web server ended (exit code {ended.returncode}); stopping the class.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        redirector.shutdown()
        redirector.server_close()
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        objects["training_queue"].shutdown()
