"""Correlated colour temperature (and Duv) -> chromaticity: the one Kelvin-to-xy.

The white of a temperature ``cct`` lies on the **CIE daylight locus** from 4000 K up
(CIE 015:2004 eq. 3.3/3.4: the locus of the D illuminants, so 6504 K is D65) and on the
**Planckian locus** below, by the cubic-spline fit of Kang et al. 2002 (1667..25000 K;
within 4e-4 in (u, v) of the true Planckian locus). A ``duv`` moves the white off that
locus along its normal in CIE 1960 (u, v).

Sign convention (one for the whole package): ``duv > 0`` is *above* the locus in (u, v),
towards green; ``duv < 0`` is below, towards magenta/pink. This is the sign of Duv in
ANSI C78.377-2017 and Ohno 2014 (there measured from the Planckian locus; here from the
locus used at that temperature, so ``cct_to_xy(6504.0)`` is D65 itself).
How callers map their user-facing tint onto it:

- ``redframe.isp.white_balance`` (``--wb 3200K+10``): the tint names the *light*, + magenta:
  ``duv = -tint / 1000``; the picture of that light then turns greener when balanced.
- ``redframe.looks.oklab.white_balance_bias`` (a look's ``[white_balance] tint``): the
  *picture* turns magenta for +: the assumed light is moved greener, ``duv = +tint / 1000``.

References
----------
CIE 015:2004 / CIE 015:2018, "Colorimetry". B. Kang, O. Moon, C. Hong, H. Lee, B. Cho,
Y. Kim, "Design of advanced color temperature control system for HDTV applications",
J. Korean Physical Society 41(6), 865-871, 2002 (also US patent 7024034). ANSI C78.377-2017.
Y. Ohno, "Practical use and calculation of CCT and Duv", LEUKOS 10(1), 47-55, 2014.
"""

from __future__ import annotations

import math

import numpy as np

from redframe.color.chromaticity import uv_to_xy, xy_to_uv

__all__ = ["CCT_RANGE", "DAYLIGHT_MIN_CCT", "daylight_locus_xy", "planckian_locus_xy",
           "cct_to_xy"]

#: Temperatures (K) :func:`cct_to_xy` accepts: the Planckian fit's range.
CCT_RANGE = (1667.0, 25000.0)
#: From this temperature (K) up, whites are taken on the daylight locus.
DAYLIGHT_MIN_CCT = 4000.0


def daylight_locus_xy(cct: float) -> tuple[float, float]:
    """CIE daylight locus at ``cct`` K (CIE 015:2004 eq. 3.3/3.4), defined 4000..25000 K."""
    t = float(cct)
    if t <= 7000.0:
        x = -4.6070e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
    else:
        x = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.237040
    return x, -3.0 * x * x + 2.870 * x - 0.275


def planckian_locus_xy(cct: float) -> tuple[float, float]:
    """Planckian locus at ``cct`` K by the cubic spline of Kang et al. 2002, 1667..25000 K."""
    t = float(cct)
    if t <= 4000.0:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222.0:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000.0:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def cct_to_xy(cct: float, duv: float = 0.0) -> tuple[float, float]:
    """CIE 1931 chromaticity of a white of correlated colour temperature ``cct``.

    Parameters
    ----------
    cct : float
        Temperature in kelvin, within :data:`CCT_RANGE`. From :data:`DAYLIGHT_MIN_CCT`
        up the white is on the CIE daylight locus, below on the Planckian locus.
    duv : float, optional
        Distance off that locus in CIE 1960 (u, v) units, along the locus normal:
        positive above (greener), negative below (more magenta), see the module
        docstring. User tints "x 1000" pass ``tint / 1000``.

    Returns
    -------
    tuple of float
        (x, y).

    Raises
    ------
    ValueError
        ``cct`` outside :data:`CCT_RANGE` or not finite, ``duv`` not finite.

    Notes
    -----
    The normal is the tangent of the same locus, by a central difference over
    ``cct * 0.99 .. cct * 1.01``, turned to point to +v.

    Examples
    --------
    >>> [round(c, 4) for c in cct_to_xy(6504.0)]  # D65 (0.3127, 0.3290)
    [0.3127, 0.3291]
    >>> [round(c, 4) for c in cct_to_xy(2856.0)]  # CIE illuminant A is (0.4476, 0.4074)
    [0.4471, 0.4075]
    """
    t = float(cct)
    if not (math.isfinite(t) and CCT_RANGE[0] <= t <= CCT_RANGE[1]):
        raise ValueError(f"colour temperature must be {CCT_RANGE[0]:.0f}..{CCT_RANGE[1]:.0f} K,"
                         f" got {cct!r}")
    if not math.isfinite(duv):
        raise ValueError(f"duv must be a finite number, got {duv!r}")
    locus = daylight_locus_xy if t >= DAYLIGHT_MIN_CCT else planckian_locus_xy
    x, y = locus(t)
    if duv:
        u0, v0 = xy_to_uv(*locus(t * 0.99))
        u1, v1 = xy_to_uv(*locus(t * 1.01))
        tu, tv = u1 - u0, v1 - v0
        n = np.hypot(tu, tv)
        nu, nv = -tv / n, tu / n
        if nv < 0:
            nu, nv = -nu, -nv
        u, v = xy_to_uv(x, y)
        x, y = uv_to_xy(u + nu * duv, v + nv * duv)
    return x, y
