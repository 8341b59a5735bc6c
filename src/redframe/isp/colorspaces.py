"""RGB colour spaces we work in and output to, and their transfer functions.

Matrices are derived from primaries and white point (SMPTE RP 177), not typed in:
sRGB / Rec.709 (IEC 61966-2-1), Display P3 (SMPTE EG 432-1 primaries, D65, sRGB curve) and
Rec.2020 (ITU-R BT.2020), all with a D65 white. The working space is linear Rec.2020.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "D65_XY", "PRIMARIES", "rgb_to_xyz_matrix", "XYZ_TO_SRGB", "SRGB_TO_XYZ", "REC2020_TO_XYZ",
    "XYZ_TO_REC2020", "rgb_to_rgb_matrix", "srgb_encode", "srgb_decode", "bradford_matrix",
]

D65_XY = (0.3127, 0.3290)
D50_XY = (0.3457, 0.3585)

PRIMARIES = {
    "srgb": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "rec2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
    "adobe-rgb": ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060)),
}


def xy_to_xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def rgb_to_xyz_matrix(space: str, white_xy: tuple[float, float] = D65_XY) -> np.ndarray:
    """The 3x3 matrix M with XYZ = M @ RGB for a linear RGB space (SMPTE RP 177-1993)."""
    primaries = np.stack([xy_to_xyz(p) for p in PRIMARIES[space]], axis=1)
    scale = np.linalg.solve(primaries, xy_to_xyz(white_xy))
    return primaries * scale


def rgb_to_rgb_matrix(source: str, target: str) -> np.ndarray:
    """Linear ``source`` RGB -> linear ``target`` RGB (both D65)."""
    return np.linalg.inv(rgb_to_xyz_matrix(target)) @ rgb_to_xyz_matrix(source)


def bradford_matrix(source_xy: tuple[float, float], target_xy: tuple[float, float]) -> np.ndarray:
    """Chromatic adaptation XYZ(source white) -> XYZ(target white), Bradford (Lam 1985)."""
    bradford = np.array([[0.8951, 0.2664, -0.1614],
                         [-0.7502, 1.7135, 0.0367],
                         [0.0389, -0.0685, 1.0296]])
    src = bradford @ xy_to_xyz(source_xy)
    dst = bradford @ xy_to_xyz(target_xy)
    return np.linalg.inv(bradford) @ np.diag(dst / src) @ bradford


SRGB_TO_XYZ = rgb_to_xyz_matrix("srgb")
XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)
REC2020_TO_XYZ = rgb_to_xyz_matrix("rec2020")
XYZ_TO_REC2020 = np.linalg.inv(REC2020_TO_XYZ)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 encoding (also Display P3's): linear [0, 1] -> non-linear [0, 1].

    Values outside [0, 1] are clipped: this is an output transform.
    """
    x = np.clip(linear, 0.0, 1.0, dtype=np.float32)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(
        np.float32
    )


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_encode`: non-linear [0, 1] -> linear [0, 1], float32."""
    x = np.asarray(encoded, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)
