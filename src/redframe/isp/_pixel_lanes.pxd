# The finish kernel's flagged pixels (redframe/isp/_fused.pyx: above the filmic shoulder,
# near the output gamut), in float32 over blocks of RF_LANES pixels, branch-free, so that gcc
# vectorises every loop (-O3; SSE2 on any x86-64, AVX2/AVX-512 where the build targets
# them).
#
# The formulas are those of _pixel.pxd (tone_rgb, gamut_oklab) and color/_gamut.pxd
# (compress_lab), the double-precision scalar definitions the NumPy reference stages run
# and the tests hold this fast path to (tests/test_pixel_lanes.py; tests/test_stages.py
# compares the fused engine with the reference stage by stage). What differs:
#
# - float32 instead of float64, with the transcendental functions inlined as
#   approximations (below, each with its measured error);
# - the gamut boundary by a fixed count of steps: RF_LANE_ITP steps of the ITP method that
#   boundary_t runs (the same iterates, so the same crossing where a line grazes a face
#   and crosses it more than once), RF_LANE_BISECT bisection steps and a secant step in
#   the last bracket, instead of ITP's data-dependent loop: every lane runs the same
#   instructions;
# - the conditions of the scalar code (the shoulder, the gamut's cheap test, the probe) are
#   masks: each phase runs on every lane of a block and a select keeps what the scalar code
#   would have computed. Only the boundary search runs on a compacted sub-list (the lanes
#   whose probe is outside, about half of those near the gamut).
#
# Measured against the reference on 900,000 colours (inside, outside, above white) per
# output space and curve: encoded sRGB within 8.3e-5 (0.021 of an 8-bit code), 2.8e-5 at
# the 99.99th percentile; on the finish output of the 12 MP test frame and the real raws
# (benchmarks/finish.py compare) within 0.0019 of a code. The finish kernel on the 12 MP
# frame, one core: 0.76 -> 0.32 s (the flagged pixels were 0.64 s of it).

from libc.stdint cimport int32_t, uint8_t, uint32_t
from libc.math cimport copysignf, fabsf, floorf, sqrtf

cdef extern from *:
    """
    /* lanes per block of the flagged pixels (a multiple of RF_PAD) */
    #define RF_LANES 128
    /* the boundary search runs on a multiple of this many lanes (every vector width up
       to AVX-512's 16 floats: no lane runs the loops' scalar epilogue) */
    #define RF_PAD 16
    /* the gamut boundary search: ITP steps as color/_gamut.pxd's boundary_t takes them
       (for its 20-bisection accuracy; it stops after 6.6 on average on the 12 MP test
       frame, but far outside the gamut it needs up to 20), then bisection steps (the
       bracket t_max 2^-16 wide at most) and a secant step in it. 3 ITP steps are too few
       to pick boundary_t's crossing where a line grazes a face (25 codes off on the
       test's colours), 4 + 10 left 0.14 codes, 5 + 11 0.021 */
    #define RF_LANE_ITP 5
    #define RF_LANE_BISECT 11
    #define RF_ITP_BITS 20
    """
    const int RF_LANES
    const int RF_PAD
    const int RF_LANE_ITP
    const int RF_LANE_BISECT
    const int RF_ITP_BITS

from redframe.isp._pixel cimport (
    RF_FROM_LAB,
    RF_FROM_LMS,
    RF_GAMUT_HIGH,
    RF_GAMUT_LOW,
    RF_MID_GREY,
    RF_TO_LAB,
    RF_TO_LMS,
)
from redframe.color._gamut cimport RF_CUSP_DARK, RF_CUSP_LIGHT


cdef union Bits32:
    float f
    uint32_t u
    int32_t i


# ----------------------------------------------------------------------------- approximations


cdef inline float _log2_bits(uint32_t bits) noexcept nogil:
    """log2 of a positive normal float32 given its IEEE-754 bits: exponent + a degree-6
    least-squares polynomial of log2(1 + f) on the mantissa (|error| < 3e-6)."""
    cdef float e = <float>(<int32_t>((bits >> 23) & 255) - 127)
    cdef float f = <float>(bits & 0x7FFFFF) * <float>(1.0 / 8388608.0)
    cdef float p = <float>2.12374089e-06 + f * (
        <float>1.44247531 + f * (
            <float>-0.717557872 + f * (
                <float>0.455527088 + f * (
                    <float>-0.274623258 + f * (
                        <float>0.119298238 + f * <float>-0.0251232033)))))
    return e + p


cdef inline float _exp2(float y) noexcept nogil:
    """2**y for y >= -126: a degree-5 fit on the fraction (|rel error| < 2e-7), the integer
    part added to the exponent bits."""
    cdef float n = floorf(y)
    cdef float f = y - n
    cdef Bits32 u
    u.f = <float>0.9999999 + f * (
        <float>0.69315462 + f * (
            <float>0.24014077 + f * (
                <float>0.05586328 + f * (<float>0.00894621 + f * <float>0.00189511))))
    u.u = u.u + ((<uint32_t><int32_t>n) << 23)
    return u.f


cdef inline float _bits_log2(float x) noexcept nogil:
    cdef Bits32 u
    u.f = x
    return _log2_bits(u.u)


cdef inline float pow_lane(float x, float p) noexcept nogil:
    """x**p for x >= 0 (0 for x below float32's normal range), as 2**(p log2 x): relative
    error < 2.1e-6 |p log2 x| + 2e-7."""
    cdef float y = _exp2(maxl(p * _bits_log2(maxl(x, <float>1.2e-38)), <float>-126.0))
    return y if x >= <float>1.2e-38 else <float>0.0


cdef inline float tanh_lane(float x) noexcept nogil:
    """tanh(x) for x >= 0 as (1 - e) / (1 + e), e = 2**(-2 x log2 e) (absolute error
    < 3e-7)."""
    cdef float e = _exp2(maxl(<float>-2.8853900817779268 * x, <float>-126.0))
    return (<float>1.0 - e) / (<float>1.0 + e)


cdef inline float cbrt_lane(float v) noexcept nogil:
    """Signed cube root: a first guess from the bits of |v| (a third of the exponent, the
    magic constant of Kahan's cbrt; relative error < 3.2 %) and two Halley steps (cubic
    convergence: < 4e-5, then float32's rounding): |rel error| < 2.4e-7 on normal floats
    (tests/test_pixel_lanes.py), about 1e-13 absolute at 0."""
    cdef float a = fabsf(v), y, y3
    cdef Bits32 u
    u.f = a
    u.u = u.u // 3 + <uint32_t>709921077
    y = u.f
    y3 = y * y * y
    y = y * (y3 + a + a) / (y3 + y3 + a)
    y3 = y * y * y
    y = y * (y3 + a + a) / (y3 + y3 + a)
    return copysignf(y, v)


cdef inline float atan_deg_lane(float y, float x) noexcept nogil:
    """atan2(y, x) in degrees, in [0, 360]: a degree-13 odd polynomial of min/max on
    [0, 1] (a weighted least-squares fit, |error| < 3.3e-7 rad = 1.9e-5 degrees), placed in
    its octant by selects."""
    cdef float ax = fabsf(x), ay = fabsf(y)
    cdef float mx = maxl(ax, ay), mn = minl(ax, ay)
    cdef float t = mn / maxl(mx, <float>1e-30)
    cdef float z = t * t
    cdef float r = t * (<float>0.9999961256980896 + z * (
        <float>-0.3331736922264099 + z * (
            <float>0.19807815551757812 + z * (
                <float>-0.1323334127664566 + z * (
                    <float>0.07962366193532944 + z * (
                        <float>-0.0336042121052742 + z * <float>0.0068117897026240826))))))
    r = <float>1.5707963267948966 - r if ay > ax else r
    r = <float>3.141592653589793 - r if x < 0 else r
    r = <float>6.283185307179586 - r if y < 0 else r
    return r * <float>57.29577951308232


cdef inline float maxl(float a, float b) noexcept nogil:
    return b if b > a else a


cdef inline float minl(float a, float b) noexcept nogil:
    return b if b < a else a


cdef inline float clip01(float a) noexcept nogil:
    return minl(maxl(a, <float>0.0), <float>1.0)


# ----------------------------------------------------------------------------- constants


cdef struct Lanes:
    float m[9]          # Rec.2020 -> output space (the finish kernel's mout)
    float to_lms[9]     # Rec.2020 -> LMS
    float to_lab[9]     # LMS' -> Oklab
    float from_lab[9]   # Oklab -> LMS'
    float from_lms[9]   # LMS -> Rec.2020
    float out_lms[9]    # output space -> LMS
    float lms_out[9]    # LMS -> output space
    float cusp_l[361]   # the output gamut's cusp per degree of Oklab hue
    float cusp_c[361]
    float threshold
    float t_probe       # where the boundary search's bracket ends
    bint tone_on
    bint linear_below   # the curve is max(x, 0) up to its shoulder
    float contrast
    float shoulder
    float span
    float k
    float toe
    float black


cdef inline void lanes_init(Lanes* z, const double* tab, const float* mout, bint tone_on,
                            const double* tv, bint linear_below) noexcept nogil:
    """The float32 constants of the flagged pixels' formulas, from the gamut table of
    _pixel.pxd's gamut_oklab (``tab``), the output matrix and the tone vector."""
    cdef int i, j, c
    cdef double acc
    for i in range(9):
        z.m[i] = mout[i]
        z.to_lms[i] = <float>RF_TO_LMS[i]
        z.to_lab[i] = <float>RF_TO_LAB[i]
        z.from_lab[i] = <float>RF_FROM_LAB[i]
        z.from_lms[i] = <float>RF_FROM_LMS[i]
        z.lms_out[i] = <float>tab[10 + i]
    for i in range(3):  # (Rec.2020 -> LMS) @ (output -> Rec.2020), in double
        for j in range(3):
            acc = 0.0
            for c in range(3):
                acc = acc + RF_TO_LMS[3 * i + c] * tab[1 + 3 * c + j]
            z.out_lms[3 * i + j] = <float>acc
    for i in range(361):
        z.cusp_l[i] = <float>tab[28 + i]
        z.cusp_c[i] = <float>tab[389 + i]
    z.threshold = <float>tab[0]
    z.t_probe = <float>(1.0 / tab[0] if tab[0] < 1.0 else 1.0)
    z.tone_on = tone_on
    z.linear_below = linear_below
    z.contrast = <float>tv[0]
    z.shoulder = <float>tv[1]
    z.span = <float>tv[2]
    z.k = <float>tv[3]
    z.toe = <float>tv[4]
    z.black = <float>tv[5]


# ----------------------------------------------------------------------------- tone curve


cdef struct Block:
    # the lanes of a block: their colour (in, out) and every phase's per-lane values, as
    # fields of one struct, so that gcc knows they do not overlap
    float r[RF_LANES]
    float g[RF_LANES]
    float b[RF_LANES]
    int32_t idx[RF_LANES]  # their pixels in the row
    float mapped[RF_LANES]  # the tone curve's value of the largest component
    float s[RF_LANES]       # the path to white's blend
    float ll[RF_LANES]
    float aa[RF_LANES]
    float bb[RF_LANES]
    float anchor[RF_LANES]
    uint8_t search[RF_LANES]
    int32_t sidx[RF_LANES]
    float sp[3][RF_LANES]
    float sq[3][RF_LANES]
    float lo[RF_LANES]
    float hi[RF_LANES]
    float flo[RF_LANES]
    float fhi[RF_LANES]
    float k[RF_LANES]     # per searched lane, then per lane (1: untouched)
    float kq[RF_LANES]



cdef inline void _tone_block(const Lanes* z, Block* bk, Py_ssize_t n) noexcept nogil:
    """_pixel.pxd's tone_rgb (filmic on the largest component, the ratio applied, the path
    to white in Oklab above the shoulder) of n lanes in place (the curve's options are
    selects too: a loop-invariant branch keeps gcc from vectorising)."""
    cdef Py_ssize_t q
    cdef float norm, x, y, mapped, ratio, r2, g2, b2, t, ss
    cdef float grey = <float>RF_MID_GREY, half = <float>(RF_MID_GREY / 2)
    cdef float contrast = z.contrast, shoulder = z.shoulder, span = z.span, kk = z.k
    cdef float toe1 = <float>1.0 + z.toe, black = z.black
    cdef float inv_span = <float>1.0 / span if span != 0 else <float>0.0
    cdef bint c_on = z.contrast != 1.0, t_on = z.toe > 0.0, b_on = z.black > 0.0
    cdef bint lin = z.linear_below, ident
    cdef int any_white = 0
    for q in range(n):
        norm = maxl(bk.r[q], maxl(bk.g[q], bk.b[q]))
        x = maxl(norm, <float>0.0)
        y = grey * pow_lane(x / grey, contrast)
        y = y if c_on else x
        t = half * pow_lane(y / half, toe1)
        y = t if (t_on and y < half) else y
        t = shoulder + span * tanh_lane((y - shoulder) * kk * inv_span)
        y = t if y > shoulder else y
        t = black + (<float>1.0 - black) * y
        y = t if b_on else y
        mapped = clip01(y)
        ratio = mapped / maxl(norm, <float>1e-8)
        t = clip01((mapped - shoulder) * inv_span)
        # the identity below the shoulder of the default curve (what the scalar code does)
        ident = lin and norm <= shoulder
        ratio = <float>1.0 if ident else ratio
        bk.r[q] = maxl(bk.r[q] * ratio, <float>0.0)
        bk.g[q] = maxl(bk.g[q] * ratio, <float>0.0)
        bk.b[q] = maxl(bk.b[q] * ratio, <float>0.0)
        ss = <float>0.0 if ident else t * t
        bk.mapped[q] = mapped
        bk.s[q] = ss
        any_white |= ss > 0
    if any_white:
        _white_block(z, bk, n)
    for q in range(n):
        bk.r[q] = clip01(bk.r[q])
        bk.g[q] = clip01(bk.g[q])
        bk.b[q] = clip01(bk.b[q])


cdef inline void _white_block(const Lanes* z, Block* bk, Py_ssize_t n) noexcept nogil:
    """The path to white of tone_rgb where ``s`` > 0: the lightness of the colour blended
    toward ``mapped`` grey by s, the hue and (1 - s) of the chroma of the colour itself."""
    cdef Py_ssize_t q
    cdef float m[9]   # local copies: gcc does not see that z and bk never overlap
    cdef float nn[9]
    cdef float v[9]
    cdef float u[9]
    cdef float r2, g2, b2, ss, mp, x0, x1, x2, lw, a0, b0, l_, m_, s_
    for q in range(9):
        m[q] = z.to_lms[q]
        nn[q] = z.to_lab[q]
        v[q] = z.from_lab[q]
        u[q] = z.from_lms[q]
    for q in range(n):
        r2 = bk.r[q]
        g2 = bk.g[q]
        b2 = bk.b[q]
        ss = bk.s[q]
        mp = bk.mapped[q]
        x0 = r2 + ss * (mp - r2)
        x1 = g2 + ss * (mp - g2)
        x2 = b2 + ss * (mp - b2)
        l_ = cbrt_lane(m[0] * x0 + m[1] * x1 + m[2] * x2)
        m_ = cbrt_lane(m[3] * x0 + m[4] * x1 + m[5] * x2)
        s_ = cbrt_lane(m[6] * x0 + m[7] * x1 + m[8] * x2)
        lw = nn[0] * l_ + nn[1] * m_ + nn[2] * s_
        l_ = cbrt_lane(m[0] * r2 + m[1] * g2 + m[2] * b2)
        m_ = cbrt_lane(m[3] * r2 + m[4] * g2 + m[5] * b2)
        s_ = cbrt_lane(m[6] * r2 + m[7] * g2 + m[8] * b2)
        a0 = (nn[3] * l_ + nn[4] * m_ + nn[5] * s_) * (<float>1.0 - ss)
        b0 = (nn[6] * l_ + nn[7] * m_ + nn[8] * s_) * (<float>1.0 - ss)
        l_ = v[0] * lw + v[1] * a0 + v[2] * b0
        m_ = v[3] * lw + v[4] * a0 + v[5] * b0
        s_ = v[6] * lw + v[7] * a0 + v[8] * b0
        l_ = l_ * l_ * l_
        m_ = m_ * m_ * m_
        s_ = s_ * s_ * s_
        bk.r[q] = u[0] * l_ + u[1] * m_ + u[2] * s_ if ss > 0 else r2
        bk.g[q] = u[3] * l_ + u[4] * m_ + u[5] * s_ if ss > 0 else g2
        bk.b[q] = u[6] * l_ + u[7] * m_ + u[8] * s_ if ss > 0 else b2


# ----------------------------------------------------------------------------- gamut


cdef inline float _excess(float t, float p0, float p1, float p2, float q0, float q1,
                          float q2, const float* m) noexcept nogil:
    """color/_gamut.pxd's _violation: the largest face excess of LMS' = p + t q."""
    cdef float l0 = p0 + t * q0, l1 = p1 + t * q1, l2 = p2 + t * q2, v0, v1, v2
    l0 = l0 * l0 * l0
    l1 = l1 * l1 * l1
    l2 = l2 * l2 * l2
    v0 = m[0] * l0 + m[1] * l1 + m[2] * l2
    v1 = m[3] * l0 + m[4] * l1 + m[5] * l2
    v2 = m[6] * l0 + m[7] * l1 + m[8] * l2
    return maxl(maxl(maxl(v0 - <float>1.0, -v0), maxl(v1 - <float>1.0, -v1)),
                maxl(v2 - <float>1.0, -v2))


cdef inline void _gamut_block(const Lanes* z, Block* gb, Py_ssize_t n) noexcept nogil:
    """_pixel.pxd's gamut_oklab (compress_lab of color/_gamut.pxd) of n lanes of
    output-space RGB in place, clipped to [0, 1]."""
    cdef Py_ssize_t q, ns = 0, nsp, e
    cdef int it
    cdef float mo[9]  # local copies: gcc does not see that z and gb never overlap
    cdef float nn[9]
    cdef float v[9]
    cdef float lm[9]
    cdef float p0, p1, p2, top, low, l_, m_, s_, ll, aa, bb, c, deg, f, cl, cc, w, anchor
    cdef float pp, tp = z.t_probe, x, fx, lo, hi, flo, fhi, tb, ratio, squeezed, kk
    cdef float reach, half, x_half, rr, delta, x_f, sigma, x_t
    cdef float eps2 = tp * _exp2(<float>-RF_ITP_BITS), k1 = <float>0.2 / tp
    cdef bint active
    cdef float thr = z.threshold, glow = <float>RF_GAMUT_LOW, ghigh = <float>RF_GAMUT_HIGH
    cdef float dark = <float>RF_CUSP_DARK, inv_dl = <float>(1.0 / (RF_CUSP_LIGHT - RF_CUSP_DARK))
    cdef int i
    cdef bint near, inside
    for q in range(9):
        mo[q] = z.out_lms[q]
        nn[q] = z.to_lab[q]
        v[q] = z.from_lab[q]
        lm[q] = z.lms_out[q]
    for q in range(n):
        p0 = gb.r[q]
        p1 = gb.g[q]
        p2 = gb.b[q]
        top = maxl(p0, maxl(p1, p2))
        low = minl(p0, minl(p1, p2))
        near = (top > ghigh) | (low < glow * top)
        l_ = cbrt_lane(mo[0] * p0 + mo[1] * p1 + mo[2] * p2)
        m_ = cbrt_lane(mo[3] * p0 + mo[4] * p1 + mo[5] * p2)
        s_ = cbrt_lane(mo[6] * p0 + mo[7] * p1 + mo[8] * p2)
        ll = clip01(nn[0] * l_ + nn[1] * m_ + nn[2] * s_)
        aa = nn[3] * l_ + nn[4] * m_ + nn[5] * s_
        bb = nn[6] * l_ + nn[7] * m_ + nn[8] * s_
        c = sqrtf(aa * aa + bb * bb)
        deg = atan_deg_lane(bb, aa)
        i = <int>deg
        i = i if i < 359 else 359
        i = i if i > 0 else 0  # and a NaN's INT_MIN
        f = deg - <float>i
        cl = z.cusp_l[i] + f * (z.cusp_l[i + 1] - z.cusp_l[i])
        cc = z.cusp_c[i] + f * (z.cusp_c[i + 1] - z.cusp_c[i])
        w = minl(c / cc, <float>1.0)
        pp = clip01((cl - dark) * inv_dl)
        pp = pp * pp * (<float>3.0 - <float>2.0 * pp)
        anchor = ll + w * (cl - ll) if cl < ll else ll + pp * w * (ll / cl) * (cl - ll)
        # the probe at the bracket's end (lab_inside, tolerance 1e-7)
        l_ = v[0] * (anchor + tp * (ll - anchor)) + v[1] * tp * aa + v[2] * tp * bb
        m_ = v[3] * (anchor + tp * (ll - anchor)) + v[4] * tp * aa + v[5] * tp * bb
        s_ = v[6] * (anchor + tp * (ll - anchor)) + v[7] * tp * aa + v[8] * tp * bb
        l_ = l_ * l_ * l_
        m_ = m_ * m_ * m_
        s_ = s_ * s_ * s_
        fx = _excess_rgb(lm[0] * l_ + lm[1] * m_ + lm[2] * s_,
                         lm[3] * l_ + lm[4] * m_ + lm[5] * s_,
                         lm[6] * l_ + lm[7] * m_ + lm[8] * s_)
        inside = fx <= <float>1e-7
        gb.fhi[q] = fx
        gb.ll[q] = ll
        gb.aa[q] = aa
        gb.bb[q] = bb
        gb.anchor[q] = anchor
        gb.search[q] = near & (c > <float>1e-6) & (not inside)
    for q in range(n):  # the lanes whose boundary is searched, compacted
        gb.sidx[ns] = <int32_t>q
        ns += gb.search[q]
    nsp = (ns + RF_PAD - 1) // RF_PAD * RF_PAD
    for e in range(ns, nsp):  # padding lanes: the first lane again (their k is not used)
        gb.sidx[e] = gb.sidx[0]
    for e in range(nsp):
        q = gb.sidx[e]
        anchor = gb.anchor[q]
        gb.sp[0][e] = v[0] * anchor
        gb.sp[1][e] = v[3] * anchor
        gb.sp[2][e] = v[6] * anchor
        ll = gb.ll[q] - anchor
        aa = gb.aa[q]
        bb = gb.bb[q]
        gb.fhi[e] = gb.fhi[q]  # e <= q: each lane's own value is read before it is moved
        gb.sq[0][e] = v[0] * ll + v[1] * aa + v[2] * bb
        gb.sq[1][e] = v[3] * ll + v[4] * aa + v[5] * bb
        gb.sq[2][e] = v[6] * ll + v[7] * aa + v[8] * bb
    for e in range(nsp):  # the bracket [0, t_max]: at t_max, the probe's excess
        gb.lo[e] = 0.0
        gb.hi[e] = tp
        gb.flo[e] = _excess(0.0, gb.sp[0][e], gb.sp[1][e], gb.sp[2][e], gb.sq[0][e],
                            gb.sq[1][e], gb.sq[2][e], lm)
    for it in range(RF_LANE_ITP):
        # reach: eps 2^(n_max - j) at step j, n_max = RF_ITP_BITS + 1, eps t_max
        # 2^-(RF_ITP_BITS + 1); a lane whose bracket is down to 2 eps stays as it is
        reach = tp * _exp2(<float>-it)
        for e in range(nsp):
            lo = gb.lo[e]
            hi = gb.hi[e]
            flo = gb.flo[e]
            fhi = gb.fhi[e]
            half = <float>0.5 * (hi - lo)
            x_half = lo + half
            rr = reach - half
            delta = k1 * (hi - lo) * (hi - lo)
            x_f = (fhi * lo - flo * hi) / maxl(fhi - flo, <float>1e-30)  # regula falsi
            sigma = <float>1.0 if x_half > x_f else (<float>-1.0 if x_half < x_f else <float>0.0)
            x_t = x_f + sigma * delta if delta <= fabsf(x_half - x_f) else x_half
            x = x_t if fabsf(x_t - x_half) <= rr else x_half - sigma * rr
            active = (hi - lo > eps2) & (fhi > 0)
            x = x if active else lo
            fx = _excess(x, gb.sp[0][e], gb.sp[1][e], gb.sp[2][e], gb.sq[0][e], gb.sq[1][e],
                         gb.sq[2][e], lm)
            inside = fx <= 0
            gb.lo[e] = x if (active and inside) else lo
            gb.flo[e] = fx if (active and inside) else flo
            gb.hi[e] = x if (active and not inside) else hi
            gb.fhi[e] = fx if (active and not inside) else fhi
    for it in range(RF_LANE_BISECT):
        for e in range(nsp):
            lo = gb.lo[e]
            hi = gb.hi[e]
            x = <float>0.5 * (lo + hi)
            fx = _excess(x, gb.sp[0][e], gb.sp[1][e], gb.sp[2][e], gb.sq[0][e], gb.sq[1][e],
                         gb.sq[2][e], lm)
            inside = fx <= 0
            gb.lo[e] = x if inside else lo
            gb.flo[e] = fx if inside else gb.flo[e]
            gb.hi[e] = hi if inside else x
            gb.fhi[e] = gb.fhi[e] if inside else fx
    for e in range(nsp):
        lo = gb.lo[e]
        hi = gb.hi[e]
        flo = gb.flo[e]
        fhi = gb.fhi[e]
        # the secant step in the last bracket [lo inside, hi outside]; no bracket (the end
        # is inside): t_max; the anchor itself outside: 0 (boundary_t)
        tb = lo + (hi - lo) * clip01(-flo / maxl(fhi - flo, <float>1e-30))
        tb = tb if fhi > 0 else hi
        tb = tb if flo <= 0 else <float>0.0
        ratio = <float>1.0 / maxl(tb, <float>1e-9)
        x = (ratio - thr) / (<float>1.0 - thr)
        squeezed = thr + (<float>1.0 - thr) * x / (<float>1.0 + x)
        squeezed = squeezed if ratio > thr else ratio
        squeezed = squeezed if thr < 1.0 else minl(ratio, <float>1.0)
        gb.k[e] = squeezed / ratio
    for q in range(n):
        gb.kq[q] = 1.0
    for e in range(ns):
        gb.kq[gb.sidx[e]] = gb.k[e]
    for q in range(n):
        kk = gb.kq[q]
        anchor = gb.anchor[q]
        ll = anchor + kk * (gb.ll[q] - anchor)
        aa = gb.aa[q] * kk
        bb = gb.bb[q] * kk
        l_ = v[0] * ll + v[1] * aa + v[2] * bb
        m_ = v[3] * ll + v[4] * aa + v[5] * bb
        s_ = v[6] * ll + v[7] * aa + v[8] * bb
        l_ = l_ * l_ * l_
        m_ = m_ * m_ * m_
        s_ = s_ * s_ * s_
        p0 = lm[0] * l_ + lm[1] * m_ + lm[2] * s_
        p1 = lm[3] * l_ + lm[4] * m_ + lm[5] * s_
        p2 = lm[6] * l_ + lm[7] * m_ + lm[8] * s_
        gb.r[q] = clip01(p0 if gb.search[q] else gb.r[q])
        gb.g[q] = clip01(p1 if gb.search[q] else gb.g[q])
        gb.b[q] = clip01(p2 if gb.search[q] else gb.b[q])


cdef inline float _excess_rgb(float v0, float v1, float v2) noexcept nogil:
    return maxl(maxl(maxl(v0 - <float>1.0, -v0), maxl(v1 - <float>1.0, -v1)),
                maxl(v2 - <float>1.0, -v2))


# ----------------------------------------------------------------------------- rows


cdef inline void block(const Lanes* z, Block* bk, Py_ssize_t n) noexcept nogil:
    """tone_rgb (when the curve is on), the output matrix, gamut_oklab: n lanes in place."""
    cdef Py_ssize_t q
    cdef const float* m = z.m
    cdef float x0, x1, x2
    if z.tone_on:
        _tone_block(z, bk, n)
    for q in range(n):
        x0 = bk.r[q]
        x1 = bk.g[q]
        x2 = bk.b[q]
        bk.r[q] = m[0] * x0 + m[1] * x1 + m[2] * x2
        bk.g[q] = m[3] * x0 + m[4] * x1 + m[5] * x2
        bk.b[q] = m[6] * x0 + m[7] * x1 + m[8] * x2
    _gamut_block(z, bk, n)


cdef inline void _scatter(const Block* bk, Py_ssize_t n, float* o0, float* o1,
                          float* o2) noexcept nogil:
    cdef Py_ssize_t q
    for q in range(n):
        o0[bk.idx[q]] = bk.r[q]
        o1[bk.idx[q]] = bk.g[q]
        o2[bk.idx[q]] = bk.b[q]


cdef inline void flagged_row(const Lanes* z, const float* rr, const float* gg,
                             const float* bb, const uint8_t* flag, float* o0, float* o1,
                             float* o2, Py_ssize_t w) noexcept nogil:
    """The flagged pixels of a row (``flag``), gathered into blocks of RF_LANES lanes:
    the linear Rec.2020 ``rr, gg, bb`` tone-mapped, to the output space, gamut-compressed
    and clipped, into ``o0, o1, o2``."""
    cdef Block bk
    cdef Py_ssize_t j, n = 0
    for j in range(w):
        if flag[j]:
            bk.idx[n] = <int32_t>j
            bk.r[n] = rr[j]
            bk.g[n] = gg[j]
            bk.b[n] = bb[j]
            n += 1
            if n == RF_LANES:
                block(z, &bk, n)
                _scatter(&bk, n, o0, o1, o2)
                n = 0
    if n:
        block(z, &bk, n)
        _scatter(&bk, n, o0, o1, o2)
