"""Runs, data and models as the pages see them: cached once for every session, read without
TensorFlow (models run in numpy from each run's weights.npz), and the session's active run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from ui import classroom
from ui.formation import pack as formation_pack
from ui.latent_map import pack
from ui.markdown import escape
from vae import runs, snapshots
from vae.animation import animation
from vae.classroom import may_see
from vae.config import CLASSES
from vae.data import MnistData, default_cache_dir
from vae.datasets import DATASETS, DataSet, load_dataset
from vae.drawing import drawing_from_png
from vae.errors import LabError
from vae.evaluate import IW_SAMPLES, decode, given_for, iw_neg_log_likelihood, manifold_grid, neg_elbo
from vae.i18n import _, current_language
from vae.numpy_model import NumpyModel, given_label
from vae.plots import enlarge, png
from vae.snapshots import Replay

ACTIVE_RUN = "active_run"

# The slow loads below show a spinner from inside the cached function, not through `show_spinner`
# (a text fixed at import, in English): the body runs only on a miss, in the session that waits for
# it, so the spinner shows then only, in that session's language.


def runs_dir() -> Path:
    return runs.default_runs_dir()


@st.cache_resource(show_spinner=False)
def test_set(dataset: str = "mnist") -> MnistData:
    """A data set's 10 000 test images, one read-only copy for every session. The training images
    stay in the training processes: the server never needs them."""
    with st.spinner(_("Loading the test images…")):
        return load_dataset(dataset, with_training_set=False)


def data_or_error(dataset: str = "mnist") -> MnistData | None:
    try:
        return test_set(dataset)
    except LabError as error:
        st.error(f"{error}")
        return None


def run_test_set(run: runs.RunSummary) -> MnistData:
    """The test images of the data set the run was trained on."""
    return test_set(run.config.dataset)


def dataset_of(run: runs.RunSummary) -> DataSet:
    return DATASETS[run.config.dataset]


def folder_stamp(folder: Path) -> int:
    """Changes whenever the folder's entries change: a cache key that follows the disk."""
    return _folder_stamp(folder)


def _folder_stamp(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(show_spinner=False, max_entries=8)
def _listing(folder: str, stamp: int, language: str) -> runs.RunListing:
    return runs.list_runs(Path(folder))  # an unreadable run's reason is said in `language`


def listing() -> runs.RunListing:
    """Saved runs this session may see, re-read whenever a run is added or removed (the folder's
    mtime changes). In classroom mode a student sees the teacher's runs, their own, and the class run,
    and no unreadable ones."""
    folder = runs_dir()
    every = _listing(str(folder), _folder_stamp(folder), current_language())
    me = classroom.person()
    if me.is_teacher:
        return every
    pinned = classroom.pinned_run_name(every.runs)  # the class run: everyone's, whoever trained it
    # Unreadable runs have no owner to show them to: the teacher sees them (and can delete them).
    return runs.RunListing([run for run in every.runs if run.name == pinned or may_see(me, run.metrics.get("owner"))])


@st.cache_resource(show_spinner=False, max_entries=8)
def _models(path: str, stamp: int, _run: runs.RunSummary) -> tuple[NumpyModel, NumpyModel]:
    with st.spinner(_("Loading the model…")):
        return runs.load_numpy_models(_run)


def models(run: runs.RunSummary) -> tuple[NumpyModel, NumpyModel]:
    """(encoder, decoder) of a run in numpy, shared by all sessions; RunError if unreadable. A
    conditional run's take each input with its one-hot label appended (vae.evaluate's `given`);
    `encoder` and `decoder` below give them a label, for pages that show one class."""
    return _models(str(run.path), _folder_stamp(run.path), run)


SHOWN_CLASS = "shown_class"  # session state: the class a conditional run's generated images show


def shown_class(run: runs.RunSummary) -> int | None:
    """The class a conditional run draws wherever one class is drawn (the explorer's picker sets
    it); None for a run that is told no class."""
    if not run.config.conditional:
        return None
    chosen = st.session_state.get(SHOWN_CLASS)
    return chosen if isinstance(chosen, int) and 0 <= chosen < CLASSES else snapshots.SHOWN_CLASS


def _labelled(run: runs.RunSummary, model: NumpyModel, label: int | None) -> NumpyModel:
    if not run.config.conditional:
        return model
    return given_label(model, shown_class(run) if label is None else int(label), run.config.label_inputs)


def decoder(run: runs.RunSummary, label: int | None = None) -> NumpyModel:
    """The run's decoder of z; a conditional run's draws `label` (by default the shown class)."""
    return _labelled(run, models(run)[1], label)


def encoder(run: runs.RunSummary, label: int | None = None) -> NumpyModel:
    """The run's encoder of an image; a conditional run's is told the image is `label`."""
    return _labelled(run, models(run)[0], label)


@st.cache_resource(show_spinner=False, max_entries=8)
def _encodings(path: str, stamp: int, n_test: int, _run: runs.RunSummary) -> np.ndarray:
    return runs.load_test_encodings(_run, n_test)


def test_encodings(run: runs.RunSummary) -> np.ndarray:
    """z_mean of every test image, as the training process saved it (cached; read-only)."""
    return _encodings(str(run.path), _folder_stamp(run.path), len(run_test_set(run).y_test), run)


@st.cache_resource(show_spinner=False, max_entries=8)
def _errors(path: str, stamp: int, n_test: int, _run: runs.RunSummary) -> np.ndarray:
    return runs.load_test_errors(_run, n_test)


def test_errors(run: runs.RunSummary) -> np.ndarray:
    """Each test image's squared reconstruction error, as the training process saved it."""
    return _errors(str(run.path), _folder_stamp(run.path), len(run_test_set(run).y_test), run)


def reconstructions(run: runs.RunSummary, indices: np.ndarray) -> np.ndarray:
    """The chosen test images decoded from their saved z_mean (a few at a time: cheap in numpy),
    each as its own class for a conditional run."""
    given = given_for(run.config, run_test_set(run).y_test[indices])
    return decode(models(run)[1], test_encodings(run)[indices], given)


@st.cache_data(show_spinner=False, max_entries=32)
def _likelihood(path: str, stamp: int, images: int, _run: runs.RunSummary) -> dict[str, float]:
    def compute() -> dict[str, float]:
        encoder, decoder = models(_run)
        data, seed = run_test_set(_run), _run.config.seed
        x, given = data.x_test[:images], given_for(_run.config, data.y_test[:images])
        return {"neg_elbo": neg_elbo(encoder, decoder, x, seed=seed, given=given)["neg_elbo"],
                "iw_nll": iw_neg_log_likelihood(encoder, decoder, x, IW_SAMPLES, seed=seed, given=given)}

    return runs.remembered_likelihood(Path(path), images, IW_SAMPLES, default_cache_dir(), compute)


def likelihood(run: runs.RunSummary, images: int) -> dict[str, float]:
    """A VAE run's -ELBO and importance-weighted bound on the first `images` test images, in numpy
    from its saved arrays; computed once for every session, and kept on disk for every process and
    every copy of the run (vae/runs/bounds.py). RunError if the run is unreadable."""
    return _likelihood(str(run.path), _folder_stamp(run.path), images, run)


@st.cache_resource(show_spinner=False, max_entries=8)
def _map_plane(path: str, stamp: int, _run: runs.RunSummary) -> dict:
    return pack.map_plane(test_encodings(_run))


def map_plane(run: runs.RunSummary) -> dict:
    """The plane the map shows (for d > 2 an SVD of the encodings: computed once per run)."""
    return _map_plane(str(run.path), _folder_stamp(run.path), run)


@st.cache_resource(show_spinner=False, max_entries=16)
def _map_payload(path: str, stamp: int, label: int | None, _run: runs.RunSummary) -> bytes | None:
    return build_map_payload(_run, label)


def build_map_payload(run: runs.RunSummary, label: int | None = None, live: pack.LiveWeights | None = None
                      ) -> bytes | None:
    """A run's map payload, uncached (map_payload caches it): its weights whole, or as the change
    `live` describes (ui.live.saved_map_payload)."""
    return pack.map_payload(run.name, decoder(run, label), test_encodings(run), run_test_set(run).y_test,
                            dataset_of(run).class_names, label, live=live)


def map_payload(run: runs.RunSummary) -> bytes | None:
    """What the latent map sends to the browser for this run (a conditional run's: for the shown
    class), built once: the same object, and so the same bytes, on every rerun (the browser then
    keeps its copy). None if the decoder cannot run in the browser."""
    return _map_payload(str(run.path), _folder_stamp(run.path), shown_class(run), run)


@st.cache_resource(show_spinner=False, max_entries=8)
def _replay(path: str, stamp: int, _run: runs.RunSummary) -> tuple[Replay, bytes]:
    replay = runs.load_replay(_run)
    return replay, formation_pack.replay_payload(replay, run_test_set(_run).y_test, dataset_of(_run).class_names)


def replay(run: runs.RunSummary) -> tuple[Replay, bytes]:
    """The run's epoch snapshots and the formation view's payload of them (read once per run);
    RunError if the run has none."""
    return _replay(str(run.path), _folder_stamp(run.path), run)


@st.cache_resource(show_spinner=False, max_entries=4)
def _replay_animation(path: str, stamp: int, image_format: str, language: str, _run: runs.RunSummary) -> bytes:
    with st.spinner(_("Making the animation…")):
        return animation(replay(_run)[0], run_test_set(_run).y_test, _run.name, image_format, language)


def replay_animation(run: runs.RunSummary, image_format: str, language: str | None = None) -> bytes:
    """The run's epoch replay as an animated GIF or WebP, its frames titled in `language` (by default
    the session's; a download made after the page's run, outside the session, must say which): made
    once per run, format and language, then served to every session from memory (a 10-epoch GIF
    takes about a second to make)."""
    language = language or current_language()
    return _replay_animation(str(run.path), _folder_stamp(run.path), image_format, language, run)


@st.cache_resource(show_spinner=False, max_entries=16)
def _manifold(path: str, stamp: int, n: int, extent: float, label: int | None,
              _run: runs.RunSummary) -> tuple[np.ndarray, bytes]:
    image = enlarge(manifold_grid(decoder(_run, label), n, -extent, extent), max(1, 672 // (28 * n)))
    return image, png(image)


def manifold(run: runs.RunSummary, n: int, extent: float) -> tuple[np.ndarray, bytes]:
    """The n × n manifold grid over [-extent, extent]² (as shown, and as a PNG; a conditional run's
    in the shown class), made once per run and setting: a 30 × 30 grid is 900 decodes and a 672-px
    PNG, shared by every session."""
    return _manifold(str(run.path), _folder_stamp(run.path), n, float(extent), shown_class(run), run)


@st.cache_data(show_spinner=False, max_entries=256)
def image_png(image: np.ndarray) -> bytes:
    """An image as the PNG st.image sends, encoded once for every session that shows it (the same
    test image, walk or question on many screens; the class map's panels redraw every second or two):
    given an array, st.image encodes it again on every run."""
    return png(image)


@st.cache_data(show_spinner=False, max_entries=256)
def prepared_drawing(png: bytes) -> np.ndarray:
    """The pad's drawing, MNIST-style: decoded once per drawing, not on every rerun (the pad keeps
    its value); DrawingError is not cached, but is cheap (the size check comes first)."""
    return drawing_from_png(png)


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
        st.warning(_("There is no run named “{name}”; showing the newest run instead.").format(name=escape(shown)))


def show_run_error_and_stop(error: LabError) -> None:
    st.error(_("{error}. Pick another run in the sidebar, or train a new one.").format(error=error))
    st.stop()
