"""The model while it trains, as the pages show it: the latest snapshot of its latent space
(vae.snapshots) packed for the formation view and for the latent map, and the explorer's live mode
before (or instead of) a saved run."""

from __future__ import annotations

import streamlit as st

from ui import state, training
from ui.formation import pack as formation_pack
from ui.latent_map import pack as map_pack
from ui.latent_map import weight_grid
from ui.latent_map.mount import latent_map
from ui.markdown import escape
from ui.refresh import refreshing_fragment
from vae import cost, runs, timeline
from vae.datasets import DATASETS, DataSet
from vae.i18n import N_, _
from vae.snapshots import LIVE_DECODER_MAX_BYTES, SHOWN_CLASS, Snapshot

LIVE_EXPLORER_REFRESH_SECONDS = 1.0  # how soon a new epoch's model reaches the explorer
# session state: job id -> {"epoch" last sent, "base" it was sent as a change from, "run" the job saves}
LIVE_HELD = "live_map_held"
# What a data set's images show, in the plural, for a sentence (keyed by DataSet.item).
ITEMS = {"digit": N_("digits"), "item": N_("items")}


def watched_job_id() -> str | None:
    """The training to watch: this session's own (even while it waits in the queue), else the
    first one running."""
    active = training.training_queue().snapshots(active_only=True)
    mine = [snap for snap in active if training.is_mine(snap)]
    chosen = mine or [snap for snap in active if snap.running]
    return chosen[0].id if chosen else None


def _job_dataset(job_id: str) -> DataSet:
    job = training.training_queue().snapshot(job_id)
    return DATASETS[job.config.dataset if job is not None else "mnist"]


# Keyed by (job, epoch): the same snapshot gives the same bytes, so the browser keeps its copy
# between refreshes and is sent a new one only when a new snapshot arrives.
@st.cache_resource(show_spinner=False, max_entries=8)
def _formation_payload(job_id: str, epoch: float, dataset: str, _snapshot: Snapshot) -> bytes:
    return formation_pack.live_payload(_snapshot, state.test_set(dataset).y_test, DATASETS[dataset].class_names)


@st.cache_resource(show_spinner=False, max_entries=4)
def _weight_chain(job_id: str) -> weight_grid.Chain:
    """The training's weights on one grid, shared by this process's sessions (ui/latent_map/weight_grid.py)."""
    return weight_grid.Chain()


# Keyed by the epoch the viewer already holds too: viewers one epoch behind share one change.
@st.cache_resource(show_spinner=False, max_entries=8)
def _map_payload(job_id: str, epoch: float, base: float | None, dataset: str, _snapshot: Snapshot) -> bytes | None:
    labels = state.test_set(dataset).y_test[: len(_snapshot.z)]
    # The untrained model (before its first step) draws an almost flat grey, so its check says nothing of
    # the grid a trained one needs: it goes whole on a grid of its own, and the training's starts after.
    live = map_pack.LiveWeights(_weight_chain(job_id), f"live-{job_id}", epoch, base) if epoch > 0 else None
    return map_pack.map_payload(f"live-{job_id}", _snapshot.decoder, _snapshot.z, labels, DATASETS[dataset].class_names,
                                live=live)


def _held_epoch(job_id: str, run_name: str, epoch: float) -> float | None:
    """The epoch whose weights this session's browser holds, for the change to `epoch`: the one it
    was last sent before it. A page shown again at the same epoch gets the same bytes (Streamlit then
    sends none). `run_name`: the run the job saves, for the saved map (saved_map_payload)."""
    held = st.session_state.setdefault(LIVE_HELD, {})
    record = held.get(job_id)
    if record is None or record["epoch"] != epoch:
        held[job_id] = record = {"epoch": epoch, "base": record["epoch"] if record else None, "run": run_name}
    return record["base"]


def _forget_held(job_id: str) -> None:
    """The browser lacks the weights a change was made from: send them whole next."""
    st.session_state.setdefault(LIVE_HELD, {}).pop(job_id, None)


def _training_watched(run: runs.RunSummary) -> tuple[str, float] | None:
    """(job id, last epoch sent) of the training of `run` whose live map this session watched, if any."""
    for job_id, record in st.session_state.get(LIVE_HELD, {}).items():
        if record["run"] == run.name:
            return job_id, record["epoch"]
    return None


def saved_map_payload(run: runs.RunSummary) -> bytes | None:
    """A saved run's map for a browser that watched it train: its weights as the change from the
    training's last epoch this session was sent (nearly nothing: the saved model is that epoch's, or
    a few steps on), not 0.29 MB again for each student of a class at once; None where it cannot be
    (a conditional run's map draws a class of its own), and state.map_payload sends them whole."""
    watched = None if run.config.conditional else _training_watched(run)
    if watched is None:
        return None
    return _saved_after_training(str(run.path), state.folder_stamp(run.path), *watched, run)


@st.cache_resource(show_spinner=False, max_entries=8)
def _saved_after_training(path: str, stamp: int, job_id: str, held: float, _run: runs.RunSummary) -> bytes | None:
    return state.build_map_payload(_run, live=map_pack.LiveWeights(_weight_chain(job_id), f"live-{job_id}", "saved",
                                                                   held))


def forget_training_of(run: runs.RunSummary) -> None:
    """The browser lacks the codes a saved run's map was sent as a change from: send them whole."""
    watched = _training_watched(run)
    if watched is not None:
        _forget_held(watched[0])


def formation_payload(job_id: str) -> bytes | None:
    """The latest snapshot of a training job for the formation view; None before the first."""
    snapshot = training.training_queue().live_snapshot(job_id)
    if snapshot is None:
        return None
    return _formation_payload(job_id, snapshot.epoch, _job_dataset(job_id).name, snapshot)


def explorer_snapshot(job_id: str) -> Snapshot | None:
    """The explorer's model: the latest finished epoch's (refreshed once per epoch), or, before
    the first epoch ends, the latest one (the first is of the model before its first step). Asking
    for it tells the training to stream its decoder; one over vae.snapshots.LIVE_DECODER_MAX_BYTES
    never is."""
    return training.training_queue().live_decoder_snapshot(job_id)


def live_explorer(job_id: str) -> None:
    """The latent map of the model being trained, decoded in the browser with its latest weights;
    refreshes itself, and redraws the page when the training ends (its run is then saved)."""

    @refreshing_fragment(LIVE_EXPLORER_REFRESH_SECONDS)
    def live_map():
        job = training.training_queue().snapshot(job_id)
        if job is None or not job.active:
            training.follow_finished_jobs()
            st.rerun(scope="app")
        snapshot = explorer_snapshot(job_id)
        st.progress(job.fraction_done, text=f"{escape(job.run_name)}: {training.progress_text(job)}")
        training.cancel_button(job, "live")
        if snapshot is None:
            if 4 * cost.parameter_counts(job.config)[1] > LIVE_DECODER_MAX_BYTES:
                st.info(_("This model is too large to stream while it trains; its map appears when the run is "
                          "saved."))
            else:
                st.info(_("The map appears here a moment after this training starts learning."))
            return
        dataset = DATASETS[job.config.dataset]
        told = (" " + _("This model is told each image's class: the map is of style, and it draws {a_class} "
                        "everywhere (pick any class once the run is saved).").format(a_class=dataset.a(SHOWN_CLASS))
                if job.config.conditional else "")
        items = _(ITEMS[dataset.item]) if dataset.item in ITEMS else f"{dataset.item}s"
        st.markdown(_("**Training, {epoch}**: the map and the {items} come from the model as it is now, and change "
                      "as it learns. Drag across the map to decode any point.").format(epoch=snapshot.label(),
                                                                                        items=items) + told)
        held = _held_epoch(job_id, job.run_name, snapshot.epoch)
        payload = _map_payload(job_id, snapshot.epoch, held, dataset.name, snapshot)
        if payload is None:
            st.info(_("This model's decoder cannot run in the browser; its map appears when the run is saved."))
            return
        latent_map(payload, key=f"latent-map-live-{job_id}", on_missing=lambda: _forget_held(job_id))
        timeline.mark(f"page: job {job_id} live map sent to a browser")

    live_map()
