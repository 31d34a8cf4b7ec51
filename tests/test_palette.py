"""The class colours (vae/palette.py): the simulation checked against what it must do, and the palette
the app draws with being the one chosen, apart under every simulated vision and visible on white."""

import numpy as np
import pytest

from vae import palette
from vae.plots import DIGIT_COLOURS


def test_each_simulation_keeps_greys_grey_and_white_white():
    greys = np.array([[v, v, v] for v in (0.0, 0.2, 0.5, 0.8, 1.0)])
    for vision, matrix in palette.DEFICIENCIES.items():
        assert matrix.sum(axis=1) == pytest.approx(np.ones(3), abs=1e-3), vision
        assert palette.linear(greys) @ matrix.T == pytest.approx(palette.linear(greys), abs=2e-3)


def test_red_and_green_merge_for_protanopia_and_deuteranopia_but_not_for_normal_vision():
    red_green = ["#d62728", "#2ca02c"]  # D3's red and green: its worst pair is of this kind
    def apart(vision):
        a, b = palette.seen(palette.to_rgb(red_green), vision)
        return float(np.linalg.norm(a - b))
    assert apart("normal") > 60
    assert apart("protanopia") < 0.5 * apart("normal") and apart("deuteranopia") < 0.5 * apart("normal")


def test_lab_of_white_and_black():
    assert palette.lab(palette.linear(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))) == pytest.approx(
        np.array([[100.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), abs=0.05)


def test_the_apps_colours_are_the_chosen_palette_apart_under_every_vision_and_visible_on_white():
    assert list(DIGIT_COLOURS) == palette.choose_palette()
    chosen, d3 = palette.smallest_distances(DIGIT_COLOURS), palette.smallest_distances(palette.D3)
    assert min(chosen.values()) >= 19  # ΔE*ab: two classes never look alike, whoever looks
    assert d3["protanopia"] < 5 < 19  # what the palette before it gave: two classes nearly one colour
    assert min(palette.contrast_on_white(palette.to_rgb(DIGIT_COLOURS))) >= palette.MIN_CONTRAST_ON_WHITE - 1e-9
    assert len(set(DIGIT_COLOURS)) == 10
