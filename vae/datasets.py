"""The data sets a run can be trained on, what their classes are called, and one way to load each.

A run's config names its data set (TrainConfig.dataset); every page, the CLI and the training
process load the test (and training) images through `load_dataset` and name classes through
`DATASETS[name]`, so nothing downstream assumes digits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae.data import MnistData, load_mnist
from vae.fashion_mnist import load_fashion_mnist
from vae.i18n import N_, _


@dataclass(frozen=True)
class DataSet:
    name: str  # as in config.json and on the command line
    title: str  # as a person reads it (a name: the same in every language)
    class_names: tuple[str, ...]  # label -> name, in English: the values widgets and tables keep
    item: str  # what one image shows: "digit", "item" (marked N_; `_(dataset.item)` where shown)
    marks: tuple[str, ...]  # a class as one or two letters, where a dot on a map carries it
    with_article: tuple[str, ...] = ()  # label -> "a Coat", when the class names are words (marked N_)

    def class_name(self, label: int) -> str:
        """The class's name in the session's language ("7", "Ankle boot", "Botín")."""
        name = self.class_names[int(label)]
        return name if name.isdigit() else _(name)

    def shown_class_names(self) -> tuple[str, ...]:
        """Every class's name in the session's language (legends; never a widget's option values)."""
        return tuple(self.class_name(label) for label in range(len(self.class_names)))

    def a(self, label: int) -> str:
        """'a 7', 'an Ankle boot': a class named in a sentence."""
        if self.with_article:
            return _(self.with_article[int(label)])
        name = self.class_name(label)
        return (_("an {name}") if name[0].lower() in "aeiou8" else _("a {name}")).format(name=name)


DIGITS = tuple(str(digit) for digit in range(10))
MNIST = DataSet("mnist", "MNIST", DIGITS, N_("digit"), DIGITS)
FASHION_MNIST = DataSet("fashion-mnist", "Fashion-MNIST", (
    N_("T-shirt/top"), N_("Trouser"), N_("Pullover"), N_("Dress"), N_("Coat"), N_("Sandal"), N_("Shirt"),
    N_("Sneaker"), N_("Bag"), N_("Ankle boot")), N_("item"),
    ("T", "Tr", "Pu", "Dr", "Co", "Sa", "Sh", "Sn", "Ba", "AB"), (
    N_("a T-shirt/top"), N_("a Trouser"), N_("a Pullover"), N_("a Dress"), N_("a Coat"), N_("a Sandal"),
    N_("a Shirt"), N_("a Sneaker"), N_("a Bag"), N_("an Ankle boot")))
DATASETS = {dataset.name: dataset for dataset in (MNIST, FASHION_MNIST)}


def load_dataset(name: str, with_training_set: bool = True, download=None,
                 path: str | Path | None = None) -> MnistData:
    """The named data set, offline as each loader allows; `path` is MNIST's npz file or
    Fashion-MNIST's folder of idx files, when the person names one. DataError if it cannot load."""
    if name == FASHION_MNIST.name:
        return load_fashion_mnist(path, with_training_set=with_training_set, download=download)
    return load_mnist(path, with_training_set=with_training_set, download=download)
