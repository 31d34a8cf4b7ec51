import json
import subprocess
import sys

import pytest

from vae.cli import main


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "vae", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("args", "says"), [
    (["train", "--epochs", "abc"], "argument --epochs: invalid int value"),
    (["train", "--latent-dim", "0"], "latent_dim: must be from 1 to 64"),
    (["train", "--epochs", "1000000000"], "epochs: must be from 1 to 1000"),
    (["train", "--learning-rate", "nan"], "learning_rate: must be from"),
    (["train", "--preset", "nope"], "argument --preset: invalid choice"),
    (["train", "--name", "../escape"], "Run name '../escape' is not allowed"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
    (["evaluate"], "the following arguments are required: name"),
    (["evaluate", "../../etc/passwd"], "Run name '../../etc/passwd' is not allowed"),
    # Refused for the number before the run is looked for (no run of that name exists here either).
    (["evaluate", "any-run", "--iw-samples", "5000"], "--iw-samples must be 0 to 1000, not 5000"),
    (["evaluate", "any-run", "--iw-samples", "-1"], "--iw-samples must be 0 to 1000, not -1"),
])
def test_bad_arguments_print_one_line_and_exit_2(args, says):
    completed = run_cli(*args)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m vae: error:")
    assert says in lines[0], lines[0]
    assert "Traceback" not in completed.stderr


@pytest.fixture
def cli_env(mnist):
    """The session's MNIST copy, in the cache folder tests/conftest.py's isolated_dirs points the CLI at."""


def test_train_list_evaluate(cli_env, runs_dir, capsys):
    tiny = ["--epochs", "1", "--hidden-dim", "16", "--train-subset", "512", "--batch-size", "128"]
    assert main(["train", *tiny, "--name", "cli-run"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "Saved run: cli-run"
    assert "Test -ELBO" in out

    assert main(["list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["name", "preset"] and table[1].startswith("cli-run")

    assert main(["evaluate", "cli-run", "--json", "--iw-samples", "5"]) == 0
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert {"test_neg_elbo", "test_reconstruction_loss", "test_kl_loss", "per_class_sse"} <= set(figures)
    assert len(figures["per_class_sse"]) == 10
    assert figures["test_neg_elbo"] == pytest.approx(figures["test_reconstruction_loss"] + figures["test_kl_loss"])
    # The importance-weighted bound, from weights.npz in numpy: tighter than the -ELBO (10 000 images).
    assert figures["iw_samples"] == 5 and figures["test_iw_nll_k5"] < figures["test_neg_elbo"]
    assert "importance-weighted bound, K = 5" in out

    assert main(["train", *tiny, "--name", "cli-run"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_evaluate_unknown_run_exits_2(runs_dir, capsys):
    assert main(["evaluate", "nothing-here"]) == 2
    assert "No run named 'nothing-here'" in capsys.readouterr().err


def test_list_with_no_runs_says_how_to_train(runs_dir, capsys):
    assert main(["list"]) == 0
    assert "python -m vae train" in capsys.readouterr().out


def test_missing_data_exits_1_with_one_line(tmp_path, capsys):
    assert main(["train", "--mnist", str(tmp_path / "none.npz")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]


def test_train_into_a_log_file_prints_a_line_per_epoch_and_no_progress_bar(cli_env, runs_dir):
    completed = run_cli("train", "--epochs", "2", "--hidden-dim", "16", "--train-subset", "512",
                        "--batch-size", "128", "--name", "logged", "--runs-dir", str(runs_dir), timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    epoch_lines = [line for line in completed.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "\r" not in completed.stdout + completed.stderr  # no carriage-return progress bar
    assert completed.stdout.strip().splitlines()[-1] == "Saved run: logged"


def test_a_conditional_run_trains_and_evaluates_from_the_command_line(cli_env, runs_dir, capsys):
    tiny = ["--epochs", "1", "--hidden-dim", "16", "--train-subset", "512", "--batch-size", "128"]
    assert main(["train", "--preset", "conditional", *tiny, "--name", "told"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "told", "--json", "--iw-samples", "5"]) == 0
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["condition"] == "label" and figures["test_iw_nll_k5"] < figures["test_neg_elbo"]
    assert "conditional VAE" in out and "-log p(x | y) <=" in out
    assert main(["train", "--condition", "label", "--arch", "conv", *tiny]) == 2
    assert "dense" in capsys.readouterr().err
