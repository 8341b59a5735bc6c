"""Colour primitives, the bottom layer of redframe: imported by io, isp, looks, frame and
app; imports nothing of redframe but :mod:`redframe.errors` (NumPy, and its own compiled
kernels).

Modules (each cites its standard):

- :mod:`~redframe.color.chromaticity`: xy <-> XYZ, CIE 1960 (u, v) (CIE 015:2018);
- :mod:`~redframe.color.primaries`: primaries, whites, RGB <-> XYZ matrices (SMPTE RP 177);
- :mod:`~redframe.color.adaptation`: Bradford chromatic adaptation (Lam 1985);
- :mod:`~redframe.color.transfer`: sRGB (IEC 61966-2-1), BT.1886, S-Log3, LogC3, ACEScct;
- :mod:`~redframe.color.encodings`: primaries + transfer as one table of input transforms;
- :mod:`~redframe.color.luma`: Rec.2020 / Rec.709 luma weights (ITU-R BT.2020, BT.709);
- :mod:`~redframe.color.temperature`: CCT + Duv -> xy (CIE 015 daylight, Kang 2002);
- :mod:`~redframe.color.gamut`: RGB gamut boundaries in Oklab, cusp tables, and the one
  gamut compression (constant Oklab hue, toward the cusp's grey; compiled in _gamut.pyx,
  inlined by the develop's kernels from _gamut.pxd);
- :mod:`~redframe.color.dither`: position hash and TPDF dither (the NumPy definitions; the
  kernels inline their C twins from _dither.pxd).
"""

from redframe.color.adaptation import BRADFORD, bradford_matrix
from redframe.color.chromaticity import uv_to_xy, xy_to_uv, xy_to_xyz
from redframe.color.luma import LUMA_REC709, LUMA_REC2020, luminance
from redframe.color.primaries import (
    ACES_WHITE_XY,
    D50_XY,
    D65_XY,
    PRIMARIES,
    REC2020_TO_XYZ,
    SRGB_TO_XYZ,
    WHITES,
    XYZ_TO_REC2020,
    XYZ_TO_SRGB,
    rgb_to_rgb_matrix,
    rgb_to_xyz_matrix,
)
from redframe.color.temperature import cct_to_xy
from redframe.color.transfer import srgb_decode, srgb_encode

__all__ = [
    "D65_XY", "D50_XY", "ACES_WHITE_XY", "PRIMARIES", "WHITES", "xy_to_xyz", "xy_to_uv",
    "uv_to_xy", "rgb_to_xyz_matrix", "rgb_to_rgb_matrix", "SRGB_TO_XYZ", "XYZ_TO_SRGB",
    "REC2020_TO_XYZ", "XYZ_TO_REC2020", "BRADFORD", "bradford_matrix", "srgb_encode",
    "srgb_decode", "LUMA_REC2020", "LUMA_REC709", "luminance", "cct_to_xy",
]
