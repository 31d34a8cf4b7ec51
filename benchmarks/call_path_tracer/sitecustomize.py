"""Put on PYTHONPATH by benchmarks/call_paths.py, this runs at the start of every Python process of the
app (web server, queue, training processes). With LATENT_LAB_TRACE_DIR, _ROOT and _SLICE_SECONDS set,
it notes which of the project's files had a function called, slice by slice, so that the benchmark can
tell which files run between two moments. Imports made on the way are not counted: a module's top
level, and what it calls itself, are not on the path. Each call of a function named in
LATENT_LAB_TRACE_SINKS ("file:function;…") is written down with the project's frames that led to it:
the chain a reader follows."""

import json
import os
import sys
import threading
import time

_DIRECTORY = os.environ.get("LATENT_LAB_TRACE_DIR")
_ROOT = os.environ.get("LATENT_LAB_TRACE_ROOT", "")
_SINKS = [sink.split(":") for sink in os.environ.get("LATENT_LAB_TRACE_SINKS", "").split(";") if sink]
_SINK_NAMES = {name for _, name in _SINKS}
_SLICE_SECONDS = float(os.environ.get("LATENT_LAB_TRACE_SLICE_SECONDS", "0"))


def _in_project(path: str) -> bool:
    return path.startswith(_ROOT) and "site-packages" not in path


def _stack_of(frame) -> list[list[str]]:
    """The project's frames that led to this call, outermost first: (file, function)."""
    stack = []
    while frame is not None:
        if _in_project(frame.f_code.co_filename):
            stack.append([frame.f_code.co_filename[len(_ROOT):], frame.f_code.co_name])
        frame = frame.f_back
    return stack[::-1]


def _start_tracing() -> None:
    called: set[str] = set()
    log_path = os.path.join(_DIRECTORY, f"{os.getpid()}.jsonl")
    with open(log_path, "a") as log:
        with open("/proc/self/cmdline", "rb") as cmdline:  # sys.argv is not set yet when site runs
            argv = [part.decode(errors="replace") for part in cmdline.read().split(b"\0") if part]
        log.write(json.dumps({"pid": os.getpid(), "argv": argv}) + "\n")

    def note_calls(frame, event, _arg):
        # A function run by an import (a module's top level calling it) is not on the path.
        caller = frame.f_back
        if event != "call" or frame.f_code.co_name == "<module>" or (caller and caller.f_code.co_name == "<module>"):
            return
        called.add(frame.f_code.co_filename)
        if frame.f_code.co_name in _SINK_NAMES and any(
                frame.f_code.co_filename.endswith(path) and frame.f_code.co_name == name for path, name in _SINKS):
            with open(log_path, "a") as log:
                log.write(json.dumps({"t": time.time(), "stack": _stack_of(frame)}) + "\n")

    def write_slices() -> None:
        nonlocal called
        while True:
            time.sleep(_SLICE_SECONDS)
            taken, called = called, set()
            files = sorted(path for path in taken if _in_project(path))
            if files:
                with open(log_path, "a") as log:
                    log.write(json.dumps({"t": time.time(), "files": files}) + "\n")

    threading.Thread(target=write_slices, name="call-path-tracer", daemon=True).start()
    sys.setprofile(note_calls)
    threading.setprofile(note_calls)


if _DIRECTORY and _ROOT and _SLICE_SECONDS > 0:
    _start_tracing()
