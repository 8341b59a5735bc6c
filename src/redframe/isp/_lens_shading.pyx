"""Compiled kernel of :mod:`redframe.isp.lens_shading`: the product of the DNG's
multiplicative opcodes (``GainMap``, ``FixVignetteRadial``) evaluated per pixel and applied
in one pass, parallel over rows, with no gain plane of the frame.

Each gain is computed as :func:`redframe.isp.lens_shading.gain_map_values` /
``_vignette_values`` compute it (float64, the same operations in the same order, then
rounded to float32), and the gains are multiplied in float32 in list order, then the
pixel by their product: the NumPy path's values to within the compiler's fused
multiply-adds (``-ffp-contract=fast``: <= 1 float32 ulp; ``tests/test_lens.py`` checks
2 ulp).

Opcodes are packed by :func:`redframe.isp.lens_shading._pack` (one row per opcode):
``kind`` 0 = GainMap, 1 = FixVignetteRadial; ``area`` (top, left, bottom, right, row
pitch, col pitch); ``par`` GainMap: (origin v, origin h, spacing v, spacing h, points v,
points h, offset of its gains in ``gains``), vignette: (cx px, cy px, R, k0..k4).
"""

from cython.parallel cimport parallel, prange
from libc.math cimport floor
from libc.stdlib cimport free, malloc


cdef inline void _weights(double pos, double size, double origin, double spacing, int n,
                          int* i0, int* i1, double* f) noexcept nogil:
    cdef double v = ((pos + 0.5) / size - origin) / spacing
    cdef int k
    v = min(max(v, 0.0), <double>(n - 1))
    k = <int>floor(v)
    if k > max(n - 2, 0):
        k = max(n - 2, 0)
    i0[0] = k
    i1[0] = min(k + 1, n - 1)
    f[0] = v - k


cdef inline bint _on(Py_ssize_t pos, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t pitch) noexcept nogil:
    if pos < lo or pos >= hi:
        return False
    return pitch <= 1 or (pos - lo) % pitch == 0


cdef inline void _gain_row(float* out, Py_ssize_t w, Py_ssize_t row, Py_ssize_t c0, Py_ssize_t cstep,
                    int H, const int[::1] kind, const long long[:, ::1] area,
                    const double[:, ::1] par, const double[::1] gains, const int* ci,
                    const double* cf, const Py_ssize_t* jl, const Py_ssize_t* nj,
                    double* mr) noexcept nogil:
    """``out[j]`` = the product of the opcodes' gains at (row, c0 + j cstep), in list order
    in float32, each gain as :func:`shade` computes it."""
    cdef Py_ssize_t j, q, t, n = kind.shape[0]
    cdef int a0, a1, b0, b1, pv, ph
    cdef double fr, fc, dx, dy, r2, s
    cdef const double* g
    cdef const double* p
    for j in range(w):
        out[j] = 1.0
    for q in range(n):
        p = &par[q, 0]
        if kind[q] == 0:
            if not _on(row, area[q, 0], area[q, 2], area[q, 4]):
                continue
            pv = <int>p[4]
            ph = <int>p[5]
            g = &gains[<Py_ssize_t>p[6]]
            _weights(<double>row, H, p[0], p[2], pv, &a0, &a1, &fr)
            for t in range(ph):
                mr[t] = g[a0 * ph + t] * (1.0 - fr) + g[a1 * ph + t] * fr
            for t in range(nj[q]):
                j = jl[q * w + t]
                b0 = ci[2 * (q * w + t)]
                b1 = ci[2 * (q * w + t) + 1]
                fc = cf[q * w + t]
                out[j] = out[j] * <float>(mr[b0] * (1.0 - fc) + mr[b1] * fc)
        else:
            dy = (<double>row + 0.5 - p[1]) / p[2]
            for j in range(w):
                dx = (<double>(c0 + j * cstep) + 0.5 - p[0]) / p[2]
                r2 = dx * dx + dy * dy
                s = r2 * (p[7] + 0.0)
                s = r2 * (p[6] + s)
                s = r2 * (p[5] + s)
                s = r2 * (p[4] + s)
                s = r2 * (p[3] + s)
                out[j] = out[j] * <float>(1.0 + s)


def shade(const float[:, ::1] x, float[:, ::1] out, Py_ssize_t r0, Py_ssize_t rstep,
          Py_ssize_t c0, Py_ssize_t cstep, int H, int W, const int[::1] kind,
          const long long[:, ::1] area, const double[:, ::1] par, const double[::1] gains):
    """``out[i, j] = x[i, j] * prod(gains at full-resolution (r0 + i rstep, c0 + j cstep))``
    (the product taken first, in list order, as the NumPy path does; ``out`` is not ``x``)."""
    cdef Py_ssize_t h = x.shape[0], w = x.shape[1], n = kind.shape[0]
    cdef Py_ssize_t i, j, q, t, m, row, col
    cdef Py_ssize_t* jl
    cdef Py_ssize_t* nj
    cdef int a0, a1, b0, b1, pv, ph
    cdef double fr, fc, t0, t1, dx, dy, r2, s
    cdef int* ci
    cdef double* cf
    cdef double* mr = NULL
    cdef Py_ssize_t mrow
    cdef int failed = 0
    cdef const double* g
    cdef const double* p
    if out.shape[0] != h or out.shape[1] != w:
        raise ValueError("out must have x's shape")
    if h > 0 and w > 0 and &out[0, 0] == &x[0, 0]:
        raise ValueError("out must not be x")
    if area.shape[0] != n or par.shape[0] != n or area.shape[1] != 6 or par.shape[1] != 8:
        raise ValueError("opcodes packed wrongly")
    if h <= 0 or w <= 0:
        return
    # per opcode: the columns on its lattice (jl, nj), and for a GainMap the map's two
    # columns and the weight at each of them (no modulo in the pixel loop)
    mrow = 1
    for q in range(n):
        if kind[q] == 0:
            mrow = max(mrow, <Py_ssize_t>par[q, 5])
    ci = <int*>malloc(2 * n * w * sizeof(int) + 1)
    cf = <double*>malloc(n * w * sizeof(double) + 1)
    jl = <Py_ssize_t*>malloc(n * w * sizeof(Py_ssize_t) + 1)
    nj = <Py_ssize_t*>malloc(n * sizeof(Py_ssize_t) + 1)
    if ci == NULL or cf == NULL or jl == NULL or nj == NULL:
        free(ci)
        free(cf)
        free(jl)
        free(nj)
        raise MemoryError()
    for q in range(n):
        m = 0
        for j in range(w):
            col = c0 + j * cstep
            if kind[q] != 0 or _on(col, area[q, 1], area[q, 3], area[q, 5]):
                jl[q * w + m] = j
                if kind[q] == 0:
                    _weights(<double>col, W, par[q, 1], par[q, 3], <int>par[q, 5],
                             &ci[2 * (q * w + m)], &ci[2 * (q * w + m) + 1], &cf[q * w + m])
                m = m + 1
        nj[q] = m
    with nogil, parallel():
        # per thread: the map interpolated along y at this row, once per row and opcode
        # (as gain_map_values takes it: rows first, then columns)
        mr = <double*>malloc(mrow * sizeof(double))
        for i in prange(h, schedule="static"):
            if mr == NULL:
                failed += 1
                continue
            row = r0 + i * rstep
            # (in a function: its weights are the thread's own; assigned through pointers
            # in this loop body they were shared between the threads, a race)
            _gain_row(&out[i, 0], w, row, c0, cstep, H, kind, area, par, gains, ci, cf, jl,
                      nj, mr)
            for j in range(w):
                out[i, j] = x[i, j] * out[i, j]
        free(mr)
    if failed:
        free(ci)
        free(cf)
        free(jl)
        free(nj)
        raise MemoryError()
    free(ci)
    free(cf)
    free(jl)
    free(nj)

