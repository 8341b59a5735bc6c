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
from libc.stdint cimport uint16_t
from libc.stdlib cimport free, malloc

ctypedef fused mosaic_t:
    uint16_t
    float


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


cdef void _column_tables(Py_ssize_t c0, Py_ssize_t cstep, Py_ssize_t w, int W,
                         const int[::1] kind, const long long[:, ::1] area,
                         const double[:, ::1] par, int* ci, double* cf, Py_ssize_t* jl,
                         Py_ssize_t* nj):
    """Per opcode ``q`` of the list, for the columns ``c0 + j cstep`` (j < w): the columns
    on its lattice (``jl[q w ..]``, ``nj[q]`` of them) and for a GainMap the map's two
    columns and the weight at each (``ci``, ``cf``): no modulo in the pixel loop."""
    cdef Py_ssize_t q, j, m, col
    for q in range(kind.shape[0]):
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


cdef int _alloc_tables(Py_ssize_t n, Py_ssize_t w, Py_ssize_t phases, int** ci, double** cf,
                       Py_ssize_t** jl, Py_ssize_t** nj) except -1:
    """The column tables of :func:`_column_tables` for ``phases`` column phases of ``n``
    opcodes and ``w`` columns (freed by the caller); MemoryError, nothing held, if not."""
    ci[0] = <int*>malloc(2 * phases * n * w * sizeof(int) + 1)
    cf[0] = <double*>malloc(phases * n * w * sizeof(double) + 1)
    jl[0] = <Py_ssize_t*>malloc(phases * n * w * sizeof(Py_ssize_t) + 1)
    nj[0] = <Py_ssize_t*>malloc(phases * n * sizeof(Py_ssize_t) + 1)
    if ci[0] == NULL or cf[0] == NULL or jl[0] == NULL or nj[0] == NULL:
        free(ci[0])
        free(cf[0])
        free(jl[0])
        free(nj[0])
        raise MemoryError()
    return 0


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
    if out.shape[0] != x.shape[0] or out.shape[1] != x.shape[1]:
        raise ValueError("out must have x's shape")
    if x.shape[0] > 0 and x.shape[1] > 0 and &out[0, 0] == &x[0, 0]:
        raise ValueError("out must not be x")
    _shade(x, out, r0, rstep, c0, cstep, H, W, kind, area, par, gains, NULL, NULL)


def levels_shade(const mosaic_t[:, ::1] mosaic, const float[:, ::1] black,
                 const float[:, ::1] scale, Py_ssize_t r0, float[:, ::1] out, int H, int W,
                 const int[::1] kind, const long long[:, ::1] area, const double[:, ::1] par,
                 const double[::1] gains):
    """Levels, white balance and the shading gains of a full-resolution mosaic strip (frame
    rows from ``r0``) in one pass: ``out[i, j] = ((mosaic[i, j] - black[site]) *
    scale[site]) * prod(gains at (r0 + i, j))``, in float32: the values of
    ``redframe.isp.fused.levels_wb`` and then :func:`shade` to within 1 ulp (the compiler
    contracts the two loops differently)."""
    if out.shape[0] != mosaic.shape[0] or out.shape[1] != mosaic.shape[1]:
        raise ValueError("out must have the mosaic's shape")
    if black.shape[0] != 2 or black.shape[1] != 2 or scale.shape[0] != 2 or scale.shape[1] != 2:
        raise ValueError("black and scale must be (2, 2), one value per CFA site")
    _shade(mosaic, out, r0, 1, 0, 1, H, W, kind, area, par, gains, &black[0, 0],
           &scale[0, 0])


cdef int _shade(const mosaic_t[:, ::1] x, float[:, ::1] out, Py_ssize_t r0, Py_ssize_t rstep,
                Py_ssize_t c0, Py_ssize_t cstep, int H, int W, const int[::1] kind,
                const long long[:, ::1] area, const double[:, ::1] par,
                const double[::1] gains, const float* black, const float* scale) except -1:
    """:func:`shade` (``black`` NULL: ``x`` is the levelled signal) or
    :func:`levels_shade` (``x`` raw, levelled per CFA site on the way: ``black`` and
    ``scale`` (2, 2) row-major)."""
    cdef Py_ssize_t h = x.shape[0], w = x.shape[1], n = kind.shape[0]
    cdef Py_ssize_t i, j, q, row
    cdef Py_ssize_t* jl
    cdef Py_ssize_t* nj
    cdef int* ci
    cdef double* cf
    cdef double* mr = NULL
    cdef Py_ssize_t mrow
    cdef int failed = 0
    cdef bint levelled = black == NULL
    if area.shape[0] != n or par.shape[0] != n or area.shape[1] != 6 or par.shape[1] != 8:
        raise ValueError("opcodes packed wrongly")
    if not levelled and (c0 != 0 or cstep != 1 or rstep != 1):
        raise ValueError("levels need the mosaic's own sites")
    if h <= 0 or w <= 0:
        return 0
    # per opcode: the columns on its lattice (jl, nj), and for a GainMap the map's two
    # columns and the weight at each of them (no modulo in the pixel loop)
    mrow = 1
    for q in range(n):
        if kind[q] == 0:
            mrow = max(mrow, <Py_ssize_t>par[q, 5])
    _alloc_tables(n, w, 1, &ci, &cf, &jl, &nj)
    _column_tables(c0, cstep, w, W, kind, area, par, ci, cf, jl, nj)
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
            if levelled:
                for j in range(w):
                    out[i, j] = (<float>x[i, j]) * out[i, j]
            else:
                _levels_gain_row(&x[i, 0], &out[i, 0], w, black + 2 * (row & 1),
                                 scale + 2 * (row & 1))
        free(mr)
    free(ci)
    free(cf)
    free(jl)
    free(nj)
    if failed:
        raise MemoryError()
    return 0


cdef inline void _levels_gain_row(const mosaic_t* m, float* o, Py_ssize_t w,
                                  const float* black, const float* scale) noexcept nogil:
    """``o[j] = ((m[j] - black[j & 1]) * scale[j & 1]) * o[j]`` (``o`` holds the gains)."""
    cdef Py_ssize_t j
    cdef float b0 = black[0], b1 = black[1], s0 = scale[0], s1 = scale[1]
    for j in range(w // 2):
        o[2 * j] = ((<float>m[2 * j] - b0) * s0) * o[2 * j]
        o[2 * j + 1] = ((<float>m[2 * j + 1] - b1) * s1) * o[2 * j + 1]
    if w & 1:
        o[w - 1] = ((<float>m[w - 1] - b0) * s0) * o[w - 1]



def binned_gains(float[:, :, ::1] out, const int[:, ::1] idx, int H, int W,
                 const int[::1] kind, const long long[:, ::1] area, const double[:, ::1] par,
                 const double[::1] gains):
    """The gains of the 2x2-binned mosaic, ``out`` (H2, W2, 3): per channel ``c`` the mean
    of the gains at its CFA sites ``(2 i + dy, 2 j + dx)`` with ``idx[dy, dx] == c`` (each
    site's gains as :func:`shade` of ones computes them; summed in site order, then divided
    by the count, in float32, as the NumPy sum of :func:`shade`'s planes), in one pass over
    the binned rows with no frame-sized temporaries."""
    cdef Py_ssize_t h2 = out.shape[0], w2 = out.shape[1], n = kind.shape[0]
    cdef Py_ssize_t i, q, mrow
    cdef int dy, dx, c, k, k2
    cdef int cnt[3]
    cdef int first[4]
    cdef int chan[4]
    cdef int failed = 0
    cdef int* ci = NULL
    cdef double* cf = NULL
    cdef Py_ssize_t* jl = NULL
    cdef Py_ssize_t* nj = NULL
    cdef double* mr = NULL
    cdef float* rows = NULL
    cdef float* acc
    cdef float* site
    if out.shape[2] != 3 or idx.shape[0] != 2 or idx.shape[1] != 2:
        raise ValueError("out must be (H2, W2, 3) and idx (2, 2)")
    if area.shape[0] != n or par.shape[0] != n or area.shape[1] != 6 or par.shape[1] != 8:
        raise ValueError("opcodes packed wrongly")
    if h2 <= 0 or w2 <= 0:
        return
    cnt[0] = 0
    cnt[1] = 0
    cnt[2] = 0
    for k in range(4):
        chan[k] = idx[k // 2, k % 2]
        if not 0 <= chan[k] < 3:
            raise ValueError("idx must hold channels 0..2")
        cnt[chan[k]] += 1
        first[k] = 1
        for k2 in range(k):
            if chan[k2] == chan[k]:
                first[k] = 0
    mrow = 1
    for q in range(n):
        if kind[q] == 0:
            mrow = max(mrow, <Py_ssize_t>par[q, 5])
    # the column tables of both column phases dx = 0, 1 (as shade builds them)
    _alloc_tables(n, w2, 2, &ci, &cf, &jl, &nj)
    for dx in range(2):
        _column_tables(dx, 2, w2, W, kind, area, par, &ci[2 * dx * n * w2],
                       &cf[dx * n * w2], &jl[dx * n * w2], &nj[dx * n])
    with nogil, parallel():
        # per thread: the map row, 3 channel rows and one site row
        mr = <double*>malloc(mrow * sizeof(double))
        rows = <float*>malloc(4 * w2 * sizeof(float))
        for i in prange(h2, schedule="static"):
            if mr == NULL or rows == NULL:
                failed += 1
                continue
            _binned_row(out, i, w2, n, H, kind, area, par, gains, ci, cf, jl, nj, mr, rows,
                        chan, first, cnt)
        free(mr)
        free(rows)
    free(ci)
    free(cf)
    free(jl)
    free(nj)
    if failed:
        raise MemoryError()


cdef inline void _binned_row(float[:, :, ::1] out, Py_ssize_t i, Py_ssize_t w2, Py_ssize_t n,
                             int H, const int[::1] kind, const long long[:, ::1] area,
                             const double[:, ::1] par, const double[::1] gains,
                             const int* ci, const double* cf, const Py_ssize_t* jl,
                             const Py_ssize_t* nj, double* mr, float* rows, const int* chan,
                             const int* first, const int* cnt) noexcept nogil:
    cdef int k, dy, dx, c
    cdef Py_ssize_t j
    cdef float* acc
    cdef float* site = rows + 3 * w2
    cdef float d
    for k in range(4):  # the sites in row order (0, 0), (0, 1), (1, 0), (1, 1)
        dy = k // 2
        dx = k % 2
        acc = rows + chan[k] * w2
        _gain_row(acc if first[k] else site, w2, 2 * i + dy, dx, 2, H, kind, area, par,
                  gains, ci + 2 * dx * n * w2, cf + dx * n * w2, jl + dx * n * w2,
                  nj + dx * n, mr)
        if not first[k]:
            for j in range(w2):
                acc[j] = acc[j] + site[j]
    for c in range(3):
        acc = rows + c * w2
        if cnt[c] > 1:
            d = <float>cnt[c]
            for j in range(w2):
                out[i, j, c] = acc[j] / d
        elif cnt[c] == 1:
            for j in range(w2):
                out[i, j, c] = acc[j]
        else:
            for j in range(w2):
                out[i, j, c] = 1.0
