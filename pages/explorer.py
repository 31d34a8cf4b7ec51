"""Latent explorer: drag sliders through the latent space and see the digit the decoder draws."""

import numpy as np
import streamlit as st

from ui import state, training
from ui.shell import ensure_app_shell, escape
from vae.errors import LabError
from vae.evaluate import manifold_grid, principal_components
from vae.plots import enlarge, latent_scatter, move_current_marker

EXTENT = 4.0  # sliders span [-4, 4], as the seed's grid
MAX_SLIDERS = 16
SCATTER_POINTS = 2000  # of the 10 000 test images: enough to see the clusters, light to send
DIGIT_SCALE = 10  # 28 px -> 280 px, nearest neighbour


def slider_key(index: int) -> str:
    return f"z{index}"


def clamp_slider_state(count: int) -> None:
    """Slider values kept in session state (or set by any other means) are brought into range
    before the sliders are drawn: Streamlit refuses a slider whose value is outside its bounds."""
    for index in range(count):
        value = st.session_state.get(slider_key(index))
        if value is not None:
            finite = float(value) if isinstance(value, (int, float)) and np.isfinite(value) else 0.0
            st.session_state[slider_key(index)] = float(np.clip(finite, -EXTENT, EXTENT))


def apply_scatter_click(to_latent) -> None:
    """A click (or selection) on the scatter moves the sliders there. Runs before the sliders exist,
    the only time Streamlit lets their values be set."""
    event = st.session_state.get("latent_scatter")
    points = (event or {}).get("selection", {}).get("points", [])
    if not points:
        return
    clicked = (round(float(points[0]["x"]), 3), round(float(points[0]["y"]), 3))
    if st.session_state.get("applied_click") == clicked:
        return  # the selection persists across reruns; apply each click once
    st.session_state.applied_click = clicked
    for index, value in enumerate(to_latent(*clicked)):
        st.session_state[slider_key(index)] = float(np.clip(round(value, 2), -EXTENT, EXTENT))


def scatter_view(z_test: np.ndarray):
    """(2-D points to draw, mean, components (2, d), axis titles): the latent space itself when it is
    2-D, else its first two principal components. A point (x, y) maps back to mean + x c1 + y c2."""
    if z_test.shape[1] == 2:
        return z_test, np.zeros(2, np.float32), np.eye(2, dtype=np.float32), ("z₁", "z₂")
    projected, components, mean = principal_components(z_test)
    return projected, mean, components, ("principal component 1", "principal component 2")


def session_scatter(run_name: str, projected, labels, axis_titles):
    """This session's scatter figure, built once per run; later reruns only move its marker."""
    cached = st.session_state.get("scatter_figure")
    if cached is None or cached[0] != run_name:
        figure = latent_scatter(projected[:SCATTER_POINTS], labels[:SCATTER_POINTS], (0.0, 0.0), axis_titles, EXTENT)
        cached = (run_name, figure)
        st.session_state.scatter_figure = cached
    return cached[1]


def explorer(run_name, decoder_model, z_test, labels):
    latent_dim = decoder_model.latent_dim
    shown = min(latent_dim, MAX_SLIDERS)
    projected, mean, components, axis_titles = scatter_view(z_test)

    def to_latent(x, y):
        return list((mean + x * components[0] + y * components[1])[:shown])

    @st.fragment
    def panel():
        clamp_slider_state(shown)
        apply_scatter_click(to_latent)
        controls, picture, scatter = st.columns([1.1, 1.3, 2.2], gap="medium")
        with controls:
            z = np.zeros(latent_dim, np.float32)
            for index in range(shown):
                # A default only for a new slider: one set through session state (a scatter click) has its value.
                default = {} if slider_key(index) in st.session_state else {"value": 0.0}
                z[index] = st.slider(f"z{index + 1}", -EXTENT, EXTENT, step=0.05, key=slider_key(index), **default)
            if latent_dim > MAX_SLIDERS:
                st.caption(f"Dimensions {MAX_SLIDERS + 1}–{latent_dim} stay at 0.")
        digit = decoder_model(z[None, :])[0]
        with picture:
            st.image(enlarge(digit, DIGIT_SCALE), caption="generated digit", width="stretch", output_format="PNG")
        with scatter:
            figure = session_scatter(run_name, projected, labels, axis_titles)
            st.plotly_chart(
                move_current_marker(figure, (z - mean) @ components.T),
                key="latent_scatter", on_select="rerun", selection_mode="points",
                config={"displayModeBar": False, "scrollZoom": False},
            )
            st.caption("Each dot is a test image, placed where the encoder puts it. Click anywhere to go there.")

    panel()


def grid_section(decoder_model):
    @st.fragment
    def grid():
        st.subheader("Manifold grid")
        left, right = st.columns([1, 3])
        with left:
            n = st.slider("Digits per side", 2, 30, 3, key="grid_n")
            extent = st.slider("Range ±", 0.5, 6.0, EXTENT, 0.5, key="grid_extent")
            st.caption("The seed tutorial's grid is 3 × 3 over [−4, 4]². Other dimensions are 0.")
        with right:
            image = manifold_grid(decoder_model, n, -extent, extent)
            scale = max(1, 672 // (28 * n))
            caption = f"{n}×{n} digits decoded over [−{extent:g}, {extent:g}]²"
            st.image(enlarge(image, scale), caption=caption, output_format="PNG")

    grid()


ensure_app_shell()
st.title("Latent explorer")
st.markdown(
    "Every point of the latent space is a recipe for a digit. Drag the sliders (or click the map) "
    "and the decoder draws the digit for that point at once. Notice how one digit morphs into "
    "another as you cross the borders between the coloured clusters."
)
run, data = training.run_and_data_or_stop("explorer")
try:
    decoder = state.decoder(run)
    encodings = state.test_encodings(run)
except LabError as error:
    state.show_run_error_and_stop(error)
st.caption(f"Run **{escape(run.name)}**: {run.config.describe()}")
explorer(run.name, decoder, encodings, data.y_test)
grid_section(decoder)
