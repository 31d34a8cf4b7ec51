"""The launcher's care of its processes (`make classroom`): each child is started through
vae.lifeline (so it ends when the launcher ends, however it ends) in a session of its own (so
Ctrl-C in the terminal reaches the launcher, which stops them in order), and started again, with
the same command and so on the same port, as soon as it is seen to have died. A child that keeps
dying (MAX_DEATHS within DEATH_WINDOW_SECONDS) stops the class with one sentence instead.

Linux sends the parent-death signal when the *thread* that started the child ends: start and
watch children from the launcher's main thread only (vae.classroom.host does)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

POLL_SECONDS = 0.25  # how often children are looked at: a dead one is started again within this
MAX_DEATHS = 5
DEATH_WINDOW_SECONDS = 60.0
STOP_SECONDS = 10.0  # a child asked to stop gets this long before it is killed


@dataclass
class Child:
    name: str  # what a person reads: "the web server on port 8502"
    command: list[str]
    process: subprocess.Popen | None = None
    deaths: collections.deque = field(default_factory=lambda: collections.deque(maxlen=MAX_DEATHS))


class Supervisor:
    def __init__(self, environment: dict[str, str], cwd: str, log=sys.stderr):
        self.environment, self.cwd, self.log = environment, cwd, log
        self.children: list[Child] = []

    def start(self, name: str, command: list[str]) -> Child:
        child = Child(name, command)
        self.children.append(child)
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        lifeline = [sys.executable, "-m", "vae.lifeline", str(os.getpid())]
        child.process = subprocess.Popen(lifeline + child.command, env=self.environment, cwd=self.cwd,
                                         start_new_session=True)

    def check(self) -> str | None:
        """Start again every child that has died; a sentence if one keeps dying (then the class stops)."""
        for child in self.children:
            code = child.process.poll()
            if code is None:
                continue
            now = time.monotonic()
            child.deaths.append(now)
            if len(child.deaths) == MAX_DEATHS and now - child.deaths[0] < DEATH_WINDOW_SECONDS:
                return (f"{child.name} ended {MAX_DEATHS} times within {DEATH_WINDOW_SECONDS:.0f} s (last exit code "
                        f"{code}); stopping the class.")
            print(f"Latent Lab: {child.name} ended (exit code {code}); starting it again.", file=self.log, flush=True)
            self._spawn(child)
        return None

    def watch(self) -> str:
        """Keep every child running until one keeps dying; returns why it gave up."""
        while True:
            reason = self.check()
            if reason:
                return reason
            time.sleep(POLL_SECONDS)

    def stop_all(self) -> None:
        live = [child.process for child in self.children if child.process and child.process.poll() is None]
        for process in live:
            process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in live:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
