"""Compiled loops of :mod:`redframe.color.gamut` over arrays (the per-colour functions are
in ``_gamut.pxd``, which the develop's kernels inline)."""

from cython.parallel cimport prange

from redframe.color._gamut cimport boundary_t, compress_lab

import numpy as np


def constants():
    """The C constants of ``_gamut.pxd`` (redframe.color.gamut checks them at import)."""
    return {"CUSP_DARK": RF_CUSP_DARK, "CUSP_LIGHT": RF_CUSP_LIGHT}


def bisect_line(const double[::1] lightness, const double[::1] a, const double[::1] b,
                const double[::1] anchor, const double[::1] t_max,
                const double[:, ::1] minv, const double[:, ::1] m, int iterations):
    """Largest t in [0, t_max] per colour with anchor + t (colour - anchor) inside [0, 1]^3
    of the space whose LMS -> RGB matrix is ``m`` (``minv``: Oklab -> LMS')."""
    cdef Py_ssize_t n = lightness.shape[0], q
    out_arr = np.empty(n)
    cdef double[::1] out = out_arr
    for q in prange(n, nogil=True, schedule="static"):
        out[q] = boundary_t(lightness[q], a[q], b[q], anchor[q], t_max[q], &minv[0, 0],
                            &m[0, 0], iterations)
    return out_arr


def compress_arrays(double[::1] lightness, double[::1] a, double[::1] b,
                    const double[:, ::1] minv, const double[:, ::1] m,
                    const double[::1] cusp_l, const double[::1] cusp_c, double threshold):
    """:func:`compress_lab` on every colour, in place; returns how many moved."""
    cdef Py_ssize_t n = lightness.shape[0], q
    cdef Py_ssize_t moved = 0
    for q in prange(n, nogil=True, schedule="static"):
        if compress_lab(&lightness[q], &a[q], &b[q], &minv[0, 0], &m[0, 0], &cusp_l[0],
                        &cusp_c[0], threshold):
            moved += 1
    return moved
