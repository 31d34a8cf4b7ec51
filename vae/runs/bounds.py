"""A run's likelihood figures (its -ELBO and importance-weighted bound on the first test images),
kept in the cache folder under what the run is, not where it is: every web server of a class, a
server started again and a copy of the run share one computation instead of a few seconds of numpy
each. The key is a hash of the files the figures follow from (the run's settings and weights) and
of the images and samples counted; a file that does not read back as two finite numbers is
computed again."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

from vae.data import write_cache_file
from vae.runs.saving import WEIGHTS_FILE

FOLDER = "likelihood"  # inside the cache folder (settings.cache_dir)
FIGURES = ("neg_elbo", "iw_nll")
_DEPENDS_ON = ("config.json", WEIGHTS_FILE)  # the data set is named in config.json


def content_key(run_path: Path, images: int, samples: int) -> str:
    """OSError if a file the figures follow from cannot be read."""
    digest = hashlib.sha256(f"{images} images, {samples} samples".encode())
    for name in _DEPENDS_ON:
        content = (Path(run_path) / name).read_bytes()
        digest.update(len(content).to_bytes(8, "big") + content)  # each file's length: no two splits alike
    return digest.hexdigest()


def remembered_likelihood(run_path: Path, images: int, samples: int, cache_dir: Path,
                          compute: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The figures kept for this run's content, else `compute()`'s, kept for the next process. A
    run that cannot be read is left to `compute` (whose error names it); a cache that cannot be
    written only loses the speed-up."""
    try:
        file = Path(cache_dir) / FOLDER / f"{content_key(run_path, images, samples)}.json"
    except OSError:
        return compute()
    known = _read(file)
    if known is not None:
        return known
    figures = compute()
    kept = {name: float(figures[name]) for name in FIGURES}
    write_cache_file(file, lambda out: json.dump(kept, out), text=True)
    return figures


def _read(file: Path) -> dict[str, float] | None:
    try:
        kept = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict):
        return None
    figures = {name: kept.get(name) for name in FIGURES}
    if all(isinstance(value, float) and math.isfinite(value) for value in figures.values()):
        return figures
    return None
