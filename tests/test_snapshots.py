"""Snapshots of the latent space while a model trains: taken at each epoch's end (and live in
between), streamed as JSON, saved with the run for the epoch replay."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import TINY
from vae import runs, snapshots
from vae.errors import RunError
from vae.jobs import protocol
from vae.numpy_model import Layer, NumpyModel, model_arrays_of, model_from_arrays
from vae.training.lab import train_and_save


class Collector:
    def __init__(self):
        self.snapshots = []

    def on_batch(self, progress): ...

    def on_epoch(self, summary): ...

    def on_snapshot(self, snapshot):
        self.snapshots.append(snapshot)


@pytest.fixture(scope="module")
def watched_run(tmp_path_factory, small_data):
    """A tiny 3-epoch training with live snapshots as often as possible, saved."""
    collector = Collector()
    folder = tmp_path_factory.mktemp("runs")
    saved = train_and_save(TINY.replace(epochs=3, latent_dim=3), small_data, folder, "watched", None,
                           [collector], live_seconds=0.0)
    return saved, collector.snapshots, small_data


def test_a_snapshot_at_every_epoch_end_and_live_ones_between(watched_run):
    saved, received, data = watched_run
    ends = [s for s in received if s.epoch_end]
    assert [s.epoch for s in ends] == [1.0, 2.0, 3.0]
    # The first is of the model before its first step: what a person sees while the step compiles.
    first, *between = [s for s in received if not s.epoch_end]
    assert first is received[0] and first.epoch == 0.0 and first.label() == "epoch 1 of 3 (part way)"
    assert between and all(0 < s.epoch < 3 for s in between)
    assert [s.epoch for s in received] == sorted(s.epoch for s in received)
    for snap in received:
        assert snap.z.shape == (len(data.x_test[: snapshots.SUBSET]), 3) and snap.z.dtype == np.float32
        assert snap.grid.shape == (snapshots.GRID_SIDE**2, 784) and snap.grid.dtype == np.uint8
        assert snap.decoder is not None  # live: the explorer decodes with it
    # The last snapshot is the saved model: same encodings as the run's own test_z_mean.
    saved_z = np.load(saved.path / runs.TEST_ENCODINGS_FILE)[: len(ends[-1].z)]
    np.testing.assert_allclose(ends[-1].z, saved_z, atol=1e-4)


def test_a_snapshot_streams_as_json_and_comes_back_equal(watched_run):
    _, received, _ = watched_run
    original = received[-1]
    message = json.loads(json.dumps(protocol.snapshot_message(original)))
    back = protocol.snapshot_from_message(message)
    assert (back.epoch, back.epochs, back.plane) == (original.epoch, original.epochs, original.plane)
    np.testing.assert_array_equal(back.z, original.z)
    np.testing.assert_array_equal(back.grid, original.grid)
    z = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(back.decoder(z), original.decoder(z), atol=1e-6)
    assert back.label() == "epoch 3 of 3"


def test_a_malformed_message_raises_a_value_error(watched_run):
    message = protocol.snapshot_message(watched_run[1][-1])
    message["grid"]["shape"] = [392, 200]  # its values, the wrong way round: refused by its own check
    with pytest.raises(ValueError, match="unexpected shapes"):
        protocol.snapshot_from_message(message)
    message = protocol.snapshot_message(watched_run[1][-1])
    message["z"]["dtype"] = "|O"
    with pytest.raises(ValueError):
        protocol.snapshot_from_message(message)


def test_the_run_keeps_one_frame_per_epoch(watched_run):
    saved, received, _ = watched_run
    run = runs.read_summary(saved.path)
    replay = runs.load_replay(run)
    assert len(replay) == 3 and replay.total_epochs == 3
    assert replay.epochs.tolist() == [1.0, 2.0, 3.0]
    ends = [s for s in received if s.epoch_end]
    np.testing.assert_allclose(replay.points[-1], ends[-1].points, atol=2e-2)  # float16 on disk
    np.testing.assert_array_equal(replay.grids[-1], ends[-1].grid)


def test_a_run_without_or_with_a_broken_replay_says_so(watched_run, tmp_path):
    import shutil

    saved, _, _ = watched_run
    copy = tmp_path / "copy"
    shutil.copytree(saved.path, copy)
    (copy / runs.REPLAY_FILE).write_bytes(b"not a zip")
    with pytest.raises(RunError, match="cannot be read"):
        runs.load_replay(runs.read_summary(copy))
    (copy / runs.REPLAY_FILE).unlink()
    with pytest.raises(RunError, match="saved before"):
        runs.load_replay(runs.read_summary(copy))


def test_principal_planes_keep_their_direction_between_snapshots():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 4)) * [3, 2, 0.5, 0.1]
    first = snapshots.plane_for(z)
    flipped = {"mean": first["mean"], "components": (-np.asarray(first["components"])).tolist()}
    again = snapshots.plane_for(z + rng.normal(scale=0.01, size=z.shape), flipped)
    assert np.sum(np.asarray(again["components"]) * np.asarray(flipped["components"]), axis=1).min() > 0.9
    assert snapshots.plane_for(z[:, :2]) == {"mean": [0.0, 0.0], "components": [[1.0, 0.0], [0.0, 1.0]]}


def test_the_grid_runs_left_to_right_and_top_to_bottom():
    # A "decoder" whose every pixel is sigmoid(z1) and whose first pixel is sigmoid(z2): the grid's
    # left column is darkest in z1, its top row brightest in z2.
    kernel = np.zeros((2, 784), np.float32)
    kernel[0, 1:] = 1.0
    kernel[1, 0] = 1.0
    decoder = NumpyModel([Layer("Dense", {"activation": "sigmoid"}, (kernel, np.zeros(784, np.float32)))], [], 2)
    grid = snapshots.plane_grid(decoder, snapshots.plane_for(np.zeros((3, 2))), side=4)
    assert grid[0, 1] < grid[3, 1]  # z1 grows to the right
    assert grid[0, 0] > grid[12, 0]  # z2 is largest on the top row


def test_numpy_models_round_trip_through_arrays(watched_run):
    decoder = watched_run[1][-1].decoder
    back = model_from_arrays(model_arrays_of(decoder, "decoder"), "decoder")
    z = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(back(z), decoder(z))
