"""`make classroom` from outside: one class on two web servers (`--servers 2`, what a class of 100
needs on this machine: README, issue 19) is one room — a drawing sent through one server is on the
teacher's map on the other, a name taken on one is taken on both, a training started on one is in
the one line and saved — and the join address sends browsers to the servers in turn. One server
(`--servers 1`, the default) starts too."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import urllib.parse

from tests.conftest import TINY, wait_until
from tests.support.class_room import NAME_FIELD, board_of, join, send_drawing, student
from tests.support.classroom_load import sign_in_as_teacher
from tests.support.harness import ROOT, ClassServers, free_ports, wait_healthy
from tests.support.ws_client import StreamlitClient
from ui.follow import CHECK_SECONDS
from vae import classroom
from vae.runs import list_runs
from vae.training.lab import train_and_save

CODE = "TEACH-3456-KL"


def redirect_of(join_url: str, path: str) -> str:
    parts = urllib.parse.urlsplit(join_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 302
        return response.getheader("Location")
    finally:
        connection.close()


def test_a_class_on_two_web_servers_is_one_room(tmp_path, mnist_cache_dir, mnist, new_phone):
    runs_dir = tmp_path / "runs"
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), runs_dir, "prepared", "default")
    servers = ClassServers(runs_dir, mnist_cache_dir, tmp_path / "class.log",
                           extra_env={classroom.TEACHER_CODE_ENV: CODE})
    first, second = servers.urls
    clients = []
    try:
        assert [redirect_of(servers.join_url, "/class_map") for _ in range(3)] == [
            f"{first}/class_map", f"{second}/class_map", f"{first}/class_map"]

        teacher = StreamlitClient(first)
        clients.append(teacher)
        assert sign_in_as_teacher(teacher, CODE)
        ada = student(second, "Ada")
        clients.append(ada)
        sent = send_drawing(ada, 1)
        assert any("Sent: your 1 is on the class map." in text for text in sent.texts), sent.texts
        (drawing,) = board_of(teacher.open_page("class_map"))["board"]  # on the other server's board
        assert drawing["name"] == "Ada" and drawing["digit"] == 1

        assert CHECK_SECONDS not in ada.timers.values()  # her page does not ask every 2 s whether the lead moved
        teacher.set_toggle("Students follow me", True)  # the lead, set on the teacher's server...
        # ...redraws Ada's page on the other, unasked: her server watches the lead for her.
        pushed = ada.read_unasked(seconds=30)
        assert pushed.seconds > 0, "Ada's page was not redrawn when the teacher began to lead"
        assert any("following the teacher" in text for text in pushed.texts), pushed.texts
        led = ada.open_page("train")  # ...and takes her to the teacher's page whatever she opens
        assert any("following the teacher" in text for text in led.texts), led.texts
        ada.click("Step away")
        teacher.open_page("lesson")  # the lead moves on: a student who stepped away is left alone
        assert ada.read_unasked(seconds=3).seconds == 0
        teacher.open_page("class_map")
        teacher.set_toggle("Students follow me", False)

        other = StreamlitClient(first)  # the class's names are one list
        clients.append(other)
        other.open_page("class_map")
        refused = other.set_text(NAME_FIELD, "ada")
        assert any("already called Ada" in text for text in refused.texts), refused.texts

        # Ada's server reads the class's settings through a cache of a quarter of a second: the lead
        # may still hold on her first rerun after the teacher let go.
        wait_until(lambda: "Epochs" in ada.open_page("train").widgets, 30, 0.3, "Ada free to train")
        ada.set_number("Epochs", 1)  # small: the suite's other file runs beside this one on 2 cores
        ada.set_number("Training images", 512)
        started = ada.click("Start training")
        assert not started.exceptions
        saved = lambda: len(list_runs(runs_dir).runs) == 2  # noqa: E731
        # The teacher's server sees the line Ada's server added to (unless it is done already).
        assert saved() or any(" by Ada: " in text for text in teacher.open_page("classroom").texts)
        assert wait_until(saved, 300, 1.0, "Ada's run saved")

        # A phone opens the join address (what the QR code holds) and lands on one of the web servers,
        # whose page and websocket it keeps; the name it typed there is the class's.
        phone = new_phone()
        join(phone, servers.join_url, "Grace", "class_map")
        assert phone.page.url.startswith((first, second)), phone.page.url
        assert phone.page.get_by_role("textbox", name=NAME_FIELD, exact=True).count() == 0  # named: no prompt
        taken = other.set_text(NAME_FIELD, "grace")
        assert any("already called Grace" in text for text in taken.texts), taken.texts
        phone.assert_clean()
    finally:
        for client in clients:
            client.close()
        servers.stop()
    assert servers.process.returncode == 0, (tmp_path / "class.log").read_text()[-2000:]


def test_make_classroom_with_one_server_starts_it(tmp_path, mnist_cache_dir):
    port = free_ports(1)
    log = open(tmp_path / "one.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "vae.classroom", "--address", "127.0.0.1", "--port", str(port)], cwd=ROOT,
        env={**os.environ, "LATENT_LAB_RUNS_DIR": str(tmp_path / "runs"),
             "LATENT_LAB_CACHE": str(mnist_cache_dir), classroom.TEACHER_CODE_ENV: CODE},
        stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}", process, 90), (tmp_path / "one.log").read_text()[-2000:]
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    assert "Teacher code:      TEACH-3456-KL" in (tmp_path / "one.log").read_text()
