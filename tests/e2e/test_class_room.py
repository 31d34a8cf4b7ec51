"""The class as one room, from outside: students' drawings and guesses reaching the teacher's class
map over the websocket, and a student's forged teacher events (clear the board, reveal, hide names,
lead every screen) refused. The same page in a phone-sized chromium with touch: tests/e2e/test_phone.py."""

from __future__ import annotations

from tests.conftest import wait_until
from tests.e2e import test_classroom
from tests.e2e.test_classroom import signed_in_teacher
from tests.support.class_room import ONE, board_of, pad_png, send_drawing, student

# The fixtures: classroom mode on 127.0.0.1, on a copy of runs made once for the file.
class_runs, class_server = test_classroom.class_runs, test_classroom.class_server
def test_drawings_reach_the_teachers_map_and_a_students_forged_teacher_events_change_nothing(class_server):
    teacher = signed_in_teacher(class_server.url)
    ada = student(class_server.url, "Ada")
    bob = student(class_server.url, "Bob")
    try:
        # Send is never disabled (a rerun it would hang on can be pre-empted): it says what is missing.
        nothing = bob.click("Send it to the class map")
        assert any("Draw a digit on the pad first." in text for text in nothing.texts), nothing.texts
        bob.set_component_state("latent_lab_drawing_pad", {"png": pad_png(ONE)})
        undecided = bob.click("Send it to the class map")
        assert any("Say which digit you drew" in text for text in undecided.texts), undecided.texts
        sent = send_drawing(ada, 1)
        assert any("Sent: your 1 is on the class map." in text for text in sent.texts), sent.texts
        assert not sent.exceptions
        page = teacher.open_page("class_map")
        (drawing,) = board_of(page)["board"]
        assert drawing["name"] == "Ada" and drawing["digit"] == 1 and drawing["pixels"]
        assert board_of(bob.open_page("class_map"))["board"][0]["pixels"] is None  # Bob sees a dot, not Ada's drawing

        # The teacher asks; the widgets of the teacher's tools, as the teacher's page drew them.
        teacher.click("Clear the board…")
        clear_yes = teacher.widgets["Clear it"]
        teacher.open_page("class_map")
        teacher.click("Ask: where will the encoder put it?")
        tools = dict(teacher.widgets)
        assert {"Reveal", "Hide names", "Students follow me", "Close the question"} <= set(tools)

        # (A widget id alone: a rerun for a fragment Bob's page does not have would get no answer.)
        forged = [bob.send_trigger(clear_yes[0]), bob.send_trigger(tools["Reveal"][0]),
                  bob.send_trigger(tools["Close the question"][0]),
                  bob.set_toggle("", True, widget_id=tools["Hide names"][0]),
                  bob.set_toggle("", True, widget_id=tools["Students follow me"][0])]
        assert not [e for outcome in forged for e in outcome.exceptions]

        seen = teacher.open_page("class_map")
        state = board_of(seen)
        assert len(state["board"]) == 1 and state["board"][0]["name"] == "Ada"  # not cleared, names shown
        assert state["answer"] is None and state["guess_mode"] is False  # not revealed (a teacher never guesses)
        assert any(text.startswith("Question 1:") for text in seen.texts)  # still open
        ada_page = ada.open_page("train")
        assert not any("following the teacher" in text for text in ada_page.texts)  # nobody is led
        assert board_of(ada.open_page("class_map"))["guess_mode"] is True  # Ada may still guess

        # The real teacher's Reveal, by the same widget id, does reveal: the forged one was refused.
        teacher.click("Reveal")
        wait_until(lambda: board_of(bob.open_page("class_map"))["answer"] is not None, 30, 0.5, "the reveal")
    finally:
        for client in (teacher, ada, bob):
            client.close()
