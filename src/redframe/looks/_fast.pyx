"""Compiled kernels of :mod:`redframe.looks.fast`: the baked 3D LUT applied with tetrahedral
interpolation (fused with the clean-up, vignette and grain), the plain interpolation, and
the grain's position-hash noise. The interpolation itself is ``tetra`` in ``_fast.pxd``."""

cimport openmp
from cython.parallel cimport prange, threadid
from libc.math cimport sqrtf, sqrt
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.stdlib cimport free, malloc

from redframe.color._dither cimport hash32, row_key
from redframe.looks._fast cimport Tetra, tetra


cdef struct Shape:
    # the shaper s = sqrt(c x / (x + k)) times n - 1, and the clamp of scene light
    float k, c, xmax, scale


cdef void _row(const float* row, float* out, Py_ssize_t w, float* co, float* gain,
               Shape sh, const float* lut, Py_ssize_t n, bint vig_on, const float* tab,
               Py_ssize_t last, float vig_step, const float* ux2, float vy2, bint grain_on,
               const float* noise, float amount) noexcept nogil:
    """One row of :func:`apply` (raw pointers and values: nothing to reload per store)."""
    cdef Py_ssize_t j, q, it
    cdef float x, t
    cdef float zero = 0.0
    cdef double g, m, f
    cdef Tetra o
    # pass 1 over the row (vectorisable): clean-up, vignette gain, shaper
    if vig_on:
        for j in range(w):
            t = (ux2[j] + vy2) * vig_step
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
            x = x if x < sh.xmax else sh.xmax  # +inf clamps
            co[q] = sqrtf(sh.c * x / (x + sh.k)) * sh.scale
    else:
        for q in range(3 * w):
            x = row[q]
            x = x if x > zero else zero
            x = x if x < sh.xmax else sh.xmax
            co[q] = sqrtf(sh.c * x / (x + sh.k)) * sh.scale
    # pass 2: tetrahedral interpolation, grain, clip
    if grain_on:
        for j in range(w):
            o = tetra(lut, co[3 * j], co[3 * j + 1], co[3 * j + 2], n)
            m = o.g if o.g > o.b else o.b
            m = o.r if o.r > m else m
            m = 4.0 * (1.0 - m)
            m = 1.0 if m > 1.0 else m
            f = 1.0 + <float>(amount * noise[j]) * m
            out[3 * j] = <float>_clip01(o.r * f)
            out[3 * j + 1] = <float>_clip01(o.g * f)
            out[3 * j + 2] = <float>_clip01(o.b * f)
    else:
        for j in range(w):
            o = tetra(lut, co[3 * j], co[3 * j + 1], co[3 * j + 2], n)
            out[3 * j] = <float>_clip01(o.r)
            out[3 * j + 1] = <float>_clip01(o.g)
            out[3 * j + 2] = <float>_clip01(o.b)


def apply(const float[:, :, ::1] rgb, float[:, :, ::1] out, const float[::1] lut, Py_ssize_t n,
          float k, float c, float xmax, bint vig_on, const float[::1] vig_tab, float vig_step,
          const float[::1] ux2, const float[::1] vy2, bint grain_on, const float[:, ::1] noise,
          float amount):
    """out = clip(grain(tetra(lut, shaper(vignette(clean(rgb)))))), rows in parallel.

    Pass 1 over a row (vectorised): NaN and negatives -> 0, times the vignette gain, +inf
    and beyond clamp to ``xmax``, the shaper sqrt(c x / (x + k)) times (n - 1), float32.
    Pass 2: tetrahedral interpolation (double), grain fading toward white, clip to [0, 1].
    """
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i
    cdef Py_ssize_t last = vig_tab.shape[0] - 2
    cdef Shape sh
    cdef float* scratch
    cdef Py_ssize_t nt = openmp.omp_get_max_threads(), tid
    if h == 0 or w == 0:
        return
    if grain_on and (noise.shape[0] < h or noise.shape[1] < w):
        raise ValueError("the grain's noise plane is smaller than the image")
    if vig_on and (ux2.shape[0] < w or vy2.shape[0] < h or vig_tab.shape[0] < 2):
        raise ValueError("the vignette's tables do not cover the image")
    if out.shape[0] != h or out.shape[1] != w or rgb.shape[2] != 3 or out.shape[2] != 3:
        raise ValueError("rgb and out are (h, w, 3) of the same size")
    sh.k = k
    sh.c = c
    sh.xmax = xmax
    sh.scale = <float>(n - 1)
    cdef const float* prgb = &rgb[0, 0, 0]
    cdef float* pout = &out[0, 0, 0]
    cdef const float* tab = &vig_tab[0]
    cdef const float* pux = &ux2[0]
    cdef const float* pvy = &vy2[0]
    cdef const float* plut = &lut[0]
    cdef const float* pnoise = &noise[0, 0]
    cdef Py_ssize_t ns = noise.shape[1]
    # per-thread scratch rows (shaper coordinates, vignette gains): 6 w floats a thread
    scratch = <float*>malloc(nt * 6 * w * sizeof(float))
    if scratch == NULL:
        raise MemoryError()
    try:
        for i in prange(h, nogil=True, schedule="static", num_threads=nt):
            tid = threadid()
            _row(prgb + 3 * w * i, pout + 3 * w * i, w, scratch + 6 * w * tid,
                 scratch + 6 * w * tid + 3 * w, sh, plut, n, vig_on, tab, last, vig_step, pux,
                 pvy[i] if vig_on else <float>0.0, grain_on,
                 pnoise + ns * i if grain_on else pnoise, amount)
    finally:
        free(scratch)


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
