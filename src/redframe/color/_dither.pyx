"""The compiled position hash and TPDF dither (``_dither.pxd``, inlined by the kernels)
over a block of rows: what every kernel computes per pixel, for the test that checks it
bit for bit against the NumPy definitions of :mod:`redframe.color.dither`."""

from libc.stdint cimport uint64_t

from redframe.color._dither cimport hash32, row_key, tpdf

import numpy as np


def hashes_and_dither(Py_ssize_t row0, Py_ssize_t h, Py_ssize_t w, uint64_t seed):
    """(h, w) uint64 hashes hash32(column + row_key(row, seed)) and their (h, w, 3) TPDF
    dither, for rows row0 .. row0 + h of a frame ``w`` wide."""
    out_arr = np.empty((h, w), np.uint64)
    noise_arr = np.empty((h, w, 3), np.float32)
    cdef uint64_t[:, ::1] out = out_arr
    cdef float[:, :, ::1] noise = noise_arr
    cdef Py_ssize_t i, j
    cdef int c
    cdef unsigned int x, key
    for i in range(h):
        key = row_key(<uint64_t>(row0 + i), seed)
        for j in range(w):
            x = hash32(<uint64_t>j + key)
            out[i, j] = x
            for c in range(3):
                noise[i, j, c] = tpdf(x, c)
    return out_arr, noise_arr
