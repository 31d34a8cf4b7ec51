"""How long a queued job will wait and a job will run, as pure functions: vae.cost's estimate from
the config, corrected by what finished jobs measured on this machine."""

from __future__ import annotations

import collections
import statistics

from vae import cost
from vae.config import TrainConfig


def start_estimates(remaining_seconds: list[float], queued_seconds: list[float], slots: int) -> list[float]:
    """Seconds until each queued job starts, in line order: the slots free up as the running jobs
    end (`remaining_seconds`), and each queued job in turn takes the slot that frees first."""
    free_at = sorted(remaining_seconds + [0.0] * max(0, slots - len(remaining_seconds)))[: max(slots, 1)]
    starts = []
    for seconds in queued_seconds:
        start = free_at.pop(0)
        starts.append(start)
        free_at = sorted([*free_at, start + seconds])
    return starts



class SpeedLearner:
    """How this machine's real durations compare with vae.cost's estimate, per architecture: the
    median of the last few finished jobs' ratios (1 before any)."""

    def __init__(self, remember: int = 5):
        self._ratios: dict[str, collections.deque[float]] = {}
        self._remember = remember

    def learn(self, config: TrainConfig, measured_seconds: float) -> None:
        ratios = self._ratios.setdefault(config.arch, collections.deque(maxlen=self._remember))
        ratios.append(measured_seconds / max(cost.estimated_seconds(config), 1.0))

    def seconds(self, config: TrainConfig) -> float:
        ratios = self._ratios.get(config.arch)
        return cost.estimated_seconds(config) * (statistics.median(ratios) if ratios else 1.0)
