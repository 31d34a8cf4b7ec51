"""The queue's settings from the environment, checked: one sentence for a value out of range."""

from __future__ import annotations

import os

from vae.errors import ConfigError

SLOTS_ENV = "LATENT_LAB_TRAINING_SLOTS"  # trainings that run at once (default 1: 2 cores)
STALL_ENV = "LATENT_LAB_STALL_SECONDS"  # no progress for this long: the job is ended
DEFAULT_STALL_SECONDS = 120.0


def number_from_environment(name: str, default: float, low: float, high: float, whole: bool = False) -> float:
    """The number in environment variable `name` (or `default`), from `low` to `high`; else ConfigError."""
    value = os.environ.get(name, str(default))
    kind = "a whole number" if whole else "a number"
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        raise ConfigError(name, f"must be {kind} from {low:g} to {high:g}, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(name, f"must be from {low:g} to {high:g}, got {value}")
    return number


def slots_from_environment() -> int:
    return int(number_from_environment(SLOTS_ENV, 1, 1, 8, whole=True))


def stall_seconds_from_environment() -> float:
    return number_from_environment(STALL_ENV, DEFAULT_STALL_SECONDS, 1, 86_400)
