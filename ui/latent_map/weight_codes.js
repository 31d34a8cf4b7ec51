// Decoder weights sent as integer codes on a grid (weight_grid.py): weight = code × step. The codes
// (or, while a model trains, their change since codes the browser holds) come zigzagged to 16 bits,
// all low bytes then all high bytes, deflated. Pure functions: tests/js checks them against numpy.

// The deflated bytes, inflated by the browser's own DecompressionStream.
export async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Zigzagged 16-bit codes in two byte planes (0, 1, 2, 3 ... → 0, -1, 1, -2 ...).
export function unzigzag(planes, count) {
  if (planes.length !== 2 * count) throw new Error(`expected ${2 * count} bytes of codes, got ${planes.length}`);
  const codes = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const zigzag = planes[i] | (planes[count + i] << 8);
    codes[i] = (zigzag >>> 1) ^ -(zigzag & 1);
  }
  return codes;
}

// Codes held plus a change: the later epoch's codes.
export function addCodes(held, change) {
  const codes = new Int32Array(held.length);
  for (let i = 0; i < held.length; i++) codes[i] = held[i] + change[i];
  return codes;
}

// The weights the decoder computes with (exact: the step is a power of two).
export function weightsOnGrid(codes, step) {
  const weights = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) weights[i] = codes[i] * step;
  return weights;
}
