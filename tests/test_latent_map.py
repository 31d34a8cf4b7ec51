"""The latent map's Python side: what is packed for the browser (once per run), the posterior
ellipse, the drawing pad's PNG; and decoder.js against numpy in node."""

import base64
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY
from tests.support.programs import program_or_skip
from ui.drawing_pad.mount import png_bytes
from ui.latent_map import weight_grid
from ui.latent_map.pack import (
    CHECK_POINTS,
    MAP_POINTS,
    ellipse,
    half_is_enough,
    map_payload,
    map_plane,
    pack_decoder,
    project,
    read_map_payload,
    with_weights_as,
)
from vae.config import CLASSES
from vae.numpy_model import Layer, NumpyModel, given_label, model_arrays, model_from_arrays, with_labels

ROOT = Path(__file__).resolve().parent.parent


def b64_float32(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def numpy_decoder(arch, latent_dim=2, hidden_dim=64, condition="none"):
    import keras

    from vae.training.model import build_decoder

    keras.utils.set_random_seed(3)
    decoder = build_decoder(TINY.replace(arch=arch, latent_dim=latent_dim, hidden_dim=hidden_dim, condition=condition))
    rng = np.random.default_rng(0)
    for layer in decoder.layers:
        if layer.get_weights():
            layer.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model_from_arrays(model_arrays(decoder, "decoder"), "decoder")


def test_decoder_js_equals_numpy_for_dense_and_conv_decoders(tmp_path):
    node = program_or_skip("node", "nodejs")
    rng = np.random.default_rng(1)
    decoders = {}
    for name, arch, latent_dim in [("dense 2-D", "dense", 2), ("dense 5-D", "dense", 5), ("conv 2-D", "conv", 2)]:
        decoder = numpy_decoder(arch, latent_dim)
        z = rng.normal(0, 2, (12, latent_dim)).astype(np.float32)
        packed = pack_decoder(decoder)
        packed["weights"] = b64_float32(packed["weights"])  # JSON for the fixture file
        decoders[name] = {"packed": packed, "z": z.tolist(), "expected": decoder(z).tolist()}
    # A conditional decoder goes to the browser with the picked class folded into its first layer:
    # it must draw what the whole model draws given z and that class.
    conditional = numpy_decoder("dense", condition="label")
    z = rng.normal(0, 2, (12, 2)).astype(np.float32)
    packed = pack_decoder(given_label(conditional, 7, CLASSES))
    packed["weights"] = b64_float32(packed["weights"])
    decoders["conditional 2-D, class 7"] = {"packed": packed, "z": z.tolist(),
                                           "expected": conditional(with_labels(z, 7, CLASSES)).tolist()}
    z_test = rng.normal(size=(100, 4)).astype(np.float32)
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps({"decoders": decoders, "plane": map_plane(z_test)}))
    done = subprocess.run([node, "--test", str(ROOT / "tests" / "js" / "decoder.test.mjs")], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DECODER_FIXTURE": str(fixture)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "# pass 5" in done.stdout


def test_the_map_payload_is_the_same_bytes_each_time_small_and_reads_back(mnist):
    decoder = numpy_decoder("dense", hidden_dim=256)
    z_test = np.random.default_rng(0).normal(size=(10_000, 2)).astype(np.float32)
    first = map_payload("run", decoder, z_test, mnist.y_test)
    assert first == map_payload("run", decoder, z_test, mnist.y_test)
    header, arrays = read_map_payload(first)
    assert header["plane"]["axes"] == ["z₁", "z₂"] and header["run"] == "run"
    np.testing.assert_array_equal(arrays["points"].reshape(-1, 2),
                                  project(header["plane"], z_test[:MAP_POINTS]).astype(np.float16))
    np.testing.assert_array_equal(arrays["labels"], mnist.y_test[:MAP_POINTS])
    # The weights on a grid, whole (a saved run's map holds no earlier codes), each within half a step.
    codes = header["codes"]
    assert codes["base"] is None and codes["count"] == pack_decoder(decoder)["weights"].size
    sent = weight_grid.unpack_codes(arrays["weight_codes"].tobytes(), codes["count"]) * codes["step"]
    np.testing.assert_allclose(sent, pack_decoder(decoder)["weights"], atol=codes["step"] / 2 + 1e-9, rtol=0)
    assert len(first) < 350_000  # the dense 2-D decoder's 202 k weights in ~0.3 MB, not 0.40 (float16) or 0.81


def test_weights_go_as_floats_where_no_grid_draws_within_a_grey_level():
    decoder = numpy_decoder("dense", hidden_dim=256)
    z_test = np.random.default_rng(2).normal(size=(CHECK_POINTS, 2)).astype(np.float32)
    halved = with_weights_as(decoder, np.float16)
    assert np.abs(halved(z_test) - decoder(z_test)).max() <= 1 / 255
    assert half_is_enough(decoder, z_test)
    # Weights too far apart for the grid's codes: float16 where that draws within a grey level, else
    # float32. One pixel's bias of 10 000 (that pixel white whatever z) leaves no grid step fine enough
    # for the rest, and float16 draws it the same.
    last = decoder.trunk[-1]
    bias = last.weights[-1].copy()
    bias[0] = 1e4
    one_far = NumpyModel([*decoder.trunk[:-1], Layer(last.kind, last.settings, (*last.weights[:-1], bias))],
                         input_dim=decoder.input_dim)
    header, arrays = read_map_payload(map_payload("run", one_far, z_test, np.zeros(len(z_test), np.uint8)))
    assert header["codes"] is None and "weight_codes" not in arrays
    assert half_is_enough(one_far, z_test) and arrays["weights"].dtype == np.float16
    huge = NumpyModel([Layer(layer.kind, layer.settings, tuple(w * 1e5 for w in layer.weights))
                       for layer in decoder.trunk], input_dim=decoder.input_dim)
    assert not half_is_enough(huge, z_test)
    _, arrays = read_map_payload(map_payload("run", huge, z_test, np.zeros(len(z_test), np.uint8)))
    assert arrays["weights"].dtype == np.float32


def test_half_floats_widen_in_javascript_exactly_as_numpy_does(tmp_path):
    node = program_or_skip("node", "nodejs")
    halves = np.arange(0, 65536, dtype=np.uint16)  # every float16: zeros, subnormals, normals, infinities, NaNs
    widened = halves.view(np.float16).astype(np.float32)
    script = tmp_path / "halves.mjs"
    script.write_text(
        f'import {{ halfToFloat }} from "{(ROOT / "ui" / "blob.js").as_uri()}";\n'
        "const out = halfToFloat(Uint16Array.from({length: 65536}, (_, i) => i));\n"
        'process.stdout.write(Buffer.from(out.buffer).toString("base64"));\n')
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    from_js = np.frombuffer(base64.b64decode(done.stdout), "<f4")
    np.testing.assert_array_equal(from_js, widened)  # NaN equals NaN here; every other value bit for bit


def test_more_than_two_dimensions_map_onto_their_principal_plane():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 5)).astype(np.float32) * np.array([5, 3, 0.1, 0.1, 0.1], np.float32)
    plane = map_plane(z)
    assert plane["axes"][0] == "principal component 1"
    spread = project(plane, z).std(axis=0)
    assert spread[0] == pytest.approx(5, rel=0.15) and spread[1] == pytest.approx(3, rel=0.15)


def test_the_posterior_ellipse_is_to_scale():
    plane = map_plane(np.zeros((10, 2), np.float32))
    e = ellipse(plane, np.array([1.0, -2.0]), np.log(np.array([0.25, 0.04])))  # σ = 0.5 and 0.2
    assert e["centre"] == pytest.approx([1.0, -2.0])
    assert e["radii"] == pytest.approx([0.5, 0.2])
    assert abs(np.cos(e["angle"])) == pytest.approx(1.0)  # the long axis is z₁
    # In 3-D, the ellipse is the projection of the covariance onto the plane.
    rng = np.random.default_rng(0)
    plane3 = map_plane(rng.normal(size=(200, 3)).astype(np.float32))
    log_var = np.log(np.array([0.5, 0.1, 0.3]))
    samples = project(plane3, rng.normal(size=(20_000, 3)) * np.exp(0.5 * log_var))
    e3 = ellipse(plane3, np.zeros(3), log_var)
    assert sorted(np.linalg.eigvalsh(np.cov(samples.T)) ** 0.5, reverse=True) == pytest.approx(e3["radii"], rel=0.05)


def test_a_decoder_the_browser_cannot_run_is_not_packed():
    from vae.numpy_model import Layer, NumpyModel

    odd = NumpyModel([Layer("Conv2D", {"activation": "relu", "strides": [1, 1], "padding": "same"},
                            (np.zeros((3, 3, 1, 1), np.float32), np.zeros(1, np.float32)))], input_dim=2)
    assert pack_decoder(odd) is None


def test_the_pads_data_url_becomes_png_bytes_or_none():
    assert png_bytes("data:image/png;base64,iVBORw0KGgo=") == b"\x89PNG\r\n\x1a\n"
    for bad in [None, 3, "", "data:image/jpeg;base64,AAAA", "data:image/png;base64,***", ["x"]]:
        assert png_bytes(bad) is None
