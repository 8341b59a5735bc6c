"""Compiled kernels of :mod:`redframe.isp.fused` (Cython + OpenMP, ahead of time).

The per-pixel formulas are not repeated here: the kernels inline the C functions of
``_pixel.pxd``, the same definitions the NumPy reference stages run over arrays
(``_pixel.pyx``). Types follow what the numba kernels computed: float32 rows, with the
highlight repair, the colour matrix after it, the tone curve and gamut compression in
double where numba promoted them. Every kernel releases the GIL; parallel loops run over
rows (OpenMP, :mod:`redframe._threads` sets the count).
"""

from cython.parallel cimport parallel, prange, threadid
from libc.math cimport exp2, floor, floorf, log2, pow
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
cimport openmp

from redframe.color._dither cimport hash32, row_key, tpdf
from redframe.isp._pixel cimport (
    RF_GAMUT_HIGH,
    RF_GAMUT_LOW,
    RF_S_INV_GAMMA,
    code_value,
    denoise_px,
    highlight_blend,
    maxd,
    maxf,
    minf,
    signed_sqrt,
    soft_threshold,
    srgb_from_root,
)
from redframe.isp._pixel_lanes cimport (
    RF_LANES,
    Block,
    Lanes,
    _bits_log2,
    _exp2,
    block,
    flagged_row,
    lanes_init,
)

ctypedef fused mosaic_t:
    uint16_t
    float

ctypedef fused code_t:
    uint8_t
    uint16_t

# restrict-qualified row pointers (see the finish pass)
cdef extern from *:
    ctypedef float* rfloat "float * __restrict__"
    ctypedef const float* rcfloat "const float * __restrict__"
    ctypedef uint8_t* ruint8 "uint8_t * __restrict__"
    ctypedef double* rdouble "double * __restrict__"
    ctypedef const double* rcdouble "const double * __restrict__"

# ----------------------------------------------------------------------------- levels, clip


cdef inline void _levels_row(const mosaic_t* m, float* o, Py_ssize_t w, float b0, float b1,
                             float s0, float s1) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(w // 2):
        o[2 * j] = (<float>m[2 * j] - b0) * s0
        o[2 * j + 1] = (<float>m[2 * j + 1] - b1) * s1
    if w & 1:
        o[w - 1] = (<float>m[w - 1] - b0) * s0


def levels_wb(const mosaic_t[:, ::1] mosaic, const float[:, ::1] black,
              const float[:, ::1] scale, Py_ssize_t row0, float[:, ::1] out):
    """out = (mosaic - black[site]) * scale[site], the site from the full-frame row
    ``i + row0`` and the column."""
    cdef Py_ssize_t h = mosaic.shape[0], w = mosaic.shape[1], i, sy
    for i in prange(h, nogil=True, schedule="static"):
        sy = (i + row0) & 1
        _levels_row(&mosaic[i, 0], &out[i, 0], w, black[sy, 0], black[sy, 1],
                    scale[sy, 0], scale[sy, 1])


cdef inline float _clip_row(const float* px, float* fr, Py_ssize_t w, float k0, float k1,
                            float k2) noexcept nogil:
    cdef Py_ssize_t j
    cdef float m = 0.0, f0, f1, f2
    for j in range(w):
        f0 = px[3 * j] * k0
        f1 = px[3 * j + 1] * k1
        f2 = px[3 * j + 2] * k2
        fr[3 * j] = f0
        fr[3 * j + 1] = f1
        fr[3 * j + 2] = f2
        m = maxf(m, maxf(f0, maxf(f1, f2)))
    return m


cdef inline float _clip_max_row(const float* px, Py_ssize_t w, float k0, float k1,
                                float k2) noexcept nogil:
    cdef Py_ssize_t j
    cdef float m = 0.0
    for j in range(w):
        m = maxf(m, maxf(px[3 * j] * k0, maxf(px[3 * j + 1] * k1, px[3 * j + 2] * k2)))
    return m


def clip_row_max(const float[:, :, ::1] rgb, const float[::1] gain,
                 const float[::1] inv_clip, float[::1] row_max):
    """The row maxima of :func:`clip_fraction`'s largest channel, without its fractions
    (most pictures have nothing near clipping: no frame-sized array for them)."""
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i
    cdef float k0 = gain[0] * inv_clip[0], k1 = gain[1] * inv_clip[1]
    cdef float k2 = gain[2] * inv_clip[2]
    for i in prange(h, nogil=True, schedule="static"):
        row_max[i] = _clip_max_row(&rgb[i, 0, 0], w, k0, k1, k2)


def clip_fraction(const float[:, :, ::1] rgb, const float[::1] gain, const float[::1] inv_clip,
                  float[:, :, ::1] frac, float[::1] row_max):
    """frac = rgb * gain / clip per pixel and channel (how close to clipping), and the row
    maxima of its largest channel."""
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i
    cdef float k0 = gain[0] * inv_clip[0], k1 = gain[1] * inv_clip[1]
    cdef float k2 = gain[2] * inv_clip[2]
    for i in prange(h, nogil=True, schedule="static"):
        row_max[i] = _clip_row(&rgb[i, 0, 0], &frac[i, 0, 0], w, k0, k1, k2)


# ----------------------------------------------------------------------------- matrix pass


cdef inline (double, double, double) _repair_matrix(const float* px, const float* gain,
                                                    const float* wpx, const float* rho,
                                                    bint reconstruct,
                                                    const float* m) noexcept nogil:
    """White balance, highlight repair and the colour matrix for one pixel (in double after
    the repair, as numba typed it)."""
    cdef float rf = px[0] * gain[0]
    cdef float gf = px[1] * gain[1]
    cdef float bf = px[2] * gain[2]
    cdef double r = rf, g = gf, b = bf
    cdef float w0, w1, w2
    if reconstruct:
        w0 = wpx[0]
        w1 = wpx[1]
        w2 = wpx[2]
        if maxf(w0, maxf(w1, w2)) > 0:
            r, g, b = highlight_blend(rf, gf, bf, w0, w1, w2, rho)
    return (m[0] * r + m[1] * g + m[2] * b,
            m[3] * r + m[4] * g + m[5] * b,
            m[6] * r + m[7] * g + m[8] * b)


cdef inline void _matrix_row(rcfloat px, rdouble t, Py_ssize_t w, const float* gain,
                             const float* m) noexcept nogil:
    """:func:`_repair_matrix` of every pixel of a row without the repair (branch-free, so it
    vectorises), in double into the scratch row ``t``."""
    cdef Py_ssize_t j
    cdef float g0 = gain[0], g1 = gain[1], g2 = gain[2]
    cdef double m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5]
    cdef double m6 = m[6], m7 = m[7], m8 = m[8]
    cdef double r, g, b
    for j in range(w):
        r = px[3 * j] * g0
        g = px[3 * j + 1] * g1
        b = px[3 * j + 2] * g2
        t[3 * j] = m0 * r + m1 * g + m2 * b
        t[3 * j + 1] = m3 * r + m4 * g + m5 * b
        t[3 * j + 2] = m6 * r + m7 * g + m8 * b


cdef inline void _matrix_row_f(const float* px, float* o, Py_ssize_t w, const float* gain,
                               const float* m) noexcept nogil:
    """:func:`_matrix_row` straight into float ``o`` (which may be ``px``: each pixel is read
    before it is written)."""
    cdef Py_ssize_t j
    cdef float g0 = gain[0], g1 = gain[1], g2 = gain[2]
    cdef double m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5]
    cdef double m6 = m[6], m7 = m[7], m8 = m[8]
    cdef double r, g, b
    for j in range(w):
        r = px[3 * j] * g0
        g = px[3 * j + 1] * g1
        b = px[3 * j + 2] * g2
        o[3 * j] = <float>(m0 * r + m1 * g + m2 * b)
        o[3 * j + 1] = <float>(m3 * r + m4 * g + m5 * b)
        o[3 * j + 2] = <float>(m6 * r + m7 * g + m8 * b)


cdef inline void _repair_row(const float* px, const float* wrow, double* t, Py_ssize_t w,
                             const float* gain, const float* rho,
                             const float* m) noexcept nogil:
    """The pixels of a row near their clip again, with the highlight repair."""
    cdef Py_ssize_t j
    for j in range(w):
        if maxf(wrow[3 * j], maxf(wrow[3 * j + 1], wrow[3 * j + 2])) > 0:
            t[3 * j], t[3 * j + 1], t[3 * j + 2] = _repair_matrix(
                &px[3 * j], gain, &wrow[3 * j], rho, True, m)


cdef inline void _to_float(rcdouble t, rfloat o, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(n):
        o[k] = <float>t[k]


def highlights_matrix(const float[:, :, ::1] rgb, const float[::1] gain,
                      const float[:, :, ::1] weight, const float[:, ::1] rho, bint reconstruct,
                      const float[:, ::1] m, float[:, :, ::1] out):
    """out = m @ repair(rgb * gain) per pixel (``out`` may be ``rgb``: each row is read
    whole before it is written)."""
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i
    cdef float q[9]
    cdef float mm[9]
    cdef const float* prgb
    cdef const float* pw = &weight[0, 0, 0]
    cdef const float* pg = &gain[0]
    cdef float* pout
    cdef double* t
    cdef int failed = 0
    for i in range(9):
        q[i] = rho[i // 3, i % 3]
        mm[i] = m[i // 3, i % 3]
    if h == 0 or w == 0:
        return
    prgb = &rgb[0, 0, 0]
    pout = &out[0, 0, 0]
    t = NULL
    with nogil, parallel():
        t = <double*>malloc(3 * w * sizeof(double))
        for i in prange(h, schedule="static"):
            if not reconstruct:
                _matrix_row_f(prgb + 3 * w * i, pout + 3 * w * i, w, pg, mm)
            elif t == NULL:
                failed += 1
            else:
                _matrix_row(prgb + 3 * w * i, t, w, pg, mm)
                _repair_row(prgb + 3 * w * i, pw + 3 * w * i, t, w, pg, q, mm)
                _to_float(t, pout + 3 * w * i, 3 * w)
        free(t)
    if failed:
        raise MemoryError()


cdef inline void _sqrt_row(rdouble t, rfloat z, rfloat y, Py_ssize_t w, double l0, double l1,
                           double l2) noexcept nogil:
    """t = sign(t) sqrt|t| (double, kept for the binning), into ``z``, its luma into ``y``."""
    cdef Py_ssize_t j
    cdef double zr, zg, zb
    for j in range(w):
        zr = signed_sqrt(t[3 * j])
        zg = signed_sqrt(t[3 * j + 1])
        zb = signed_sqrt(t[3 * j + 2])
        t[3 * j] = zr
        t[3 * j + 1] = zg
        t[3 * j + 2] = zb
        z[3 * j] = <float>zr
        z[3 * j + 1] = <float>zg
        z[3 * j + 2] = <float>zb
        y[j] = <float>(l0 * zr + l1 * zg + l2 * zb)


cdef inline void _pair_sum_row(rcdouble t, rfloat acc, Py_ssize_t w) noexcept nogil:
    """acc += the row's pixel pairs, in their order (float after each add, as numba's
    ``acc[jj] += z`` with z in double)."""
    cdef Py_ssize_t jj, k
    for jj in range(w // 2):
        for k in range(3):
            acc[3 * jj + k] = <float>(<float>(acc[3 * jj + k] + t[6 * jj + k])
                                      + t[6 * jj + 3 + k])
    if w & 1:
        for k in range(3):
            acc[3 * (w // 2) + k] = <float>(acc[3 * (w // 2) + k] + t[3 * (w - 1) + k])


cdef void _domain_rows(const float* rgb, Py_ssize_t h, Py_ssize_t w, Py_ssize_t i2,
                       Py_ssize_t wl, const float* gain, const float* weight,
                       const float* rho, bint reconstruct, const float* m, const float* lum,
                       float* z, float* y, float* z_low, float* acc,
                       double* t) noexcept nogil:
    cdef int rows = 2 if 2 * i2 + 1 < h else 1
    cdef Py_ssize_t i, jj, k
    cdef float scale, edge
    for k in range(3 * wl):
        acc[k] = 0.0
    for i in range(2 * i2, 2 * i2 + rows):
        _matrix_row(rgb + 3 * w * i, t, w, gain, m)
        if reconstruct:
            _repair_row(rgb + 3 * w * i, weight + 3 * w * i, t, w, gain, rho, m)
        _sqrt_row(t, z + 3 * w * i, y + w * i, w, lum[0], lum[1], lum[2])
        _pair_sum_row(t, acc, w)
    scale = <float>(0.25 if rows == 2 else 0.5)
    for jj in range(wl):
        edge = <float>2.0 if (w % 2 == 1 and jj == wl - 1) else <float>1.0
        for k in range(3):
            z_low[(i2 * wl + jj) * 3 + k] = acc[3 * jj + k] * scale * edge


def denoise_domain(const float[:, :, ::1] rgb, const float[::1] gain,
                   const float[:, :, ::1] weight, const float[:, ::1] rho, bint reconstruct,
                   const float[:, ::1] m, const float[::1] lum, float[:, :, ::1] z,
                   float[:, ::1] y, float[:, :, ::1] z_low):
    """Per pixel: the matrix pass, then sign(x) sqrt|x| into ``z``, its luma (weights
    ``lum``) into ``y``, and ``z`` binned 2x2 into ``z_low`` (an odd last row/column counts
    twice)."""
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], hl = z_low.shape[0]
    cdef Py_ssize_t wl = z_low.shape[1], i2
    cdef float q[9]
    cdef float mm[9]
    cdef float lw[3]
    cdef float* acc
    cdef double* t
    cdef int i
    for i in range(9):
        q[i] = rho[i // 3, i % 3]
        mm[i] = m[i // 3, i % 3]
    for i in range(3):
        lw[i] = lum[i]
    if h == 0 or w == 0:
        return
    cdef const float* prgb = &rgb[0, 0, 0]
    cdef const float* pw = &weight[0, 0, 0]
    cdef float* pz = &z[0, 0, 0]
    cdef float* py = &y[0, 0]
    cdef float* pl = &z_low[0, 0, 0]
    cdef const float* pg = &gain[0]
    cdef int failed = 0
    acc = NULL
    t = NULL
    with nogil, parallel():
        acc = <float*>malloc(3 * wl * sizeof(float))
        t = <double*>malloc(3 * w * sizeof(double))
        for i2 in prange(hl, schedule="static"):
            if acc == NULL or t == NULL:
                failed += 1
            else:
                _domain_rows(prgb, h, w, i2, wl, pg, pw, q, reconstruct, mm, lw, pz, py, pl,
                             acc, t)
        free(acc)
        free(t)
    if failed:
        raise MemoryError()


# ----------------------------------------------------------------------------- finish pass


cdef inline void _encode_row(rcfloat x, rfloat out, Py_ssize_t n) noexcept nogil:
    """sRGB encoding (IEC 61966-2-1) of a row into ``out``: x**(1/2.4) = 2**(log2(x) / 2.4)
    from the IEEE-754 bits (|rel. error| < 2e-6; a lookup table needs a gather per
    value)."""
    cdef Py_ssize_t j
    cdef float v
    for j in range(n):
        v = minf(maxf(x[j], <float>0.0), <float>1.0)
        out[j] = srgb_from_root(v, _exp2(_bits_log2(v) * RF_S_INV_GAMMA))


cdef struct FinishArgs:
    const float* rgb
    Py_ssize_t h
    Py_ssize_t w
    const float* yz
    bint dn
    bint sqrt_in
    const float* ca
    const float* cb
    Py_ssize_t gh
    Py_ssize_t nc
    float chroma_s
    float luma_s
    float bias[3]
    const int64_t* cy0
    const int64_t* cy1
    const float* cfy
    const int64_t* cx0
    const int64_t* cx1
    const float* cfx
    const float* ta
    const float* tb
    Py_ssize_t th
    const int64_t* ty0
    const int64_t* ty1
    const float* tfy
    float lim0
    float lim1
    bint tone_on
    double tv[6]
    float mout[9]
    const double* gtab
    float lum[3]
    float w709[3]
    float* out
    bint want_luma
    float* luma
    float floor
    float special_above
    float glow
    float ghigh
    bint linear_below
    bint want_gain      # the HDR rendition's gain (redframe.isp.hdr.gain_rows), per pixel
    float* gain         # (H, W) out
    const double* glf   # log2 F and log2 H on a uniform log2 m grid of gn values
    const double* glh
    Py_ssize_t gn
    double g_m0         # the knee
    double g_lo         # log2 m of the grid's first value
    double g_inv        # 1 / the grid's log2 step
    Lanes lanes         # the flagged pixels' constants (_pixel_lanes.pxd)


# Row phases of the finish pass. Their row pointers are restrict-qualified (the rows are
# distinct scratch rows): without it gcc gives up vectorising loops over more than a few
# streams (its limit on run-time alias checks).

cdef inline void _dn_row(rcfloat px, rcfloat yrow, rcfloat cx, rfloat rr, rfloat gg,
                         rfloat bb, Py_ssize_t w, bint sqrt_in, float cs, float ls,
                         float bias0, float bias1, float bias2) noexcept nogil:
    cdef Py_ssize_t j
    cdef float r, g, b
    if sqrt_in:  # already sign(x) sqrt|x| (see denoise_domain)
        for j in range(w):
            r, g, b = denoise_px(px[3 * j], px[3 * j + 1], px[3 * j + 2], yrow[j],
                                 cx[j], cx[w + j], cx[2 * w + j], cx[3 * w + j],
                                 cx[4 * w + j], cx[5 * w + j], cx[6 * w + j],
                                 cx[7 * w + j], cs, ls)
            rr[j] = r + bias0
            gg[j] = g + bias1
            bb[j] = b + bias2
    else:
        for j in range(w):
            r, g, b = denoise_px(signed_sqrt(px[3 * j]), signed_sqrt(px[3 * j + 1]),
                                 signed_sqrt(px[3 * j + 2]), yrow[j],
                                 cx[j], cx[w + j], cx[2 * w + j], cx[3 * w + j],
                                 cx[4 * w + j], cx[5 * w + j], cx[6 * w + j],
                                 cx[7 * w + j], cs, ls)
            rr[j] = r + bias0
            gg[j] = g + bias1
            bb[j] = b + bias2


cdef inline void _split_row(rcfloat px, rfloat rr, rfloat gg, rfloat bb,
                            Py_ssize_t w) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(w):
        rr[j] = px[3 * j]
        gg[j] = px[3 * j + 1]
        bb[j] = px[3 * j + 2]


cdef inline void _ltm_row(rfloat rr, rfloat gg, rfloat bb, rcfloat ta0, rcfloat ta1,
                          rcfloat tb0, rcfloat tb1, float ft, Py_ssize_t w, float l0, float l1,
                          float l2, float lim0, float lim1) noexcept nogil:
    """The local tone map's gain, bit-level log2/exp2."""
    cdef Py_ssize_t j
    cdef float lv, ga, gb, gn
    for j in range(w):
        lv = maxf(l0 * rr[j] + l1 * gg[j] + l2 * bb[j], lim0)
        ga = ta0[j] + (ta1[j] - ta0[j]) * ft
        gb = tb0[j] + (tb1[j] - tb0[j]) * ft
        gn = _exp2(minf(ga * _bits_log2(lv) + gb, lim1))
        rr[j] *= gn
        gg[j] *= gn
        bb[j] *= gn


cdef inline void _flag_row(rcfloat rr, rcfloat gg, rcfloat bb, rfloat o0b, rfloat o1b,
                           rfloat o2b, ruint8 flag, Py_ssize_t w, const float* m,
                           float floor_, float special_above, float glow,
                           float ghigh) noexcept nogil:
    """The common case, branch-free so it vectorises: below the filmic shoulder with the
    default curve the tone map is max(x, 0), and most pixels are inside the gamut. Pixels
    that need more (shoulder, other curves, gamut compression) are flagged."""
    cdef Py_ssize_t j
    cdef float r, g, b, norm, o0, o1, o2, top
    cdef float m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5]
    cdef float m6 = m[6], m7 = m[7], m8 = m[8]
    for j in range(w):
        r = rr[j]
        g = gg[j]
        b = bb[j]
        norm = maxf(r, maxf(g, b))
        r = maxf(r, floor_)
        g = maxf(g, floor_)
        b = maxf(b, floor_)
        o0 = m0 * r + m1 * g + m2 * b
        o1 = m3 * r + m4 * g + m5 * b
        o2 = m6 * r + m7 * g + m8 * b
        top = maxf(o0, maxf(o1, o2))
        # gamut_near of _pixel.pxd, branch-free
        flag[j] = ((norm > special_above) | (top > ghigh)
                   | (minf(o0, minf(o1, o2)) < top * glow))
        o0b[j] = o0
        o1b[j] = o1
        o2b[j] = o2


cdef inline void _luma_row(rcfloat out0, rcfloat out1, rcfloat out2, rfloat lrow,
                           Py_ssize_t w, float l0, float l1, float l2) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(w):
        lrow[j] = l0 * out0[j] + l1 * out1[j] + l2 * out2[j]


cdef inline void _top_row(rcfloat rr, rcfloat gg, rcfloat bb, rfloat top,
                          Py_ssize_t w) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(w):
        top[j] = maxf(rr[j], maxf(gg[j], bb[j]))


cdef inline double _interp_log(const double* tab, Py_ssize_t n, double lo, double inv,
                               double x) noexcept nogil:
    """np.interp(x, grid, tab) on the uniform grid lo + k / inv (values clamped at both
    ends, as np.interp does)."""
    cdef double t = (x - lo) * inv
    cdef Py_ssize_t k
    if t <= 0.0:
        return tab[0]
    if t >= <double>(n - 1):
        return tab[n - 1]
    k = <Py_ssize_t>floor(t)
    return tab[k] + (tab[k + 1] - tab[k]) * (t - <double>k)


cdef inline void _gain_row(const FinishArgs* a, rcfloat rr, rcfloat gg, rcfloat bb,
                           rcfloat pre, rfloat g, Py_ssize_t w) noexcept nogil:
    """The HDR rendition's gain of a row (redframe.isp.hdr.gain_rows): from the largest
    component the tone curve gets (``rr, gg, bb``) and the same before the local tone map
    (``pre``). 1 wherever both are at or below the knee (most pixels: one compare)."""
    cdef Py_ssize_t j
    cdef float ms, mp
    cdef double m0 = a.g_m0, sd, pd, wt, mh, lh, lf
    for j in range(w):
        ms = maxf(rr[j], maxf(gg[j], bb[j]))
        mp = pre[j]
        if ms <= <float>m0 and mp <= <float>m0:
            g[j] = 1.0
            continue
        sd = maxd(<double>ms, 1e-12)
        pd = maxd(<double>mp, 1e-12)
        wt = log2(pd / m0)
        wt = 0.0 if wt < 0.0 else (1.0 if wt > 1.0 else wt)
        mh = sd * pow(maxd(pd / sd, 1.0), wt)
        if mh <= m0:
            g[j] = 1.0
            continue
        lh = _interp_log(a.glh, a.gn, a.g_lo, a.g_inv, log2(mh))
        lf = _interp_log(a.glf, a.gn, a.g_lo, a.g_inv, log2(sd))
        g[j] = <float>exp2(maxd(lh - lf, 0.0))


cdef void _finish_row(const FinishArgs* a, Py_ssize_t i, float* s,
                      uint8_t* flag) noexcept nogil:
    cdef Py_ssize_t w = a.w, nc = a.nc, gh = a.gh, j, k, x, q
    cdef float* cx = s              # 8 rows of w: the denoiser's coefficients per pixel
    cdef float* crow = s + 8 * w    # 8 rows of nc: the grid interpolated along y
    cdef float* rr = crow + 8 * nc
    cdef float* gg = rr + w
    cdef float* bb = gg + w
    cdef float* o0b = bb + w
    cdef float* o1b = o0b + w
    cdef float* o2b = o1b + w
    cdef float* pre = o2b + w       # the gain's: the largest component before the LTM
    cdef const float* px = a.rgb + i * w * 3
    cdef const float* ca = a.ca
    cdef const float* cb = a.cb
    cdef int64_t a0, a1, b0, b1
    cdef float fa, fb, lo, d
    cdef float* out0 = a.out + i * w
    cdef float* out1 = a.out + (a.h + i) * w
    cdef float* out2 = a.out + (2 * a.h + i) * w
    cdef const float* m = &a.mout[0]
    if a.dn:
        # interpolate the coefficient grids along y once per row; per pixel only along x
        a0 = a.cy0[i]
        a1 = a.cy1[i]
        fa = a.cfy[i]
        for k in range(4):
            for x in range(nc):
                crow[k * nc + x] = (ca[(k * gh + a0) * nc + x]
                                    + (ca[(k * gh + a1) * nc + x]
                                       - ca[(k * gh + a0) * nc + x]) * fa)
                crow[(4 + k) * nc + x] = (cb[(k * gh + a0) * nc + x]
                                          + (cb[(k * gh + a1) * nc + x]
                                             - cb[(k * gh + a0) * nc + x]) * fa)
        if w == 2 * nc:  # the 2x grid: pixels 2q+1, 2q+2 sit at 1/4, 3/4 of cell q
            for k in range(8):
                cx[k * w] = crow[k * nc]
                for q in range(nc - 1):
                    lo = crow[k * nc + q]
                    d = crow[k * nc + q + 1] - lo
                    cx[k * w + 2 * q + 1] = lo + <float>0.25 * d
                    cx[k * w + 2 * q + 2] = lo + <float>0.75 * d
                cx[k * w + w - 1] = crow[k * nc + nc - 1]
        else:
            for k in range(8):
                for j in range(w):
                    b0 = a.cx0[j]
                    b1 = a.cx1[j]
                    fb = a.cfx[j]
                    cx[k * w + j] = crow[k * nc + b0] + (crow[k * nc + b1] - crow[k * nc + b0]) * fb
        _dn_row(px, a.yz + i * w, cx, rr, gg, bb, w, a.sqrt_in, a.chroma_s, a.luma_s,
                a.bias[0], a.bias[1], a.bias[2])
    else:
        _split_row(px, rr, gg, bb, w)
    if a.want_gain:
        _top_row(rr, gg, bb, pre, w)
    if a.th > 0:
        _ltm_row(rr, gg, bb, a.ta + a.ty0[i] * w, a.ta + a.ty1[i] * w, a.tb + a.ty0[i] * w,
                 a.tb + a.ty1[i] * w, a.tfy[i], w, a.lum[0], a.lum[1], a.lum[2], a.lim0,
                 a.lim1)
    if a.want_gain:
        _gain_row(a, rr, gg, bb, pre, a.gain + i * w, w)
    _flag_row(rr, gg, bb, o0b, o1b, o2b, flag, w, m, a.floor, a.special_above, a.glow,
              a.ghigh)
    # the flagged pixels: tone_rgb, the output matrix and gamut_oklab, in float32 blocks
    # of lanes (_pixel_lanes.pxd)
    flagged_row(&a.lanes, rr, gg, bb, flag, o0b, o1b, o2b, w)
    _encode_row(o0b, out0, w)
    _encode_row(o1b, out1, w)
    _encode_row(o2b, out2, w)
    if a.want_luma:  # Rec.709 luma of the encoded row, for output sharpening
        _luma_row(out0, out1, out2, a.luma + i * w, w, a.w709[0], a.w709[1], a.w709[2])


def finish(const float[:, :, ::1] rgb, const float[:, ::1] yz, bint dn, bint sqrt_in,
           const float[:, :, ::1] ca, const float[:, :, ::1] cb, float chroma_s, float luma_s,
           const float[::1] bias, cmy, cmx, const float[:, ::1] ta, const float[:, ::1] tb,
           tmy, const float[::1] ltm_lim, bint tone_on, const double[::1] tv,
           const float[:, ::1] mout, const double[::1] gamut, float[:, :, ::1] out,
           bint want_luma, float[:, ::1] luma, const float[::1] lum, const float[::1] w709,
           bint want_gain=False, float[:, ::1] gain=None, const double[:, ::1] gtab=None,
           const double[::1] gpar=None):
    """Denoise -> local tone map -> tone curve -> output matrix and gamut -> sRGB encoding
    of every row of ``rgb`` (H, W, 3) into planar ``out`` (3, H, W); see fused.finish.
    With ``want_gain``, also the HDR rendition's gain into ``gain`` (H, W): ``gtab`` (2, n)
    holds log2 F and log2 H on the uniform grid of ``gpar`` = (knee, first log2 m,
    1 / log2 step) (redframe.isp.hdr.gain_rows, in double)."""
    cdef const int64_t[::1] cy0 = cmy[0], cy1 = cmy[1], cx0 = cmx[0], cx1 = cmx[1]
    cdef const int64_t[::1] ty0 = tmy[0], ty1 = tmy[1]
    cdef const float[::1] cfy = cmy[2], cfx = cmx[2], tfy = tmy[2]
    cdef FinishArgs a
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i, k
    cdef float* s
    cdef uint8_t* flag
    cdef int failed = 0
    a.rgb = &rgb[0, 0, 0]
    a.h = h
    a.w = w
    a.yz = &yz[0, 0]
    a.dn = dn
    a.sqrt_in = sqrt_in
    a.ca = &ca[0, 0, 0]
    a.cb = &cb[0, 0, 0]
    a.gh = ca.shape[1]
    a.nc = ca.shape[2]
    a.chroma_s = chroma_s
    a.luma_s = luma_s
    for k in range(3):
        a.bias[k] = bias[k]
        a.lum[k] = lum[k]
        a.w709[k] = w709[k]
    a.cy0 = &cy0[0]
    a.cy1 = &cy1[0]
    a.cfy = &cfy[0]
    a.cx0 = &cx0[0]
    a.cx1 = &cx1[0]
    a.cfx = &cfx[0]
    a.th = ta.shape[0]  # ta, tb: the local tone map's grid rows, already interpolated along x
    a.ta = &ta[0, 0] if a.th > 0 else NULL
    a.tb = &tb[0, 0] if a.th > 0 else NULL
    a.ty0 = &ty0[0]
    a.ty1 = &ty1[0]
    a.tfy = &tfy[0]
    a.lim0 = ltm_lim[0]
    a.lim1 = ltm_lim[1]
    a.tone_on = tone_on
    for k in range(6):
        a.tv[k] = tv[k]
    for k in range(9):
        a.mout[k] = mout[k // 3, k % 3]
    if gamut.shape[0] != 750:
        raise ValueError(f"a gamut table holds 750 values, not {gamut.shape[0]}")
    a.gtab = &gamut[0]
    a.out = &out[0, 0, 0]
    a.want_luma = want_luma
    a.luma = &luma[0, 0]
    a.linear_below = tv[0] == 1.0 and tv[4] == 0.0 and tv[5] == 0.0
    a.want_gain = want_gain
    a.gain = NULL
    if want_gain:
        if gain is None or gtab is None or gpar is None or gpar.shape[0] != 3:
            raise ValueError("want_gain needs gain (H, W), gtab (2, n) and gpar (3,)")
        if gain.shape[0] != h or gain.shape[1] != w:
            raise ValueError(f"gain is {gain.shape[0]}x{gain.shape[1]}, not {h}x{w}")
        if gtab.shape[0] != 2 or gtab.shape[1] < 2:
            raise ValueError("gtab must be (2, n), n >= 2")
        a.gain = &gain[0, 0]
        a.glf = &gtab[0, 0]
        a.glh = &gtab[1, 0]
        a.gn = gtab.shape[1]
        a.g_m0 = gpar[0]
        a.g_lo = gpar[1]
        a.g_inv = gpar[2]
    a.floor = 0.0 if tone_on else -3.0e38
    if not tone_on:
        a.special_above = 3.0e38
    elif a.linear_below:
        a.special_above = <float>tv[1]
    else:
        a.special_above = -3.0e38
    a.glow = <float>RF_GAMUT_LOW
    a.ghigh = <float>RF_GAMUT_HIGH
    lanes_init(&a.lanes, a.gtab, a.mout, tone_on, a.tv, a.linear_below)
    cdef Py_ssize_t n_scratch = 8 * w + 8 * a.nc + 7 * w
    s = NULL
    flag = NULL
    with nogil, parallel():
        s = <float*>malloc(n_scratch * sizeof(float))
        flag = <uint8_t*>malloc(w)
        for i in prange(h, schedule="dynamic"):
            if s == NULL or flag == NULL:
                failed += 1
            else:
                _finish_row(&a, i, s, flag)
        free(s)
        free(flag)
    if failed:
        raise MemoryError()


# ----------------------------------------------------------------------------- denoise only


cdef inline float _bilinear(const float* grid, Py_ssize_t gh, Py_ssize_t gw, Py_ssize_t k,
                            int64_t y0, int64_t y1, float fy, int64_t x0, int64_t x1,
                            float fx) noexcept nogil:
    cdef const float* r0 = grid + (k * gh + y0) * gw
    cdef const float* r1 = grid + (k * gh + y1) * gw
    cdef float top = r0[x0] + (r0[x1] - r0[x0]) * fx
    cdef float bot = r1[x0] + (r1[x1] - r1[x0]) * fx
    return top + (bot - top) * fy


cdef void _denoise_only_row(const float* px, const float* yrow, const float* ca,
                            const float* cb, Py_ssize_t gh, Py_ssize_t gw, float cs, float ls,
                            int64_t a0, int64_t a1, float fa, const int64_t* cx0,
                            const int64_t* cx1, const float* cfx, bint sqrt_in,
                            const float* bias, float* o, Py_ssize_t w) noexcept nogil:
    cdef Py_ssize_t j
    cdef int64_t b0, b1
    cdef float fb, r, g, b
    for j in range(w):
        b0 = cx0[j]
        b1 = cx1[j]
        fb = cfx[j]
        r = px[3 * j]
        g = px[3 * j + 1]
        b = px[3 * j + 2]
        if not sqrt_in:
            r = signed_sqrt(r)
            g = signed_sqrt(g)
            b = signed_sqrt(b)
        r, g, b = denoise_px(
            r, g, b, yrow[j],
            _bilinear(ca, gh, gw, 0, a0, a1, fa, b0, b1, fb),
            _bilinear(ca, gh, gw, 1, a0, a1, fa, b0, b1, fb),
            _bilinear(ca, gh, gw, 2, a0, a1, fa, b0, b1, fb),
            _bilinear(ca, gh, gw, 3, a0, a1, fa, b0, b1, fb),
            _bilinear(cb, gh, gw, 0, a0, a1, fa, b0, b1, fb),
            _bilinear(cb, gh, gw, 1, a0, a1, fa, b0, b1, fb),
            _bilinear(cb, gh, gw, 2, a0, a1, fa, b0, b1, fb),
            _bilinear(cb, gh, gw, 3, a0, a1, fa, b0, b1, fb),
            cs, ls)
        o[3 * j] = r + bias[0]
        o[3 * j + 1] = g + bias[1]
        o[3 * j + 2] = b + bias[2]


def denoise_only(const float[:, :, ::1] rgb, const float[:, ::1] yz,
                 const float[:, :, ::1] ca, const float[:, :, ::1] cb, float chroma_s,
                 float luma_s, cmy, cmx, bint sqrt_in, const float[::1] bias,
                 float[:, :, ::1] out):
    """The denoise part of :func:`finish` alone, linear light out."""
    cdef const int64_t[::1] cy0 = cmy[0], cy1 = cmy[1], cx0 = cmx[0], cx1 = cmx[1]
    cdef const float[::1] cfy = cmy[2], cfx = cmx[2]
    cdef Py_ssize_t h = rgb.shape[0], w = rgb.shape[1], i
    cdef Py_ssize_t gh = ca.shape[1], gw = ca.shape[2]
    cdef float bs[3]
    bs[0] = bias[0]
    bs[1] = bias[1]
    bs[2] = bias[2]
    for i in prange(h, nogil=True, schedule="static"):
        _denoise_only_row(&rgb[i, 0, 0], &yz[i, 0], &ca[0, 0, 0], &cb[0, 0, 0], gh, gw,
                          chroma_s, luma_s, cy0[i], cy1[i], cfy[i], &cx0[0], &cx1[0],
                          &cfx[0], sqrt_in, bs, &out[i, 0, 0], w)


# ----------------------------------------------------------------------------- preview


cdef inline void _bin_row(const mosaic_t* r_row, const mosaic_t* g1_row,
                          const mosaic_t* g2_row, const mosaic_t* b_row, float* o,
                          Py_ssize_t wl, const float* black, const float* scale) noexcept nogil:
    cdef Py_ssize_t j
    cdef float k0 = black[0], k1 = black[1], k2 = black[2], k3 = black[3]
    cdef float s0 = scale[0], s1 = scale[1], s2 = scale[2], s3 = scale[3]
    for j in range(wl):
        o[3 * j] = (<float>r_row[2 * j] - k0) * s0
        o[3 * j + 1] = <float>0.5 * ((<float>g1_row[2 * j] - k1) * s1
                                     + (<float>g2_row[2 * j] - k2) * s2)
        o[3 * j + 2] = (<float>b_row[2 * j] - k3) * s3


def bin_preview(const mosaic_t[:, ::1] mosaic, const float[::1] black, const float[::1] scale,
                const int64_t[:, ::1] site, float[:, :, ::1] out):
    """``site`` (4, 2): (dy, dx) of R, G1, G2, B in the 2x2 quad; ``black``/``scale`` (4,)."""
    cdef Py_ssize_t hl = out.shape[0], wl = out.shape[1], i
    cdef Py_ssize_t w = mosaic.shape[1]
    cdef int64_t ry = site[0, 0], rx = site[0, 1], g1y = site[1, 0], g1x = site[1, 1]
    cdef int64_t g2y = site[2, 0], g2x = site[2, 1], by = site[3, 0], bx = site[3, 1]
    cdef const mosaic_t* m
    cdef float bl[4]
    cdef float sc[4]
    for i in range(4):
        bl[i] = black[i]
        sc[i] = scale[i]
    if hl == 0 or wl == 0:
        return
    m = &mosaic[0, 0]
    for i in prange(hl, nogil=True, schedule="static"):
        _bin_row(m + (2 * i + ry) * w + rx, m + (2 * i + g1y) * w + g1x,
                 m + (2 * i + g2y) * w + g2x, m + (2 * i + by) * w + bx, &out[i, 0, 0], wl,
                 bl, sc)


# ----------------------------------------------------------------------------- sharpen, quantize


cdef inline void _sharpen_row(float* px, const float* yrow, const float* brow, Py_ssize_t w,
                              float amount, float t) noexcept nogil:
    cdef Py_ssize_t j
    cdef int c
    cdef float d
    for j in range(w):
        d = soft_threshold(yrow[j] - brow[j], t) * amount
        for c in range(3):
            px[3 * j + c] = minf(maxf(px[3 * j + c] + d, <float>0.0), <float>1.0)


def sharpen_apply(float[:, :, ::1] img, const float[:, ::1] y, const float[:, ::1] blur,
                  float amount, float t):
    """In place: img = clip(img + soft_threshold(y - blur, t) * amount, 0, 1)."""
    cdef Py_ssize_t h = img.shape[0], w = img.shape[1], i
    for i in prange(h, nogil=True, schedule="static"):
        _sharpen_row(&img[i, 0, 0], &y[i, 0], &blur[i, 0], w, amount, t)


cdef void _quantize_row(const float* p0, const float* p1, const float* p2, const float* yrow,
                        const float* brow, Py_ssize_t w, float amount, float t,
                        uint64_t row, uint64_t seed, code_t* o, float maxval, bint dither,
                        float* s) noexcept nogil:
    # row buffers keep the per-pixel loop free of branches
    cdef float* detail = s
    cdef float* n0 = s + w
    cdef float* n1 = s + 2 * w
    cdef float* n2 = s + 3 * w
    cdef Py_ssize_t j
    cdef uint32_t hy, hx
    cdef int32_t imax = <int32_t>maxval
    cdef float d
    cdef int32_t c0, c1, c2
    if amount > 0:
        for j in range(w):
            detail[j] = soft_threshold(yrow[j] - brow[j], t) * amount
    else:
        for j in range(w):
            detail[j] = 0.0
    if dither:
        hy = row_key(row, seed)
        for j in range(w):
            hx = hash32(<uint64_t>j + hy)
            n0[j] = tpdf(hx, 0)
            n1[j] = tpdf(hx, 1)
            n2[j] = tpdf(hx, 2)
    else:
        for j in range(w):
            n0[j] = 0.0
            n1[j] = 0.0
            n2[j] = 0.0
    for j in range(w):  # the cast truncates: as floor where it matters (>= 0, then clipped)
        d = detail[j]
        c0 = <int32_t>code_value(p0[j] + d, maxval, n0[j])
        c1 = <int32_t>code_value(p1[j] + d, maxval, n1[j])
        c2 = <int32_t>code_value(p2[j] + d, maxval, n2[j])
        c0 = c0 if c0 > 0 else 0
        c1 = c1 if c1 > 0 else 0
        c2 = c2 if c2 > 0 else 0
        o[3 * j] = <code_t>(c0 if c0 < imax else imax)
        o[3 * j + 1] = <code_t>(c1 if c1 < imax else imax)
        o[3 * j + 2] = <code_t>(c2 if c2 < imax else imax)


def sharpen_quantize(const float[:, ::1] p0, const float[:, ::1] p1, const float[:, ::1] p2,
                     const float[:, ::1] y,
                     const float[:, ::1] blur, float amount, float t, Py_ssize_t row0,
                     code_t[:, :, ::1] out, float maxval, bint dither, uint64_t seed):
    """The planes ``p0, p1, p2`` (H, W) plus the sharpening detail of ``y - blur``, as code values
    of ``maxval`` with TPDF dither seeded by the full-frame row ``row0 + i`` and column,
    into ``out`` (H, W, 3)."""
    cdef Py_ssize_t h = p0.shape[0], w = p0.shape[1], i
    cdef float* s
    cdef int failed = 0
    cdef bint sharp = amount > 0
    if h == 0 or w == 0:
        return
    s = NULL
    with nogil, parallel():
        s = <float*>malloc(4 * w * sizeof(float))
        for i in prange(h, schedule="static"):
            if s == NULL:
                failed += 1
            else:
                _quantize_row(&p0[i, 0], &p1[i, 0], &p2[i, 0],
                              &y[i, 0] if sharp else NULL, &blur[i, 0] if sharp else NULL,
                              w, amount, t, <uint64_t>(i + row0), seed, &out[i, 0, 0], maxval,
                              dither, s)
        free(s)
    if failed:
        raise MemoryError()


# ----------------------------------------------------------------------------- flagged pixels


def flagged_lanes(const float[:, ::1] rgb, bint tone_on, const double[::1] tv,
                  const float[:, ::1] mout, const double[::1] gamut, float[:, ::1] out):
    """The finish pass's flagged-pixel path (_pixel_lanes.pxd: the tone curve when
    ``tone_on``, ``mout``, the gamut compression, clipped) on every colour of ``rgb`` (N, 3)
    linear Rec.2020 into ``out`` (N, 3), for the tests to hold against the reference
    (tone_rgb, gamut_oklab of _pixel.pxd)."""
    cdef Py_ssize_t n = rgb.shape[0], j0, j, nb
    cdef Lanes z
    cdef Block bk
    cdef float mm[9]
    if gamut.shape[0] != 750:
        raise ValueError(f"a gamut table holds 750 values, not {gamut.shape[0]}")
    if tv.shape[0] != 6 or out.shape[0] != n:
        raise ValueError("tv holds 6 values; out is (N, 3) like rgb")
    for j in range(9):
        mm[j] = mout[j // 3, j % 3]
    lanes_init(&z, &gamut[0], mm, tone_on, &tv[0],
               tv[0] == 1.0 and tv[4] == 0.0 and tv[5] == 0.0)
    j0 = 0
    with nogil:
        while j0 < n:
            nb = RF_LANES if n - j0 > RF_LANES else n - j0
            for j in range(nb):
                bk.r[j] = rgb[j0 + j, 0]
                bk.g[j] = rgb[j0 + j, 1]
                bk.b[j] = rgb[j0 + j, 2]
            block(&z, &bk, nb)
            for j in range(nb):
                out[j0 + j, 0] = bk.r[j]
                out[j0 + j, 1] = bk.g[j]
                out[j0 + j, 2] = bk.b[j]
            j0 += nb
