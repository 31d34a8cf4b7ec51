"""AppTest at the web server's cost (tests/support/apptest_runs.py): a page changed on disk still
runs as changed, Keras's session is not cleared after a run, and installed packages are scanned
for components once per process."""

from __future__ import annotations

import multiprocessing
import os
import sys

from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from tests.support.apptest_runs import WORKERS_MAIN, keep_the_workers_main


def test_a_script_changed_on_disk_runs_as_changed(tmp_path):
    script = tmp_path / "page.py"
    script.write_text('import streamlit as st\nst.markdown("first")\n')
    assert [m.value for m in AppTest.from_file(str(script)).run().markdown] == ["first"]
    script.write_text('import streamlit as st\nst.markdown("second, and longer")\n')
    os.utime(script, ns=(os.stat(script).st_atime_ns, os.stat(script).st_mtime_ns + 1_000_000))
    assert [m.value for m in AppTest.from_file(str(script)).run().markdown] == ["second, and longer"]


def test_a_run_with_keras_imported_leaves_its_session_alone(tmp_path, monkeypatch):
    import keras

    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: cleared.append(1))
    script = tmp_path / "page.py"
    script.write_text('import streamlit as st\nst.markdown("a page")\n')
    at = AppTest.from_file(str(script)).run()
    assert not at.exception and cleared == []


def test_installed_packages_are_scanned_for_components_once(tmp_path, monkeypatch):
    import importlib.metadata

    scans, distributions = [], importlib.metadata.distributions
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: scans.append(1) or distributions())
    manifest_scanner.scan_component_manifests.cache_clear()
    script = tmp_path / "page.py"
    script.write_text('import streamlit as st\nst.markdown("a page")\n')
    for _ in range(3):
        AppTest.from_file(str(script)).run()
    assert scans == [1]


def test_a_page_run_leaves_no_page_as_main_for_a_process_spawned_later(tmp_path):
    """Streamlit leaves the page it ran as __main__; a "spawn" child would run that page first and
    die (here: a page that fails as a spawned child's main, as pages/runs.py did). tests/conftest.py
    puts the worker's back around every test, as keep_the_workers_main() does here."""
    script = tmp_path / "page.py"
    script.write_text('import streamlit as st\nst.markdown("a page")\n'
                      'if __name__ != "__main__":\n    raise SystemExit("run as a spawned child\'s main")\n')
    AppTest.from_file(str(script)).run()
    assert sys.modules["__main__"].__file__ == str(script)  # Streamlit's doing
    keep_the_workers_main()
    assert sys.modules["__main__"] is WORKERS_MAIN
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply_async(os.getpid).get(timeout=60) != os.getpid()
