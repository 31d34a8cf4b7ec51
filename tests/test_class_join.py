"""The join address of a class on several web servers (vae.classroom.join), as a process of its own on
127.0.0.1: browsers are sent to the web servers in turn, a forged Host is refused, and idle or slow
connections — a thousand of them from one laptop, bounded and on loopback only — neither keep new
browsers from being sent on nor stay open past the request deadline."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import wait_until
from tests.support.harness import ROOT, free_port
from vae.classroom.join import REQUEST_SECONDS, request_host

FLOOD = 1000  # idle connections held at once (the usual open-files limit is 1024)


@pytest.fixture
def join_server():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "vae.classroom.join", "--address", "127.0.0.1", "--port",
                                str(port), "--to", "9101,9102"], cwd=ROOT, stderr=subprocess.PIPE)
    assert wait_until(lambda: answers(port), 30, 0.1, "the join address listening")
    yield port
    process.terminate()
    process.wait(timeout=10)


def answers(port: int) -> bool:
    try:
        redirect(port, "/")
        return True
    except OSError:
        return False


def redirect(port: int, path: str, host: str = "192.168.1.23:8501", timeout: float = 10) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


def test_the_join_address_sends_browsers_to_the_web_servers_in_turn(join_server):
    first = redirect(join_server, "/class_map?x=1")
    ports = [9101, 9102] if first[1].endswith(":9101/class_map?x=1") else [9102, 9101]
    rest = [redirect(join_server, "/class_map?x=1") for _ in range(3)]
    assert [first, *rest] == [(302, f"http://192.168.1.23:{port}/class_map?x=1") for port in [*ports, *ports]]
    assert redirect(join_server, "/", host="evil.example/<script>")[0] == 400
    assert redirect(join_server, "//evil.example/x")[1].rsplit(":", 1)[1] in ("9101/", "9102/")  # never off-site


def test_a_thousand_idle_connections_do_not_keep_a_new_browser_out_and_are_closed(join_server):
    idle = []
    try:
        for _ in range(FLOOD):
            idle.append(socket.create_connection(("127.0.0.1", join_server), timeout=10))
        slow = socket.create_connection(("127.0.0.1", join_server), timeout=10)
        idle.append(slow)
        slow.sendall(b"GET / HTTP/1.1\r\nHo")  # a request sent a byte at a time, never finished
        started = time.monotonic()
        status, location = redirect(join_server, "/", timeout=30)
        waited = time.monotonic() - started
        assert status == 302 and location, (status, location)
        print(f"redirect with {FLOOD} idle connections open: {waited * 1000:.0f} ms")
        # The server closes every one of them once it has had REQUEST_SECONDS for its request.
        for sock in (idle[0], idle[FLOOD // 2], slow):
            sock.settimeout(REQUEST_SECONDS + 30)
            assert sock.recv(1) == b""
    finally:
        for sock in idle:
            sock.close()


def test_the_host_a_browser_asked_for():
    assert request_host("192.168.1.23:8501") == "192.168.1.23"
    assert request_host("laptop.local") == "laptop.local"
    assert request_host("[fe80::1]:8501") == "[fe80::1]"
    assert request_host("a b") is None and request_host("") is None


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
