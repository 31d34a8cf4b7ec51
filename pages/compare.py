"""Compare images: originals above their reconstructions, picked by class, index, at random, or worst."""

import numpy as np
import streamlit as st

from ui import state, training
from ui.language import labels_now
from ui.shell import ensure_app_shell
from vae.datasets import DataSet
from vae.errors import LabError
from vae.i18n import N_, _
from vae.plots import digit_rows

PER_ROW = 10
MODES = ("A class", "Test image number", "Random batch", "Worst of each class")  # the radio's values
MODE_LABELS = {  # each mode as shown: {item} is the data set's word for a class ("digit", "item")
    "A class": N_("A {item}"),
    "Test image number": N_("Test image number"),
    "Random batch": N_("Random batch"),
    "Worst of each class": N_("Worst of each {item}"),
}


def pick_indices(mode: str, labels: np.ndarray, errors: np.ndarray, dataset: DataSet) -> np.ndarray:
    if mode == "A class":
        digit = st.segmented_control(_(dataset.item).capitalize(), list(range(10)), default=3, key="compare_digit",
                                     format_func=labels_now(range(10), dataset.class_name)) or 0
        return np.flatnonzero(labels == digit)[:PER_ROW]
    if mode == "Test image number":
        start = st.number_input(_("First test image"), 0, len(labels) - PER_ROW, 0, key="compare_start")
        return np.arange(start, start + PER_ROW)
    if mode == "Random batch":
        if st.button(_("New random batch")) or "compare_seed" not in st.session_state:
            st.session_state.compare_seed = int(np.random.default_rng().integers(2**31))
        return np.random.default_rng(st.session_state.compare_seed).choice(len(labels), PER_ROW, replace=False)
    return np.array([np.flatnonzero(labels == d)[np.argmax(errors[labels == d])] for d in range(10)])


ensure_app_shell("compare")
st.title(_("Compare originals and reconstructions"))
st.markdown(_(
    "Top row: real test images. Bottom row: what the model draws after squeezing each one through "
    "the latent space. Look at the worst reconstructions: are they odd handwriting or model mistakes?"
))
run, data = training.run_and_data_or_stop("compare")
try:
    errors = state.test_errors(run)
    dataset = state.dataset_of(run)
    mode = st.radio(_("Show"), MODES, horizontal=True, key="compare_mode",
                    format_func=labels_now(MODES, lambda mode: _(MODE_LABELS[mode]).format(item=_(dataset.item))))
    indices = pick_indices(mode, data.y_test, errors, dataset)
    reconstructions = state.reconstructions(run, indices)
except LabError as error:
    state.show_run_error_and_stop(error)
st.image(digit_rows([data.x_test[indices], reconstructions], scale=4),
         caption=_("originals (top) and reconstructions (bottom)"), output_format="PNG")
st.dataframe(
    {_("test image"): indices, _(dataset.item): [dataset.class_name(label) for label in data.y_test[indices]],
     _("squared error"): np.round(errors[indices], 2)},
    hide_index=True,
)
