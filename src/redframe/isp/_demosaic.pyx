"""Compiled kernels of :mod:`redframe.isp.demosaic`: bilinear, Malvar 2004 and the passes of
Menon 2007, row-parallel (OpenMP) on a padded mosaic.

Every kernel reads the mosaic ``xp`` padded by an even margin (whole-sample reflection, so
the Bayer phase is kept) and the 2x2 colour index ``idx`` of its top-left block (0 = R,
1 = G, 2 = B). Notation: in row y, ``gc`` is the parity of the green columns, ``a`` the
row's non-green colour and ``b = 2 - a`` the other one. The arithmetic is the numba code's
(float32, except Malvar's, which that code computed in float64 from float32 sums).
"""

from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.stdint cimport int64_t, uint8_t
from libc.math cimport fabsf

# Row pointers of the kernels: the rows one pass reads and the rows it writes never
# overlap (distinct arrays, or distinct rows of a plane), so they are restrict-qualified:
# gcc then needs no run-time alias checks to vectorise.
cdef extern from *:
    ctypedef const float* cfp "const float * __restrict__"
    ctypedef float* fp "float * __restrict__"
    ctypedef const uint8_t* cu8p "const uint8_t * __restrict__"
    ctypedef uint8_t* u8p "uint8_t * __restrict__"

# The two in-place passes that store every other column of a plane (rb_at_rb, refine_green)
# are compiled for 256-bit vectors: gcc stores such gapped groups lane by lane, which from
# 512-bit registers costs more than the wider arithmetic gains (measured: 1.3-1.5x slower).
cdef extern from *:
    """
    #if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
    #define REDFRAME_V256 __attribute__((noinline, target("prefer-vector-width=256")))
    #else
    #define REDFRAME_V256
    #endif
    """
    ctypedef void void_v256 "REDFRAME_V256 void"

cdef float HALF = 0.5
cdef float QUARTER = 0.25
cdef float TWO = 2.0
cdef float THREE = 3.0
cdef float THIRD = <float>(1.0 / 3.0)


cdef inline int _green_col(const int64_t[:, ::1] idx, Py_ssize_t y) noexcept nogil:
    """Parity of the green columns of row ``y``."""
    return 0 if idx[y & 1, 0] == 1 else 1


cdef inline int _other(const int64_t[:, ::1] idx, Py_ssize_t y) noexcept nogil:
    """The non-green colour of row ``y``."""
    return <int>idx[y & 1, 1 - _green_col(idx, y)]


cdef inline Py_ssize_t _first(Py_ssize_t lo, Py_ssize_t parity) noexcept nogil:
    """The first column >= ``lo`` with the given parity."""
    return lo + ((parity - lo) & 1)


cdef inline Py_ssize_t _k_lo(Py_ssize_t lo, Py_ssize_t parity) noexcept nogil:
    """The first k with 2k + parity >= lo (the columns of one parity, numbered)."""
    return (_first(lo, parity) - parity) >> 1


cdef inline Py_ssize_t _k_hi(Py_ssize_t hi, Py_ssize_t parity) noexcept nogil:
    """One past the last k with 2k + parity < hi."""
    return (hi - parity + 1) >> 1


# ----------------------------------------------------------------------------- bilinear
# The full-image kernels (bilinear, Malvar, Menon's output) compute, at every pixel of a
# row, both the green-site and the red/blue-site values and select by the column's parity
# (and the row's channel order by a loop-invariant flag): the three stores of a pixel are
# then one group of three, and gcc vectorises the loop (it cannot interleave a pair's six).


cdef inline void _bilinear_row(cfp u, cfp m, cfp d, fp o, Py_ssize_t w, int gc,
                               int a) noexcept nogil:
    """One output row; ``u, m, d`` point at column 0 of the output in rows y-1, y, y+1 (the
    pad is even, so column parity is the padded mosaic's)."""
    cdef bint red = a == 0
    cdef bint green
    cdef Py_ssize_t j
    cdef float c, hor, ver, cross, diag, va, vg, vb
    for j in range(w):
        green = (j & 1) == gc
        c = m[j]
        hor = HALF * (m[j - 1] + m[j + 1])
        ver = HALF * (u[j] + d[j])
        cross = QUARTER * (u[j] + d[j] + m[j - 1] + m[j + 1])
        diag = QUARTER * (u[j - 1] + u[j + 1] + d[j - 1] + d[j + 1])
        va = hor if green else c      # the row's colour a
        vg = c if green else cross
        vb = ver if green else diag   # the other one
        o[3 * j] = va if red else vb
        o[3 * j + 1] = vg
        o[3 * j + 2] = vb if red else va


def bilinear(const float[:, ::1] xp, const int64_t[:, ::1] idx, float[:, :, ::1] out):
    """Bilinear on a mosaic padded by 2; writes ``out`` (H, W, 3)."""
    cdef Py_ssize_t h = out.shape[0], w = out.shape[1], i, y
    for i in prange(h, nogil=True, schedule="static"):
        y = i + 2
        _bilinear_row(&xp[y - 1, 2], &xp[y, 2], &xp[y + 1, 2], &out[i, 0, 0], w,
                      _green_col(idx, y), _other(idx, y))


# ----------------------------------------------------------------------------- Malvar 2004
# float64 arithmetic on float32 sums, as the numba kernel computed (its float literals
# promoted the expressions).


cdef inline void _malvar_row(cfp u2, cfp u1, cfp m, cfp d1, cfp d2, fp o, Py_ssize_t w,
                             int gc, int a) noexcept nogil:
    cdef bint red = a == 0
    cdef bint green
    cdef Py_ssize_t j
    cdef float c, cross1, cross2, diag1, hor1, ver1, hor2, ver2, va, vg, vb
    for j in range(w):
        green = (j & 1) == gc
        c = m[j]
        hor1 = m[j - 1] + m[j + 1]
        ver1 = u1[j] + d1[j]
        hor2 = m[j - 2] + m[j + 2]
        ver2 = u2[j] + d2[j]
        cross1 = hor1 + ver1
        cross2 = hor2 + ver2
        diag1 = u1[j - 1] + u1[j + 1] + d1[j - 1] + d1[j + 1]
        if green:
            va = <float>((5.0 * c + 4.0 * hor1 - hor2 - diag1 + 0.5 * ver2) * 0.125)
            vg = c
            vb = <float>((5.0 * c + 4.0 * ver1 - ver2 - diag1 + 0.5 * hor2) * 0.125)
        else:
            va = c
            vg = <float>((4.0 * c + 2.0 * cross1 - cross2) * 0.125)
            vb = <float>((6.0 * c + 2.0 * diag1 - 1.5 * cross2) * 0.125)
        o[3 * j] = va if red else vb
        o[3 * j + 1] = vg
        o[3 * j + 2] = vb if red else va


def malvar2004(const float[:, ::1] xp, const int64_t[:, ::1] idx, float[:, :, ::1] out):
    """Malvar 2004 on a mosaic padded by 2; writes ``out`` (H, W, 3)."""
    cdef Py_ssize_t h = out.shape[0], w = out.shape[1], i, y
    for i in prange(h, nogil=True, schedule="static"):
        y = i + 2
        _malvar_row(&xp[y - 2, 2], &xp[y - 1, 2], &xp[y, 2], &xp[y + 1, 2], &xp[y + 2, 2],
                    &out[i, 0, 0], w, _green_col(idx, y), _other(idx, y))


# ----------------------------------------------------------------------------- Menon 2007
# One kernel per pass, on the padded mosaic ``xp`` (Hp, Wp) and the scratch ``planes``
# (3, Hp, Wp); each pass computes a band that shrinks by its stencil radius (see
# demosaic.py). In every pass a site writes only values no other site of the pass reads.
# The passes that visit every other column take row pointers shifted to that parity, so
# site k is column 2k of the pointer (constant offsets: the loops vectorise).


cdef inline float _within(float v, float a, float b) noexcept nogil:
    """``v`` limited to the range of ``a`` and ``b`` (comparisons, not fminf/fmaxf: gcc
    vectorises these to min/max instructions; with fminf's NaN rules it did not, and the
    limited pass took 117 ms instead of 71 on 12 MP)."""
    cdef float lo = a if a < b else b
    cdef float hi = b if a < b else a
    v = lo if v < lo else v
    return hi if v > hi else v


cdef inline void _chroma_row(cfp u2, cfp u1, cfp m, cfp d1, cfp d2, fp ch, fp cv,
                             Py_ssize_t k0, Py_ssize_t k1, bint limit) noexcept nogil:
    cdef Py_ssize_t k, x
    cdef float c, gh, gv
    # two loops, not one with the limit inside: merged (gcc 12) the limited pass took
    # 93 instead of 74 ms on 12 MP and both results moved by float32 rounding
    if limit:
        for k in range(k0, k1):
            x = 2 * k
            c = m[x]
            gh = HALF * (m[x - 1] + m[x + 1]) + QUARTER * (TWO * c - m[x - 2] - m[x + 2])
            gv = HALF * (u1[x] + d1[x]) + QUARTER * (TWO * c - u2[x] - d2[x])
            # each estimate within the range of the two greens it interpolates
            ch[k] = c - _within(gh, m[x - 1], m[x + 1])
            cv[k] = c - _within(gv, u1[x], d1[x])
    else:
        for k in range(k0, k1):
            x = 2 * k
            c = m[x]
            ch[k] = c - (HALF * (m[x - 1] + m[x + 1]) + QUARTER * (TWO * c - m[x - 2] - m[x + 2]))
            cv[k] = c - (HALF * (u1[x] + d1[x]) + QUARTER * (TWO * c - u2[x] - d2[x]))


def menon_chroma(const float[:, ::1] xp, const int64_t[:, ::1] idx, float[:, :, ::1] cc,
                 bint limit=False):
    """C_H, C_V = x - G_H, x - G_V at red/blue sites, packed: site X of row y is
    ``cc[:, y, X >> 1]``. ``limit``: each green estimate first limited to the range of the
    two greens it interpolates (demosaic.py: ``limit_green``)."""
    cdef Py_ssize_t hp = xp.shape[0], wp = xp.shape[1], y, o
    for y in prange(2, hp - 2, nogil=True, schedule="static"):
        o = 1 - _green_col(idx, y)
        _chroma_row(&xp[y - 2, o], &xp[y - 1, o], &xp[y, o], &xp[y + 1, o], &xp[y + 2, o],
                    &cc[0, y, 0], &cc[1, y, 0], _k_lo(2, o), _k_hi(wp - 2, o), limit)


cdef inline void _decide_row(cfp xrow, cfp ch_u2, cfp ch_u1, cfp ch_m, cfp ch_d1, cfp ch_d2,
                             cfp cv_u2, cfp cv_u1, cfp cv_m, cfp cv_d1, cfp cv_d2, fp grow,
                             u8p hrow, Py_ssize_t wp, int gc) noexcept nogil:
    """Walks column pairs (2k, 2k + 1): the red/blue site is 2k + o, the green one the
    other; both are written (green: the sample; ``horizontal`` there is never read), so the
    stores are whole pairs."""
    cdef Py_ssize_t X, k, k0, k1
    cdef int o = 1 - gc
    cdef bint rb_even = o == 0
    cdef float dh, dv, gv
    cdef uint8_t hz
    # rows y +- 1 sample red/blue in the columns X - 1 and X + 1: packed k + o - 1, k + o
    cdef cfp ch_u1l = ch_u1 + o - 1
    cdef cfp ch_u1h = ch_u1 + o
    cdef cfp ch_d1l = ch_d1 + o - 1
    cdef cfp ch_d1h = ch_d1 + o
    cdef cfp cv_u1l = cv_u1 + o - 1
    cdef cfp cv_u1h = cv_u1 + o
    cdef cfp cv_d1l = cv_d1 + o - 1
    cdef cfp cv_d1h = cv_d1 + o
    k0 = _k_lo(4, o)
    k1 = _k_hi(wp - 4, o)
    for k in range(k0, k1):
        # Window sums of D_H(y, x) = |C_H(y, x) - C_H(y, x + 2)| over rows y-2..y+2
        # (centre row x3) and columns X-2..X, and the transpose for D_V.
        dh = (THREE * (fabsf(ch_m[k - 1] - ch_m[k]) + fabsf(ch_m[k] - ch_m[k + 1]))
              + fabsf(ch_u2[k - 1] - ch_u2[k]) + fabsf(ch_u2[k] - ch_u2[k + 1])
              + fabsf(ch_d2[k - 1] - ch_d2[k]) + fabsf(ch_d2[k] - ch_d2[k + 1])
              + fabsf(ch_u1l[k] - ch_u1h[k])
              + fabsf(ch_d1l[k] - ch_d1h[k]))
        dv = (THREE * (fabsf(cv_u2[k] - cv_m[k]) + fabsf(cv_m[k] - cv_d2[k]))
              + fabsf(cv_u2[k - 1] - cv_m[k - 1]) + fabsf(cv_m[k - 1] - cv_d2[k - 1])
              + fabsf(cv_u2[k + 1] - cv_m[k + 1]) + fabsf(cv_m[k + 1] - cv_d2[k + 1])
              + fabsf(cv_u1l[k] - cv_d1l[k])
              + fabsf(cv_u1h[k] - cv_d1h[k]))
        hz = dv >= dh
        hrow[2 * k] = hz
        hrow[2 * k + 1] = hz
        if rb_even:
            gv = xrow[2 * k] - (ch_m[k] if hz else cv_m[k])
            grow[2 * k] = gv
            grow[2 * k + 1] = xrow[2 * k + 1]
        else:
            gv = xrow[2 * k + 1] - (ch_m[k] if hz else cv_m[k])
            grow[2 * k] = xrow[2 * k]
            grow[2 * k + 1] = gv
    # green sites of the band [4, wp - 4) past the last pair
    X = 2 * k1
    while X < wp - 4:
        if (X & 1) == gc:
            grow[X] = xrow[X]
        X += 1


def menon_decide(const float[:, ::1] xp, const int64_t[:, ::1] idx,
                 const float[:, :, ::1] cc, float[:, :, ::1] planes,
                 uint8_t[:, ::1] horizontal):
    """Direction decision and green: ``horizontal`` (uint8), ``planes[1]`` = G (reads the
    packed C_H, C_V)."""
    cdef Py_ssize_t hp = xp.shape[0], wp = xp.shape[1], y
    for y in prange(4, hp - 4, nogil=True, schedule="static"):
        _decide_row(&xp[y, 0], &cc[0, y - 2, 0], &cc[0, y - 1, 0], &cc[0, y, 0],
                    &cc[0, y + 1, 0], &cc[0, y + 2, 0], &cc[1, y - 2, 0], &cc[1, y - 1, 0],
                    &cc[1, y, 0], &cc[1, y + 1, 0], &cc[1, y + 2, 0],
                    &planes[1, y, 0], &horizontal[y, 0], wp, _green_col(idx, y))


cdef inline void _rb_at_green_row(cfp xu, cfp xm, cfp xd, cfp gu, cfp gm, cfp gd, fp pa,
                                  fp pb, Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    cdef Py_ssize_t k, x
    cdef float gx
    for k in range(k0, k1):
        x = 2 * k
        gx = xm[x]
        pa[x] = gx + HALF * ((xm[x - 1] - gm[x - 1]) + (xm[x + 1] - gm[x + 1]))
        pb[x] = gx + HALF * ((xu[x] - gu[x]) + (xd[x] - gd[x]))


def menon_rb_at_green(const float[:, ::1] xp, const int64_t[:, ::1] idx,
                      float[:, :, ::1] planes):
    """Red and blue at green sites from the colour differences of the two sampling
    neighbours (first estimate and refining step)."""
    cdef Py_ssize_t hp = xp.shape[0], wp = xp.shape[1], y
    cdef int gc, a
    for y in prange(5, hp - 5, nogil=True, schedule="static"):
        gc = _green_col(idx, y)
        a = _other(idx, y)
        _rb_at_green_row(&xp[y - 1, gc], &xp[y, gc], &xp[y + 1, gc], &planes[1, y - 1, gc],
                         &planes[1, y, gc], &planes[1, y + 1, gc], &planes[a, y, gc],
                         &planes[2 - a, y, gc], _k_lo(5, gc), _k_hi(wp - 5, gc))


cdef void_v256 _rb_at_rb_row(cfp xm, cfp pa_u, cfp pa_m, cfp pa_d, cfp pb_u, fp pb_m,
                             cfp pb_d, cu8p hrow, Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    cdef Py_ssize_t k, x
    cdef float c, along_h, along_v
    for k in range(k0, k1):
        x = 2 * k
        c = xm[x]
        # (the numba kernel also copied c into planes[a] here; no pass reads a plane at a
        # site of its own colour - the output takes the sample from xp - so the gapped
        # store is left out: bit-identical results, checked with NaN-filled scratch)
        along_h = (pb_m[x - 1] - pa_m[x - 1]) + (pb_m[x + 1] - pa_m[x + 1])
        along_v = (pb_u[x] - pa_u[x]) + (pb_d[x] - pa_d[x])
        # both, then a select: the direction is a coin toss on noise (no branch to miss)
        pb_m[x] = c + HALF * (along_h if hrow[x] else along_v)


def menon_rb_at_rb(const float[:, ::1] xp, const int64_t[:, ::1] idx,
                   float[:, :, ::1] planes, const uint8_t[:, ::1] horizontal):
    """Blue at red sites and red at blue sites along the chosen direction."""
    cdef Py_ssize_t hp = xp.shape[0], wp = xp.shape[1], y
    cdef int o, a, b
    for y in prange(6, hp - 6, nogil=True, schedule="static"):
        o = 1 - _green_col(idx, y)
        a = _other(idx, y)
        b = 2 - a
        _rb_at_rb_row(&xp[y, o], &planes[a, y - 1, o], &planes[a, y, o], &planes[a, y + 1, o],
                      &planes[b, y - 1, o], &planes[b, y, o], &planes[b, y + 1, o],
                      &horizontal[y, o], _k_lo(6, o), _k_hi(wp - 6, o))


cdef void_v256 _refine_green_row(cfp xm, cfp pa_u, cfp pa_m, cfp pa_d, cfp gu, fp gm,
                                 cfp gd, cu8p hrow, Py_ssize_t k0,
                                 Py_ssize_t k1) noexcept nogil:
    cdef Py_ssize_t k, x
    cdef float c, along_h, along_v, s
    for k in range(k0, k1):
        x = 2 * k
        c = xm[x]
        along_h = (pa_m[x - 1] - gm[x - 1]) + (pa_m[x + 1] - gm[x + 1])
        along_v = (pa_u[x] - gu[x]) + (pa_d[x] - gd[x])
        s = along_h if hrow[x] else along_v
        gm[x] = c - (s + (c - gm[x])) * THIRD


def menon_refine_green(const float[:, ::1] xp, const int64_t[:, ::1] idx,
                       float[:, :, ::1] planes, const uint8_t[:, ::1] horizontal):
    """Refining step: green at red/blue sites from the 3-tap mean of R - G (B - G)."""
    cdef Py_ssize_t hp = xp.shape[0], wp = xp.shape[1], y
    cdef int o, a
    for y in prange(7, hp - 7, nogil=True, schedule="static"):
        o = 1 - _green_col(idx, y)
        a = _other(idx, y)
        _refine_green_row(&xp[y, o], &planes[a, y - 1, o], &planes[a, y, o],
                          &planes[a, y + 1, o], &planes[1, y - 1, o], &planes[1, y, o],
                          &planes[1, y + 1, o], &horizontal[y, o], _k_lo(7, o),
                          _k_hi(wp - 7, o))


cdef inline void _refined_row(cfp xm, cfp pa_u, cfp pa_m, cfp pa_d, cfp pb_u, cfp pb_m,
                              cfp pb_d, cu8p hrow, fp v, Py_ssize_t w) noexcept nogil:
    """The last refining step at the row's red/blue sites: the other colour from the 3-tap
    mean of their difference along the chosen direction (both, then a select), into ``v``.
    Computed at every column (contiguous: it vectorises); the green columns are unused."""
    cdef Py_ssize_t j
    cdef float c, along_h, along_v
    for j in range(w):
        c = xm[j]
        along_h = ((pb_m[j - 1] - pa_m[j - 1]) + (pb_m[j] - c)
                   + (pb_m[j + 1] - pa_m[j + 1]))
        along_v = (pb_u[j] - pa_u[j]) + (pb_m[j] - c) + (pb_d[j] - pa_d[j])
        v[j] = c + (along_h if hrow[j] else along_v) * THIRD


cdef inline void _output_row(cfp xm, cfp p0, cfp p1, cfp p2, cfp vb, fp o, Py_ssize_t w,
                             int gc, int a) noexcept nogil:
    """One output row: at green sites the planes, at red/blue sites the sample, green and
    ``vb`` (the other colour). Pointers at the output's column 0 (the margin is even:
    parities agree)."""
    cdef bint red = a == 0
    cdef bint green
    cdef Py_ssize_t j
    cdef float c, v, v0, v1, v2
    for j in range(w):
        green = (j & 1) == gc
        c = xm[j]
        v = vb[j]
        v0 = p0[j]  # all loaded unconditionally (conditional loads become masked ones)
        v1 = p1[j]
        v2 = p2[j]
        o[3 * j] = v0 if green else (c if red else v)
        o[3 * j + 1] = c if green else v1
        o[3 * j + 2] = v2 if green else (v if red else c)


cdef inline void _output_plain_row(cfp xm, cfp p0, cfp p1, cfp p2, fp o, Py_ssize_t w,
                                   int gc, int a) noexcept nogil:
    """One output row without the refining step: the planes, except the sample at each
    site's own colour (a red/blue site's other colour is its plane's value)."""
    cdef bint red = a == 0
    cdef bint green
    cdef Py_ssize_t j
    cdef float c, v0, v1, v2
    for j in range(w):
        green = (j & 1) == gc
        c = xm[j]
        v0 = p0[j]
        v1 = p1[j]
        v2 = p2[j]
        o[3 * j] = c if (red and not green) else v0
        o[3 * j + 1] = c if green else v1
        o[3 * j + 2] = c if not (red or green) else v2


def menon_output(const float[:, ::1] xp, const int64_t[:, ::1] idx,
                 const float[:, :, ::1] planes, const uint8_t[:, ::1] horizontal,
                 Py_ssize_t margin, bint refine, float[:, :, ::1] out):
    """Write the (H, W, 3) result; with ``refine``, the last refining step (R at B, B at
    R), through a scratch row per thread. ``margin`` must be even."""
    cdef Py_ssize_t h = out.shape[0], w = out.shape[1], i, y, m = margin
    cdef int a, b
    cdef float* v = NULL
    cdef int failed[1]  # shared (an array element is not made thread-private)
    failed[0] = 0
    if not refine:
        for i in prange(h, nogil=True, schedule="static"):
            y = i + m
            a = _other(idx, y)
            _output_plain_row(&xp[y, m], &planes[0, y, m], &planes[1, y, m],
                              &planes[2, y, m], &out[i, 0, 0], w, _green_col(idx, y), a)
        return
    with nogil, parallel():
        v = <float*>malloc(w * sizeof(float))
        if v == NULL:
            failed[0] = 1
        for i in prange(h, schedule="static"):
            if v != NULL:
                y = i + m
                a = _other(idx, y)
                b = 2 - a
                _refined_row(&xp[y, m], &planes[a, y - 1, m], &planes[a, y, m],
                             &planes[a, y + 1, m], &planes[b, y - 1, m], &planes[b, y, m],
                             &planes[b, y + 1, m], &horizontal[y, m], v, w)
                _output_row(&xp[y, m], &planes[0, y, m], &planes[1, y, m],
                            &planes[2, y, m], v, &out[i, 0, 0], w, _green_col(idx, y), a)
        free(v)
    if failed[0]:
        raise MemoryError("menon_output: no scratch row")
