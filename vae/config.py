"""TrainConfig: every hyperparameter of a run in one frozen, validated value, plus named presets."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from vae.errors import ConfigError

MNIST_TRAIN_SIZE = 60_000


@dataclass(frozen=True)
class Field:
    """One hyperparameter as a person meets it, in the Train form and on the command line: the one
    place its label, help, bounds and choices are written."""

    label: str
    help: str
    low: float | None = None  # numbers: inclusive bounds
    high: float | None = None
    step: float | None = None  # what the form's +/- buttons add
    choices: dict[str, str] | None = None  # value -> what a person reads
    format: str | None = None  # how a number reads, printf-style ("%.5f")

    @property
    def is_float(self) -> bool:
        return isinstance(self.low, float)


# In TrainConfig's order. "train_subset" None (all 60 000) is its high end in the form.
FIELDS: dict[str, Field] = {
    "latent_dim": Field("Latent dimensions", "size of the latent space z", 1, 64),
    "hidden_dim": Field("Hidden units", "units of the hidden dense layer (both encoder and decoder)", 8, 2048, 32),
    "epochs": Field("Epochs", "passes over the training images", 1, 1000),
    "batch_size": Field("Batch size", "images per optimizer step", 1, MNIST_TRAIN_SIZE),
    "optimizer": Field("Optimizer", "the optimizer", choices={"rmsprop": "rmsprop", "adam": "adam"}),
    "learning_rate": Field("Learning rate", "the optimizer's step size", 1e-6, 1.0, 1e-4, format="%.5f"),
    "schedule": Field("Learning-rate schedule", "constant, or decaying along half a cosine to 0 over the run",
                      choices={"constant": "Constant", "cosine": "Cosine decay to 0"}),
    "loss": Field("Loss", "what is optimised (what is reported is always the per-image -ELBO)",
                  choices={"elbo": "ELBO (sums: the true objective)",
                           "tutorial": "Tutorial (means: KL over-weighted)"}),
    "beta": Field("β (KL weight)", "weight of the KL term in the loss", 0.0, 100.0, 0.1),
    "arch": Field("Architecture", "dense layers, as the seed tutorial, or convolutions",
                  choices={"dense": "Dense (as the seed)", "conv": "Convolutional"}),
    "model": Field("Model", "a VAE, or a plain autoencoder of the same size (no sampling, no KL)",
                   choices={"vae": "Variational autoencoder", "ae": "Plain autoencoder"}),
    "seed": Field("Seed", "random seed: the same seed and settings train the same model", 0, 2**31 - 1),
    "train_subset": Field("Training images", "train on the first N images only (fewer train faster)", 1,
                          MNIST_TRAIN_SIZE, 1000),
    "dataset": Field("Data set", "the images it learns from (both have 60 000 to train on, 10 000 to test, "
                     "28 x 28 pixels, 10 classes)",
                     choices={"mnist": "MNIST (handwritten digits)",
                              "fashion-mnist": "Fashion-MNIST (clothes and shoes)"}),
    "condition": Field("Label given to the model", "a conditional VAE is told each image's class, in its "
                       "encoder and its decoder: its code then keeps the style, and it draws any class asked for",
                       choices={"none": "None (learns from the images alone)",
                                "label": "The class (a conditional VAE)"}),
}
INT_RANGES = {name: (f.low, f.high) for name, f in FIELDS.items() if f.low is not None and not f.is_float}
FLOAT_RANGES = {name: (f.low, f.high) for name, f in FIELDS.items() if f.is_float}
CHOICES = {name: tuple(f.choices) for name, f in FIELDS.items() if f.choices}
OPTIMIZERS, LOSSES, ARCHS, MODELS, SCHEDULES = (CHOICES[name] for name in ("optimizer", "loss", "arch", "model",
                                                                               "schedule"))
CLASSES = 10  # of every data set here: what a conditional model's one-hot label holds


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run. Saved next to the weights as config.json."""

    latent_dim: int = 2
    hidden_dim: int = 256
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 5e-3
    schedule: str = "cosine"
    # "elbo": BCE summed over 784 pixels + KL summed over latent dims (per image).
    # "tutorial": the seed recipe, mean BCE over pixels + mean KL over dims, i.e. the ELBO
    # with the KL weighted 784 / latent_dim times too heavily: it collapses the posterior.
    loss: str = "elbo"
    beta: float = 1.0
    arch: str = "dense"
    model: str = "vae"
    seed: int = 0
    train_subset: int | None = None
    dataset: str = "mnist"
    # "label": a conditional VAE, the one-hot class appended to the encoder's and the decoder's input.
    condition: str = "none"

    def __post_init__(self) -> None:
        for name, (low, high) in INT_RANGES.items():
            value = getattr(self, name)
            if name == "train_subset" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(name, f"must be a whole number from {low} to {high}, got {value!r}")
            if not low <= value <= high:
                raise ConfigError(name, f"must be from {low} to {high}, got {value}")
        for name, (low, high) in FLOAT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(name, f"must be a number from {low:g} to {high:g}, got {value!r}")
            if not math.isfinite(value) or not low <= value <= high:
                raise ConfigError(name, f"must be from {low:g} to {high:g}, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
        if self.conditional and self.arch != "dense":
            # The label joins the first dense layer's input, which only the dense encoder has.
            raise ConfigError("condition", "a conditional model is built of dense layers: choose the dense "
                              "architecture")

    @property
    def conditional(self) -> bool:
        return self.condition == "label"

    @property
    def label_inputs(self) -> int:
        """How many inputs a one-hot label adds to the encoder and the decoder: 10, or 0."""
        return CLASSES if self.conditional else 0

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from saved JSON; unknown keys are refused rather than silently dropped."""
        if not isinstance(values, dict):
            raise ConfigError("config", f"must be a JSON object, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting (known: {', '.join(sorted(known))})")
        # Runs saved before schedules existed trained at a constant rate.
        return cls(**{"schedule": "constant", **values})

    def describe(self) -> str:
        kind = ("conditional " if self.conditional else "") + ("autoencoder" if self.model == "ae" else "VAE")
        on = "" if self.dataset == "mnist" else f", on {FIELDS['dataset'].choices[self.dataset].split(' (')[0]}"
        return f"{self.arch} {kind}, latent {self.latent_dim}, {self.epochs} epochs{on}"


# The seed tutorial exactly: dense 256, 2-D latent, rmsprop (Keras default lr 1e-3),
# 10 epochs, batch 256, the tutorial's averaged loss.
TUTORIAL = TrainConfig(
    latent_dim=2, hidden_dim=256, epochs=10, batch_size=256,
    optimizer="rmsprop", learning_rate=1e-3, schedule="constant", loss="tutorial",
)
# The seed's architecture with the true ELBO; optimizer, learning rate, schedule and batch size
# chosen by test -ELBO *and* time in benchmarks/sweep_default.py, since a class shares one queue:
# batch 32 is 0.14 nats better but ~2.5x slower (see README).
DEFAULT = TrainConfig()

PRESETS: dict[str, TrainConfig] = {
    "default": DEFAULT,
    "tutorial": TUTORIAL,
    "autoencoder": DEFAULT.replace(model="ae"),
    "latent16": DEFAULT.replace(latent_dim=16),
    "conv": DEFAULT.replace(arch="conv"),
    # A higher rate than the default's: 0.01 gave 131.95 nats (median of 3 seeds) where 0.005 gave
    # 132.95 (seed 0), in the same time (benchmarks/results-conditional_recipe.txt).
    "conditional": DEFAULT.replace(condition="label", learning_rate=1e-2),
}

PRESET_DESCRIPTIONS = {
    "default": "The seed's network (784-256-2) trained on the true ELBO; the recommended start.",
    "tutorial": "The seed recipe exactly. Its averaged loss weights the KL ~392x too heavily "
    "for a 2-D latent space, so the encoder collapses to the prior and digits blur together.",
    "autoencoder": "A plain autoencoder of the same size: no sampling, no KL. It reconstructs "
    "better, but its latent space has gaps where nothing sensible is generated.",
    "latent16": "The default with a 16-D latent space: sharper reconstructions, lower -ELBO.",
    "conv": "Convolutional encoder and decoder with the default's 2-D latent space.",
    "conditional": "The default's network told each image's class (a conditional VAE; learning rate 0.01): its "
    "2-D code keeps only the style, and it draws any class you ask for in that style.",
}


def preset(name: str) -> TrainConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError("preset", f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
