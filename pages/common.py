"""What every page shares: cached data and models, the active run, the training slot, the sidebar.

Not a page itself: app.py lists the pages with st.navigation, so this file is never shown.
"""

from __future__ import annotations

import html
import threading
from importlib import metadata
from pathlib import Path

import numpy as np
import streamlit as st

from vae import runs
from vae.config import PRESETS
from vae.data import MnistData, load_mnist
from vae.errors import LabError
from vae.evaluate import FastDecoder, encode, reconstruct, squared_error_per_image
from vae.jobs import TrainingJob, TrainingManager
from vae.runtime import start_tensorflow_at_background_priority

ACTIVE_RUN = "active_run"
# Keras models are shared by every session and not promised to be thread-safe.
KERAS_LOCK = threading.Lock()
PAGES = {
    "explorer": "pages/explorer.py",
    "train": "pages/train.py",
    "reconstruction": "pages/reconstruction.py",
    "compare": "pages/compare.py",
}


def keep_keras_state_between_reruns() -> None:
    """Stop Streamlit from calling keras.backend.clear_session() after every script run.

    Streamlit does that to free models that scripts rebuild on each rerun. This app builds none
    in its scripts (models are loaded once into st.cache_resource, trained in a worker thread),
    and the call costs ~0.45 s holding the GIL per rerun once TensorFlow is loaded (it runs a
    full gc.collect()), stalling every session; it also clears TensorFlow's kernel cache under
    a running training. Measured: a slider move took 500 ms instead of ~50 ms. The hook is a
    private Streamlit function: if it ever disappears, this does nothing.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None


def ensure_app_shell() -> None:
    """Called first by every page. Until some session has run app.py (and so st.navigation),
    Streamlit treats `pages/` as an old-style pages folder: a page opened by its address right
    after the server starts (a bookmark to /train) would run alone, without app.py's navigation
    and sidebar, and `common` would be listed as a page. Switch that mode off and rerun, which
    runs app.py with the same page. Private Streamlit state: if it disappears, this does nothing."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest turns this mode back on before every run it makes (and a rerun here would drop the
    # click being tested); there each page runs alone, which its tests allow for.
    under_app_test = type(getattr(Runtime, "_instance", None)).__name__ == "MagicMock"
    if getattr(PagesManager, "uses_pages_directory", False) and not under_app_test:
        PagesManager.uses_pages_directory = False
        st.rerun()


def app_version() -> str:
    try:
        return metadata.version("latent-lab")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]


def runs_dir() -> Path:
    return runs.default_runs_dir()


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist() -> MnistData:
    """One copy of the data for every session (read-only)."""
    return load_mnist()


def data_or_error() -> MnistData | None:
    try:
        return mnist()
    except LabError as error:
        st.error(f"{error}")
        return None


@st.cache_resource
def training_manager() -> TrainingManager:
    """The one training slot, shared by every browser session and kept across page reloads."""
    return TrainingManager()


def _folder_stamp(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(show_spinner=False, max_entries=4)
def _listing(folder: str, stamp: int) -> runs.RunListing:
    return runs.list_runs(Path(folder))


def listing() -> runs.RunListing:
    """Saved runs, re-read whenever a run is added or removed (the folder's mtime changes)."""
    folder = runs_dir()
    return _listing(str(folder), _folder_stamp(folder))


def run_stamp(run: runs.RunSummary) -> int:
    return _folder_stamp(run.path)


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _models(path: str, stamp: int):
    start_tensorflow_at_background_priority()  # before TensorFlow's first operation in this process
    encoder, decoder = runs.load_models(Path(path))
    return encoder, decoder, FastDecoder(decoder)


def models(run: runs.RunSummary):
    """(encoder, decoder, fast decoder) of a run, shared by all sessions; RunError if unloadable."""
    return _models(str(run.path), run_stamp(run))


@st.cache_resource(show_spinner="Loading the decoder…", max_entries=8)
def _explorer_decoder(path: str, stamp: int) -> FastDecoder:
    return FastDecoder.from_keras_file(Path(path) / "decoder.keras") or _models(path, stamp)[2]


def explorer_decoder(run: runs.RunSummary) -> FastDecoder:
    """The decoder for interactive use: read without TensorFlow when it is dense (fast start)."""
    return _explorer_decoder(str(run.path), run_stamp(run))


@st.cache_resource(show_spinner="Encoding the test set…", max_entries=8)
def _encodings(path: str, stamp: int, latent_dim: int) -> np.ndarray:
    x_test = mnist().x_test
    saved = runs.load_test_encodings(Path(path), len(x_test), latent_dim)
    if saved is not None:
        return saved
    encoder, _, _ = _models(path, stamp)
    with KERAS_LOCK:
        return encode(encoder, x_test)[0]


def test_encodings(run: runs.RunSummary) -> np.ndarray:
    """z_mean of every test image for a run: saved with the run, else computed (cached; read-only)."""
    return _encodings(str(run.path), run_stamp(run), run.config.latent_dim)


@st.cache_resource(show_spinner="Reconstructing the test set…", max_entries=4)
def _reconstructions(path: str, stamp: int) -> tuple[np.ndarray, np.ndarray]:
    encoder, decoder, _ = _models(path, stamp)
    with KERAS_LOCK:
        images = reconstruct(encoder, decoder, mnist().x_test)
    return squared_error_per_image(mnist().x_test, images), images


def test_reconstructions(run: runs.RunSummary) -> tuple[np.ndarray, np.ndarray]:
    """(per-image squared error, reconstruction) of every test image for a run (cached; read-only)."""
    return _reconstructions(str(run.path), run_stamp(run))


def active_run() -> runs.RunSummary | None:
    """The run chosen in the sidebar, or the newest one."""
    available = listing().runs
    if not available:
        return None
    by_name = {run.name: run for run in available}
    return by_name.get(st.session_state.get(ACTIVE_RUN)) or available[0]


def set_active_run(name: str) -> None:
    st.session_state[ACTIVE_RUN] = name


def apply_run_query_parameter(names: list[str]) -> None:
    """`?run=NAME` in the address opens that run (a link a teacher can share); once per session."""
    requested = st.query_params.get("run")
    if requested is None or st.session_state.get("query_run_applied"):
        return
    st.session_state.query_run_applied = True
    if requested in names:
        set_active_run(requested)
    else:
        shown = requested if len(requested) <= 60 else requested[:60] + "…"
        st.warning(f"There is no run named “{escape(shown)}”; showing the newest run instead.")


def sidebar() -> None:
    with st.sidebar:
        current = listing()
        if current.runs:
            names = [run.name for run in current.runs]
            apply_run_query_parameter(names)
            summaries = {run.name: run.one_line() for run in current.runs}
            chosen = active_run()
            selected = st.selectbox(
                "Active run", names, index=names.index(chosen.name),
                format_func=lambda name: summaries[name], help="The trained model every page shows.",
            )
            set_active_run(selected)
        else:
            st.caption("No saved runs yet.")
        if current.problems:
            with st.expander(f"{len(current.problems)} run(s) could not be read"):
                for problem in current.problems:
                    st.caption(problem)
        job = training_manager().job
        if job is not None and job.snapshot().active:
            snap = job.snapshot()
            st.caption(f"Training {snap.run_name}: {snap.fraction_done:.0%}")
        st.caption(f"Latent Lab {app_version()} · runs in `{runs_dir()}`")


def start_training(preset_name: str, config, name: str | None = None) -> TrainingJob | None:
    """Start a training job, or show why it cannot start. Returns the job if it started."""
    data = data_or_error()
    if data is None:
        return None
    start_tensorflow_at_background_priority()
    try:
        return training_manager().start(config, data, runs_dir(), name or None, preset_name)
    except LabError as error:
        st.error(str(error))
        return None


def first_run_prompt(page_key: str) -> None:
    """Shown by a page that needs a trained model when there is none: one sentence, one button."""
    job = training_manager().job
    if job is not None and job.snapshot().active:
        st.info("A model is training right now; this page fills in as soon as it is saved.")
        training_status(job)
        return
    st.info("There is no trained model yet. Train the default VAE (a minute or two) to begin.")
    if st.button("Train the default model", type="primary", key=f"first-run-{page_key}"):
        job = start_training("default", PRESETS["default"])
        if job is not None:
            st.rerun()


def run_and_data_or_stop(page_key: str) -> tuple[runs.RunSummary, MnistData]:
    """The active run and the data a page needs; if either is missing, say so and end the page."""
    run = active_run()
    if run is None:
        first_run_prompt(page_key)
        st.stop()
    data = data_or_error()
    if data is None:
        st.stop()
    return run, data


def show_run_error_and_stop(error: LabError) -> None:
    st.error(f"{error}. Pick another run in the sidebar, or train a new one.")
    st.stop()


def training_status(job: TrainingJob) -> None:
    """A small self-refreshing progress bar; reruns the whole page when training ends."""

    @st.fragment(run_every=1.0)
    def status():
        snap = job.snapshot()
        if not snap.active:
            if snap.state == "failed":
                st.error(snap.message)
            else:
                set_active_run(snap.run_name)
                st.rerun(scope="app")
            return
        st.progress(snap.fraction_done, text=progress_text(snap))

    status()


def progress_text(snap) -> str:
    if snap.epoch == 0:
        return "Starting…"
    eta = "" if not np.isfinite(snap.eta_seconds) else f" · about {snap.eta_seconds:.0f} s left"
    return (f"Epoch {snap.epoch}/{snap.config.epochs} · batch {snap.batch}/{snap.batches_per_epoch}"
            f" · {snap.fraction_done:.0%}{eta}")


def escape(text: str) -> str:
    """For names shown in markdown: a run name can never inject HTML or markdown."""
    return html.escape(text).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
