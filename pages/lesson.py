"""Lesson: the seed R/Keras tutorial retold one step at a time, each step with the code of this app
that does it (read as text: the web server never imports TensorFlow) and what the active run shows."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from ui import state, training
from ui.formation.mount import formation
from ui.language import labels_now
from ui.markdown import escape
from ui.presenter import chart, figure_scale, presenter_on, presenter_switch
from ui.shell import ensure_app_shell
from vae import explore
from vae.config import PRESETS
from vae.data import IMAGE_PIXELS, MnistData
from vae.errors import LabError
from vae.evaluate import manifold_grid, per_class_table
from vae.i18n import N_, _
from vae.numpy_model import Layer, NumpyModel
from vae.plots import digit_rows, enlarge, history_points, per_class_error_bars, training_curves
from vae.runs import RunSummary, load_history
from vae.source_code import source_of

STEP = "lesson_step"
SAMPLE_SEED = "lesson_sample_seed"
DIGITS_SHOWN = 10
SAMPLES = 8
SAMPLED_IMAGE = 0  # the first test image, a 7
# The preset that bears out each closing remark, and how to recognise any run that does.
CLOSING_REMARKS = {
    "autoencoder": lambda run: run.config.model == "ae",
    "latent16": lambda run: run.config.latent_dim > 2,
}


@dataclass(frozen=True)
class Step:
    title: str  # title, text and the link's label: marked N_ in STEPS, translated where shown
    text: str
    code: tuple[tuple[str, str], ...]  # (file, qualified name) of each block shown
    show_run: Callable[[RunSummary, MnistData], None]
    link: tuple[str, str]  # (page, label)


# --- What each step shows of the active run ------------------------------------------------------


def layer_table(model: NumpyModel, head_names: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per layer of a numpy twin, with the shapes of its weights as saved."""
    named = [(_("layer {number}").format(number=number), layer) for number, layer in enumerate(model.trunk, start=1)]
    named += list(zip(head_names, model.heads, strict=True))
    return pd.DataFrame([layer_row(name, layer) for name, layer in named]).set_index(_("layer"))


def layer_row(name: str, layer: Layer) -> dict:
    return {
        _("layer"): name,
        _("kind"): layer.kind,
        _("activation"): layer.settings.get("activation", "—"),
        _("weight shapes"): ", ".join(" × ".join(map(str, w.shape)) for w in layer.weights) or "—",
        _("parameters"): sum(w.size for w in layer.weights),
    }


def show_test_digits(run: RunSummary, data: MnistData) -> None:
    images = data.x_test[:DIGITS_SHOWN]
    names = ", ".join(_(state.dataset_of(run).class_name(label)) for label in data.y_test[:DIGITS_SHOWN])
    st.image(digit_rows([images], scale=figure_scale(3)), output_format="PNG",
             caption=_("The first test images: {names}").format(names=names))
    st.caption(_("x_test holds {numbers} numbers per image, {images:,} images; pixels from {low:.2f} to {high:.2f}.")
               .format(numbers=images.shape[1], images=len(data.x_test), low=data.x_test.min(),
                       high=data.x_test.max()))


def show_encoder(run: RunSummary, data: MnistData) -> None:
    encoder = state.models(run)[0]
    st.table(layer_table(encoder, ("z_mean", "z_log_var")))
    st.caption(_("The encoder of {run}, read from its saved weights: {config}.")
               .format(run=escape(run.name), config=run.config.describe()))


def listed(values: np.ndarray, shown: int = 6) -> str:
    return ", ".join(f"{v:.2f}" for v in values[:shown]) + (", …" if len(values) > shown else "")


def new_samples() -> None:
    st.session_state[SAMPLE_SEED] = st.session_state.get(SAMPLE_SEED, 0) + 1


def show_sampling(run: RunSummary, data: MnistData) -> None:
    label = data.y_test[SAMPLED_IMAGE]  # a conditional run is told the image's class
    encoder, decoder = state.encoder(run, label), state.decoder(run, label)
    z_mean, z_log_var = explore.posterior(encoder, data.x_test[SAMPLED_IMAGE])
    sigma = np.exp(0.5 * z_log_var)
    st.markdown(_("Test image {index} ({label}): z_mean = ({z_mean}), σ = ({sigma})").format(
        index=SAMPLED_IMAGE, label=state.dataset_of(run).a(data.y_test[SAMPLED_IMAGE]), z_mean=listed(z_mean),
        sigma=listed(sigma)))
    if run.config.model == "ae":
        st.info(_("This run is a plain autoencoder: it decodes z_mean itself and never samples."))
        return
    rng = np.random.default_rng(st.session_state.get(SAMPLE_SEED, 0))
    samples = decoder(explore.sample_posterior(z_mean, z_log_var, SAMPLES, rng))
    st.image(digit_rows([[data.x_test[SAMPLED_IMAGE]], samples], scale=figure_scale(3)), output_format="PNG",
             caption=_("The image, and below it {count} samples z = z_mean + σ·ε, decoded").format(count=SAMPLES))
    st.button(_("Draw new ε"), key="lesson_new_samples", on_click=new_samples)


def show_decoder(run: RunSummary, data: MnistData) -> None:
    st.table(layer_table(state.models(run)[1]))
    indices = np.arange(DIGITS_SHOWN)
    st.image(digit_rows([data.x_test[indices], state.reconstructions(run, indices)], scale=figure_scale(3)),
             output_format="PNG", caption=_("Test images (top) and their reconstructions from z_mean (bottom)"))


def show_losses(run: RunSummary, data: MnistData) -> None:
    reconstruction = run.metrics.get("test_reconstruction_loss")
    kl = run.metrics.get("test_kl_loss")
    if not isinstance(reconstruction, (int, float)) or not isinstance(kl, (int, float)):
        st.warning(_("Run {run} has no test losses saved.").format(run=escape(run.name)))
        return
    left, middle, right = st.columns(3)
    left.metric(_("reconstruction (nats)"), f"{reconstruction:.1f}")
    middle.metric("KL (nats)", f"{kl:.2f}")
    right.metric("−ELBO (nats)", f"{reconstruction + kl:.1f}")
    if run.config.model != "ae":
        st.markdown(tutorial_weighting(reconstruction, kl, run.config.latent_dim))
    caption = (_("Test-set means per image for {run}, which was trained on the reconstruction alone "
                 "(an autoencoder: no KL).") if run.config.model == "ae"
               else {"elbo": _("Test-set means per image for {run}, which was trained on the ELBO."),
                     "tutorial": _("Test-set means per image for {run}, which was trained on the tutorial's "
                                   "averaged loss.")}[run.config.loss])
    st.caption(caption.format(run=escape(run.name)))


def tutorial_weighting(reconstruction: float, kl: float, latent_dim: int) -> str:
    averaged_reconstruction, averaged_kl = reconstruction / IMAGE_PIXELS, kl / latent_dim
    return _("Averaged as the tutorial does, the same numbers give {reconstruction:.3f} + {kl:.3f}: the KL, "
             "divided by {dimensions} instead of {pixels}, is {share:.0%} of the tutorial's loss.").format(
        reconstruction=averaged_reconstruction, kl=averaged_kl, dimensions=latent_dim, pixels=IMAGE_PIXELS,
        share=averaged_kl / (averaged_reconstruction + averaged_kl))


def show_training(run: RunSummary, data: MnistData) -> None:
    settings = ("optimizer", "learning_rate", "schedule", "epochs", "batch_size", "loss")
    configs = {_("the seed tutorial"): PRESETS["tutorial"], _("our default"): PRESETS["default"], run.name: run.config}
    table = pd.DataFrame({column: [str(getattr(config, s)) for s in settings] for column, config in configs.items()},
                         index=settings)
    st.table(table)
    train_points, test_points = history_points(load_history(run))
    chart(training_curves(train_points, test_points), key="lesson_curves")
    seconds = run.metrics.get("train_seconds")
    if isinstance(seconds, (int, float)):
        st.caption(_("How {run} learned, per image, in nats; it trained for {seconds:.0f} s.")
                   .format(run=escape(run.name), seconds=seconds))
    else:
        st.caption(_("How {run} learned, per image, in nats.").format(run=escape(run.name)))
    try:
        payload = state.replay(run)[1]
    except LabError:
        return  # a run saved before epoch snapshots were kept: the curves say enough
    formation(payload, key=f"lesson_replay_{run.name}")
    st.caption(_("Its latent space, epoch by epoch: press Play to watch the clusters form."))


def show_per_class_errors(run: RunSummary, data: MnistData) -> None:
    table = per_class_table(state.test_errors(run), data.y_test).assign(run=run.name)
    chart(per_class_error_bars(table, state.dataset_of(run)), key="lesson_per_class")
    st.caption(_("Computed just now by per_class_table from the saved per-image errors of {run}.")
               .format(run=escape(run.name)))


def show_manifold_grid(run: RunSummary, data: MnistData) -> None:
    per_side = st.select_slider(_("Digits per side"), [3, 5, 9, 15], value=3, key="lesson_grid_size")
    grid = manifold_grid(state.decoder(run), n=per_side)
    caption = (_("{side} × {side} points over [−4, 4]², decoded (z₁ left to right, z₂ bottom to top); the other "
                 "dimensions at 0") if run.config.latent_dim > 2
               else _("{side} × {side} points over [−4, 4]², decoded (z₁ left to right, z₂ bottom to top)"))
    st.image(enlarge(grid, figure_scale(max(1, 12 // per_side))), output_format="PNG",
             caption=caption.format(side=per_side))


def closing_rows(active: RunSummary, others: list[RunSummary]) -> pd.DataFrame:
    def row(run: RunSummary) -> dict:
        return {_("run"): run.name, _("preset"): run.metrics.get("preset") or _("custom"),
                _("latent dims"): run.config.latent_dim, _("test −ELBO"): run.test_neg_elbo,
                _("squared error per image"): run.metrics.get("mean_sse")}

    return pd.DataFrame([row(active), *(row(run) for run in others if run.name != active.name)]).set_index(_("run"))


def show_closing_runs(run: RunSummary, data: MnistData) -> None:
    bearing_out = {preset: [other for other in state.listing().runs if remark(other)]
                   for preset, remark in CLOSING_REMARKS.items()}
    others = list({other.name: other for runs in bearing_out.values() for other in runs}.values())
    if others:
        st.table(closing_rows(run, others).style.format(precision=2, na_rep="—"))
        st.caption(_("The active run beside every saved autoencoder and every run with more than 2 latent "
                     "dimensions (an autoencoder has no ELBO)."))
    missing = [preset for preset, runs in bearing_out.items() if not runs]  # of CLOSING_REMARKS' two
    if len(missing) == 1:
        st.info(_("To see this remark in numbers, train the **{preset}** preset on the Train page.")
                .format(preset=missing[0]))
    elif missing:
        st.info(_("To see both remarks in numbers, train the **{first}** and the **{second}** preset on the Train "
                  "page.").format(first=missing[0], second=missing[1]))


STYLE_IMAGES = (0, 1, 2)  # test images whose style the label step draws as every class


def conditional_rows(told: RunSummary, others: list[RunSummary]) -> pd.DataFrame:
    """A conditional run beside the VAE runs of its data set that were told no class."""
    def row(run: RunSummary) -> dict:
        return {_("run"): run.name, _("told the class"): _("yes") if run.config.conditional else _("no"),
                _("data set"): state.dataset_of(run).title, _("latent dims"): run.config.latent_dim,
                _("test −ELBO"): run.test_neg_elbo, "KL": run.metrics.get("test_kl_loss")}

    return pd.DataFrame([row(run) for run in [told, *others] if run.config.dataset == told.config.dataset
                         and run.config.model == "vae"]).set_index(_("run"))


def show_label_buys(run: RunSummary, data: MnistData) -> None:
    listed_runs = state.listing().runs
    told = run if run.config.conditional else next((r for r in listed_runs if r.config.conditional), None)
    if told is None:
        st.info(_("No run here was told the class yet: train the **conditional** preset on the Train page (about "
                  "as long as the default), then come back to see a style drawn as every class."))
        return
    told_data = state.run_test_set(told)
    images = [told_data.x_test[i] for i in STYLE_IMAGES]
    z = state.test_encodings(told)[list(STYLE_IMAGES)]
    dataset = state.dataset_of(told)
    rows = [[image, *explore.in_every_class(state.models(told)[1], code, len(dataset.class_names))]
            for image, code in zip(images, z, strict=True)]
    st.image(digit_rows(rows, scale=figure_scale(2)), output_format="PNG",
             caption=_("Left, a test image; then its code (its style) from {run}, decoded as every {item}: {names}")
             .format(run=escape(told.name), item=_(dataset.item), names=", ".join(map(_, dataset.class_names))))
    others = [r for r in listed_runs if not r.config.conditional]
    st.table(conditional_rows(told, others).style.format(precision=2, na_rep="—"))
    st.caption(_("The conditional run beside the runs of its data set that were not told the class. Its −ELBO "
                 "bounds −log p(x | class), the others' −log p(x): the label is information the model is given, "
                 "worth at most log 10 ≈ 2.3 nats an image if the classes are equally likely."))


# --- The steps, in the tutorial's order ----------------------------------------------------------

STEPS = (
    Step(N_("The data"), N_(
        "MNIST holds 70 000 handwritten digits of 28 × 28 grey pixels: 60 000 to train on and "
        "10 000 to test with. As in the tutorial, each image is flattened to 784 numbers and divided by 255, so "
        "every pixel is in [0, 1] and can be read as the probability that it is ink."),
        (("vae/data.py", "pixels_to_float"), ("vae/data.py", "to_float")), show_test_digits,
        ("pages/compare.py", N_("Look through the test images"))),
    Step(N_("The encoder"), N_(
        "The encoder reads the 784 pixels through one hidden layer of 256 ReLU units and ends in "
        "two heads of 2 numbers each. z_mean is where the image lands in the latent plane and z_log_var is the log "
        "of how unsure it is: each image becomes a small Gaussian cloud, q(z|x), not a single point."),
        (("vae/training/model.py", "build_encoder"),), show_encoder,
        ("pages/explorer.py", N_("See every test image's z_mean on the latent map"))),
    Step(N_("Sampling"), N_(
        "Training draws one point from each image's cloud: z = z_mean + exp(z_log_var / 2) · ε, "
        "with ε from a standard normal. All the randomness is in ε, so the gradient still reaches z_mean and "
        "z_log_var: this is the reparameterisation trick, and exp(z_log_var / 2) is the standard deviation σ."),
        (("vae/training/model.py", "Sampling"),), show_sampling,
        ("pages/explorer.py", N_("Sample the posterior of any test image"))),
    Step(N_("The decoder"), N_(
        "The decoder goes the other way: a point of the latent plane goes through 256 ReLU units to "
        "784 sigmoid outputs, one probability of ink per pixel. Encoding an image to its z_mean and decoding it "
        "gives its reconstruction."),
        (("vae/training/model.py", "build_decoder"),), show_decoder,
        ("pages/compare.py", N_("Compare more originals and reconstructions"))),
    Step(N_("The loss"), N_(
        "The loss of an image is its binary cross-entropy summed over the 784 pixels, plus the KL "
        "divergence of its Gaussian from the standard normal, summed over the latent dimensions: the negative "
        "ELBO. The tutorial takes the mean over the 784 pixels plus the mean over the 2 dimensions instead, which "
        "weights the KL 784 / 2 = 392 times too heavily: the cheapest way down is to encode every image as the "
        "prior, so the latent space collapses and every digit decodes to the same blur."),
        (("vae/training/model.py", "reconstruction_loss_per_image"), ("vae/training/model.py", "kl_loss_per_image"),
         ("vae/training/model.py", "VariationalAutoencoder._per_image_losses")), show_losses,
        ("pages/train.py", N_("Train the tutorial preset and watch its KL fall to 0"))),
    Step(N_("Training"), N_(
        "The tutorial trains with rmsprop at a learning rate of 0.001 for 10 epochs, in batches of 256 "
        "images. Our default keeps the network and the 10 epochs but trains on the true ELBO, with adam at 0.005 "
        "decaying along a cosine, in batches of 128."),
        (("vae/config.py", "TUTORIAL"), ("vae/training/model.py", "VariationalAutoencoder.train_step")), show_training,
        ("pages/train.py", N_("Train a model and watch it learn"))),
    Step(N_("Errors by digit"), N_(
        "The tutorial then asks which digits are hardest to reconstruct. For each test image, "
        "sum the squared differences between its 784 pixels and its reconstruction's; then average that over "
        "the images of each digit."),
        (("vae/evaluate.py", "squared_error_per_image"), ("vae/evaluate.py", "per_class_table")),
        show_per_class_errors, ("pages/reconstruction.py", N_("Compare errors by digit across runs"))),
    Step(N_("The generated grid"), N_(
        "Since training pulls the encodings towards the standard normal prior, any point near "
        "the origin decodes to a plausible digit. The tutorial decodes a 3 × 3 grid of points evenly spaced over "
        "[−4, 4]²: neighbouring points give similar digits, so the grid shows one digit turning into another."),
        (("vae/evaluate.py", "manifold_grid"),), show_manifold_grid,
        ("pages/explorer.py", N_("Drag through the latent space yourself"))),
    Step(N_("What next"), N_(
        "The tutorial closes with two remarks. A plain autoencoder of the same size, with no sampling "
        "and no KL, reconstructs better, though its latent space has gaps where nothing sensible is drawn; and "
        "more latent dimensions than 2 reconstruct much better."),
        (("vae/config.py", "PRESETS"), ("vae/training/model.py", "VariationalAutoencoder._latent")), show_closing_runs,
        ("pages/train.py", N_("Train the autoencoder or latent16 preset"))),
    Step(N_("What the label buys"), N_(
        "Beyond the tutorial: tell the model each image's class, as a one-hot vector "
        "appended to the encoder's 784 pixels and to the decoder's z. The code no longer has to say which digit "
        "it is: the class is given. So the 2 numbers keep what the label does not say — the slant, the "
        "thickness, the width: the style. Encode one image, then decode its code with each label in turn, and "
        "the same hand writes every digit. The conditional VAE also reconstructs better, since 2 numbers "
        "now go on style alone."),
        (("vae/training/model.py", "VariationalAutoencoder._decoder_input"), ("vae/numpy_model.py", "given_label")),
        show_label_buys, ("pages/explorer.py", N_("Pick a class beside the map and drag through its styles"))),
)


# --- Layout --------------------------------------------------------------------------------------


def go_to(step: int) -> None:
    st.session_state[STEP] = min(max(step, 1), len(STEPS))


def step_buttons(current: int, where: str) -> None:
    back, forward = st.columns(2)
    back.button(_("← Previous"), key=f"lesson_previous_{where}", on_click=go_to, args=(current - 1,),
                disabled=current == 1, width="stretch")
    forward.button(_("Next →"), key=f"lesson_next_{where}", on_click=go_to, args=(current + 1,),
                   disabled=current == len(STEPS), width="stretch")


def step_navigation() -> int:
    """Previous / Next and a step selector (kept while visiting other pages); returns the step shown."""
    picker, buttons = st.columns([3, 2], vertical_alignment="bottom")
    current = picker.selectbox(_("Step"), range(1, len(STEPS) + 1), key=STEP, persist_state="session",
                               format_func=labels_now(range(1, len(STEPS) + 1),
                                                      lambda k: f"{k}. {_(STEPS[k - 1].title)}"))
    with buttons:
        step_buttons(current, "top")
    return current


def show_code(step: Step) -> None:
    for file, name in step.code:
        with st.expander(f"{name} · {file}", expanded=True):
            # Wrapped: a code block that scrolls sideways is a region a keyboard cannot reach (axe).
            st.code(source_of(file, name), language="python", wrap_lines=True)


def show_step(number: int, run: RunSummary, data: MnistData) -> None:
    step = STEPS[number - 1]
    st.caption(_("Step {number} of {count}").format(number=number, count=len(STEPS)))
    st.header(_(step.title))
    st.markdown(_(step.text))
    # On a projector the run's figure gets the whole width, the code below it; on a laptop, side by side.
    live, code = (st.container(), st.container()) if presenter_on() else reversed(st.columns([3, 2], gap="large"))
    with code:
        show_code(step)
    with live:
        try:
            step.show_run(run, data)
        except LabError as error:
            state.show_run_error_and_stop(error)
    page, label = step.link
    st.page_link(page, label=_(label), icon="➡️")


ensure_app_shell("lesson")
presenter_switch()  # ensure_app_shell applies its style on every page
st.title(_("Lesson: a VAE on MNIST, step by step"))
st.markdown(_("The seed R/Keras tutorial retold in nine steps, and a tenth beyond it. Each shows the code of this "
              "app that does it and what the active run (chosen in the sidebar) makes of it."))
run, data = training.run_and_data_or_stop("lesson")
number = step_navigation()
show_step(number, run, data)
st.divider()
step_buttons(number, "bottom")
