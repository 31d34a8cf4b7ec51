"""A digit drawn by a person, prepared the way MNIST's digits were: crop to the ink, scale the longer
side to 20 px with anti-aliasing (keeping the aspect ratio), then place it in 28x28 so that its
centre of mass is at the centre (yann.lecun.com/exdb/mnist). The model then sees what it was
trained on, not a thin stroke in a corner."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

from vae.errors import LabError
from vae.i18n import _

BOX = 20  # MNIST's digits fit a 20x20 box ...
SIZE = 28  # ... centred by mass in 28x28
INK_THRESHOLD = 0.1  # a pad pixel darker than this (of 1) counts as ink
MIN_INK_PIXELS = 30  # fewer is a dot, not a digit (at the pad's 280x280 size)
MAX_INK_FRACTION = 0.5  # more of the pad inked is a scribble over everything
PAD_SIDE = 280  # the drawing pad's canvas (ui/drawing_pad); what it sends is exactly this size
MAX_SIDE = 4 * PAD_SIDE  # the most read of a drawing: a PNG's header is checked before it is decoded


class DrawingError(LabError):
    """A drawing that is not a digit: empty, a dot, or the whole pad filled."""


def ink_from_png(data: bytes) -> np.ndarray:
    """The pad's PNG as ink in [0, 1] (opaque dark strokes on a transparent or white ground).
    Its size is read from the header first: a few KB of PNG can claim a billion pixels, which
    would take gigabytes to decode, so anything larger than MAX_SIDE is refused undecoded."""
    try:
        with warnings.catch_warnings():  # Pillow's own bomb warning: the size is checked here instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])  # reads the header only
        width, height = image.size
        if width > MAX_SIDE or height > MAX_SIDE:
            raise DrawingError(_("The drawing is {width:,} × {height:,} pixels; the pad draws {pad} × {pad} and at "
                                 "most {most} × {most} is read. Clear the pad and draw again.").format(
                width=width, height=height, pad=PAD_SIDE, most=MAX_SIDE))
        image.load()
        rgba = np.asarray(image.convert("RGBA"), np.float32) / 255
    except DrawingError:
        raise
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for a bad image
        raise DrawingError(_("The drawing could not be read ({error}).").format(error=type(error).__name__)) from None
    darkness = 1 - rgba[..., :3].mean(axis=2)
    return np.clip(rgba[..., 3] * darkness, 0, 1)


def drawing_from_png(data: bytes) -> np.ndarray:
    """(784,) float32, MNIST-style, from the pad's PNG; DrawingError, in one sentence, otherwise."""
    return prepare_drawing(ink_from_png(data))


def prepare_drawing(ink: np.ndarray) -> np.ndarray:
    """(784,) float32 in [0, 1], MNIST-style, from a 2-D array of ink in [0, 1]; DrawingError if
    the drawing is empty, a single dot, or fills the pad."""
    ink = np.clip(np.nan_to_num(np.asarray(ink, np.float32)), 0, 1)
    if ink.ndim != 2 or min(ink.shape) < SIZE:
        raise DrawingError(_("The drawing must be a 2-D image of at least {size}×{size} pixels.").format(size=SIZE))
    inked = ink > INK_THRESHOLD
    count = int(inked.sum())
    if count == 0:
        raise DrawingError(_("The pad is empty: draw a digit first."))
    if count < MIN_INK_PIXELS:
        raise DrawingError(_("That is only a dot: draw a whole digit."))
    if count > MAX_INK_FRACTION * ink.size:
        raise DrawingError(_("Most of the pad is filled in: clear it and draw one digit."))
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = BOX / max(cropped.shape)
    height, width = (max(1, round(side * scale)) for side in cropped.shape)
    # Pillow's box filter averages every source pixel a target pixel covers: the anti-aliasing.
    small = np.asarray(Image.fromarray(cropped, mode="F").resize((width, height), Image.Resampling.BOX))
    canvas = np.zeros((SIZE, SIZE), np.float32)
    top, left = (SIZE - height) // 2, (SIZE - width) // 2
    canvas[top : top + height, left : left + width] = small
    return centre_by_mass(np.clip(canvas, 0, 1)).reshape(-1)


def centre_by_mass(image: np.ndarray) -> np.ndarray:
    """Shift by whole pixels so the centre of mass sits where MNIST's do: at (14, 14) in 0-based
    pixel indices (the training digits' mean is 14.00 ± 0.29), not at the geometric 13.5."""
    total = image.sum()
    ys, xs = np.indices(image.shape)
    centre = np.array(image.shape) / 2
    shift = np.round(centre - [(ys * image).sum() / total, (xs * image).sum() / total]).astype(int)
    shifted = np.zeros_like(image)
    (dy, dx), (h, w) = shift, image.shape
    shifted[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = \
        image[max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]
    return shifted
