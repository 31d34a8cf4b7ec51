"""A decoder's weights on a grid for the browser (ui/latent_map/weight_grid.py): within a grey level
of float32's drawing, and while a model trains, only the change since the codes a viewer holds;
weight_codes.js against numpy in node."""

import base64
import json
import os
import subprocess

import numpy as np

from tests.support.harness import ROOT
from tests.support.programs import program_or_skip
from tests.test_latent_map import numpy_decoder
from ui.latent_map import weight_grid
from ui.latent_map.pack import CHECK_POINTS, LiveWeights, map_payload, pack_decoder, read_map_payload
from vae.numpy_model import Layer, NumpyModel

Z_TEST = np.random.default_rng(4).normal(size=(CHECK_POINTS, 2)).astype(np.float32)
LABELS = np.zeros(len(Z_TEST), np.uint8)


def moved(decoder: NumpyModel, scale: float, seed: int) -> NumpyModel:
    """The decoder a little further into its training: every weight nudged."""
    rng = np.random.default_rng(seed)
    return NumpyModel([Layer(layer.kind, layer.settings,
                             tuple((w + rng.normal(0, scale, w.shape)).astype(np.float32) for w in layer.weights))
                       for layer in decoder.trunk], input_dim=decoder.input_dim)


def sent_codes(payload: bytes, held: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """What the browser makes of a payload: the header's "codes", and the codes after any change."""
    header, arrays = read_map_payload(payload)
    coded = header["codes"]
    sent = weight_grid.unpack_codes(arrays["weight_codes"].tobytes(), coded["count"])
    return coded, sent if coded["base"] is None else held + sent


def test_the_grid_draws_within_a_grey_level_in_fewer_bytes_than_half_floats():
    decoder = numpy_decoder("dense", hidden_dim=256)
    flat = pack_decoder(decoder)["weights"]
    coded = weight_grid.choose(decoder, flat, Z_TEST)
    assert coded is not None and coded.step in weight_grid.STEPS
    on_grid = weight_grid.with_flat_weights(decoder, coded.codes.astype(np.float32) * np.float32(coded.step))
    assert np.abs(on_grid(Z_TEST) - decoder(Z_TEST)).max() <= 1 / 255
    # The next step up would not: the largest step that draws within the bound is the one taken.
    coarser = weight_grid.STEPS[weight_grid.STEPS.index(coded.step) - 1]
    assert not weight_grid.draws_within(decoder, weight_grid.Coded(coarser, weight_grid.codes_for(flat, coarser)),
                                        Z_TEST, decoder(Z_TEST), 1 / 255)
    packed = weight_grid.pack_codes(coded.codes)
    np.testing.assert_array_equal(weight_grid.unpack_codes(packed, flat.size), coded.codes)
    assert len(packed) < 0.8 * flat.size * 2  # fewer bytes than float16 weights


def test_a_training_sends_a_viewer_the_change_since_the_epoch_it_holds():
    first = numpy_decoder("dense", hidden_dim=256)
    second = moved(first, 0.002, seed=1)
    chain = weight_grid.Chain()
    coded, held = sent_codes(map_payload("live-a", first, Z_TEST, LABELS, live=LiveWeights(chain, "live-a", 1.0, None)))
    assert coded["epoch"] == 1.0 and coded["base"] is None
    whole = map_payload("live-a", second, Z_TEST, LABELS, live=LiveWeights(chain, "live-a", 2.0, None))
    change = map_payload("live-a", second, Z_TEST, LABELS, live=LiveWeights(chain, "live-a", 2.0, 1.0))
    coded, after = sent_codes(change, held)
    assert coded["base"] == 1.0
    np.testing.assert_array_equal(after, sent_codes(whole)[1])  # the change lands on the whole epoch's codes
    assert len(change) < 0.8 * len(whole)  # small changes deflate to fewer bytes
    # A base the training no longer keeps (or never had) gets the codes whole.
    coded, _ = sent_codes(map_payload("live-a", second, Z_TEST, LABELS, live=LiveWeights(chain, "live-a", 2.0, 0.5)))
    assert coded["base"] is None


def test_a_training_that_outgrows_its_grid_starts_a_finer_one_and_sends_it_whole():
    first = numpy_decoder("dense", hidden_dim=256)
    chain = weight_grid.Chain()
    step = chain.add(1.0, first, pack_decoder(first)["weights"], Z_TEST).step
    # The same drawing (a ReLU passes a scale through) with hidden units 8 times larger: the last
    # layer's rounding then moves pixels 8 times as far on the same grid.
    hidden, output = first.trunk
    grown = NumpyModel([Layer(hidden.kind, hidden.settings, tuple(w * 8 for w in hidden.weights)),
                        Layer(output.kind, output.settings, (output.weights[0] / 8, output.weights[1]))],
                       input_dim=first.input_dim)
    np.testing.assert_allclose(grown(Z_TEST), first(Z_TEST), atol=1e-5)
    coded, codes = sent_codes(map_payload("live-a", grown, Z_TEST, LABELS, live=LiveWeights(chain, "live-a", 2.0, 1.0)))
    assert coded["step"] < step and coded["base"] is None and chain.base(1.0, coded["step"]) is None
    on_grid = weight_grid.with_flat_weights(grown, codes.astype(np.float32) * np.float32(coded["step"]))
    assert np.abs(on_grid(Z_TEST) - grown(Z_TEST)).max() <= 1 / 255


def test_weight_codes_js_reads_what_python_packs(tmp_path):
    node = program_or_skip("node", "nodejs")
    rng = np.random.default_rng(5)
    held = rng.integers(-(2**14) + 1, 2**14, 5000).astype(np.int32)
    codes = np.clip(held + rng.integers(-300, 300, held.size), -(2**14) + 1, 2**14 - 1).astype(np.int32)
    codes[:4] = [2**14 - 1, -(2**14) + 1, 0, -1]  # the extremes of a code
    held[:4] = [-(2**14) + 1, 2**14 - 1, 0, 0]  # and of a change
    step = weight_grid.STEPS[5]
    fixture = {name: base64.b64encode(data).decode() for name, data in {
        "whole": weight_grid.pack_codes(codes), "change": weight_grid.pack_codes(codes - held),
        "held": held.astype("<i4").tobytes(), "codes": codes.astype("<i4").tobytes(),
        "weights": (codes.astype(np.float32) * np.float32(step)).astype("<f4").tobytes()}.items()}
    path = tmp_path / "codes.json"
    path.write_text(json.dumps({**fixture, "count": int(codes.size), "step": step}))
    done = subprocess.run([node, "--test", str(ROOT / "tests" / "js" / "weight_codes.test.mjs")], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "CODES_FIXTURE": str(path)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "# pass 2" in done.stdout
