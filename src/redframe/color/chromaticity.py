"""Chromaticity coordinates: CIE 1931 xy <-> XYZ, and the CIE 1960 UCS (u, v).

CIE 015:2018 "Colorimetry", 4th ed.: the xy chromaticity diagram and the CIE 1960 uniform
chromaticity scale (u, v) (MacAdam 1937) in which correlated colour temperature and Duv
are measured. ``u = 4x / (-2x + 12y + 3)``, ``v = 6y / (-2x + 12y + 3)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["xy_to_xyz", "xy_to_uv", "uv_to_xy"]


def xy_to_xyz(xy: tuple[float, float]) -> np.ndarray:
    """CIE 1931 chromaticity (x, y) -> tristimulus XYZ with Y = 1.

    Parameters
    ----------
    xy : tuple of float
        Chromaticity coordinates, ``y > 0``.

    Returns
    -------
    numpy.ndarray
        (3,) float64 ``(x / y, 1, (1 - x - y) / y)``.

    Examples
    --------
    >>> xy_to_xyz((0.3127, 0.3290)).round(4).tolist()
    [0.9505, 1.0, 1.0891]
    """
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def xy_to_uv(x: float, y: float) -> tuple[float, float]:
    """CIE 1931 (x, y) -> CIE 1960 UCS (u, v).

    Examples
    --------
    >>> [round(c, 4) for c in xy_to_uv(0.3127, 0.3290)]
    [0.1978, 0.3122]
    """
    d = -2 * x + 12 * y + 3
    return 4 * x / d, 6 * y / d


def uv_to_xy(u: float, v: float) -> tuple[float, float]:
    """CIE 1960 UCS (u, v) -> CIE 1931 (x, y), the inverse of :func:`xy_to_uv`."""
    d = 2 * u - 8 * v + 4
    return 3 * u / d, 2 * v / d
