"""Compiled kernels of :mod:`redframe.isp.lens_warp`: destination -> source positions of the
lens warp on remap's 1/32-pixel grid, and Keys' bicubic resampling at them.

Positions are computed one output row at a time (all three planes, into per-thread scratch
rows of fixed-point x, y): exactly per pixel, or (``step`` > 1) interpolated bilinearly
from the exact positions at the nodes of a ``step``-pixel grid over the frame
(:func:`dng_grid`; frame coordinates, so a strip and the whole frame interpolate alike;
:func:`dng_grid_error` measures what that costs in accuracy); then each output pixel of
each plane is read from planar rows of the (H, W, 3) input (a plane's 4 taps of a row
contiguous: one 4-wide vector) and written interleaved: no maps of the whole frame. The
maps (:func:`dng_maps`, :func:`fixed_maps`) and the resampling from maps
(:func:`remap_fixed`) share that code, so the fused kernels (:func:`dng_warp`,
:func:`fixed_warp`) compute exactly what maps + remap compute.

Planar rows: each thread keeps a ring of de-interleaved source rows (``rf_ring``): before
an output row is read, the source rows its positions span (all planes and columns, plus
the kernel's reach) are made present, copied from the interleaved input into slot
``row % slots`` if they are not there yet. A thread's rows are consecutive (a static
schedule) and a warp that does not fold reads rows that move down with the output row, so
each source row is copied about once per thread, and the ring holds one output row's
span (~100 rows for the phone warp of docs/lens.md: ~5 MB a thread at 12 MP), not a
planar copy of the strip (~45 MB a thread at 12 MP, the former scratch: fresh memory costs
0.1-2 ms a MB to fault in on the 2-core VM, and was the lens's largest added memory).

A warp whose planes have equal coefficients (one plane, or no lateral CA) computes one
set of positions and reads all three planes per pixel with the taps and weights located
once (``rf_bicubic_planes`` with n = 3; the per-plane arithmetic unchanged, so the same
values). One loop serves both cases, inlined with n a constant and the planes unrolled
(GCC ``unroll``): the 12 MP phone warp (3 planes of its own) 52 ms with 2 threads, 101 ms
with one; a one-plane warp 44 / 81 ms (the former per-plane loop: 63 / 124 ms and 49 /
94 ms with the shared positions).

Bicubic: OpenCV ``remap`` ``INTER_CUBIC`` (a = -0.75) on its 1/32-pixel table, edges
replicated (``BORDER_REPLICATE``); the 4 x 4 sum is taken separably (4 rows weighted by x,
then by y) instead of OpenCV's 16 products of the 2-D table: the same weights, float32
rounding differences only (< 1e-6 relative).
"""

from cython.parallel cimport parallel, prange
from libc.math cimport atan, floor, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np


cdef struct Warp:
    # DNG WarpRectilinear / WarpFisheye, in the frame being rendered (see lens_warp.py)
    double sy, sx, cxp, cyp, R, k  # k = scale / R
    const double* coef  # (3, ncoef)
    Py_ssize_t ncoef
    int nterms
    bint even, recip, fisheye, tangential
    bint unit  # sy == sx == 1 (the develop's full-resolution frame): no divisions
    bint shared  # the planes' coefficients are equal (no lateral CA): one set of positions
    const double* tan  # (3, 2)
    const double* valid  # (3, 2)
    int w, h
    # the positions on a coarse grid (step > 1): nodes at columns/rows 0, S, 2S, ... and
    # the last column/row, (rows, 3 planes, x/y, gnx) source positions (see dng_grid)
    int step, gnx, gny
    const double* grid


cdef inline int _fixed(double v, double lo, double hi) noexcept nogil:
    """A position on OpenCV remap's fixed-point grid (1/32 pixel), limited to [lo, hi]."""
    return <int>floor(min(max(v, lo), hi) * 32.0 + 0.5)


cdef inline void _exact_row(const Warp* P, double row, const double* cols, Py_ssize_t n,
                            int p, double* X, double* Y) noexcept nogil:
    """Source x, y (frame pixels, unrounded) of plane ``p`` at output row ``row`` and
    columns ``cols[:n]`` (frame coordinates): the DNG SDK's GetSrcPixelPosition."""
    cdef Py_ssize_t j
    cdef int k, nterms = P.nterms
    cdef double yf, dy, xf, dx, r2, r, t, t2, ratio, lo, hi, rc, poly, ux, uy, ty, tx
    cdef double kt0, kt1, c0, c1, c2, c3
    cdef const double* cf = P.coef + p * P.ncoef
    yf = (row + 0.5) * P.sy - 0.5
    dy = (yf - P.cyp) * P.k
    lo = P.valid[2 * p]
    hi = P.valid[2 * p + 1]
    kt0 = P.tan[2 * p]
    kt1 = P.tan[2 * p + 1]
    c0 = cf[0]
    c1 = cf[2] if P.ncoef > 2 else 0.0
    c2 = cf[4] if P.ncoef > 4 else 0.0
    c3 = cf[6] if P.ncoef > 6 else 0.0
    for j in range(n):
        xf = (cols[j] + 0.5) * P.sx - 0.5
        dx = (xf - P.cxp) * P.k
        r2 = min(dx * dx + dy * dy, 1.0)
        if P.fisheye:
            if r2 < 1e-12:
                ratio = 1.0
            else:
                r = sqrt(r2)
                t = atan(r)
                t2 = t * t
                ratio = t * (cf[0] + t2 * (cf[1] + t2 * (cf[2] + t2 * cf[3]))) / r
        else:
            rc = min(max(r2, lo * lo), hi * hi)
            if P.even:  # WarpRectilinear: kr0 + kr1 r^2 + kr2 r^4 + kr3 r^6
                poly = ((c3 * rc + c2) * rc + c1) * rc + c0
            else:
                r = sqrt(rc)
                poly = cf[nterms - 1]
                for k in range(nterms - 2, -1, -1):
                    poly = poly * r + cf[k]
            ratio = (1.0 / poly) if P.recip else poly
        ux = dx * ratio
        uy = dy * ratio
        if P.tangential:
            uy = uy + (kt0 * (r2 + 2.0 * dy * dy) + 2.0 * kt1 * dx * dy)
            ux = ux + (kt1 * (r2 + 2.0 * dx * dx) + 2.0 * kt0 * dx * dy)
        ty = (P.cyp + P.R * uy) + 0.5
        tx = (P.cxp + P.R * ux) + 0.5
        if not P.unit:  # dividing by 1 changes nothing: skipped (two divisions per position)
            ty = ty / P.sy
            tx = tx / P.sx
        X[j] = tx - 0.5
        Y[j] = ty - 0.5


cdef inline void _node_row(const Warp* P, Py_ssize_t row, double* N) noexcept nogil:
    """The grid's positions along output row ``row`` at the node columns, (3, 2, gnx):
    the two node rows around it interpolated linearly."""
    cdef Py_ssize_t m, k, n = 6 * P.gnx
    cdef double r0, r1, t
    cdef const double* g0
    cdef const double* g1
    m = min(row // P.step, P.gny - 2)
    r0 = m * P.step
    r1 = min((m + 1) * P.step, P.h - 1)
    t = (row - r0) / (r1 - r0)
    g0 = P.grid + m * n
    g1 = g0 + n
    for k in range(n):
        N[k] = g0[k] + t * (g1[k] - g0[k])


cdef inline float _across(const Warp* P, const double* N, Py_ssize_t k, Py_ssize_t t) noexcept nogil:
    """A node row's value (one plane's x or y, ``N``) ``t`` pixels into cell ``k``: the
    nodes' linear interpolation, in float32 (0.0005 px at 16,000 px), as
    :func:`_cells_fixed` evaluates it."""
    cdef Py_ssize_t c0 = k * P.step, c1 = min(c0 + P.step, P.w - 1)
    cdef float v = <float>N[k]
    cdef float d = <float>((N[k + 1] - N[k]) / (c1 - c0))
    return v + <float>t * d


cdef inline void _cells_fixed(const Warp* P, const double* N, double hi, int ofs,
                              int* out) noexcept nogil:
    """``out[j]`` = the fixed-point position (1/32 px, limited to [-64, hi], less ``ofs``)
    of a node row's value at every column ``j``, a cell at a time, in float32 (8 lanes;
    no floor: positions are >= -64 px, so truncation of ``v * 32 + 2048.5`` is the
    rounding of ``_fixed``)."""
    cdef Py_ssize_t k, j, c0, c1, last = P.gnx - 2
    cdef float v, d, x, lo = -64.0, top = <float>hi
    for k in range(P.gnx - 1):
        c0 = k * P.step
        c1 = min(c0 + P.step, P.w - 1)
        v = <float>N[k]
        d = <float>((N[k + 1] - N[k]) / (c1 - c0))
        if k == last:
            c1 = c1 + 1  # the frame's last column is the last cell's end node
        for j in range(c0, c1):
            x = v + <float>(j - c0) * d
            x = min(max(x, lo), top)
            out[j] = <int>(x * <float>32.0 + <float>2048.5) - 2048 - ofs


cdef inline int _dng_row(const Warp* P, Py_ssize_t a, Py_ssize_t row,
                         int* ix, int* iy, double* scratch) noexcept nogil:
    """Fixed-point source x, y (y relative to row ``a``) of output row ``row`` (frame
    coordinates), planes R, G, B at ``ix[p * w + j]``: the DNG SDK's GetSrcPixelPosition,
    per pixel (step 1) or interpolated bilinearly from the grid (``scratch``: 6 gnx, or
    3 w doubles for step 1). Returns how many planes it wrote: 1 when the planes share
    their positions (``P.shared``: plane 0 stands for all; :func:`_all_planes` copies
    it), else 3."""
    cdef Py_ssize_t j, w = P.w
    cdef int p, n = 1 if P.shared else 3
    cdef double hmax = P.h + 64.0, wmax = P.w + 64.0
    cdef int ya = <int>(32 * a)
    cdef double* X
    cdef double* Y
    cdef double* cols
    if P.step > 1:
        _node_row(P, row, scratch)
        for p in range(n):
            X = scratch + 2 * p * P.gnx
            _cells_fixed(P, X, wmax, 0, ix + p * w)
            _cells_fixed(P, X + P.gnx, hmax, ya, iy + p * w)
        return n
    X = scratch
    Y = scratch + w
    cols = scratch + 2 * w
    for j in range(w):
        cols[j] = <double>j
    for p in range(n):
        _exact_row(P, <double>row, cols, w, p, X, Y)
        for j in range(w):
            ix[p * w + j] = _fixed(X[j], -64.0, wmax)
            iy[p * w + j] = _fixed(Y[j], -64.0, hmax) - ya
    return n


cdef inline void _all_planes(int* ix, int* iy, Py_ssize_t w, int n) noexcept nogil:
    """Planes 1 and 2 of a row that :func:`_dng_row` wrote for plane 0 only (``n`` 1)."""
    if n == 1:
        memcpy(ix + w, ix, w * sizeof(int))
        memcpy(ix + 2 * w, ix, w * sizeof(int))
        memcpy(iy + w, iy, w * sizeof(int))
        memcpy(iy + 2 * w, iy, w * sizeof(int))


cdef inline void _xy_row(const float* xy, Py_ssize_t w, int ya, double wmax, double hmax,
                         int* ix, int* iy) noexcept nogil:
    """lensfun's source positions of one row, (w, 3, 2) x, y, on the fixed-point grid."""
    cdef Py_ssize_t j
    cdef int p
    for p in range(3):
        for j in range(w):
            ix[p * w + j] = _fixed(<double>xy[6 * j + 2 * p], -64.0, wmax)
            iy[p * w + j] = _fixed(<double>xy[6 * j + 2 * p + 1], -64.0, hmax) - ya


cdef inline void _pack_row(const int* ix, const int* iy, Py_ssize_t w,
                           short* m1r, short* m1g, short* m1b,
                           unsigned short* m2r, unsigned short* m2g,
                           unsigned short* m2b) noexcept nogil:
    """Fixed-point positions as OpenCV's CV_16SC2 + fraction maps (one row, 3 planes)."""
    cdef Py_ssize_t j
    cdef short* m1p[3]
    cdef unsigned short* m2p[3]
    cdef int p, x, y
    m1p[0] = m1r
    m1p[1] = m1g
    m1p[2] = m1b
    m2p[0] = m2r
    m2p[1] = m2g
    m2p[2] = m2b
    for p in range(3):
        for j in range(w):
            x = ix[p * w + j]
            y = iy[p * w + j]
            m1p[p][2 * j] = <short>(x >> 5)
            m1p[p][2 * j + 1] = <short>(y >> 5)
            m2p[p][j] = <unsigned short>((y & 31) * 32 + (x & 31))


cdef extern from *:
    """
    #include <stddef.h>
    #include <stdlib.h>
    #include <string.h>
    typedef float rf_v4f __attribute__((vector_size(16)));
    static inline rf_v4f rf_load4(const float* p) { rf_v4f v; memcpy(&v, p, 16); return v; }
    static inline int rf_clampi(int v, int hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

    /* A thread's planar rows of the interleaved (hs, ws, 3) source x: plane p of source row
       r lies in slot r % nslot of buf (3 planes x nslot x ws floats) while tag[slot] == r,
       and rows[p hs + r] points at it. */
    typedef struct {
        const float* x;
        int hs, ws, nslot;
        float* buf;
        int* tag;
        const float** rows;
    } rf_ring;

    static int rf_ring_slots(rf_ring* g, int n) {  /* an empty ring of n slots; -1: no memory */
        free(g->buf);
        free(g->tag);
        g->buf = (float*)malloc(3 * (size_t)n * (size_t)g->ws * sizeof(float) + 1);
        g->tag = (int*)malloc((size_t)n * sizeof(int) + 1);
        g->nslot = 0;
        if (g->buf == NULL || g->tag == NULL) return -1;
        for (int s = 0; s < n; s++) g->tag[s] = -1;
        g->nslot = n;
        return 0;
    }

    static void rf_ring_delete(rf_ring* g) {
        if (g == NULL) return;
        free(g->buf);
        free(g->tag);
        free((void*)g->rows);
        free(g);
    }

    /* An empty ring over x (its slots are made on first use); NULL: no memory. */
    static rf_ring* rf_ring_new(const float* x, int hs, int ws) {
        rf_ring* g = (rf_ring*)calloc(1, sizeof(rf_ring));
        if (g == NULL) return NULL;
        g->x = x;
        g->hs = hs;
        g->ws = ws;
        g->rows = (const float**)malloc(3 * (size_t)hs * sizeof(float*) + 1);
        if (g->rows == NULL) {
            rf_ring_delete(g);
            return NULL;
        }
        return g;
    }

    /* Make source rows [lo, hi] (limited to the source's rows) present; -1: no memory. */
    static int rf_ring_need(rf_ring* g, int lo, int hi) {
        const int top = g->hs - 1, ws = g->ws;
        lo = rf_clampi(lo, top);
        hi = rf_clampi(hi, top);
        if (hi - lo + 1 > g->nslot) {
            int n = hi - lo + 1 + 16;
            if (n < g->nslot + g->nslot / 4) n = g->nslot + g->nslot / 4;
            if (n > g->hs) n = g->hs;
            if (rf_ring_slots(g, n) < 0) return -1;
        }
        const ptrdiff_t plane = (ptrdiff_t)g->nslot * ws;
        for (int r = lo; r <= hi; r++) {
            const int s = r % g->nslot;
            if (g->tag[s] == r) continue;
            const float* src = g->x + (ptrdiff_t)r * ws * 3;
            float* d0 = g->buf + (ptrdiff_t)s * ws;
            float* d1 = d0 + plane;
            float* d2 = d1 + plane;
            for (int j = 0; j < ws; j++) {
                d0[j] = src[3 * j];
                d1[j] = src[3 * j + 1];
                d2[j] = src[3 * j + 2];
            }
            g->tag[s] = r;
            g->rows[r] = d0;
            g->rows[g->hs + r] = d1;
            g->rows[2 * g->hs + r] = d2;
        }
        return 0;
    }

    /* The source rows one output row reads (all planes): from its fixed-point rows iy
       (n = 3 w) to the bicubic's reach, (iy >> 5) - 1 .. (iy >> 5) + 2. */
    static int rf_ring_need_row(rf_ring* g, const int* iy, Py_ssize_t n) {
        int lo = iy[0], hi = iy[0];
        for (Py_ssize_t k = 1; k < n; k++) {
            lo = iy[k] < lo ? iy[k] : lo;
            hi = iy[k] > hi ? iy[k] : hi;
        }
        return rf_ring_need(g, (lo >> 5) - 1, (hi >> 5) + 2);
    }

    /* Planes 0 .. n-1 of one output row at one set of fixed-point positions (ix[j],
       iy[j]) (1/32 px): out[3 j + p] (interleaved) = Keys' bicubic of the plane p, whose
       source row r is rows[p hs + r] (present in the ring), OpenCV's INTER_CUBIC with
       BORDER_REPLICATE. The taps and weights are located once per pixel (n = 3: planes
       that share their positions; n = 1: one plane, the caller offsetting rows and out).
       Inside the plane the 4 taps of a source row are one 4-wide vector (GCC/Clang vector
       extension: SSE on x86-64, NEON on aarch64): the 4 rows weighted by y, then the 4
       column sums by x; at the edges the taps are clamped, scalar. Inlined with n a
       constant: one loop per case. */
    static inline __attribute__((always_inline)) void rf_bicubic_planes(
            const float* const* __restrict rows, int hs, int ws, const int* __restrict ix,
            const int* __restrict iy, Py_ssize_t w, const float* __restrict tab,
            float* __restrict out, const int n) {
        const unsigned ws3 = ws > 3 ? (unsigned)(ws - 3) : 0u;
        const unsigned hs3 = hs > 3 ? (unsigned)(hs - 3) : 0u;
        for (Py_ssize_t j = 0; j < w; j++) {
            const int x = ix[j], y = iy[j];
            const int sx = (x >> 5) - 1, sy = (y >> 5) - 1;
            const rf_v4f ky = rf_load4(tab + 4 * (y & 31));
            const rf_v4f kx = rf_load4(tab + 4 * (x & 31));
            const int inside = (unsigned)sx < ws3 && (unsigned)sy < hs3;
            #pragma GCC unroll 3
            for (int p = 0; p < n; p++) {
                const float* const* pr = rows + (ptrdiff_t)p * hs;
                rf_v4f r0, r1, r2, r3, c;
                if (inside) {
                    r0 = rf_load4(pr[sy] + sx);
                    r1 = rf_load4(pr[sy + 1] + sx);
                    r2 = rf_load4(pr[sy + 2] + sx);
                    r3 = rf_load4(pr[sy + 3] + sx);
                } else {
                    const float* t[4];
                    int xs[4];
                    for (int k = 0; k < 4; k++) {
                        xs[k] = rf_clampi(sx + k, ws - 1);
                        t[k] = pr[rf_clampi(sy + k, hs - 1)];
                    }
                    for (int k = 0; k < 4; k++) {
                        r0[k] = t[0][xs[k]];
                        r1[k] = t[1][xs[k]];
                        r2[k] = t[2][xs[k]];
                        r3[k] = t[3][xs[k]];
                    }
                }
                c = ((r0 * ky[0] + r1 * ky[1]) + r2 * ky[2]) + r3 * ky[3];
                c = c * kx;
                out[3 * j + p] = (c[0] + c[1]) + (c[2] + c[3]);
            }
        }
    }

    /* Output row j of all planes (interleaved out) at fixed-point (ix, iy)[p ps + j]
       (plane stride ps: w, or 0 where the planes share their positions): the source rows
       it spans made present in the ring, then the planes read. -1: no memory. */
    static int rf_bicubic_row(rf_ring* g, const int* ix, const int* iy, Py_ssize_t w,
                              Py_ssize_t ps, const float* tab, float* out) {
        if (rf_ring_need_row(g, iy, ps ? 3 * w : w) < 0) return -1;
        if (ps == 0) {
            rf_bicubic_planes(g->rows, g->hs, g->ws, ix, iy, w, tab, out, 3);
            return 0;
        }
        for (int p = 0; p < 3; p++)
            rf_bicubic_planes(g->rows + (ptrdiff_t)p * g->hs, g->hs, g->ws, ix + p * ps,
                              iy + p * ps, w, tab, out + p, 1);
        return 0;
    }
    """
    ctypedef struct rf_ring:
        pass
    rf_ring* rf_ring_new(const float* x, int hs, int ws) noexcept nogil
    void rf_ring_delete(rf_ring* g) noexcept nogil
    int rf_bicubic_row(rf_ring* g, const int* ix, const int* iy, Py_ssize_t w,
                       Py_ssize_t ps, const float* tab, float* out) noexcept nogil


def _cubic_table():
    """OpenCV's 1-D INTER_CUBIC weights on the 1/32 grid (``interpolateCubic``, float32,
    evaluated as OpenCV evaluates it), (32, 4)."""
    A = np.float32(-0.75)
    one = np.float32(1.0)
    tab = np.empty((32, 4), np.float32)
    for i in range(32):
        x = np.float32(i) * np.float32(1.0 / 32)
        x1 = x + one
        c0 = ((A * x1 - np.float32(5) * A) * x1 + np.float32(8) * A) * x1 - np.float32(4) * A
        c1 = ((A + np.float32(2)) * x - (A + np.float32(3))) * x * x + one
        y = one - x
        c2 = ((A + np.float32(2)) * y - (A + np.float32(3))) * y * y + one
        tab[i] = (c0, c1, c2, one - c0 - c1 - c2)
    return tab


_TAB = _cubic_table()


cdef int _set_warp(Warp* P, int w, int h, double sy, double sx, double cxp, double cyp,
                    double R, double scale, const double[:, ::1] coef, int nterms, bint even,
                    const double[:, ::1] tan, const double[:, ::1] valid, bint recip,
                    bint fisheye, bint tangential, int step,
                    const double[:, :, :, ::1] grid) except -1:
    cdef Py_ssize_t p, k
    if coef.shape[0] != 3 or tan.shape[0] != 3 or valid.shape[0] != 3:
        raise ValueError("coef, tan and valid need one row per plane")
    if coef.shape[1] < (4 if fisheye else (7 if even else nterms)) or nterms < 1:
        raise ValueError("too few coefficients")
    P.w = w
    P.h = h
    P.sy = sy
    P.sx = sx
    P.unit = sy == 1.0 and sx == 1.0
    P.cxp = cxp
    P.cyp = cyp
    P.R = R
    P.k = scale / R
    P.coef = &coef[0, 0]
    P.ncoef = coef.shape[1]
    P.nterms = nterms
    P.even = even
    P.recip = recip
    P.fisheye = fisheye
    P.tangential = tangential
    P.tan = &tan[0, 0]
    P.valid = &valid[0, 0]
    P.shared = True
    for p in range(1, 3):
        for k in range(coef.shape[1]):
            P.shared = P.shared and coef[p, k] == coef[0, k]
        for k in range(2):
            P.shared = P.shared and tan[p, k] == tan[0, k] and valid[p, k] == valid[0, k]
    P.step = step
    P.gnx = 0
    P.gny = 0
    if step > 1:
        if grid.shape[0] != (h - 2) // step + 2 or grid.shape[1] != 3 or grid.shape[2] != 2 \
                or grid.shape[3] != (w - 2) // step + 2 or h < 2 or w < 2:
            raise ValueError("the position grid does not fit the frame and step")
        P.gny = grid.shape[0]
        P.gnx = grid.shape[3]
        P.grid = &grid[0, 0, 0, 0]
    return 0


cdef inline Py_ssize_t _scratch(int w) noexcept nogil:
    """Bytes of one thread's scratch for :func:`_dng_row`: the fixed-point rows (6 w ints)
    and its doubles (3 w: the exact path's x, y and columns; the grid's node row is
    smaller)."""
    return 6 * w * sizeof(int) + 3 * w * sizeof(double) + 64


def dng_maps(Py_ssize_t a, Py_ssize_t b, int w, int h, double sy, double sx, double cxp,
             double cyp, double R, double scale, const double[:, ::1] coef, int nterms,
             bint even, const double[:, ::1] tan, const double[:, ::1] valid, bint recip,
             bint fisheye, bint tangential, int step, const double[:, :, :, ::1] grid, short[:, :, :, ::1] m1,
             unsigned short[:, :, ::1] m2):
    """Destination -> source for rows [a, b) of the frame being rendered, all planes, as
    :func:`redframe.isp.lens.dng_source` (the DNG SDK's GetSrcPixelPosition), written as
    OpenCV remap's fixed-point maps (``convertMaps`` to CV_16SC2: integer x, y (row
    relative to ``a``) and the 1/32-pixel fraction index ``fy * 32 + fx``)."""
    cdef Warp P
    cdef Py_ssize_t i, n = b - a
    cdef int* ix = NULL
    cdef int failed = 0
    cdef int* iy = NULL
    _set_warp(&P, w, h, sy, sx, cxp, cyp, R, scale, coef, nterms, even, tan, valid, recip,
              fisheye, tangential, step, grid)
    if m1.shape[0] != 3 or m1.shape[1] != n or m1.shape[2] != w or m1.shape[3] != 2 \
            or m2.shape[0] != 3 or m2.shape[1] != n or m2.shape[2] != w:
        raise ValueError("maps of the wrong shape")
    if n <= 0 or w <= 0:
        return
    with nogil, parallel():
        ix = <int*>malloc(_scratch(w))
        iy = ix + 3 * w
        for i in prange(n, schedule="static"):
            if ix == NULL:
                failed += 1
            else:
                _all_planes(ix, iy, w, _dng_row(&P, a, a + i, ix, iy, <double*>(ix + 6 * w)))
                _pack_row(ix, iy, w, &m1[0, i, 0, 0], &m1[1, i, 0, 0], &m1[2, i, 0, 0],
                          &m2[0, i, 0], &m2[1, i, 0], &m2[2, i, 0])
        free(ix)
    if failed:
        raise MemoryError()


def dng_warp(const float[:, :, ::1] x, Py_ssize_t a, int w, int h, double sy, double sx,
             double cxp, double cyp, double R, double scale, const double[:, ::1] coef,
             int nterms, bint even, const double[:, ::1] tan, const double[:, ::1] valid,
             bint recip, bint fisheye, bint tangential, int step,
             const double[:, :, :, ::1] grid, float[:, :, ::1] out, Py_ssize_t r0=-1):
    """:func:`dng_maps` for rows [r0, r0 + len(out)) (default ``r0 = a``) and the bicubic
    read of ``x`` (whose row 0 is frame row ``a``) at them, in one pass: ``out``
    (rows, w, 3)."""
    cdef Warp P
    cdef Py_ssize_t i, n = out.shape[0]
    cdef int* ix = NULL
    cdef int failed = 0
    cdef int* iy = NULL
    cdef int np_ = 3
    cdef rf_ring* ring = NULL
    cdef const float[:, ::1] tab = _TAB
    cdef int hs = x.shape[0], ws = x.shape[1]
    _set_warp(&P, w, h, sy, sx, cxp, cyp, R, scale, coef, nterms, even, tan, valid, recip,
              fisheye, tangential, step, grid)
    if out.shape[1] != w or out.shape[2] != 3 or x.shape[2] != 3:
        raise ValueError("out must be (rows, w, 3) and x (rows, W, 3)")
    if r0 < 0:
        r0 = a
    if n <= 0 or w <= 0:
        return
    if hs <= 0 or ws <= 0:
        raise ValueError("x must be a non-empty (H, W, 3) image")
    cdef const float* src = &x[0, 0, 0]
    with nogil, parallel():
        ix = <int*>malloc(_scratch(w))
        iy = ix + 3 * w
        ring = rf_ring_new(src, hs, ws)
        for i in prange(n, schedule="static"):
            if ix == NULL or ring == NULL:
                failed += 1
            else:
                np_ = _dng_row(&P, a, r0 + i, ix, iy, <double*>(ix + 6 * w))
                if rf_bicubic_row(ring, ix, iy, w, 0 if np_ == 1 else w, &tab[0, 0],
                                  &out[i, 0, 0]) < 0:
                    failed += 1
        free(ix)
        rf_ring_delete(ring)
    if failed:
        raise MemoryError()


def fixed_maps(const float[:, :, :, ::1] xy, Py_ssize_t a, int w, int h,
               short[:, :, :, ::1] m1, unsigned short[:, :, ::1] m2):
    """lensfun's (rows, w, 3, 2) source positions as remap's fixed-point maps."""
    cdef Py_ssize_t i, n = xy.shape[0], wx = xy.shape[1]
    cdef int* ix = NULL
    cdef int failed = 0
    cdef int* iy = NULL
    cdef int ya = <int>(32 * a)
    if xy.shape[2] != 3 or xy.shape[3] != 2 or m1.shape[1] != n or m1.shape[2] != wx \
            or m2.shape[1] != n or m2.shape[2] != wx or m1.shape[0] != 3 or m2.shape[0] != 3:
        raise ValueError("positions and maps of different shapes")
    if n <= 0 or wx <= 0:
        return
    with nogil, parallel():
        ix = <int*>malloc(6 * wx * sizeof(int))
        iy = ix + 3 * wx
        for i in prange(n, schedule="static"):
            if ix == NULL:
                failed += 1
            else:
                _xy_row(&xy[i, 0, 0, 0], wx, ya, w + 64.0, h + 64.0, ix, iy)
                _pack_row(ix, iy, wx, &m1[0, i, 0, 0], &m1[1, i, 0, 0], &m1[2, i, 0, 0],
                          &m2[0, i, 0], &m2[1, i, 0], &m2[2, i, 0])
        free(ix)
    if failed:
        raise MemoryError()


def fixed_warp(const float[:, :, ::1] x, const float[:, :, :, ::1] xy, Py_ssize_t a, int w,
               int h, float[:, :, ::1] out):
    """:func:`fixed_maps` and the bicubic read of ``x`` at them in one pass."""
    cdef Py_ssize_t i, n = xy.shape[0], wx = xy.shape[1]
    cdef int* ix = NULL
    cdef int failed = 0
    cdef int* iy = NULL
    cdef rf_ring* ring = NULL
    cdef int ya = <int>(32 * a)
    cdef const float[:, ::1] tab = _TAB
    cdef int hs = x.shape[0], ws = x.shape[1]
    if xy.shape[2] != 3 or xy.shape[3] != 2 or out.shape[0] != n or out.shape[1] != wx \
            or out.shape[2] != 3 or x.shape[2] != 3:
        raise ValueError("positions, x and out of different shapes")
    if n <= 0 or wx <= 0:
        return
    if hs <= 0 or ws <= 0:
        raise ValueError("x must be a non-empty (H, W, 3) image")
    cdef const float* src = &x[0, 0, 0]
    with nogil, parallel():
        ix = <int*>malloc(6 * wx * sizeof(int))
        iy = ix + 3 * wx
        ring = rf_ring_new(src, hs, ws)
        for i in prange(n, schedule="static"):
            if ix == NULL or ring == NULL:
                failed += 1
            else:
                _xy_row(&xy[i, 0, 0, 0], wx, ya, w + 64.0, h + 64.0, ix, iy)
                if rf_bicubic_row(ring, ix, iy, wx, wx, &tab[0, 0], &out[i, 0, 0]) < 0:
                    failed += 1
        free(ix)
        rf_ring_delete(ring)
    if failed:
        raise MemoryError()


def remap_fixed(const float[:, :, ::1] x, const short[:, :, :, ::1] m1,
                const unsigned short[:, :, ::1] m2, float[:, :, ::1] out):
    """The bicubic read of each plane of ``x`` at the maps of :func:`dng_maps` or
    :func:`fixed_maps` (what ``cv2.remap`` of each plane computes)."""
    cdef Py_ssize_t i, j, n = m1.shape[1], w = m1.shape[2]
    cdef int p, m
    cdef int* ix = NULL
    cdef int failed = 0
    cdef int* iy = NULL
    cdef rf_ring* ring = NULL
    cdef const float[:, ::1] tab = _TAB
    cdef int hs = x.shape[0], ws = x.shape[1]
    if m1.shape[0] != 3 or m1.shape[3] != 2 or m2.shape[0] != 3 or m2.shape[1] != n \
            or m2.shape[2] != w or out.shape[0] != n or out.shape[1] != w or out.shape[2] != 3 \
            or x.shape[2] != 3:
        raise ValueError("maps, x and out of different shapes")
    if n <= 0 or w <= 0:
        return
    if hs <= 0 or ws <= 0:
        raise ValueError("x must be a non-empty (H, W, 3) image")
    cdef const float* src = &x[0, 0, 0]
    with nogil, parallel():
        ix = <int*>malloc(6 * w * sizeof(int))
        iy = ix + 3 * w
        ring = rf_ring_new(src, hs, ws)
        for i in prange(n, schedule="static"):
            if ix == NULL or ring == NULL:
                failed += 1
            else:
                for p in range(3):
                    for j in range(w):
                        m = m2[p, i, j]
                        ix[p * w + j] = m1[p, i, j, 0] * 32 + (m & 31)
                        iy[p * w + j] = m1[p, i, j, 1] * 32 + (m >> 5)
                if rf_bicubic_row(ring, ix, iy, w, w, &tab[0, 0], &out[i, 0, 0]) < 0:
                    failed += 1
        free(ix)
        rf_ring_delete(ring)
    if failed:
        raise MemoryError()


def dng_extent(const Py_ssize_t[::1] rows, int w, int h, double sy, double sx, double cxp,
               double cyp, double R, double scale, const double[:, ::1] coef, int nterms,
               bint even, const double[:, ::1] tan, const double[:, ::1] valid, bint recip,
               bint fisheye, bint tangential, int step, const double[:, :, :, ::1] grid, double[::1] lo,
               double[::1] hi):
    """``lo[k]``, ``hi[k]``: the smallest and largest (source row - row) (frame rows, on the
    1/32 grid, over all planes and columns) of output row ``rows[k]``, as :func:`dng_maps`
    gives them: where the warp reads, for its halo, in one parallel pass (a call per row
    would start a parallel region per row)."""
    cdef Warp P
    cdef Py_ssize_t k, j, n = rows.shape[0]
    cdef int* ix = NULL
    cdef int* iy = NULL
    cdef int np_ = 3
    cdef int failed = 0
    cdef int mn, mx, v
    _set_warp(&P, w, h, sy, sx, cxp, cyp, R, scale, coef, nterms, even, tan, valid, recip,
              fisheye, tangential, step, grid)
    if lo.shape[0] != n or hi.shape[0] != n:
        raise ValueError("lo and hi need one entry per row")
    if n <= 0 or w <= 0:
        return
    with nogil, parallel():
        ix = <int*>malloc(_scratch(w))
        iy = ix + 3 * w
        for k in prange(n, schedule="static"):
            if ix == NULL:
                failed += 1
            else:
                np_ = _dng_row(&P, rows[k], rows[k], ix, iy, <double*>(ix + 6 * w))
                mn = iy[0]
                mx = iy[0]
                for j in range(np_ * w):
                    v = iy[j]
                    if v < mn:
                        mn = v
                    if v > mx:
                        mx = v
                lo[k] = mn / 32.0
                hi[k] = mx / 32.0
        free(ix)
    if failed:
        raise MemoryError()


def dng_grid(int w, int h, double sy, double sx, double cxp, double cyp, double R,
             double scale, const double[:, ::1] coef, int nterms, bint even,
             const double[:, ::1] tan, const double[:, ::1] valid, bint recip, bint fisheye,
             bint tangential, int step):
    """The warp's source positions (unrounded, exact) at the nodes of a ``step``-pixel grid
    over the output frame: node columns 0, step, 2 step, ... and ``w - 1`` (rows alike),
    (rows, 3, 2, cols) float64 (planes; x, y), the ``grid`` argument of the kernels."""
    cdef Warp P
    cdef Py_ssize_t m, gny, gnx
    cdef int p
    if step < 2 or w < 2 or h < 2:
        raise ValueError("a grid needs step >= 2 and a frame of at least 2 x 2")
    gny = (h - 2) // step + 2
    gnx = (w - 2) // step + 2
    _set_warp(&P, w, h, sy, sx, cxp, cyp, R, scale, coef, nterms, even, tan, valid, recip,
              fisheye, tangential, 1, None)
    grid_arr = np.empty((gny, 3, 2, gnx), np.float64)
    cols_arr = np.minimum(np.arange(gnx) * step, w - 1).astype(np.float64)
    rows_arr = np.minimum(np.arange(gny) * step, h - 1).astype(np.float64)
    cdef double[:, :, :, ::1] g = grid_arr
    cdef const double[::1] cols = cols_arr
    cdef const double[::1] rows = rows_arr
    for m in prange(gny, nogil=True, schedule="static"):
        for p in range(3):
            _exact_row(&P, rows[m], &cols[0], gnx, p, &g[m, p, 0, 0], &g[m, p, 1, 0])
    return grid_arr


def dng_grid_error(const Py_ssize_t[::1] rows, const Py_ssize_t[::1] cols, int w, int h,
                   double sy, double sx, double cxp, double cyp, double R, double scale,
                   const double[:, ::1] coef, int nterms, bint even, const double[:, ::1] tan,
                   const double[:, ::1] valid, bint recip, bint fisheye, bint tangential,
                   int step, const double[:, :, :, ::1] grid):
    """The largest distance (pixels, over planes) between the grid's interpolated source
    position and the exact one at output pixels ``rows`` x ``cols``, per row (a float64
    array), before either is rounded to the 1/32 grid."""
    cdef Warp P
    cdef Warp E
    cdef Py_ssize_t i, j, n = rows.shape[0], nc = cols.shape[0]
    cdef int p
    cdef double* N = NULL
    cdef double* X = NULL
    cdef double* Y = NULL
    cdef double* cf = NULL
    cdef double ex, ey, d, worst
    cdef Py_ssize_t kc
    cdef int failed = 0
    _set_warp(&P, w, h, sy, sx, cxp, cyp, R, scale, coef, nterms, even, tan, valid, recip,
              fisheye, tangential, step, grid)
    if step < 2:
        raise ValueError("no grid to measure (step 1 is exact)")
    E = P
    E.step = 1
    err_arr = np.zeros(n, np.float64)
    cdef double[::1] err = err_arr
    if n <= 0 or nc <= 0:
        return err_arr
    with nogil, parallel():
        N = <double*>malloc((6 * P.gnx + 3 * nc + 8) * sizeof(double))
        X = N + 6 * P.gnx
        Y = X + nc
        cf = Y + nc
        for i in prange(n, schedule="static"):
            if N == NULL:
                failed += 1
            else:
                for j in range(nc):
                    cf[j] = <double>cols[j]
                _node_row(&P, rows[i], N)
                worst = 0.0
                for p in range(3):
                    _exact_row(&E, <double>rows[i], cf, nc, p, X, Y)
                    for j in range(nc):
                        kc = min(cols[j] // step, P.gnx - 2)
                        ex = <double>_across(&P, N + 2 * p * P.gnx, kc, cols[j] - kc * step) - X[j]
                        ey = <double>_across(&P, N + (2 * p + 1) * P.gnx, kc,
                                             cols[j] - kc * step) - Y[j]
                        d = sqrt(ex * ex + ey * ey)
                        if d > worst:
                            worst = d
                err[i] = worst
        free(N)
    if failed:
        raise MemoryError()
    return err_arr
