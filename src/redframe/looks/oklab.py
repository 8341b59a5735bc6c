"""Oklab on linear Rec.2020, gamut boundaries in it, and the white-balance bias matrix.

Oklab (B. Ottosson, "A perceptual color space for image processing", 2020,
https://bottosson.github.io/posts/oklab/) is the engine's perceptual space: lightness L
(0 black .. 1 diffuse white), opponent axes a/b, and in polar form chroma C and hue h.
Hue lines in Oklab are close to constant perceived hue (better than CIELAB in the blues),
so scaling chroma at constant L and h changes colourfulness without hue shifts.

Input and output here are linear Rec.2020 (D65), the working space of the pipeline.
"""

from __future__ import annotations

import numpy as np

from redframe.color import (
    REC2020_TO_XYZ,
    XYZ_TO_REC2020,
    bradford_matrix,
    cct_to_xy,
    rgb_to_rgb_matrix,
)
from redframe.color.oklab import LMS_TO_OKLAB, LMS_TO_REC2020, OKLAB_TO_LMS, REC2020_TO_LMS
from redframe.looks._oklab import bisect_line

__all__ = [
    "rec2020_to_oklab",
    "oklab_to_rec2020",
    "boundary_chroma",
    "cusp",
    "boundary_along",
    "white_balance_bias",
]

_M2 = LMS_TO_OKLAB
_RGB_TO_LMS = REC2020_TO_LMS
_LMS_TO_RGB = LMS_TO_REC2020
_M2_INV = OKLAB_TO_LMS


def rec2020_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """Linear Rec.2020 (..., 3) -> Oklab (..., 3), float64. Negative light is allowed."""
    lms = np.asarray(rgb, np.float64) @ _RGB_TO_LMS.T
    return np.cbrt(lms) @ _M2.T


def oklab_to_rec2020(lab: np.ndarray, space: str = "rec2020") -> np.ndarray:
    """Oklab (..., 3) -> linear RGB of ``space`` (default Rec.2020), float64, unclipped."""
    lms = (np.asarray(lab, np.float64) @ _M2_INV.T) ** 3
    m = _LMS_TO_RGB if space == "rec2020" else rgb_to_rgb_matrix("rec2020", space) @ _LMS_TO_RGB
    return lms @ m.T


def boundary_chroma(
    lightness: np.ndarray, hue: np.ndarray, space: str, iterations: int = 20
) -> np.ndarray:
    """Largest Oklab chroma at (L, h) (h in radians) whose ``space`` RGB lies in [0, 1]^3.

    Along a ray of constant L and h from the grey axis the RGB cube is left once, so a
    bisection on chroma finds the boundary (Ottosson's gamut clipping solves the same
    cubic with Halley's method; bisection is simpler and exact enough for tables).
    """
    lightness = np.asarray(lightness, np.float64)
    hue = np.broadcast_to(np.asarray(hue, np.float64), lightness.shape)
    top = 0.5  # beyond every RGB gamut's chroma in Oklab
    return top * boundary_along(lightness, top * np.cos(hue), top * np.sin(hue), lightness,
                                space, 1.0, iterations)


_CUSPS: dict = {}


def cusp(hue: np.ndarray, space: str) -> tuple[np.ndarray, np.ndarray]:
    """(L, C) in Oklab of the gamut's cusp (its most chromatic colour) at hue ``hue``
    (radians), from a table over 1-degree steps (built once per space)."""
    if space not in _CUSPS:
        hues = np.radians(np.arange(0.0, 361.0))
        ls = np.linspace(0.02, 0.99, 195)
        c = boundary_chroma(np.broadcast_to(ls[None, :], (361, ls.size)),
                            np.broadcast_to(hues[:, None], (361, ls.size)), space)
        _CUSPS[space] = (ls[np.argmax(c, axis=1)], np.max(c, axis=1))
    deg = np.degrees(hue) % 360.0
    grid = np.arange(0.0, 361.0)
    return np.interp(deg, grid, _CUSPS[space][0]), np.interp(deg, grid, _CUSPS[space][1])


def boundary_along(lightness, a, b, anchor, space: str, t_max, iterations: int = 20):
    """Largest t in [0, t_max] with the colour ``anchor + t * ((L, a, b) - anchor)`` inside
    ``space``'s [0, 1]^3, for an ``anchor`` (L0, 0, 0) on the grey axis (inside), by
    bisection (along such a line the cube is left once)."""
    m = _LMS_TO_RGB if space == "rec2020" else rgb_to_rgb_matrix("rec2020", space) @ _LMS_TO_RGB
    shape = np.shape(lightness)
    flat = [np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.float64), shape)).ravel()
            for v in (lightness, a, b, anchor, t_max)]
    out = bisect_line(*flat, np.ascontiguousarray(_M2_INV), np.ascontiguousarray(m),
                       iterations)
    return out.reshape(shape)


D65_CCT = 6504.0


def white_balance_bias(warmth: float, tint: float) -> np.ndarray:
    """3x3 linear Rec.2020 matrix shifting the rendering's white balance.

    ``warmth`` (mired): the scene is rendered as if its light had been ``warmth`` mired
    *bluer* than the camera assumed, so the picture turns warmer (+) or cooler (-).
    ``tint`` (Duv x 1000 in CIE 1960 uv): the assumed light is moved off the daylight
    locus toward green (+, ``duv = tint / 1000`` in :func:`redframe.color.cct_to_xy`'s
    convention), so the picture turns magenta (+) or green (-). The shift is a Bradford
    adaptation (Lam 1985) from that light to the daylight white at 6504 K.
    """
    if warmth == 0.0 and tint == 0.0:
        return np.eye(3)
    mired = 1e6 / D65_CCT - warmth
    cct = 1e6 / max(mired, 1.0)
    cat = bradford_matrix(cct_to_xy(cct, tint / 1000.0), cct_to_xy(D65_CCT))
    return XYZ_TO_REC2020 @ cat @ REC2020_TO_XYZ
