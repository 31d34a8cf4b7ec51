"""Compare runs: several saved runs' learning curves on one chart, their final test figures in one
table, and their final latent maps side by side at one scale."""

import numpy as np
import pandas as pd
import streamlit as st

from ui import state, training
from ui.language import labels_now
from ui.latent_map.pack import EXTENT, MAP_POINTS, project
from ui.markdown import escape
from ui.presenter import chart
from ui.shell import ensure_app_shell
from vae import cost, runs
from vae.config import ARCH_WORDS
from vae.errors import LabError
from vae.evaluate import IW_SAMPLES
from vae.i18n import _
from vae.plots import runs_overlay, small_latent_map

MAX_RUNS = 6
DEFAULT_RUNS = 3
MAPS_PER_ROW = 3


def readable_curves(selected: list[runs.RunSummary]) -> dict[str, pd.DataFrame]:
    """{run name: history} of the runs whose history can be drawn; an error shown for each other."""
    histories = {}
    for run in selected:
        try:
            histories[run.name] = runs.load_history(run)
        except LabError as error:
            st.error(_("{error}; it is left out of the chart.").format(error=escape(str(error))))
    return histories


def number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def model_description(run: runs.RunSummary) -> str:
    config = run.config
    arch = _(ARCH_WORDS.get(config.arch, config.arch))
    if config.model == "ae":
        return _("{arch} autoencoder").format(arch=arch)
    if config.loss == "tutorial":
        return _("{arch} VAE, tutorial's averaged loss").format(arch=arch)
    return _("{arch} VAE").format(arch=arch)


def final_numbers(selected: list[runs.RunSummary]) -> pd.DataFrame:
    """One row per run from its metrics.json: what it is and its test figures in nats per image
    (the columns named in the session's language)."""
    rows = []
    for run in selected:
        metrics = run.metrics
        epochs = metrics.get("epochs_completed")
        rows.append({
            _("run"): run.name,
            _("data set"): state.dataset_of(run).title,
            _("preset"): metrics.get("preset") or _("custom"),
            _("model"): model_description(run),
            _("latent dim"): run.config.latent_dim,
            _("epochs"): epochs if isinstance(epochs, int) else run.config.epochs,
            _("test −ELBO"): number(metrics.get("test_neg_elbo")),
            _("test reconstruction"): number(metrics.get("test_reconstruction_loss")),
            _("test KL"): number(metrics.get("test_kl_loss")),
        })
    return pd.DataFrame(rows)


def likelihood_numbers(selected: list[runs.RunSummary]) -> tuple[pd.DataFrame, int]:
    """(one row per VAE run: -ELBO and the importance-weighted bound on the same test images, and
    how many images). An autoencoder defines no likelihood: it has no row."""
    vaes = [run for run in selected if run.config.model == "vae"]
    if not vaes:
        return pd.DataFrame(), 0
    images = cost.likelihood_images([run.config for run in vaes], IW_SAMPLES)
    rows = []
    for run in vaes:
        try:
            figures = state.likelihood(run, images)
        except LabError as error:
            st.error(_("{error}; it is left out of the likelihood table.").format(error=escape(str(error))))
            continue
        rows.append({_("run"): run.name, _("data set"): state.dataset_of(run).title, "−ELBO": figures["neg_elbo"],
                     _("IW bound (K={samples})").format(samples=IW_SAMPLES): figures["iw_nll"],
                     _("gap"): figures["neg_elbo"] - figures["iw_nll"]})
    return pd.DataFrame(rows), images


def likelihood_table(selected: list[runs.RunSummary]) -> None:
    st.subheader(_("Which model is better? The likelihood bound"))
    with st.spinner(_("Bounding each run's likelihood…")):
        table, images = likelihood_numbers(selected)
    if table.empty:
        st.info(_("Autoencoders define no likelihood: pick a VAE run to see its bound."))
        return
    numbers = [name for name in table.columns if name not in (_("run"), _("data set"))]
    st.dataframe(table, hide_index=True,
                 column_config={name: st.column_config.NumberColumn(format="%.1f") for name in numbers})
    st.caption(_(
        "On the first {images:,} test images, in nats per image; lower is better. The −ELBO is a bound on "
        "−log p(x) that a model can loosen by how it splits reconstruction and KL; the importance-weighted "
        "bound (K = {samples} samples of each image's code) is much closer to −log p(x), so it is the fairer "
        "way to rank models. The gap is what the −ELBO leaves on the table. `python -m vae evaluate NAME` "
        "gives both on all 10,000 test images.").format(images=images, samples=IW_SAMPLES))


def map_caption(run: runs.RunSummary, points: np.ndarray) -> str:
    latent_dim = run.config.latent_dim
    if latent_dim == 2:
        caption = _("{model}: the first {count} test images at their z_mean, on the latent space itself.")
    elif latent_dim == 1:
        caption = _("{model}: the first {count} test images at their z_mean, on its one latent dimension along "
                    "the horizontal axis.")
    else:
        caption = _("{model}: the first {count} test images at their z_mean, on the plane of the first two "
                    "principal components of its {dim}-D codes.")
    caption = caption.format(model=model_description(run), count=len(points), dim=latent_dim)
    outside = int(np.count_nonzero(np.abs(points).max(axis=1) > EXTENT))
    if outside:
        beyond = (_("{outside} of them lie outside the square [−{extent:g}, {extent:g}]²: nothing pulls an "
                    "autoencoder's codes towards the origin.") if run.config.model == "ae"
                  else _("{outside} of them lie outside the square [−{extent:g}, {extent:g}]²."))
        caption += " " + beyond.format(outside=outside, extent=EXTENT)
    return caption


def final_map(run: runs.RunSummary) -> None:
    st.markdown(f"**{escape(run.name)}**")
    try:
        plane = state.map_plane(run)
        points = project(plane, state.test_encodings(run)[:MAP_POINTS])
        labels = state.run_test_set(run).y_test
    except LabError as error:
        st.error(escape(str(error)))
        return
    chart(small_latent_map(points, labels[: len(points)], tuple(plane["axes"]), EXTENT, dataset=state.dataset_of(run)),
          key=f"runs_map_{run.name}")
    st.caption(map_caption(run, points))


def final_maps(selected: list[runs.RunSummary]) -> None:
    """Up to three maps a row, all rows with the same column widths so every map has one size."""
    per_row = min(MAPS_PER_ROW, len(selected))
    for start in range(0, len(selected), per_row):
        # The last row may be shorter: its columns keep the others' width.
        for column, run in zip(st.columns(per_row), selected[start : start + per_row], strict=False):
            with column:
                final_map(run)


ensure_app_shell("runs")
st.title(_("Compare runs"))
st.markdown(_(
    "Pick a few runs to see their learning curves on one chart and their latent maps side by side. "
    "With the seed tutorial's averaged loss the KL falls to 0: the encoder stops encoding and every "
    "digit lands in one blob at the origin, where the default VAE's digits form separate clusters. "
    "A plain autoencoder reconstructs better but has no KL at all, and a 16-D VAE reaches a lower "
    "−ELBO than a 2-D one."
))
available = state.listing().runs
if not available:
    training.first_run_prompt("runs")
    st.stop()
by_name = {run.name: run for run in available}
chosen = st.multiselect(
    _("Runs to compare"), list(by_name), default=list(by_name)[:DEFAULT_RUNS], key="runs_compared",
    max_selections=MAX_RUNS, format_func=labels_now(by_name, lambda name: by_name[name].one_line()),
)
if len(chosen) < 2:
    st.info(_("Pick two or more runs above to compare them."))
if not chosen:
    st.stop()
selected = [by_name[name] for name in chosen]

histories = readable_curves(selected)
if histories:
    chart(runs_overlay(histories), key="runs_overlay")
    st.caption(_("Solid lines: the training set, averaged over each epoch; dotted with markers: the test set at "
                 "each epoch's end. All in nats per image, whatever loss a run was trained on, so runs compare "
                 "on one scale. Click a run's name to hide or show it."))
st.dataframe(final_numbers(selected), hide_index=True, column_config={
    _(name): st.column_config.NumberColumn(format="%.1f") for name in ("test −ELBO", "test reconstruction", "test KL")
})

likelihood_table(selected)

st.subheader(_("Final latent maps"))
final_maps(selected)
st.caption(_("Every map spans [−{extent:g}, {extent:g}]² and the classes keep the explorer's colours, "
             "so a run whose codes collapsed to the prior shows as one blob at the centre.").format(extent=EXTENT))
