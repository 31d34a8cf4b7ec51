"""A new model's first weights, drawn in numpy from the training's seed: Glorot-uniform kernels
(zeros where a layer asks for zeros: the autoencoder's frozen z_log_var) and zero biases, the
distributions Keras itself would draw them from.

Every training starts from these (vae.training.loop sets its Keras model to them), so a training
process can show a dense model's untrained snapshot before TensorFlow has even loaded
(vae.jobs.training_job), and the blur shown is exactly the model that then trains. Pure numpy:
importing this module costs no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vae.config import TrainConfig
from vae.data import IMAGE_PIXELS
from vae.numpy_model import Layer, NumpyModel


@dataclass(frozen=True)
class WeightShape:
    """One layer's kernel and bias shapes, and whether its kernel starts at zero."""

    kernel: tuple[int, ...]
    bias: tuple[int, ...]
    zeros: bool = False


def glorot_limit(kernel: tuple[int, ...]) -> float:
    """Glorot-uniform's bound for a kernel of this shape (dense (in, out); convolutions
    (h, w, in, out) or, transposed, (h, w, out, in): the sum of the fans is the same)."""
    receptive_field = math.prod(kernel[:-2])
    return math.sqrt(6.0 / ((kernel[-2] + kernel[-1]) * receptive_field))


def draw(seed: int, shapes: list[WeightShape]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) float32 for each layer, in order, from one generator seeded by `seed`."""
    generator = np.random.default_rng(seed)
    weights = []
    for shape in shapes:
        if shape.zeros:
            kernel = np.zeros(shape.kernel, np.float32)
        else:
            limit = glorot_limit(shape.kernel)
            kernel = generator.uniform(-limit, limit, shape.kernel).astype(np.float32)
        weights.append((kernel, np.zeros(shape.bias, np.float32)))
    return weights


def dense_shapes(config: TrainConfig) -> tuple[list[WeightShape], list[WeightShape]]:
    """The dense model's layers (vae.training.model), encoder's then decoder's, without Keras."""
    hidden, latent, labels = config.hidden_dim, config.latent_dim, config.label_inputs
    encoder = [WeightShape((IMAGE_PIXELS + labels, hidden), (hidden,)),
               WeightShape((hidden, latent), (latent,)),  # z_mean
               WeightShape((hidden, latent), (latent,), zeros=config.model == "ae")]  # z_log_var
    decoder = [WeightShape((latent + labels, hidden), (hidden,)),
               WeightShape((hidden, IMAGE_PIXELS), (IMAGE_PIXELS,))]
    return encoder, decoder


def untrained_dense(config: TrainConfig) -> tuple[NumpyModel, NumpyModel]:
    """The dense model of `config` as it starts training: (encoder, decoder) as numpy models."""
    if config.arch != "dense":
        raise ValueError(f"only a dense model is drawn without Keras, not {config.arch!r}")
    encoder_shapes, decoder_shapes = dense_shapes(config)
    weights = draw(config.seed, encoder_shapes + decoder_shapes)
    encoder_weights, decoder_weights = weights[: len(encoder_shapes)], weights[len(encoder_shapes):]
    relu, linear, sigmoid = {"activation": "relu"}, {"activation": "linear"}, {"activation": "sigmoid"}
    encoder = NumpyModel([Layer("Dense", relu, encoder_weights[0])],
                         [Layer("Dense", linear, encoder_weights[1]), Layer("Dense", linear, encoder_weights[2])],
                         IMAGE_PIXELS + config.label_inputs)
    decoder = NumpyModel([Layer("Dense", relu, decoder_weights[0]), Layer("Dense", sigmoid, decoder_weights[1])],
                         input_dim=config.latent_dim + config.label_inputs)
    return encoder, decoder
