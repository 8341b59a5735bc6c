"""Output transform: linear Rec.2020 (display-referred, [0, 1]) -> encoded sRGB or
Display P3.

Colours outside the output gamut are compressed toward the achromatic axis with the form of
the ACES Reference Gamut Compression (Academy S-2021-001, 2021): per channel, the distance
from the pixel's largest component, ``d = (max - c) / max``, is left alone below
``GAMUT_THRESHOLD`` and smoothly compressed above it so that ``GAMUT_LIMIT`` lands on the
gamut boundary. The largest component is kept, so a deep red stays a deep red (a
per-channel clip turns it orange, desaturating toward luminance turns it pink). Then the
sRGB transfer curve (IEC 61966-2-1; Display P3 uses the same) encodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.color import rgb_to_rgb_matrix
from redframe.isp.color import apply_matrix
from redframe.isp.pixel import gamut_rgb_np, srgb_encode_np
from redframe.isp.stage import Stage
from redframe.params import param, validate

__all__ = ["OutputParams", "output_transform", "gamut_compress", "gamut_vector", "OUTPUT_SPACES",
           "STAGE"]

OUTPUT_SPACES = ("srgb", "display-p3")


@dataclass
class OutputParams:
    space: str = param("srgb", choices=OUTPUT_SPACES, doc="output colour space")

    def __post_init__(self):
        validate(self, "output")


GAMUT_THRESHOLD = 0.97  # distances below this are untouched (in-gamut colours stay exact)
GAMUT_LIMIT = 1.6  # the distance that is compressed onto the boundary (d = 1)
GAMUT_POWER = 1.0  # ACES uses 1.2; 1.0 (a Reinhard-shaped knee) needs no pow() per pixel


def _gamut_scale() -> float:
    t, lim, p = GAMUT_THRESHOLD, GAMUT_LIMIT, GAMUT_POWER
    return (lim - t) / (((1 - t) / (lim - t)) ** -p - 1) ** (1 / p)


def gamut_vector() -> np.ndarray:
    """(threshold, scale, power) as :func:`redframe.isp.pixel.gamut_rgb` takes them."""
    return np.array([GAMUT_THRESHOLD, _gamut_scale(), GAMUT_POWER], np.float64)


def gamut_compress(rgb: np.ndarray) -> np.ndarray:
    """ACES-RGC-style compression of out-of-gamut (negative) components of (..., 3) linear
    RGB, then clip >= 0 (:func:`redframe.isp.pixel.gamut_rgb` on every pixel)."""
    return gamut_rgb_np(np.asarray(rgb, dtype=np.float32), gamut_vector())


def output_transform(rgb2020: np.ndarray, params: OutputParams) -> np.ndarray:
    """Linear Rec.2020 -> the output space's primaries, gamut compression, sRGB curve."""
    if params.space not in OUTPUT_SPACES:
        raise ValueError(f"output space must be one of {OUTPUT_SPACES}, got {params.space!r}")
    rgb = apply_matrix(rgb2020, rgb_to_rgb_matrix("rec2020", params.space))
    return srgb_encode_np(gamut_compress(rgb))


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return output_transform(x, ctx.params.output)


STAGE = Stage(
    name="output",
    params="output",
    reads="display-referred linear Rec.2020 in [0, 1]",
    writes="encoded sRGB or Display P3 in [0, 1] (float32)",
    apply=_apply,
    cite="gamut compression after ACES RGC, Academy S-2021-001; sRGB curve IEC 61966-2-1; "
         "Display P3 SMPTE EG 432-1",
)
