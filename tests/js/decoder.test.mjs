// decoder.js against numpy: the fixture (written by tests/test_latent_map.py) holds packed decoders,
// latent points, and what vae/numpy_model.py decoded for them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decode, latentToPlane, planeToLatent, unpackModel } from "../../ui/latent_map/decoder.js";

// The fixture is JSON, so its weights come as base64 little-endian float32.
function base64ToFloat32(text) {
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

const fixture = JSON.parse(readFileSync(process.env.DECODER_FIXTURE, "utf8"));

for (const [name, case_] of Object.entries(fixture.decoders)) {
  test(`${name} decoder matches numpy within 1e-4`, () => {
    const model = unpackModel(case_.packed, base64ToFloat32(case_.packed.weights));
    let worst = 0;
    case_.z.forEach((z, row) => {
      const pixels = decode(model, z);
      assert.equal(pixels.length, 784);
      for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(pixels[i] - case_.expected[row][i]));
    });
    assert.ok(worst <= 1e-4, `max difference ${worst}`);
  });
}

test("map plane round trip", () => {
  const view = fixture.plane;
  const z = planeToLatent(view, 1.5, -2);
  const [x, y] = latentToPlane(view, z);
  assert.ok(Math.abs(x - 1.5) < 1e-5 && Math.abs(y + 2) < 1e-5);
});
