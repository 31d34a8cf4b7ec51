"""A drawn digit is prepared as MNIST's were: cropped, scaled to a 20-px box, centred by mass."""

import io

import numpy as np
import pytest
from PIL import Image

from vae.drawing import DrawingError, centre_by_mass, drawing_from_png, ink_from_png, prepare_drawing


def centre_of_mass(image):
    ys, xs = np.indices(image.shape)
    return (ys * image).sum() / image.sum(), (xs * image).sum() / image.sum()


def test_a_stroke_in_a_corner_becomes_a_centred_twenty_pixel_digit():
    pad = np.zeros((280, 280), np.float32)
    pad[20:180, 30:50] = 1.0  # a thick "1", tall and off to the top left
    digit = prepare_drawing(pad).reshape(28, 28)
    inked = np.argwhere(digit > 0.05)
    height = inked[:, 0].max() - inked[:, 0].min() + 1
    assert height == 20
    assert centre_of_mass(digit) == pytest.approx((14, 14), abs=0.5)
    assert digit.dtype == np.float32 and digit.min() >= 0 and digit.max() <= 1


def test_a_real_mnist_digit_drawn_large_comes_back_close_to_itself(mnist):
    original = mnist.x_test[0].reshape(28, 28)
    pad = np.zeros((280, 280), np.float32)
    pad[50:274, 6:230] = np.kron(original, np.ones((8, 8), np.float32))  # 8x larger, off-centre
    prepared = prepare_drawing(pad).reshape(28, 28)
    correlation = np.corrcoef(original.ravel(), prepared.ravel())[0, 1]
    assert correlation > 0.85


@pytest.mark.parametrize("make, message", [
    (lambda pad: pad, "empty"),
    (lambda pad: pad.__setitem__((slice(100, 104), slice(100, 104)), 1.0) or pad, "only a dot"),
    (lambda pad: pad + 1.0, "filled in"),
])
def test_empty_dot_or_filled_pads_get_one_sentence(make, message):
    with pytest.raises(DrawingError, match=message):
        prepare_drawing(make(np.zeros((280, 280), np.float32)))


def test_the_pads_png_is_read_as_ink_and_a_broken_one_is_explained():
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[50:150, 100:120] = (0, 0, 0, 255)  # opaque black stroke on a transparent pad
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    ink = ink_from_png(buffer.getvalue())
    assert ink.shape == (280, 280) and ink[60, 110] == 1.0 and ink[10, 10] == 0.0
    with pytest.raises(DrawingError, match="could not be read"):
        ink_from_png(b"not a png")


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding():
    import tracemalloc

    from tests.support.hostile import png_bomb

    bomb = png_bomb(13_000)  # 169 M pixels, under Pillow's own guard: 2.7 GB as RGBA float32
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DrawingError, match="13,000 × 13,000 pixels; the pad draws 280 × 280"):
            drawing_from_png(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    small = png_bomb(300)  # a plausible size is read as usual (all black: "most of the pad is filled")
    with pytest.raises(DrawingError, match="Most of the pad"):
        drawing_from_png(small)


def test_centre_by_mass_moves_by_whole_pixels():
    image = np.zeros((28, 28), np.float32)
    image[2:6, 3:7] = 1.0
    moved = centre_by_mass(image)
    assert moved.sum() == image.sum()
    assert centre_of_mass(moved) == pytest.approx((14, 14), abs=0.5)
