"""AppTest, run in a pytest worker, at the web server's cost rather than more.

Each AppTest run set up what a web server sets up once, and one thing the server never does:
- after every script run, Streamlit calls keras.backend.clear_session() if Keras is imported. The
  web server never imports Keras (tests/test_pages.py checks it), so there the call never happens;
  in a pytest worker the in-process trainings have imported it, and its full garbage collection of
  TensorFlow's objects after each run was 43 % of tests/test_pages.py's py-spy samples;
- every run compiles the app and its page afresh (a new ScriptCache, Streamlit's "magic" parsing the
  source first), where a server compiles each once;
- every new AppTest scans all installed packages' metadata for component manifests, where a
  server scans once (the app's components are declared inline, so none is found either way).
`use_the_servers_costs()` makes each of these once per process, as the server does.

And one thing a server can leave that a test process cannot: Streamlit's script runner makes the
page it runs the process's `__main__` module and leaves it there. A process started afterwards by
multiprocessing's "spawn" first runs its parent's `__main__` file: that page, outside Streamlit,
where it fails, and a Pool starts another in its place, and another, for ever (a full run hung so
in tests/test_class_store.py). `keep_the_workers_main()` puts the worker's own back."""

from __future__ import annotations

import functools
import os
import sys

from streamlit.components.v2 import manifest_scanner
from streamlit.runtime.scriptrunner import script_runner
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import app_test, local_script_runner


class _CompiledOnce(ScriptCache):
    """One cache for the whole process; a script is compiled again if its file changed."""

    def get_bytecode(self, script_path: str):
        stat = os.stat(script_path)
        return _compiled(os.path.abspath(script_path), stat.st_mtime_ns, stat.st_size)


@functools.cache
def _compiled(script_path: str, _mtime_ns: int, _size: int):
    return ScriptCache().get_bytecode(script_path)


def _no_keras_session_to_clear() -> None:
    """Streamlit's _clean_problem_modules without its Keras call (matplotlib's close("all") is the
    other half, and no page uses matplotlib)."""


# What is replaced, where Streamlit keeps it: a version that moved one fails here, by name, rather
# than leaving the tests silently slower (tests/test_apptest_runs.py checks each replacement works).
REPLACED = [(script_runner, "_clean_problem_modules"), (app_test, "ScriptCache"),
            (local_script_runner, "ScriptCache"), (manifest_scanner, "scan_component_manifests")]


WORKERS_MAIN = sys.modules["__main__"]  # imported by tests/conftest.py before any page runs


def keep_the_workers_main() -> None:
    sys.modules["__main__"] = WORKERS_MAIN


def use_the_servers_costs() -> None:
    for module, name in REPLACED:
        if not hasattr(module, name):
            raise RuntimeError(f"{module.__name__}.{name} is gone: tests/support/apptest_runs.py needs updating "
                               "for this Streamlit")
    script_runner._clean_problem_modules = _no_keras_session_to_clear
    app_test.ScriptCache = _CompiledOnce
    local_script_runner.ScriptCache = _CompiledOnce
    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)
