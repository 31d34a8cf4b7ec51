"""An epoch replay as an animated GIF or WebP (Pillow): one frame per saved epoch, each with the
run's name and the epoch number above the latent map and the grid of decoded digits, in the reader's
language (named by the caller: a download is made outside the reader's session)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vae.i18n import N_, current_language, translations
from vae.plots import DIGIT_COLOURS
from vae.snapshots import EXTENT, GRID_SIDE, Replay

FORMATS = {"gif": "GIF", "webp": "WEBP"}
PANEL = GRID_SIDE * 28  # 280 px: the grid at one pixel per pixel, the map beside it the same size
MARGIN, TITLE_HEIGHT = 12, 36
FRAME_MS = 700  # long enough to read the epoch number
FRAME_TITLE = N_("{title} · epoch {epoch} of {total}")
# Pillow's own font draws ASCII and a few signs, but no accented letter (each comes out as a box):
# a title that needs one is drawn in the first of these that is installed (Linux, macOS, Windows).
DEFAULT_FONT_SIGNS = "·«»°±©"
ACCENTED_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "arial.ttf")


def _font(size: int, text: str = ""):
    if not all(character.isascii() or character in DEFAULT_FONT_SIGNS for character in text):
        for name in ACCENTED_FONTS:
            try:
                return ImageFont.truetype(name, size)
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError):  # a Pillow built without FreeType has one small bitmap font
        return ImageFont.load_default()


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def map_panel(points: np.ndarray, labels: np.ndarray, extent: float = EXTENT) -> Image.Image:
    panel = Image.new("RGB", (PANEL, PANEL), "white")
    draw = ImageDraw.Draw(panel)
    scale = PANEL / (2 * extent)
    for v in range(-int(extent), int(extent) + 1):
        draw.line([((v + extent) * scale, 0), ((v + extent) * scale, PANEL)], fill=(228, 228, 228))
        draw.line([(0, (extent - v) * scale), (PANEL, (extent - v) * scale)], fill=(228, 228, 228))
    colours = [_rgb(c) for c in DIGIT_COLOURS]
    for (x, y), label in zip(points, labels, strict=True):
        if abs(x) <= extent and abs(y) <= extent:
            px, py = (x + extent) * scale, (extent - y) * scale
            draw.rectangle([px - 1, py - 1, px + 1, py + 1], fill=colours[int(label)])
    return panel


def grid_panel(grid: np.ndarray) -> Image.Image:
    tiles = grid.reshape(GRID_SIDE, GRID_SIDE, 28, 28).transpose(0, 2, 1, 3).reshape(PANEL, PANEL)
    return Image.fromarray(tiles, mode="L").convert("RGB")


def frames(replay: Replay, labels: np.ndarray, title: str, language: str | None = None) -> list[Image.Image]:
    """One frame per saved epoch, titled in `language` (by default the current session's)."""
    heading = translations(language or current_language()).gettext(FRAME_TITLE)
    font = _font(18, heading + title)
    labels = np.asarray(labels)[: replay.points.shape[1]]
    width, height = 3 * MARGIN + 2 * PANEL, TITLE_HEIGHT + MARGIN + PANEL
    images = []
    for index, epoch in enumerate(replay.epochs):
        frame = Image.new("RGB", (width, height), "white")
        text = heading.format(title=title, epoch=int(epoch), total=replay.total_epochs)
        ImageDraw.Draw(frame).text((MARGIN, 8), text, fill=(20, 20, 20), font=font)
        frame.paste(map_panel(replay.points[index], labels), (MARGIN, TITLE_HEIGHT))
        frame.paste(grid_panel(replay.grids[index]), (2 * MARGIN + PANEL, TITLE_HEIGHT))
        images.append(frame)
    return images


def animation(replay: Replay, labels: np.ndarray, title: str, image_format: str = "gif",
              language: str | None = None) -> bytes:
    """The replay as an animated image, looping, one frame per epoch, its titles in `language`;
    ValueError if it has none."""
    if image_format not in FORMATS:
        raise ValueError(f"image format must be one of {', '.join(FORMATS)}, got {image_format!r}")
    images = frames(replay, labels, title, language)
    if not images:
        raise ValueError("the run has no saved epochs to animate")
    buffer = io.BytesIO()
    options = {"lossless": True} if image_format == "webp" else {}
    images[0].save(buffer, format=FORMATS[image_format], save_all=True, append_images=images[1:],
                   duration=FRAME_MS, loop=0, **options)
    return buffer.getvalue()
