"""Fashion-MNIST on every page (AppTest): a run trained on it is shown with its own test images and
its classes' names (T-shirt/top … Ankle boot), beside MNIST runs without mixing them up; the Train
page trains on it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import TINY
from tests.test_pages import (  # noqa: F401  (app_env: autouse fixture)
    app_env,
    copy_runs,
    open_app,
    start_button,
    train_tiny_from_the_page,
)
from ui.blob import read_blob
from vae.datasets import FASHION_MNIST, load_dataset
from vae.runs import list_runs
from vae.training.lab import train_and_save

CLOTHES = TINY.replace(epochs=1, dataset="fashion-mnist")


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory, mnist, mnist_cache_dir, monkeypatch_module):
    """A tiny run on each data set: "clothes" on Fashion-MNIST, "vae2" on MNIST."""
    monkeypatch_module.setenv("LATENT_LAB_CACHE", str(mnist_cache_dir))
    folder = tmp_path_factory.mktemp("fashion-runs")
    train_and_save(CLOTHES, load_dataset("fashion-mnist").subset(512), folder, "clothes", "default")
    train_and_save(TINY.replace(epochs=1), mnist.subset(512), folder, "vae2", "default")
    return folder


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_explorer_compare_and_errors_pages_name_the_runs_classes(runs_dir, fashion_run):
    copy_runs(fashion_run, runs_dir, "clothes")
    at = open_app("pages/explorer.py")
    assert not at.exception, at.exception
    assert at.selectbox(key="posterior_digit").label == "Item"
    assert at.selectbox(key="posterior_digit").options == list(FASHION_MNIST.class_names)
    captions = "\n".join(image.proto.imgs[0].caption for image in at.image)
    assert "test image 19 (a T-shirt/top) and its reconstruction" in captions  # the first T-shirt/top
    assert "3×3 items decoded" in captions
    assert "steps from image 0 (an Ankle boot) → image 1 (a Pullover)" in captions
    from ui import state

    header, _ = read_blob(state.map_payload(list_runs(runs_dir).runs[0]))
    assert header["classes"] == list(FASHION_MNIST.class_names)  # the browser's legend

    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    at.radio(key="compare_mode").set_value("Worst of each class").run()
    table = at.dataframe[0].value
    assert list(table["item"]) == list(FASHION_MNIST.class_names)

    at.switch_page("pages/reconstruction.py").run()
    assert not at.exception, at.exception
    errors = at.dataframe[0].value
    assert list(errors.index) == [*FASHION_MNIST.class_names, "all items"]
    saved = json.loads((runs_dir / "clothes" / "metrics.json").read_text())
    assert errors["clothes"]["Ankle boot"] == pytest.approx(saved["per_class_sse"][9])


def test_compare_runs_keeps_each_runs_data_set_and_the_errors_page_does_not_mix_them(runs_dir, fashion_run):
    copy_runs(fashion_run, runs_dir, "clothes", "vae2")
    at = open_app("pages/runs.py")
    at.multiselect(key="runs_compared").set_value(["clothes", "vae2"]).run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["data set"]) == ["Fashion-MNIST", "MNIST"]
    assert list(at.dataframe[1].value["data set"]) == ["Fashion-MNIST", "MNIST"]

    at.switch_page("pages/reconstruction.py").run()
    at.multiselect(key="compare_runs").set_value(["clothes", "vae2"]).run()
    assert not at.exception, at.exception
    assert any("trained on MNIST, not Fashion-MNIST; it is left out" in w.value for w in at.warning)
    assert list(at.dataframe[0].value.columns) == ["clothes"]


def test_the_lesson_and_the_class_map_speak_of_items(runs_dir, fashion_run):
    copy_runs(fashion_run, runs_dir, "clothes")
    at = open_app("pages/lesson.py")
    assert not at.exception, at.exception
    assert "Ankle boot, Pullover, Trouser" in "\n".join(image.proto.imgs[0].caption for image in at.image)
    at.switch_page("pages/class_map.py").run()
    assert not at.exception, at.exception
    pills = [e for e in at.get("button_group") if "did you draw" in str(e.proto)]
    assert pills and "Which item did you draw?" in str(pills[0].proto) and "Ankle boot" in str(pills[0].proto)


def test_the_train_page_trains_on_fashion_mnist(runs_dir):
    at = open_app("pages/train.py")
    assert at.selectbox(key="train_dataset").options == ["MNIST (handwritten digits)",
                                                          "Fashion-MNIST (clothes and shoes)"]
    at.selectbox(key="train_dataset").set_value("fashion-mnist").run()
    at.selectbox(key="train_preset").set_value("tutorial").run()  # another preset keeps the data set
    assert at.selectbox(key="train_dataset").value == "fashion-mnist"
    config = train_tiny_from_the_page(at, runs_dir, "wardrobe")
    assert config["dataset"] == "fashion-mnist" and config["loss"] == "tutorial"
    # The training process took Fashion-MNIST's images, not the MNIST it holds loaded (config.json is
    # the job's, whatever it trained on): the test images it encoded are Fashion-MNIST's.
    from vae import runs

    run = runs.read_summary(runs_dir / "wardrobe")
    encoder, _ = runs.load_numpy_models(run)
    x_test = load_dataset("fashion-mnist").x_test
    saved = runs.load_test_encodings(run, len(x_test))
    np.testing.assert_allclose(saved[:200], encoder(x_test[:200])[0], atol=1e-4)


def test_fashion_mnist_absent_is_said_on_the_train_page_before_anything_is_queued(runs_dir, tmp_path, monkeypatch):
    from ui import state

    monkeypatch.setenv("LATENT_LAB_FASHION_MNIST", str(tmp_path / "nowhere"))
    state.test_set.clear()  # a server started where it is absent (the tests before loaded it in this process)
    at = open_app("pages/train.py")
    at.selectbox(key="train_dataset").set_value("fashion-mnist").run()
    start_button(at).click().run()
    assert not at.exception
    assert "Fashion-MNIST could not be loaded from the folder LATENT_LAB_FASHION_MNIST names" in at.error[0].value
    from ui import training

    assert training.training_queue().snapshots(active_only=True) == []
