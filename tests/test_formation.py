"""The formation view's payloads and the exported replay animation (pure functions, no server)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ui.blob import pack_blob, read_blob
from ui.formation.pack import live_payload, replay_payload
from vae.animation import animation
from vae.plots import DIGIT_COLOURS
from vae.snapshots import GRID_SIDE, Replay, Snapshot, plane_for

ROOT = Path(__file__).resolve().parent.parent


def a_replay(epochs: int = 4, total: int = 4, n: int = 50) -> Replay:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(epochs, n, 2)).astype(np.float32) * np.linspace(0.1, 2, epochs)[:, None, None]
    grids = rng.integers(0, 256, size=(epochs, GRID_SIDE**2, 784), dtype=np.uint8)
    return Replay(np.arange(1, epochs + 1, dtype=np.float32), points, grids, total)


def test_blobs_read_back_exactly():
    arrays = {"a": np.arange(5, dtype=np.float32), "b": np.arange(3, dtype=np.uint8).reshape(1, 3)}
    header, back = read_blob(pack_blob({"x": 1}, arrays))
    assert header["x"] == 1
    for name, array in arrays.items():
        np.testing.assert_array_equal(back[name], array)
        assert back[name].dtype == array.dtype


def test_a_replay_payload_has_every_epoch_and_a_live_one_has_one_frame():
    replay = a_replay(epochs=3, total=10)
    labels = np.arange(100) % 10
    header, arrays = read_blob(replay_payload(replay, labels))
    assert header["epochs"] == [1.0, 2.0, 3.0] and not header["live"]
    assert header["titles"] == ["epoch 1 of 10", "epoch 2 of 10", "epoch 3 of 10"]
    assert arrays["points"].shape == (3, 50, 2) and arrays["labels"].tolist() == labels[:50].tolist()
    np.testing.assert_array_equal(arrays["grids"], replay.grids)
    snapshot = Snapshot(2.5, 10, np.ones((50, 2), np.float32), plane_for(np.zeros((1, 2))),
                        replay.grids[0])
    header, arrays = read_blob(live_payload(snapshot, labels))
    assert header["live"] and header["titles"] == ["training, epoch 3 of 10 (part way)"]
    assert arrays["points"].shape == (1, 50, 2)


@pytest.mark.parametrize("image_format", ["gif", "webp"])
def test_the_exported_animation_has_one_frame_per_epoch(image_format):
    replay = a_replay(epochs=4, total=6)
    data = animation(replay, np.arange(100) % 10, "my-run", image_format)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == image_format.upper()
        assert image.n_frames == 4 and image.is_animated
        first = np.asarray(image.convert("RGB"))
        image.seek(3)
        last = np.asarray(image.convert("RGB"))
    assert first.shape == last.shape and not np.array_equal(first, last)


def test_every_frame_is_numbered():
    from vae.animation import frames

    replay = a_replay(epochs=2, total=2)
    one, two = frames(replay, np.zeros(50, int), "run")
    same_panels = a_replay(epochs=2, total=2)
    same_panels.points[1] = same_panels.points[0]
    same_panels.grids[1] = same_panels.grids[0]
    first, second = (np.asarray(f) for f in frames(same_panels, np.zeros(50, int), "run"))
    title_rows = slice(0, 36)
    assert not np.array_equal(first[title_rows], second[title_rows])  # "epoch 1" vs "epoch 2"
    assert np.array_equal(first[36:], second[36:])
    assert one.size == two.size


def test_an_empty_replay_or_unknown_format_is_refused():
    with pytest.raises(ValueError, match="no saved epochs"):
        animation(a_replay(epochs=0), np.zeros(50, int), "run")
    with pytest.raises(ValueError, match="gif, webp"):
        animation(a_replay(), np.zeros(50, int), "run", "png")


def test_the_browser_palette_is_the_python_one():
    palette = re.findall(r'"(#[0-9a-f]{6})"', (ROOT / "ui" / "palette.js").read_text())
    assert palette == DIGIT_COLOURS
