"""Sharing 2 cores between training and a responsive UI.

Training should take every idle cycle but never the ones a person is waiting for. On Linux a
thread's nice value is its own and is inherited by the threads it starts, so TensorFlow's compute
threads are created from a low-priority thread, and the training thread lowers itself: under
contention the scheduler then serves the UI (Streamlit's event loop and script threads, nice 0)
first, and when the UI is idle training runs at full speed.
"""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICENESS = 10
_started = threading.Lock()
_tensorflow_ready = False


def lower_current_thread_priority(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Raise this thread's nice value (Linux); returns False where threads cannot be reniced."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return False
    with contextlib.suppress(OSError):
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(current, niceness))
        return True
    return False


def start_tensorflow_at_background_priority() -> None:
    """Create TensorFlow's thread pools from a low-priority thread, once per process. Must run
    before any other TensorFlow operation to have an effect; harmless afterwards."""
    global _tensorflow_ready
    with _started:
        if _tensorflow_ready:
            return

        def initialise():
            lower_current_thread_priority()
            import tensorflow as tf

            tf.constant(1.0) + tf.constant(1.0)  # the first op creates the pools

        worker = threading.Thread(target=initialise, name="tensorflow-init")
        worker.start()
        worker.join()
        _tensorflow_ready = True
