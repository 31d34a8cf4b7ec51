"""The ten class colours, and how they were chosen: told apart under the common colour-vision
deficiencies, simulated (Machado, Oliveira & Fernandes, 2009: full-severity protanopia,
deuteranopia and tritanopia, linear sRGB), as distances in CIELAB (ΔE*ab, CIE 1976), each colour
also at least 3:1 against white (WCAG 1.4.11: a dot on the map is a graphical object).

`choose_palette` picks them greedily from a grid of sRGB colours: each next colour is the one whose
smallest distance to those already picked, under normal vision and every simulated deficiency, is
the largest. `benchmarks/palette.py` prints the figures beside plotly's D3 palette's."""

from __future__ import annotations

import itertools

import numpy as np

# Machado et al. (2009), severity 1.0: linear-sRGB matrices.
DEFICIENCIES = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ("normal", *DEFICIENCIES)
D3 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
MIN_CONTRAST_ON_WHITE = 3.0
MIN_LIGHTNESS = 35  # L*: darker, a dot would read as the black marks drawn over the map
_WHITE_XYZ = np.array([0.95047, 1.0, 1.08883])  # D65
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])


def to_rgb(hex_colours) -> np.ndarray:
    """'#rrggbb' strings as an (n, 3) array of sRGB values in [0, 1]."""
    return np.array([[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in hex_colours])


def to_hex(rgb: np.ndarray) -> list[str]:
    return ["#" + "".join(f"{round(v * 255):02x}" for v in colour) for colour in np.asarray(rgb)]


def linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, np.float64)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def lab(linear_rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of linear sRGB colours (n, 3)."""
    xyz = np.clip(linear_rgb, 0, 1) @ _RGB_TO_XYZ.T / _WHITE_XYZ
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def seen(rgb: np.ndarray, vision: str) -> np.ndarray:
    """CIELAB of sRGB colours as a person with `vision` sees them (simulated)."""
    linear_rgb = linear(rgb)
    if vision != "normal":
        linear_rgb = linear_rgb @ DEFICIENCIES[vision].T
    return lab(linear_rgb)


def contrast_on_white(rgb: np.ndarray) -> np.ndarray:
    luminance = linear(rgb) @ _RGB_TO_XYZ[1]
    return 1.05 / (luminance + 0.05)


def smallest_distances(hex_colours) -> dict[str, float]:
    """Per vision, the smallest ΔE*ab between any two of the colours: how alike the most alike two look."""
    rgb = to_rgb(hex_colours)
    result = {}
    for vision in VISIONS:
        points = seen(rgb, vision)
        result[vision] = float(min(np.linalg.norm(a - b) for a, b in itertools.combinations(points, 2)))
    return result


def choose_palette(count: int = 10, levels: int = 18, first: str = "#0b4f9c") -> list[str]:
    """`count` colours, greedily: each maximises its smallest ΔE to those picked, under every vision,
    among the grid's colours at least MIN_CONTRAST_ON_WHITE against white and MIN_LIGHTNESS light."""
    grid = np.array(list(itertools.product(np.linspace(0, 1, levels), repeat=3)))
    grid = grid[(contrast_on_white(grid) >= MIN_CONTRAST_ON_WHITE) & (lab(linear(grid))[:, 0] >= MIN_LIGHTNESS)]
    seen_grid = np.stack([seen(grid, vision) for vision in VISIONS])  # (visions, n, 3)
    picked = [to_rgb([first])[0]]
    nearest = np.full(len(grid), np.inf)
    for _ in range(count - 1):
        last = np.stack([seen(picked[-1][None, :], vision)[0] for vision in VISIONS])  # (visions, 3)
        distance = np.linalg.norm(seen_grid - last[:, None, :], axis=2).min(axis=0)
        nearest = np.minimum(nearest, distance)
        picked.append(grid[int(np.argmax(nearest))])
    return to_hex(np.array(picked))
