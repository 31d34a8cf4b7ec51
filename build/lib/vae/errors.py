"""Errors a person can cause. Each message is one sentence that says what is wrong and what to do;
the CLI and the dashboard show it as it is, never a traceback."""

from __future__ import annotations


class LabError(Exception):
    """Base of every error meant to be shown to a person."""


class ConfigError(LabError, ValueError):
    """A hyperparameter is out of range; `field` names it so a UI can point at the widget."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class DataError(LabError):
    """MNIST could not be loaded; the message says what was tried and what to do."""


class RunError(LabError):
    """A run cannot be saved, found or loaded; the message says which and why."""


class TrainingDiverged(LabError):
    """The loss became NaN or infinite; nothing was saved."""
