"""A run's Keras files: loaded with Keras's safe mode (no code inside a file ever runs), for the
CLI's evaluation and for giving runs saved by version 0.1 what the web server reads."""

from __future__ import annotations

from pathlib import Path

import keras

from vae.errors import RunError


def load_models(path: Path):
    """(encoder, decoder) from a run folder; RunError in one sentence if either cannot be loaded."""
    models = []
    for file in ("encoder.keras", "decoder.keras"):
        try:
            models.append(keras.saving.load_model(path / file, safe_mode=True, compile=False))
        except Exception as error:  # noqa: BLE001 - Keras raises many types for a bad zip, bad JSON, unsafe code
            reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            raise RunError(f"run {path.name!r}: {file} cannot be loaded ({reason})") from None
    return tuple(models)
