"""Binary payloads for our browser components: a 4-byte header length, a JSON header, then raw
little-endian arrays, each 4-byte aligned (ui/blob.js reads them). Raw bytes, not JSON: Streamlit
checks a JSON payload's identity by parsing and re-dumping it on every rerun, bytes by one hash,
and the browser gets a quarter fewer bytes than base64. Pure functions (no Streamlit)."""

from __future__ import annotations

import json
import struct

import numpy as np


def pack_blob(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """`header` plus `arrays` (float32, uint8 ...: stored as they are, little-endian); the header
    gains "sections": {name: [offset, bytes, dtype, shape]}."""
    sections, offset, chunks = {}, 0, []
    for name, array in arrays.items():
        array = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
        sections[name] = [offset, array.nbytes, array.dtype.str, list(array.shape)]
        padding = -array.nbytes % 4
        chunks.append(array.tobytes() + b"\0" * padding)
        offset += array.nbytes + padding
    encoded = json.dumps({**header, "sections": sections}).encode()
    encoded += b" " * (-len(encoded) % 4)
    return struct.pack("<I", len(encoded)) + encoded + b"".join(chunks)


def read_header(blob: bytes) -> dict:
    """The JSON header of a pack_blob payload alone (its arrays left unread)."""
    (length,) = struct.unpack_from("<I", blob)
    return json.loads(blob[4 : 4 + length])


def with_header(blob: bytes, extra: dict) -> bytes:
    """The same payload with `extra` added to its header (the arrays' bytes untouched): what changes
    per session, such as the words in the session's language, beside what is packed once for all."""
    (length,) = struct.unpack_from("<I", blob)
    encoded = json.dumps({**json.loads(blob[4 : 4 + length]), **extra}).encode()
    encoded += b" " * (-len(encoded) % 4)
    return b"".join((struct.pack("<I", len(encoded)), encoded, memoryview(blob)[4 + length :]))


def read_blob(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a pack_blob payload: what the browser reads, for tests and tools."""
    (length,) = struct.unpack_from("<I", blob)
    header = json.loads(blob[4 : 4 + length])
    body = memoryview(blob)[4 + length :]
    arrays = {name: np.frombuffer(body[start : start + size], np.dtype(dtype)).reshape(shape)
              for name, (start, size, dtype, shape) in header["sections"].items()}
    return header, arrays
