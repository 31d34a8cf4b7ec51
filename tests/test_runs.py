import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import TINY
from vae import runs
from vae.errors import TrainingDiverged
from vae.runs import RunError, saving
from vae.training.keras_files import load_models
from vae.training.lab import train_and_save


@pytest.fixture(scope="module")
def trained(small_data):
    from vae.training.loop import train

    return train(TINY, small_data)


def save(root, name, trained, **metrics):
    return runs.save_run(root, name, TINY, trained.encoder, trained.decoder, trained.history,
                         {"test_neg_elbo": 200.0, **metrics})


def test_save_list_find_load_round_trip(runs_dir, trained):
    path = save(runs_dir, "first", trained)
    assert sorted(p.name for p in path.iterdir()) == sorted([*runs.RUN_FILES, runs.WEIGHTS_FILE])
    listing = runs.list_runs(runs_dir)
    assert [r.name for r in listing.runs] == ["first"] and listing.problems == []
    summary = runs.find_run(runs_dir, "first")
    assert summary.config == TINY and summary.test_neg_elbo == 200.0 and summary.created_at
    encoder, decoder = load_models(summary.path)
    assert encoder.output_shape == [(None, 2), (None, 2)] and decoder.output_shape == (None, 784)
    assert runs.load_history(summary)["epoch"].tolist() == [1, 2]


def test_runs_are_listed_newest_first(runs_dir, trained):
    save(runs_dir, "older", trained, created_at="2026-01-01T00:00:00+00:00")
    save(runs_dir, "newer", trained, created_at="2026-06-01T00:00:00+00:00")
    assert [r.name for r in runs.list_runs(runs_dir).runs] == ["newer", "older"]


BAD_NAMES = ["", "../evil", "a/b", "/etc", ".hidden", "a\x00b", "<b>x</b>", "x" * 500, "..", "a b"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_before_anything_is_written(runs_dir, trained, name):
    with pytest.raises(RunError, match="not allowed"):
        save(runs_dir, name, trained)
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []


def test_a_taken_name_is_refused_and_the_old_run_kept(runs_dir, trained):
    path = save(runs_dir, "mine", trained, test_neg_elbo=111.0)
    with pytest.raises(RunError, match="already exists"):
        save(runs_dir, "mine", trained, test_neg_elbo=222.0)
    assert json.loads((path / "metrics.json").read_text())["test_neg_elbo"] == 111.0
    assert [p.name for p in runs_dir.iterdir()] == ["mine"]


def test_a_crash_between_write_and_rename_leaves_no_listed_run(runs_dir, small_data):
    # A real crash: the process dies (os._exit) after every file is written, before the rename.
    script = textwrap.dedent(f"""
        import os, vae.runs as runs
        from vae.runs import saving
        from vae.training.loop import train
        from vae.data import MnistData
        from tests.conftest import TINY
        import numpy as np
        x = np.random.default_rng(0).random((128, 784), dtype=np.float32)
        data = MnistData(x, np.zeros(128, int), x[:64], np.zeros(64, int))
        result = train(TINY.replace(epochs=1), data)
        saving._publish = lambda staging, final: os._exit(9)
        runs.save_run({str(runs_dir)!r}, "crashed", TINY, result.encoder, result.decoder, result.history, {{}})
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 9, completed.stderr[-2000:]
    leftovers = [p.name for p in runs_dir.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(runs.TEMP_PREFIX + "crashed-")
    staged = runs_dir / leftovers[0]
    assert (staged / "decoder.keras").is_file()  # everything was written; only the rename is missing
    assert runs.list_runs(runs_dir).runs == []
    assert runs.remove_stale_temporaries(runs_dir, older_than_seconds=0) == 1
    assert list(runs_dir.iterdir()) == []


def test_an_error_while_saving_cleans_up(runs_dir, trained, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saving, "_fsync_tree", full_disk)
    with pytest.raises(RunError, match="No space left on device"):
        save(runs_dir, "full", trained)
    assert list(runs_dir.iterdir()) == []


def test_an_unwritable_runs_dir_gives_a_clear_error(tmp_path, trained):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the runs folder should be")
    with pytest.raises(RunError, match="Cannot write runs to"):
        save(blocker / "runs", "x", trained)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: (p / "config.json").unlink(), "missing config.json"),
    (lambda p: (p / "config.json").write_text("{not json"), "unreadable config.json"),
    (lambda p: (p / "config.json").write_text(json.dumps({"latent_dim": "two"})), "unreadable config.json"),
    (lambda p: (p / "config.json").write_text(json.dumps({"latent_dim": 2, "colour": "red"})), "unknown setting"),
    (lambda p: (p / "metrics.json").write_text("[1, 2]"), "not a JSON object"),
])
def test_corrupt_runs_are_skipped_with_a_reason(runs_dir, trained, damage, message):
    save(runs_dir, "good", trained)
    damage(save(runs_dir, "bad", trained))
    listing = runs.list_runs(runs_dir)
    assert [r.name for r in listing.runs] == ["good"]
    assert len(listing.problems) == 1 and message in str(listing.problems[0])
    assert listing.problems[0].name == "bad" and "'bad'" in str(listing.problems[0])


@pytest.mark.parametrize("damage", [
    lambda f: f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2]),
    lambda f: f.write_bytes(b"PK\x03\x04 garbage"),
    lambda f: f.write_bytes(b""),
])
def test_damaged_model_files_fail_to_load_with_a_clear_error(runs_dir, trained, damage):
    path = save(runs_dir, "damaged", trained)
    damage(path / "decoder.keras")
    with pytest.raises(RunError, match="decoder.keras cannot be loaded"):
        load_models(path)


def test_a_model_file_with_code_is_refused_by_safe_mode(runs_dir, trained, tmp_path):
    import keras

    marker = tmp_path / "pwned"
    # A Lambda layer carries Python bytecode; loading it would run this and create the marker file.
    payload = eval(f"lambda x: x if __import__('pathlib').Path({str(marker)!r}).touch() is None else x")
    evil_input = keras.Input((784,))
    evil = keras.Model(evil_input, keras.layers.Lambda(payload)(evil_input))
    marker.unlink(missing_ok=True)
    path = save(runs_dir, "evil", trained)
    evil.save(path / "encoder.keras")
    with pytest.raises(RunError, match="encoder.keras cannot be loaded"):
        load_models(path)
    assert not marker.exists()


def test_delete_removes_the_run(runs_dir, trained):
    save(runs_dir, "gone", trained)
    runs.delete_run(runs_dir, "gone")
    assert list(runs_dir.iterdir()) == []
    with pytest.raises(RunError, match="No run named"):
        runs.delete_run(runs_dir, "gone")


def test_saved_models_load_in_a_process_that_never_imports_vae(runs_dir, trained):
    path = save(runs_dir, "portable", trained)
    script = textwrap.dedent(f"""
        import sys, numpy as np, keras
        enc = keras.saving.load_model({str(path / 'encoder.keras')!r}, safe_mode=True)
        dec = keras.saving.load_model({str(path / 'decoder.keras')!r}, safe_mode=True)
        z_mean, z_log_var = enc(np.zeros((1, 784), "float32"))
        print(tuple(dec(z_mean).shape), any(m == "vae" or m.startswith("vae.") for m in sys.modules))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd="/")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == "(1, 784) False"


def test_train_and_save_records_status_and_metrics(runs_dir, small_data):
    saved = train_and_save(TINY.replace(epochs=1), small_data, runs_dir, preset_name="default")
    assert saved.name.startswith("default-")
    metrics = runs.find_run(runs_dir, saved.name).metrics
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 1 and metrics["preset"] == "default"
    assert len(metrics["per_class_sse"]) == 10


def test_train_and_save_refuses_a_taken_name_before_training(runs_dir, small_data, trained, monkeypatch):
    save(runs_dir, "taken", trained)
    monkeypatch.setattr("vae.training.lab.train", lambda *a, **k: pytest.fail("trained despite a taken name"))
    with pytest.raises(RunError, match="already exists"):
        train_and_save(TINY, small_data, runs_dir, name="taken")


def test_a_diverged_run_is_not_saved(runs_dir, small_data):
    import numpy as np

    from vae.data import MnistData

    poisoned = small_data.x_train.copy()
    poisoned[:, 0] = np.nan
    data = MnistData(poisoned, small_data.y_train, small_data.x_test, small_data.y_test)
    with pytest.raises(TrainingDiverged, match="nothing was saved"):
        train_and_save(TINY, data, runs_dir, name="nan")
    assert not (runs_dir / "nan").exists()


def test_runs_go_to_the_repositorys_runs_folder_by_default(monkeypatch):
    """Not into the vae/runs package (where they went since the package was laid out: its code and
    a run's files side by side, and outside .gitignore's /runs/)."""
    monkeypatch.delenv(runs.RUNS_DIR_ENV, raising=False)
    root = Path(__file__).resolve().parents[1]
    assert runs.default_runs_dir() == root / "runs"
    monkeypatch.setenv(runs.RUNS_DIR_ENV, "/elsewhere/runs")
    assert runs.default_runs_dir() == Path("/elsewhere/runs")
