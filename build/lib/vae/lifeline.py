"""`python -m vae.lifeline PARENT_PID COMMAND...`: run COMMAND (exec: the same process) so that it
ends when the process PARENT_PID ends, however that ends (a SIGKILL too): the kernel sends it
SIGTERM (Linux's parent-death signal, kept across exec). The class's launcher starts its web servers,
join address and training queue this way, so none outlives it holding a port that `make classroom` needs again.
Where the signal does not exist (not Linux), COMMAND runs as it is."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def end_with_parent(parent_pid: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # it died before the signal was set: nothing would send it
        os._exit(1)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: python -m vae.lifeline PARENT_PID COMMAND...", file=sys.stderr)
        sys.exit(2)
    end_with_parent(int(argv[0]))
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
