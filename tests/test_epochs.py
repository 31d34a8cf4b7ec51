"""The training loop's batching and its choice to compile (vae.training.epochs)."""

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import TINY
from vae.training import loop
from vae.training.epochs import XLA_MIN_STEPS, batch_groups, worth_compiling
from vae.training.loop import prepare, train


@given(images=st.integers(1, 700), batch_size=st.integers(1, 64), per_call=st.integers(1, 9))
def test_every_image_is_in_an_epoch_and_every_group_has_one_shape(images, batch_size, per_call):
    batch_size = min(batch_size, images)
    order = np.random.default_rng(images).permutation(images).astype(np.int32)
    groups = batch_groups(order, batch_size, per_call)
    assert {group.shape for group, _ in groups} == {(per_call, batch_size)}
    run = np.concatenate([group[:count] for group, count in groups])
    batches = -(-images // batch_size)
    assert len(run) == batches and all(0 < count <= per_call for _, count in groups)
    # In order, each image once; the short last batch is filled with the epoch's first images.
    np.testing.assert_array_equal(run.ravel()[:images], order)
    np.testing.assert_array_equal(run.ravel()[images:], order[: batches * batch_size - images])


def test_only_long_dense_trainings_are_compiled():
    assert worth_compiling("dense", XLA_MIN_STEPS)
    assert not worth_compiling("dense", XLA_MIN_STEPS - 1)
    assert not worth_compiling("conv", 100 * XLA_MIN_STEPS)


def test_a_compiled_training_is_reproducible_and_learns_as_the_plain_one_does(small_data):
    def history(compiled):
        result = train(TINY, small_data, compiled=compiled)
        assert result.status == "completed" and result.epochs_completed == 2
        return result.history.drop(columns="seconds")

    plain, compiled = history(False), history(True)
    np.testing.assert_allclose(history(True).to_numpy(), compiled.to_numpy(), atol=1e-5, rtol=0)
    # XLA draws the sampling's noise and orders its sums its own way: not the same numbers, the
    # same learning.
    assert compiled["loss"].iloc[-1] < compiled["loss"].iloc[0]
    np.testing.assert_allclose(compiled[["loss", "test_loss"]].to_numpy(), plain[["loss", "test_loss"]].to_numpy(),
                               rtol=0.03)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_prepared_training_is_the_training_it_stands_in_for(compiled, small_data):
    expected = train(TINY.replace(seed=3), small_data, compiled=compiled)
    prepare(TINY, small_data, compiled=compiled)  # another seed: what a warm worker prepares
    prepared_model = loop._prepared.model
    result = train(TINY.replace(seed=3), small_data, compiled=compiled)
    assert result.model is prepared_model and loop._prepared is None  # taken, once
    np.testing.assert_allclose(result.history.drop(columns="seconds").to_numpy(),
                               expected.history.drop(columns="seconds").to_numpy(), atol=1e-5, rtol=0)
    z = np.array([[0.5, -1.0]], np.float32)
    np.testing.assert_allclose(np.asarray(result.decoder(z)), np.asarray(expected.decoder(z)), atol=1e-5)


def test_a_prepared_trainer_is_not_used_for_other_settings(small_data):
    prepare(TINY, small_data)
    prepared_model = loop._prepared.model
    other = train(TINY.replace(hidden_dim=16, epochs=1), small_data)
    assert other.model is not prepared_model and loop._prepared is None
    assert other.status == "completed"


def test_a_kept_trainer_trains_the_next_job_as_a_new_one_would(small_data):
    """A worker that takes job after job (vae.jobs.training_job) keeps its trainer: the next job of
    the same settings starts from the weights, optimizer state, noise and order of a new one, even
    after a job that was stopped half-way."""
    expected = train(TINY.replace(seed=3), small_data, compiled=True)
    stop = threading.Event()
    stop.set()  # stopped after its first group of batches: mid-epoch weights, optimizer moments
    first = train(TINY.replace(seed=8), small_data, stop_event=stop, compiled=True, keep_trainer=True)
    assert first.status == "stopped" and loop._prepared.model is first.model
    second = train(TINY.replace(seed=3), small_data, compiled=True, keep_trainer=True)
    assert second.model is first.model and loop._prepared.model is second.model
    np.testing.assert_allclose(second.history.drop(columns="seconds").to_numpy(),
                               expected.history.drop(columns="seconds").to_numpy(), atol=1e-5, rtol=0)
    z = np.array([[0.5, -1.0]], np.float32)
    np.testing.assert_allclose(np.asarray(second.decoder(z)), np.asarray(expected.decoder(z)), atol=1e-5)
    loop._prepared = None
