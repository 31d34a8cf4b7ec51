"""vae.classroom.followers: which following pages a web server redraws when the teacher's lead
moves, and how often (the wiring to Streamlit: tests/e2e/test_class_servers.py, test_phone.py)."""

import threading

from vae.classroom.followers import MIN_GAP_SECONDS, RETRY_SECONDS, Followers


def test_a_page_drawn_with_the_current_lead_is_left_alone_and_an_older_one_is_redrawn_once():
    followers = Followers()
    followers.drawn("ada", 3)
    followers.drawn("bob", 4)
    assert followers.due(4, now=100.0) == ["ada"]
    assert followers.due(4, now=100.5) == []  # asked already; her page has not been drawn yet
    followers.drawn("ada", 4)
    assert followers.due(4, now=101.0) == []


def test_while_the_teacher_drags_a_page_is_redrawn_at_most_once_every_min_gap():
    followers = Followers()
    followers.drawn("ada", 0)
    assert followers.due(1, now=10.0) == ["ada"]
    followers.drawn("ada", 1)
    assert followers.due(2, now=10.0 + MIN_GAP_SECONDS / 2) == []
    assert followers.due(3, now=10.0 + MIN_GAP_SECONDS) == ["ada"]


def test_a_redraw_that_never_came_is_asked_for_again_after_retry_seconds():
    followers = Followers()
    followers.drawn("ada", 0)
    assert followers.due(1, now=0.0) == ["ada"]
    assert followers.due(1, now=RETRY_SECONDS - 0.1) == []
    assert followers.due(1, now=RETRY_SECONDS) == ["ada"]


def test_a_session_forgotten_is_never_redrawn():
    followers = Followers()
    followers.drawn("ada", 0)
    followers.drawn("bob", 0)
    followers.forget("ada")
    followers.forget("nobody")  # forgetting one never told is harmless
    assert followers.due(1, now=0.0) == ["bob"]
    assert len(followers) == 1


def test_pages_and_the_watch_may_use_it_at_once():
    followers = Followers()
    errors = []

    def page(n):
        try:
            for version in range(200):
                followers.drawn(f"s{n}", version)
                if version % 50 == 0:
                    followers.forget(f"s{n}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=page, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for tick in range(200):
        followers.due(tick, now=float(tick))
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(followers.due(10_000, now=1e6)) == {f"s{n}" for n in range(8)}
