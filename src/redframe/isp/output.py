"""Output transform: linear Rec.2020 (display-referred, [0, 1]) -> encoded sRGB or
Display P3.

Colours outside the output gamut are compressed into it by redframe's one gamut
compression (:mod:`redframe.color.gamut`, the looks' too): along constant Oklab hue
(Ottosson 2020), toward the grey at the hue's cusp lightness (the CUSP direction of CIE
156:2004, adaptive as in Ottosson's "sRGB gamut clipping", 2021), rolled off from
``GAMUT_THRESHOLD`` of the way to the boundary, so colours inside stay exact and distinct
colours outside stay distinct. Per-channel clipping never decides a colour: a saturated
green LED stays green on its way to white instead of turning yellow or cyan (the
"notorious six" of per-channel mapping). Then the sRGB transfer curve (IEC 61966-2-1;
Display P3 uses the same) encodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.color import rgb_to_rgb_matrix
from redframe.color.gamut import cusp_table, lms_to_rgb
from redframe.isp.color import apply_matrix
from redframe.isp.pixel import gamut_oklab_np, srgb_encode_np
from redframe.isp.stage import Stage
from redframe.params import param, validate

__all__ = ["OutputParams", "output_transform", "gamut_compress", "gamut_table", "OUTPUT_SPACES",
           "GAMUT_THRESHOLD", "STAGE"]

OUTPUT_SPACES = ("srgb", "display-p3")


@dataclass
class OutputParams:
    space: str = param("srgb", choices=OUTPUT_SPACES, doc="output colour space")

    def __post_init__(self):
        validate(self, "output")


#: Fraction of the way to the gamut boundary (along a colour's line to its anchor grey) from
#: which colours are compressed; closer to the grey they are exact.
GAMUT_THRESHOLD = 0.97

_TABLES: dict[str, np.ndarray] = {}


def gamut_table(space: str) -> np.ndarray:
    """The (750,) float64 table :func:`redframe.isp.pixel.gamut_oklab` takes for ``space``
    ("srgb", "display-p3", "rec2020"): threshold, the three matrices, the cusp tables."""
    if space not in _TABLES:
        cusp_l, cusp_c = cusp_table(space)
        _TABLES[space] = np.concatenate([
            [GAMUT_THRESHOLD],
            rgb_to_rgb_matrix(space, "rec2020").ravel(),
            lms_to_rgb(space).ravel(),
            rgb_to_rgb_matrix("rec2020", space).ravel(),
            cusp_l, cusp_c]).astype(np.float64)
    return _TABLES[space]


def gamut_compress(rgb: np.ndarray, space: str = "srgb") -> np.ndarray:
    """(..., 3) linear RGB of ``space`` compressed into its gamut and clipped to [0, 1]
    (:func:`redframe.isp.pixel.gamut_oklab` on every pixel)."""
    return gamut_oklab_np(np.asarray(rgb, dtype=np.float32), gamut_table(space))


def output_transform(rgb2020: np.ndarray, params: OutputParams) -> np.ndarray:
    """Linear Rec.2020 -> the output space's primaries, gamut compression, sRGB curve."""
    if params.space not in OUTPUT_SPACES:
        raise ValueError(f"output space must be one of {OUTPUT_SPACES}, got {params.space!r}")
    rgb = apply_matrix(rgb2020, rgb_to_rgb_matrix("rec2020", params.space))
    return srgb_encode_np(gamut_compress(rgb, params.space))


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return output_transform(x, ctx.params.output)


STAGE = Stage(
    name="output",
    params="output",
    reads="display-referred linear Rec.2020 in [0, 1]",
    writes="encoded sRGB or Display P3 in [0, 1] (float32)",
    apply=_apply,
    cite="gamut compression in Oklab along constant hue toward the cusp's grey (Ottosson "
         "2020, 2021; CIE 156:2004); sRGB curve IEC 61966-2-1; Display P3 SMPTE EG 432-1",
)
