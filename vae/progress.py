"""What training tells its listeners, and the checks a request needs before training starts.
Light on purpose (no TensorFlow): the dashboard imports it at start-up."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vae.config import ConfigError, TrainConfig
from vae.data import MnistData
from vae.numpy_model import with_labels


@dataclass(frozen=True)
class BatchProgress:
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based, within the epoch
    batches_per_epoch: int
    # Running means over the epoch so far, per image, in nats.
    metrics: dict[str, float]
    elapsed_seconds: float

    @property
    def fraction_done(self) -> float:
        return ((self.epoch - 1) * self.batches_per_epoch + self.batch) / (self.epochs * self.batches_per_epoch)

    @property
    def eta_seconds(self) -> float:
        done = self.fraction_done
        return self.elapsed_seconds * (1 - done) / done if done > 0 else math.inf


@dataclass(frozen=True)
class EpochSummary:
    epoch: int  # 1-based
    epochs: int
    train: dict[str, float]
    test: dict[str, float]
    elapsed_seconds: float


class TrainingListener(Protocol):
    def on_batch(self, progress: BatchProgress) -> None: ...

    def on_epoch(self, summary: EpochSummary) -> None: ...


def check_fits_data(config: TrainConfig, n_train: int) -> None:
    if config.batch_size > n_train:
        raise ConfigError("batch_size", f"must be at most the number of training images ({n_train})")


def training_images(config: TrainConfig, data: MnistData) -> np.ndarray:
    return data.x_train if config.train_subset is None else data.x_train[: config.train_subset]


# id(images) -> (images, images | one-hot): the last training set and test set labelled (the full
# training set is 190 MB so labelled, so no more are kept).
_labelled: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_LABELLED_KEPT = 2


def model_inputs(config: TrainConfig, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """What the model is fed: the images, with each one's one-hot label appended for a
    conditional model. The same array for the same images, so a kept trainer (vae.training.loop)
    knows its data again."""
    if not config.conditional:
        return images
    kept = _labelled.get(id(images))
    if kept is None or kept[0] is not images:
        while len(_labelled) >= _LABELLED_KEPT:
            _labelled.pop(next(iter(_labelled)))
        kept = _labelled[id(images)] = (images, with_labels(images, labels, config.label_inputs))
    return kept[1]


def training_inputs(config: TrainConfig, data: MnistData) -> np.ndarray:
    images = training_images(config, data)
    return model_inputs(config, images, data.y_train[: len(images)])


def test_inputs(config: TrainConfig, data: MnistData) -> np.ndarray:
    return model_inputs(config, data.x_test, data.y_test)
