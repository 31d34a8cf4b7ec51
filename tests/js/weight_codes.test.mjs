// weight_codes.js against numpy: the fixture (written by tests/test_weight_grid.py) holds codes packed
// by weight_grid.py, whole and as a change from codes held, and the weights they stand for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { addCodes, inflate, unzigzag, weightsOnGrid } from "../../ui/latent_map/weight_codes.js";

const fixture = JSON.parse(readFileSync(process.env.CODES_FIXTURE, "utf8"));
const bytes = (name) => new Uint8Array(Buffer.from(fixture[name], "base64"));
const int32 = (name) => new Int32Array(bytes(name).buffer);

test("whole codes read back, and stand for the weights numpy computes", async () => {
  const codes = unzigzag(await inflate(bytes("whole")), fixture.count);
  assert.deepEqual(codes, int32("codes"));
  assert.deepEqual(weightsOnGrid(codes, fixture.step), new Float32Array(bytes("weights").buffer));
});

test("a change added to the codes held gives the later codes", async () => {
  const change = unzigzag(await inflate(bytes("change")), fixture.count);
  assert.deepEqual(addCodes(int32("held"), change), int32("codes"));
});
