"""One settings object (vae.settings): every LATENT_LAB_* variable read and checked in one module, a
bad value one sentence naming it, the repository's paths worked out in one place."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.harness import ROOT
from vae import settings as vae_settings
from vae.settings import SettingsError, settings


def test_defaults_and_what_each_variable_sets(monkeypatch, tmp_path):
    for name in vae_settings.NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    current = settings()
    assert current.runs_dir == vae_settings.ROOT / "runs" and vae_settings.ROOT == ROOT
    assert current.cache_dir == tmp_path / ".cache" / "latent-lab"
    assert (current.training_slots, current.stall_seconds, current.worker_niceness) == (1, 120.0, 10)
    assert not current.classroom and current.broker is None and current.streamlit_workarounds
    assert current.language is None and current.warm_training and current.prepare_default  # None: the browser's
    assert current.training_threads == 0  # TensorFlow's own choice: every core
    monkeypatch.setenv("LATENT_LAB_RUNS_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("LATENT_LAB_TRAINING_SLOTS", "3")
    monkeypatch.setenv("LATENT_LAB_CLASSROOM", "1")
    monkeypatch.setenv("LATENT_LAB_LANGUAGE", "es")
    monkeypatch.setenv("LATENT_LAB_WARM_TRAINING", "0")
    monkeypatch.setenv("LATENT_LAB_PREPARE_DEFAULT", "0")
    monkeypatch.setenv("LATENT_LAB_TRAINING_THREADS", "1")
    changed = settings()
    assert (changed.runs_dir, changed.training_slots, changed.classroom) == (tmp_path / "elsewhere", 3, True)
    assert changed.language == "es" and not changed.warm_training and not changed.prepare_default
    assert changed.training_threads == 1


@pytest.mark.parametrize("name, value, sentence", [
    ("LATENT_LAB_TRAINING_SLOTS", "lots", "LATENT_LAB_TRAINING_SLOTS: must be a whole number from 1 to 8, got 'lots'"),
    ("LATENT_LAB_TRAINING_SLOTS", "9", "LATENT_LAB_TRAINING_SLOTS: must be from 1 to 8, got 9"),
    ("LATENT_LAB_STALL_SECONDS", "-5", "LATENT_LAB_STALL_SECONDS: must be from 1 to 86400, got -5"),
    ("LATENT_LAB_WORKER_NICENESS", "1.5", "LATENT_LAB_WORKER_NICENESS: must be a whole number from 0 to 19"),
    ("LATENT_LAB_WARM_TRAINING", "yes", "LATENT_LAB_WARM_TRAINING: must be 0 or 1, got 'yes'"),
    ("LATENT_LAB_PREPARE_DEFAULT", "2", "LATENT_LAB_PREPARE_DEFAULT: must be 0 or 1, got '2'"),
    ("LATENT_LAB_TRAINING_THREADS", "-1", "LATENT_LAB_TRAINING_THREADS: must be from 0 to 64, got -1"),
    ("LATENT_LAB_TRAINING_THREADS", "two", "LATENT_LAB_TRAINING_THREADS: must be a whole number from 0 to 64"),
    ("LATENT_LAB_LANGUAGE", "klingon", "LATENT_LAB_LANGUAGE: must be one of en, es (the catalogs in vae/locale), "
                                       "got 'klingon'"),
])
def test_a_bad_value_is_one_sentence_naming_the_variable(monkeypatch, name, value, sentence):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        settings()
    assert str(refused.value).startswith(sentence)
    check = subprocess.run([sys.executable, "-m", "vae.settings", "--check"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 2 and check.stderr.strip().startswith(f"error: {sentence}")
    assert "Traceback" not in check.stderr


def test_only_vae_settings_reads_the_environment():
    """Product code asks vae.settings; the environment is read there alone (children's environments
    are still built where they are started, and TensorFlow's own variables set before it loads)."""
    reading = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[")
    found = []
    for path in [ROOT / "app.py", *(ROOT / "vae").rglob("*.py"), *(ROOT / "ui").rglob("*.py"),
                 *(ROOT / "pages").rglob("*.py")]:
        if path == ROOT / "vae" / "settings.py":
            continue
        found += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1)
                  if reading.search(line)]
    assert found == []
    literal = re.compile(r"[\"']LATENT_LAB_[A-Z_]+[\"']")
    named_elsewhere = [str(path.relative_to(ROOT)) for path in (ROOT / "vae").rglob("*.py")
                       if path.name != "settings.py" and literal.search(path.read_text())]
    assert named_elsewhere == [], "each variable's name is spelled once, in vae/settings.py"


def test_the_repository_root_is_worked_out_in_one_place():
    pattern = re.compile(r"parents\[2\]|parent\.parent|os\.path\.dirname\(os\.path\.dirname")
    offenders = [str(path.relative_to(ROOT)) for path in [*(ROOT / "vae").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]
                 if path.name != "settings.py" and pattern.search(path.read_text())]
    assert offenders == []
    assert Path(vae_settings.ROOT / "app.py").is_file()


def test_training_threads_become_tensorflows_own_variables_before_it_loads():
    """LATENT_LAB_TRAINING_THREADS becomes TensorFlow's own thread variables in the training process
    (vae.jobs.worker sets them before TensorFlow loads); 0, the default, sets none: every core."""
    from vae.jobs.worker import thread_limits

    assert thread_limits(0) == {}
    assert thread_limits(1) == {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
