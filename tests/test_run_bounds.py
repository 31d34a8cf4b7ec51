"""A run's likelihood figures kept by its content (vae/runs/bounds.py): computed once for a run
wherever it is copied and whichever process asks; computed again for a changed run or a kept file
that does not read back; never an error of the cache's own."""

from __future__ import annotations

import json
import shutil

import pytest

from vae import runs
from vae.runs import bounds

FIGURES = {"neg_elbo": 140.5, "iw_nll": 136.25}


@pytest.fixture
def run_folder(tmp_path):
    folder = tmp_path / "runs" / "a-run"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"hidden_dim": 32, "dataset": "mnist"}))
    (folder / runs.WEIGHTS_FILE).write_bytes(b"the weights' bytes")
    return folder


class Counting:
    def __init__(self, figures=FIGURES):
        self.calls, self.figures = 0, figures

    def __call__(self) -> dict[str, float]:
        self.calls += 1
        return dict(self.figures)


def kept_files(cache) -> list:
    return sorted((cache / bounds.FOLDER).glob("*.json"))


def test_a_copy_of_a_run_elsewhere_gets_the_figures_computed_once(run_folder, tmp_path):
    cache, compute = tmp_path / "cache", Counting()
    assert runs.remembered_likelihood(run_folder, 500, 100, cache, compute) == FIGURES
    copy = shutil.copytree(run_folder, tmp_path / "elsewhere" / "renamed")
    assert runs.remembered_likelihood(copy, 500, 100, cache, compute) == FIGURES
    assert compute.calls == 1 and len(kept_files(cache)) == 1


def test_other_weights_settings_images_or_samples_are_computed_anew(run_folder, tmp_path):
    cache, compute = tmp_path / "cache", Counting()
    runs.remembered_likelihood(run_folder, 500, 100, cache, compute)
    runs.remembered_likelihood(run_folder, 400, 100, cache, compute)
    runs.remembered_likelihood(run_folder, 500, 10, cache, compute)
    (run_folder / runs.WEIGHTS_FILE).write_bytes(b"trained further")
    runs.remembered_likelihood(run_folder, 500, 100, cache, compute)
    (run_folder / "config.json").write_text(json.dumps({"hidden_dim": 32, "dataset": "fashion-mnist"}))
    runs.remembered_likelihood(run_folder, 500, 100, cache, compute)
    assert compute.calls == 5 and len(kept_files(cache)) == 5


@pytest.mark.parametrize("kept", ["", "{not json", "[1, 2]", '{"neg_elbo": 1.5}', '{"neg_elbo": NaN, "iw_nll": 1.0}',
                                  '{"neg_elbo": "140", "iw_nll": 1.0}', '{"neg_elbo": 1e999, "iw_nll": 1.0}'])
def test_a_kept_file_that_does_not_read_back_as_two_finite_numbers_is_computed_again(run_folder, tmp_path, kept):
    cache, compute = tmp_path / "cache", Counting()
    runs.remembered_likelihood(run_folder, 500, 100, cache, compute)
    (file,) = kept_files(cache)
    file.write_text(kept)
    assert runs.remembered_likelihood(run_folder, 500, 100, cache, compute) == FIGURES
    assert compute.calls == 2
    assert json.loads(file.read_text()) == FIGURES  # mended for the next process


def test_a_cache_that_cannot_be_written_costs_only_the_speed_up(run_folder, tmp_path):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    compute = Counting()
    for _ in range(2):
        assert runs.remembered_likelihood(run_folder, 500, 100, blocked, compute) == FIGURES
    assert compute.calls == 2 and blocked.read_text().startswith("a file")


def test_an_unreadable_run_is_left_to_compute_whose_error_names_it(run_folder, tmp_path):
    (run_folder / runs.WEIGHTS_FILE).unlink()

    def compute():
        raise runs.RunError("Run 'a-run' has no weights.npz")

    with pytest.raises(runs.RunError, match="no weights.npz"):
        runs.remembered_likelihood(run_folder, 500, 100, tmp_path / "cache", compute)
    assert not (tmp_path / "cache").exists()


def test_bytes_moved_from_the_settings_to_the_weights_are_another_run(run_folder, tmp_path):
    cache, compute = tmp_path / "cache", Counting()
    config, weights = (run_folder / "config.json").read_bytes(), (run_folder / runs.WEIGHTS_FILE).read_bytes()
    runs.remembered_likelihood(run_folder, 500, 100, cache, compute)
    (run_folder / "config.json").write_bytes(config[:-1])
    (run_folder / runs.WEIGHTS_FILE).write_bytes(config[-1:] + weights)
    runs.remembered_likelihood(run_folder, 500, 100, cache, compute)
    assert compute.calls == 2
