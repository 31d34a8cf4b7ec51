"""A lab record to take home: one self-contained HTML file of a session (a student's, or the whole
class's for the teacher): the drawings with where the encoder put them and their reconstructions,
the guesses against the answers, and the runs trained, with their curves. Images are inline PNGs,
charts inline SVG, no script and no link: it opens offline, anywhere, with no server. Pure
functions of data (no Streamlit); its words in the current language (vae.i18n)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from vae.datasets import MNIST, DataSet
from vae.i18n import N_, _, current_language
from vae.plots import DIGIT_COLOURS, enlarge, png

MAP_SIZE = 220  # px, each small latent map
EXTENT = 4.0


@dataclass(frozen=True)
class DrawingEntry:
    image: np.ndarray  # (784,) in [0, 1]
    reconstruction: np.ndarray  # (784,)
    point: tuple[float, float]  # on the map's plane
    digit: int  # what was drawn, as its author said
    cluster: int  # the digit of the cluster it landed in
    name: str


@dataclass(frozen=True)
class GuessEntry:
    question: str  # one sentence
    guess: str
    answer: str
    close: bool | None  # how the guess fared (None: no guess)


@dataclass(frozen=True)
class RunEntry:
    name: str
    description: str
    final: str  # its final test figures, in a sentence
    history: pd.DataFrame  # history.csv


def _image(pixels: np.ndarray, scale: int = 3) -> str:
    data = base64.b64encode(png(enlarge(np.asarray(pixels, np.float32).reshape(28, 28), scale))).decode()
    return f'<img alt="" src="data:image/png;base64,{data}" width="{28 * scale}" height="{28 * scale}">'


def _map_svg(points: np.ndarray, labels: np.ndarray, mark: tuple[float, float] | None, colour: str) -> str:
    def px(value: float) -> float:
        return round((value + EXTENT) / (2 * EXTENT) * MAP_SIZE, 1)

    dots = "".join(f'<circle cx="{px(x)}" cy="{px(-y)}" r="1.4" fill="{DIGIT_COLOURS[int(label)]}" '
                   f'fill-opacity="0.5"/>' for (x, y), label in zip(points, labels, strict=True))
    ring = (f'<circle cx="{px(mark[0])}" cy="{px(-mark[1])}" r="6" fill="none" stroke="{colour}" '
            f'stroke-width="3"/>' if mark else "")
    return (f'<svg viewBox="0 0 {MAP_SIZE} {MAP_SIZE}" width="{MAP_SIZE}" height="{MAP_SIZE}" role="img">'
            f'<rect width="100%" height="100%" fill="#fff" stroke="#ccc"/>{dots}{ring}</svg>')


def _curves_svg(history: pd.DataFrame, width: int = 320, height: int = 160) -> str:
    columns = [("loss", "#1f77b4", N_("train −ELBO")), ("test_loss", "#d62728", N_("test −ELBO"))]
    values = pd.concat([history[column] for column, _colour, _label in columns if column in history]).dropna()
    if values.empty or "epoch" not in history:
        return _paragraph(_("(no curve)"))
    low, high = float(values.min()), float(values.max()) or 1.0
    span, epochs = (high - low) or 1.0, max(float(history["epoch"].max()), 1.0)

    def polyline(column: str, colour: str) -> str:
        points = " ".join(f"{10 + (e / epochs) * (width - 20):.1f},{10 + (1 - (v - low) / span) * (height - 30):.1f}"
                          for e, v in zip(history["epoch"], history[column], strict=True))
        return f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'

    lines = "".join(polyline(column, colour) for column, colour, _label in columns if column in history)
    legend = " · ".join(f'<tspan fill="{colour}">{_text(_(label))}</tspan>' for column, colour, label in columns
                        if column in history)
    scale = _text(_("({low:.0f}–{high:.0f} nats)").format(low=low, high=high))
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
            f'<rect width="100%" height="100%" fill="#fff" stroke="#ccc"/>{lines}'
            f'<text x="10" y="{height - 6}" font-size="11">{legend} {scale}</text></svg>')


def _text(message: str) -> str:
    """A message as the text of an element (quotes stay as they are: "the model's surprise")."""
    return html.escape(message, quote=False)


def _paragraph(message: str) -> str:
    return "<p>" + _text(message) + "</p>"


def _heading(message: str) -> str:
    return "<h2>" + _text(message) + "</h2>"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _drawing_sentence(entry: DrawingEntry, dataset: DataSet) -> str:
    """"<b>A 7</b> by Ada: landed among the 3s: the model's surprise, at (0.50, -1.00).", as HTML."""
    drawing = f"<b>{html.escape(_capitalised(dataset.a(entry.digit)))}</b>"
    surprise = entry.cluster != entry.digit
    if entry.name:
        sentence = (_("{drawing} by {name}: landed among the {landed}s: the model's surprise, at ({x:.2f}, {y:.2f}).")
                    if surprise else _("{drawing} by {name}: landed among the {landed}s, at ({x:.2f}, {y:.2f})."))
    else:
        sentence = (_("{drawing}: landed among the {landed}s: the model's surprise, at ({x:.2f}, {y:.2f}).")
                    if surprise else _("{drawing}: landed among the {landed}s, at ({x:.2f}, {y:.2f})."))
    # The message is escaped, then its fields, each escaped, go in (the drawing's <b> stays markup).
    return _text(sentence).format(drawing=drawing, name=html.escape(entry.name),
                                  landed=html.escape(dataset.class_name(entry.cluster)), x=entry.point[0],
                                  y=entry.point[1])


def lab_record(title: str, who: str, drawings: list[DrawingEntry], guesses: list[GuessEntry],
               run_entries: list[RunEntry], map_points: np.ndarray, map_labels: np.ndarray,
               when: datetime | None = None, dataset: DataSet = MNIST) -> str:
    """The whole record as one HTML document in the current language; classes named as `dataset`
    names them."""
    when = when or datetime.now()
    esc = html.escape
    parts = [f"<h1>{esc(title)}</h1><p>{esc(who)} · {when:%Y-%m-%d %H:%M}</p>"]
    parts.append(_heading(_("Drawings ({count})").format(count=len(drawings))))
    if not drawings:
        parts.append(_paragraph(_("No drawings.")))
    as_seen = _text(_("the drawing as the model saw it, and its reconstruction"))
    for entry in drawings:
        colour = DIGIT_COLOURS[entry.digit]
        parts.append(f'<div class="card">{_map_svg(map_points, map_labels, entry.point, colour)}'
                     f"<div><p>{_drawing_sentence(entry, dataset)}</p>"
                     f"<p>{_image(entry.image)} {_image(entry.reconstruction)}</p>"
                     f'<p class="small">{as_seen}</p></div></div>')
    parts.append(_heading(_("Guesses ({count})").format(count=len(guesses))))
    if guesses:
        close, far = _text(_("close")), _text(_("far"))
        rows = "".join(f"<tr><td>{esc(g.question)}</td><td>{esc(g.guess)}</td><td>{esc(g.answer)}</td>"
                       f"<td>{'' if g.close is None else (close if g.close else far)}</td></tr>" for g in guesses)
        headers = "".join(f"<th>{_text(header)}</th>" for header in (_("question"), _("guess"), _("answer"), ""))
        parts.append(f"<table><tr>{headers}</tr>{rows}</table>")
    else:
        parts.append(_paragraph(_("No guesses.")))
    parts.append(_heading(_("Runs ({count})").format(count=len(run_entries))))
    if not run_entries:
        parts.append(_paragraph(_("No runs trained.")))
    for run in run_entries:
        parts.append(f'<div class="card">{_curves_svg(run.history)}<div><p><b>{esc(run.name)}</b>: '
                     f"{esc(run.description)}</p><p>{esc(run.final)}</p></div></div>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#222}"
             ".card{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start;margin:1em 0;"
             "border-top:1px solid #ddd;padding-top:1em}img{image-rendering:pixelated;border:1px solid #ccc}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}.small{color:#666;"
             "font-size:.85em}")
    return (f'<!doctype html><html lang="{esc(current_language())}"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{esc(title)}</title><style>{style}</style>'
            f"</head><body>{''.join(parts)}</body></html>")
