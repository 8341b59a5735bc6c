"""Position hashes and the output quantiser's dither: noise that depends only on a pixel's
place in the frame, so strips, threads and reruns give identical files (the dither when
light is quantised to 8 bits, the grain of looks).

- lowbias32 (C. Wellons, "Hash function prospector", 2018): a 32-bit integer hash with low
  bias. :func:`hash32_np` runs it on arrays (the references); the compiled kernels inline
  its C twin (``_dither.pxd``: ``hash32``, ``row_key``, ``tpdf``), which
  ``tests/test_color.py`` checks bit for bit against these NumPy definitions.
- TPDF dither (S. P. Lipshitz, R. A. Wannamaker, J. Vanderkooy, "Quantization and dither:
  a theoretical survey", J. AES 40(5), 1992): the difference of two uniforms, +-1 LSB,
  which makes the quantisation error's first two moments independent of the signal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hash32_np", "position_hash_np", "DITHER_SEED", "dither_noise"]

_M32 = np.uint64(0xFFFFFFFF)

#: Seed of the output dither's position hash (any constant; fixed so files are reproducible).
DITHER_SEED = 0x5EED


def hash32_np(x):
    """lowbias32 of the low 32 bits of ``x``.

    Parameters
    ----------
    x : numpy.uint64 or numpy.ndarray of uint64
        Values; only their low 32 bits are used.

    Returns
    -------
    numpy.uint64 or numpy.ndarray
        Hashes, each < 2**32.
    """
    x = x & _M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & _M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & _M32
    x ^= x >> np.uint64(16)
    return x


def position_hash_np(row0: int, rows: int, width: int, seed: int) -> np.ndarray:
    """The hash the kernels compute per pixel, ``hash32(column + row_key(row, seed))``.

    Parameters
    ----------
    row0 : int
        Full-frame row of the first row.
    rows, width : int
        Size of the block (``width`` is the full frame's: columns start at 0).
    seed : int
        Seed of the noise (one per use: dither, grain, ...).

    Returns
    -------
    numpy.ndarray
        (rows, width) uint64, values < 2**32.
    """
    key = hash32_np(np.arange(row0, row0 + rows, dtype=np.uint64)
                    + hash32_np(np.array([seed], np.uint64)))
    return hash32_np(np.arange(width, dtype=np.uint64)[None, :] + key[:, None])


def dither_noise(row0: int, h: int, w: int, channels: int = 3) -> np.ndarray:
    """The quantiser's TPDF dither for rows ``row0 .. row0 + h`` of a frame ``w`` wide.

    Parameters
    ----------
    row0 : int
        Full-frame row of the first row (strips of one frame agree).
    h, w : int
        Block height and the frame's width.
    channels : int, optional
        1 to 3: two 5-bit uniforms per channel from one 32-bit position hash, as
        ``tpdf`` (``_dither.pxd``) computes them in the kernels.

    Returns
    -------
    numpy.ndarray
        (h, w, channels) float32 in (-1, 1), in LSB of the output.
    """
    if not 1 <= channels <= 3:
        raise ValueError(f"dither for 1 to 3 channels, got {channels}")
    x = position_hash_np(row0, h, w, DITHER_SEED)
    fields = [((x >> np.uint64(b)) & np.uint64(31)).astype(np.float32) for b in range(0, 30, 5)]
    return np.stack([(fields[2 * c] - fields[2 * c + 1]) / 32 for c in range(channels)], -1)
