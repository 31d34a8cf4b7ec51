"""Latent explorer: the latent map (digits decoded in the browser while you drag), the posterior of
a test image, a walk between two digits, your own drawing on the map, and the manifold grid."""

from functools import partial

import numpy as np
import streamlit as st

from ui import follow, live, state, training
from ui.drawing_pad.mount import drawing_pad
from ui.latent_map.mount import BOARD_OVERLAYS, cleared, latent_map, map_state, point_sliders
from ui.latent_map.pack import EXTENT, MAP_POINTS, ellipse, project
from ui.markdown import escape
from ui.presenter import chart
from ui.shell import ensure_app_shell
from vae import explore
from vae.config import CLASSES
from vae.datasets import DataSet
from vae.drawing import DrawingError
from vae.errors import LabError
from vae.i18n import N_, _
from vae.plots import digit_rows, enlarge, latent_scatter, move_current_marker, png

MAX_SLIDERS = 16
DIGIT_SCALE = 10  # 28 px -> 280 px, nearest neighbour
SAMPLES = 8
NEIGHBOURS = 6


def digits(dataset: DataSet) -> bool:
    """MNIST's digits, or another data set's items: a sentence that names them is a message of its own
    for each (a translation must agree with the noun), never the word glued into one sentence."""
    return dataset.item == "digit"


def class_labels(dataset: DataSet) -> dict[int, str]:
    """Every class's name as a person reads it (DataSet.class_name: a digit, or a Fashion-MNIST name in the
    session's language), taken now: a selector's format_func looks them up, and Streamlit may call it
    again outside the page's run, where `_` would not know the session's language."""
    return {label: dataset.class_name(label) for label in range(len(dataset.class_names))}


def slider_key(index: int) -> str:
    return f"z{index}"


def clamp_slider_state(count: int) -> None:
    """Slider values kept in session state (or set by any other means) are brought into range
    before the sliders are drawn: Streamlit refuses a slider whose value is outside its bounds."""
    for index in range(count):
        value = st.session_state.get(slider_key(index))
        if value is not None:
            finite = float(value) if isinstance(value, (int, float)) and np.isfinite(value) else 0.0
            clamped = float(np.clip(finite, -EXTENT, EXTENT))
            if type(value) is not float or clamped != value:  # written only when it changes (then it is "set")
                st.session_state[slider_key(index)] = clamped


def set_sliders(z, count: int) -> None:
    for index, value in enumerate(list(z)[:count]):
        st.session_state[slider_key(index)] = float(np.clip(round(float(value), 2), -EXTENT, EXTENT))


def apply_map_release(result, count: int) -> None:
    """A release on the map (its one message per gesture) moves the sliders there; each new value
    is applied once, since the component keeps reporting its last one."""
    z = result.z
    if isinstance(z, list) and z != st.session_state.get("map_z_applied"):
        st.session_state.map_z_applied = z
        if all(isinstance(v, (int, float)) and np.isfinite(v) for v in z):
            set_sliders(z, count)


def take_point_report(key: str, count: int) -> None:
    """The end of a gesture on the browser's sliders or on the map (their one message, a callback run
    before the sliders' fragment): the session's point moves there. Anything but a short list of
    finite numbers is ignored."""
    value = st.session_state.get(key)
    z = value.get("z") if hasattr(value, "get") else None
    if (isinstance(z, list) and 0 < len(z) <= count
            and all(isinstance(v, (int, float)) and np.isfinite(v) for v in z)):
        set_sliders(z, count)


def sliders(latent_dim: int) -> np.ndarray:
    """Streamlit's sliders, for a run whose decoder the browser cannot run (each move is a rerun that
    draws the digit on the server)."""
    shown = min(latent_dim, MAX_SLIDERS)
    z = np.zeros(latent_dim, np.float32)
    for index in range(shown):
        # Its current value as the default, which changes nothing (a value set through session state, as
        # the map's release does, wins anyway; .streamlit/config.toml silences Streamlit's warning about
        # that): a slider without a default reads a copy of the whole session state on every run, every
        # component's state presented again, ~10 % of the server's time under a class's moves.
        value = st.session_state.get(slider_key(index), 0.0)
        z[index] = st.slider(f"z{index + 1}", -EXTENT, EXTENT, value=value, step=0.05, key=slider_key(index))
    if latent_dim > MAX_SLIDERS:
        st.caption(_("Dimensions {first}–{last} stay at 0.").format(first=MAX_SLIDERS + 1, last=latent_dim))
    return z


def digit_png(decoder, z) -> bytes:
    return png(enlarge(decoder(z[None, :])[0], DIGIT_SCALE))


def digit_download(decoder, z, key: str, item: str = "digit") -> None:
    """Made when asked for, not on every move of a slider (a PNG and a media file each time)."""
    label = _("Download this digit (PNG)") if item == "digit" else _("Download this item (PNG)")
    st.download_button(label, partial(digit_png, decoder, z.copy()), file_name=f"{item}.png",
                       mime="image/png", key=key, on_click="ignore")


def pick_by_digit(labels, digit_changed: bool) -> None:
    """The digit / which-one selectors choose the posterior's test image."""
    if digit_changed:
        st.session_state.posterior_nth = 0
    of_digit = np.flatnonzero(labels == st.session_state.posterior_digit)
    st.session_state.posterior_index = int(of_digit[min(st.session_state.posterior_nth, len(of_digit) - 1)])


def posterior_section(run, data, dataset: DataSet, plane, overlays) -> None:
    st.subheader(_("What the encoder believes: the posterior q(z|x)"))
    st.markdown(_(
        "The encoder does not map an image to one point but to a small cloud: a Gaussian with a centre "
        "(z_mean) and a spread. The ellipses on the map show it to scale (solid: 1σ, dashed: 2σ). "
        "**Sample** draws points from that cloud and decodes each: every one is a plausible version of "
        "the digit. That randomness is the *variational* in variational autoencoder. "
        "Click a dot on the map to pick its image, or choose one here."
    ) if digits(dataset) else _(
        "The encoder does not map an image to one point but to a small cloud: a Gaussian with a centre "
        "(z_mean) and a spread. The ellipses on the map show it to scale (solid: 1σ, dashed: 2σ). "
        "**Sample** draws points from that cloud and decodes each: every one is a plausible version of "
        "the item. That randomness is the *variational* in variational autoencoder. "
        "Click a dot on the map to pick its image, or choose one here."
    ))
    labels = data.y_test
    left, right = st.columns([1, 2])
    with left:
        digit = st.selectbox(_("Digit") if digits(dataset) else _("Item"), range(10), key="posterior_digit",
                             on_change=pick_by_digit, args=(labels, True),
                             format_func=class_labels(dataset).get)
        count = int(np.sum(labels == digit))
        st.number_input(_("Which {name} (of {count})").format(name=dataset.class_name(digit), count=count),
                        0, count - 1, key="posterior_nth", on_change=pick_by_digit, args=(labels, False))
        index = st.session_state.setdefault("posterior_index", int(np.flatnonzero(labels == digit)[0]))
        sample = st.button(_("Sample from q(z|x)"), key="posterior_sample")
    label = int(labels[index])  # a conditional run is told it, to encode and decode the image
    decoder = state.decoder(run, label)
    z_mean, z_log_var = explore.posterior(state.encoder(run, label), data.x_test[index])
    overlays["posterior"] = ellipse(plane, z_mean, z_log_var)
    rows = [[data.x_test[index], decoder(z_mean[None, :])[0]]]
    if sample:
        overlays["sample_z"] = explore.sample_posterior(z_mean, z_log_var, SAMPLES, np.random.default_rng())
        overlays["samples_for"] = index
    if overlays.get("samples_for") == index:  # samples are kept until another image is chosen
        samples = overlays["sample_z"].astype(np.float32)
        overlays["samples"] = project(plane, samples).round(4).tolist()
        rows.append(list(decoder(samples)))
    else:
        overlays["samples"] = []
    with right:
        caption = (_("test image {index} ({a_class}) and its reconstruction from z_mean; below, {count} samples "
                     "z ~ q(z|x), decoded") if len(rows) > 1
                   else _("test image {index} ({a_class}) and its reconstruction from z_mean"))
        st.image(state.image_png(digit_rows(rows, scale=4)),
                 caption=caption.format(index=index, a_class=dataset.a(labels[index]), count=SAMPLES))
        spread = np.exp(0.5 * z_log_var)
        st.caption("z_mean " + ", ".join(f"{v:.2f}" for v in z_mean[:6]) + (" …" if len(z_mean) > 6 else "")
                   + " · σ " + ", ".join(f"{v:.2f}" for v in spread[:6]) + (" …" if len(spread) > 6 else ""))


def slider_point(latent_dim: int) -> np.ndarray:
    """The point the sliders (and so the map's marker) are at now."""
    z = np.zeros(latent_dim, np.float32)
    for index in range(min(latent_dim, MAX_SLIDERS)):
        z[index] = float(st.session_state.get(slider_key(index), 0.0))
    return z


# The radio's values (kept in session state, whatever the language); walk_mode_label shows them.
WALK_MODES = (N_("two test images"), "the average of one class and another", N_("two points you pick on the map"))


WALK_MODE_CHANGED = "walk_mode_changed"  # session state: the whole page runs again (the sliders' report follows)


def note_walk_mode_changed() -> None:
    st.session_state[WALK_MODE_CHANGED] = True


def walk_mode_label(dataset: DataSet, mode: str) -> str:
    if mode == WALK_MODES[1]:
        return (_("the average of one digit and another") if digits(dataset)
                else _("the average of one item and another"))
    return _(mode)


def endpoints(z_test, labels, dataset: DataSet):
    """The walk's two ends, the caption of its strip (given the steps), and the column left for the steps."""
    mode_labels = {mode: walk_mode_label(dataset, mode) for mode in WALK_MODES}
    mode = st.radio(_("Walk between"), WALK_MODES, horizontal=True, key="walk_mode", format_func=mode_labels.get,
                    on_change=note_walk_mode_changed)
    left, middle, right = st.columns(3)
    if mode == WALK_MODES[2]:
        marks = st.session_state.setdefault("walk_marks", {})
        latent_dim = z_test.shape[1]
        if left.button(_("Start at the map's point"), key="walk_mark_start"):
            marks["start"] = slider_point(latent_dim).tolist()
        if middle.button(_("End at the map's point"), key="walk_mark_end"):
            marks["end"] = slider_point(latent_dim).tolist()
        start = np.asarray(marks.get("start", [-2.0] + [0.0] * (latent_dim - 1)), np.float32)
        end = np.asarray(marks.get("end", [2.0] + [0.0] * (latent_dim - 1)), np.float32)
        if len(start) != latent_dim or len(end) != latent_dim:  # marked on another run
            marks.clear()
            start, end = np.zeros(latent_dim, np.float32), np.zeros(latent_dim, np.float32)
        left.caption(_("Move the map (drag, or the sliders), then press a button to mark each end."))
        return start, end, lambda steps: _("{steps} steps from the two marked points").format(steps=steps), right
    if mode == WALK_MODES[0]:
        a = left.number_input(_("From test image"), 0, len(labels) - 1, 0, key="walk_from_image")
        b = middle.number_input(_("to test image"), 0, len(labels) - 1, 1, key="walk_to_image")
        return z_test[a], z_test[b], lambda steps: _(
            "{steps} steps from image {a} ({a_class}) → image {b} ({b_class})").format(
            steps=steps, a=a, a_class=dataset.a(labels[a]), b=b, b_class=dataset.a(labels[b])), right
    named = class_labels(dataset).get
    a = left.selectbox(_("From digit") if digits(dataset) else _("From item"), range(10), index=3,
                       key="walk_from_digit", format_func=named)
    b = middle.selectbox(_("to digit") if digits(dataset) else _("to item"), range(10), index=8,
                         key="walk_to_digit", format_func=named)
    return (explore.digit_average(z_test, labels, a), explore.digit_average(z_test, labels, b),
            lambda steps: _("{steps} steps from the average {a_class} → the average {b_class}").format(
                steps=steps, a_class=named(a), b_class=named(b)), right)


def interpolation_section(decoder, z_test, data, dataset: DataSet, overlays) -> None:
    st.subheader(_("Walk between two digits") if digits(dataset) else _("Walk between two items"))
    st.markdown((_(
        "A straight line through the latent space, decoded step by step. Between {first} and {second} the path "
        "may pass through other digits: the decoder draws whatever lives in the regions it crosses. Press "
        "**Play** under the digit above to walk the path on the map."
    ) if digits(dataset) else _(
        "A straight line through the latent space, decoded step by step. Between {first} and {second} the path "
        "may pass through other items: the decoder draws whatever lives in the regions it crosses. Press "
        "**Play** under the item above to walk the path on the map."
    )).format(first=dataset.a(3), second=dataset.a(8)))
    start, end, caption, right = endpoints(z_test, data.y_test, dataset)
    steps = right.slider(_("Steps"), 5, 20, 10, key="walk_steps")
    strip = decoder(explore.walk(start, end, steps))
    overlays["path"] = {"from": np.round(start, 4).tolist(), "to": np.round(end, 4).tolist()}
    image_png = state.image_png(digit_rows([list(strip)], scale=3))
    st.image(image_png, caption=caption(steps))
    st.download_button(_("Download the strip (PNG)"), image_png, file_name="interpolation.png", mime="image/png",
                       key="download_strip")


def style_rows(run, z, dataset: DataSet) -> np.ndarray:
    """A conditional run's code z drawn as every class, in rows of five."""
    images = explore.in_every_class(state.models(run)[1], z, CLASSES)
    return digit_rows([list(images[:5]), list(images[5:])], scale=2)


def drawing_section(run, z_test, data, dataset: DataSet, plane, overlays) -> None:
    st.subheader(_("Draw a digit") if digits(dataset) else _("Draw something to wear"))
    st.markdown(_(
        "Draw one digit with the mouse, a finger or a pen. It is prepared the way MNIST's digits were "
        "(cropped, scaled to fit 20 × 20 pixels, centred by its mass in 28 × 28), encoded, and shown on "
        "the map in pink with its posterior. Does the model read it as the digit you meant?"
    ) if digits(dataset) else _(
        "Draw a piece of clothing or a shoe with the mouse, a finger or a pen. It is prepared the way MNIST's "
        "digits were (cropped, scaled to fit 20 × 20 pixels, centred by its mass in 28 × 28), encoded, and shown "
        "on the map in pink with its posterior. Does the model read it as the item you meant?"
    ))
    pad, result = st.columns([1, 2])
    with pad:
        drawn = drawing_pad(key="drawing_pad")
        label = None
        if run.config.conditional:  # this model is told the class: the drawing's author names it
            label = st.selectbox(_("Which digit did you draw?") if digits(dataset) else _("Which item did you draw?"),
                                 range(CLASSES), key="drawing_label", format_func=class_labels(dataset).get)
    overlays["drawn"] = None
    if drawn is None:
        result.caption(_("Nothing drawn yet."))
        return
    try:
        image = state.prepared_drawing(drawn)
    except DrawingError as error:
        result.info(str(error))
        return
    z_mean, z_log_var = explore.posterior(state.encoder(run, label), image)
    overlays["drawn"] = ellipse(plane, z_mean, z_log_var)
    reconstruction = state.decoder(run, label)(z_mean[None, :])[0]
    neighbours = explore.nearest(z_mean, z_test, NEIGHBOURS)
    with result:
        pair = digit_rows([[image, reconstruction]], scale=5)
        st.image(pair, caption=_("what the model sees (28 × 28) and its reconstruction"), output_format="PNG")
        st.image(digit_rows([list(data.x_test[neighbours])], scale=3), output_format="PNG",
                 caption=_("nearest test images in latent space: {classes}").format(
                     classes=", ".join(dataset.a(data.y_test[i]) for i in neighbours)))
        st.download_button(_("Download drawing and reconstruction (PNG)"), png(pair), file_name="drawing.png",
                           mime="image/png", key="download_drawing")
        if run.config.conditional:
            names = ", ".join(class_labels(dataset).values())
            caption = (_("your style in every digit: your drawing's code, decoded as each digit in turn ({names})")
                       if digits(dataset) else
                       _("your style in every item: your drawing's code, decoded as each item in turn ({names})"))
            st.image(style_rows(run, z_mean, dataset), output_format="PNG", caption=caption.format(names=names))


def server_digit_fallback(decoder, z, z_test, labels, plane, dataset: DataSet) -> None:
    """For a decoder the browser cannot run: the server draws the digit and a plotly map."""
    st.info(_("This run's decoder cannot run in the browser: the digit is drawn by the server after each move."))
    st.image(enlarge(decoder(z[None, :])[0], DIGIT_SCALE), caption=_("generated digit"), output_format="PNG")
    figure = latent_scatter(project(plane, z_test[:MAP_POINTS]), labels[:MAP_POINTS], (0.0, 0.0),
                            tuple(_(axis) for axis in plane["axes"]), EXTENT, dataset=dataset)
    chart(move_current_marker(figure, project(plane, z[None, :])[0]), key="latent_scatter")


def class_picker(run, dataset: DataSet) -> None:
    """A conditional run's class to draw: the map is then its style space, decoded as that class. A
    new class is a new decoder for the browser, so the whole page runs again with it."""
    shown = state.shown_class(run)
    picked = st.selectbox(_("Digit to draw") if digits(dataset) else _("Item to draw"), range(CLASSES), index=shown,
                          format_func=class_labels(dataset).get, key="class_picker",
                          help=_("This model is told which digit to draw; the map's place is the style.")
                          if digits(dataset) else
                          _("This model is told which item to draw; the map's place is the style."))
    if picked != shown:
        st.session_state[state.SHOWN_CLASS] = picked
        st.rerun(scope="app")


def explorer(run, z_test, data, payload) -> None:
    """Four fragments (and the sliders' inside the map's): each reruns alone and sends the map only its
    own part of the state."""
    decoder = state.decoder(run)  # a conditional run's: of the shown class
    latent_dim = run.config.latent_dim
    shown = min(latent_dim, MAX_SLIDERS)
    plane = state.map_plane(run)  # the payload's plane: the same function of the same encodings
    overlays = st.session_state.setdefault("map_overlays", {}).setdefault(run.name, {})
    dataset = state.dataset_of(run)

    def send(part: str, keys) -> None:
        if payload is not None:
            shown = {**(cleared(BOARD_OVERLAYS) if part == "state" else {}), **{k: overlays.get(k) for k in keys}}
            map_state(run.name, shown, key=f"latent-map-{part}-{run.name}")

    point_key = f"latent-point-{run.name}"

    def point_follows(z: np.ndarray) -> None:
        """What follows from the point on the server: a conditional run's style as every class, and the
        lead for students who follow the teacher."""
        if run.config.conditional:
            st.image(state.image_png(style_rows(run, z, dataset)),
                     caption=_("this style as every digit") if digits(dataset) else _("this style as every item"))
        follow.lead_point(np.round(z, 4).tolist())  # students who follow the teacher see this point

    def point_controls() -> None:
        """The sliders, drawn in the browser beside the map: a fragment of its own inside the map's
        (below), so the end of a gesture (on a slider or on the map), when Python needs it, reruns only
        this; the map's large payload is neither rebuilt nor hashed again."""
        # Where Python needs every point: the style drawn as every class, a lead, a walk from the map's point.
        report = run.config.conditional or follow.leading() or st.session_state.get("walk_mode") == WALK_MODES[2]
        z = slider_point(latent_dim)  # a report, if any, was taken before this run (its callback)
        point_sliders(run.name, z[:shown].tolist(), latent_dim, EXTENT, key=point_key,
                      on_report=partial(take_point_report, point_key, shown), report=report, item=dataset.item)
        if latent_dim > MAX_SLIDERS:
            st.caption(_("Dimensions {first}–{last} stay at 0.").format(first=MAX_SLIDERS + 1, last=latent_dim))
        point_follows(z)

    point_controls_fragment = st.fragment(point_controls)

    @st.fragment
    def map_panel():
        clamp_slider_state(shown)
        map_column, controls = st.columns([3, 1], gap="medium")
        if payload is None:  # the server draws the digit after each move: sliders and digit rerun together
            with controls:
                if run.config.conditional:
                    class_picker(run, dataset)
                z = sliders(latent_dim)
                digit_download(decoder, z, key="download_digit", item=dataset.item)
                point_follows(z)
            with map_column:
                server_digit_fallback(decoder, z, z_test, data.y_test, plane, dataset)
            return
        with map_column:
            result = latent_map(payload, key=f"latent-map-{run.name}", on_missing=lambda: live.forget_training_of(run))
            apply_map_release(result, shown)  # before the sliders are drawn: they take the released point
            st.caption(_("Each dot is a test image, placed where the encoder puts it (colours: digits). "
                         "Press and drag anywhere: the digit for that point is drawn as you move. "
                         "Click a dot to see its posterior below.") if digits(dataset) else
                       _("Each dot is a test image, placed where the encoder puts it (colours: items). "
                         "Press and drag anywhere: the item for that point is drawn as you move. "
                         "Click a dot to see its posterior below."))
        with controls:
            if run.config.conditional:
                class_picker(run, dataset)
            point_controls_fragment()
            overlays["show_grid"] = st.toggle(_("Digits behind the map") if digits(dataset)
                                              else _("Items behind the map"), key="map_show_grid")
            send("state", ("show_grid",))
        picked = result.picked
        if isinstance(picked, int) and 0 <= picked < len(z_test):
            st.session_state.posterior_index = picked
            st.rerun(scope="app")  # the posterior section, its own fragment, shows the picked image

    @st.fragment
    def posterior_panel():
        posterior_section(run, data, dataset, plane, overlays)
        send("posterior", ("posterior", "samples"))

    @st.fragment
    def walk_panel():
        if st.session_state.pop(WALK_MODE_CHANGED, False):  # from or to the map's point: the sliders must know
            st.rerun(scope="app")
        interpolation_section(decoder, z_test, data, dataset, overlays)
        send("path", ("path",))

    @st.fragment
    def drawing_panel():
        drawing_section(run, z_test, data, dataset, plane, overlays)
        send("drawn", ("drawn",))

    map_panel()
    posterior_panel()
    walk_panel()
    drawing_panel()


def grid_section(run):
    dataset = state.dataset_of(run)

    @st.fragment
    def grid():
        st.subheader(_("Manifold grid"))
        left, right = st.columns([1, 3])
        with left:
            n = st.slider(_("Digits per side") if digits(dataset) else _("Items per side"), 2, 30, 3, key="grid_n")
            extent = st.slider(_("Range ±"), 0.5, 6.0, EXTENT, 0.5, key="grid_extent")
            st.caption(_("The seed tutorial's grid is 3 × 3 over [−4, 4]². Other dimensions are 0."))
        with right:
            image_png = state.manifold(run, n, extent)[1]
            caption = (_("{n}×{n} digits decoded over [−{extent:g}, {extent:g}]²") if digits(dataset)
                       else _("{n}×{n} items decoded over [−{extent:g}, {extent:g}]²"))
            st.image(image_png, caption=caption.format(n=n, extent=extent))
            st.download_button(_("Download the grid (PNG)"), image_png, file_name="manifold.png", mime="image/png",
                               key="download_grid")

    grid()


ensure_app_shell("explorer")
st.title(_("Latent explorer"))
st.markdown(_(
    "Every point of the latent space is a recipe for an image: a digit, or a piece of clothing. Drag across the "
    "map and your browser decodes the image for each point as you move; the sliders do the same one dimension "
    "at a time. Notice how one class morphs into another as you cross the borders between the coloured clusters."
))
watched = live.watched_job_id()
if watched is not None and (state.active_run() is None or st.toggle(
        _("Watch the model being trained, live"), key="explorer_live",
        help=_("The map of the model in training, with its latest weights, instead of the active run."))):
    live.live_explorer(watched)
    st.stop()
run, data = training.run_and_data_or_stop("explorer")
try:
    state.models(run)
    encodings = state.test_encodings(run)
    payload = live.saved_map_payload(run) or state.map_payload(run)  # the first: after watching it train
except LabError as error:
    state.show_run_error_and_stop(error)
st.caption(_("Run **{name}**: {description}").format(name=escape(run.name), description=run.config.describe()))
if run.config.conditional:
    st.info(_("This model is told which digit each image is (a conditional VAE), so its code need not say it: "
              "the map places the test images by their style, and everything generated here is drawn as the "
              "digit you pick beside the map.") if digits(state.dataset_of(run)) else
            _("This model is told which item each image is (a conditional VAE), so its code need not say it: "
              "the map places the test images by their style, and everything generated here is drawn as the "
              "item you pick beside the map."))
explorer(run, encodings, data, payload)
grid_section(run)
