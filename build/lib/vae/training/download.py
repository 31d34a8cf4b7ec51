"""MNIST from the internet, through Keras, as a last resort (vae.data tries every offline source
first). Only processes that may import TensorFlow pass this to vae.data.load_mnist."""

from __future__ import annotations

import keras
import numpy as np

from vae.data import check_mnist_arrays
from vae.errors import DataError


def download_mnist() -> dict[str, np.ndarray]:
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # noqa: BLE001 - no internet, a proxy, a half download: one sentence
        raise DataError(f"download failed: {type(error).__name__}") from None
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    check_mnist_arrays(arrays, "the Keras download")
    return arrays
