"""MNIST and Fashion-MNIST from the internet, through Keras, as a last resort (vae.data and
vae.fashion_mnist try every offline source first). Only processes that may import TensorFlow pass
these to the loaders (vae.datasets.load_dataset). Keras is imported only when one is called: a
training process imports this module before TensorFlow has loaded (vae.jobs.training_job)."""

from __future__ import annotations

import numpy as np

from vae.data import check_mnist_arrays
from vae.errors import DataError
from vae.fashion_mnist import check_fashion_arrays


def download_mnist() -> dict[str, np.ndarray]:
    arrays = _download("mnist")
    check_mnist_arrays(arrays, "the Keras download")
    return arrays


def download_fashion_mnist() -> dict[str, np.ndarray]:
    arrays = _download("fashion_mnist")
    check_fashion_arrays(arrays, "the Keras download")
    return arrays


DOWNLOADS = {"mnist": download_mnist, "fashion-mnist": download_fashion_mnist}


def _download(dataset: str) -> dict[str, np.ndarray]:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, dataset).load_data()
    except Exception as error:  # noqa: BLE001 - no internet, a proxy, a half download: one sentence
        raise DataError(f"download failed: {type(error).__name__}") from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
