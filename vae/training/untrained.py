"""A new model's first weights, drawn in numpy from the training's seed: Glorot-uniform kernels
(zeros where a layer asks for zeros: the autoencoder's frozen z_log_var) and zero biases, the
distributions Keras itself would draw them from.

Every training starts from these (vae.training.loop sets its Keras model to them), so a training
process can show a model's untrained snapshot before TensorFlow has even loaded
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


def model_layers(config: TrainConfig) -> tuple[list[tuple[str, dict, WeightShape | None]],
                                               list[tuple[str, dict, WeightShape | None]]]:
    """The model of vae.training.model as (kind, settings, weight shapes or None) per layer, the
    encoder's (its last two the z_mean and z_log_var heads) then the decoder's, without Keras."""
    hidden, latent, labels = config.hidden_dim, config.latent_dim, config.label_inputs
    relu, linear, sigmoid = {"activation": "relu"}, {"activation": "linear"}, {"activation": "sigmoid"}
    same = {"padding": "same"}
    if config.arch == "conv":  # never conditional (vae.config)
        encoder = [("Reshape", {"target_shape": [28, 28, 1]}, None),
                   ("Conv2D", {**relu, **same, "strides": [2, 2]}, WeightShape((3, 3, 1, 32), (32,))),
                   ("Conv2D", {**relu, **same, "strides": [2, 2]}, WeightShape((3, 3, 32, 64), (64,))),
                   ("Flatten", {}, None),
                   ("Dense", relu, WeightShape((7 * 7 * 64, hidden), (hidden,)))]
        decoder = [("Dense", relu, WeightShape((latent, hidden), (hidden,))),
                   ("Dense", relu, WeightShape((hidden, 7 * 7 * 64), (7 * 7 * 64,))),
                   ("Reshape", {"target_shape": [7, 7, 64]}, None),
                   ("Conv2DTranspose", {**relu, **same, "strides": [2, 2]}, WeightShape((3, 3, 64, 64), (64,))),
                   ("Conv2DTranspose", {**relu, **same, "strides": [2, 2]}, WeightShape((3, 3, 32, 64), (32,))),
                   ("Conv2DTranspose", {**sigmoid, **same, "strides": [1, 1]}, WeightShape((3, 3, 1, 32), (1,))),
                   ("Reshape", {"target_shape": [IMAGE_PIXELS]}, None)]
    else:
        encoder = [("Dense", relu, WeightShape((IMAGE_PIXELS + labels, hidden), (hidden,)))]
        decoder = [("Dense", relu, WeightShape((latent + labels, hidden), (hidden,))),
                   ("Dense", sigmoid, WeightShape((hidden, IMAGE_PIXELS), (IMAGE_PIXELS,)))]
    heads = [("Dense", linear, WeightShape((hidden, latent), (latent,))),  # z_mean
             ("Dense", linear, WeightShape((hidden, latent), (latent,), zeros=config.model == "ae"))]  # z_log_var
    return encoder + heads, decoder


def untrained_model(config: TrainConfig) -> tuple[NumpyModel, NumpyModel]:
    """The model of `config` as it starts training: (encoder, decoder) as numpy models."""
    encoder_layers, decoder_layers = model_layers(config)
    shapes = [shape for _kind, _settings, shape in encoder_layers + decoder_layers if shape is not None]
    drawn = iter(draw(config.seed, shapes))
    built = [Layer(kind, settings, next(drawn) if shape is not None else ())
             for kind, settings, shape in encoder_layers + decoder_layers]
    encoder, decoder = built[: len(encoder_layers)], built[len(encoder_layers):]
    return (NumpyModel(encoder[:-2], encoder[-2:], IMAGE_PIXELS + config.label_inputs),
            NumpyModel(decoder, input_dim=config.latent_dim + config.label_inputs))
