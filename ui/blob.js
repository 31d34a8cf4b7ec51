// Reads a payload packed by ui/blob.py: a 4-byte header length, a JSON header, then 4-byte-aligned
// sections of raw little-endian arrays. Prepended to each component module that needs it.

const TYPED_ARRAYS = { "<f4": Float32Array, "|u1": Uint8Array, "<i4": Int32Array };

export function readBlob(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer ? data.buffer : data);
  const length = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
  const body = 4 + length;
  const arrays = {};
  for (const [name, [start, size, dtype]] of Object.entries(header.sections)) {
    const Type = TYPED_ARRAYS[dtype];
    if (!Type) throw new Error(`unsupported array type ${dtype} in section ${name}`);
    // A copy: typed arrays need an aligned buffer of their own.
    arrays[name] = new Type(bytes.slice(body + start, body + start + size).buffer);
  }
  return { header, arrays };
}
