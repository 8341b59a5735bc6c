"""Compiled kernel of :mod:`redframe.looks.oklab`: the gamut boundary along lines to grey."""

from cython.parallel cimport prange
import numpy as np


def bisect_line(const double[::1] lightness, const double[::1] a, const double[::1] b,
                const double[::1] anchor, const double[::1] t_max,
                const double[:, ::1] minv, const double[:, ::1] m, int iterations):
    """Largest t in [0, t_max] per colour with anchor + t (colour - anchor) inside [0, 1]^3
    of the space whose Oklab-LMS^3 -> RGB matrix is ``m`` (bisection)."""
    cdef Py_ssize_t n = lightness.shape[0], q
    cdef int it, c
    cdef double lo, hi, mid, ll, aa, bb, l0, l1, l2, v
    cdef bint inside
    out_arr = np.empty(n)
    cdef double[::1] out = out_arr
    for q in prange(n, nogil=True, schedule="static"):
        lo = 0.0
        hi = t_max[q]
        for it in range(iterations):
            mid = 0.5 * (lo + hi)
            ll = anchor[q] + mid * (lightness[q] - anchor[q])
            aa = mid * a[q]
            bb = mid * b[q]
            l0 = minv[0, 0] * ll + minv[0, 1] * aa + minv[0, 2] * bb
            l1 = minv[1, 0] * ll + minv[1, 1] * aa + minv[1, 2] * bb
            l2 = minv[2, 0] * ll + minv[2, 1] * aa + minv[2, 2] * bb
            l0 = l0 * l0 * l0
            l1 = l1 * l1 * l1
            l2 = l2 * l2 * l2
            inside = True
            for c in range(3):
                v = m[c, 0] * l0 + m[c, 1] * l1 + m[c, 2] * l2
                if v < -1e-9 or v > 1.0 + 1e-9:
                    inside = False
            if inside:
                lo = mid
            else:
                hi = mid
        out[q] = lo
    return out_arr
