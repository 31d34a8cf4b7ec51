"""The queue's settings (vae.settings reads and checks them with every other)."""

from __future__ import annotations

from vae.settings import DEFAULT_STALL_SECONDS, settings

__all__ = ["DEFAULT_STALL_SECONDS", "slots_from_environment", "stall_seconds_from_environment"]


def slots_from_environment() -> int:
    return settings().training_slots


def stall_seconds_from_environment() -> float:
    return settings().stall_seconds
