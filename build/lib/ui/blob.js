// Reads a payload packed by ui/blob.py: a 4-byte header length, a JSON header, then 4-byte-aligned
// sections of raw little-endian arrays. Prepended to each component module that needs it.

const TYPED_ARRAYS = { "<f4": Float32Array, "|u1": Uint8Array, "<i4": Int32Array };

// IEEE half floats (float16, "<f2": weights sent in half the bytes) widened once to float32.
export function halfToFloat(halves) {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i], sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
    out[i] = exponent === 0 ? sign * fraction * 2 ** -24
      : exponent === 31 ? (fraction ? NaN : sign * Infinity)
      : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

export function readBlob(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer ? data.buffer : data);
  const length = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
  const body = 4 + length;
  const arrays = {};
  for (const [name, [start, size, dtype]] of Object.entries(header.sections)) {
    // A copy: typed arrays need an aligned buffer of their own.
    const section = bytes.slice(body + start, body + start + size).buffer;
    if (dtype === "<f2") { arrays[name] = halfToFloat(new Uint16Array(section)); continue; }
    const Type = TYPED_ARRAYS[dtype];
    if (!Type) throw new Error(`unsupported array type ${dtype} in section ${name}`);
    arrays[name] = new Type(section);
  }
  return { header, arrays };
}
