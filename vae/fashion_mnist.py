"""Fashion-MNIST without the internet: the Latent Lab cache, Debian's `dataset-fashion-mnist` (its
four idx files in /usr/share/datasets/fashion-mnist, or a folder named in LATENT_LAB_FASHION_MNIST),
the Keras cache, or a Keras download, in that order. Checked as MNIST is: shapes, types, and a
checksum of the pixels and labels themselves (Debian recompressed the upstream files, so the files'
own checksums differ; their content does not). Converted once, then cached as `fashion-mnist.npz`."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from vae import data
from vae.data import EXPECTED_SHAPES, MnistData
from vae.errors import DataError
from vae.i18n import N_, _
from vae.settings import FASHION_MNIST, settings

# sha256 of the raw uint8 arrays x_train, y_train, x_test, y_test concatenated (vae.data.content_sha256).
FASHION_CONTENT_SHA256 = "ca3ab2a37f845e1b8ae23cab1b51749a3011ba3bf1d9016176d75cbaabac376f"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")  # where `apt install dataset-fashion-mnist` puts it
IDX_UBYTE = 0x08  # the idx format's code for unsigned bytes
MAX_IDX_BYTES = 60_000 * 784 + 16  # the largest file, unpacked: nothing bigger is read
INSTALL_HINT = N_("Install it with `sudo apt install dataset-fashion-mnist` (Debian and Ubuntu), or set "
                 "{variable} to a folder holding its four idx files ({files}).")  # install_hint() fills it in


def install_hint() -> str:
    return _(INSTALL_HINT).format(variable=FASHION_MNIST, files=", ".join(IDX_FILES.values()))


def load_fashion_mnist(folder: str | Path | None = None, cache_dir: str | Path | None = None,
                       with_training_set: bool = True, download=None) -> MnistData:
    """Fashion-MNIST as vae.data.load_mnist gives MNIST: float32 images in [0, 1], shaped (n, 784).
    `download` (vae.training.download.download_fashion_mnist) is passed only by processes that may
    import TensorFlow."""
    explicit = folder or settings().fashion_mnist_dir
    if explicit:  # a folder the person named is the only source: falling back would hide their mistake
        try:
            arrays = read_idx_folder(Path(explicit))
        except DataError as error:
            raise DataError(_("Fashion-MNIST could not be loaded from the folder {variable} names: {error}").format(
                variable=FASHION_MNIST, error=error)) from None
        return data.to_float(arrays, f"folder {explicit}", with_training_set)
    cache_file = Path(cache_dir or data.default_cache_dir()) / "fashion-mnist.npz"
    return data.load_first_source("Fashion-MNIST", _sources(cache_file, download), cache_file, with_training_set,
                                  install_hint())


def _sources(cache_file: Path, download):
    yield N_("the Latent Lab cache {place}"), cache_file, cache_file if cache_file.is_file() else None, read_fashion_npz
    for name, folder in ((N_("Debian's dataset-fashion-mnist {place}"), DEBIAN_FOLDER),
                         (N_("the Keras cache {place}"), settings().keras_cache_file.parent / "fashion-mnist")):
        present = all((folder / file).is_file() for file in IDX_FILES.values())
        yield name, folder, folder if present else None, read_idx_folder
    if download is not None:
        yield N_("a Keras download"), "", "keras", lambda _location: download()


def read_fashion_npz(path: Path) -> dict[str, np.ndarray]:
    arrays = data.read_npz_arrays(path)
    check_fashion_arrays(arrays, str(path))
    return arrays


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """The four idx files of a folder as uint8 arrays, checked to be exactly Fashion-MNIST."""
    if not folder.is_dir():
        raise DataError(_("{folder} is not a folder").format(folder=folder))
    arrays = {key: read_idx(folder / file, len(EXPECTED_SHAPES[key])) for key, file in IDX_FILES.items()}
    check_fashion_arrays(arrays, str(folder))
    return arrays


def read_idx(path: Path, dimensions: int) -> np.ndarray:
    """One gzipped idx file (a magic number, the dimensions, then the bytes), of unsigned bytes."""
    try:
        with gzip.open(path) as stream:
            raw = stream.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(_("{path} cannot be read as a gzipped idx file ({error})").format(
            path=path, error=error)) from None
    header = 4 + 4 * dimensions
    if len(raw) < header or raw[:2] != b"\0\0" or raw[2] != IDX_UBYTE or raw[3] != dimensions:
        raise DataError(_("{path} is not an idx file of unsigned bytes in {dimensions} dimensions").format(
            path=path, dimensions=dimensions))
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    if len(raw) - header != int(np.prod(shape)):
        raise DataError(_("{path} holds {count} bytes where its header says {shape}").format(
            path=path, count=len(raw) - header, shape=shape))
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def check_fashion_arrays(arrays: dict[str, np.ndarray], where: str) -> None:
    for key, shape in EXPECTED_SHAPES.items():
        if key not in arrays:
            raise DataError(_("{where} has no array {key!r}").format(where=where, key=key))
        if arrays[key].shape != shape or arrays[key].dtype != np.uint8:
            raise DataError(_("{where}: {key} is {dtype} {shape}, expected uint8 {expected}").format(
                where=where, key=key, dtype=arrays[key].dtype, shape=arrays[key].shape, expected=shape))
    if data.content_sha256(arrays) != FASHION_CONTENT_SHA256:
        raise DataError(_("{where} has the right shapes but not Fashion-MNIST's pixels and labels (checksum "
                          "mismatch)").format(where=where))
