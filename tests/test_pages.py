"""AppTest tests of every page: with and without runs, bad runs, training start/stop, the explorer."""

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TINY, wait_until
from ui.blob import read_blob
from ui.latent_map.mount import BOARD_OVERLAYS
from vae import config as config_module
from vae.training.lab import train_and_save

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["pages/explorer.py", "pages/train.py", "pages/reconstruction.py", "pages/compare.py", "pages/runs.py",
         "pages/lesson.py", "pages/class_map.py", "pages/classroom.py"]
TIMEOUT = 60


# The page tests' small runs (on 512 training images; evaluated on the whole test set, which the app
# shows), by name: their settings and preset.
PAGE_RUNS = {
    "vae2": (TINY.replace(epochs=1), "default"),  # a 2-D VAE
    "ae2": (TINY.replace(epochs=1, model="ae"), "autoencoder"),  # a 2-D autoencoder
    "vae3": (TINY.replace(epochs=1, latent_dim=3), None),  # a 3-D VAE
    "conv2": (TINY.replace(epochs=1, arch="conv", hidden_dim=16), "conv"),  # a convolutional VAE
}


def train_page_runs(folder, mnist, *names: str):
    """Trains the PAGE_RUNS named (every one if none is) into `folder`."""
    data = mnist.subset(512)
    for name in names or PAGE_RUNS:
        config, preset_name = PAGE_RUNS[name]
        train_and_save(config, data, folder, name, preset_name)
    return folder


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory, mnist):
    """Every one of PAGE_RUNS, made once for the module."""
    return train_page_runs(tmp_path_factory.mktemp("saved-runs"), mnist)


@pytest.fixture(autouse=True)
def app_env(mnist):
    """The app (and its training processes) read the test session's MNIST copy (in the cache folder
    tests/conftest.py's isolated_dirs gives every test); each test ends with an idle queue. The
    queue itself is kept: each new one starts a TensorFlow process. So are the test images, as a
    server keeps them for every session (each load checks the whole data set's checksum; the test
    that makes loading fail clears them first, and a failure is never kept)."""
    from ui import training

    yield
    queue = training.training_queue()
    queue.stop_everything()
    assert queue.wait_until_idle(60)


def queue():
    from ui import training

    return training.training_queue()


def start_button(at):
    return next(button for button in at.button if button.label == "Start training")


def train_tiny_from_the_page(at, runs_dir, name: str) -> dict:
    """Start a 1-epoch training of the form's settings (32 hidden units, 512 images) as `name` and
    wait until its run is saved; its config.json."""
    from vae.runs import list_runs

    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_hidden_dim").set_value(32)
    at.number_input(key="train_train_subset").set_value(512)
    at.text_input[0].input(name)
    start_button(at).click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert wait_until(lambda: any(run.name == name for run in list_runs(runs_dir).runs), 180, 0.5, f"{name} saved")
    return json.loads((runs_dir / name / "config.json").read_text())


def session_job(at) -> str:
    """The id of the (only) job this AppTest session's browser started (known by its key)."""
    from vae.classroom import key_hash

    mine = key_hash(at.session_state["browser_key"])
    (job_id,) = [snap.id for snap in queue().snapshots() if snap.browser == mine]
    return job_id


def copy_runs(saved_runs, runs_dir, *names):
    runs_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copytree(saved_runs / name, runs_dir / name)


def open_app(page=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def plotly_array(value) -> list:
    """Plotly 6+ sends numpy arrays as {"dtype", "bdata"} (base64); plain lists stay lists."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def texts(at) -> str:
    parts = [*at.markdown, *at.caption, *at.info, *at.error, *at.warning, *at.success]
    return "\n".join(str(getattr(e, "value", "")) for e in parts)


@pytest.mark.parametrize("page", [page for page in PAGES if page != "pages/classroom.py"])  # needs no model
def test_every_page_without_runs_says_so_and_offers_training(page, runs_dir):
    at = open_app(page)
    assert "no trained model yet" in texts(at).lower()
    labels = [b.label for b in at.button]
    assert "Train the default model" in labels or "Start training" in labels
    assert not at.error


def test_first_run_button_trains_the_default_preset_and_the_explorer_is_live_until_it_is_saved(
        runs_dir, monkeypatch):
    tiny_default = TINY.replace(epochs=60, train_subset=512)
    monkeypatch.setitem(config_module.PRESETS, "default", tiny_default)
    at = open_app()
    at.button(key="first-run-explorer").click().run()
    assert not at.exception
    snap = queue().snapshot(session_job(at))
    assert snap.config == tiny_default and snap.preset_name == "default"
    # Before anything is saved, the explorer shows the model being trained, with its latest weights.
    wait_until(lambda: queue().live_snapshot(snap.id, epoch_end=True), 120, message="an epoch's snapshot")
    at.run()
    assert not at.exception
    assert component_data(at, f"latent-map-live-{snap.id}")["run"] == f"live-{snap.id}"
    assert "Training, epoch" in texts(at)
    # The first weights go whole; a later epoch's as the change since the one this session was sent;
    # a browser that lost those is sent the later epoch's whole.
    first = component_data(at, f"latent-map-live-{snap.id}")["codes"]
    assert first["base"] is None and first["epoch"] > 0
    wait_until(lambda: queue().live_decoder_snapshot(snap.id).epoch > first["epoch"], 120, message="a later epoch")
    at.run()
    later = component_data(at, f"latent-map-live-{snap.id}")["codes"]
    assert later["epoch"] > first["epoch"] and later["base"] == first["epoch"]
    send_trigger(at, f"latent-map-live-{snap.id}", "missing", True)
    assert not at.exception
    resent = component_data(at, f"latent-map-live-{snap.id}")["codes"]
    assert resent["base"] is None and resent["epoch"] >= later["epoch"]
    at.button(key=f"live-stop-{snap.id}").click().run()
    assert queue().wait_until_idle(120)
    assert queue().snapshot(snap.id).state == "stopped", queue().snapshot(snap.id).message
    # This session watched the training: the saved run's weights come as the change from its last epoch.
    at.run()
    saved = component_data(at, f"latent-map-{snap.run_name}")["codes"]
    assert saved["chain"] == f"live-{snap.id}" and saved["epoch"] == "saved" and saved["base"] >= resent["epoch"]
    at = open_app()  # AppTest reruns pages without app.py's sidebar: reopen, as a reload would
    assert component_data(at, f"latent-map-{snap.run_name}")["codes"]["base"] is None  # a new session: whole
    assert point_data(at, snap.run_name)["labels"] == ["z1", "z2"]
    assert component_data(at, f"latent-map-{snap.run_name}")["run"] == snap.run_name
    assert at.sidebar.selectbox[0].options[0].startswith("default-")


def test_navigation_reaches_every_page(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app()
    titles = []
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        titles.append(at.title[0].value)
    assert titles == ["Latent explorer", "Train a model", "Reconstruction errors by class",
                      "Compare originals and reconstructions", "Compare runs", "Lesson: a VAE on MNIST, step by step",
                      "Class map", "Classroom"]


def component_bytes(at, key) -> bytes:
    (element,) = [c for c in at.get("bidi_component") if c.key == key]
    return element.proto.bytes


def component_data(at, key) -> dict:
    """A component's data: JSON, or for the map its binary payload's header."""
    from ui.latent_map.pack import read_map_payload

    (element,) = [c for c in at.get("bidi_component") if c.key == key]
    if element.proto.WhichOneof("data") == "bytes":
        return read_map_payload(element.proto.bytes)[0]
    return json.loads(element.proto.json)


def point_data(at, run: str) -> dict:
    """The data of the explorer's sliders (drawn in the browser): the point, the sliders' labels."""
    return component_data(at, f"latent-point-{run}")


def release_point(at, run: str, z) -> None:
    """What the browser sends at the end of a gesture on the explorer's sliders or map: the sliders
    component's state. AppTest has no handle on a browser component, so its widget state is added to
    the run's by hand (through AppTest's own, private, run)."""
    (element,) = [c for c in at.get("bidi_component") if c.key == f"latent-point-{run}"]
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = element.proto.id
    state.json_value = json.dumps({"z": z})
    at._run(states)


def send_trigger(at, key: str, event: str, value) -> None:
    """What a component's setTriggerValue(event, value) sends, added by hand as release_point does."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    (element,) = [c for c in at.get("bidi_component") if c.key == key]
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = _make_trigger_id(element.proto.id, "events")
    state.json_trigger_value = json.dumps([{"event": event, "value": value}])
    at._run(states)


def image_with_caption(at, text):
    return next(image for image in at.image if text in image.proto.imgs[0].caption)


def test_explorer_sliders_are_the_browsers_and_python_hears_of_a_move_only_where_it_needs_it(runs_dir, saved_runs):
    """The sliders are drawn in the browser, which moves the map's point itself and makes the digit's
    download: by default Python is told nothing (report off). Where it needs the point (a walk from the
    map's point) it is told at the end of each gesture, in one message whose rerun sends the map
    nothing (neither its weights nor its state)."""
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app()
    payload = component_data(at, "latent-map-vae2")
    assert payload["run"] == "vae2" and payload["decoder"]["input_dim"] == 2
    (element,) = [c for c in at.get("bidi_component") if c.key == "latent-map-vae2"]
    assert len(element.proto.bytes) < 1_200_000
    assert point_data(at, "vae2") | {"text": None} == {
        "run": "vae2", "z": [0.0, 0.0], "latent_dim": 2, "extent": 4.0, "step": 0.05, "labels": ["z1", "z2"],
        "report": False, "file_name": "digit.png", "text": None}
    assert point_data(at, "vae2")["text"]["download"] == "Download this digit (PNG)"
    assert "download_digit" not in [button.key for button in at.get("download_button")]  # the browser's
    at.radio(key="walk_mode").set_value("two points you pick on the map").run()
    assert point_data(at, "vae2")["report"] is True
    release_point(at, "vae2", [2.5, -3.0])
    assert not at.exception
    assert (at.session_state["z0"], at.session_state["z1"]) == (2.5, -3.0)
    assert point_data(at, "vae2")["z"] == [2.5, -3.0]
    # The map's state: the grid switch, presenter mode, and the Class map's overlays cleared (ui/latent_map/mount.py);
    # the point is not in it: the browser's sliders hand it to the map.
    map_state = component_data(at, "latent-map-state-vae2")
    assert map_state["state"] == {"show_grid": False, "presenter": False, **dict.fromkeys(BOARD_OVERLAYS)}
    assert len(json.dumps(map_state)) < 5_000
    assert component_data(at, "latent-map-vae2") == payload  # the same bytes: the browser keeps its copy
    at.radio(key="walk_mode").set_value("two test images").run()
    assert point_data(at, "vae2")["report"] is False


KEPT = (1.0, 1.0)  # the point before: what is not a point changes nothing


@pytest.mark.parametrize(("z", "becomes"), [([1e9, 0.0], (4.0, 0.0)), ([float("nan"), 1.0], KEPT), (["4", 0.0], KEPT),
                                            ([0.0] * 17, KEPT), ([], KEPT), ("2.5", KEPT), (None, KEPT)])
def test_a_point_out_of_range_or_not_a_point_never_breaks_the_explorer(runs_dir, saved_runs, z, becomes):
    """Out of range: brought to the edge. Not a point (not a number, a string, the wrong length): ignored."""
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app()
    release_point(at, "vae2", list(KEPT))
    release_point(at, "vae2", z)
    assert not at.exception
    assert (at.session_state["z0"], at.session_state["z1"]) == becomes
    assert all(-4 <= v <= 4 for v in point_data(at, "vae2")["z"])


def test_manifold_grid_size_follows_its_slider(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app()
    first = image_with_caption(at, "digits decoded over")
    assert "3×3 digits" in first.proto.imgs[0].caption
    at.slider(key="grid_n").set_value(12).run()
    assert "12×12 digits" in image_with_caption(at, "digits decoded over").proto.imgs[0].caption


def test_explorer_for_more_than_two_dims_has_a_slider_per_dim_and_a_principal_plane(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae3")
    at = open_app()
    assert point_data(at, "vae3")["labels"] == ["z1", "z2", "z3"]
    assert component_data(at, "latent-map-vae3")["plane"]["axes"][0] == "principal component 1"


def test_the_convolutional_decoder_is_sent_to_the_browser_too(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "conv2")
    at = open_app()
    kinds = [layer["kind"] for layer in component_data(at, "latent-map-conv2")["decoder"]["layers"]]
    assert kinds == ["Dense", "Dense", "Reshape", "Conv2DTranspose", "Conv2DTranspose", "Conv2DTranspose", "Reshape"]


def test_posterior_of_a_chosen_image_is_drawn_to_scale_and_sampled(runs_dir, saved_runs, mnist):
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app()
    at.selectbox(key="posterior_digit").set_value(7).run()
    at.number_input(key="posterior_nth").set_value(2).run()
    index = int(np.flatnonzero(mnist.y_test == 7)[2])
    assert f"test image {index} (a 7)" in image_with_caption(at, "reconstruction from z_mean").proto.imgs[0].caption
    posterior = component_data(at, "latent-map-posterior-vae2")["state"]["posterior"]
    assert len(posterior["centre"]) == 2 and all(r > 0 for r in posterior["radii"])
    at.button(key="posterior_sample").click().run()
    assert "8 samples" in image_with_caption(at, "reconstruction from z_mean").proto.imgs[0].caption
    assert len(component_data(at, "latent-map-posterior-vae2")["state"]["samples"]) == 8
    at.selectbox(key="posterior_digit").set_value(1).run()  # another image: its samples are gone
    assert component_data(at, "latent-map-posterior-vae2")["state"]["samples"] == []


def test_the_walk_between_digits_has_the_chosen_steps_and_is_drawn_on_the_map(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae3")
    at = open_app()
    at.slider(key="walk_steps").set_value(12).run()
    assert "12 steps from image 0" in image_with_caption(at, "steps from").proto.imgs[0].caption
    at.radio(key="walk_mode").set_value("the average of one class and another").run()
    assert "the average 3 → the average 8" in image_with_caption(at, "steps from").proto.imgs[0].caption
    path = component_data(at, "latent-map-path-vae3")["state"]["path"]
    assert len(path["from"]) == 3 and len(path["to"]) == 3  # interpolated in the full latent space
    at.radio(key="walk_mode").set_value("two points you pick on the map").run()
    release_point(at, "vae3", [1.5, 0.0, 0.0])
    at.button(key="walk_mark_start").click().run()
    release_point(at, "vae3", [-1.0, 0.0, 2.0])
    at.button(key="walk_mark_end").click().run()
    path = component_data(at, "latent-map-path-vae3")["state"]["path"]
    assert path == {"from": [1.5, 0.0, 0.0], "to": [-1.0, 0.0, 2.0]}
    assert "Nothing drawn yet" in texts(at)


def test_active_run_picker_lists_runs_newest_first_and_switches(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2", "vae3")
    metrics = json.loads((runs_dir / "vae3" / "metrics.json").read_text())
    metrics["created_at"] = "2000-01-01T00:00:00+00:00"
    (runs_dir / "vae3" / "metrics.json").write_text(json.dumps(metrics))
    at = open_app()
    picker = at.sidebar.selectbox[0]
    assert picker.options[0].startswith("vae2 — default, latent 2") and picker.options[1].startswith("vae3")
    assert "z3" not in point_data(at, "vae2")["labels"]
    # AppTest (Streamlit 1.67) re-enables the old pages-folder mode before each run, so after the
    # first run a page runs without app.py and its sidebar: the picker is clicked in the browser
    # tests instead, and its effect, the active run in session state, is set directly here.
    at.session_state["active_run"] = "vae3"
    at.run()
    assert "z3" in point_data(at, "vae3")["labels"]


def test_a_run_with_a_broken_model_shows_an_error_and_the_rest_works(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2")
    (runs_dir / "vae2" / "weights.npz").write_bytes(b"truncated")
    at = open_app()
    assert "weights.npz cannot be read" in at.error[0].value
    assert not at.exception
    at.switch_page("pages/compare.py").run()
    assert not at.exception and "cannot be read" in at.error[0].value
    at.switch_page("pages/reconstruction.py").run()  # needs only the saved metrics
    assert not at.exception and not at.error and at.get("plotly_chart")


def flip_a_byte_inside(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the compressed arrays: zlib.error or a bad CRC
    path.write_bytes(bytes(data))


def damage_every_file(run: Path) -> None:
    """A cut weights.npz (BadZipFile), a flipped byte in replay.npz (zlib.error), a history that is
    not a table, and cut test encodings: each was an exception box on some page before."""
    (run / "weights.npz").write_bytes((run / "weights.npz").read_bytes()[:5000])
    flip_a_byte_inside(run / "replay.npz")
    (run / "history.csv").write_bytes(b"\xff\xfe not a table")
    (run / "test_z_mean.npy").write_bytes((run / "test_z_mean.npy").read_bytes()[:100])


@pytest.mark.parametrize("damage", [
    lambda run: (run / "weights.npz").write_bytes((run / "weights.npz").read_bytes()[:5000]),  # BadZipFile alone
    damage_every_file,
    lambda run: (run / "test_z_mean.npy").write_bytes(b"\x93NUMPY garbage" * 50),  # the Class map's own read
], ids=["cut-weights", "every-file", "garbage-encodings"])
def test_a_damaged_newest_run_breaks_no_page_and_can_be_deleted(runs_dir, saved_runs, damage):
    from vae import runs

    copy_runs(saved_runs, runs_dir, "ae2", "vae2")
    newest, other = [run.name for run in runs.list_runs(runs_dir).runs]  # the newest is everyone's default
    damage(runs_dir / newest)
    at = open_app()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    at.switch_page("pages/train.py").run()
    at.button(key="delete_run").click().run()
    at.button(key="confirm_delete").click().run()
    assert not at.exception and not (runs_dir / newest).exists()
    assert open_app().sidebar.selectbox[0].options[0].startswith(other)


def test_a_damaged_store_is_set_aside_said_once_and_breaks_no_page(runs_dir, saved_runs, capfd):
    from vae.database import SET_ASIDE_KEY
    from vae.jobs.store import STORE_FILE

    copy_runs(saved_runs, runs_dir, "vae2")
    (runs_dir / STORE_FILE).write_bytes(b"not a database " * 400)
    at = open_app()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    set_aside = [path.name for path in runs_dir.iterdir() if ".set-aside-" in path.name]
    assert len(set_aside) == 1 and (runs_dir / set_aside[0]).read_bytes().startswith(b"not a database")
    assert capfd.readouterr().err.count("could not be used") == 1  # the terminal says it once
    at.switch_page("pages/classroom.py").run()
    assert any("set aside as" in warning.value and "saved runs are all kept" in warning.value for warning in at.warning)
    at.button(key="dismiss_store_notice").click().run()
    assert not any("set aside as" in warning.value for warning in at.warning)
    from vae.jobs.store import JobStore

    assert JobStore.beside(runs_dir).setting(SET_ASIDE_KEY) is None


def test_a_run_that_cannot_be_listed_can_still_be_deleted_from_the_train_page(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2", "ae2")
    (runs_dir / "ae2" / "metrics.json").write_text('{"status": 7}')
    at = open_app("pages/train.py")
    assert "ae2" in texts(at) and "metrics.json has status that is not" in texts(at)
    at.button(key="delete_unreadable_ae2").click().run()
    at.button(key="confirm_delete").click().run()
    assert not at.exception and not (runs_dir / "ae2").exists() and (runs_dir / "vae2").is_dir()


def test_an_unreadable_run_is_skipped_and_reported_in_the_sidebar(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2", "ae2")
    (runs_dir / "ae2" / "config.json").write_text("{broken")
    at = open_app()
    assert at.sidebar.selectbox[0].options == [o for o in at.sidebar.selectbox[0].options if o.startswith("vae2")]
    assert "1 run could not be read" in at.sidebar.expander[0].label
    assert "ae2" in texts(at)


def test_reconstruction_page_compares_runs_as_grouped_bars(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2", "ae2")
    at = open_app("pages/reconstruction.py")
    at.multiselect(key="compare_runs").set_value(["vae2", "ae2"]).run()
    assert not at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in figure["data"]] == ["vae2", "ae2"]
    assert all(trace["type"] == "bar" and len(plotly_array(trace["y"])) == 10 for trace in figure["data"])
    saved = json.loads((runs_dir / "ae2" / "metrics.json").read_text())["per_class_sse"]
    assert plotly_array(figure["data"][1]["y"]) == pytest.approx(saved)
    table = at.dataframe[0].value
    assert list(table.columns) == ["vae2", "ae2"] and list(table.index) == [*map(str, range(10)), "all digits"]


@pytest.mark.parametrize("mode", ["A class", "Test image number", "Random batch", "Worst of each class"])
def test_compare_page_shows_originals_above_reconstructions(runs_dir, saved_runs, mode, small_data):
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app("pages/compare.py")
    at.radio(key="compare_mode").set_value(mode).run()
    assert not at.exception and len(at.image) == 1
    table = at.dataframe[0].value
    assert len(table) == 10
    if mode == "A class":
        assert set(table["digit"]) == {"3"}
    if mode == "Worst of each class":
        assert list(table["digit"]) == [str(digit) for digit in range(10)]


def set_tiny_training(at, name="", epochs=1):
    at.selectbox(key="train_preset").set_value("default").run()
    at.number_input(key="train_epochs").set_value(epochs)
    at.number_input(key="train_hidden_dim").set_value(32)
    at.number_input(key="train_train_subset").set_value(512)
    at.text_input[0].input(name)


def test_train_page_starts_and_stops_a_run_and_keeps_it(runs_dir):
    at = open_app("pages/train.py")
    set_tiny_training(at, name="stop-me", epochs=200)
    start_button(at).click().run()
    assert not at.exception and not at.error
    job_id = session_job(at)
    assert dict(at.query_params) == {}  # nothing that grants a right is put in the address
    wait_until(lambda: queue().snapshot(job_id).batch_points, 120, message="the first progress point")
    wait_until(lambda: queue().live_snapshot(job_id, epoch_end=True), 120, message="an epoch's snapshot")
    at.run()
    stop = at.button(key=f"panel-stop-{job_id}")
    assert stop.label == "Stop training"
    keys = [c.key for c in at.get("bidi_component") if c.key not in ("browser_key_cookie", "latent-lab-image-names")]
    assert keys == [f"live_curves_{job_id}", f"formation_{job_id}"] and at.progress
    header, arrays = read_blob(component_bytes(at, f"formation_{job_id}"))
    assert header["live"] and header["titles"][0].startswith("training, epoch ")
    assert arrays["points"].shape == (1, 1000, 2) and arrays["grids"].shape == (1, 100, 784)
    stop.click().run()
    assert queue().wait_until_idle(60)
    snap = queue().snapshot(job_id)
    assert snap.state == "stopped" and snap.epoch < 200
    at.run()
    assert "stopped early" in at.warning[0].value
    assert (runs_dir / "stop-me" / "weights.npz").is_file()
    # The saved run replays its training: one frame per epoch, and it can be exported.
    header, arrays = read_blob(component_bytes(at, "replay_stop-me"))
    epochs = len(pd.read_csv(runs_dir / "stop-me" / "history.csv"))  # the stopped epoch's frame too
    assert not header["live"] and header["epochs"] == list(range(1, epochs + 1))
    assert header["titles"][-1] == f"epoch {epochs} of 200"
    assert {b.key for b in at.get("download_button")} >= {"export_replay_gif", "export_replay_webp"}
    assert open_app().sidebar.selectbox[0].options[0].startswith("stop-me")


def test_a_reload_keeps_the_view_and_the_stop_button_of_your_job(runs_dir):
    at = open_app("pages/train.py")
    set_tiny_training(at, name="reloaded", epochs=200)
    start_button(at).click().run()
    job_id = session_job(at)
    reloaded = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reloaded.session_state["browser_key"] = at.session_state["browser_key"]  # what the browser's cookie brings
    reloaded.query_params["job"] = f"{job_id}.an-old-token"  # an address from an older version
    reloaded.run()
    assert "job" not in reloaded.query_params  # taken out of the address
    reloaded.run()
    reloaded.switch_page("pages/train.py").run()
    assert reloaded.button(key=f"panel-stop-{job_id}").label in ("Stop training", "Stopping…")
    assert "Your training reloaded" in [h.value for h in reloaded.subheader]  # known as this browser's
    stranger = open_app("pages/train.py")  # another browser watches; in local mode it is the same person
    assert "Training reloaded" in [h.value for h in stranger.subheader]
    assert "Your training reloaded" not in [h.value for h in stranger.subheader]


def test_train_page_refuses_bad_names_and_taken_names(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app("pages/train.py")
    for name, message in [("../escape", "not allowed"), ("<b>bold</b>", "not allowed"), ("vae2", "already exists")]:
        set_tiny_training(at, name=name)
        start_button(at).click().run()
        assert not at.exception
        assert message in at.error[0].value
        assert sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith(".")) == ["vae2"]


def test_a_second_training_waits_in_the_queue_and_its_owner_can_cancel_it(runs_dir):
    from ui.markdown import escape

    queue().submit(TINY.replace(epochs=500, train_subset=512), runs_dir, name="long-one")
    at = open_app("pages/train.py")
    set_tiny_training(at, name="second")
    start_button(at).click().run()
    assert not at.exception and not at.error
    job_id = session_job(at)
    snap = queue().snapshot(job_id)
    assert snap.state == "queued" and snap.position == 1
    assert f"Your {escape('second')}: position 1" in texts(at)
    at.button(key=f"queue-cancel-{job_id}").click().run()
    assert queue().snapshot(job_id).state == "cancelled"
    assert not (runs_dir / "second").exists()


def test_train_page_explains_invalid_hyperparameters(runs_dir):
    at = open_app("pages/train.py")
    set_tiny_training(at)
    at.number_input(key="train_batch_size").set_value(4096)  # larger than the 512 images
    start_button(at).click().run()
    assert not at.exception
    assert "batch_size" in at.error[0].value and "512" in at.error[0].value


def test_missing_data_gives_a_clear_error(runs_dir, saved_runs, monkeypatch):
    from ui import state
    from vae.errors import DataError

    copy_runs(saved_runs, runs_dir, "vae2")
    state.test_set.clear()

    def no_data(*args, **kwargs):
        raise DataError("MNIST could not be loaded from any source: (test).")

    monkeypatch.setattr(state, "load_dataset", no_data)
    for page in ["pages/explorer.py", "pages/compare.py"]:
        at = open_app(page)
        assert "MNIST could not be loaded" in at.error[0].value


def test_deleting_a_run_asks_for_confirmation(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2", "ae2")
    at = open_app("pages/train.py")
    at.session_state["active_run"] = "ae2"
    at.run()
    at.button(key="delete_run").click().run()
    assert (runs_dir / "ae2").is_dir()  # nothing is deleted before the confirmation
    assert "removed for good" in texts(at)
    at.button(key="cancel_delete").click().run()
    assert (runs_dir / "ae2").is_dir()
    at.button(key="delete_run").click().run()
    at.button(key="confirm_delete").click().run()
    assert not at.exception
    assert not (runs_dir / "ae2").exists() and (runs_dir / "vae2").is_dir()


def test_run_query_parameter_opens_a_run_and_an_unknown_one_is_explained(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2", "vae3")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = "vae3"
    at.run()
    assert "z3" in point_data(at, "vae3")["labels"]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = "<script>alert(1)</script>" * 10
    at.run()
    assert not at.exception
    warning = at.sidebar.warning[0].value
    assert "&lt;script&gt;" in warning and "<script>" not in warning and len(warning) < 200


@pytest.mark.parametrize(("value", "becomes"), [(99.0, 4.0), (-1e9, -4.0), (float("nan"), 0.0), ("4", 0.0)])
def test_out_of_range_slider_state_is_brought_into_range(runs_dir, saved_runs, value, becomes):
    """To the nearer edge; what is not a number, to the centre."""
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app()
    at.session_state["z0"] = value
    at.run()
    assert not at.exception
    assert point_data(at, "vae2")["z"][0] == becomes and at.session_state["z0"] == becomes


def test_a_training_that_fails_in_its_process_is_reported_to_its_owner(runs_dir):
    at = open_app("pages/train.py")
    set_tiny_training(at, name="clash")
    start_button(at).click().run()
    (runs_dir / "clash").mkdir()  # the name is taken after the request was accepted
    assert queue().wait_until_idle(120)
    at.run()
    assert "A run named 'clash' already exists" in at.error[0].value


def test_an_older_run_without_numpy_files_says_how_to_update_it(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2")
    (runs_dir / "vae2" / "weights.npz").unlink()
    at = open_app()
    assert "python -m vae export-weights vae2" in at.error[0].value


def test_an_unwritable_runs_dir_is_explained_when_training_starts(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LATENT_LAB_RUNS_DIR", str(blocker / "runs"))
    at = open_app("pages/train.py")
    set_tiny_training(at)
    start_button(at).click().run()
    assert not at.exception
    assert "Cannot write runs to" in at.error[0].value


def test_training_settings_survive_a_visit_to_another_page(runs_dir, saved_runs):
    copy_runs(saved_runs, runs_dir, "vae2")
    at = open_app("pages/train.py")
    set_tiny_training(at, epochs=7)
    at.run()
    at.switch_page("pages/explorer.py").run()
    at.switch_page("pages/train.py").run()
    assert at.number_input(key="train_epochs").value == 7
    assert at.number_input(key="train_train_subset").value == 512


SERVER_SIDE_VISITS = '''
import json, sys, time
from streamlit.testing.v1 import AppTest
from tests.support.apptest_runs import use_the_servers_costs

use_the_servers_costs()  # as the suite's own AppTests: each page compiled once, packages scanned once

APP, PAGES = sys.argv[1], sys.argv[2:]


def visit_every_page(run_name):
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["active_run"] = run_name
        at.run()
        at.switch_page(page).run()
        problems = [str(e.value) for e in [*at.exception, *at.error]]
        assert not problems, (page, run_name, problems)


for name in ("vae2", "conv2"):
    visit_every_page(name)
train = AppTest.from_file(APP, default_timeout=60)
train.run()
train.switch_page("pages/train.py").run()
for key, value in [("train_epochs", 3), ("train_hidden_dim", 32), ("train_train_subset", 512)]:
    train.number_input(key=key).set_value(value)
next(b for b in train.button if b.label == 'Start training').click().run()
from ui.training import training_queue

queue = training_queue()
(job,) = [snap.id for snap in queue.snapshots(active_only=True)]
while not queue.snapshot(job).batch_points:
    time.sleep(0.1)
for name in ("vae2", "conv2"):  # while the training runs
    visit_every_page(name)
train.run()
assert queue.wait_until_idle(120)
train.run()
snap = queue.snapshot(job)
visit_every_page(snap.run_name)
print(json.dumps({"modules": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")),
                  "state": snap.state}))
queue.shutdown()
'''


def test_the_server_never_imports_tensorflow_on_any_page_during_or_after_a_training(
        runs_dir, saved_runs, mnist_cache_dir):
    """Every page, with a dense and a conv run, before, during and after a training queued from the
    Train page, in a fresh process: no TensorFlow or Keras module is ever imported by it."""
    import os
    import subprocess
    import sys

    copy_runs(saved_runs, runs_dir, "vae2", "conv2")
    env = {**os.environ, "LATENT_LAB_RUNS_DIR": str(runs_dir), "LATENT_LAB_CACHE": str(mnist_cache_dir),
           "PYTHONPATH": str(Path(APP).parent)}
    done = subprocess.run([sys.executable, "-c", SERVER_SIDE_VISITS, APP, *PAGES], capture_output=True,
                          text=True, timeout=400, env=env, cwd=Path(APP).parent)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["state"] == "completed"
    assert outcome["modules"] == []


def test_live_curves_payload_thins_train_points_and_keeps_every_test_point():
    from ui.live_curves.mount import MAX_TRAIN_POINTS, curves_payload

    batch = [{"epoch": i / 100, "loss": 300 - i / 10, "reconstruction_loss": 280.0, "kl_loss": 20.0}
             for i in range(1, 2001)]
    tests = [{"epoch": e, "test_loss": 200.0 - e, "test_reconstruction_loss": 190.0, "test_kl_loss": 10.0}
             for e in range(1, 21)]
    payload = curves_payload(batch, tests, epochs=20)
    assert len(payload["train_epochs"]) <= MAX_TRAIN_POINTS + 1
    assert payload["train_epochs"][-1] == 20.0  # the newest point is always drawn
    assert payload["test_epochs"] == list(range(1, 21))
    assert [p["title"] for p in payload["panels"]] == ["−ELBO (loss)", "reconstruction (BCE)", "KL divergence"]
    assert payload["panels"][0]["test"][-1] == 180.0


def test_replay_exports_and_large_grids_are_made_once_per_run(runs_dir, saved_runs):
    from ui import state
    from vae import runs

    copy_runs(saved_runs, runs_dir, "vae2")
    run = runs.find_run(runs_dir, "vae2")
    grid = state.manifold(run, 30, 4.0)
    assert grid[0].shape == (30 * 28 * 1, 30 * 28 * 1) and grid[1][:8] == b"\x89PNG\r\n\x1a\n"
    assert state.manifold(run, 30, 4.0) is grid  # the second session gets the same object, not 900 new decodes
    gif = state.replay_animation(run, "gif")
    assert gif[:6] == b"GIF89a" and state.replay_animation(run, "gif") is gif
