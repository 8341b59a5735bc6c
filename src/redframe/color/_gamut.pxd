# Gamut compression in Oklab toward the grey at the hue's cusp lightness, for the compiled
# kernels: one definition, used by the develop's output transform (per pixel) and by the
# looks (over a LUT's entries, through redframe.color.gamut). Float64 inside: it runs
# only on colours at or outside the boundary.
#
# Method: the "CUSP" direction of CIE 156:2004 (compress toward a grey at the cusp's
# lightness), made adaptive as in B. Ottosson, "sRGB gamut clipping" (2021): a colour
# lighter than its hue's cusp moves on the line from itself to the grey between its own
# lightness (near-greys) and the cusp's (colours as chromatic as the cusp); a colour
# darker than the cusp moves at constant lightness where the hue's cusp is dark, and where
# it is light toward the same grey by its relative chroma times its lightness relative to
# the cusp's (redframe.color.gamut's docstring); with r how far the colour
# is along that line relative to the boundary, r above the threshold t rolls off with the
# knee t + (1 - t) x / (1 + x) (C1 at t, the boundary reached only at infinity, so
# distinct colours stay distinct); hue is constant (a, b scaled together).
#
# Matrices (row-major double[9]): ``minv`` Oklab -> LMS' (cube-rooted LMS), ``m`` LMS ->
# the target space's linear RGB. Cusp tables: 361 entries, one per degree of Oklab hue.

from libc.math cimport atan2, fabs, floor, sqrt, M_PI

# The cusp lightnesses (Oklab L) between which a colour darker than its hue's cusp moves
# from constant lightness (a cusp at or below RF_CUSP_DARK) to toward the cusp (at or above
# RF_CUSP_LIGHT); redframe.color.gamut.CUSP_DARK / CUSP_LIGHT.
cdef extern from *:
    """
    static const double RF_CUSP_DARK = 0.72;
    static const double RF_CUSP_LIGHT = 0.84;
    """
    const double RF_CUSP_DARK
    const double RF_CUSP_LIGHT


cdef inline double _violation(double t, const double* p, const double* q,
                              const double* m) noexcept nogil:
    """How far the line's point at ``t`` lies outside [0, 1]^3 (its largest excess over a
    face; <= 0 inside): LMS' is linear in t, so each RGB component is a cubic in t."""
    cdef double l0 = p[0] + t * q[0]
    cdef double l1 = p[1] + t * q[1]
    cdef double l2 = p[2] + t * q[2]
    cdef double v, worst = -1.0
    cdef int c
    l0 = l0 * l0 * l0
    l1 = l1 * l1 * l1
    l2 = l2 * l2 * l2
    for c in range(3):
        v = m[3 * c] * l0 + m[3 * c + 1] * l1 + m[3 * c + 2] * l2
        if v - 1.0 > worst:
            worst = v - 1.0
        if -v > worst:
            worst = -v
    return worst


cdef inline bint lab_inside(double ll, double aa, double bb, const double* minv,
                            const double* m, double tol) noexcept nogil:
    """Is Oklab (ll, aa, bb) inside [0, 1]^3 of the space, within ``tol``?"""
    cdef double p[3]
    cdef double q[3]
    cdef int c
    for c in range(3):
        p[c] = 0.0
        q[c] = minv[3 * c] * ll + minv[3 * c + 1] * aa + minv[3 * c + 2] * bb
    return _violation(1.0, p, q, m) <= tol


cdef inline double boundary_t(double ll, double aa, double bb, double anchor, double t_max,
                              const double* minv, const double* m,
                              int iterations) noexcept nogil:
    """Largest t in [0, t_max] with anchor + t ((ll, aa, bb) - anchor) inside (within 1e-9;
    along such a line from a grey inside, the cube is left once), to t_max 2^-iterations.

    The ITP method (Oliveira & Takahashi, ACM TOMS 47(1), 2020: interpolate, truncate,
    project) on the largest face excess, bracketed by [0, t_max]: as accurate as
    ``iterations`` bisection steps and at most two steps more, but each face's
    excess is a cubic in t, so its interpolation converges in a few steps (8 evaluations on
    average on the lines the compression draws, 7 at the median; the develop's output
    transform spent most of its time in the 20 bisection steps before)."""
    cdef double p[3]
    cdef double q[3]
    cdef double da = ll - anchor, lo = 0.0, hi = t_max, flo, fhi, f
    cdef double eps = t_max * 0.5 ** (iterations + 1), k1 = 0.2 / t_max if t_max > 0.0 else 0.0
    cdef double reach = eps * 2.0 ** (iterations + 1)  # eps 2^(n_max - j), j = 0
    cdef double x_half, x_f, x_t, x, r, delta, sigma, half
    cdef int it
    for it in range(3):
        p[it] = minv[3 * it] * anchor
        q[it] = minv[3 * it] * da + minv[3 * it + 1] * aa + minv[3 * it + 2] * bb
    flo = _violation(0.0, p, q, m) - 1e-9
    if flo > 0.0:
        return 0.0  # the anchor itself is outside: nothing on the line is inside
    fhi = _violation(t_max, p, q, m) - 1e-9
    if fhi <= 0.0:  # no bracket (a line that leaves the cube and comes back): bisection
        for it in range(iterations):
            x = 0.5 * (lo + hi)
            if _violation(x, p, q, m) - 1e-9 <= 0.0:
                lo = x
            else:
                hi = x
        return lo
    while hi - lo > 2.0 * eps and reach > eps * 0.5:
        half = 0.5 * (hi - lo)
        x_half = lo + half
        r = reach - half
        delta = k1 * (hi - lo) * (hi - lo)
        x_f = (fhi * lo - flo * hi) / (fhi - flo)  # regula falsi
        sigma = 1.0 if x_half > x_f else (-1.0 if x_half < x_f else 0.0)
        x_t = x_f + sigma * delta if delta <= fabs(x_half - x_f) else x_half
        x = x_t if fabs(x_t - x_half) <= r else x_half - sigma * r
        f = _violation(x, p, q, m) - 1e-9
        if f > 0.0:
            hi = x
            fhi = f
        else:
            lo = x
            flo = f
        reach *= 0.5
    return lo


cdef inline bint compress_lab(double* ll, double* aa, double* bb, const double* minv,
                              const double* m, const double* cusp_l, const double* cusp_c,
                              double threshold) noexcept nogil:
    """Compress Oklab (ll, aa, bb) in place; False (untouched) when it is within
    ``threshold`` of the boundary along its line to the anchor grey."""
    cdef double c = sqrt(aa[0] * aa[0] + bb[0] * bb[0])
    if c <= 1e-6:
        return False
    cdef double deg = atan2(bb[0], aa[0]) * (180.0 / M_PI)
    if deg < 0.0:
        deg += 360.0
    cdef int i = <int>floor(deg)
    if i > 359:
        i = 359
    cdef double f = deg - i
    cdef double cl = cusp_l[i] + f * (cusp_l[i + 1] - cusp_l[i])
    cdef double cc = cusp_c[i] + f * (cusp_c[i + 1] - cusp_c[i])
    cdef double w = c / cc
    if w > 1.0:
        w = 1.0
    # above the cusp's lightness, toward it (a bright saturated red keeps its depth instead
    # of turning pink); below it, toward it too where the hue's cusp is light (green,
    # yellow, cyan: a saturated green light darker than the cusp keeps its colour instead
    # of turning a muted dark teal at its own lightness), at constant lightness where the
    # cusp is dark (blue, red, magenta: a dark saturated blue is not lifted by how far it
    # lies outside, or its lightness would follow every small change of its hue, as a ramp
    # of LED light through a camera's matrix showed, 11-21 L* steps); between the two by a
    # smoothstep of the cusp's lightness from RF_CUSP_DARK to RF_CUSP_LIGHT
    cdef double anchor = ll[0]
    cdef double p
    if cl < ll[0]:
        anchor = ll[0] + w * (cl - ll[0])
    elif cl > RF_CUSP_DARK:
        p = (cl - RF_CUSP_DARK) / (RF_CUSP_LIGHT - RF_CUSP_DARK)
        if p > 1.0:
            p = 1.0
        p = p * p * (3.0 - 2.0 * p)
        # and less the darker the colour is (a dim light keeps about its lightness)
        anchor = ll[0] + p * w * (ll[0] / cl) * (cl - ll[0])
    cdef double t_probe = 1.0 / threshold if threshold < 1.0 else 1.0
    # a looser tolerance for the probe than for the bisection: colours on the boundary
    # (a clipped primary) count as inside and stay exact
    if lab_inside(anchor + t_probe * (ll[0] - anchor), t_probe * aa[0], t_probe * bb[0],
                  minv, m, 1e-7):
        return False
    cdef double t_b = boundary_t(ll[0], aa[0], bb[0], anchor, t_probe, minv, m, 20)
    cdef double ratio = 1.0 / (t_b if t_b > 1e-9 else 1e-9)
    cdef double x, squeezed
    if threshold < 1.0:
        if ratio > threshold:
            x = (ratio - threshold) / (1.0 - threshold)
            squeezed = threshold + (1.0 - threshold) * x / (1.0 + x)
        else:
            squeezed = ratio
    else:
        squeezed = ratio if ratio < 1.0 else 1.0
    cdef double k = squeezed / ratio
    ll[0] = anchor + k * (ll[0] - anchor)
    aa[0] = aa[0] * k
    bb[0] = bb[0] * k
    return True
