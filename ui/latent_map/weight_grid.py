"""The decoder's weights for the browser in fewer bytes. Each weight is rounded to a multiple of one
power-of-two step, the largest that still draws every check point within a grey level (1/255) of
the float32 decoder, and sent as integer codes, deflated (weight_codes.js reads them). While a model
trains, a viewer that holds an earlier epoch's codes is sent only how they changed since: small
numbers, which deflate well. The default's epoch then costs a viewer ~0.2 MB, not 0.40 MB of float16
weights (benchmarks/live_bytes.py). Pure numpy and zlib, so tests can check it."""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from vae.numpy_model import Layer, NumpyModel

TOLERANCE = 1 / 255  # no decoded pixel may move by more than one grey level
# Largest first. A power of two makes code × step exact in float32, in numpy and in the browser alike.
STEPS = tuple(2.0**-k for k in range(6, 17))
# Codes stay below 2**14 in size, so the change between two epochs' codes fits 16 bits once zigzagged.
CODE_LIMIT = 2**14
# A training's step is chosen to draw within half a grey level, so that its later epochs (whose
# weights have grown) still fit the same grid and a viewer can keep receiving changes.
CHAIN_MARGIN = 0.5
KEPT_EPOCHS = 4  # of a training's codes: the bases a viewer that fell behind may still hold


@dataclass(frozen=True)
class Coded:
    """Weights on a grid: `codes` × `step` is what the browser computes with."""

    step: float
    codes: np.ndarray  # int32, one per weight, in pack.pack_decoder's order


def with_flat_weights(decoder: NumpyModel, flat: np.ndarray) -> NumpyModel:
    """The decoder with its weights taken in order from `flat` (pack.pack_decoder's layout)."""
    layers, offset = [], 0
    for layer in decoder.trunk:
        weights = []
        for weight in layer.weights:
            weights.append(flat[offset : offset + weight.size].reshape(weight.shape))
            offset += weight.size
        layers.append(Layer(layer.kind, layer.settings, tuple(weights)))
    return NumpyModel(layers, input_dim=decoder.input_dim)


def codes_for(flat: np.ndarray, step: float) -> np.ndarray | None:
    """`flat` rounded to multiples of `step`, or None if a code would not fit CODE_LIMIT."""
    with np.errstate(over="ignore", invalid="ignore"):
        codes = np.rint(np.asarray(flat, np.float64) / step)
    if not np.isfinite(codes).all() or np.abs(codes).max(initial=0) >= CODE_LIMIT:
        return None
    return codes.astype(np.int32)


def draws_within(decoder: NumpyModel, coded: Coded, points: np.ndarray, reference: np.ndarray,
                 tolerance: float) -> bool:
    """Does the decoder on the grid draw `points` within `tolerance` of `reference` (its float32 drawing)?"""
    on_grid = with_flat_weights(decoder, coded.codes.astype(np.float32) * np.float32(coded.step))
    return float(np.abs(on_grid(points) - reference).max(initial=0)) <= tolerance


def choose(decoder: NumpyModel, flat: np.ndarray, points: np.ndarray, tolerance: float = TOLERANCE,
           reference: np.ndarray | None = None) -> Coded | None:
    """The weights on the largest step of STEPS that draws within `tolerance` (the next larger one
    does not); None if none does (the weights are then sent as floats). A bisection: ~4 checks.
    `reference`: decoder(points), if the caller has it already."""
    reference = decoder(points) if reference is None else reference
    largest = float(np.abs(flat).max(initial=0))  # NaN or infinite: no step is usable
    usable = [step for step in STEPS if largest / step < CODE_LIMIT - 0.5]  # so codes_for never refuses

    def on(index: int) -> Coded | None:
        coded = Coded(usable[index], codes_for(flat, usable[index]))
        return coded if draws_within(decoder, coded, points, reference, tolerance) else None

    if not usable or (finest := on(len(usable) - 1)) is None:
        return None
    failing, passing, chosen = -1, len(usable) - 1, finest  # -1: a step coarser than any, taken to fail
    while passing - failing > 1:
        middle = (failing + passing) // 2
        if (coded := on(middle)) is not None:
            passing, chosen = middle, coded
        else:
            failing = middle
    return chosen


def pack_codes(codes: np.ndarray) -> bytes:
    """Codes (or changes of codes) below 2**15 in size: zigzagged to 16 bits (0, -1, 1, -2 ... →
    0, 1, 2, 3 ...), all low bytes then all high bytes (the high bytes are mostly zeros), deflated."""
    zigzag = ((codes.astype(np.int32) << 1) ^ (codes.astype(np.int32) >> 31)).astype("<u2")
    planes = zigzag.view(np.uint8).reshape(-1, 2).T
    return zlib.compress(planes.tobytes(), 6)


def unpack_codes(packed: bytes, count: int) -> np.ndarray:
    """pack_codes's codes again (what weight_codes.js does in the browser)."""
    planes = np.frombuffer(zlib.decompress(packed), np.uint8).reshape(2, count)
    zigzag = planes[0].astype(np.int32) | (planes[1].astype(np.int32) << 8)
    return (zigzag >> 1) ^ -(zigzag & 1)


class Chain:
    """One training's weights on one grid, snapshot after snapshot: the grid's step, and the codes
    of its last few snapshots, the bases from which a viewer is sent only the change. Shared by the
    sessions of one server process; safe across their threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._step: float | None = None
        self._codes: OrderedDict[float, np.ndarray] = OrderedDict()

    def add(self, epoch: float, decoder: NumpyModel, flat: np.ndarray, points: np.ndarray) -> Coded | None:
        """The snapshot at `epoch` on this training's grid. When the grid no longer draws within a
        grey level, a finer one is chosen and the earlier codes are dropped (they are of another grid)."""
        with self._lock:
            if self._step is not None and epoch in self._codes:
                return Coded(self._step, self._codes[epoch])
            coded, reference = None, decoder(points)
            if self._step is not None and (codes := codes_for(flat, self._step)) is not None:
                coded = Coded(self._step, codes)
                if not draws_within(decoder, coded, points, reference, TOLERANCE):
                    coded = None
            if coded is None:
                coded = choose(decoder, flat, points, TOLERANCE * CHAIN_MARGIN, reference)
                if coded is None:
                    return None
                self._step = coded.step
                self._codes.clear()
            self._codes[epoch] = coded.codes
            while len(self._codes) > KEPT_EPOCHS:
                self._codes.popitem(last=False)
            return coded

    def base(self, epoch: float | None, step: float) -> np.ndarray | None:
        """The codes of an earlier snapshot on the grid of `step`, if still kept."""
        with self._lock:
            return self._codes.get(epoch) if epoch is not None and step == self._step else None
