"""Compiled kernels of :mod:`redframe.looks.fast`: the baked 3D LUT applied with tetrahedral
interpolation (fused with the clean-up, vignette and grain), the plain interpolation, and
the grain's position-hash noise. The interpolation itself is ``tetra`` in ``_fast.pxd``."""

from cython.parallel cimport parallel, prange
from libc.math cimport sqrtf, sqrt
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free

from redframe.color._dither cimport hash32, row_key
from redframe.looks._fast cimport Tetra, tetra


def apply(const float[:, :, ::1] rgb, float[:, :, ::1] out, const float[::1] lut, Py_ssize_t n,
          float k, float c, float xmax, bint vig_on, const float[::1] vig_tab, float vig_step,
          const float[::1] ux2, const float[::1] vy2, bint grain_on, const float[:, ::1] noise,
          float amount):
    """out = clip(grain(tetra(lut, shaper(vignette(clean(rgb)))))), rows in parallel.

    Pass 1 over a row (vectorised): NaN and negatives -> 0, times the vignette gain, +inf
    and beyond clamp to ``xmax``, the shaper sqrt(c x / (x + k)) times (n - 1), float32.
    Pass 2: tetrahedral interpolation (double), grain fading toward white, clip to [0, 1].
    """
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i, j, q, it
    cdef Py_ssize_t last = vig_tab.shape[0] - 2
    cdef float scale = <float>(n - 1)
    cdef float zero = 0.0
    cdef float x, t
    cdef double g, m, f
    cdef float* co = NULL
    cdef float* gain = NULL
    cdef const float* row
    cdef const float* tab = &vig_tab[0]
    cdef const float* ux = &ux2[0]
    cdef const float* plut = &lut[0]
    cdef float* po
    cdef Tetra o
    if h == 0 or w == 0:
        return
    if grain_on and (noise.shape[0] < h or noise.shape[1] < w):
        raise ValueError("the grain's noise plane is smaller than the image")
    if vig_on and (ux2.shape[0] < w or vy2.shape[0] < h or vig_tab.shape[0] < 2):
        raise ValueError("the vignette's tables do not cover the image")
    with nogil, parallel():
        co = <float*>malloc(3 * w * sizeof(float))
        gain = <float*>malloc(3 * w * sizeof(float))
        for i in prange(h, schedule="static"):
            row = &rgb[i, 0, 0]
            if vig_on:
                for j in range(w):
                    t = (ux[j] + vy2[i]) * vig_step
                    it = <Py_ssize_t>t
                    if it > last:
                        it = last
                    g = tab[it] + (<double>t - <double>it) * <float>(tab[it + 1] - tab[it])
                    gain[3 * j] = <float>g
                    gain[3 * j + 1] = <float>g
                    gain[3 * j + 2] = <float>g
                for q in range(3 * w):
                    x = row[q]
                    x = x * gain[q] if x > zero else zero  # NaN fails the test: 0
                    x = x if x < xmax else xmax  # +inf clamps
                    co[q] = sqrtf(c * x / (x + k)) * scale
            else:
                for q in range(3 * w):
                    x = row[q]
                    x = x if x > zero else zero
                    x = x if x < xmax else xmax
                    co[q] = sqrtf(c * x / (x + k)) * scale
            po = &out[i, 0, 0]
            for j in range(w):
                o = tetra(plut, co[3 * j], co[3 * j + 1], co[3 * j + 2], n)
                if grain_on:
                    m = o.g if o.g > o.b else o.b
                    m = o.r if o.r > m else m
                    m = 4.0 * (1.0 - m)
                    m = 1.0 if m > 1.0 else m
                    f = 1.0 + <float>(amount * noise[i, j]) * m
                    o.r = o.r * f
                    o.g = o.g * f
                    o.b = o.b * f
                po[3 * j] = <float>_clip01(o.r)
                po[3 * j + 1] = <float>_clip01(o.g)
                po[3 * j + 2] = <float>_clip01(o.b)
        free(co)
        free(gain)


cdef inline double _clip01(double v) noexcept nogil:
    v = v if v > 0.0 else 0.0
    return v if v < 1.0 else 1.0


def tetra_image(const float[:, ::1] coords, const float[::1] lut, Py_ssize_t n,
                float[:, ::1] out):
    """out[p] = tetrahedral interpolation of ``lut`` at coords[p] in [0, 1]^3 (clamped,
    NaN -> 0); coords and out are (N, 3)."""
    cdef Py_ssize_t m = coords.shape[0], p
    cdef float scale = <float>(n - 1)
    cdef float r, g, b
    cdef float one = 1.0
    cdef const float* plut = &lut[0]
    cdef Tetra o
    if m == 0:
        return
    for p in prange(m, nogil=True, schedule="static"):
        r = coords[p, 0]
        g = coords[p, 1]
        b = coords[p, 2]
        r = (r if r < one else one) if r >= 0 else <float>0.0
        g = (g if g < one else one) if g >= 0 else <float>0.0
        b = (b if b < one else one) if b >= 0 else <float>0.0
        o = tetra(plut, r * scale, g * scale, b * scale, n)
        out[p, 0] = <float>o.r
        out[p, 1] = <float>o.g
        out[p, 2] = <float>o.b


def noise(int64_t row0, int64_t seed, float[:, ::1] out):
    """out[i, j] = (sum of the 4 bytes of hash32(j + row_key(row0 + i, seed)) - 510)
    * sqrt(3) / 256: unit-variance Irwin-Hall noise of (seed, row, column)."""
    cdef Py_ssize_t h = out.shape[0], w = out.shape[1], i, j
    cdef float norm = <float>(sqrt(3.0) / 256.0)
    cdef uint64_t hy
    cdef uint32_t x, s
    if h == 0 or w == 0:
        return
    for i in prange(h, nogil=True, schedule="static"):
        hy = row_key(<uint64_t>(row0 + i), <uint64_t>seed)
        for j in range(w):
            x = hash32(<uint64_t>j + hy)
            s = (x & 255) + ((x >> 8) & 255) + ((x >> 16) & 255) + (x >> 24)
            out[i, j] = (<float>s - <float>510.0) * norm
