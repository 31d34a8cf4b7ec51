"""Reconstruction errors: the seed's table, per digit (or per item of clothing), for one run or several of
one data set side by side."""

import pandas as pd
import streamlit as st

from ui import state, training
from ui.language import labels_now
from ui.markdown import escape
from ui.presenter import chart
from ui.shell import ensure_app_shell
from vae.i18n import N_, _
from vae.plots import per_class_error_bars

# The table's last row, by the data set's word for a class (DataSet.item): whole phrases, as a
# translation puts its article and plural on the word.
ALL_CLASSES = {"digit": N_("all digits"), "item": N_("all items")}


def error_table(selected) -> pd.DataFrame:
    """Long table (run, digit, mean_sse) from each run's saved test metrics; runs of another data set
    than the first's are left out (their classes are other things)."""
    rows = []
    for run in selected:
        if run.config.dataset != selected[0].config.dataset:
            st.warning(_("Run {run} was trained on {dataset}, not {first}; it is left out.").format(
                run=escape(run.name), dataset=state.dataset_of(run).title, first=state.dataset_of(selected[0]).title))
            continue
        values = run.metrics.get("per_class_sse")
        if not isinstance(values, list) or len(values) != 10:
            st.warning(_("Run {run} has no per-digit errors saved; it is left out.").format(run=escape(run.name)))
            continue
        rows += [{"run": run.name, "digit": digit, "mean_sse": value} for digit, value in enumerate(values)]
    return pd.DataFrame(rows, columns=["run", "digit", "mean_sse"])


ensure_app_shell("reconstruction")
st.title(_("Reconstruction errors by class"))
st.markdown(_(
    "Each test image is squeezed through the latent space and drawn again; the bar is the average "
    "squared difference for each digit, or each kind of clothing (lower is better). Compare a VAE with a plain "
    "autoencoder, or with a larger latent space: which classes are hardest, and who reconstructs better?"
))
runs_available = state.listing().runs
active = state.active_run()
if active is None:
    training.first_run_prompt("reconstruction")
    st.stop()
by_name = {run.name: run for run in runs_available}
chosen = st.multiselect(
    _("Runs to compare"), list(by_name), default=[active.name], key="compare_runs",
    format_func=labels_now(by_name, lambda name: by_name[name].one_line()),
)
if not chosen:
    st.info(_("Choose at least one run above."))
    st.stop()
table = error_table([by_name[name] for name in chosen])
if table.empty:
    st.stop()
dataset = state.dataset_of(by_name[chosen[0]])
shown = list(dict.fromkeys(table["run"]))
chart(per_class_error_bars(table, dataset), key="per_class_bars")
wide = table.pivot(index="digit", columns="run", values="mean_sse")[shown]
wide.index = [dataset.class_name(label) for label in wide.index]
everything = ALL_CLASSES.get(dataset.item)
wide.loc[_(everything) if everything else f"all {dataset.item}s"] = [
    by_name[name].metrics.get("mean_sse", float("nan")) for name in shown]
st.dataframe(wide.style.format("{:.2f}"), width="stretch")
st.download_button(
    _("Download the table (CSV)"), wide.to_csv(index_label=_(dataset.item)).encode(),
    file_name=f"per_{dataset.item}_reconstruction_error.csv", mime="text/csv",
)
st.caption(_("Mean over the {dataset} test images of each {item} of the per-image sum of squared "
             "pixel errors; each image is reconstructed from its z_mean.").format(dataset=dataset.title,
                                                                                   item=_(dataset.item)))
