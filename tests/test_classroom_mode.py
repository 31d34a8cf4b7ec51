"""Classroom mode: the teacher code, students' names, who may see, stop and delete what, the limits
a teacher sets, and the pages for both roles (AppTest). The same checks at the websocket level,
with forged widget events, are in tests/e2e/test_classroom.py."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TINY, wait_until
from tests.test_pages import APP, TIMEOUT, app_env, session_job, texts  # noqa: F401 (app_env: autouse)
from vae import classroom, runs
from vae.classroom import (
    STUDENT,
    TEACHER,
    ClassroomError,
    ClassroomState,
    Limits,
    Person,
    check_training,
    code_matches,
    may_change,
    may_see,
    new_teacher_code,
    validate_student_name,
)
from vae.training.lab import train_and_save

CODE = "TEACH-2345-KL"
ADA = Person(STUDENT, "Ada", classroom.key_hash("ada-secret-key-0123456789"))
BOB = Person(STUDENT, "Bob", classroom.key_hash("bob-secret-key-0123456789"))
THE_TEACHER = Person(TEACHER, "the teacher")


# --- The rules (pure) --------------------------------------------------------------------------


def test_teacher_codes_are_random_readable_and_compared_loosely_in_constant_time():
    codes = {new_teacher_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", code) for code in codes)
    assert code_matches("teach 2345 kl", CODE) and code_matches("TEACH2345KL", CODE)
    assert not code_matches("TEACH-2346-KL", CODE) and not code_matches("", CODE)
    for short in ("abc", "TEACH-2345"):  # a fixed code needs 10 letters or digits
        with pytest.raises(ClassroomError, match="at least 10"):
            classroom.check_teacher_code(short)


@pytest.mark.parametrize("name", ["Ada", "Zoë K.", "李雷", "O'Neil-Smith", "  Ada   Lovelace ", "a\nb"])
def test_reasonable_names_are_accepted(name):
    assert validate_student_name(name) == " ".join(name.split())


@pytest.mark.parametrize("name", ["", " ", "<b>x</b>", "_x", "x" * 25, "a/b", "**bold**", "a\x00b"])
def test_other_names_are_refused_with_one_sentence(name):
    with pytest.raises(ClassroomError, match="1–24 letters"):
        validate_student_name(name)


def test_who_may_see_and_change_what():
    teachers_run, adas_run = None, ADA.owner()
    local = Person(classroom.LOCAL)
    assert may_see(ADA, teachers_run) and may_see(ADA, {"role": TEACHER}) and may_see(ADA, adas_run)
    assert not may_see(BOB, adas_run)
    assert may_change(ADA, adas_run) and not may_change(BOB, adas_run) and not may_change(ADA, teachers_run)
    assert may_change(THE_TEACHER, adas_run) and may_change(THE_TEACHER, teachers_run)
    assert may_change(local, adas_run) and local.owner() is None
    forged = {**adas_run, "key": ""}  # a run claiming an empty key belongs to nobody
    assert not may_change(Person(STUDENT, "Eve", ""), forged)


def test_limits_are_checked_for_students_only():
    limits = Limits(jobs=1, epochs=5, images=10_000)
    check_training(THE_TEACHER, TINY.replace(epochs=100), limits)
    check_training(ADA, TINY.replace(epochs=5, train_subset=10_000), limits)
    with pytest.raises(ClassroomError, match="at most 5 epochs"):
        check_training(ADA, TINY.replace(epochs=6, train_subset=512), limits)
    with pytest.raises(ClassroomError, match="at most 10,000 training images"):
        check_training(ADA, TINY.replace(epochs=1), limits)  # all 60 000
    with pytest.raises(ClassroomError, match="name"):
        check_training(Person(STUDENT, "", ADA.key_hash), TINY, limits)
    with pytest.raises(ClassroomError, match="Epochs at most: must be a whole number from 1 to 200"):
        Limits(epochs=0)


def test_only_the_teacher_changes_the_shared_state(class_db):
    shared = ClassroomState(class_db)
    with pytest.raises(ClassroomError, match="Only the teacher"):
        shared.set_limits(ADA, epochs=3)
    with pytest.raises(ClassroomError, match="Only the teacher"):
        shared.pin(ADA, "x")
    assert shared.set_limits(THE_TEACHER, epochs=3).epochs == 3
    shared.pin(THE_TEACHER, "class-run", "2026-11-30T09:00:00+00:00")
    assert shared.pinned() == (("class-run", "2026-11-30T09:00:00+00:00"), 1)


def test_the_lan_address_is_worked_out_without_the_internet():
    address = classroom.lan_address()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", address)
    assert classroom.join_url("10.0.0.5", 8501) == "http://10.0.0.5:8501"


# --- The pages, as a student and as the teacher (AppTest) --------------------------------------


@pytest.fixture(scope="module")
def class_runs(tmp_path_factory, mnist):
    """A run the teacher prepared before class (no owner), one by Ada and one by Bob."""
    folder = tmp_path_factory.mktemp("class-runs")
    data = mnist.subset(512)
    train_and_save(TINY.replace(epochs=1), data, folder, "prepared", "default")
    train_and_save(TINY.replace(epochs=1), data, folder, "adas-run", None, owner=ADA.owner())
    train_and_save(TINY.replace(epochs=1), data, folder, "bobs-run", None, owner=BOB.owner())
    return folder


@pytest.fixture
def class_mode(monkeypatch, runs_dir, class_runs):
    from ui import classroom as ui_classroom

    monkeypatch.setenv(classroom.CLASSROOM_ENV, "1")
    monkeypatch.setenv(classroom.TEACHER_CODE_ENV, CODE)
    shutil.copytree(class_runs, runs_dir)
    for cached in (ui_classroom._shared_state, ui_classroom.teacher_code):
        cached.clear()
    yield runs_dir
    from ui import training

    training.training_queue().hold_students(False)


def open_as(page: str | None = None, student_key: str | None = None, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if lang:  # as a link with ?lang= opens it
        at.query_params["lang"] = lang
    if student_key:  # what the browser's cookie brings (AppTest cannot send cookies)
        at.session_state["browser_key"] = student_key
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def sign_in(at: AppTest, code: str = CODE) -> AppTest:
    at.text_input(key="teacher_code_input").input(code)
    at.button(key="teacher_sign_in").click().run()
    assert not at.exception, at.exception
    return at


def run_names(at: AppTest) -> list[str]:
    pickers = [box for box in at.sidebar.selectbox if box.label == "Active run"]  # not the language's
    return list(pickers[0].options) if pickers else []


def test_a_student_names_themself_and_sees_the_teachers_runs_and_their_own_only(class_mode):
    at = open_as("pages/classroom.py", student_key="ada-secret-key-0123456789")
    at.text_input(key="student_name_input").input("<b>Ada</b>").run()
    assert "1–24 letters" in at.error[0].value
    at.text_input(key="student_name_input").input("Ada").run()
    assert any("you are **Ada**" in c.value for c in at.sidebar.caption)
    # A reload (the key is in the address) keeps the name; the runs shown are the teacher's and Ada's.
    again = open_as(student_key="ada-secret-key-0123456789")
    assert any("you are **Ada**" in c.value for c in again.sidebar.caption)
    shown = run_names(again)
    assert any(o.startswith("prepared") for o in shown) and any(o.startswith("adas-run") for o in shown)
    assert not any("bobs-run" in o for o in shown)
    # An address naming Bob's run opens the newest visible run instead.
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.session_state["browser_key"] = "ada-secret-key-0123456789"
    other.query_params["run"] = "bobs-run"
    other.run()
    assert "There is no run named" in other.sidebar.warning[0].value


def test_a_student_cannot_delete_the_teachers_run_but_can_delete_their_own(class_mode):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["browser_key"] = "ada-secret-key-0123456789"
    at.session_state["active_run"] = "prepared"
    at.run()
    at.switch_page("pages/train.py").run()
    assert "Training curves of the active run** `prepared`" in texts(at)
    assert "delete_run" not in [b.key for b in at.button]
    # Even with the confirmation state set by hand (as a forged request might), the delete is refused.
    at.session_state["pending_delete"] = "prepared"
    at.run()
    at.button(key="confirm_delete").click().run()
    assert "Only the teacher and the run's owner can delete it." in [e.value for e in at.error]
    assert (class_mode / "prepared").is_dir()
    at.session_state["active_run"] = "adas-run"
    at.run()
    at.button(key="delete_run").click().run()
    at.button(key="confirm_delete").click().run()
    assert not (class_mode / "adas-run").exists()


def test_a_student_trains_within_the_limits_once_at_a_time(class_mode):
    from ui import training

    at = open_as("pages/train.py", student_key="carol-secret-key-0123456789")
    at.number_input(key="train_epochs").set_value(50)
    at.button(key=next(b.key for b in at.button if b.label == "Start training")).click().run()  # no name yet
    assert "Type your name" in at.error[0].value
    at.text_input(key="student_name_input").input("Carol").run()
    at.button(key=next(b.key for b in at.button if b.label == "Start training")).click().run()
    assert "at most 10 epochs" in at.error[0].value
    at.number_input(key="train_epochs").set_value(200)
    for key, value in (("train_epochs", 10), ("train_hidden_dim", 32), ("train_train_subset", 512)):
        at.number_input(key=key).set_value(value)
    training.training_queue().hold_students(True)  # keeps the job queued: no TensorFlow needed here
    start = next(b.key for b in at.button if b.label == "Start training")
    at.button(key=start).click().run()
    assert not at.error, [e.value for e in at.error]
    job_id = session_job(at)
    snap = training.training_queue().snapshot(job_id)
    assert snap.owner == {"role": STUDENT, "name": "Carol", "key": classroom.key_hash("carol-secret-key-0123456789")}
    assert snap.held and snap.state == "queued"
    at.button(key=start).click().run()
    assert "You already have 1 training queued or running" in at.error[0].value
    assert "the teacher has paused student training" in texts(at)


def test_the_teacher_signs_in_with_the_code_and_it_is_kept_nowhere(class_mode):
    at = open_as("pages/classroom.py")
    assert "Students join here" in [h.value for h in at.header]
    assert at.image  # the QR code
    assert "Teacher's tools" not in [h.value for h in at.header]
    sign_in(at, "WRONG-0000")
    assert "That is not the teacher code" in at.error[0].value
    sign_in(at, "teach 2345 kl")  # typed loosely: same code
    assert "Signed in as the teacher." in [s.value for s in at.success]
    assert "Teacher's tools" in [h.value for h in at.header]
    assert "teacher_code_input" not in at.session_state or not at.session_state["teacher_code_input"]
    assert CODE not in str(dict(at.query_params)) and "TEACH" not in texts(at)
    # After five wrong tries, a pause.
    student = open_as("pages/classroom.py")
    for _ in range(6):
        sign_in(student, "WRONG-0000")
    assert "Too many tries" in student.error[0].value
    sign_in(student, CODE)
    assert not student.success


def test_the_teacher_pins_the_class_run_pauses_students_and_clears_their_runs(class_mode):
    from ui import training

    teacher = sign_in(open_as("pages/classroom.py"))
    assert {"bobs-run", "adas-run", "prepared"} <= set(teacher.selectbox(key="class_run").options)
    teacher.selectbox(key="class_run").select("prepared").run()
    student = open_as(student_key="ada-secret-key-0123456789")  # opens (or reloads) the app
    assert student.sidebar.selectbox[0].value == "prepared"
    # A student's run pinned as the class run opens for everyone (Bob's, for Ada here).
    teacher.selectbox(key="class_run").select("bobs-run").run()
    student = open_as(student_key="ada-secret-key-0123456789")
    assert student.sidebar.selectbox[0].value == "bobs-run"

    teacher.toggle(key="classroom_paused").set_value(True).run()
    assert training.training_queue().students_held
    teacher.number_input(key="limit_epochs").set_value(3)
    teacher.button(key=next(b.key for b in teacher.button if b.label == "Set the limits")).click().run()
    from ui import classroom as ui_classroom

    assert ui_classroom.shared_state().limits.epochs == 3

    teacher.button(key="clear_student_runs").click().run()
    assert {"adas-run", "bobs-run"} <= {r.name for r in runs.list_runs(class_mode).runs}  # not before confirming
    teacher.button(key="confirm_clear_students").click().run()
    assert [r.name for r in runs.list_runs(class_mode).runs] == ["prepared"]
    assert "Deleted 2 student runs." in [i.value for i in teacher.info][0]


def test_the_teacher_can_stop_a_students_training(class_mode):
    from ui import training

    student = open_as("pages/train.py", student_key="dan-secret-key-0123456789")
    student.text_input(key="student_name_input").input("Dan").run()
    for key, value in (("train_epochs", 10), ("train_hidden_dim", 32), ("train_train_subset", 512)):
        student.number_input(key=key).set_value(value)
    training.training_queue().hold_students(True)
    student.button(key=next(b.key for b in student.button if b.label == "Start training")).click().run()
    job_id = session_job(student)
    # While it waits (held by the pause), Dan may cancel it and another student may not: she sees it
    # in the line, without its button (and the queue refuses her: test_training_queue.py).
    assert f"queue-cancel-{job_id}" in [b.key for b in student.run().button]
    other = open_as("pages/train.py", student_key="eve-secret-key-0123456789")
    other.text_input(key="student_name_input").input("Eve").run()
    (line,) = other.dataframe
    assert list(line.value["run"].str.endswith("by Dan")) == [True]
    assert f"queue-cancel-{job_id}" not in [b.key for b in other.button]
    teacher = sign_in(open_as("pages/classroom.py"))
    assert "Dan" in texts(teacher)
    teacher.button(key=f"classroom-cancel-{job_id}").click().run()
    assert wait_until(lambda: training.training_queue().snapshot(job_id).state == "cancelled", 10)


def test_outside_classroom_mode_there_are_no_roles(runs_dir, class_runs):
    shutil.copytree(class_runs, runs_dir)
    at = open_as()
    assert not any(c.value.startswith("Classroom mode") for c in at.sidebar.caption)
    assert {"prepared", "adas-run", "bobs-run"} <= {o.split(" ")[0] for o in run_names(at)}
    at.switch_page("pages/classroom.py").run()
    assert "Classroom mode is off" in at.info[0].value and not at.text_input


def test_make_classroom_prints_the_code_and_address_then_starts_the_server_on_every_interface(
        monkeypatch, capsys):
    from vae.classroom import host

    started = {}
    monkeypatch.setattr(host, "run_class", lambda root, address, port, servers, code, runs_dir: started.update(
        address=address, port=port, servers=servers, code=code) or 0)
    monkeypatch.delenv(classroom.TEACHER_CODE_ENV, raising=False)
    monkeypatch.setenv(classroom.JOIN_ADDRESS_ENV, "10.1.2.3")
    classroom.main(["--port", "8600"])
    printed = capsys.readouterr().out
    code = started["code"]
    assert "http://10.1.2.3:8600" in printed and code in printed
    assert (started["address"], started["port"], started["servers"]) == ("0.0.0.0", 8600, 1)
    assert host.web_server_command("/repo", "0.0.0.0", 8600)[-4:] == [
        "--server.address", "0.0.0.0", "--server.port", "8600"]
    classroom.main(["--port", "8600"])
    assert started["code"] != code  # a new code at each start


def test_a_fixed_teacher_code_that_is_too_short_is_refused_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv(classroom.TEACHER_CODE_ENV, "abc")
    assert classroom.main([]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: LATENT_LAB_TEACHER_CODE: the teacher code must be at least 10 letters or digits")


# --- Who is who: names, devices, the class run, and nothing secret in an address ---------------------


def test_names_are_one_per_person_and_the_teachers_is_kept_for_the_teacher(class_db):
    shared = ClassroomState(class_db)
    assert shared.register_name("ada-key", "Ada  Lovelace", "10.0.0.5") == "Ada Lovelace"
    for taken in ("ada lovelace", "ADA LOVELACE", "Ada-Lovelace", "adalovelace"):
        with pytest.raises(ClassroomError, match="already called Ada Lovelace"):
            shared.register_name("someone-else", taken, "10.0.0.6")
    assert shared.register_name("ada-key", "Ada L", "10.0.0.5") == "Ada L"  # renaming oneself is fine
    for pretender in ("teacher", "Teacher", "The Teacher", "t.eacher", "Mr Teacher", "TEACHER2"):
        with pytest.raises(ClassroomError, match="kept for the teacher"):
            shared.register_name("eve-key", pretender, "10.0.0.7")
    assert shared.name_of("eve-key") == ""


def test_a_device_may_name_only_a_few_students_however_many_sessions_it_opens(class_db):
    shared = ClassroomState(class_db)
    for n in range(classroom.MAX_NAMES_PER_DEVICE):
        shared.register_name(f"key-{n}", f"Student {n}", "10.0.0.66")
    with pytest.raises(ClassroomError, match="students have already joined from this device"):
        shared.register_name("key-new", "Yet Another", "10.0.0.66")
    shared.register_name("key-new", "Yet Another", "10.0.0.67")  # from another device


def test_a_training_is_refused_by_its_estimated_cost_in_one_sentence():
    limits = Limits(minutes=3)
    wide = TINY.replace(arch="conv", hidden_dim=2048, batch_size=8, epochs=10, train_subset=None)
    with pytest.raises(ClassroomError, match=r"would take about \d+ (min|h)"):
        check_training(ADA, wide, limits)
    check_training(ADA, TINY, limits)
    check_training(THE_TEACHER, wide, limits)


def test_the_class_run_is_pinned_by_identity_not_by_name(class_mode, small_data):
    teacher = sign_in(open_as("pages/classroom.py"))
    teacher.selectbox(key="class_run").select("bobs-run").run()
    assert "bobs-run" in run_names(open_as(student_key="ada-secret-key-0123456789"))[0]
    runs.delete_run(class_mode, "bobs-run")
    carol = Person(STUDENT, "Carol", classroom.key_hash("carol-secret-key-0123456789"))
    train_and_save(TINY.replace(epochs=1), small_data, class_mode, "bobs-run", None, owner=carol.owner())
    ada = open_as(student_key="ada-secret-key-0123456789")
    assert not any("bobs-run" in option for option in run_names(ada))  # Carol's new run is hers alone
    assert not any(option.startswith("📌") for option in run_names(ada))


def test_nothing_that_grants_a_right_is_in_the_address_and_an_old_key_there_is_dropped(class_mode):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["student"] = "ada-secret-key-0123456789"  # a link shared by an older version
    at.query_params["run"] = "prepared"
    at.run()
    assert dict(at.query_params) == {"run": "prepared"}  # the run stays: a link carries the run only
    assert at.session_state["browser_key"] != "ada-secret-key-0123456789"  # not adopted as this browser's key
    assert not any("adas-run" in option for option in run_names(at))
    at.text_input(key="student_name_input").input("Zed").run()
    assert "ada-secret-key" not in str(dict(at.query_params)) and dict(at.query_params) == {"run": "prepared"}


def name_as(key: str, name: str, page: str = "pages/classroom.py") -> AppTest:
    at = open_as(page, student_key=key)
    at.text_input(key="student_name_input").input(name).run()
    assert not at.exception, at.exception
    return at


def test_a_class_behind_one_address_joins_once_the_teacher_says_so(class_mode):
    """Every AppTest session comes from one address: a school whose devices reach the laptop through NAT."""
    for n in range(classroom.MAX_NAMES_PER_DEVICE):
        name_as(f"nat-student-key-{n:08d}", f"Pupil {n}")
    late = name_as("nat-student-key-late0000", "Late Comer")
    assert "already joined from this device" in late.error[0].value
    teacher = sign_in(open_as("pages/classroom.py"))
    assert any("joined from one network address" in info.value for info in teacher.info)
    teacher.number_input(key="limit_names_per_device").set_value(40)
    teacher.button(key=next(b.key for b in teacher.button if b.label == "Set the limits")).click().run()
    late = name_as("nat-student-key-late0000", "Late Comer")
    assert not late.error
    from ui import classroom as ui_classroom

    assert ui_classroom.shared_state().name_of(classroom.key_hash("nat-student-key-late0000")) == "Late Comer"


def test_the_teacher_frees_a_name_and_ends_the_class(class_mode):
    from ui import classroom as ui_classroom

    name_as("ada-secret-key-0123456789", "Ada")
    name_as("bob-secret-key-0123456789", "Bob")
    teacher = sign_in(open_as("pages/classroom.py"))
    teacher.selectbox(key="free_name_choice").select("Ada").run()
    teacher.button(key="free_name").click().run()
    assert "Ada's name is free" in teacher.info[0].value
    ada = open_as("pages/classroom.py", student_key="ada-secret-key-0123456789")
    assert ada.text_input(key="student_name_input")  # asked for a name again
    ada.text_input(key="student_name_input").input("Ada").run()  # and may take it back
    bob_key = classroom.key_hash("bob-secret-key-0123456789")
    ui_classroom.shared_board().add(Person(STUDENT, "Bob", bob_key, browser=bob_key), 4, np.ones(784, np.float32))

    teacher.button(key="end_class").click().run()
    assert ui_classroom.shared_state().names()  # nothing before confirming
    teacher.button(key="confirm_end_class").click().run()
    assert "2 names freed" in teacher.info[0].value
    assert not ui_classroom.shared_state().names() and not ui_classroom.shared_board().drawings()
    assert {"adas-run", "bobs-run"} <= {r.name for r in runs.list_runs(class_mode).runs}  # runs kept
    bob = open_as("pages/classroom.py", student_key="bob-secret-key-0123456789")
    assert bob.text_input(key="student_name_input")


# --- Identity hardening: sign-in tries in the store, look-alike names, "not me" ---------------------


def test_sign_in_tries_are_limited_per_device_and_for_the_class_in_the_store(class_db):
    from vae.classroom.sign_in import CLASS_TRIES, DEVICE_TRIES, DEVICE_WINDOW_SECONDS, SignInLimits

    now = [1000.0]
    limits = SignInLimits(class_db, lambda: now[0])
    for _ in range(DEVICE_TRIES):
        limits.attempt("10.0.0.5")
    again = SignInLimits(class_db, lambda: now[0])  # another session, another web server: the same count
    with pytest.raises(ClassroomError, match=r"Too many tries from this device: wait 30 s"):
        again.attempt("10.0.0.5")
    now[0] += DEVICE_WINDOW_SECONDS
    again.attempt("10.0.0.5")  # the window has passed
    limits.succeeded("10.0.0.5")
    for n in range(CLASS_TRIES):  # the room, one wrong code per device
        limits.attempt(f"10.0.1.{n}")
    with pytest.raises(ClassroomError, match="Too many wrong teacher codes in this class"):
        limits.attempt("10.0.2.1")
    limits.attempt(classroom.THIS_MACHINE)  # the laptop at the front is never locked out by the room


def test_a_new_session_on_the_same_device_does_not_start_the_count_afresh(class_mode):
    first = open_as("pages/classroom.py")
    for _ in range(5):
        sign_in(first, "WRONG-0000-XX")
    second = open_as("pages/classroom.py")  # a new session (a reload without cookies, a new tab)
    sign_in(second, CODE)
    assert "Too many tries from this device" in second.error[0].value and not second.success


@pytest.mark.parametrize("pretender", ["\u0410da", "ＡＤＡ", "A d a", "Аdа"])
def test_look_alikes_of_a_taken_name_are_refused(class_db, pretender):
    shared = ClassroomState(class_db)
    shared.register_name("ada-key", "Ada", "10.0.0.5")
    with pytest.raises(ClassroomError, match="already called Ada"):
        shared.register_name("eve-key", pretender, "10.0.0.7")


@pytest.mark.parametrize("pretender", ["the t\u0435acher", "ｔｅａｃｈｅｒ", "TEACHER", "t\u0435\u0430cher 2"])
def test_look_alikes_of_teacher_are_refused(pretender):
    with pytest.raises(ClassroomError, match="kept for the teacher"):
        classroom.validate_student_name(pretender)


def test_a_name_is_kept_as_plain_letters():
    assert classroom.validate_student_name("Ｚｏë  Ｌｉ") == "Zoë Li"


def test_not_me_gives_this_browser_a_new_key_and_the_last_students_things_stay_theirs(class_mode):
    at = name_as("ada-secret-key-0123456789", "Ada")
    at.button(key="forget_browser").click().run()
    assert not at.exception
    assert at.session_state["browser_key"] != "ada-secret-key-0123456789"
    assert at.text_input(key="student_name_input")  # asked for a name: someone new
    from ui import classroom as ui_classroom

    assert ui_classroom.shared_state().name_of(classroom.key_hash("ada-secret-key-0123456789")) == "Ada"
    at.text_input(key="student_name_input").input("Ada").run()
    assert "already called Ada" in at.error[0].value  # Ada's name is still Ada's
    before = at.session_state["browser_key"]
    at.button(key="forget_browser_prompt").click().run()  # and from the name prompt too: another new key
    assert not at.exception and at.text_input(key="student_name_input")
    assert at.session_state["browser_key"] not in (before, "ada-secret-key-0123456789")
    assert not any("already called Ada" in error.value for error in at.error)  # the refusal went with it
