"""Fashion-MNIST, loaded as carefully as MNIST: Debian's idx files checked by their content, cached,
and every way it can be absent or damaged one sentence naming what to install; the CLI trains and
evaluates on it and names its classes."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pytest

from vae import fashion_mnist
from vae.cli import main
from vae.datasets import DATASETS, FASHION_MNIST, load_dataset
from vae.errors import DataError
from vae.fashion_mnist import IDX_FILES, load_fashion_mnist

DEBIAN = fashion_mnist.DEBIAN_FOLDER


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """No Latent Lab cache and no Keras cache: only the Debian folder, as a fresh machine has."""
    monkeypatch.setenv("LATENT_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("LATENT_LAB_FASHION_MNIST", raising=False)
    return tmp_path


def copy_of_debian(folder):
    folder.mkdir()
    for file in IDX_FILES.values():
        shutil.copy(DEBIAN / file, folder / file)
    return folder


def rewrite(path, change) -> None:
    raw = bytearray(gzip.decompress(path.read_bytes()))
    change(raw)
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=1))  # the training images at level 9: ~20 s


def test_debian_files_load_as_fashion_mnist_and_the_second_load_reads_the_cache(elsewhere):
    data = load_dataset("fashion-mnist")
    assert data.source.startswith("Debian's dataset-fashion-mnist")
    assert data.x_train.shape == (60_000, 784) and data.x_test.shape == (10_000, 784)
    assert data.x_test.dtype == np.float32 and data.x_test.min() == 0 and data.x_test.max() == 1
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    assert [FASHION_MNIST.class_name(label) for label in data.y_test[:3]] == ["Ankle boot", "Pullover", "Trouser"]
    again = load_fashion_mnist(with_training_set=False)
    assert again.source.startswith("the Latent Lab cache") and len(again.x_train) == 0
    assert np.array_equal(again.x_test, data.x_test)


def test_absent_everywhere_is_one_sentence_with_the_install_command(elsewhere, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", elsewhere / "not-installed")
    with pytest.raises(DataError) as error:
        load_dataset("fashion-mnist")
    message = str(error.value)
    assert message.startswith("Fashion-MNIST could not be loaded from any source")
    assert "sudo apt install dataset-fashion-mnist" in message and "LATENT_LAB_FASHION_MNIST" in message
    assert "\n" not in message


@pytest.mark.parametrize(("damage", "said"), [
    (lambda folder: (folder / IDX_FILES["x_test"]).write_bytes(b"\x1f\x8b\x08 cut short"), "cannot be read"),
    (lambda folder: rewrite(folder / IDX_FILES["y_test"], lambda raw: raw.__setitem__(2, 0x0D)), "not an idx file"),
    (lambda folder: rewrite(folder / IDX_FILES["x_test"], lambda raw: raw.__setitem__(500, raw[500] ^ 1)),
     "checksum mismatch"),
    (lambda folder: rewrite(folder / IDX_FILES["x_train"], lambda raw: raw.extend(b"\0" * 784)),
     "where its header says"),
    (lambda folder: (folder / IDX_FILES["y_train"]).unlink(), "cannot be read"),
])
def test_a_damaged_folder_named_by_the_person_is_refused_in_one_sentence(elsewhere, monkeypatch, damage, said):
    folder = copy_of_debian(elsewhere / "mine")
    damage(folder)
    monkeypatch.setenv("LATENT_LAB_FASHION_MNIST", str(folder))
    with pytest.raises(DataError, match=said):
        load_dataset("fashion-mnist")


def test_a_damaged_cache_is_passed_over_and_written_again(elsewhere):
    cache = elsewhere / "cache" / "fashion-mnist.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"not a zip file")
    assert load_dataset("fashion-mnist", with_training_set=False).source.startswith("Debian's")
    assert load_dataset("fashion-mnist", with_training_set=False).source.startswith("the Latent Lab cache")


def test_the_cli_trains_and_evaluates_on_fashion_mnist_and_names_its_classes(elsewhere, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    tiny = ["--epochs", "1", "--hidden-dim", "16", "--train-subset", "512", "--dataset", "fashion-mnist"]
    assert main(["train", *tiny, "--name", "clothes", "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert "on Fashion-MNIST" in out and out.strip().endswith("Saved run: clothes")
    assert main(["evaluate", "clothes", "--runs-dir", str(runs_dir), "--json", "--iw-samples", "2"]) == 0
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["dataset"] == "fashion-mnist" and len(figures["per_class_sse"]) == 10
    assert "  Ankle boot: " in out and "by item" in out
    saved = json.loads((runs_dir / "clothes" / "config.json").read_text())
    assert saved["dataset"] == "fashion-mnist"


def test_mnists_file_is_not_taken_for_fashion_mnist(capsys):
    assert main(["train", "--dataset", "fashion-mnist", "--mnist", "x.npz"]) == 2
    assert "LATENT_LAB_FASHION_MNIST" in capsys.readouterr().err


def test_every_data_set_has_ten_class_names():
    assert {name: len(dataset.class_names) for name, dataset in DATASETS.items()} == {"mnist": 10, "fashion-mnist": 10}
