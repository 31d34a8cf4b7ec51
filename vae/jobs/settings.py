"""The queue's settings from the environment, checked: one sentence for a value out of range."""

from __future__ import annotations

import os

from vae.errors import ConfigError

SLOTS_ENV = "LATENT_LAB_TRAINING_SLOTS"  # trainings that run at once (default 1: 2 cores)
STALL_ENV = "LATENT_LAB_STALL_SECONDS"  # no progress for this long: the job is ended
DEFAULT_STALL_SECONDS = 120.0


def slots_from_environment() -> int:
    value = os.environ.get(SLOTS_ENV, "1")
    try:
        slots = int(value)
    except ValueError:
        raise ConfigError(SLOTS_ENV, f"must be a whole number from 1 to 8, got {value!r}") from None
    if not 1 <= slots <= 8:
        raise ConfigError(SLOTS_ENV, f"must be from 1 to 8, got {slots}")
    return slots


def stall_seconds_from_environment() -> float:
    value = os.environ.get(STALL_ENV, str(DEFAULT_STALL_SECONDS))
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(STALL_ENV, f"must be a number of seconds, got {value!r}") from None
    if not 1 <= seconds <= 86_400:
        raise ConfigError(STALL_ENV, f"must be from 1 to 86400 seconds, got {value}")
    return seconds
