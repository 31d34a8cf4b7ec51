"""The data sets a run can be trained on, what their classes are called, and one way to load each.

A run's config names its data set (TrainConfig.dataset); every page, the CLI and the training
process load the test (and training) images through `load_dataset` and name classes through
`DATASETS[name]`, so nothing downstream assumes digits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae.data import MnistData, load_mnist
from vae.fashion_mnist import load_fashion_mnist


@dataclass(frozen=True)
class DataSet:
    name: str  # as in config.json and on the command line
    title: str  # as a person reads it
    class_names: tuple[str, ...]  # label -> name
    item: str  # what one image shows: "digit", "item"
    marks: tuple[str, ...]  # a class as one or two letters, where a dot on a map carries it

    def class_name(self, label: int) -> str:
        return self.class_names[int(label)]

    def a(self, label: int) -> str:
        """'a 7', 'an Ankle boot': a class named in a sentence."""
        name = self.class_name(label)
        return f"{'an' if name[0].lower() in 'aeiou8' else 'a'} {name}"


DIGITS = tuple(str(digit) for digit in range(10))
MNIST = DataSet("mnist", "MNIST", DIGITS, "digit", DIGITS)
FASHION_MNIST = DataSet("fashion-mnist", "Fashion-MNIST", (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"), "item",
    ("T", "Tr", "Pu", "Dr", "Co", "Sa", "Sh", "Sn", "Ba", "AB"))
DATASETS = {dataset.name: dataset for dataset in (MNIST, FASHION_MNIST)}


def load_dataset(name: str, with_training_set: bool = True, download=None,
                 path: str | Path | None = None) -> MnistData:
    """The named data set, offline as each loader allows; `path` is MNIST's npz file or
    Fashion-MNIST's folder of idx files, when the person names one. DataError if it cannot load."""
    if name == FASHION_MNIST.name:
        return load_fashion_mnist(path, with_training_set=with_training_set, download=download)
    return load_mnist(path, with_training_set=with_training_set, download=download)
