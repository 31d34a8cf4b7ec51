"""Real-browser harness, shared by the e2e tests and the UI benchmarks: `streamlit run app.py` on a free
127.0.0.1 port, driven by Debian's chromium through Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.processes import command_line
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CONNECTED = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STARTED_SERVERS: list = []  # read by tests/e2e/conftest.py to show a failed test the servers' last words


class AppServer:
    """A real Streamlit server in a subprocess, stopped at the end; startup is bounded."""

    def __init__(self, runs_dir: Path, cache_dir: Path, log_path: Path, extra_env: dict | None = None,
                 root: Path = ROOT):
        """`root`: the checkout whose app.py is run (benchmarks/call_paths.py runs an older one)."""
        self.runs_dir = runs_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "LATENT_LAB_RUNS_DIR": str(runs_dir), "LATENT_LAB_CACHE": str(cache_dir),
               **(extra_env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        STARTED_SERVERS.append(self)
        if wait_healthy(self.url, self.process, 60):
            return
        self.stop()
        raise RuntimeError(f"streamlit did not start within 60 s; see {log_path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1 (bounded tries)."""
    for _ in range(50):
        first = free_port()
        if first + count > 65535:
            continue
        sockets = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


def busy(port: int) -> bool:
    """Something listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def healthy(url: str) -> bool:
    """The Streamlit server at `url` answers its health check now."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_healthy(url: str, process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.25)
    return False


def wait_listening(port: int, process: subprocess.Popen, seconds: float) -> bool:
    """Something listens on 127.0.0.1:port within `seconds`, while `process` lives."""
    deadline = time.monotonic() + max(seconds, 5)
    while time.monotonic() < deadline and process.poll() is None:
        if busy(port):
            return True
        time.sleep(0.1)
    return False


class ClassServers:
    """`python -m vae.classroom --servers N` on 127.0.0.1 (what `make classroom SERVERS=N` runs): the
    class's own process, N web servers sharing its board, state and queue, and the join address
    that spreads browsers over them. Startup is bounded; stopped (the whole process group) at the end."""

    def __init__(self, runs_dir: Path, cache_dir: Path, log_path: Path, servers: int = 2,
                 extra_env: dict | None = None, root: Path = ROOT):
        self.runs_dir = runs_dir
        self.port = free_ports(servers + 1)
        self.join_url = f"http://127.0.0.1:{self.port}"
        self.urls = [f"http://127.0.0.1:{self.port + n}" for n in range(1, servers + 1)]
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "LATENT_LAB_RUNS_DIR": str(runs_dir), "LATENT_LAB_CACHE": str(cache_dir),
               **(extra_env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vae.classroom", "--servers", str(servers), "--address", "127.0.0.1",
             "--port", str(self.port)], cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        STARTED_SERVERS.append(self)
        # The join address is a process of its own, started beside the web servers: wait for it too.
        deadline = time.monotonic() + 90
        started = all(wait_healthy(url, self.process, 90) for url in self.urls) and \
            wait_listening(self.port, self.process, deadline - time.monotonic())
        if not started:
            self.stop()
            raise RuntimeError(f"the class's web servers or join address did not start within 90 s; see {log_path}")

    @property
    def ports(self) -> list[int]:
        """The join port, then the web servers'."""
        return [self.port + n for n in range(len(self.urls) + 1)]

    def _children(self, marker: bytes) -> list[int]:
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:  # the launcher has ended
            return []
        return [int(pid) for pid in children if marker in command_line(int(pid))]

    def pids(self) -> list[int]:
        """The class's own process (the launcher), then its web servers (its children that run Streamlit)."""
        return [self.process.pid, *self._children(b"streamlit")]

    def web_server_pid(self, url: str) -> int | None:
        port = url.rsplit(":", 1)[1].encode()
        return next(iter(self._children(b"--server.port\0" + port + b"\0")), None)

    def join_pids(self) -> list[int]:
        return self._children(b"vae.classroom.join")

    def queue_pids(self) -> list[int]:
        """The training queue's process (vae.classroom.dispatch)."""
        return self._children(b"vae.classroom.dispatch")

    def stop(self) -> None:
        self.process.terminate()  # the class's process stops its web servers and training processes
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)
        self.log.close()


# Streamlit's frontend marks a rerun as running only once the server says it has begun: right after a
# widget changes, the page still reads "notRunning". Counting the runs that begin tells a wait that
# the rerun it expects has come, however long the server took to start it.
COUNT_RUNS = """new MutationObserver((changes) => {
    for (const change of changes) {
        if (change.target.getAttribute('data-test-script-state') === 'running') {
            window.__latentLabRuns = (window.__latentLabRuns || 0) + 1;
        }
    }
}).observe(document, {attributes: true, attributeFilter: ['data-test-script-state'], subtree: true});"""


class PageWatcher:
    """A page plus what it printed: console errors and failed requests fail the test."""

    # Offline, Streamlit still tries a font CDN for icons; that is noise, not our error.
    IGNORED = ("fonts.googleapis", "fonts.gstatic", "Failed to load resource: net::ERR_NAME_NOT_RESOLVED")

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: self._console(message))
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("response", lambda response: self._response(response))
        page.add_init_script(COUNT_RUNS)

    # Opened at a page's address (/train), Streamlit's frontend first probes /train/_stcore/... for
    # a base path, gets 404, then uses /_stcore/: its own behaviour, not an error of the app.
    BASE_PATH_PROBES = ("/_stcore/host-config", "/_stcore/health")

    def _response(self, response) -> None:
        # Failed requests are judged here, where the address is known; the console's copy of the
        # same failure ("Failed to load resource") is skipped in _console.
        path = response.url.split("://", 1)[-1].split("/", 1)[-1]
        probe = path.endswith(self.BASE_PATH_PROBES) and not path.startswith("_stcore/")
        if response.status >= 400 and not probe:
            self.errors.append(f"HTTP {response.status} for {response.url}")

    def _console(self, message) -> None:
        if message.type != "error" or message.text.startswith("Failed to load resource: the server responded"):
            return
        if not any(part in message.text for part in self.IGNORED):
            self.errors.append(message.text)

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector(CONNECTED, timeout=60_000)
        self.wait_idle()

    def wait_idle(self, timeout_ms: int = 60_000) -> None:
        time.sleep(0.3)  # let a rerun that was just triggered begin
        self.page.wait_for_selector(IDLE, timeout=timeout_ms)

    def open_page(self, title: str) -> None:
        """Through the navigation: the sidebar's, or the bar along the top in presenter mode. Waits
        for the page's address (the browser shows it once the server runs that page: two pages'
        headings begin alike, "Compare …", so the heading alone could be the last page's), its
        heading, and the end of its run."""
        links = self.page.locator('[data-testid="stSidebarNavLink"]:visible, [data-testid="stTopNavLink"]:visible')
        link = links.filter(has_text=title).first
        box = link.bounding_box()
        if box is None or box["x"] + box["width"] <= 0:  # in a folded sidebar: open it, as a person would
            self.page.locator('[data-testid="stExpandSidebarButton"]').click()
        address = urlsplit(link.get_attribute("href")).path
        link.click()
        self.page.wait_for_url(lambda url: urlsplit(url).path == address, timeout=60_000, wait_until="commit")
        self.page.wait_for_selector(f'h1:has-text("{title.split()[0]}")', timeout=60_000)
        self.wait_idle()

    def runs_begun(self) -> int:
        return self.page.evaluate("() => window.__latentLabRuns || 0")

    def fill(self, role: str, label: str, value) -> None:
        """Type into a number or text field and press Enter, as a person would; wait for the rerun."""
        self.enter(self.page.get_by_role(role, name=label, exact=True), value)

    def enter(self, field, value) -> None:
        """Type `value` into the `field` (a locator) and press Enter; if that changed it, wait for the
        rerun it causes to begin and end."""
        with self.rerun(expected=field.input_value() != str(value)):
            field.fill(str(value))
            field.press("Enter")

    def click_and_wait(self, locator) -> None:
        """Click what reruns the page (a button, a toggle, an option) and wait for that rerun to end."""
        with self.rerun():
            locator.click()

    @contextlib.contextmanager
    def rerun(self, expected: bool = True, seconds: float = 30):
        """Around an action that reruns the page: after it, wait until the page has begun a run (on a
        busy machine the server may start it well after the 0.3 s wait_idle allows), for at most
        `seconds`, then until the page is idle. A request folded into a run already under way shows no
        beginning of its own: reaching the bound is not a failure, and wait_idle waits for that run."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        before = self.runs_begun()
        yield
        if expected:
            with contextlib.suppress(PlaywrightTimeout):
                self.page.wait_for_function("(before) => (window.__latentLabRuns || 0) > before", arg=before,
                                            timeout=seconds * 1000)
        self.wait_idle()

    def settled_box(self, selector: str) -> dict:
        """An element's place on the screen once the page has finished drawing: every image loaded (one
        arriving late moves what is below it) and the same box twice in a row, scrolled into view."""
        self.wait_idle()
        wait_until(lambda: self.page.evaluate("() => [...document.images].every(image => image.complete)"), 30, 0.1,
                   message="the page's images")
        element = self.page.locator(selector)
        element.scroll_into_view_if_needed()
        boxes = [element.bounding_box()]

        def same_twice() -> bool:
            boxes.append(element.bounding_box())
            return boxes[-1] is not None and boxes[-1] == boxes[-2]

        wait_until(same_twice, 30, 0.2, message=f"{selector} to stay in place")
        return boxes[-1]

    def assert_clean(self) -> None:
        assert self.page.locator('[data-testid="stException"]').count() == 0, "an exception box is shown"
        assert self.errors == [], self.errors


def launch_chromium(playwright, executable: str | None = None):
    return playwright.chromium.launch(executable_path=executable or shutil.which("chromium"), args=CHROMIUM_FLAGS)


def focus_the_map(watcher) -> None:
    """Tab until the latent map has the focus (bounded), looking through shadow roots."""
    on_map = """() => {
        let active = document.activeElement;
        while (active && active.shadowRoot && active.shadowRoot.activeElement) active = active.shadowRoot.activeElement;
        return Boolean(active && active.matches('canvas.map'));
    }"""
    for _ in range(80):
        if watcher.page.evaluate(on_map):
            return
        watcher.page.keyboard.press("Tab")
    raise AssertionError("Tab never reached the map")


HIGHLIGHTED_OPTION = """(input) => input.getAttribute('aria-expanded') === 'true'
    && document.getElementById(input.getAttribute('aria-activedescendant') || '')?.textContent || null"""


def open_the_list(field, seconds: float = 30) -> str:
    """Focus the select box and press ArrowDown until its list is open with an option highlighted
    (bounded); returns that option. A press that reaches the field before its page listens (a rerun
    drawing it anew, on a busy machine) is lost, and a person presses again; a list already open is
    not pressed again (that would move the highlight)."""
    deadline = time.monotonic() + seconds
    while True:
        field.focus()
        field.press("ArrowDown")
        with contextlib.suppress(AssertionError):
            return wait_until(lambda: field.evaluate(HIGHLIGHTED_OPTION), 5, 0.05, message="the list to open")
        if field.get_attribute("aria-expanded") == "true":
            return wait_until(lambda: field.evaluate(HIGHLIGHTED_OPTION), max(1.0, deadline - time.monotonic()),
                              0.05, message="an option highlighted in the open list")
        if time.monotonic() > deadline:
            raise AssertionError(f"the list did not open in {seconds:.0f} s of pressing ArrowDown")


def choose_by_keyboard(field, option: str, presses: int = 20) -> None:
    """Pick `option` in a select box with the keyboard alone, as a person does: ArrowDown opens the list,
    each further ArrowDown moves the highlight, Enter takes it. Like a person, it looks at the list
    between presses: a press sent before the list has opened, on a busy machine, only opens it again,
    and Enter would take the option before the one asked for."""
    open_the_list(field)
    for _ in range(presses):
        highlighted = wait_until(lambda: field.evaluate(HIGHLIGHTED_OPTION), 30, 0.05,
                                 message="the list to open with an option highlighted")
        if highlighted == option:
            field.press("Enter")
            return
        field.press("ArrowDown")
        wait_until(lambda h=highlighted: field.evaluate(HIGHLIGHTED_OPTION) != h, 30, 0.05,
                   message="the highlight to move")
    raise AssertionError(f"{option!r} was not reached in {presses} presses of ArrowDown")
