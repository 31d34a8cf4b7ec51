"""The Compare runs page and its figures: runs' curves overlaid, final numbers, maps at one scale."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TINY
from tests.test_pages import app_env, plotly_array, texts  # noqa: F401  (app_env: autouse fixture)
from ui.latent_map.pack import EXTENT
from vae import cost, evaluate, runs
from vae.evaluate import IW_SAMPLES
from vae.plots import METRIC_TITLES, runs_overlay, small_latent_map
from vae.training.lab import train_and_save

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "runs.py")
TIMEOUT = 60


def fake_history(epochs: int, start: float) -> pd.DataFrame:
    epoch = np.arange(1, epochs + 1)
    columns = {"epoch": epoch}
    for offset, metric in enumerate(METRIC_TITLES):
        columns[metric] = start + offset - epoch
        columns[f"test_{metric}"] = start + offset - epoch + 0.5
    return pd.DataFrame(columns)


def test_runs_overlay_draws_each_run_in_one_colour_train_solid_test_dotted_in_three_panels():
    histories = {"default": fake_history(3, 100.0), "tutorial": fake_history(5, 200.0)}
    figure = runs_overlay(histories)
    assert len(figure.data) == 2 * 3 * 2  # runs × panels × (train, test)
    for run_name, history in histories.items():
        traces = [trace for trace in figure.data if trace.legendgroup == run_name]
        assert len(traces) == 6 and {trace.name for trace in traces} == {run_name}
        assert len({trace.line.color for trace in traces}) == 1
        train = [trace for trace in traces if trace.line.dash == "solid"]
        test = [trace for trace in traces if trace.line.dash == "dot"]
        assert [trace.mode for trace in train] == ["lines"] * 3
        assert [trace.mode for trace in test] == ["lines+markers"] * 3
        assert [trace.xaxis for trace in train] == [trace.xaxis for trace in test] == ["x", "x2", "x3"]
        for panel, metric in enumerate(METRIC_TITLES):
            assert list(train[panel].y) == list(history[metric])
            assert list(test[panel].y) == list(history[f"test_{metric}"])
    colours = [next(t.line.color for t in figure.data if t.legendgroup == name) for name in histories]
    assert colours[0] != colours[1]
    assert [trace.name for trace in figure.data if trace.showlegend is not False] == ["default", "tutorial"]
    # Each panel's title on two lines, broken at its last space (three side by side fit a phone).
    assert [a.text for a in figure.layout.annotations] == ["−ELBO<br>(loss)", "reconstruction<br>(BCE)",
                                                           "KL<br>divergence"]
    assert figure.layout.xaxis.title.text == "epoch" and figure.layout.yaxis.title.text == "nats per image"


def test_maps_of_a_spread_and_a_collapsed_run_share_one_fixed_range():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    spread = small_latent_map(rng.normal(scale=2.0, size=(500, 2)), labels)
    collapsed = small_latent_map(rng.normal(scale=1e-3, size=(500, 2)), labels, ("principal component 1",
                                                                            "principal component 2"))
    for figure in (spread, collapsed):
        assert list(figure.layout.xaxis.range) == list(figure.layout.yaxis.range) == [-EXTENT, EXTENT]
        assert figure.layout.xaxis.fixedrange and figure.layout.yaxis.fixedrange
        assert figure.layout.yaxis.scaleanchor == "x"
    assert collapsed.layout.xaxis.title.text == "principal component 1"


def test_a_collapsed_set_of_encodings_is_still_drawn_every_point_by_digit():
    labels = np.repeat(np.arange(10), 20)
    points = np.random.default_rng(1).normal(scale=1e-3, size=(200, 2))  # the tutorial's one blob
    figure = small_latent_map(points, labels)
    assert [trace.name for trace in figure.data] == [str(d) for d in range(10)]
    assert all(len(trace.x) == len(trace.y) == 20 for trace in figure.data)
    drawn = np.concatenate([np.column_stack([trace.x, trace.y]) for trace in figure.data])
    assert np.abs(drawn).max() < 0.01
    assert len({trace.marker.color for trace in figure.data}) == 10


@pytest.fixture(scope="module")
def compared_runs(tmp_path_factory, mnist):
    """Four small runs made once: the default recipe, the tutorial's averaged loss, a plain
    autoencoder and a 3-D VAE (2 epochs on 512 training images, evaluated on the whole test set)."""
    folder = tmp_path_factory.mktemp("compared-runs")
    data = mnist.subset(512)
    train_and_save(TINY.replace(epochs=2), data, folder, "vae2", "default")
    train_and_save(TINY.replace(epochs=2, loss="tutorial"), data, folder, "tutorial2", "tutorial")
    train_and_save(TINY.replace(epochs=2, model="ae"), data, folder, "ae2", "autoencoder")
    train_and_save(TINY.replace(epochs=2, latent_dim=3), data, folder, "vae3", None)
    return folder


def copy_newest_first(compared_runs, runs_dir, *names, rename=None) -> None:
    """Copy runs in, the first named the newest (saved within one second, they would tie)."""
    rename = rename or {}
    runs_dir.mkdir(parents=True, exist_ok=True)
    for age, name in enumerate(names):
        target = runs_dir / rename.get(name, name)
        shutil.copytree(compared_runs / name, target)
        metrics = json.loads((target / "metrics.json").read_text())
        metrics["created_at"] = f"2024-01-01T00:00:{59 - age:02d}+00:00"
        (target / "metrics.json").write_text(json.dumps(metrics))


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def chart_key(element) -> str:
    return element.proto.id.split("-", 2)[-1]  # Streamlit's id is "$$ID-<hash>-<key>"


def chart(at, key) -> dict:
    (element,) = [c for c in at.get("plotly_chart") if chart_key(c) == key]
    return json.loads(element.proto.spec)


def overlay(at) -> dict:
    return chart(at, "runs_overlay")


def map_keys(at) -> list[str]:
    return [chart_key(c) for c in at.get("plotly_chart") if chart_key(c).startswith("runs_map_")]


def test_without_runs_the_page_offers_the_first_training(runs_dir):
    at = open_page()
    assert at.title[0].value == "Compare runs"
    assert "no trained model yet" in texts(at).lower()
    assert at.button(key="first-run-runs").label == "Train the default model"
    assert not at.get("plotly_chart")


def test_the_three_newest_runs_are_chosen_and_drawn_as_curves_numbers_and_maps(runs_dir, compared_runs, mnist):
    copy_newest_first(compared_runs, runs_dir, "tutorial2", "vae2", "vae3", "ae2")
    at = open_page()
    assert at.multiselect(key="runs_compared").value == ["tutorial2", "vae2", "vae3"]
    assert at.multiselect(key="runs_compared").options[0].startswith("tutorial2 — tutorial, latent 2")
    assert not at.info and not at.error

    traces = overlay(at)["data"]
    assert [t["name"] for t in traces if t.get("showlegend", True)] == ["tutorial2", "vae2", "vae3"]
    for name in ("tutorial2", "vae2", "vae3"):
        mine = [t for t in traces if t["legendgroup"] == name]
        assert [t["line"]["dash"] for t in mine] == ["solid", "dot"] * 3
        history = pd.read_csv(runs_dir / name / "history.csv")
        test_kl = next(t for t in mine if t["line"]["dash"] == "dot" and t["xaxis"] == "x3")
        assert plotly_array(test_kl["y"]) == pytest.approx(history["test_kl_loss"].tolist())
    final_kl = {t["legendgroup"]: plotly_array(t["y"])[-1] for t in traces
                if t["xaxis"] == "x3" and t["line"]["dash"] == "dot"}
    assert final_kl["tutorial2"] < final_kl["vae2"]  # the averaged loss squeezes the KL towards 0

    table = at.dataframe[0].value
    assert list(table["run"]) == ["tutorial2", "vae2", "vae3"]
    assert list(table["preset"]) == ["tutorial", "default", "custom"]
    assert list(table["latent dim"]) == [2, 2, 3] and list(table["epochs"]) == [2, 2, 2]
    assert "tutorial's averaged loss" in table["model"][0] and table["model"][1] == "dense VAE"
    saved = json.loads((runs_dir / "vae3" / "metrics.json").read_text())
    assert table["test −ELBO"][2] == pytest.approx(saved["test_neg_elbo"])
    assert table["test KL"][2] == pytest.approx(saved["test_kl_loss"])

    likelihood = at.dataframe[1].value  # on the same test images for every run, from weights.npz
    images = cost.likelihood_images([TINY, TINY.replace(latent_dim=3)], IW_SAMPLES)
    assert list(likelihood["run"]) == ["tutorial2", "vae2", "vae3"] and images == 1000
    encoder, decoder = runs.load_numpy_models(runs.find_run(runs_dir, "vae2"))
    x = mnist.x_test[:images]
    assert likelihood["IW bound (K=100)"][1] == pytest.approx(
        evaluate.iw_neg_log_likelihood(encoder, decoder, x, IW_SAMPLES, seed=TINY.seed))
    assert likelihood["−ELBO"][1] == pytest.approx(evaluate.neg_elbo(encoder, decoder, x, seed=TINY.seed)["neg_elbo"])
    assert (likelihood["gap"] > 0).all()  # the bound is tighter than the -ELBO for every VAE
    assert any(f"On the first {images:,} test images" in c.value for c in at.caption)

    assert map_keys(at) == ["runs_map_tutorial2", "runs_map_vae2", "runs_map_vae3"]
    maps = [chart(at, f"runs_map_{name}") for name in ("tutorial2", "vae2", "vae3")]
    for figure in maps:
        layout = figure["layout"]
        assert layout["xaxis"]["range"] == layout["yaxis"]["range"] == [-EXTENT, EXTENT]
        assert sum(len(plotly_array(t["x"])) for t in figure["data"]) == 2000
    assert maps[2]["layout"]["xaxis"]["title"]["text"] == "principal component 1"
    captions = [c.value for c in at.caption]
    assert any("first two principal components of its 3-D codes" in c for c in captions)
    assert sum("the latent space itself" in c for c in captions) == 2


def test_one_run_chosen_asks_for_two_and_still_draws_it(runs_dir, compared_runs):
    copy_newest_first(compared_runs, runs_dir, "vae2", "ae2")
    at = open_page()
    at.multiselect(key="runs_compared").set_value(["ae2"]).run()
    assert not at.exception
    assert "two or more" in at.info[0].value
    assert {t["name"] for t in overlay(at)["data"]} == {"ae2"}
    assert len(map_keys(at)) == 1 and len(at.dataframe[0].value) == 1
    assert at.dataframe[0].value["test KL"][0] == pytest.approx(0.0, abs=1e-6)  # no KL in an autoencoder
    assert any("Autoencoders define no likelihood" in info.value for info in at.info)
    at.multiselect(key="runs_compared").set_value([]).run()
    assert not at.exception and at.info and not at.get("plotly_chart")


def test_an_unreadable_run_shows_its_error_and_the_others_are_drawn(runs_dir, compared_runs):
    copy_newest_first(compared_runs, runs_dir, "vae2", "tutorial2", "vae3",
                      rename={"tutorial2": "bad_history", "vae3": "bad_codes"})
    (runs_dir / "bad_history" / "history.csv").write_text("this is,not\na history,at all\n")
    (runs_dir / "bad_codes" / "test_z_mean.npy").write_bytes(b"truncated")
    at = open_page()
    errors = [e.value for e in at.error]
    assert len(errors) == 2
    assert "bad\\_history" in errors[0] and "history.csv has no" in errors[0] and "left out" in errors[0]
    assert "bad\\_codes" in errors[1] and "test_z_mean.npy" in errors[1].replace("\\_", "_")
    assert {t["name"] for t in overlay(at)["data"]} == {"vae2", "bad_codes"}
    assert map_keys(at) == ["runs_map_vae2", "runs_map_bad_history"]
    assert "**bad\\_history**" in [m.value for m in at.markdown]  # names escaped: no stray italics
    assert list(at.dataframe[0].value["run"]) == ["vae2", "bad_history", "bad_codes"]


def test_an_empty_history_file_is_an_error_too(runs_dir, compared_runs):
    copy_newest_first(compared_runs, runs_dir, "vae2", "ae2")
    (runs_dir / "ae2" / "history.csv").write_text("")
    at = open_page()
    assert "history.csv cannot be read" in at.error[0].value
    assert {t["name"] for t in overlay(at)["data"]} == {"vae2"} and len(map_keys(at)) == 2


def test_a_chosen_run_deleted_meanwhile_drops_out_of_the_choice(runs_dir, compared_runs):
    copy_newest_first(compared_runs, runs_dir, "vae2", "ae2", "vae3")
    at = open_page()
    at.multiselect(key="runs_compared").set_value(["ae2", "vae3"]).run()
    shutil.rmtree(runs_dir / "vae3")  # deleted in another session
    at.run()
    assert not at.exception and not at.warning
    assert at.multiselect(key="runs_compared").value == ["ae2"]
    assert "two or more" in at.info[0].value and map_keys(at) == ["runs_map_ae2"]
