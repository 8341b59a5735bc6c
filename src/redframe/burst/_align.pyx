"""Compiled kernels of :mod:`redframe.burst.align`: the tile search (L1 or L2), the per-tile
Gauss-Newton matrices, the inverse compositional refinement and the tile residuals, all
parallel over tiles.

The L1 and L2 searches are one implementation specialised at compile time by a fused
"metric" type (two ``cdef inline`` distance functions chosen outside the loops), so the
inner loop has no branch on the metric.
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY, fabs, fabsf
from libc.stdint cimport int32_t, int64_t


cdef struct L1:
    char unused


cdef struct L2:
    char unused


ctypedef fused metric:
    L1
    L2


cdef inline float _distance(metric* tag, const float* ref, Py_ssize_t rs, const float* alt,
                            Py_ssize_t as_, int t, float bound) noexcept nogil:
    """L1 or L2 distance of a t x t tile (``ref``, ``alt`` at its top-left corners, row
    strides ``rs``, ``as_``); stops once the partial sum exceeds ``bound`` (the best so
    far)."""
    cdef float acc = 0.0, row, d
    cdef int y, x
    for y in range(t):
        row = 0.0
        if metric is L1:
            for x in range(t):
                row = row + fabsf(alt[x] - ref[x])
        else:
            for x in range(t):
                d = alt[x] - ref[x]
                row = row + d * d
        acc = acc + row
        if acc >= bound:
            break
        ref = ref + rs
        alt = alt + as_
    return acc


cdef inline void _search_tile(metric* tag, const float* r0, Py_ssize_t rs, const float* a0,
                              Py_ssize_t as_, int pad, int t, const int32_t* cand, int k_n,
                              int radius, int32_t* out, float* cost) noexcept nogil:
    """Best integer displacement of one tile (``r0``: its corner in ref, ``a0``: in the
    padded alt at displacement (0, 0); ``cand``: (k_n, 2) candidates): the best of the
    candidates, then the best within +-radius around it."""
    cdef float best = INFINITY, d
    cdef int by = 0, bx = 0, c, dy, dx, cy, cx
    for c in range(k_n):
        dy = cand[2 * c]
        dx = cand[2 * c + 1]
        if dy > pad or -dy > pad or dx > pad or -dx > pad:
            continue
        d = _distance(tag, r0, rs, a0 + dy * as_ + dx, as_, t, best)
        if d < best:
            best = d
            by = dy
            bx = dx
    cy = by
    cx = bx
    for dy in range(cy - radius, cy + radius + 1):
        if dy > pad or -dy > pad:
            continue
        for dx in range(cx - radius, cx + radius + 1):
            if dx > pad or -dx > pad or (dy == cy and dx == cx):
                continue
            d = _distance(tag, r0, rs, a0 + dy * as_ + dx, as_, t, best)
            if d < best:
                best = d
                by = dy
                bx = dx
    out[0] = by
    out[1] = bx
    cost[0] = <float>(<double>best / (t * t))


def tile_search(const float[:, ::1] ref, const float[:, ::1] alt, int pad,
                const int64_t[::1] oy, const int64_t[::1] ox, int t,
                const int32_t[:, :, :, ::1] cand, int radius, bint l1,
                int32_t[:, :, ::1] out, float[:, ::1] cost):
    """Best integer displacement per tile (L1 if ``l1`` else L2): the best of the
    candidates, then the best within +-radius around it. ``alt`` is padded by ``pad``."""
    cdef Py_ssize_t k, ty, tx, ty_n = cand.shape[0], tx_n = cand.shape[1]
    cdef Py_ssize_t rs = ref.shape[1], as_ = alt.shape[1]
    cdef int k_n = cand.shape[2]
    cdef L1 m1
    cdef L2 m2
    if oy.shape[0] != ty_n or ox.shape[0] != tx_n or cand.shape[3] != 2 \
            or out.shape[0] != ty_n or out.shape[1] != tx_n or out.shape[2] != 2 \
            or cost.shape[0] != ty_n or cost.shape[1] != tx_n:
        raise ValueError("tile grid, candidates and outputs of different shapes")
    if alt.shape[0] != ref.shape[0] + 2 * pad or alt.shape[1] != ref.shape[1] + 2 * pad:
        raise ValueError("alt must be ref's size padded by pad")
    if ty_n * tx_n == 0 or k_n == 0:
        return
    if l1:
        for k in prange(ty_n * tx_n, nogil=True, schedule="dynamic", chunksize=16):
            ty = k // tx_n
            tx = k - ty * tx_n
            _search_tile(&m1, &ref[oy[ty], ox[tx]], rs, &alt[oy[ty] + pad, ox[tx] + pad], as_,
                         pad, t, &cand[ty, tx, 0, 0], k_n, radius, &out[ty, tx, 0],
                         &cost[ty, tx])
    else:
        for k in prange(ty_n * tx_n, nogil=True, schedule="dynamic", chunksize=16):
            ty = k // tx_n
            tx = k - ty * tx_n
            _search_tile(&m2, &ref[oy[ty], ox[tx]], rs, &alt[oy[ty] + pad, ox[tx] + pad], as_,
                         pad, t, &cand[ty, tx, 0, 0], k_n, radius, &out[ty, tx, 0],
                         &cost[ty, tx])


cdef inline double _bilinear(const float* img, Py_ssize_t h, Py_ssize_t w, double y,
                             double x) noexcept nogil:
    y = min(max(y, 0.0), h - 1.000001)
    x = min(max(x, 0.0), w - 1.000001)
    cdef Py_ssize_t iy = <Py_ssize_t>y, ix = <Py_ssize_t>x
    cdef double fy = y - iy, fx = x - ix, top, bot
    cdef const float* p = img + iy * w + ix
    cdef const float* q = p + w
    top = p[0] + fx * <double>(p[1] - p[0])
    bot = q[0] + fx * <double>(q[1] - q[0])
    return top + fy * (bot - top)


def tile_hessians(const float[:, ::1] gx, const float[:, ::1] gy, const int64_t[::1] oy,
                  const int64_t[::1] ox, int t, double[:, :, ::1] info):
    """Per tile: sum gx^2, sum gx gy, sum gy^2 (the Gauss-Newton matrix)."""
    cdef Py_ssize_t k, ty, tx, y, x, tx_n = ox.shape[0]
    cdef double h00, h01, h11
    cdef float a, b
    if info.shape[0] != oy.shape[0] or info.shape[1] != tx_n or info.shape[2] != 3:
        raise ValueError("info must be (Ty, Tx, 3)")
    for k in prange(oy.shape[0] * tx_n, nogil=True, schedule="static"):
        ty = k // tx_n
        tx = k - ty * tx_n
        h00 = 0.0
        h01 = 0.0
        h11 = 0.0
        for y in range(oy[ty], oy[ty] + t):
            for x in range(ox[tx], ox[tx] + t):
                a = gx[y, x]
                b = gy[y, x]
                h00 = h00 + <double>(a * a)
                h01 = h01 + <double>(a * b)
                h11 = h11 + <double>(b * b)
        info[ty, tx, 0] = h00
        info[ty, tx, 1] = h01
        info[ty, tx, 2] = h11


cdef inline void _refine_tile(const float* ref, const float* gx, const float* gy,
                              Py_ssize_t w, const double* info, const float* alt,
                              Py_ssize_t ah, Py_ssize_t aw, int pad, Py_ssize_t y0,
                              Py_ssize_t x0, int t, const float* disp, int iterations,
                              float* out, double* resid) noexcept nogil:
    """One tile of :func:`ica_refine` (``ref``, ``gx``, ``gy``: (., w) images; ``alt``:
    (ah, aw), padded by ``pad``; ``info``, ``disp``, ``out``, ``resid``: the tile's)."""
    cdef Py_ssize_t y, x, o
    cdef double iy = disp[0], ix = disp[1]
    cdef double h00 = info[0], h01 = info[1], h11 = info[2]
    cdef double det = h00 * h11 - h01 * h01
    cdef double uy = iy, ux = ix, b0, b1, e2, e, dx, dy, yy
    cdef int n_it = iterations, it = 0
    out[0] = <float>iy
    out[1] = <float>ix
    if det <= 1e-9 * (h00 + h11) * (h00 + h11) or h00 + h11 <= 0:
        n_it = 0  # a flat or 1-D tile: the integer search is all we can trust
    while True:
        b0 = 0.0
        b1 = 0.0
        e2 = 0.0
        for y in range(y0, y0 + t):
            yy = y + uy + pad
            for x in range(x0, x0 + t):
                o = y * w + x
                e = _bilinear(alt, ah, aw, yy, x + ux + pad) - ref[o]
                b0 = b0 + gx[o] * e
                b1 = b1 + gy[o] * e
                e2 = e2 + e * e
        resid[0] = e2 / (t * t)
        if it >= n_it:
            break
        it = it + 1
        dx = (h11 * b0 - h01 * b1) / det
        dy = (h00 * b1 - h01 * b0) / det
        ux = ux - dx
        uy = uy - dy
        if fabs(ux - ix) > 1.0 or fabs(uy - iy) > 1.0:
            ux = ix  # diverged: keep the integer result
            uy = iy
            break
        if dx * dx + dy * dy < 1e-4:
            break
    out[0] = <float>uy
    out[1] = <float>ux


def ica_refine(const float[:, ::1] ref, const float[:, ::1] gx, const float[:, ::1] gy,
               const double[:, :, ::1] info, const float[:, ::1] alt, int pad,
               const int64_t[::1] oy, const int64_t[::1] ox, int t,
               const float[:, :, ::1] disp, int iterations, float[:, :, ::1] out,
               double[:, ::1] resid):
    """Inverse compositional Gauss-Newton on each tile (translation model), from ``disp``;
    ``resid`` gets the tile's mean square difference at the last evaluated position."""
    cdef Py_ssize_t k, ty, tx, ty_n = disp.shape[0], tx_n = disp.shape[1]
    cdef Py_ssize_t w = ref.shape[1], ah = alt.shape[0], aw = alt.shape[1]
    if oy.shape[0] != ty_n or ox.shape[0] != tx_n or disp.shape[2] != 2 \
            or out.shape[0] != ty_n or out.shape[1] != tx_n or out.shape[2] != 2 \
            or resid.shape[0] != ty_n or resid.shape[1] != tx_n \
            or info.shape[0] != ty_n or info.shape[1] != tx_n or info.shape[2] != 3:
        raise ValueError("tile grid and outputs of different shapes")
    if gx.shape[0] != ref.shape[0] or gx.shape[1] != w or gy.shape[0] != ref.shape[0] \
            or gy.shape[1] != w:
        raise ValueError("ref and its gradients of different shapes")
    if ty_n * tx_n == 0:
        return
    for k in prange(ty_n * tx_n, nogil=True, schedule="dynamic", chunksize=16):
        ty = k // tx_n
        tx = k - ty * tx_n
        _refine_tile(&ref[0, 0], &gx[0, 0], &gy[0, 0], w, &info[ty, tx, 0], &alt[0, 0], ah,
                     aw, pad, oy[ty], ox[tx], t, &disp[ty, tx, 0], iterations,
                     &out[ty, tx, 0], &resid[ty, tx])


def tile_residuals(const float[:, ::1] ref, const float[:, ::1] alt, int pad,
                   const int64_t[::1] oy, const int64_t[::1] ox, int t,
                   const float[:, :, ::1] disp, double[:, ::1] out):
    """Mean square of ``alt(p + disp) - ref(p)`` over each tile (bilinear sampling)."""
    cdef Py_ssize_t k, ty, tx, y, x, ty_n = disp.shape[0], tx_n = disp.shape[1]
    cdef Py_ssize_t w = ref.shape[1], ah = alt.shape[0], aw = alt.shape[1]
    cdef double uy, ux, acc, e, yy
    cdef const float* rp
    cdef const float* ap
    if oy.shape[0] != ty_n or ox.shape[0] != tx_n or disp.shape[2] != 2 \
            or out.shape[0] != ty_n or out.shape[1] != tx_n:
        raise ValueError("tile grid and outputs of different shapes")
    if ty_n * tx_n == 0:
        return
    rp = &ref[0, 0]
    ap = &alt[0, 0]
    for k in prange(ty_n * tx_n, nogil=True, schedule="static"):
        ty = k // tx_n
        tx = k - ty * tx_n
        uy = <double>disp[ty, tx, 0] + pad
        ux = <double>disp[ty, tx, 1] + pad
        acc = 0.0
        for y in range(oy[ty], oy[ty] + t):
            yy = y + uy
            for x in range(ox[tx], ox[tx] + t):
                e = _bilinear(ap, ah, aw, yy, x + ux) - rp[y * w + x]
                acc = acc + e * e
        out[ty, tx] = acc / (t * t)
