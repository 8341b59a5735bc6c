"""Position hashes: noise that depends only on a pixel's place in the frame, so strips,
threads and reruns give identical files (dither in the output quantiser, grain in looks).

lowbias32 (C. Wellons, "Hash function prospector", 2018): a 32-bit integer hash with
low bias, computed on uint64 values holding 32 bits (numba widens integer scalars).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["hash32", "hash32_np", "position_hash_np", "row_key"]

_M32 = np.uint64(0xFFFFFFFF)


def hash32_np(x):
    """lowbias32 of the low 32 bits of ``x``: uint64 scalars or arrays in, values < 2**32
    out. One definition: NumPy runs it on arrays (the references in the tests), numba
    compiles it as :func:`hash32` for the kernels."""
    x = x & _M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & _M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & _M32
    x ^= x >> np.uint64(16)
    return x


hash32 = nb.njit(inline="always")(hash32_np)


@nb.njit(inline="always")
def row_key(row, seed):  # pragma: no cover - compiled
    """The per-row key that column indices are added to: hash32(row + hash32(seed))."""
    return hash32(np.uint64(row) + hash32(np.uint64(seed)))


def position_hash_np(row0: int, rows: int, width: int, seed: int) -> np.ndarray:
    """The hash the kernels compute per pixel, ``hash32(column + row_key(row, seed))``, for
    rows ``row0 .. row0 + rows`` of a frame ``width`` wide, in NumPy: (rows, width) uint64."""
    key = hash32_np(np.arange(row0, row0 + rows, dtype=np.uint64)
                    + hash32_np(np.array([seed], np.uint64)))
    return hash32_np(np.arange(width, dtype=np.uint64)[None, :] + key[:, None])
