"""What a training will cost, worked out from its config alone, before anything runs: the
arithmetic (multiply-adds of the networks vae/model.py builds), the expected seconds on this
project's 2-core machine, the memory its batches need, and the bytes its run will take on disk.

The queue orders and limits work with these figures: a teacher's limit is "at most 3 minutes of
training per student job", so epochs, images, width, architecture and batch size are all bounded
by one number a person understands. Pure arithmetic, no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vae.config import MNIST_TRAIN_SIZE, TrainConfig
from vae.data import IMAGE_PIXELS

MNIST_TEST_SIZE = 10_000
CONV_CHANNELS = (32, 64)  # vae/model.py's convolutions
CONV_FLAT = 7 * 7 * 64  # what the encoder's convolutions flatten to, and the decoder's first dense feeds


def parameter_counts(config: TrainConfig) -> tuple[int, int]:
    """(encoder, decoder) weights and biases, as vae/model.py builds them."""
    h, d = config.hidden_dim, config.latent_dim
    heads = 2 * (h * d + d)
    if config.arch == "conv":
        first, second = CONV_CHANNELS
        convolutions = (9 * 1 * first + first) + (9 * first * second + second)
        encoder = convolutions + CONV_FLAT * h + h + heads
        decoder = (d * h + h) + (h * CONV_FLAT + CONV_FLAT) + (9 * second * second + second) \
            + (9 * second * first + first) + (9 * first + 1)
    else:
        labels = config.label_inputs  # a conditional model's one-hot label: rows of the first kernels
        encoder = (IMAGE_PIXELS + labels) * h + h + heads
        decoder = ((d + labels) * h + h) + (h * IMAGE_PIXELS + IMAGE_PIXELS)
    return encoder, decoder


def forward_macs_per_image(config: TrainConfig) -> tuple[int, int]:
    """(encoder, decoder) multiply-adds for one image, forward only."""
    h, d = config.hidden_dim, config.latent_dim
    if config.arch == "conv":
        first, second = CONV_CHANNELS
        convolutions = 14 * 14 * first * 9 + 7 * 7 * second * 9 * first
        encoder = convolutions + CONV_FLAT * h + 2 * h * d
        # A transposed convolution: every input pixel adds a 3x3 kernel per (in, out) channel pair.
        transposed = 7 * 7 * 9 * second * second + 14 * 14 * 9 * second * first + 28 * 28 * 9 * first
        decoder = d * h + h * CONV_FLAT + transposed
    else:
        encoder = IMAGE_PIXELS * h + 2 * h * d
        decoder = d * h + h * IMAGE_PIXELS
    return encoder, decoder


LIKELIHOOD_MACS = 2e10  # what the web server spends on one run's bound: ~2.6 s for the default's decoder
LIKELIHOOD_IMAGES = (100, 1000)  # test images the server's bound averages over, fewest and most


def likelihood_images(configs, samples: int) -> int:
    """How many test images the web server bounds -log p(x) on for these runs (the same for all, so
    they compare on the same images): as many as the costliest decoder allows within
    LIKELIHOOD_MACS for `samples` samples each, within LIKELIHOOD_IMAGES."""
    costliest = max(forward_macs_per_image(config)[1] for config in configs)
    fewest, most = LIKELIHOOD_IMAGES
    return int(min(most, max(fewest, LIKELIHOOD_MACS // (samples * costliest))))


@dataclass(frozen=True)
class TrainingWork:
    """The arithmetic and the steps of a whole training."""

    train_flops: float  # forward + backward over every training image of every epoch
    evaluation_flops: float  # the test set's forward pass at each epoch's end, and the final evaluation
    steps: int  # optimizer steps: each has a fixed cost, whatever its batch size

    @property
    def flops(self) -> float:
        return self.train_flops + self.evaluation_flops


def training_work(config: TrainConfig) -> TrainingWork:
    encoder, decoder = forward_macs_per_image(config)
    forward_flops = 2 * (encoder + decoder)
    images = config.train_subset or MNIST_TRAIN_SIZE
    # Backward costs about twice the forward: three forwards' worth per training image.
    train = 3 * forward_flops * images * config.epochs
    evaluation = forward_flops * MNIST_TEST_SIZE * (config.epochs + 2)
    return TrainingWork(train, evaluation, config.epochs * math.ceil(images / config.batch_size))


@dataclass(frozen=True)
class MachineSpeed:
    """How fast this machine does a training's parts; fitted by benchmarks/cost_model.py."""

    dense_flops_per_second: float
    conv_flops_per_second: float
    seconds_per_step: float  # Keras's fixed cost per optimizer step, whatever the batch
    startup_seconds: float  # building the model, tracing, evaluating, saving

    def seconds(self, config: TrainConfig) -> float:
        work = training_work(config)
        rate = self.conv_flops_per_second if config.arch == "conv" else self.dense_flops_per_second
        return self.startup_seconds + work.flops / rate + work.steps * self.seconds_per_step


# Measured on this project's 2-core, GPU-less machine (benchmarks/results-cost_model.txt).
THIS_MACHINE = MachineSpeed(dense_flops_per_second=85e9, conv_flops_per_second=60e9,
                            seconds_per_step=0.0028, startup_seconds=2.0)


def estimated_seconds(config: TrainConfig, speed: MachineSpeed = THIS_MACHINE) -> float:
    """About how long the whole training takes here, from start to saved."""
    return speed.seconds(config)


def memory_bytes(config: TrainConfig) -> int:
    """About the peak memory of a training's batches: every layer's activations, kept for the
    backward pass, with gradients of the same size, for one batch of float32 images."""
    h, d = config.hidden_dim, config.latent_dim
    if config.arch == "conv":
        first, second = CONV_CHANNELS
        per_image = (IMAGE_PIXELS + 14 * 14 * first + 7 * 7 * second + h + 3 * d
                     + h + CONV_FLAT + 14 * 14 * second + 28 * 28 * first + IMAGE_PIXELS)
    else:
        per_image = IMAGE_PIXELS + h + 3 * d + h + IMAGE_PIXELS
    batch = min(config.batch_size, config.train_subset or MNIST_TRAIN_SIZE)
    weights = 4 * sum(parameter_counts(config)) * 4  # weights, gradients, two optimizer slots
    return 2 * 4 * per_image * batch + weights


# --- Disk -----------------------------------------------------------------------------------------

REPLAY_BYTES_PER_EPOCH = 40_000  # replay.npz, compressed (README: 385 KB for 10 epochs)
TEST_FILES_BYTES = 4 * MNIST_TEST_SIZE  # test_sse.npy, plus test_z_mean.npy per latent dimension
SMALL_FILES_BYTES = 100_000  # config, metrics and history, and the .keras files' own structure


def weights_bytes(config: TrainConfig) -> int:
    """weights.npz: every parameter as float32."""
    return 4 * sum(parameter_counts(config))


def run_bytes(config: TrainConfig) -> int:
    """About what a saved run takes on disk: the weights three times (two .keras files and
    weights.npz), the test encodings and errors, the replay."""
    return (3 * weights_bytes(config) + TEST_FILES_BYTES * (1 + config.latent_dim)
            + REPLAY_BYTES_PER_EPOCH * config.epochs + SMALL_FILES_BYTES)


def duration_text(seconds: float) -> str:
    """"40 s", "3 min", "2 h 5 min": how long, for a sentence."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
