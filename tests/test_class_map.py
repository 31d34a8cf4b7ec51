"""The Class map page as the teacher, a student and the one person of local mode see it (AppTest):
the shared board, predict-then-reveal, follow-the-teacher, and what a student is never shown or
allowed. The same permissions with forged websocket events: tests/e2e/test_class_room.py."""

from __future__ import annotations

import shutil

import numpy as np

from tests import test_classroom_mode
from tests.test_classroom_mode import open_as, sign_in
from tests.test_pages import app_env, component_data, point_data, texts  # noqa: F401 (app_env: autouse)
from vae import classroom
from vae.classroom import LOCAL, Person

ADA_KEY, BOB_KEY = "ada-secret-key-0123456789", "bob-secret-key-0123456789"
class_mode, class_runs = test_classroom_mode.class_mode, test_classroom_mode.class_runs  # fixtures, shared
INK = np.zeros(784, np.float32)
INK[400:420] = 1.0


def shared():
    from ui import board

    return board.board()


def named(key: str, name: str, page: str = "pages/class_map.py"):
    at = open_as(page, student_key=key)
    at.text_input(key="student_name_input").input(name).run()
    assert not at.exception, at.exception
    return at


def as_person(name: str, key: str) -> Person:
    browser = classroom.key_hash(key)
    return Person(classroom.STUDENT, name, browser, browser=browser)


def overlay(at, run: str | None = None) -> dict:
    """What the page sent the map of the board (for the class run: `run`, when given)."""
    (key,) = [c.key for c in at.get("bidi_component") if c.key.startswith(f"class-map-state-{run or ''}")]
    return component_data(at, key)["state"]


def teacher_tool_keys(at) -> set[str]:
    keys = {b.key for b in at.button} | {t.key for t in at.toggle}
    return keys & {"board_clear", "board_hide_names", "board_lead", "ask_encode", "ask_decode", "reveal",
                   "close_question"}


def test_in_local_mode_one_person_has_the_board_and_its_tools(runs_dir, class_runs):
    shutil.copytree(class_runs, runs_dir)
    at = open_as("pages/class_map.py")
    assert at.title[0].value == "Class map"
    assert "0 drawings on the board" in texts(at)
    assert teacher_tool_keys(at) == {"board_clear", "board_hide_names", "board_lead", "ask_encode", "ask_decode"}
    shared().add(Person(LOCAL), 3, INK)
    at.run()
    assert "1 drawing on the board" in texts(at)
    (drawing,) = overlay(at)["board"]
    assert drawing["digit"] == 3 and drawing["pixels"] and len(drawing["at"]) == 2
    at.button(key="board_clear").click().run()
    assert len(shared().drawings()) == 1  # not before the confirmation
    at.button(key="board_clear_yes").click().run()
    assert shared().drawings() == [] and "The board is clear." in texts(at)


def test_a_student_sees_their_own_drawing_and_only_dots_of_others_and_no_teachers_tools(class_mode):
    ada = named(ADA_KEY, "Ada")
    assert teacher_tool_keys(ada) == set()
    shared().add(as_person("Ada", ADA_KEY), 4, INK)
    shared().add(as_person("Bob", BOB_KEY), 7, INK)
    ada.run()
    drawings = {d["name"]: d for d in overlay(ada)["board"]}
    assert set(drawings) == {"Ada", "Bob"}
    assert drawings["Ada"]["pixels"] and drawings["Bob"]["pixels"] is None  # only your own drawing's image
    # The teacher sees every drawing; hiding names hides them from every screen, the projector's too.
    teacher = sign_in(open_as("pages/class_map.py"))
    seen = overlay(teacher)["board"]
    assert sorted(d["name"] for d in seen) == ["Ada", "Bob"] and all(d["pixels"] for d in seen)
    teacher.toggle(key="board_hide_names").set_value(True).run()
    ada.run()
    assert {d["name"] for d in overlay(ada)["board"]} == {""}
    assert {d["name"] for d in overlay(teacher.run())["board"]} == {""}
    # Opening a drawing large: the drawing beside its reconstruction, and where it landed.
    assert any("its reconstruction: it landed among the" in image.proto.imgs[0].caption for image in teacher.image)


def test_a_nameless_student_is_asked_for_a_name_on_the_page_they_land_on(class_mode):
    at = open_as("pages/class_map.py", student_key="zed-secret-key-0123456789")
    assert at.text_input(key="student_name_input")  # on the page itself: a phone's sidebar is closed
    assert "student_name_input" not in [t.key for t in at.sidebar.text_input]


def test_predict_then_reveal_where_the_encoder_puts_a_test_image(class_mode):
    teacher = sign_in(open_as("pages/class_map.py"))
    teacher.number_input(key="ask_image").set_value(7)
    teacher.button(key="ask_encode").click().run()
    ada = named(ADA_KEY, "Ada")
    assert "Question 1: Where will the encoder put test image 7?" in [h.value for h in ada.subheader]
    assert overlay(ada)["guess_mode"] is True
    shared().guess(as_person("Ada", ADA_KEY), (0.5, -0.5))
    shared().guess(as_person("Bob", BOB_KEY), (1.0, 1.0))
    ada.run()
    assert "Your guess: (0.50, -0.50)." in texts(ada)
    assert overlay(ada)["guesses"] == []  # nobody sees the cloud before the answer...
    teacher.run()
    assert sorted(overlay(teacher)["guesses"]) == [[0.5, -0.5], [1.0, 1.0]]  # ...but the projector
    assert "2 guesses so far" in texts(teacher)
    teacher.button(key="reveal").click().run()
    ada.run()
    answer = overlay(ada)["answer"]
    assert set(answer) >= {"centre", "radii", "angle"} and overlay(ada)["guess_mode"] is False
    assert any(text.startswith("The encoder puts it at") and "2 guesses; median distance" in text
               for text in texts(ada).splitlines())
    assert len(overlay(ada)["guesses"]) == 2


def test_predict_then_reveal_which_digit_the_decoder_draws_at_the_teachers_point(class_mode):
    teacher = sign_in(open_as("pages/class_map.py"))
    assert teacher.button(key="ask_decode").disabled  # no point picked on the map yet
    teacher.session_state["class_map_z"] = [0.0, 0.0]  # the teacher's last release on the map
    teacher.run()
    teacher.button(key="ask_decode").click().run()
    assert overlay(teacher)["target"] == [0.0, 0.0]
    ada = named(ADA_KEY, "Ada")
    ada.button_group(key="decode_guess_1").set_value(3).run()  # st.pills
    assert shared().my_guess(as_person("Ada", ADA_KEY)) == 3
    teacher.run()
    teacher.button(key="reveal").click().run()
    ada.run()
    (verdict,) = [t for t in texts(ada).splitlines() if t.startswith("It draws a")]
    assert verdict.endswith("of 1 guessed it.")
    assert any(image.proto.imgs[0].caption == "what the decoder draws there" for image in ada.image)


def test_students_follow_the_teachers_page_run_and_point_and_may_step_away(class_mode):
    ada = named(ADA_KEY, "Ada", page="pages/train.py")
    teacher = sign_in(open_as("pages/class_map.py"))
    teacher.toggle(key="board_lead").set_value(True).run()
    assert shared().lead.on and shared().lead.page == "class_map"
    ada.run()
    assert ada.title[0].value == "Class map" and "You are following the teacher's screen." in texts(ada)
    ada.switch_page("pages/class_map.py")  # AppTest reruns its own page file; a browser stays where it was taken
    teacher.switch_page("pages/explorer.py").run()
    teacher.session_state["z0"], teacher.session_state["z1"] = 1.5, -2.0
    teacher.run()
    assert shared().lead.page == "explorer" and shared().lead.z == (1.5, -2.0)
    ada.run()
    assert ada.title[0].value == "Latent explorer"
    assert point_data(ada, shared().lead.run)["z"] == [1.5, -2.0]  # the explorer's sliders, drawn in the browser
    ada.switch_page("pages/explorer.py")
    ada.button(key="follow_step_away").click().run()
    teacher.switch_page("pages/lesson.py").run()
    ada.run()
    assert ada.title[0].value == "Latent explorer"  # stepped away: stays
    ada.button(key="follow_again").click().run()
    assert ada.title[0].value.startswith("Lesson")  # one tap: back with the teacher
    # Bob, who never followed, is taken along too; nobody is when the teacher stops leading.
    bob = open_as(student_key=BOB_KEY)  # the app's first page
    assert bob.title[0].value.startswith("Lesson")  # and asked for a name there
    bob.switch_page("pages/lesson.py").text_input(key="student_name_input").input("Bob").run()
    assert bob.title[0].value.startswith("Lesson") and not bob.exception
    teacher.switch_page("pages/class_map.py").run()
    teacher.toggle(key="board_lead").set_value(False).run()
    bob.switch_page("pages/runs.py").run()
    assert bob.title[0].value == "Compare runs" and not shared().lead.on
