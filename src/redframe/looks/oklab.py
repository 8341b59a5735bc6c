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
from redframe.color.gamut import boundary_along, boundary_chroma, cusp
from redframe.color.oklab import LMS_TO_OKLAB, LMS_TO_REC2020, OKLAB_TO_LMS, REC2020_TO_LMS

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
