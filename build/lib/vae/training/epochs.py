"""The epochs of a training, run by our own loop around the model's `train_step` and `test_step`.

Keras's `fit` does the same work at about 0.5 s an epoch more for the default on this machine (its
tf.data pipeline and the machinery around each call), and its step cannot be compiled by XLA
without compiling once more for an epoch's last, shorter batch. Here the images stay one tensor,
each epoch's order is a numpy permutation, and one traced call runs a group of batches, gathering
each batch by index (benchmarks/train_speed.py --overhead compares this loop with `fit`). The
callbacks are Keras callbacks, called as `fit` calls them: a group's end, an epoch's begin and end,
with the test set's metrics as `val_*`. Setting `model.stop_training` ends the epoch after the group
in flight; that epoch is still evaluated, as `fit` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from vae.training.model import METRIC_NAMES, VariationalAutoencoder

# XLA compiles a dense model's step in ~1.3 s, then runs it ~1.6x faster (the default's epoch
# 1.75 -> 1.07 s here): worth it from about a thousand steps. The convolutional model compiled
# by XLA trained 14x slower on this CPU, so it is never compiled.
XLA_MIN_STEPS = 1000


def worth_compiling(arch: str, steps: int) -> bool:
    return arch == "dense" and steps >= XLA_MIN_STEPS


def batch_groups(order: np.ndarray, batch_size: int, batches_per_call: int) -> list[tuple[np.ndarray, int]]:
    """`order` cut into batches of `batch_size` and the batches into groups of `batches_per_call`:
    (the group as a (batches_per_call, batch_size) array, how many of its batches are real). Every
    array has the same shape, so the compiled step is compiled once: a last, short batch is filled
    with the epoch's first images (seen twice in that epoch), and the last group is padded with
    batches that are not run."""
    batches = -(-len(order) // batch_size)
    filled = np.concatenate([order, order[: batches * batch_size - len(order)]]).reshape(batches, batch_size)
    groups = []
    for start in range(0, batches, batches_per_call):
        group = filled[start: start + batches_per_call]
        padding = np.zeros((batches_per_call - len(group), batch_size), order.dtype)
        groups.append((np.concatenate([group, padding]), len(group)))
    return groups


class EpochRunner:
    """Trains `model` on `images` and evaluates it on `test_images`, epoch by epoch. The model's
    optimizer is built (its slots exist before the step is traced)."""

    def __init__(self, model: VariationalAutoencoder, images: np.ndarray, test_images: np.ndarray,
                 batch_size: int, batches_per_call: int, test_batch_size: int, seed: int, compiled: bool):
        self.model = model
        self.batch_size, self.batches_per_call = batch_size, batches_per_call
        self.images = tf.convert_to_tensor(images)
        self.test_batches = [tf.convert_to_tensor(test_images[start: start + test_batch_size])
                             for start in range(0, len(test_images), test_batch_size)]
        self.reseed(seed)
        # `compiled`: by XLA, the step's ~100 small operations fused into a few loops. Every group
        # has one shape, so it is compiled once.
        self.train_group = tf.function(self._train_group, jit_compile=compiled, input_signature=[
            tf.TensorSpec([batches_per_call, batch_size], tf.int32), tf.TensorSpec([], tf.int32)])
        self.evaluate_batch = tf.function(model.test_step, input_signature=[tf.TensorSpec([None, images.shape[1]])])

    def compile(self) -> None:
        """Trace (and, if compiled, compile) the step and the test pass now, training nothing: a
        group of no batches, and one test batch into metrics reset at every epoch's start."""
        self.train_group(np.zeros((self.batches_per_call, self.batch_size), np.int32), 0)
        self.evaluate_batch(self.test_batches[0])

    def reseed(self, seed: int) -> None:
        """Each epoch's order drawn afresh from `seed`, as a new runner's would be."""
        self.shuffler = np.random.default_rng(seed)

    def _train_group(self, batches, count):
        logs = {name: tf.constant(0.0) for name in METRIC_NAMES}
        step = tf.constant(0)
        # A while loop, not `for step in tf.range(count)`: XLA would take `count` as a constant
        # and compile again for the last, shorter group.
        while step < count:
            logs = self.model.train_step(tf.gather(self.images, batches[step]))
            step += 1
        return logs

    def run(self, epochs: int, callbacks: Sequence[keras.callbacks.Callback]) -> None:
        model = self.model
        model.stop_training = False
        for callback in callbacks:
            callback.set_model(model)
        for epoch in range(epochs):
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            logs = self._train_epoch(callbacks)
            logs |= {f"val_{name}": value for name, value in self._evaluate().items()}
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if model.stop_training:
                return

    def _train_epoch(self, callbacks) -> dict[str, float]:
        self.model.reset_metrics()
        order = self.shuffler.permutation(len(self.images)).astype(np.int32)
        last_batch, logs = -1, {}
        for group, count in batch_groups(order, self.batch_size, self.batches_per_call):
            logs = {name: float(value) for name, value in self.train_group(group, count).items()}
            last_batch += count
            for callback in callbacks:
                callback.on_train_batch_end(last_batch, logs)
            if self.model.stop_training:
                break
        return logs

    def _evaluate(self) -> dict[str, float]:
        self.model.reset_metrics()
        logs = {}
        for batch in self.test_batches:
            logs = self.evaluate_batch(batch)
        return {name: float(value) for name, value in logs.items()}
