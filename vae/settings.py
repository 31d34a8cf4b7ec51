"""Every setting Latent Lab takes from the environment, read and checked in this one module, and the
repository's own paths, worked out in one place. `settings()` is what every process asks: a frozen
Settings, checked once per distinct environment (a test that changes a variable gets a new one; a
running server reads the same one each time). A bad value is a SettingsError whose sentence names
the variable.

| variable | field | default |
|---|---|---|
| LATENT_LAB_RUNS_DIR | runs_dir | the repository's runs/ |
| LATENT_LAB_CACHE | cache_dir | $XDG_CACHE_HOME/latent-lab, or ~/.cache/latent-lab |
| LATENT_LAB_MNIST | mnist_file | none: the usual sources (vae.data) |
| LATENT_LAB_FASHION_MNIST | fashion_mnist_dir | none: the usual sources (vae.fashion_mnist) |
| LATENT_LAB_TEACHER_CODE | teacher_code | none: a new code at each start |
| LATENT_LAB_JOIN_ADDRESS | join_address | none: this machine's address, worked out |
| LATENT_LAB_TRAINING_SLOTS | training_slots | 1 (from 1 to 8) |
| LATENT_LAB_WARM_TRAINING | warm_training | 1: a training process kept ready (0: one starts with a training) |
| LATENT_LAB_PREPARE_DEFAULT | prepare_default | 1: a waiting training process compiles the default (0: it does not) |
| LATENT_LAB_TRAINING_THREADS | training_threads | unset or 0: every core; N: TensorFlow's threads per training |
| LATENT_LAB_STALL_SECONDS | stall_seconds | 120 (from 1 to 86 400) |
| LATENT_LAB_WORKER_NICENESS | worker_niceness | 10 (from 0 to 19) |
| LATENT_LAB_BROKER | broker | none: training on this machine (vae.jobs.broker checks it) |
| LATENT_LAB_WORKER_SECRET | worker_secret | none (vae.jobs.signing checks it where a broker is set) |
| LATENT_LAB_TIMELINE | timeline_file | none: a file where every process notes its steps (vae.timeline) |
| LATENT_LAB_LANGUAGE | language | unset: a browser's own language if we have it, else en; or the class's (vae.i18n) |

Set by `make classroom` for the processes it starts, not by people: LATENT_LAB_CLASSROOM (roles on),
LATENT_LAB_JOIN_PORT (the join address's port), LATENT_LAB_QUEUE_PROCESS (the queue runs in its own
process). LATENT_LAB_NO_STREAMLIT_WORKAROUNDS=1 turns off our mending of Streamlit's private state
(ui/streamlit_private.py), to see whether a newer Streamlit still needs it."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from vae.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent  # the repository: app.py, vae/, pages/, runs/

RUNS_DIR = "LATENT_LAB_RUNS_DIR"
CACHE = "LATENT_LAB_CACHE"
MNIST = "LATENT_LAB_MNIST"
FASHION_MNIST = "LATENT_LAB_FASHION_MNIST"
TEACHER_CODE = "LATENT_LAB_TEACHER_CODE"
JOIN_ADDRESS = "LATENT_LAB_JOIN_ADDRESS"
TRAINING_SLOTS = "LATENT_LAB_TRAINING_SLOTS"
WARM_TRAINING = "LATENT_LAB_WARM_TRAINING"
PREPARE_DEFAULT = "LATENT_LAB_PREPARE_DEFAULT"
TRAINING_THREADS = "LATENT_LAB_TRAINING_THREADS"
STALL_SECONDS = "LATENT_LAB_STALL_SECONDS"
WORKER_NICENESS = "LATENT_LAB_WORKER_NICENESS"
BROKER = "LATENT_LAB_BROKER"
WORKER_SECRET = "LATENT_LAB_WORKER_SECRET"
CLASSROOM = "LATENT_LAB_CLASSROOM"
JOIN_PORT = "LATENT_LAB_JOIN_PORT"
QUEUE_PROCESS = "LATENT_LAB_QUEUE_PROCESS"
NO_STREAMLIT_WORKAROUNDS = "LATENT_LAB_NO_STREAMLIT_WORKAROUNDS"
TIMELINE = "LATENT_LAB_TIMELINE"
LANGUAGE = "LATENT_LAB_LANGUAGE"
NAMES = (RUNS_DIR, CACHE, MNIST, FASHION_MNIST, TEACHER_CODE, JOIN_ADDRESS, TRAINING_SLOTS, WARM_TRAINING,
         PREPARE_DEFAULT, TRAINING_THREADS, STALL_SECONDS, WORKER_NICENESS, BROKER, WORKER_SECRET, CLASSROOM,
         JOIN_PORT, QUEUE_PROCESS, NO_STREAMLIT_WORKAROUNDS, TIMELINE, LANGUAGE)
# Not ours, but where they point is worked out here too.
OTHERS = ("XDG_CACHE_HOME", "KERAS_HOME", "HOME")
DEFAULT_STALL_SECONDS = 120.0


class SettingsError(ConfigError):
    """A setting in the environment that cannot be used; its sentence names the variable."""


@dataclass(frozen=True)
class Settings:
    runs_dir: Path
    cache_dir: Path
    keras_cache_file: Path  # ~/.keras/datasets/mnist.npz: Keras's own copy, a source of MNIST
    mnist_file: Path | None
    fashion_mnist_dir: Path | None  # a folder with Fashion-MNIST's four idx files
    teacher_code: str | None
    join_address: str | None
    join_port: int | None
    classroom: bool
    queue_process: bool
    training_slots: int
    stall_seconds: float
    worker_niceness: int
    broker: str | None
    worker_secret: str | None
    streamlit_workarounds: bool
    timeline_file: Path | None = None
    language: str | None = None  # None: each browser's own language (ui/language.py)
    warm_training: bool = True
    prepare_default: bool = True
    training_threads: int = 0  # 0: TensorFlow's own choice, every core


def settings() -> Settings:
    """The settings in force (checked once for each distinct environment)."""
    return _read(tuple(os.environ.get(name) for name in (*NAMES, *OTHERS)))


@functools.lru_cache(maxsize=8)
def _read(values: tuple) -> Settings:
    env = {name: value for name, value in zip((*NAMES, *OTHERS), values, strict=True) if value not in (None, "")}
    home = Path(env.get("HOME") or Path.home())
    cache_base = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    return Settings(
        runs_dir=Path(env[RUNS_DIR]) if RUNS_DIR in env else ROOT / "runs",
        cache_dir=Path(env[CACHE]) if CACHE in env else cache_base / "latent-lab",
        keras_cache_file=Path(env.get("KERAS_HOME") or home / ".keras") / "datasets" / "mnist.npz",
        mnist_file=Path(env[MNIST]) if MNIST in env else None,
        fashion_mnist_dir=Path(env[FASHION_MNIST]) if FASHION_MNIST in env else None,
        teacher_code=env.get(TEACHER_CODE),
        join_address=env.get(JOIN_ADDRESS),
        join_port=int(_number(env, JOIN_PORT, None, 1, 65535, whole=True)) if JOIN_PORT in env else None,
        classroom=env.get(CLASSROOM) == "1",
        queue_process=env.get(QUEUE_PROCESS) == "1",
        training_slots=int(_number(env, TRAINING_SLOTS, 1, 1, 8, whole=True)),
        stall_seconds=_number(env, STALL_SECONDS, DEFAULT_STALL_SECONDS, 1, 86_400),
        worker_niceness=int(_number(env, WORKER_NICENESS, 10, 0, 19, whole=True)),
        broker=env.get(BROKER, "").strip() or None,
        worker_secret=env.get(WORKER_SECRET, "").strip() or None,
        streamlit_workarounds=env.get(NO_STREAMLIT_WORKAROUNDS) != "1",
        timeline_file=Path(env[TIMELINE]) if TIMELINE in env else None,
        language=_language(env),
        warm_training=_switch(env, WARM_TRAINING, True),
        prepare_default=_switch(env, PREPARE_DEFAULT, True),
        training_threads=int(_number(env, TRAINING_THREADS, 0, 0, 64, whole=True)),
    )


def _switch(env: dict, name: str, default: bool) -> bool:
    if name not in env:
        return default
    if env[name].strip() not in ("0", "1"):
        raise SettingsError(name, f"must be 0 or 1, got {env[name][:20]!r}")
    return env[name].strip() == "1"


def _language(env: dict) -> str | None:
    from vae.i18n import language_codes

    if LANGUAGE not in env:
        return None
    code, codes = env[LANGUAGE].strip(), language_codes()
    if code not in codes:
        raise SettingsError(LANGUAGE, f"must be one of {', '.join(codes)} (the catalogs in vae/locale), "
                                      f"got {code[:20]!r}")
    return code


def _number(env: dict, name: str, default, low: float, high: float, whole: bool = False) -> float:
    if name not in env:
        return default
    value, kind = env[name], "a whole number" if whole else "a number"
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        raise SettingsError(name, f"must be {kind} from {low:g} to {high:g}, got {value[:40]!r}") from None
    if not low <= number <= high:
        raise SettingsError(name, f"must be from {low:g} to {high:g}, got {value[:40]}")
    return number


def main(argv: list[str] | None = None) -> int:
    """`python -m vae.settings --check` (what `make app`, `make classroom` and `make worker` run
    first): every setting, and the broker and its secret where one is set; one sentence and exit 2
    if any is wrong."""
    import argparse
    import sys

    from vae.errors import LabError
    from vae.jobs.broker import check_setup

    parser = argparse.ArgumentParser(prog="python -m vae.settings", description=main.__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="check the settings in force, and exit")
    parser.parse_args(argv)
    try:
        settings()
        check_setup()
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
