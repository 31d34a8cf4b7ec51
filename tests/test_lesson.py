"""The Lesson page and the code it shows: source_of gives the same text as `inspect`, every code block
on the page is the code it names (read from the file on disk, so it cannot drift), and the page works
at every step, in presenter mode, with a bad run, and with no run at all."""

import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TINY
from tests.test_pages import APP, TIMEOUT, app_env, copy_runs, texts  # noqa: F401 (app_env: autouse)
from vae.errors import LabError
from vae.source_code import REPO_ROOT, SourceNotFound, source_of
from vae.training.lab import train_and_save

LESSON = "pages/lesson.py"
STEP_COUNT = 10
STYLESHEET = (REPO_ROOT / "ui" / "presenter.css").read_text()

@pytest.fixture(scope="module")
def lesson_runs(tmp_path_factory, mnist):
    """A tiny 2-D VAE (the default preset), a tiny 2-D autoencoder and a tiny conditional VAE, trained once."""
    folder = tmp_path_factory.mktemp("lesson-runs")
    data = mnist.subset(512)
    train_and_save(TINY.replace(epochs=1), data, folder, "vae2", "default")
    train_and_save(TINY.replace(epochs=1, model="ae"), data, folder, "ae2", "autoencoder")
    train_and_save(TINY.replace(epochs=1, condition="label"), data, folder, "told", "conditional")
    return folder


def open_lesson(step: int = 1, active_run: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if active_run:
        at.session_state["active_run"] = active_run
    at.run()
    at.switch_page(LESSON).run()
    if step != 1:
        at.selectbox(key="lesson_step").set_value(step).run()
    assert not at.exception, at.exception
    return at


def python_object(file: str, qualified_name: str):
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    found = module
    for part in qualified_name.split("."):
        found = getattr(found, part)
    return found


def appears_in_file(code: str, file: str) -> bool:
    """Whether `code` is, once dedented, a run of whole lines of the file as it is on disk."""
    lines = (REPO_ROOT / file).read_text().splitlines(keepends=True)
    count = code.count("\n")
    return any(textwrap.dedent("".join(lines[start : start + count])) == code for start in range(len(lines)))


# --- source_of -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("file", "name"), [
    ("vae/data.py", "to_float"),
    ("vae/data.py", "MnistData"),
    ("vae/training/model.py", "build_encoder"),
    ("vae/training/model.py", "Sampling"),
    ("vae/training/model.py", "Sampling.call"),
    ("vae/training/model.py", "build_decoder"),
    ("vae/training/model.py", "reconstruction_loss_per_image"),
    ("vae/training/model.py", "kl_loss_per_image"),
    ("vae/training/model.py", "VariationalAutoencoder._per_image_losses"),
    ("vae/training/model.py", "VariationalAutoencoder.train_step"),
    ("vae/training/model.py", "VariationalAutoencoder._latent"),
    ("vae/training/model.py", "VariationalAutoencoder.metrics"),  # a decorated method (@property)
    ("vae/config.py", "TrainConfig"),  # a decorated class (@dataclass)
    ("vae/config.py", "TrainConfig.from_dict"),  # a decorated method (@classmethod)
    ("vae/evaluate.py", "squared_error_per_image"),
    ("vae/evaluate.py", "per_class_table"),
    ("vae/evaluate.py", "manifold_grid"),
])
def test_source_of_is_what_inspect_reads_from_the_imported_code(file, name):
    found = python_object(file, name)
    if isinstance(found, property):
        found = found.fget
    assert source_of(file, name) == textwrap.dedent(inspect.getsource(found))


def test_source_of_a_decorated_definition_starts_at_its_decorator():
    assert source_of("vae/config.py", "TrainConfig").startswith("@dataclass(frozen=True)\nclass TrainConfig:")
    assert source_of("vae/config.py", "TrainConfig.from_dict").startswith("@classmethod\ndef from_dict(")


def test_source_of_a_module_constant_is_its_whole_assignment():
    presets = source_of("vae/config.py", "PRESETS")
    assert presets.startswith("PRESETS: dict[str, TrainConfig] = {") and presets.endswith("}\n")
    assert appears_in_file(presets, "vae/config.py")
    assert source_of("vae/config.py", "TUTORIAL").startswith("TUTORIAL = TrainConfig(")


@pytest.mark.parametrize(("file", "name", "message"), [
    ("vae/training/model.py", "build_nothing", "build_nothing is not defined in vae/training/model.py"),
    ("vae/training/model.py", "Sampling.nothing", "Sampling.nothing is not defined in vae/training/model.py"),
    ("vae/training/model.py", "build_encoder.inner", "build_encoder.inner is not defined in vae/training/model.py"),
    ("vae/nothing.py", "anything", "vae/nothing.py is not a Python file of vae/"),
    ("app.py", "navigation", "app.py is not a Python file of vae/"),
    ("vae/../app.py", "navigation", "vae/../app.py is not a Python file of vae/"),
])
def test_source_of_what_is_not_there_is_one_clear_error(file, name, message):
    with pytest.raises(SourceNotFound) as raised:
        source_of(file, name)
    assert isinstance(raised.value, LabError)
    assert str(raised.value) == message


# --- The page ------------------------------------------------------------------------------------


def code_blocks(at) -> list[tuple[str, str, str]]:
    """(file, qualified name, code) of every code block shown, from its expander's label."""
    blocks = []
    for expander in at.expander:
        name, _, file = expander.label.partition(" · ")
        (code,) = expander.code
        blocks.append((file, name, code.value + "\n"))  # st.code drops the last line's newline
    return blocks


def test_every_step_runs_and_shows_the_code_it_names_as_it_is_on_disk(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    at = open_lesson()
    shown = set()
    for step in range(1, STEP_COUNT + 1):
        at.selectbox(key="lesson_step").set_value(step).run()
        assert not at.exception and not at.error, (step, at.exception, at.error)
        assert f"Step {step} of {STEP_COUNT}" in texts(at)
        blocks = code_blocks(at)
        assert blocks, step
        for file, name, code in blocks:
            assert code == source_of(file, name)
            assert appears_in_file(code, file), (file, name)
            found = python_object(file, name)
            if inspect.isfunction(found) or inspect.isclass(found):
                assert code == textwrap.dedent(inspect.getsource(found))
            shown.add(name)
        (link,) = at.get("page_link")
        assert link.value and link.proto.page_script_hash, step
    assert {"build_encoder", "Sampling", "build_decoder", "VariationalAutoencoder._per_image_losses",
            "per_class_table", "manifold_grid"} <= shown


def test_each_step_shows_the_active_run(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    at = open_lesson(2)  # the encoder: shapes read from the saved weights (TINY: 32 hidden units)
    layers = at.table[0].value
    assert list(layers.index) == ["layer 1", "z_mean", "z_log_var"]
    assert list(layers["weight shapes"]) == ["784 × 32, 32", "32 × 2, 2", "32 × 2, 2"]
    at.selectbox(key="lesson_step").set_value(5).run()  # the loss: the run's saved test figures
    metrics = json.loads((runs_dir / "vae2" / "metrics.json").read_text())
    assert at.metric[0].value == f"{metrics['test_reconstruction_loss']:.1f}"
    at.selectbox(key="lesson_step").set_value(7).run()  # per-digit errors from the saved per-image errors
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in figure["data"]] == ["vae2"]
    at.selectbox(key="lesson_step").set_value(8).run()
    at.select_slider(key="lesson_grid_size").set_value(5).run()
    assert not at.exception and "5 × 5 points" in at.image[0].proto.imgs[0].caption


def test_next_and_previous_move_one_step_and_stop_at_the_ends(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    at = open_lesson()
    assert at.button(key="lesson_previous_top").disabled
    at.button(key="lesson_next_top").click().run()
    assert at.selectbox(key="lesson_step").value == 2 and at.header[0].value == "The encoder"
    at.button(key="lesson_next_bottom").click().run()
    assert at.selectbox(key="lesson_step").value == 3 and at.header[0].value == "Sampling"
    at.button(key="lesson_previous_top").click().run()
    assert at.selectbox(key="lesson_step").value == 2
    at.selectbox(key="lesson_step").set_value(STEP_COUNT).run()
    assert at.button(key="lesson_next_top").disabled and at.button(key="lesson_next_bottom").disabled
    assert not at.exception


def test_the_step_survives_a_visit_to_another_page(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    at = open_lesson(4)
    at.switch_page("pages/compare.py").run()
    at.switch_page(LESSON).run()
    assert at.selectbox(key="lesson_step").value == 4 and at.header[0].value == "The decoder"


def test_the_links_lead_to_the_app_s_pages(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    at = open_lesson()
    targets = set()
    for step in range(1, STEP_COUNT + 1):
        at.selectbox(key="lesson_step").set_value(step).run()
        targets |= {link.proto.page for link in at.get("page_link")}
    assert targets == {"explorer", "train", "reconstruction", "compare"}


def test_presenter_mode_adds_the_stylesheet_and_lasts_across_pages(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    at = open_lesson()
    assert not [element for element in at.html if STYLESHEET in element.value]
    at.toggle(key="presenter_mode").set_value(True).run()
    assert [element for element in at.html if element.value == f"<style>{STYLESHEET}</style>"]
    at.switch_page("pages/compare.py").run()
    at.switch_page(LESSON).run()
    assert at.toggle(key="presenter_mode").value
    assert [element for element in at.html if STYLESHEET in element.value]


def presenter_figure_scale_script():
    import streamlit as st

    from ui.presenter import figure_scale, presenter_switch

    presenter_switch()
    st.markdown(f"scale {figure_scale(3)}")


def test_figure_scale_grows_in_presenter_mode():
    at = AppTest.from_function(presenter_figure_scale_script).run()
    assert at.markdown[0].value == "scale 3"
    at.toggle(key="presenter_mode").set_value(True).run()
    assert at.markdown[0].value == "scale 6"


def test_the_closing_step_shows_saved_autoencoders_or_says_which_preset_to_train(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    closing = STEP_COUNT - 1  # "What next": the tutorial's own last step
    at = open_lesson(closing)
    assert not at.table and "**autoencoder** and the **latent16** preset" in at.info[0].value
    copy_runs(lesson_runs, runs_dir, "ae2")
    at = open_lesson(closing, active_run="vae2")
    assert list(at.table[0].value.index) == ["vae2", "ae2"]
    assert "**latent16**" in at.info[0].value and "autoencoder" not in at.info[0].value


def test_a_run_that_cannot_be_read_is_explained(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    (runs_dir / "vae2" / "weights.npz").write_bytes(b"truncated")
    at = open_lesson(2)
    assert not at.exception and "weights.npz cannot be read" in at.error[0].value


def test_without_runs_the_page_offers_to_train_the_default_model(runs_dir):
    at = open_lesson()
    assert "no trained model yet" in texts(at).lower()
    assert at.button(key="first-run-lesson").label == "Train the default model"
    assert not at.error and not at.expander


VISIT_EVERY_STEP = '''
import sys
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.run()
at.switch_page("pages/lesson.py").run()
for step in range(1, int(sys.argv[2]) + 1):
    at.selectbox(key="lesson_step").set_value(step).run()
    assert not at.exception and not at.error, (step, at.exception, at.error)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
from ui.training import training_queue

training_queue().shutdown()
'''


def test_the_lesson_never_imports_tensorflow(runs_dir, lesson_runs, mnist_cache_dir):
    """It shows vae/training/model.py's code by reading it as text: the server process stays TensorFlow-free."""
    copy_runs(lesson_runs, runs_dir, "vae2")
    env = {**os.environ, "LATENT_LAB_RUNS_DIR": str(runs_dir), "LATENT_LAB_CACHE": str(mnist_cache_dir),
           "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", VISIT_EVERY_STEP, APP, str(STEP_COUNT)], capture_output=True,
                          text=True, timeout=300, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_label_step_draws_a_style_as_every_class_and_sets_the_runs_side_by_side(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "vae2")
    at = open_lesson(STEP_COUNT, active_run="vae2")
    assert at.header[0].value == "What the label buys"
    assert any("train the **conditional** preset" in info.value for info in at.info)  # none trained yet

    copy_runs(lesson_runs, runs_dir, "told")
    for active in ("vae2", "told"):  # shown from the conditional run whichever run is active
        at = open_lesson(STEP_COUNT, active_run=active)
        assert not at.exception and not at.error, (at.exception, at.error)
        caption = at.image[0].proto.imgs[0].caption
        assert "decoded as every digit" in caption and "told" in caption
        table = at.table[0].value
        assert list(table.index) == ["told", "vae2"] and list(table["told the class"]) == ["yes", "no"]


def test_every_step_shows_a_conditional_run(runs_dir, lesson_runs):
    copy_runs(lesson_runs, runs_dir, "told")
    at = open_lesson(active_run="told")
    for step in range(1, STEP_COUNT + 1):
        at.selectbox(key="lesson_step").set_value(step).run()
        assert not at.exception and not at.error, (step, at.exception, at.error)
    at.selectbox(key="lesson_step").set_value(2).run()  # its encoder reads the pixels and the label
    assert list(at.table[0].value["weight shapes"])[0] == "794 × 32, 32"
