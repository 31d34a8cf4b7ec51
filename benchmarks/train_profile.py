"""Where a default training's time goes (issue 19), measured in one run on this machine:

- the whole train() call, and its epochs one by one (the first carries the tracing);
- the training steps alone (model.fit without the test pass, the snapshots or our callbacks);
- the test pass alone (model.evaluate on the 10 000 test images);
- the network's matrix products alone, forward and backward at the default's batch, in TensorFlow
  (one traced function called once per step) and in numpy: the floor's share of a step;
- the optimizer alone: Adam's update of the model's weights, once per step.

Run: .venv/bin/python -m benchmarks.train_profile
"""

from __future__ import annotations

import json
import math
import time

import keras
import numpy as np
import tensorflow as tf

from vae.config import preset
from vae.data import load_mnist
from vae.training.loop import EVAL_BATCH_SIZE, train


def timed(action, repeats: int = 3) -> float:
    """The median of `repeats` timings of `action()`, after one untimed call (tracing, caches)."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def matmul_step_seconds(batch: int, hidden: int, steps: int) -> tuple[float, float]:
    """One epoch's matrix products (encoder and decoder, forward and backward) in TensorFlow, one
    traced call per step as Keras makes them, and the same products in numpy."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, 784), np.float32))
    w1 = tf.Variable(rng.normal(0, 0.05, (784, hidden)).astype(np.float32))
    w2 = tf.Variable(rng.normal(0, 0.05, (hidden, 784)).astype(np.float32))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            h = tf.nn.relu(x @ w1)
            loss = tf.reduce_sum(h @ w2)
        return tape.gradient(loss, [w1, w2])

    def tf_epoch():
        for _ in range(steps):
            step()

    xn, w1n, w2n = x.numpy(), w1.numpy(), w2.numpy()

    def numpy_epoch():
        for _ in range(steps):
            h = np.maximum(xn @ w1n, 0)
            y_grad = np.ones((batch, 784), np.float32)
            _ = h @ w2n, h.T @ y_grad
            h_grad = (y_grad @ w2n.T) * (h > 0)
            _ = xn.T @ h_grad

    return timed(tf_epoch), timed(numpy_epoch)


def optimizer_seconds(model, steps: int) -> float:
    """Adam's update of every trainable weight, `steps` times (the gradients held fixed)."""
    optimizer = keras.optimizers.Adam(1e-3)
    weights = model.trainable_variables
    gradients = [tf.ones_like(w) * 1e-3 for w in weights]
    optimizer.build(weights)

    @tf.function
    def update():
        optimizer.apply_gradients(zip(gradients, weights, strict=True))

    def epoch():
        for _ in range(steps):
            update()

    return timed(epoch, repeats=2)


def main() -> None:
    data = load_mnist()
    config = preset("default")
    steps = math.ceil(len(data.x_train) / config.batch_size)
    train(config.replace(epochs=1, train_subset=2048), data)  # TensorFlow imported and warm
    started = time.perf_counter()
    result = train(config, data)
    whole = time.perf_counter() - started
    cumulative = result.history["seconds"].to_numpy()
    per_epoch = np.diff(np.concatenate([[0.0], cumulative]))
    model = result.model

    def fit_epoch():
        model.fit(data.x_train, epochs=1, batch_size=config.batch_size, shuffle=True, verbose=0)

    def test_pass():
        model.evaluate(data.x_test, data.x_test, batch_size=EVAL_BATCH_SIZE, verbose=0)

    steps_alone = timed(fit_epoch, repeats=2)
    test_alone = timed(test_pass)
    tf_matmuls, numpy_matmuls = matmul_step_seconds(config.batch_size, config.hidden_dim, steps)
    adam = optimizer_seconds(model, steps)
    later = float(np.median(per_epoch[1:]))
    figures = {
        "whole_train_seconds": round(whole, 2), "epoch_seconds": [round(v, 2) for v in per_epoch],
        "first_epoch_extra_seconds": round(per_epoch[0] - later, 2), "later_epoch_median_seconds": round(later, 2),
        "fit_epoch_steps_only_seconds": round(steps_alone, 2), "test_pass_seconds": round(test_alone, 2),
        "tf_matmuls_per_epoch_seconds": round(tf_matmuls, 2),
        "numpy_matmuls_per_epoch_seconds": round(numpy_matmuls, 2),
        "adam_updates_per_epoch_seconds": round(adam, 2), "steps_per_epoch": steps,
    }
    rest = steps_alone - tf_matmuls - adam
    print(f"default ({config.epochs} epochs, batch {config.batch_size}, {steps} steps/epoch): train() {whole:.1f} s; "
          f"epochs {', '.join(f'{v:.2f}' for v in per_epoch)} s (the first {per_epoch[0] - later:+.2f} s: tracing)")
    # Timed apart, in separate calls: on a noisy machine the parts need not add up to the whole.
    print(f"one epoch, median of the later ones: {later:.2f} s; timed apart: the training steps alone "
          f"{steps_alone:.2f} s, the test pass {test_alone:.2f} s")
    print(f"the training steps' {steps_alone:.2f} s: matrix products in TensorFlow {tf_matmuls:.2f} s (numpy: "
          f"{numpy_matmuls:.2f} s), Adam's updates {adam:.2f} s, everything else (sampling, losses, "
          f"elementwise gradients, per-call overhead) {rest:.2f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
