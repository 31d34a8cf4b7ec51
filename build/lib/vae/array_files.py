"""Reading `.npy` and `.npz` files as untrusted data. A run folder can be cut short by a full disk,
flipped by a bad sector, or replaced by hand, so every byte is checked before it is believed:
sizes are bounded *before* anything is unpacked (a tiny zip can claim gigabytes), no pickles,
and any fault at all comes out as one exception type, `UnreadableArrays`, with a short reason."""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAX_MEMBERS = 1000  # a model with this many arrays is not one of ours
MAX_HEADER_BYTES = 10_000  # an .npy header is a short dict literal


class UnreadableArrays(ValueError):
    """The file is not the arrays it claims to be; the message says why, in a few words."""


def load_npz(path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    """Every array of an .npz whose members unpack to at most `max_bytes` in all (checked from the
    zip's directory before anything is decompressed, then again while reading)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise UnreadableArrays(f"it holds {len(members)} files")
            declared = sum(member.file_size for member in members)
            if declared > max_bytes:
                raise UnreadableArrays(f"it unpacks to {declared:,} bytes, more than the {max_bytes:,} expected")
            arrays = {}
            for member in members:
                if not member.filename.endswith(".npy"):
                    raise UnreadableArrays(f"it holds {member.filename[:40]!r}, which is not an array")
                with archive.open(member) as handle:
                    arrays[member.filename[:-4]] = _read_npy(handle, member.file_size)
            return arrays
    except UnreadableArrays:
        raise
    # The edge where hostile bytes meet three libraries (zipfile, zlib, numpy's header parser):
    # each raises its own types (BadZipFile, zlib.error, EOFError, NotImplementedError for an
    # unknown compression, RuntimeError for an encrypted member, SyntaxError from the header's
    # literal...), none of which may reach a page. MemoryError included: the file is refused.
    except Exception as error:  # noqa: BLE001
        raise UnreadableArrays(_reason(error)) from None


def load_npy(path: Path, max_bytes: int) -> np.ndarray:
    """One array from an .npy file of at most `max_bytes` (header included)."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise UnreadableArrays(f"it has {size:,} bytes, more than the {max_bytes:,} expected")
        with open(path, "rb") as handle:
            return _read_npy(handle, size)
    except (UnreadableArrays, FileNotFoundError):
        raise
    except Exception as error:  # noqa: BLE001 - as in load_npz
        raise UnreadableArrays(_reason(error)) from None


def _read_npy(handle: BinaryIO, available: int) -> np.ndarray:
    """An array from an open .npy stream holding at most `available` bytes: the header is read
    and checked (no objects, a size that fits) before the data's memory is allocated."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=MAX_HEADER_BYTES)
    elif version in ((2, 0), (3, 0)):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=MAX_HEADER_BYTES)
    else:
        raise UnreadableArrays(f"unknown .npy version {version}")
    if dtype.hasobject or dtype.kind not in "biufU":  # numbers, and text (a model's JSON layer list)
        raise UnreadableArrays(f"it holds {dtype} values, not numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > available:
        raise UnreadableArrays(f"an array claims {nbytes:,} bytes in a file of {available:,}")
    buffer = bytearray(nbytes)
    if handle.readinto(buffer) != nbytes:
        raise UnreadableArrays("it is cut short")
    # Reading to the member's end makes zipfile check its CRC: a flipped bit is caught here.
    if handle.read(1):
        raise UnreadableArrays("it has bytes after its array")
    return np.frombuffer(buffer, dtype).reshape(shape, order="F" if fortran_order else "C")


def _reason(error: BaseException) -> str:
    if isinstance(error, MemoryError):
        return "it is too large to read"
    text = str(error).splitlines()[0][:120] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
