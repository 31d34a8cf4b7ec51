"""Reconstruction errors: the seed's table, per digit, for one run or several side by side."""

import pandas as pd
import streamlit as st

from ui import state, training
from ui.markdown import escape
from ui.shell import ensure_app_shell
from vae.plots import per_class_error_bars


def error_table(selected) -> pd.DataFrame:
    """Long table (run, digit, mean_sse) from each run's saved test metrics."""
    rows = []
    for run in selected:
        values = run.metrics.get("per_class_sse")
        if not isinstance(values, list) or len(values) != 10:
            st.warning(f"Run {escape(run.name)} has no per-digit errors saved; it is left out.")
            continue
        rows += [{"run": run.name, "digit": digit, "mean_sse": value} for digit, value in enumerate(values)]
    return pd.DataFrame(rows, columns=["run", "digit", "mean_sse"])


ensure_app_shell("reconstruction")
st.title("Reconstruction errors by digit")
st.markdown(
    "Each test image is squeezed through the latent space and drawn again; the bar is the average "
    "squared difference for each digit (lower is better). Compare a VAE with a plain autoencoder, or "
    "with a larger latent space: which digits are hardest, and who reconstructs better?"
)
runs_available = state.listing().runs
active = state.active_run()
if active is None:
    training.first_run_prompt("reconstruction")
    st.stop()
by_name = {run.name: run for run in runs_available}
chosen = st.multiselect(
    "Runs to compare", list(by_name), default=[active.name], key="compare_runs",
    format_func=lambda name: by_name[name].one_line(),
)
if not chosen:
    st.info("Choose at least one run above.")
    st.stop()
table = error_table([by_name[name] for name in chosen])
if table.empty:
    st.stop()
st.plotly_chart(per_class_error_bars(table), key="per_class_bars", config={"displayModeBar": False})
wide = table.pivot(index="digit", columns="run", values="mean_sse")[chosen]
wide.index = wide.index.astype(str)
wide.loc["all digits"] = [by_name[name].metrics.get("mean_sse", float("nan")) for name in chosen]
st.dataframe(wide.style.format("{:.2f}"), width="stretch")
st.download_button(
    "Download the table (CSV)", wide.to_csv(index_label="digit").encode(),
    file_name="per_digit_reconstruction_error.csv", mime="text/csv",
)
st.caption("Mean over the 10 000 test images of each digit of the per-image sum of squared pixel errors; "
           "each image is reconstructed from its z_mean.")
