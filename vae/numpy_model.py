"""Saved encoders and decoders run in numpy, so the web server never needs TensorFlow.

A training worker writes each model as plain arrays (`weights.npz`: Keras's own `get_weights()`
per layer, plus a JSON list of the layers) beside the `.keras` files. `NumpyModel` reads that
back and runs the few layer kinds this project builds (Dense, Reshape, Flatten, Conv2D,
Conv2DTranspose; channels last) with the same math as Keras. Pure numpy: thread-safe, and cheap
enough per call (~0.02 ms for one dense digit) for interactive use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vae.array_files import load_npz
from vae.i18n import _

IMAGE_PIXELS = 784
ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "linear": lambda x: x,
}
LAYER_KINDS = ("Dense", "Reshape", "Flatten", "Conv2D", "Conv2DTranspose")
WEIGHTS_FILE = "weights.npz"


class UnsupportedModel(ValueError):
    """A layer or setting that NumpyModel cannot run."""


@dataclass(frozen=True)
class Layer:
    kind: str
    settings: dict = field(default_factory=dict)  # activation, strides, padding, target_shape
    weights: tuple[np.ndarray, ...] = ()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "Dense":
            kernel, bias = self.weights
            y = x @ kernel + bias
        elif self.kind == "Reshape":
            return x.reshape(len(x), *self.settings["target_shape"])
        elif self.kind == "Flatten":
            return x.reshape(len(x), -1)
        elif self.kind == "Conv2D":
            y = conv2d(x, *self.weights, self.settings["strides"], self.settings["padding"])
        else:
            y = conv2d_transpose(x, *self.weights, self.settings["strides"], self.settings["padding"])
        return ACTIVATIONS[self.settings["activation"]](y)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding for a convolution reading `size` pixels: (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, strides, padding: str) -> np.ndarray:
    """Keras Conv2D, channels last. kernel (kh, kw, in, out). One matrix product per kernel tap."""
    (kh, kw, _in_channels, out_channels), (sh, sw) = kernel.shape, strides
    n, h, w, _channels = x.shape
    if padding == "same":
        (top, bottom), (left, right) = _same_padding(h, kh, sh), _same_padding(w, kw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h, out_w = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    y = np.zeros((n, out_h, out_w, out_channels), np.float32)
    for i in range(kh):
        for j in range(kw):
            window = x[:, i : i + (out_h - 1) * sh + 1 : sh, j : j + (out_w - 1) * sw + 1 : sw, :]
            y += window @ kernel[i, j]
    return y + bias


def conv2d_transpose(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, strides, padding: str) -> np.ndarray:
    """Keras Conv2DTranspose, channels last. kernel (kh, kw, out, in). Each input pixel adds its
    kernel-weighted copy to the output, stride apart; "same" then crops to input size x stride,
    dropping what TensorFlow's matching Conv2D would have padded before."""
    (kh, kw, out_channels, _in_channels), (sh, sw) = kernel.shape, strides
    n, h, w, _channels = x.shape
    full = np.zeros((n, (h - 1) * sh + kh, (w - 1) * sw + kw, out_channels), np.float32)
    for i in range(kh):
        for j in range(kw):
            full[:, i : i + (h - 1) * sh + 1 : sh, j : j + (w - 1) * sw + 1 : sw, :] += x @ kernel[i, j].T
    if padding == "same":
        out_h, out_w = h * sh, w * sw
        top, left = _same_padding(out_h, kh, sh)[0], _same_padding(out_w, kw, sw)[0]
        full = full[:, top : top + out_h, left : left + out_w, :]
    return full + bias


class NumpyModel:
    """A trunk of layers, then one head per output (the encoder's z_mean and z_log_var) or none.

    Called like a Keras model: `model(x)` returns an array, or a tuple for several heads."""

    def __init__(self, trunk: list[Layer], heads: list[Layer] | None = None, input_dim: int | None = None):
        self.trunk = trunk
        self.heads = heads or []
        self.input_dim = input_dim

    @property
    def input_shape(self) -> tuple[None, int]:
        return (None, self.input_dim)

    @property
    def latent_dim(self) -> int:
        return self.input_dim

    def __call__(self, x, training: bool = False):
        x = np.asarray(x, np.float32).reshape(-1, self.input_dim)
        with np.errstate(over="ignore"):  # sigmoid of a very negative number is 0, as it should be
            for layer in self.trunk:
                x = layer(x)
            if not self.heads:
                return x
            return tuple(head(x) for head in self.heads)


# --- Conditional models: the one-hot label at the end of the input ------------------------------


def with_labels(values: np.ndarray, labels, classes: int) -> np.ndarray:
    """`values` (n, k) with each row's one-hot label (of `classes`) appended: a conditional
    model's input, (n, k + classes) float32. `classes` 0 leaves them as they are."""
    values = np.asarray(values, np.float32)
    if not classes:
        return values
    labels = np.broadcast_to(np.asarray(labels, np.int64), (len(values),))
    return np.concatenate([values, np.eye(classes, dtype=np.float32)[labels]], axis=1)


def given_label(model: NumpyModel, label: int, classes: int) -> NumpyModel:
    """A conditional model with its label fixed to `label`: a plain model of the rest of its input.
    The label's one-hot meets only the first dense layer, where it adds one row of the kernel, so
    that row joins the bias: the same numbers, one matrix row fewer, and nothing downstream (the
    browser's decoder, the map, every page) needs to know of labels."""
    if not classes:
        return model
    first, *rest = model.trunk
    if first.kind != "Dense" or not 0 <= label < classes:
        raise UnsupportedModel(_("no label {label} for a model whose first layer is a {kind}").format(
            label=label, kind=first.kind))
    kernel, bias = first.weights
    features = model.input_dim - classes
    folded = Layer("Dense", first.settings, (kernel[:features], bias + kernel[features + label]))
    return NumpyModel([folded, *rest], model.heads, features)


# --- Writing (in a worker process, from Keras models) and reading (anywhere) -------------------


def layer_record(layer) -> tuple[dict, list[np.ndarray]]:
    """(JSON-able description, weights) of a built Keras layer; UnsupportedModel otherwise."""
    kind = type(layer).__name__
    if kind not in LAYER_KINDS:
        raise UnsupportedModel(_("layer {layer!r} of type {kind} cannot run in numpy").format(
            layer=layer.name, kind=kind))
    config = layer.get_config()
    settings = {}
    if kind in ("Dense", "Conv2D", "Conv2DTranspose"):
        settings["activation"] = config.get("activation") or "linear"
        if settings["activation"] not in ACTIVATIONS:
            raise UnsupportedModel(_("activation {activation!r} of layer {layer!r}").format(
                activation=settings["activation"], layer=layer.name))
    if kind in ("Conv2D", "Conv2DTranspose"):
        if config.get("data_format", "channels_last") != "channels_last" or tuple(config["dilation_rate"]) != (1, 1):
            raise UnsupportedModel(_("layer {layer!r}: only channels-last, undilated convolutions").format(
                layer=layer.name))
        settings.update(strides=list(config["strides"]), padding=config["padding"])
        if kind == "Conv2DTranspose" and config.get("output_padding"):
            raise UnsupportedModel(_("layer {layer!r}: output_padding is not supported").format(layer=layer.name))
    if kind == "Reshape":
        settings["target_shape"] = list(config["target_shape"])
    return {"kind": kind, "name": layer.name, **settings}, [np.asarray(w, np.float32) for w in layer.get_weights()]


def model_arrays(model, prefix: str) -> dict[str, np.ndarray]:
    """A Keras functional model as named arrays: `<prefix>.layers` (JSON) and one array per weight.
    Layers are kept in the model's order; its output layers become heads when there are several."""
    outputs = model.outputs if isinstance(model.outputs, list) else [model.outputs]
    head_names = [t._keras_history.operation.name for t in outputs] if len(outputs) > 1 else []
    records, arrays = [], {}
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for index, layer in enumerate(layers):
        record, weights = layer_record(layer)
        record["head"] = layer.name in head_names
        records.append(record)
        for w_index, weight in enumerate(weights):
            arrays[f"{prefix}.{index}.{w_index}"] = weight
    arrays[f"{prefix}.layers"] = np.array(json.dumps({"input_dim": int(model.input_shape[-1]), "layers": records}))
    return arrays


def model_from_arrays(arrays, prefix: str) -> NumpyModel:
    """The inverse of model_arrays; ValueError/KeyError on a malformed file."""
    spec = json.loads(str(arrays[f"{prefix}.layers"]))
    trunk, heads = [], []
    for index, record in enumerate(spec["layers"]):
        kind = record["kind"]
        if kind not in LAYER_KINDS:
            raise UnsupportedModel(_("unknown layer kind {kind!r}").format(kind=kind))
        count = 2 if kind in ("Dense", "Conv2D", "Conv2DTranspose") else 0
        with np.errstate(over="ignore"):  # a damaged file's huge numbers become inf: check_shapes runs them
            weights = tuple(np.asarray(arrays[f"{prefix}.{index}.{w}"], np.float32) for w in range(count))
        settings = {k: v for k, v in record.items() if k not in ("kind", "name", "head")}
        _check_settings(kind, settings)
        (heads if record.get("head") else trunk).append(Layer(kind, settings, weights))
    return NumpyModel(trunk, heads, int(spec["input_dim"]))


def _is_small_ints(value, count: int | None, low: int, high: int) -> bool:
    return (isinstance(value, list) and (count is None or len(value) == count) and 0 < len(value) <= 4
            and all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value))


def _check_settings(kind: str, settings: dict) -> None:
    """UnsupportedModel unless a layer's settings are ones this project's models can have."""
    if kind in ("Dense", "Conv2D", "Conv2DTranspose") and settings.get("activation") not in ACTIVATIONS:
        raise UnsupportedModel(_("unknown activation {activation!r}").format(activation=settings.get("activation")))
    if kind in ("Conv2D", "Conv2DTranspose") and (not _is_small_ints(settings.get("strides"), 2, 1, 4)
                                                  or settings.get("padding") not in ("same", "valid")):
        raise UnsupportedModel(_("a {kind} layer with strides {strides!r}").format(
            kind=kind, strides=settings.get("strides")))
    if kind == "Reshape" and not _is_small_ints(settings.get("target_shape"), None, 1, IMAGE_PIXELS * 64):
        raise UnsupportedModel(_("a Reshape to {shape!r}").format(shape=settings.get("target_shape")))


def model_arrays_of(model: NumpyModel, prefix: str) -> dict[str, np.ndarray]:
    """A NumpyModel as the named arrays model_from_arrays reads (to send one to another process)."""
    records, arrays = [], {}
    layers = [(layer, False) for layer in model.trunk] + [(layer, True) for layer in model.heads]
    for index, (layer, head) in enumerate(layers):
        records.append({"kind": layer.kind, **layer.settings, "head": head})
        for w_index, weight in enumerate(layer.weights):
            arrays[f"{prefix}.{index}.{w_index}"] = weight
    arrays[f"{prefix}.layers"] = np.array(json.dumps({"input_dim": model.input_dim, "layers": records}))
    return arrays


def save_weights(path: Path, encoder, decoder) -> None:
    """Write both Keras models' weights as one .npz (no pickles: any numpy can read it)."""
    with open(path, "wb") as handle:
        np.savez(handle, **model_arrays(encoder, "encoder"), **model_arrays(decoder, "decoder"))


def load_weights(path: Path, max_bytes: int) -> tuple[NumpyModel, NumpyModel]:
    """(encoder, decoder) as NumpyModels from a file that unpacks to at most `max_bytes`;
    UnreadableArrays (a ValueError), OSError or KeyError if the file is bad."""
    arrays = load_npz(path, max_bytes)
    return model_from_arrays(arrays, "encoder"), model_from_arrays(arrays, "decoder")


def check_shapes(encoder: NumpyModel, decoder: NumpyModel, latent_dim: int, classes: int = 0) -> None:
    """Run both models once on zeros: ValueError unless the encoder maps 784 pixels to two heads
    of `latent_dim` and the decoder maps those back to 784 pixels (each with a one-hot label of
    `classes` appended, for a conditional model). A file whose weights do not fit its own layers
    (damaged, or edited by hand) is caught here, not in a page."""
    if (encoder.input_dim != IMAGE_PIXELS + classes or decoder.input_dim != latent_dim + classes
            or len(encoder.heads) != 2):
        raise ValueError(_("the models do not map {pixels} pixels to {latent_dim} dimensions and back").format(
            pixels=IMAGE_PIXELS, latent_dim=latent_dim))
    if classes and not all(model.trunk and model.trunk[0].kind == "Dense" for model in (encoder, decoder)):
        raise ValueError(_("a conditional model's label must meet a dense layer first"))
    try:
        with np.errstate(all="ignore"):
            z_mean, z_log_var = encoder(np.zeros((1, IMAGE_PIXELS + classes), np.float32))
            image = decoder(np.zeros((1, latent_dim + classes), np.float32))
    # Weights that do not fit their layers fail in numpy in many ways (a shape mismatch, a bad
    # reshape, a kernel of the wrong rank); each means the same: this file cannot be used.
    except Exception as error:  # noqa: BLE001
        raise ValueError(_("its layers do not fit together ({error})").format(error=type(error).__name__)) from None
    if z_mean.shape != (1, latent_dim) or z_log_var.shape != (1, latent_dim) or image.shape != (1, IMAGE_PIXELS):
        raise ValueError(_("its layers give the wrong shapes"))
