"""The conditional VAE (preset `conditional`): the label into encoder and decoder, checked against a
numpy reference; a label folded into the first layer is the same model; its evaluation is given each
image's label; every page shows a conditional run, and the explorer draws the class picked."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import TINY
from tests.test_pages import PAGES, app_env, component_data, copy_runs, open_app, point_data, release_point  # noqa: F401  (app_env: autouse)
from ui.latent_map import weight_grid
from ui.latent_map.pack import pack_decoder
from vae import evaluate
from vae.config import CLASSES, PRESETS, TrainConfig
from vae.errors import ConfigError
from vae.evaluate import decode, encode, iw_neg_log_likelihood, neg_elbo
from vae.numpy_model import given_label, model_arrays, model_from_arrays, with_labels
from vae.training.lab import train_and_save
from vae.training.loop import train

CONDITIONAL = TINY.replace(epochs=1, condition="label")


@pytest.fixture(scope="module")
def trained(small_data):
    return train(CONDITIONAL, small_data)


def test_the_preset_is_the_default_told_the_class_and_only_dense():
    assert PRESETS["conditional"] == PRESETS["default"].replace(condition="label", learning_rate=1e-2)
    assert PRESETS["conditional"].label_inputs == CLASSES and PRESETS["default"].label_inputs == 0
    with pytest.raises(ConfigError, match="dense"):
        TrainConfig(condition="label", arch="conv")
    with pytest.raises(ConfigError, match="condition"):
        TrainConfig(condition="digit")
    saved_before = {k: v for k, v in TrainConfig().to_dict().items() if k != "condition"}
    assert TrainConfig.from_dict(saved_before).condition == "none"  # runs saved before it existed


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_the_keras_model_is_the_label_concatenated_into_both_networks(trained):
    """A numpy reference of the conditional VAE, from the layers' own weights: x | one-hot(y) ->
    relu -> (z_mean, z_log_var); z | one-hot(y) -> relu -> sigmoid."""
    x, labels = np.random.default_rng(0).random((6, 784), dtype=np.float32), np.array([0, 3, 3, 7, 9, 1])
    one_hot = np.eye(CLASSES, dtype=np.float32)[labels]
    (k1, b1), (km, bm), (kv, bv) = (layer.get_weights() for layer in trained.encoder.layers[1:])
    hidden = relu(np.concatenate([x, one_hot], axis=1) @ k1 + b1)
    z_mean = np.asarray(trained.encoder(with_labels(x, labels, CLASSES))[0])
    np.testing.assert_allclose(z_mean, hidden @ km + bm, atol=1e-4)
    (d1, c1), (d2, c2) = (layer.get_weights() for layer in trained.decoder.layers[1:])
    expected = sigmoid(relu(np.concatenate([z_mean, one_hot], axis=1) @ d1 + c1) @ d2 + c2)
    np.testing.assert_allclose(decode(trained.decoder, z_mean, labels), expected, atol=1e-4)
    # The label matters: the same code drawn as two classes differs.
    assert np.abs(decode(trained.decoder, z_mean[:1], [0]) - decode(trained.decoder, z_mean[:1], [1])).max() > 1e-3


def test_a_label_folded_into_the_first_layer_is_the_same_model(trained):
    encoder = model_from_arrays(model_arrays(trained.encoder, "encoder"), "encoder")
    decoder = model_from_arrays(model_arrays(trained.decoder, "decoder"), "decoder")
    rng = np.random.default_rng(1)
    z, x = rng.standard_normal((5, 2)).astype(np.float32), rng.random((5, 784), dtype=np.float32)
    for label in range(CLASSES):
        folded = given_label(decoder, label, CLASSES)
        assert folded.input_dim == 2
        np.testing.assert_allclose(folded(z), decoder(with_labels(z, label, CLASSES)), atol=1e-6)
        np.testing.assert_allclose(folded(z), np.asarray(trained.decoder(with_labels(z, label, CLASSES))), atol=1e-5)
        np.testing.assert_allclose(given_label(encoder, label, CLASSES)(x)[0],
                                   encoder(with_labels(x, label, CLASSES))[0], atol=1e-5)
    with pytest.raises(ValueError):
        given_label(decoder, CLASSES, CLASSES)
    assert given_label(decoder, 3, 0) is decoder  # an unconditional model is given nothing


def test_its_figures_are_given_each_images_label(trained, small_data):
    x, y = small_data.x_test[:200], small_data.y_test[:200]
    metrics = evaluate.test_metrics(trained.encoder, trained.decoder, CONDITIONAL, x, y)
    assert metrics["test_neg_elbo"] == pytest.approx(
        neg_elbo(trained.encoder, trained.decoder, x, seed=CONDITIONAL.seed, given=y)["neg_elbo"])
    wrong = neg_elbo(trained.encoder, trained.decoder, x, seed=CONDITIONAL.seed, given=(y + 1) % CLASSES)
    assert wrong["neg_elbo"] > metrics["test_neg_elbo"]  # told the wrong class, it explains the images worse
    bound = iw_neg_log_likelihood(trained.encoder, trained.decoder, x, 20, seed=0, given=y)
    assert bound <= metrics["test_neg_elbo"] + 1.0
    z_mean = encode(trained.encoder, x, y)[0]
    assert z_mean.shape == (200, 2)


@pytest.fixture(scope="module")
def conditional_runs(tmp_path_factory, mnist, mnist_cache_dir):
    folder = tmp_path_factory.mktemp("conditional-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LATENT_LAB_CACHE", str(mnist_cache_dir))
        train_and_save(CONDITIONAL, mnist.subset(512), folder, "told", "conditional")
    return folder


@pytest.mark.parametrize("page", [page for page in PAGES if page != "pages/classroom.py"])
def test_every_page_shows_a_conditional_run(runs_dir, conditional_runs, page):
    copy_runs(conditional_runs, runs_dir, "told")
    at = open_app(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    # The run is read and drawn, not skipped (the page would then offer a first training instead).
    assert not any("no trained model yet" in info.value for info in at.info), [info.value for info in at.info]


def test_the_explorer_draws_the_class_picked_beside_the_map(runs_dir, conditional_runs):
    from ui import state
    from vae.runs import list_runs

    copy_runs(conditional_runs, runs_dir, "told")
    run = list_runs(runs_dir).runs[0]
    at = open_app("pages/explorer.py")
    assert at.selectbox(key="class_picker").value == 0
    assert any("by their style" in info.value for info in at.info)
    captions = [image.proto.imgs[0].caption for image in at.image]
    assert "this style as every digit" in captions

    raw = state.models(run)[1]
    assert weights_sent(at, "latent-map-told") == pytest.approx(folded_weights(raw, 0), abs=weights_step(at))
    at.selectbox(key="class_picker").set_value(7).run()
    assert not at.exception, at.exception
    assert at.session_state[state.SHOWN_CLASS] == 7
    # The browser gets the decoder of a 7: the saved decoder with the label 7 folded in, as the page
    # sent it (within its weights' rounding), no longer a 0's.
    header = component_data(at, "latent-map-told")
    assert header["shown_class"] == 7 and header["decoder"]["input_dim"] == 2
    sent, step = weights_sent(at, "latent-map-told"), weights_step(at)
    assert sent == pytest.approx(folded_weights(raw, 7), abs=step)
    assert np.abs(sent - folded_weights(raw, 0)).max() > 2 * step
    z = np.array([[0.5, -1.0]], np.float32)
    folded = given_label(raw, 7, CLASSES)
    np.testing.assert_allclose(folded(z), raw(with_labels(z, 7, CLASSES)), atol=1e-6)


def folded_weights(decoder, label: int) -> np.ndarray:
    """The flat weights the browser would run for `decoder` drawing class `label`."""
    return pack_decoder(given_label(decoder, label, CLASSES))["weights"]


def weights_sent(at, key: str) -> np.ndarray:
    """The decoder's flat weights in the map's payload, as the browser reads them."""
    from tests.test_pages import component_bytes
    from ui.latent_map.pack import read_map_payload

    header, arrays = read_map_payload(component_bytes(at, key))
    if header.get("codes") is None:
        return arrays["weights"].astype(np.float32)
    codes = header["codes"]
    return weight_grid.unpack_codes(arrays["weight_codes"].tobytes(), codes["count"]) * np.float32(codes["step"])


def weights_step(at, key: str = "latent-map-told") -> float:
    """How far a sent weight may be from float32's: half the grid's step, or float16's rounding."""
    codes = component_data(at, key).get("codes")
    return codes["step"] / 2 + 1e-6 if codes else 2e-3


def test_its_sliders_tell_python_every_gesture_for_the_style_drawn_as_every_class(runs_dir, conditional_runs):
    copy_runs(conditional_runs, runs_dir, "told")
    at = open_app("pages/explorer.py")
    assert point_data(at, "told")["report"] is True
    style = next(image for image in at.image if image.proto.imgs[0].caption == "this style as every digit")
    release_point(at, "told", [3.0, 3.0])
    assert not at.exception, at.exception
    after = next(image for image in at.image if image.proto.imgs[0].caption == "this style as every digit")
    assert after.proto.imgs[0].url != style.proto.imgs[0].url


def test_the_class_map_places_a_drawing_with_the_class_its_author_named(trained, small_data):
    from vae.classroom.board import Drawing, place

    encoder = model_from_arrays(model_arrays(trained.encoder, "encoder"), "encoder")
    image = np.round(small_data.x_test[0] * 255).astype(np.uint8).tobytes()
    drawings = [Drawing(1, "a", "Ada", 3, image), Drawing(2, "b", "Bob", 8, image)]  # one image, two names
    z_test, labels = np.zeros((10, 2), np.float32), np.arange(10)
    placed = place(drawings, encoder, z_test, labels, CLASSES)
    pixels = drawings[0].pixels[None, :]
    for placement, named in zip(placed, (3, 8), strict=True):
        np.testing.assert_allclose(placement.z, encoder(with_labels(pixels, named, CLASSES))[0][0], atol=1e-6)
        assert placement.cluster == named and not placement.surprise  # a map of style has no clusters of classes
    assert np.abs(placed[0].z - placed[1].z).max() > 1e-4  # told another class, the same ink has another style


def test_its_live_snapshots_carry_a_decoder_of_the_shown_class(small_data):
    from vae.snapshots import SHOWN_CLASS

    taken = []

    class Watcher:
        def on_batch(self, progress): ...

        def on_epoch(self, summary): ...

        def on_snapshot(self, snapshot):
            taken.append(snapshot)

    result = train(CONDITIONAL, small_data, [Watcher()], live_seconds=0.0)
    live = [snapshot for snapshot in taken if snapshot.decoder is not None]
    assert live, "no snapshot carried a decoder"
    raw = model_from_arrays(model_arrays(result.decoder, "decoder"), "decoder")
    z = np.array([[0.3, -0.7]], np.float32)
    last = live[-1]
    assert last.decoder.input_dim == 2  # a plain decoder the browser runs
    np.testing.assert_allclose(last.decoder(z), raw(with_labels(z, SHOWN_CLASS, CLASSES)), atol=1e-5)
    assert last.z.shape[1] == 2 and last.grid.shape == (100, 784)


def test_a_conditional_fashion_run_picks_among_its_own_classes(runs_dir):
    from ui import state
    from vae.datasets import FASHION_MNIST, load_dataset
    from vae.runs import list_runs

    train_and_save(CONDITIONAL.replace(dataset="fashion-mnist"), load_dataset("fashion-mnist").subset(512), runs_dir,
                   "told-clothes", "conditional")
    at = open_app("pages/explorer.py")
    picker = at.selectbox(key="class_picker")
    assert picker.label == "Item to draw" and picker.options == list(FASHION_MNIST.class_names)
    picker.set_value(9).run()  # ankle boots in every style
    assert not at.exception, at.exception
    captions = [image.proto.imgs[0].caption for image in at.image]
    assert "this style as every item" in captions and "3×3 items decoded over [−4, 4]²" in captions
    # The browser gets the decoder of an ankle boot, not a T-shirt's (class 0).
    raw = state.models(list_runs(runs_dir).runs[0])[1]
    sent, step = weights_sent(at, "latent-map-told-clothes"), weights_step(at, "latent-map-told-clothes")
    assert sent == pytest.approx(folded_weights(raw, 9), abs=step)
    assert np.abs(sent - folded_weights(raw, 0)).max() > 2 * step


def test_the_train_page_trains_the_conditional_preset_and_refuses_it_convolutional(runs_dir):
    from tests.test_pages import start_button, train_tiny_from_the_page

    at = open_app("pages/train.py")
    at.selectbox(key="train_preset").set_value("conditional").run()
    assert at.selectbox(key="train_condition").value == "label"
    at.selectbox(key="train_arch").set_value("conv").run()
    start_button(at).click().run()
    assert not at.exception and "Cannot start" in at.error[0].value and "dense" in at.error[0].value
    at.selectbox(key="train_arch").set_value("dense").run()
    config = train_tiny_from_the_page(at, runs_dir, "told-by-page")
    assert config["condition"] == "label" and config["learning_rate"] == 0.01
