"""RGB colour spaces by their primaries and white, and the matrices between them and XYZ.

Matrices are derived from the primaries and the white point by SMPTE RP 177-1993,
"Derivation of Basic Television Color Equations", not typed in, so every space is exact to
the precision of its definition: sRGB / Rec.709 (IEC 61966-2-1:1999, ITU-R BT.709-6),
Display P3 (SMPTE EG 432-1 primaries, D65), Rec.2020 (ITU-R BT.2020-2), Adobe RGB (1998),
and the camera log gamuts the video encodings use: S-Gamut3.Cine (Sony 2014), ARRI Wide
Gamut 3 (ARRI 2017) and ACES AP1 (SMPTE ST 2065-1 / Academy S-2014-004, ACES white).
The working space of the pipeline is linear Rec.2020 with a D65 white.

References
----------
SMPTE RP 177-1993. IEC 61966-2-1:1999. ITU-R BT.709-6 (2015). ITU-R BT.2020-2 (2015).
CIE 015:2018 "Colorimetry", 4th ed. (D65 and D50 chromaticities, 2-degree observer).
"""

from __future__ import annotations

import numpy as np

from redframe.color.adaptation import bradford_matrix
from redframe.color.chromaticity import xy_to_xyz

__all__ = [
    "D65_XY", "D50_XY", "ACES_WHITE_XY", "PRIMARIES", "WHITES",
    "rgb_to_xyz_matrix", "rgb_to_rgb_matrix", "SRGB_TO_XYZ", "XYZ_TO_SRGB", "REC2020_TO_XYZ",
    "XYZ_TO_REC2020",
]

#: CIE standard illuminant D65, CIE 1931 xy (4 decimals, as the RGB standards use it).
D65_XY = (0.3127, 0.3290)
#: CIE illuminant D50, the ICC profile connection space white.
D50_XY = (0.3457, 0.3585)
#: The ACES white (Academy S-2014-004), close to D60.
ACES_WHITE_XY = (0.32168, 0.33767)

#: space -> (red, green, blue) CIE 1931 xy primaries.
PRIMARIES = {
    "srgb": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "rec2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
    "adobe-rgb": ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060)),
    "s-gamut3.cine": ((0.766, 0.275), (0.225, 0.800), (0.089, -0.087)),
    "arri-wide-gamut-3": ((0.6840, 0.3130), (0.2210, 0.8480), (0.0861, -0.1020)),
    "aces-ap1": ((0.713, 0.293), (0.165, 0.830), (0.128, 0.044)),
}
#: space -> its white, CIE 1931 xy (D65 for every space not listed).
WHITES = {"aces-ap1": ACES_WHITE_XY}


def _primaries(space) -> tuple[tuple, tuple[float, float]]:
    if isinstance(space, str):
        if space not in PRIMARIES:
            raise ValueError(f"unknown RGB colour space {space!r}; known: {', '.join(PRIMARIES)}")
        return PRIMARIES[space], WHITES.get(space, D65_XY)
    return tuple(space), D65_XY


def rgb_to_xyz_matrix(space, white_xy: tuple[float, float] | None = None) -> np.ndarray:
    """The 3x3 matrix M with XYZ = M @ RGB for a linear RGB space (SMPTE RP 177-1993).

    Parameters
    ----------
    space : str or sequence of three (x, y)
        A name of :data:`PRIMARIES` or the red, green, blue primaries themselves.
    white_xy : tuple of float, optional
        The white (R = G = B = 1 maps to it, with Y = 1); default the space's own white
        (:data:`WHITES`, D65 unless listed; D65 for bare primaries).

    Returns
    -------
    numpy.ndarray
        (3, 3) float64. No chromatic adaptation: XYZ is relative to the space's white.

    Notes
    -----
    The columns are the primaries' XYZ (``xy_to_xyz`` of each), each scaled so that they
    sum to the white's XYZ: ``M = P diag(P^-1 W)`` (RP 177 eq. 6-7).

    Examples
    --------
    >>> rgb_to_xyz_matrix("srgb")[1].round(4).tolist()  # the Y row: Rec.709 luma weights
    [0.2126, 0.7152, 0.0722]
    """
    primaries, own_white = _primaries(space)
    white = own_white if white_xy is None else white_xy
    p = np.stack([xy_to_xyz(xy) for xy in primaries], axis=1)
    return p * np.linalg.solve(p, xy_to_xyz(white))


def rgb_to_rgb_matrix(source, target) -> np.ndarray:
    """Linear ``source`` RGB -> linear ``target`` RGB, 3x3 float64.

    Both are names of :data:`PRIMARIES` (or primaries, taken as D65). Where the whites
    differ the white of ``source`` is adapted to that of ``target`` with Bradford
    (:func:`redframe.color.bradford_matrix`), so source white maps to target white.
    """
    _, w_src = _primaries(source)
    _, w_dst = _primaries(target)
    m = rgb_to_xyz_matrix(source)
    if w_src != w_dst:
        m = bradford_matrix(w_src, w_dst) @ m
    return np.linalg.inv(rgb_to_xyz_matrix(target)) @ m


SRGB_TO_XYZ = rgb_to_xyz_matrix("srgb")
XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)
REC2020_TO_XYZ = rgb_to_xyz_matrix("rec2020")
XYZ_TO_REC2020 = np.linalg.inv(REC2020_TO_XYZ)
