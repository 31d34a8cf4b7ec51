"""The whole job of a training request, shared by the CLI and the dashboard: train, evaluate, save."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from vae import runs
from vae.config import TrainConfig
from vae.data import MnistData
from vae.errors import RunError, TrainingDiverged
from vae.evaluate import decode, encode, given_for, squared_error_per_image, test_metrics
from vae.progress import TrainingListener
from vae.snapshots import Snapshot, replay_arrays
from vae.states import RunStatus
from vae.training.loop import TrainingResult, train


@dataclass(frozen=True)
class SavedRun:
    name: str
    path: Path
    result: TrainingResult
    metrics: dict


def train_and_save(
    config: TrainConfig,
    data: MnistData,
    runs_dir: Path,
    name: str | None = None,
    preset_name: str | None = None,
    listeners: tuple[TrainingListener, ...] | list[TrainingListener] = (),
    stop_event: threading.Event | None = None,
    live_seconds: float | None = None,
    owner: dict | None = None,
    watching: threading.Event | None = None,
    keep_trainer: bool = False,
    first_snapshot: Snapshot | None = None,
) -> SavedRun:
    """Train, evaluate on the test set and save. A stopped run is saved as it stands (status
    "stopped"); a diverged one is not saved at all. The name is checked before training starts.
    `live_seconds`: also take snapshots this often between epochs, while `watching` is set (or
    always, if None), for listeners that watch.
    `owner` (classroom mode: who asked for it, vae.classroom) is kept in the run's metrics.
    `keep_trainer`: the next training of the same settings in this process reuses this one's
    compiled trainer (vae.training.loop.train), once this run is saved. `first_snapshot`: the
    untrained model's, already sent to the listeners (vae.training.loop.train)."""
    runs_dir = Path(runs_dir)
    runs.check_writable(runs_dir)
    if name is None:
        name = runs.unique_run_name(runs_dir, preset_name or "custom")
    elif (runs.run_path(runs_dir, name)).exists():
        raise RunError(f"A run named {name!r} already exists; choose another name.")
    result = train(config, data, listeners, stop_event, live_seconds=live_seconds, watching=watching,
                   keep_trainer=keep_trainer, first_snapshot=first_snapshot)
    if result.status == RunStatus.DIVERGED:
        raise TrainingDiverged(
            "Training diverged (the loss became NaN); nothing was saved. "
            "Try a smaller learning rate or beta."
        )
    # Saved with the run, so the web server shows encodings and errors without running the encoder.
    given = given_for(config, data.y_test)
    test_z_mean = encode(result.encoder, data.x_test, given)[0]
    test_sse = squared_error_per_image(data.x_test, decode(result.decoder, test_z_mean, given))
    metrics = test_metrics(result.encoder, result.decoder, config, data.x_test, data.y_test, test_sse)
    metrics.update({
        "status": result.status,
        "epochs_completed": result.epochs_completed,
        "train_seconds": round(result.seconds, 2),
        "preset": preset_name,
        "data_source": data.source,
        **({"owner": owner} if owner else {}),
    })
    path = runs.save_run(runs_dir, name, config, result.encoder, result.decoder, result.history, metrics,
                         test_z_mean, test_sse, replay_arrays(result.epoch_snapshots))
    return SavedRun(name, path, result, metrics)
