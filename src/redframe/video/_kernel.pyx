"""Compiled kernels of :mod:`redframe.video.kernel`: Y'CbCr codes -> R'G'B' -> baked 3D LUT
(tetrahedral, ``redframe.looks._fast.tetra``, the still look's interpolation) -> BT.709
Y'CbCr codes, per chroma block, row blocks in parallel; and the 8-bit route's 2^24-entry
table (built with the same per-pixel function) with its one-gather-a-pixel apply.

8-, 10-, 12- and 16-bit planes share one implementation: the code types are fused
(uint8_t / uint16_t, in and out independently), the per-pixel mathematics is one inline
function (:c:func:`_pixel`) that the frame kernel and the table build both call.
"""

from cython.parallel cimport prange
from libc.stdint cimport int32_t, uint8_t, uint16_t

from redframe.looks._fast cimport Tetra, tetra


ctypedef fused code_in:
    uint8_t
    uint16_t

ctypedef fused code_out:
    uint8_t
    uint16_t


cdef struct Coefs:
    # input Y'CbCr -> R'G'B' (double, as the numba kernel promoted them)
    double cr_r, cb_g, cr_g, cb_b
    # output R'G'B' -> Y'CbCr: luma weights and chroma normalisers
    double lr, lg, lb, ncb, ncr
    float scale  # n - 1


cdef Coefs _coefs(const float[::1] pin, const float[::1] pout, Py_ssize_t n):
    cdef double kr = pin[4], kb = pin[5], lr = pout[4], lb = pout[5]
    cdef double kg = 1.0 - kr - kb
    cdef Coefs c
    c.cr_r = 2.0 * (1.0 - kr)
    c.cb_b = 2.0 * (1.0 - kb)
    c.cb_g = -c.cb_b * kb / kg
    c.cr_g = -c.cr_r * kr / kg
    c.lr = lr
    c.lb = lb
    c.lg = 1.0 - lr - lb
    c.ncb = 1.0 / (2.0 * (1.0 - lb))
    c.ncr = 1.0 / (2.0 * (1.0 - lr))
    c.scale = <float>(n - 1)
    return c


cdef inline double _clamp(double v, double hi) noexcept nogil:
    v = v if v > 0.0 else 0.0
    return v if v < hi else hi


cdef inline Tetra _pixel(Coefs c, const float* lut, Py_ssize_t n, double yy, double cb,
                         double cr) noexcept nogil:
    """Normalised input (Y' in [0, 1], Cb/Cr in [-0.5, 0.5]) -> (Y', Cb, Cr) normalised
    output of the LUT: R'G'B' clamped to [0, 1] on the lattice, tetrahedral, BT.709-style
    luma and colour differences with the output's coefficients."""
    cdef double r = yy + c.cr_r * cr
    cdef double g = yy + c.cb_g * cb + c.cr_g * cr
    cdef double b = yy + c.cb_b * cb
    cdef Tetra o = tetra(lut, _clamp(r, 1.0) * c.scale, _clamp(g, 1.0) * c.scale,
                         _clamp(b, 1.0) * c.scale, n)
    cdef Tetra q
    q.r = c.lr * o.r + c.lg * o.g + c.lb * o.b
    q.g = (o.b - q.r) * c.ncb
    q.b = (o.r - q.r) * c.ncr
    return q


# The per-block-row functions take planes as (typed base pointer, byte strides) by value:
# no memoryview struct to reload after each store (a uint8 store may alias anything).

cdef inline const char* _at(const void* base, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t i,
                            Py_ssize_t j) noexcept nogil:
    return <const char*>base + i * s0 + j * s1


cdef struct Codes:
    # input (offset, 1 / scale) of luma and chroma; output offsets, scales, max code
    float yoff, coff, zoff, zsc, doff, dsc, top
    double inv_y, inv_c


cdef Codes _codes(const float[::1] pin, const float[::1] pout):
    """The code offsets and scales of ``pin`` / ``pout`` (see :func:`frame`)."""
    cdef Codes k
    k.yoff = pin[0]
    k.coff = pin[2]
    k.inv_y = 1.0 / pin[1]
    k.inv_c = 1.0 / pin[3]
    k.zoff = pout[0]
    k.zsc = pout[1]
    k.doff = pout[2]
    k.dsc = pout[3]
    k.top = pout[6]
    return k


cdef void _frame_row(Py_ssize_t bi, const code_in* yi, Py_ssize_t yi0, Py_ssize_t yi1,
                     const code_in* ui, Py_ssize_t ui0, Py_ssize_t ui1,
                     const code_in* vi, Py_ssize_t vi0, Py_ssize_t vi1,
                     code_out* yo, Py_ssize_t yo0, Py_ssize_t yo1,
                     code_out* uo, Py_ssize_t uo0, Py_ssize_t uo1,
                     code_out* vo, Py_ssize_t vo0, Py_ssize_t vo1,
                     Py_ssize_t wc, Py_ssize_t h, Py_ssize_t w, Py_ssize_t sx, Py_ssize_t sy,
                     Coefs c, Codes k, const float* lut, Py_ssize_t n) noexcept nogil:
    """Chroma block row ``bi`` of :func:`frame`."""
    cdef Py_ssize_t bj, di, dj, i, j, count
    cdef double cb, cr, acc_b, acc_r, yy
    cdef float inv
    cdef Tetra o
    for bj in range(wc):
        cb = ((<const code_in*>_at(ui, ui0, ui1, bi, bj))[0] - k.coff) * k.inv_c
        cr = ((<const code_in*>_at(vi, vi0, vi1, bi, bj))[0] - k.coff) * k.inv_c
        acc_b = 0.0
        acc_r = 0.0
        count = 0
        for di in range(sy):
            i = bi * sy + di
            if i >= h:
                break
            for dj in range(sx):
                j = bj * sx + dj
                if j >= w:
                    break
                yy = (<float>(<const code_in*>_at(yi, yi0, yi1, i, j))[0] - k.yoff) * k.inv_y
                o = _pixel(c, lut, n, yy, cb, cr)
                acc_b += o.g
                acc_r += o.b
                count += 1
                (<code_out*>_at(yo, yo0, yo1, i, j))[0] = <code_out>_clamp(
                    o.r * k.zsc + k.zoff + <float>0.5, k.top)
        if count == 0:
            continue
        inv = <float>1.0 / <float>count
        (<code_out*>_at(uo, uo0, uo1, bi, bj))[0] = <code_out>_clamp(
            acc_b * inv * k.dsc + k.doff + <float>0.5, k.top)
        (<code_out*>_at(vo, vo0, vo1, bi, bj))[0] = <code_out>_clamp(
            acc_r * inv * k.dsc + k.doff + <float>0.5, k.top)


def frame(const code_in[:, :] yi, const code_in[:, :] ui, const code_in[:, :] vi,
          code_out[:, :] yo, code_out[:, :] uo, code_out[:, :] vo, const float[::1] lut,
          Py_ssize_t n, Py_ssize_t sx, Py_ssize_t sy, const float[::1] pin,
          const float[::1] pout):
    """One frame: each (sx x sy) chroma block read once, its pixels through :c:func:`_pixel`,
    luma rounded per pixel, chroma the block's mean, rounded; chroma block rows in parallel.
    ``pin`` = (y off, y scale, c off, c scale, Kr, Kb), ``pout`` the same + max code."""
    cdef Coefs c = _coefs(pin, pout, n)
    cdef Codes k = _codes(pin, pout)
    cdef Py_ssize_t hc = ui.shape[0], wc = ui.shape[1], h = yi.shape[0], w = yi.shape[1]
    cdef Py_ssize_t bi
    if hc == 0 or wc == 0 or h == 0 or w == 0:
        return
    if vi.shape[0] < hc or vi.shape[1] < wc or uo.shape[0] < hc or uo.shape[1] < wc \
            or vo.shape[0] < hc or vo.shape[1] < wc or yo.shape[0] < h or yo.shape[1] < w:
        raise ValueError("output planes smaller than the input's")
    cdef const code_in* py = &yi[0, 0]
    cdef const code_in* pu = &ui[0, 0]
    cdef const code_in* pv = &vi[0, 0]
    cdef code_out* qy = &yo[0, 0]
    cdef code_out* qu = &uo[0, 0]
    cdef code_out* qv = &vo[0, 0]
    cdef const float* plut = &lut[0]
    for bi in prange(hc, nogil=True, schedule="static"):
        _frame_row(bi, py, yi.strides[0], yi.strides[1], pu, ui.strides[0], ui.strides[1],
                   pv, vi.strides[0], vi.strides[1], qy, yo.strides[0], yo.strides[1],
                   qu, uo.strides[0], uo.strides[1], qv, vo.strides[0], vo.strides[1],
                   wc, h, w, sx, sy, c, k, plut, n)


cdef void _table_cell(Py_ssize_t u, Py_ssize_t v, uint8_t* table, Coefs c, Codes k,
                      float inv_ysc, float inv_csc, float coff, const float* lut,
                      Py_ssize_t n) noexcept nogil:
    """table[u, v] (the 256 luma codes of one chroma pair) of :func:`build_table8`."""
    cdef Py_ssize_t y
    cdef float cb, cr, yy
    cdef uint8_t* e
    cdef Tetra o
    # the table's inputs are float32, times the float32 reciprocal (the frame kernel's
    # are double): what the numba build computed (its fastmath's reciprocal), bit for bit
    cb = (<float>u - coff) * inv_csc
    cr = (<float>v - coff) * inv_csc
    e = table + 3 * 256 * (256 * u + v)
    for y in range(256):
        yy = (<float>y - k.yoff) * inv_ysc
        o = _pixel(c, lut, n, yy, cb, cr)
        e[3 * y] = <uint8_t>_clamp(o.r * k.zsc + k.zoff + <float>0.5, k.top)
        e[3 * y + 1] = <uint8_t>_clamp(o.g * k.dsc + k.doff + <float>0.5, k.top)
        e[3 * y + 2] = <uint8_t>_clamp(o.b * k.dsc + k.doff + <float>0.5, k.top)


def build_table8(uint8_t[:, :, :, ::1] table, const float[::1] lut, Py_ssize_t n,
                 const float[::1] pin, const float[::1] pout):
    """table[cb, cr, y] = (Y', Cb, Cr) output codes of the 8-bit input codes (y, cb, cr):
    :c:func:`_pixel` at all 2^24 inputs, each rounded (as :func:`frame` rounds luma)."""
    cdef Coefs c = _coefs(pin, pout, n)
    cdef Codes k = _codes(pin, pout)
    cdef Py_ssize_t u, v
    if table.shape[0] != 256 or table.shape[1] != 256 or table.shape[2] != 256 \
            or table.shape[3] != 3:
        raise ValueError("the table is (256, 256, 256, 3)")
    cdef float inv_ysc = <float>1.0 / pin[1], inv_csc = <float>1.0 / pin[3], coff = pin[2]
    cdef uint8_t* pt = &table[0, 0, 0, 0]
    cdef const float* plut = &lut[0]
    for u in prange(256, nogil=True, schedule="static"):
        for v in range(256):
            _table_cell(u, v, pt, c, k, inv_ysc, inv_csc, coff, plut, n)


def fill_table8(const uint8_t[:, :] ui, const uint8_t[:, :] vi, uint8_t[:, :, :, ::1] table,
                uint8_t[::1] built, int32_t[::1] todo, const float[::1] lut, Py_ssize_t n,
                const float[::1] pin, const float[::1] pout):
    """The entries of :func:`build_table8`'s table that a frame's chroma planes (``ui``,
    ``vi``) need and ``built`` (65536 flags, one per chroma pair) does not have yet: the
    pairs are listed in one serial pass over the chroma planes (flags set), then their
    256-entry rows are computed in parallel. Returns how many rows were built. The table
    thus fills as a clip shows colours, instead of all 2^24 entries before its first frame
    (a clip uses a few thousand of the 65536 chroma pairs); an entry is the same whether
    built here or by :func:`build_table8`. ``todo``: scratch of 65536 int32."""
    cdef Coefs c = _coefs(pin, pout, n)
    cdef Codes k = _codes(pin, pout)
    cdef Py_ssize_t hc = ui.shape[0], wc = ui.shape[1], bi, bj, t, m = 0, key
    if table.shape[0] != 256 or table.shape[1] != 256 or table.shape[2] != 256 \
            or table.shape[3] != 3:
        raise ValueError("the table is (256, 256, 256, 3)")
    if built.shape[0] != 65536 or todo.shape[0] != 65536:
        raise ValueError("built and todo hold 65536 entries")
    if vi.shape[0] < hc or vi.shape[1] < wc:
        raise ValueError("the Cr plane is smaller than the Cb plane")
    cdef float inv_ysc = <float>1.0 / pin[1], inv_csc = <float>1.0 / pin[3], coff = pin[2]
    cdef uint8_t* pt = &table[0, 0, 0, 0]
    cdef const float* plut = &lut[0]
    cdef uint8_t* flags = &built[0]
    cdef int32_t* rows = &todo[0]
    with nogil:
        for bi in range(hc):
            for bj in range(wc):
                key = 256 * <Py_ssize_t>ui[bi, bj] + <Py_ssize_t>vi[bi, bj]
                if flags[key] == 0:
                    flags[key] = 1
                    rows[m] = <int32_t>key
                    m = m + 1
    if m == 0:
        return 0
    for t in prange(m, nogil=True, schedule="dynamic", chunksize=16):
        _table_cell(rows[t] >> 8, rows[t] & 255, pt, c, k, inv_ysc, inv_csc, coff, plut, n)
    return m


cdef void _apply8_row(Py_ssize_t bi, const uint8_t* yi, Py_ssize_t yi0, Py_ssize_t yi1,
                      const uint8_t* ui, Py_ssize_t ui0, Py_ssize_t ui1,
                      const uint8_t* vi, Py_ssize_t vi0, Py_ssize_t vi1,
                      uint8_t* yo, Py_ssize_t yo0, Py_ssize_t yo1,
                      uint8_t* uo, Py_ssize_t uo0, Py_ssize_t uo1,
                      uint8_t* vo, Py_ssize_t vo0, Py_ssize_t vo1, const uint8_t* table,
                      Py_ssize_t wc, Py_ssize_t h, Py_ssize_t w, Py_ssize_t sx,
                      Py_ssize_t sy) noexcept nogil:
    """Chroma block row ``bi`` of :func:`apply_table8`."""
    cdef Py_ssize_t bj, di, dj, i, j, count, acc_b, acc_r
    cdef const uint8_t* row
    cdef const uint8_t* e
    for bj in range(wc):
        row = table + 3 * 256 * (256 * <Py_ssize_t>(<const uint8_t*>_at(ui, ui0, ui1, bi, bj))[0]
                                 + <Py_ssize_t>(<const uint8_t*>_at(vi, vi0, vi1, bi, bj))[0])
        acc_b = 0
        acc_r = 0
        count = 0
        for di in range(sy):
            i = bi * sy + di
            if i >= h:
                break
            for dj in range(sx):
                j = bj * sx + dj
                if j >= w:
                    break
                e = row + 3 * <Py_ssize_t>(<const uint8_t*>_at(yi, yi0, yi1, i, j))[0]
                (<uint8_t*>_at(yo, yo0, yo1, i, j))[0] = e[0]
                acc_b += e[1]
                acc_r += e[2]
                count += 1
        if count == 0:
            continue
        (<uint8_t*>_at(uo, uo0, uo1, bi, bj))[0] = <uint8_t>((acc_b + count // 2) // count)
        (<uint8_t*>_at(vo, vo0, vo1, bi, bj))[0] = <uint8_t>((acc_r + count // 2) // count)


def apply_table8(const uint8_t[:, :] yi, const uint8_t[:, :] ui, const uint8_t[:, :] vi,
                 uint8_t[:, :] yo, uint8_t[:, :] uo, uint8_t[:, :] vo,
                 const uint8_t[:, :, :, ::1] table, Py_ssize_t sx, Py_ssize_t sy):
    """8-bit frame through :func:`build_table8`'s table: one gather per pixel; the block's
    chroma is the rounded mean of its pixels' (integer)."""
    cdef Py_ssize_t hc = ui.shape[0], wc = ui.shape[1], h = yi.shape[0], w = yi.shape[1]
    cdef Py_ssize_t bi
    if hc == 0 or wc == 0 or h == 0 or w == 0:
        return
    if vi.shape[0] < hc or vi.shape[1] < wc or uo.shape[0] < hc or uo.shape[1] < wc \
            or vo.shape[0] < hc or vo.shape[1] < wc or yo.shape[0] < h or yo.shape[1] < w:
        raise ValueError("output planes smaller than the input's")
    if table.shape[0] != 256 or table.shape[1] != 256 or table.shape[2] != 256 \
            or table.shape[3] != 3:
        raise ValueError("the table is (256, 256, 256, 3)")
    cdef const uint8_t* py = &yi[0, 0]
    cdef const uint8_t* pu = &ui[0, 0]
    cdef const uint8_t* pv = &vi[0, 0]
    cdef uint8_t* qy = &yo[0, 0]
    cdef uint8_t* qu = &uo[0, 0]
    cdef uint8_t* qv = &vo[0, 0]
    cdef const uint8_t* pt = &table[0, 0, 0, 0]
    for bi in prange(hc, nogil=True, schedule="static"):
        _apply8_row(bi, py, yi.strides[0], yi.strides[1], pu, ui.strides[0], ui.strides[1],
                    pv, vi.strides[0], vi.strides[1], qy, yo.strides[0], yo.strides[1],
                    qu, uo.strides[0], uo.strides[1], qv, vo.strides[0], vo.strides[1],
                    pt, wc, h, w, sx, sy)
