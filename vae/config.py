"""TrainConfig: every hyperparameter of a run in one frozen, validated value, plus named presets."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from vae.errors import ConfigError
from vae.i18n import N_, _, ngettext

MNIST_TRAIN_SIZE = 60_000


@dataclass(frozen=True)
class Field:
    """One hyperparameter as a person meets it, in the Train form and on the command line: the one
    place its label, help, bounds and choices are written. Label, help and choices' words are
    marked with N_ (the command line shows them as they are; the form passes them through _)."""

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
    "latent_dim": Field(N_("Latent dimensions"), N_("size of the latent space z"), 1, 64),
    "hidden_dim": Field(N_("Hidden units"), N_("units of the hidden dense layer (both encoder and decoder)"), 8, 2048,
                        32),
    "epochs": Field(N_("Epochs"), N_("passes over the training images"), 1, 1000),
    "batch_size": Field(N_("Batch size"), N_("images per optimizer step"), 1, MNIST_TRAIN_SIZE),
    "optimizer": Field(N_("Optimizer"), N_("the optimizer"), choices={"rmsprop": "rmsprop", "adam": "adam"}),
    "learning_rate": Field(N_("Learning rate"), N_("the optimizer's step size"), 1e-6, 1.0, 1e-4, format="%.5f"),
    "schedule": Field(N_("Learning-rate schedule"), N_("constant, or decaying along half a cosine to 0 over the run"),
                      choices={"constant": N_("Constant"), "cosine": N_("Cosine decay to 0")}),
    "loss": Field(N_("Loss"), N_("what is optimised (what is reported is always the per-image -ELBO)"),
                  choices={"elbo": N_("ELBO (sums: the true objective)"),
                           "tutorial": N_("Tutorial (means: KL over-weighted)")}),
    "beta": Field(N_("β (KL weight)"), N_("weight of the KL term in the loss"), 0.0, 100.0, 0.1),
    "arch": Field(N_("Architecture"), N_("dense layers, as the seed tutorial, or convolutions"),
                  choices={"dense": N_("Dense (as the seed)"), "conv": N_("Convolutional")}),
    "model": Field(N_("Model"), N_("a VAE, or a plain autoencoder of the same size (no sampling, no KL)"),
                   choices={"vae": N_("Variational autoencoder"), "ae": N_("Plain autoencoder")}),
    "seed": Field(N_("Seed"), N_("random seed: the same seed and settings train the same model"), 0, 2**31 - 1),
    "train_subset": Field(N_("Training images"), N_("train on the first N images only (fewer train faster)"), 1,
                          MNIST_TRAIN_SIZE, 1000),
    "dataset": Field(N_("Data set"), N_("the images it learns from (both have 60 000 to train on, 10 000 to test, "
                                        "28 x 28 pixels, 10 classes)"),
                     choices={"mnist": N_("MNIST (handwritten digits)"),
                              "fashion-mnist": N_("Fashion-MNIST (clothes and shoes)")}),
    "condition": Field(N_("Label given to the model"), N_("a conditional VAE is told each image's class, in its "
                       "encoder and its decoder: its code then keeps the style, and it draws any class asked for"),
                       choices={"none": N_("None (learns from the images alone)"),
                                "label": N_("The class (a conditional VAE)")}),
}
INT_RANGES = {name: (f.low, f.high) for name, f in FIELDS.items() if f.low is not None and not f.is_float}
FLOAT_RANGES = {name: (f.low, f.high) for name, f in FIELDS.items() if f.is_float}
CHOICES = {name: tuple(f.choices) for name, f in FIELDS.items() if f.choices}
OPTIMIZERS, LOSSES, ARCHS, MODELS, SCHEDULES = (CHOICES[name] for name in ("optimizer", "loss", "arch", "model",
                                                                               "schedule"))
CLASSES = 10  # of every data set here: what a conditional model's one-hot label holds

# TrainConfig.describe()'s words: the kind of model (model, conditional) around its architecture's word,
# in an order the translation may change.
MODEL_KINDS = {
    ("vae", False): N_("{arch} VAE"),
    ("vae", True): N_("{arch} conditional VAE"),
    ("ae", False): N_("{arch} autoencoder"),
    ("ae", True): N_("{arch} conditional autoencoder"),
}
ARCH_WORDS = {"dense": N_("dense"), "conv": N_("conv")}


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
                raise ConfigError(name, _("must be a whole number from {low} to {high}, got {value!r}").format(
                    low=low, high=high, value=value))
            if not low <= value <= high:
                raise ConfigError(name, _("must be from {low} to {high}, got {value}").format(
                    low=low, high=high, value=value))
        for name, (low, high) in FLOAT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(name, _("must be a number from {low:g} to {high:g}, got {value!r}").format(
                    low=low, high=high, value=value))
            if not math.isfinite(value) or not low <= value <= high:
                raise ConfigError(name, _("must be from {low:g} to {high:g}, got {value!r}").format(
                    low=low, high=high, value=value))
            object.__setattr__(self, name, float(value))
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(name, _("must be one of {choices}, got {value!r}").format(
                    choices=", ".join(allowed), value=value))
        if self.conditional and self.arch != "dense":
            # The label joins the first dense layer's input, which only the dense encoder has.
            raise ConfigError("condition", _("a conditional model is built of dense layers: choose the dense "
                                             "architecture"))

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
            raise ConfigError("config", _("must be a JSON object, got {type}").format(type=type(values).__name__))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(unknown[0], _("unknown setting (known: {known})").format(known=", ".join(sorted(known))))
        # Runs saved before schedules existed trained at a constant rate.
        return cls(**{"schedule": "constant", **values})

    def describe(self) -> str:
        """"dense VAE, latent 2, 10 epochs", in the language of whoever reads it."""
        kind = _(MODEL_KINDS[self.model, self.conditional]).format(arch=_(ARCH_WORDS[self.arch]))
        # The English says "epochs" whatever the number; a translation may say its singular for 1.
        text = ngettext("{kind}, latent {latent_dim}, {epochs} epochs", "{kind}, latent {latent_dim}, {epochs} epochs",
                        self.epochs).format(kind=kind, latent_dim=self.latent_dim, epochs=self.epochs)
        if self.dataset == "mnist":
            return text
        # The data set's own name (the choice's label is English as written: N_ returns it unchanged).
        dataset = FIELDS["dataset"].choices[self.dataset].split(" (")[0]
        return _("{description}, on {dataset}").format(description=text, dataset=dataset)


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

# A preset's name in a line of text (a run's summary); its key stays the identifier (`--preset conv`).
PRESET_WORDS = {"default": N_("default"), "tutorial": N_("tutorial"), "autoencoder": N_("autoencoder"),
                "latent16": "latent16", "conv": "conv", "conditional": N_("conditional")}


def preset_word(name: str) -> str:
    """A preset's name as a person reads it, in the session's language (an unknown one as it is)."""
    return _(PRESET_WORDS[name]) if name in PRESET_WORDS else name


PRESET_DESCRIPTIONS = {  # marked with N_: shown through _ (the Train page)
    "default": N_("The seed's network (784-256-2) trained on the true ELBO; the recommended start."),
    "tutorial": N_("The seed recipe exactly. Its averaged loss weights the KL ~392x too heavily "
                   "for a 2-D latent space, so the encoder collapses to the prior and digits blur together."),
    "autoencoder": N_("A plain autoencoder of the same size: no sampling, no KL. It reconstructs "
                      "better, but its latent space has gaps where nothing sensible is generated."),
    "latent16": N_("The default with a 16-D latent space: sharper reconstructions, lower -ELBO."),
    "conv": N_("Convolutional encoder and decoder with the default's 2-D latent space."),
    "conditional": N_("The default's network told each image's class (a conditional VAE; learning rate 0.01): its "
                      "2-D code keeps only the style, and it draws any class you ask for in that style."),
}


def preset(name: str) -> TrainConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError("preset", _("unknown preset {name!r}; choose one of {presets}").format(
            name=name, presets=", ".join(PRESETS))) from None
