"""Scenes with known colorimetry, as linear CIE XYZ images (Y = 1 is a perfect white).

- :func:`colorchecker_xyz`: the 24 ColorChecker patches from their spectral reflectances
  (colour-science's "ColorChecker N Ohta" data) under an illuminant, CIE 1931 2 deg observer.
- :func:`natural_xyz`: an sRGB photograph (e.g. bundled with scikit-image) decoded to
  linear light and taken as the scene's reflectances under D65.
- :func:`hdr_xyz`: a synthetic radiance map spanning ``ev_range`` stops with textured
  regions at each end and hard edges between them (local tone mapping tests).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from redframe.color import SRGB_TO_XYZ, srgb_decode

__all__ = [
    "colorchecker_xyz",
    "illuminant_xyz",
    "colorchecker_image",
    "natural_xyz",
    "hdr_xyz",
    "PATCH_NAMES",
    "SKIN_PATCHES",
]

PATCH_NAMES = (
    "dark skin",
    "light skin",
    "blue sky",
    "foliage",
    "blue flower",
    "bluish green",
    "orange",
    "purplish blue",
    "moderate red",
    "purple",
    "yellow green",
    "orange yellow",
    "blue",
    "green",
    "red",
    "yellow",
    "magenta",
    "cyan",
    "white 9.5",
    "neutral 8",
    "neutral 6.5",
    "neutral 5",
    "neutral 3.5",
    "black 2",
)
SKIN_PATCHES = (0, 1)


@lru_cache(maxsize=8)
def _colorchecker_xyz_cached(illuminant: str) -> np.ndarray:
    import colour

    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    shape = colour.SpectralShape(380, 780, 5)
    cmfs = cmfs.copy().align(shape)
    if illuminant.upper().endswith("K"):
        ill = colour.sd_blackbody(float(illuminant[:-1]), shape)
    else:
        ill = colour.SDS_ILLUMINANTS[illuminant].copy().align(shape)
    sds = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    out = []
    for name in sds:
        sd = sds[name].copy().align(shape)
        out.append(colour.sd_to_XYZ(sd, cmfs, ill) / 100.0)
    return np.array(out, dtype=np.float64)


def illuminant_xyz(illuminant: str = "D65") -> np.ndarray:
    """XYZ of the illuminant's white (Y = 1): "D65", "A", or a blackbody such as "3200K"."""
    import colour

    shape = colour.SpectralShape(380, 780, 5)
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"].copy().align(shape)
    if illuminant.upper().endswith("K"):
        sd = colour.sd_blackbody(float(illuminant[:-1]), shape)
    else:
        sd = colour.SDS_ILLUMINANTS[illuminant].copy().align(shape)
    xyz = colour.sd_to_XYZ(sd, cmfs)
    return np.asarray(xyz / xyz[1], dtype=np.float64)


def colorchecker_xyz(illuminant: str = "D65") -> np.ndarray:
    """(24, 3) XYZ of the patches under ``illuminant`` ("D65", "A", or "3200K" blackbody),
    normalised so that the perfect reflecting diffuser has Y = 1."""
    return _colorchecker_xyz_cached(illuminant).copy()


def colorchecker_image(
    xyz: np.ndarray, patch: int = 48, gap: int = 8, surround: float | None = None
) -> tuple[np.ndarray, list]:
    """Lay out (24, 3) patch values as a 4x6 chart on a neutral surround.

    ``surround``: the surround's luminance Y (a D65 grey); None: 0.3 x neutral 5 (Y 0.06,
    a dim grey). A near-black surround (0.005, a chart on black card) gives the frame a
    scene range of ~9 EV, as a real chart shot has: local tone mapping then acts on it.
    Returns the (H, W, 3) image and the patch centres' slices (for measuring means of the
    inner half of each patch, away from demosaic edges).
    """
    rows, cols = 4, 6
    h, w = rows * (patch + gap) + gap, cols * (patch + gap) + gap
    img = np.empty((h, w, 3), np.float64)
    if surround is None:
        img[:] = xyz[21] * 0.3  # a dim neutral surround
    else:
        img[:] = np.array([0.9505, 1.0, 1.0890]) * float(surround)
    boxes = []
    q = patch // 4
    for i in range(24):
        r, c = divmod(i, cols)
        y, x = gap + r * (patch + gap), gap + c * (patch + gap)
        img[y : y + patch, x : x + patch] = xyz[i]
        boxes.append((slice(y + q, y + patch - q), slice(x + q, x + patch - q)))
    return img, boxes


def natural_xyz(name: str = "astronaut", size: int | None = 512) -> np.ndarray:
    """A scikit-image sample photo as linear XYZ (D65), optionally centre-cropped to ``size``."""
    from skimage import data

    rgb = getattr(data, name)()
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    rgb = rgb[..., :3]
    if size is not None:
        h, w = rgb.shape[:2]
        y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
        rgb = rgb[y : y + size, x : x + size]
    lin = srgb_decode(rgb.astype(np.float32) / 255.0).astype(np.float64)
    return lin @ SRGB_TO_XYZ.T


def hdr_xyz(
    shape: tuple[int, int] = (384, 512), ev_range: float = 14.0, seed: int = 0
) -> tuple[np.ndarray, dict[str, tuple[slice, slice]]]:
    """A neutral radiance map: a dark room (left) and a bright window (right), ``ev_range``
    stops apart, each with a low-contrast texture (+-20 %) so that detail can be measured.

    Returns XYZ (the window's mean at Y = 1.0 * 2**(ev_range/2 - 4)) and the regions
    ``{"shadow": ..., "highlight": ..., "edge_shadow": ..., "edge_highlight": ...}``.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    texture = 1.0 + 0.2 * np.sin(xx / 3.0) * np.sin(yy / 5.0)
    texture *= 1.0 + 0.05 * rng.standard_normal((h, w))
    mid = 0.18
    dark = mid * 2.0 ** (-ev_range / 2)
    bright = mid * 2.0 ** (ev_range / 2)
    y = np.where(xx < w // 2, dark, bright) * texture
    xyz = y[..., None] * np.array([0.9505, 1.0, 1.0890])
    q = w // 8
    regions = {
        "shadow": (slice(h // 4, 3 * h // 4), slice(q, w // 2 - 2 * q)),
        "highlight": (slice(h // 4, 3 * h // 4), slice(w // 2 + 2 * q, w - q)),
        "edge_shadow": (slice(h // 4, 3 * h // 4), slice(w // 2 - 6, w // 2 - 2)),
        "edge_highlight": (slice(h // 4, 3 * h // 4), slice(w // 2 + 2, w // 2 + 6)),
    }
    return xyz, regions
