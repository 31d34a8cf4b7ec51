"""Train page: choose a preset or hyperparameters, train with live charts, stop at any time."""

from functools import partial

import streamlit as st

from ui import classroom, live, state, training
from ui.config_form import config_widget
from ui.formation.mount import formation
from ui.language import in_this_language, labels_now
from ui.live_curves.mount import live_curves
from ui.markdown import escape
from ui.presenter import chart
from ui.refresh import refreshing_fragment
from ui.shell import ensure_app_shell
from vae import classroom as vae_classroom
from vae.classroom import ClassroomError, student_name
from vae.config import FIELDS, PRESET_DESCRIPTIONS, PRESETS, TrainConfig
from vae.cost import duration_text, estimated_seconds
from vae.errors import LabError
from vae.i18n import N_, _, ngettext
from vae.plots import history_points, training_curves
from vae.runs import load_history, validate_run_name
from vae.states import JobState

PRESET_LABELS = {  # marked with N_, shown through _
    "default": N_("Default VAE (recommended)"),
    "tutorial": N_("Tutorial recipe (seed)"),
    "autoencoder": N_("Plain autoencoder"),
    "latent16": N_("VAE with a 16-D latent space"),
    "conv": N_("Convolutional VAE"),
    "conditional": N_("Conditional VAE (told the class)"),
}
FORM_COLUMNS = (("model", "condition", "arch", "latent_dim", "hidden_dim"),
                ("epochs", "batch_size", "train_subset", "seed"),
                ("optimizer", "learning_rate", "schedule", "loss", "beta"))
ALL_IMAGES = FIELDS["train_subset"].high  # the form's top value means "all": train_subset None


def valid_config(values: dict) -> bool:
    try:
        TrainConfig(**values)
    except LabError:
        return False
    return True


def widget_key(field: str) -> str:
    return f"train_{field}"


def apply_preset() -> None:
    """Fill every hyperparameter widget from the chosen preset; the data set chosen stays."""
    config = PRESETS[st.session_state.train_preset]
    for field in FIELDS:
        if field != "dataset" or widget_key(field) not in st.session_state:
            st.session_state[widget_key(field)] = getattr(config, field)
    st.session_state[widget_key("train_subset")] = config.train_subset or ALL_IMAGES


def hyperparameter_widgets() -> dict:
    for column, names in zip(st.columns(3), FORM_COLUMNS, strict=True):
        with column:
            for name in names:
                config_widget(name, widget_key(name), slider=name == "latent_dim")
    values = {field: st.session_state[widget_key(field)] for field in FIELDS}
    values["train_subset"] = None if values["train_subset"] >= ALL_IMAGES else values["train_subset"]
    return values


FORM_KEYS = ["train_preset", *(widget_key(field) for field in FIELDS)]


def restore_form() -> None:
    """Streamlit forgets a widget's value when its page is not shown; keep the form's settings
    in a plain session key so they survive a visit to another page."""
    for key, value in st.session_state.get("train_form_saved", {}).items():
        if key not in st.session_state:
            st.session_state[key] = value


def remember_form() -> None:
    st.session_state.train_form_saved = {key: st.session_state[key] for key in FORM_KEYS if key in st.session_state}


def student_limits_text(limits, values: dict) -> str:
    """What this class allows each student, and what the form's training would take."""
    return ngettext(
        "In this class each student may have {jobs} training queued or running, of at most {epochs} epochs on "
        "{images:,} training images and about {minutes} min of training here. This one: about {estimate}.",
        "In this class each student may have {jobs} trainings queued or running, of at most {epochs} epochs on "
        "{images:,} training images and about {minutes} min of training here. This one: about {estimate}.",
        limits.jobs,
    ).format(jobs=limits.jobs, epochs=limits.epochs, images=limits.images, minutes=limits.minutes,
             estimate=duration_text(estimated_seconds(TrainConfig(**values))))


def settings_form() -> None:
    restore_form()
    if "train_preset" not in st.session_state:
        st.session_state.train_preset = "default"
        apply_preset()
    preset_column, data_column = st.columns([2, 1])
    preset_column.selectbox(_("Preset"), list(PRESETS), key="train_preset",
                            format_func=labels_now(PRESETS, lambda preset: _(PRESET_LABELS[preset])),
                            on_change=apply_preset)
    with data_column:
        config_widget("dataset", widget_key("dataset"))
    st.caption(_(PRESET_DESCRIPTIONS[st.session_state.train_preset]))
    with st.expander(_("Hyperparameters"), expanded=False):
        values = hyperparameter_widgets()
    remember_form()
    me = classroom.person()
    if me.role == "student":
        st.caption(student_limits_text(classroom.shared_state().limits, values) if valid_config(values) else "")
    name = st.text_input(_("Run name (optional)"), max_chars=80, placeholder=_("e.g. my-first-vae"),
                         help=_("Letters, digits, '-', '_' and '.'; leave empty for an automatic name."))
    if st.button(_("Start training"), type="primary"):
        try:
            config = TrainConfig(**values)
            if name:
                validate_run_name(name)
        except LabError as error:
            st.error(_("Cannot start: {error}").format(error=error))
            return
        if training.start_training(st.session_state.train_preset, config, name) is not None:
            st.rerun()


# How often the live panel redraws. On one machine every cycle the browser spends redrawing is one
# the training does not get (the curves are a canvas for that reason: see ui/live_curves).
LIVE_REFRESH_SECONDS = 2.0


def job_panel(snap) -> None:
    """One job: its progress, its Stop/Cancel (for its owner) and, once running, its live curves."""
    title = _("Your training {run}") if training.is_mine(snap) else _("Training {run}")
    st.subheader(title.format(run=escape(snap.run_name)) + by_whom(snap))
    st.progress(snap.fraction_done, text=training.progress_text(snap))
    if snap.stalled:
        st.warning(_("No progress for {seconds:.0f} s: the training process may be stuck. It is ended after "
                     "{limit:.0f} s without progress, and the queue moves on; its owner can stop it now.").format(
                         seconds=snap.seconds_since_progress, limit=training.training_queue().stall_seconds))
    training.cancel_button(snap, "panel")
    if not snap.running:
        return
    curves, latent_space = st.columns([1, 1], gap="medium")
    with curves:
        if snap.batch_points:
            live_curves(snap.batch_points, snap.epoch_points, snap.config.epochs, key=f"live_curves_{snap.id}")
    with latent_space:
        payload = live.formation_payload(snap.id)
        if payload is None:
            st.caption(_("The latent space appears here after the first moments of training."))
        else:
            formation(payload, key=f"formation_{snap.id}")
            st.caption(_("1000 test images where the encoder puts them now (colours: digits), and digits "
                         "decoded across the same plane. Watch the clusters separate as it learns."))


def owner_name(snap) -> str:
    """In classroom mode, " by <name>" of the student who queued a job (the teacher's need none)."""
    name = student_name(snap.owner)
    return " " + _("by {name}").format(name=name) if name else ""


def by_whom(snap) -> str:
    return f" ({escape(owner_name(snap).strip())})" if owner_name(snap) else ""


def queue_table(snaps) -> None:
    waiting = [snap for snap in snaps if snap.state == JobState.QUEUED]
    if not waiting:
        return
    st.markdown(_("**Waiting in the queue ({count})**").format(count=len(waiting)))
    st.dataframe(
        {_("position"): [snap.position for snap in waiting],
         _("run"): [(_("{run} (yours)").format(run=snap.run_name) if training.is_mine(snap) else snap.run_name)
                    + owner_name(snap) for snap in waiting],
         _("model"): [snap.config.describe() for snap in waiting],
         _("starts"): [training.about(snap.estimated_start_seconds) for snap in waiting]},
        hide_index=True,
    )
    for snap in waiting:
        if training.may_cancel(snap):
            whose = _("Your {run}") if training.is_mine(snap) else _("Waiting: {run}")
            where = (training.progress_text(snap) if snap.held else
                     _("position {position}, starts {when}.").format(
                         position=snap.position, when=training.about(snap.estimated_start_seconds)))
            st.caption(f"{whose.format(run=escape(snap.run_name))}{by_whom(snap)}: {where}")
            training.cancel_button(snap, "queue")


def queue_panel() -> None:
    """Every running job (anyone may watch), then the waiting line; refreshes every
    LIVE_REFRESH_SECONDS while anything is queued or running, and redraws the whole page when one
    of this session's jobs ends."""

    @refreshing_fragment(LIVE_REFRESH_SECONDS)
    def panel():
        snaps = training.training_queue().snapshots(active_only=True)
        if training.follow_finished_jobs() or not snaps:
            st.rerun(scope="app")
        error = st.session_state.pop("training_error", None)
        if error:
            st.error(error)
        for snap in [s for s in snaps if s.running]:
            job_panel(snap)
        queue_table(snaps)

    panel()


def last_finished_notice() -> None:
    """How this session's most recent finished job ended (saved, stopped, failed, cancelled)."""
    finished = [snap for snap in training.my_snapshots() if not snap.active]
    if finished:
        training.finished_notice(finished[-1])


def forget_pending_delete() -> None:
    st.session_state.pop("pending_delete", None)


# The pending deletion lives in session state, so the dialog is redrawn on every rerun until the
# person confirms, cancels or closes it: nothing is deleted by a single click. (A page script runs on
# every rerun, in the session: its title is translated each time, in the reader's language.)
@st.dialog(_("Delete this run?"), on_dismiss=forget_pending_delete)
def confirm_delete(run_name: str) -> None:
    st.write(_("Run **{run}** and its trained model will be removed for good.").format(run=escape(run_name)))
    delete, cancel = st.columns(2)
    if delete.button(_("Delete"), type="primary", key="confirm_delete"):
        forget_pending_delete()
        try:  # the classroom rules decide, where it acts: not the hidden button
            vae_classroom.delete_run(classroom.person(), state.runs_dir(), run_name)
        except ClassroomError as error:
            st.error(str(error))
            return
        except (LabError, OSError) as error:
            st.error(_("Could not delete the run: {error}").format(error=error))
            return
        st.session_state.pop(state.ACTIVE_RUN, None)
        st.rerun()
    if cancel.button(_("Cancel"), key="cancel_delete"):
        forget_pending_delete()
        st.rerun()


def delete_button(run_name: str, owner: dict | None, label: str, key: str) -> None:
    """A delete button for whoever may delete the run (teacher, local, its owner), and the dialog."""
    if classroom.may_change_owner(owner) and st.button(label, key=key):
        st.session_state.pending_delete = run_name
    if st.session_state.get("pending_delete") == run_name:
        confirm_delete(run_name)


def saved_curves() -> None:
    run = state.active_run()
    if run is None:
        return
    st.markdown(_("**Training curves of the active run** `{run}`").format(run=run.name))
    try:
        train_points, test_points = history_points(load_history(run))
    except LabError as error:
        st.error(str(error))
    else:
        chart(training_curves(train_points, test_points), key="saved_curves")
        replay_section(run)
    delete_button(run.name, run.metrics.get("owner"), _("Delete this run…"), "delete_run")


def unreadable_runs() -> None:
    """Run folders that cannot be read at all (shown to the teacher): why, and a Delete for each."""
    if not classroom.person().is_teacher:
        return
    for problem in state.listing().problems:
        st.warning(f"{escape(str(problem))}.")
        delete_button(problem.name, None, _("Delete {run}…").format(run=problem.name),
                      f"delete_unreadable_{problem.name}")


def replay_section(run) -> None:
    """How the active run's latent space formed, epoch by epoch: scrub or play it, export it."""
    st.markdown(_("**How its latent space formed, epoch by epoch**"))
    try:
        payload = state.replay(run)[1]
    except LabError as error:
        st.info(str(error))
        return
    formation(payload, key=f"replay_{run.name}")
    st.caption(_("Drag the slider or press Play to replay the training; each frame is the model at an epoch's "
                 "end."))
    for column, (image_format, mime) in zip(st.columns(2), (("gif", "image/gif"), ("webp", "image/webp")),
                                           strict=True):
        column.download_button(
            _("Export the replay ({format})").format(format=image_format.upper()),
            data=in_this_language(partial(state.replay_animation, run, image_format)),  # made when clicked
            file_name=f"{run.name}-replay.{image_format}", mime=mime, key=f"export_replay_{image_format}",
            on_click="ignore",
        )


ensure_app_shell("train")
st.title(_("Train a model"))
st.markdown(_(
    "Pick a preset and press **Start training**: the charts show the loss falling as the network learns. "
    "The loss is the negative ELBO, a reconstruction term plus a KL term that keeps the latent space tidy. "
    "Try the *Tutorial recipe* and watch its KL drop to zero: the latent space collapses."
))
training.follow_finished_jobs()
training.unavailable_notice()
if training.training_queue().snapshots(active_only=True):
    queue_panel()
else:
    last_finished_notice()
    if state.active_run() is None:
        st.info(_("There is no trained model yet: press Start training with the default preset to begin."))
st.markdown(_("**New training**"))
st.caption(_("Trainings wait in one queue for everyone and run {workers}; you can leave this page while yours "
             "runs.").format(workers=training.training_queue().workers_text()))
settings_form()
saved_curves()
unreadable_runs()
