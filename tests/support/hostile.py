"""Hostile inputs a classmate could send, built by hand so that building them is cheap."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int) -> bytes:
    """A valid 1-bit black PNG of side × side pixels: about side²/1000 bytes, whose pixels as the
    drawing pad's reader used to decode them (RGBA float32) take 16 × side² bytes. 13 000 px: 20 KB,
    169 M pixels (under Pillow's own bomb guard of 179 M), 2.7 GB decoded."""
    row = b"\0" + bytes((side + 7) // 8)  # filter byte "none", then the row's bits
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
