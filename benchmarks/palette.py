"""The class colours under simulated colour-vision deficiencies (vae/palette.py): for plotly's D3
palette (what the app used before) and for the palette chosen, the smallest CIELAB distance (ΔE*ab)
between any two classes as each vision sees them, and the lowest contrast of a colour on white.
Deterministic: no timing, nothing random.

Run: .venv/bin/python -m benchmarks.palette
"""

import json

from vae.palette import D3, VISIONS, choose_palette, contrast_on_white, smallest_distances, to_rgb
from vae.plots import DIGIT_COLOURS


def main() -> None:
    chosen = choose_palette()
    assert chosen == list(DIGIT_COLOURS), "vae/plots.py's DIGIT_COLOURS is not the palette choose_palette makes"
    print(f"{'palette':10s} " + " ".join(f"{vision:>13s}" for vision in VISIONS) + f" {'contrast':>9s}")
    figures = {}
    for name, colours in (("D3", D3), ("chosen", chosen)):
        distances = smallest_distances(colours)
        contrast = float(min(contrast_on_white(to_rgb(colours))))
        figures[name] = {**{k: round(v, 1) for k, v in distances.items()}, "contrast_on_white": round(contrast, 2)}
        print(f"{name:10s} " + " ".join(f"{distances[vision]:13.1f}" for vision in VISIONS) + f" {contrast:9.2f}")
    print("chosen:", " ".join(chosen))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
