# Per-pixel formulas of the develop stages, each written once, as C inline functions.
#
# The documentation of each formula is the docstring of its Python name in
# redframe/isp/pixel.py. Both engines run these definitions: the fused kernels
# (redframe/isp/_fused.pyx) cimport and inline them, and the NumPy reference stages run
# them over arrays through the loops of redframe/isp/_pixel.pyx (pixel.py's ``*_np``).
#
# Types are those the numba versions computed in (numba promoted float32 op Python float
# to float64): the tone curve, the Oklab conversions, gamut compression and the highlight
# repair work in double; sRGB, the denoiser's pixel, soft threshold and code values in
# float. ``signed_sqrt`` takes float or double (``real``), as numba compiled it for
# either.
#
# Python's min/max semantics are kept (``max(a, b)`` is ``b if b > a else a``: NaN in the
# first argument survives), as numba reproduced them.

from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from libc.math cimport cbrt, copysign, copysignf, fabs, fabsf, pow, powf, sqrt, sqrtf, tanh

from redframe.color._gamut cimport compress_lab

ctypedef fused real:
    float
    double

# Constants, exact (hexadecimal literals of the float64 / float32 values of the Python
# modules named; redframe.isp.pixel checks them against those at import).
cdef extern from *:
    """
    /* redframe.isp.pixel.MID_GREY */
    static const double RF_MID_GREY = 0.18;
    /* redframe.color.oklab: REC2020_TO_LMS, LMS_TO_OKLAB, OKLAB_TO_LMS, LMS_TO_REC2020 */
    static const double RF_TO_LMS[9] = {
        0x1.3bbe966248cd8p-1, 0x1.70cd8a141b8fap-2, 0x1.798a94041f6e9p-6,
        0x1.0f80e95dd8f66p-2, 0x1.458efb2d7595bp-1, 0x1.95a0b9e7ba018p-4,
        0x1.9a37901644cf8p-4, 0x1.a1cd04cb0fd5cp-3, 0x1.6484ab09fac7fp-1};
    static const double RF_TO_LAB[9] = {
        0x1.af02a3fe8a4fap-3, 0x1.9655120032aadp-1, -0x1.0add9bd572b38p-8,
        0x1.fa5e1bfffde12p+0, -0x1.36dc1bffe5d3ep+1, 0x1.cd686fff371a5p-2,
        0x1.a869680b729e0p-6, 0x1.90c776001f502p-1, -0x1.9e0ac0001353dp-1};
    static const double RF_FROM_LAB[9] = {
        0x1.fffffff2b0a81p-1, 0x1.95d992fe38806p-2, 0x1.b9f75219cc810p-3,
        0x1.0000002625996p+0, -0x1.b0611710080c0p-4, -0x1.058bf485b8813p-4,
        0x1.000000ead0f39p+0, -0x1.6e86f739b7095p-4, -0x1.4a9ecbd4621c4p+0};
    static const double RF_FROM_LMS[9] = {
        0x1.11f01ef922ab2p+1, -0x1.3f112efe77f65p+0, 0x1.b3f1c0e0cc6f6p-4,
        -0x1.c508c25e67c4ap-1, 0x1.14e2d7fd8c091p+1, -0x1.1d0ad23aa4ba8p-2,
        -0x1.8df5ab2c89c6ap-5, -0x1.d166108833158p-2, 0x1.809a6c106dc36p+0};
    /* the output gamut's cheap test (gamut_near): inside [LOW top, HIGH] is exact */
    static const double RF_GAMUT_LOW = 0.06;
    static const double RF_GAMUT_HIGH = 0.955;
    /* redframe.isp.highlights.NEUTRAL_SPAN: the neutral blend's span of the clip level
       over each channel's own repair's (1 - threshold) */
    static const double RF_HL_SPAN = 3.0;
    /* redframe.color.transfer's sRGB constants as float32 (rows vectorise at full width) */
    static const float RF_S_SLOPE = 0x1.9d70a4p+3f;    /* SRGB_SLOPE 12.92 */
    static const float RF_S_SCALE = 0x1.0e147ap+0f;    /* SRGB_SCALE 1.055 */
    static const float RF_S_OFFSET = 0x1.c28f5cp-5f;   /* SRGB_OFFSET 0.055 */
    static const float RF_S_BREAK = 0x1.9a5c38p-9f;    /* SRGB_LINEAR_BREAK 0.0031308 */
    static const float RF_S_INV_GAMMA = 0x1.aaaaaap-2f; /* float32(1 / SRGB_GAMMA) */
    """
    const double RF_MID_GREY
    const double RF_GAMUT_LOW
    const double RF_GAMUT_HIGH
    const double RF_HL_SPAN
    const double RF_TO_LMS[9]
    const double RF_TO_LAB[9]
    const double RF_FROM_LAB[9]
    const double RF_FROM_LMS[9]
    const float RF_S_SLOPE
    const float RF_S_SCALE
    const float RF_S_OFFSET
    const float RF_S_BREAK
    const float RF_S_INV_GAMMA


# ----------------------------------------------------------------------------- min / max


cdef inline float maxf(float a, float b) noexcept nogil:
    return b if b > a else a


cdef inline float minf(float a, float b) noexcept nogil:
    return b if b < a else a


cdef inline double maxd(double a, double b) noexcept nogil:
    return b if b > a else a


cdef inline double mind(double a, double b) noexcept nogil:
    return b if b < a else a


cdef inline real maxr(real a, real b) noexcept nogil:
    return b if b > a else a


cdef inline real minr(real a, real b) noexcept nogil:
    return b if b < a else a


# ----------------------------------------------------------------------------- tone curve


cdef inline double filmic(double x, double contrast, double shoulder, double span, double k,
                          double toe, double black) noexcept nogil:
    cdef double y
    if x < 0.0:
        x = 0.0
    y = x
    if contrast != 1.0:
        y = RF_MID_GREY * pow(x / RF_MID_GREY, contrast)
    if toe > 0.0 and y < RF_MID_GREY / 2:
        y = RF_MID_GREY / 2 * pow(y / (RF_MID_GREY / 2), 1.0 + toe)
    if y > shoulder:
        y = shoulder + span * tanh((y - shoulder) * k / span)
    if black > 0.0:
        y = black + (1.0 - black) * y
    return mind(maxd(y, 0.0), 1.0)


cdef inline double _cbrt(double v) noexcept nogil:
    """Signed cube root, within 3 ulps of libm's cbrt: a first guess from the bit pattern
    divided by 3 (the exponent's third; relative error < 3.2 %), two Halley steps (cubic
    convergence: < 1e-5, then < 1e-15) and a Newton step for the last bit. Inline, where
    glibc's cbrt is a call that calls frexp and scalbn: 12 % of the output transform's
    time was spent in the three (perf, 12 MP develop)."""
    cdef double a = fabs(v), y, y3
    cdef uint64_t bits
    if not (a > 1e-150 and a < 1e150):  # 0, tiny, huge (y**3 would overflow), inf, NaN
        return cbrt(v)
    memcpy(&bits, &a, 8)
    bits = bits // 3 + <uint64_t>0x2A9F7893782DA1CE
    memcpy(&y, &bits, 8)
    y3 = y * y * y
    y = y * (y3 + 2.0 * a) / (2.0 * y3 + a)
    y3 = y * y * y
    y = y * (y3 + 2.0 * a) / (2.0 * y3 + a)
    y = y - (y * y * y - a) / (3.0 * y * y)
    return copysign(y, v)


cdef inline (double, double, double) oklab(double r, double g, double b) noexcept nogil:
    cdef const double* m = RF_TO_LMS
    cdef const double* n = RF_TO_LAB
    cdef double l_ = _cbrt(m[0] * r + m[1] * g + m[2] * b)
    cdef double m_ = _cbrt(m[3] * r + m[4] * g + m[5] * b)
    cdef double s_ = _cbrt(m[6] * r + m[7] * g + m[8] * b)
    return (n[0] * l_ + n[1] * m_ + n[2] * s_,
            n[3] * l_ + n[4] * m_ + n[5] * s_,
            n[6] * l_ + n[7] * m_ + n[8] * s_)


cdef inline (double, double, double) oklab_rgb(double lightness, double a,
                                               double b) noexcept nogil:
    cdef const double* n = RF_FROM_LAB
    cdef const double* m = RF_FROM_LMS
    cdef double l_ = n[0] * lightness + n[1] * a + n[2] * b
    cdef double m_ = n[3] * lightness + n[4] * a + n[5] * b
    cdef double s_ = n[6] * lightness + n[7] * a + n[8] * b
    l_ = l_ * l_ * l_
    m_ = m_ * m_ * m_
    s_ = s_ * s_ * s_
    return (m[0] * l_ + m[1] * m_ + m[2] * s_,
            m[3] * l_ + m[4] * m_ + m[5] * s_,
            m[6] * l_ + m[7] * m_ + m[8] * s_)


cdef inline (double, double, double) tone_rgb(float r, float g, float b, double contrast,
                                              double shoulder, double span, double k,
                                              double toe, double black) noexcept nogil:
    cdef float norm = maxf(r, maxf(g, b))
    cdef double mapped = filmic(norm, contrast, shoulder, span, k, toe, black)
    cdef double ratio = mapped / maxd(norm, 1e-8)
    cdef double r2 = maxd(r * ratio, 0.0)
    cdef double g2 = maxd(g * ratio, 0.0)
    cdef double b2 = maxd(b * ratio, 0.0)
    cdef double t = mind(maxd((mapped - shoulder) / span, 0.0), 1.0)
    cdef double s = t * t
    cdef double lw, a0, b0, unused
    if s > 0.0:
        lw, unused, unused = oklab(r2 + s * (mapped - r2), g2 + s * (mapped - g2),
                                   b2 + s * (mapped - b2))
        unused, a0, b0 = oklab(r2, g2, b2)
        r2, g2, b2 = oklab_rgb(lw, a0 * (1.0 - s), b0 * (1.0 - s))
    return mind(maxd(r2, 0.0), 1.0), mind(maxd(g2, 0.0), 1.0), mind(maxd(b2, 0.0), 1.0)


# ----------------------------------------------------------------------------- output


# The output's gamut table (redframe.isp.output.gamut_table, row-major doubles):
# [0] threshold, [1:10] output space -> Rec.2020, [10:19] LMS -> output space,
# [19:28] Rec.2020 -> output space, [28:389] cusp L per degree, [389:750] cusp C.


cdef inline bint gamut_near(double r, double g, double b) noexcept nogil:
    """Can (r, g, b) of the output space be at or beyond the compression's threshold? A
    cheap superset test: a colour with every component in [LOW top, HIGH] is far enough
    inside that its probe stays inside (tests/test_stages.py samples the cube for it)."""
    cdef double top = maxd(r, maxd(g, b))
    cdef double low = mind(r, mind(g, b))
    return top > RF_GAMUT_HIGH or low < RF_GAMUT_LOW * top


cdef inline (double, double, double) gamut_oklab(double r, double g, double b,
                                                 const double* tab) noexcept nogil:
    """The one gamut compression (redframe.color.gamut: constant Oklab hue, toward the grey
    at the hue's cusp lightness, a knee from the threshold) of an output-space colour,
    then clipped to [0, 1]."""
    cdef double q0, q1, q2, lightness, aa, bb
    if gamut_near(r, g, b):
        q0 = tab[1] * r + tab[2] * g + tab[3] * b
        q1 = tab[4] * r + tab[5] * g + tab[6] * b
        q2 = tab[7] * r + tab[8] * g + tab[9] * b
        lightness, aa, bb = oklab(q0, q1, q2)
        lightness = mind(maxd(lightness, 0.0), 1.0)
        if compress_lab(&lightness, &aa, &bb, RF_FROM_LAB, tab + 10, tab + 28, tab + 389,
                        tab[0]):
            q0, q1, q2 = oklab_rgb(lightness, aa, bb)
            r = tab[19] * q0 + tab[20] * q1 + tab[21] * q2
            g = tab[22] * q0 + tab[23] * q1 + tab[24] * q2
            b = tab[25] * q0 + tab[26] * q1 + tab[27] * q2
    return mind(maxd(r, 0.0), 1.0), mind(maxd(g, 0.0), 1.0), mind(maxd(b, 0.0), 1.0)


cdef inline float srgb_from_root(float v, float root) noexcept nogil:
    return RF_S_SLOPE * v if v <= RF_S_BREAK else RF_S_SCALE * root - RF_S_OFFSET


cdef inline float srgb_encode(float v) noexcept nogil:
    v = minf(maxf(v, <float>0.0), <float>1.0)
    return srgb_from_root(v, powf(v, RF_S_INV_GAMMA))


# ----------------------------------------------------------------------------- raw stages


cdef inline double _repair(float x, float w, float o1, float w1, float q1, float o2, float w2,
                           float q2) noexcept nogil:
    cdef double t1 = (1.001 - w1) * maxd(o1, 0.0) if q1 > 0.0 else 0.0
    cdef double t2 = (1.001 - w2) * maxd(o2, 0.0) if q2 > 0.0 else 0.0
    cdef double est
    if t1 + t2 > 1e-12:
        est = (t1 * o1 * q1 + t2 * o2 * q2) / (t1 + t2)
    else:
        est = maxf(o1, o2)
    return x + w * (maxd(x, est) - x)


cdef inline double _smoothstep01(double t) noexcept nogil:
    t = mind(maxd(t, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


cdef inline (double, double, double) highlight_blend(float r, float g, float b, float ur,
                                                     float ug, float ub,
                                                     const float* q) noexcept nogil:
    # ur, ug, ub: how far each channel is along the neutral blend's span of its clip level,
    # in [0, 1] (redframe.isp.highlights.weight_from_fraction); each channel's own repair
    # weight is a smoothstep over the last 1 / RF_HL_SPAN of that span. q: the (3, 3)
    # ratios, row-major
    cdef double k = RF_HL_SPAN
    cdef double wr = _smoothstep01(k * ur - (k - 1.0))
    cdef double wg = _smoothstep01(k * ug - (k - 1.0))
    cdef double wb = _smoothstep01(k * ub - (k - 1.0))
    cdef double r2 = _repair(r, <float>wr, g, <float>wg, q[1], b, <float>wb, q[2])
    cdef double g2 = _repair(g, <float>wg, r, <float>wr, q[3], b, <float>wb, q[5])
    cdef double b2 = _repair(b, <float>wb, r, <float>wr, q[6], g, <float>wg, q[7])
    # neutral where every channel is near its clip, once one of them is being repaired
    cdef double wn = _smoothstep01(minf(ur, minf(ug, ub))) * maxd(wr, maxd(wg, wb))
    cdef double top
    if wn > 0.0:
        top = maxd(r2, maxd(g2, b2))
        r2 += wn * (top - r2)
        g2 += wn * (top - g2)
        b2 += wn * (top - b2)
    return r2, g2, b2


cdef inline real signed_sqrt(real x) noexcept nogil:
    if real is float:
        return copysignf(sqrtf(fabsf(x)), x)
    else:
        return copysign(sqrt(fabs(x)), x)


cdef inline (float, float, float) denoise_px(float zr, float zg, float zb, float y, float ar,
                                             float ag, float ab, float ay, float br, float bg,
                                             float bb, float by, float chroma_s,
                                             float luma_s) noexcept nogil:
    cdef float cr = zr - y
    cdef float cg = zg - y
    cdef float cb = zb - y
    cr += chroma_s * (ar * y + br - cr)
    cg += chroma_s * (ag * y + bg - cg)
    cb += chroma_s * (ab * y + bb - cb)
    y = y + luma_s * (ay * y + by - y)
    zr = cr + y
    zg = cg + y
    zb = cb + y
    return zr * fabsf(zr), zg * fabsf(zg), zb * fabsf(zb)


cdef inline float soft_threshold(float d, float t) noexcept nogil:
    return copysignf(maxf(fabsf(d) - t, <float>0.0), d)


cdef inline float code_value(float v, float maxval, float noise) noexcept nogil:
    v = minf(maxf(v, <float>0.0), <float>1.0)
    return v * maxval + (noise if (v > <float>0.0 and v < <float>1.0) else <float>0.0) + <float>0.5
