"""A small classroom in the test suite: 5 sessions moving sliders (each move sent) for 15 s while one trains
(benchmarks/classroom_load.py is the full-size run with 40 sessions and the latency figures); and
classroom mode's permissions checked at the websocket level, with forged widget events."""

import re
import shutil

import pytest

from tests.conftest import TINY, wait_until
from tests.support.class_room import key_cookie, teacher_signs_in
from tests.support.classroom_load import run_load, sign_in_as_teacher
from tests.support.harness import AppServer
from tests.support.ws_client import StreamlitClient
from ui.sidebar import OTHERS_QUEUE_REFRESH_SECONDS, QUEUE_REFRESH_SECONDS
from vae.runs import list_runs
from vae.training.lab import train_and_save


def test_five_sessions_and_a_training_get_answers_without_errors(tmp_path, mnist_cache_dir, mnist):
    runs_dir = tmp_path / "runs"
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), runs_dir, "class-demo")
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path / "server.log")
    try:
        # Every move told to the server (as a conditional run's sliders do): the default's stay in the browser.
        # The training runs all along the load; then it is stopped, its run kept, rather than waited for.
        figures = run_load(server.url, sessions=5, seconds=15, trainings=1, runs_dir=runs_dir, report_moves=True,
                           stop_training_after=True)
    finally:
        server.stop()
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["stuck_sessions"] == 0
    assert figures["moves_sent"] >= 5 * 5  # every session was answered all along, about once a second
    # Not a timing test (machines are noisy); this bound only catches a server that stalls.
    assert figures["worst_session_p95_ms"] < 5000, figures
    assert figures["trainings_saved"] == 1
    assert len(list_runs(runs_dir).runs) == 2


# --- Classroom mode: permissions at the websocket level ------------------------------------------

CODE = "TEACH-2345-KL"


@pytest.fixture(scope="module")
def class_runs(tmp_path_factory, mnist):
    """A run the teacher prepared and one a student (Bob) trained: made once, copied for each test."""
    from vae import classroom

    folder = tmp_path_factory.mktemp("class-runs")
    small = mnist.subset(512)
    train_and_save(TINY.replace(epochs=1), small, folder, "prepared", "default")
    bob = {"role": "student", "name": "Bob", "key": classroom.key_hash("bob-secret-key-0123456789")}
    train_and_save(TINY.replace(epochs=1), small, folder, "bobs-run", None, owner=bob)
    return folder


@pytest.fixture
def class_server(tmp_path, mnist_cache_dir, class_runs):
    """Classroom mode on 127.0.0.1, on a copy of `class_runs` of its own (the tests change them)."""
    from vae import classroom

    runs_dir = shutil.copytree(class_runs, tmp_path / "runs")
    server = AppServer(runs_dir, mnist_cache_dir, tmp_path / "server.log",
                       extra_env={classroom.CLASSROOM_ENV: "1", classroom.TEACHER_CODE_ENV: CODE})
    yield server
    server.stop()


def signed_in_teacher(url: str) -> StreamlitClient:
    teacher = StreamlitClient(url)
    assert sign_in_as_teacher(teacher, CODE)
    return teacher


def paused_as_the_teacher_sees_it(url: str) -> bool:
    """The pause toggle as a newly signed-in teacher's page draws it (from the queue's state)."""
    fresh = signed_in_teacher(url)
    try:
        return fresh.open_page("classroom").toggles["Pause student training"]
    finally:
        fresh.close()


def progress_of(client: StreamlitClient) -> list[str]:
    return client.open_page("train").progress


def queue_timer(client: StreamlitClient) -> str | None:
    """The sidebar queue's refresh (while trainings run), if the page has it."""
    return next((fragment for fragment, seconds in client.timers.items()
                 if seconds in (QUEUE_REFRESH_SECONDS, OTHERS_QUEUE_REFRESH_SECONDS)), None)


def test_when_the_queue_empties_only_the_page_whose_training_it_was_is_redrawn_whole(class_server):
    """A class's hundred pages are not all redrawn at once at the end of a training: a page with no
    training in the queue redraws its queue panel alone, which stops refreshing."""
    teacher = signed_in_teacher(class_server.url)
    teacher.open_page("train")
    teacher.set_number("Epochs", 2)
    teacher.set_number("Training images", 512)
    teacher.set_number("Hidden units", 32)
    assert not teacher.click("Start training").exceptions
    student = StreamlitClient(class_server.url)
    try:
        for client in (teacher, student):
            client.open_page("")  # the explorer, the queue's panel in its sidebar
        # The training's owner sees its progress every 5 s, everyone else every 15 s.
        assert teacher.timers[queue_timer(teacher)] == QUEUE_REFRESH_SECONDS
        assert student.timers[queue_timer(student)] == OTHERS_QUEUE_REFRESH_SECONDS

        def refreshed_when_empty(client):
            """Refresh the queue's panel as a browser's timer does, until it shows an empty queue."""
            outcome = client.rerun_fragment(queue_timer(client))
            showing_a_training = any("training " in text.lower() for text in outcome.texts)
            return outcome if outcome.whole_page or not showing_a_training else None

        emptied = wait_until(lambda: refreshed_when_empty(student), 240, 0.5, "the queue to empty")
        assert not emptied.whole_page and not emptied.exceptions
        wait_until(lambda: student.read_unasked(0.5) is not None and queue_timer(student) is None, 30, 0.1,
                   "the student's queue panel to stop refreshing")
        owner = refreshed_when_empty(teacher)
        assert owner is not None and owner.whole_page  # the teacher's run was saved: the page shows it
        assert queue_timer(teacher) is None
    finally:
        student.close()
        teacher.close()


def test_a_student_cannot_stop_or_delete_what_is_not_theirs_even_with_forged_events(class_server):
    teacher = signed_in_teacher(class_server.url)
    tools = dict(teacher.widgets)  # the teacher's tools on the Classroom page: their widget ids
    # The buttons that delete are in the dialogs these open: the teacher opens them (and never confirms).
    clear_yes = teacher.click("Clear all student runs (1)…").widgets["Delete them all"]
    teacher.open_page("train")
    teacher.set_number("Epochs", 200)
    teacher.set_number("Training images", 512)
    teacher.set_number("Hidden units", 32)
    teacher.click("Start training")
    wait_until(lambda: any("Epoch" in text for text in progress_of(teacher)), 120, 1, "the teacher's training")
    stop_button = teacher.widgets["Stop training"]
    delete_button = teacher.widgets["Delete this run…"]
    delete_yes = teacher.click("Delete this run…").widgets["Delete"]

    student = StreamlitClient(class_server.url)
    try:
        page = student.open_page("train")
        assert "Stop training" not in page.widgets and "Delete this run…" not in page.widgets
        assert not page.exceptions
        # Forged: the teacher's Stop, Delete and its dialog's Delete, the teacher's tools and the Clear
        # dialog's "Delete them all", sent from the student's session, each opener before its confirm,
        # each on the page that draws it (a widget's id holds its page's: sent on another page it is
        # not even read). Widget ids alone, in a rerun of the whole page: a rerun asked for a fragment
        # this session has not drawn is not answered at all (Streamlit drops it).
        forged = [student.send_trigger(stop_button[0]), student.send_trigger(delete_button[0]),
                  student.send_trigger(delete_yes[0])]
        on_classroom = student.open_page("classroom")
        assert "Teacher's tools" not in " ".join(on_classroom.texts)  # hers has none of them
        forged += [student.send_trigger(tools["Clear all student runs (1)…"][0]), student.send_trigger(clear_yes[0]),
                   student.set_toggle("", True, widget_id=tools["Pause student training"][0])]
        assert not [e for outcome in forged for e in outcome.exceptions]
        # Each forged event was handled before its rerun finished: what it could change, it would have.
        assert not any("stopping" in text for text in progress_of(teacher)), "the teacher's training was stopped"
        assert {run.name for run in list_runs(class_server.runs_dir).runs} == {"prepared", "bobs-run"}
        assert not paused_as_the_teacher_sees_it(class_server.url)
        # The same widget id, sent by the teacher, does pause: the forged one was refused, not wrong.
        teacher.open_page("classroom")
        teacher.set_toggle("Pause student training", True)
        assert paused_as_the_teacher_sees_it(class_server.url)
    finally:
        student.close()
    teacher.open_page("train")
    teacher.click("Stop training")  # the teacher may
    wait_until(lambda: len(list_runs(class_server.runs_dir).runs) == 3, 120, 1, "the stopped run saved")
    teacher.close()


def test_both_roles_in_a_real_browser(class_server, new_page):
    student = new_page()
    student.goto(class_server.url)
    student.open_page("Classroom")
    body = student.page.inner_text("body")
    assert "Students join here" in body and re.search(r"http://\d+\.\d+\.\d+\.\d+:\d+", body)
    qr = student.page.locator('[data-testid="stImage"] img').first
    wait_until(lambda: qr.evaluate("img => img.complete && img.naturalWidth > 100"), 20, message="the QR code")
    student.fill("textbox", "Your name (a student's runs carry it)", "Zoë")
    student.page.locator('[data-testid="stSidebar"]').get_by_text("you are Zoë").wait_for(timeout=60_000)
    assert "Teacher's tools" not in student.page.inner_text("body")
    # The rerun drew the code again: let it load before leaving the page, whose images Streamlit then
    # forgets (under load, leaving at once got a 404 for the image still being fetched: make test).
    wait_until(lambda: qr.evaluate("img => img.complete && img.naturalWidth > 100"), 20, message="the QR code again")
    student.open_page("Train")
    assert "Delete this run…" not in student.page.inner_text("body")  # the prepared run is the teacher's
    student.assert_clean()

    teacher = new_page()
    # The code typed in lower case: compared loosely. Each rerun is awaited by what it draws (the
    # sign-in waits for its sentence): under load a rerun may not have begun when the page first
    # looks idle (make test saw the tools missing once).
    teacher_signs_in(teacher, class_server.url, CODE.lower())
    teacher.wait_idle()
    body = teacher.page.inner_text("body")
    assert "Signed in as the teacher." in body and "Teacher's tools" in body and "Connected browsers" in body
    connected = teacher.page.locator('[data-testid="stMetric"]', has_text="Connected browsers")
    assert connected.locator('[data-testid="stMetricValue"]').inner_text().isdigit()  # not "?": the private API works
    assert CODE.lower() not in teacher.page.url.lower() and CODE.lower() not in body.lower()  # as typed, or not
    teacher.assert_clean()


def test_a_reload_with_the_cookie_is_the_same_student_and_without_it_a_stranger(class_server):
    first = StreamlitClient(class_server.url)
    page = first.open_page("train")
    cookie = key_cookie(page)
    assert cookie["latent_lab_key"] not in str(page.texts)  # the key is never shown
    first.set_text("Your name (a student's runs carry it)", "Ada")
    first.close()
    again = StreamlitClient(class_server.url, cookies=cookie)  # a reload: the browser sends its cookie
    try:
        assert any("you are **Ada**" in text for text in again.open_page("train").texts)
    finally:
        again.close()
    stranger = StreamlitClient(class_server.url, cookies={"latent_lab_key": "guessed-key-0000000000"})
    try:
        assert not any("you are **Ada**" in text for text in stranger.open_page("train").texts)
    finally:
        stranger.close()


def test_a_flood_of_sessions_from_one_machine_gets_one_sentence_and_the_teachers_start_is_queued(class_server):
    """100 sessions from one machine, each a new key, each trying to join and train: the device's
    limits answer them in one sentence; the queue holds what one device may have, not a hundred;
    the teacher's Start is then accepted and served first. (Student training is paused first, so
    what the queue holds stays there to be counted.)"""
    teacher = signed_in_teacher(class_server.url)
    teacher.set_toggle("Pause student training", True)
    said: list[str] = []
    for n in range(100):
        bot = StreamlitClient(class_server.url)
        try:
            bot.open_page("train")
            named = bot.set_text("Your name (a student's runs carry it)", f"Bot {n}")
            outcome = bot.click("Start training")  # the default preset: held by the pause, it never runs
            said += [text for text in named.texts + outcome.texts if "device" in text or "name" in text.lower()]
            assert not outcome.exceptions
        finally:
            bot.close()
    assert any("students have already joined from this device" in text for text in said)
    assert any("This device already has 2 trainings queued or running" in text for text in said)
    try:
        held = [t for t in teacher.open_page("classroom").texts if "by Bot" in t]
        assert len(held) == 2, held  # what one device may have, not a hundred
        teacher.open_page("train")
        teacher.set_number("Hidden units", 32)
        teacher.set_number("Training images", 512)
        outcome = teacher.click("Start training")
        assert not [t for t in outcome.texts if "already" in t], outcome.texts

        def teachers_training_runs() -> bool:  # its line says how far it is, not "waiting, position …"
            mine = [t for t in teacher.open_page("train").texts if t.startswith("Your training")]
            return bool(mine) and ": waiting" not in mine[0]

        # Served first: it runs while the students' two wait, held by the pause.
        assert wait_until(teachers_training_runs, 120, 1.0, "the teacher's training to run ahead of the students'")
        assert len([t for t in teacher.open_page("classroom").texts if "by Bot" in t]) == 2
    finally:
        teacher.close()
