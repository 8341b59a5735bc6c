"""Compiled loops of :mod:`redframe.isp.pixel`: the per-pixel formulas of ``_pixel.pxd`` over
flat arrays (what the NumPy reference stages call through pixel.py's ``*_np``), and the
formulas one value at a time for Python callers (pixel.py's scalar names).

The formulas themselves are the inline functions of ``_pixel.pxd`` (the fused kernels of
``redframe/isp/_fused.pyx`` inline the same definitions)."""

import numpy as np


def constants():
    """The C constants of ``_pixel.pxd`` (pixel.py compares them with the Python modules'
    values at import)."""
    return {
        "MID_GREY": RF_MID_GREY,
        "GAMUT_LOW": RF_GAMUT_LOW,
        "GAMUT_HIGH": RF_GAMUT_HIGH,
        "HL_SPAN": RF_HL_SPAN,
        "TO_LMS": [RF_TO_LMS[i] for i in range(9)],
        "TO_LAB": [RF_TO_LAB[i] for i in range(9)],
        "FROM_LAB": [RF_FROM_LAB[i] for i in range(9)],
        "FROM_LMS": [RF_FROM_LMS[i] for i in range(9)],
        "S_SLOPE": RF_S_SLOPE,
        "S_SCALE": RF_S_SCALE,
        "S_OFFSET": RF_S_OFFSET,
        "S_BREAK": RF_S_BREAK,
        "S_INV_GAMMA": RF_S_INV_GAMMA,
    }


# ----------------------------------------------------------------------------- array loops


def cbrt_loop(const double[::1] x, double[::1] out):
    """The kernels' signed cube root (``_cbrt``) of every value (tests compare it with
    libm's)."""
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        out[i] = _cbrt(x[i])


def filmic_loop(const real[::1] x, const double[::1] tv, real[::1] out):
    cdef Py_ssize_t i
    cdef double c0 = tv[0], c1 = tv[1], c2 = tv[2], c3 = tv[3], c4 = tv[4], c5 = tv[5]
    with nogil:
        for i in range(x.shape[0]):
            out[i] = <real>filmic(x[i], c0, c1, c2, c3, c4, c5)


def tone_rgb_loop(const float[:, ::1] x, const double[::1] tv, float[:, ::1] out):
    cdef Py_ssize_t i
    cdef double c0 = tv[0], c1 = tv[1], c2 = tv[2], c3 = tv[3], c4 = tv[4], c5 = tv[5]
    cdef double r, g, b
    with nogil:
        for i in range(x.shape[0]):
            r, g, b = tone_rgb(x[i, 0], x[i, 1], x[i, 2], c0, c1, c2, c3, c4, c5)
            out[i, 0] = <float>r
            out[i, 1] = <float>g
            out[i, 2] = <float>b


def gamut_oklab_loop(const float[:, ::1] x, const double[::1] table, float[:, ::1] out):
    cdef Py_ssize_t i
    cdef const double* tab = &table[0]
    cdef double r, g, b
    if table.shape[0] != 750:
        raise ValueError(f"a gamut table holds 750 values, not {table.shape[0]}")
    with nogil:
        for i in range(x.shape[0]):
            r, g, b = gamut_oklab(x[i, 0], x[i, 1], x[i, 2], tab)
            out[i, 0] = <float>r
            out[i, 1] = <float>g
            out[i, 2] = <float>b


def srgb_loop(const float[::1] x, float[::1] out):
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = srgb_encode(x[i])


def highlight_loop(const float[:, ::1] x, const float[:, ::1] w, const float[:, ::1] rho,
                   float[:, ::1] out):
    cdef Py_ssize_t i
    cdef double r, g, b
    cdef float q[9]
    for i in range(9):
        q[i] = rho[i // 3, i % 3]
    with nogil:
        for i in range(x.shape[0]):
            r, g, b = highlight_blend(x[i, 0], x[i, 1], x[i, 2], w[i, 0], w[i, 1], w[i, 2], q)
            out[i, 0] = <float>r
            out[i, 1] = <float>g
            out[i, 2] = <float>b


def signed_sqrt_loop(const float[::1] x, float[::1] out):
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = signed_sqrt(x[i])


def denoise_loop(const float[:, ::1] z, const float[::1] y, const float[:, ::1] a,
                 const float[:, ::1] b, float chroma_s, float luma_s, const float[::1] bias,
                 float[:, ::1] out):
    cdef Py_ssize_t i
    cdef float r, g, bl
    cdef float b0 = bias[0], b1 = bias[1], b2 = bias[2]
    with nogil:
        for i in range(z.shape[0]):
            r, g, bl = denoise_px(z[i, 0], z[i, 1], z[i, 2], y[i], a[i, 0], a[i, 1], a[i, 2],
                                  a[i, 3], b[i, 0], b[i, 1], b[i, 2], b[i, 3], chroma_s, luma_s)
            out[i, 0] = r + b0
            out[i, 1] = g + b1
            out[i, 2] = bl + b2


def soft_threshold_loop(const float[::1] d, float t, float[::1] out):
    cdef Py_ssize_t i
    with nogil:
        for i in range(d.shape[0]):
            out[i] = soft_threshold(d[i], t)


def code_value_loop(const float[::1] v, float maxval, const float[::1] noise,
                    float[::1] out):
    cdef Py_ssize_t i
    with nogil:
        for i in range(v.shape[0]):
            out[i] = code_value(v[i], maxval, noise[i])


# ----------------------------------------------------------------------------- one value
# (the types are the formulas' own: what the kernels compute)


def filmic_one(double x, double contrast, double shoulder, double span, double k, double toe,
               double black):
    return filmic(x, contrast, shoulder, span, k, toe, black)


def tone_rgb_one(float r, float g, float b, double contrast, double shoulder, double span,
                 double k, double toe, double black):
    return tone_rgb(r, g, b, contrast, shoulder, span, k, toe, black)


def oklab_one(double r, double g, double b):
    return oklab(r, g, b)


def oklab_rgb_one(double lightness, double a, double b):
    return oklab_rgb(lightness, a, b)


def gamut_oklab_one(double r, double g, double b, const double[::1] table):
    return gamut_oklab(r, g, b, &table[0])


def srgb_from_root_one(float v, float root):
    return srgb_from_root(v, root)


def srgb_encode_one(float v):
    return srgb_encode(v)


def highlight_blend_one(float r, float g, float b, float ur, float ug, float ub, rho):
    cdef float q[9]
    cdef int i
    rho = np.asarray(rho, np.float32).reshape(9)
    for i in range(9):
        q[i] = rho[i]
    return highlight_blend(r, g, b, ur, ug, ub, q)


def signed_sqrt_one(double x):
    return signed_sqrt(x)


def denoise_px_one(float zr, float zg, float zb, float y, float ar, float ag, float ab,
                   float ay, float br, float bg, float bb, float by, float chroma_s,
                   float luma_s):
    return denoise_px(zr, zg, zb, y, ar, ag, ab, ay, br, bg, bb, by, chroma_s, luma_s)


def soft_threshold_one(float d, float t):
    return soft_threshold(d, t)


def code_value_one(float v, float maxval, float noise):
    return code_value(v, maxval, noise)
