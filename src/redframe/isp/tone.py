"""The tone parameters and the global filmic tone curve (the ``tone_curve`` stage).

Reads linear Rec.2020 scene light, writes display-referred linear Rec.2020 in [0, 1],
ready for the output transform. :class:`ToneParams` also holds the parameters of the
``exposure`` (:mod:`redframe.isp.exposure`) and ``local_tone_map``
(:mod:`redframe.isp.local_tone`) stages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from redframe.color import LUMA_REC2020
from redframe.isp.filters import weighted_sum
from redframe.isp.pixel import MID_GREY, filmic_np, tone_rgb_np
from redframe.isp.stage import Stage, is_raw
from redframe.params import param, validate

__all__ = ["ToneParams", "NEUTRAL_TONE", "display_to_scene", "scene_to_display",
           "MID_GREY", "luminance",
           "tone_vector", "filmic_curve", "tone_curve", "STAGE"]


@dataclass
class ToneParams:
    """Exposure in EV; local tone mapping; the filmic curve (scene -> display light)."""

    exposure: float = param(0.0, lo=-10.0, hi=10.0, unit="EV",
                            doc="exposure added to the camera's")
    auto_exposure: bool = param(False, doc="meter the scene: log-average key, Reinhard 2002")
    local: float = param(1.0, lo=0.0, hi=1.0,
                         doc="local tone mapping strength, 0 = off")
    target_range: float = param(6.0, lo=5.0, hi=12.0, unit="EV",
                                doc="base-layer range the display keeps")
    detail: float = param(1.0, lo=0.5, hi=2.0,
                          doc="local contrast of the detail layer, 1 = as shot")
    contrast: float = param(1.0, lo=0.5, hi=2.0, unit="log-log slope",
                            doc="slope of the tone curve at mid-grey")
    #: up to 0.98 as the looks allow (redframe.looks.params.Tone)
    shoulder: float = param(0.8, lo=0.5, hi=0.98, unit="display",
                            doc="display value where the highlight roll-off starts")
    white: float = param(4.0, lo=1.0, hi=64.0, unit="scene",
                         doc="scene value rendered as display white")
    toe: float = param(0.0, lo=0.0, hi=1.0, doc="shadow compression, 0 = linear shadows")
    black: float = param(0.0, lo=0.0, hi=0.05, unit="display", doc="display black level")

    def __post_init__(self):
        validate(self, "tone")


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec.2020 relative luminance Y of (H, W, 3) linear light, float32."""
    return weighted_sum(rgb, LUMA_REC2020) if rgb.ndim == 3 else rgb


def tone_vector(params: ToneParams) -> np.ndarray:
    """The curve's parameters as :func:`redframe.isp.pixel.filmic` takes them: (contrast,
    shoulder, span = 1 - shoulder, k, toe, black) with ``k`` scaling the tanh so that
    ``white`` (after the contrast power) lands at 0.999 of the shoulder's range."""
    white = (
        params.white
        if params.contrast == 1.0
        else MID_GREY * (params.white / MID_GREY) ** params.contrast
    )
    span = 1.0 - params.shoulder
    k = math.atanh(0.999) * span / max(white - params.shoulder, 1e-3)
    return np.array([params.contrast, params.shoulder, span, k, params.toe, params.black],
                    dtype=np.float64)


def filmic_curve(x: np.ndarray, params: ToneParams) -> np.ndarray:
    """Scene value -> display value in [0, 1]: power contrast around mid-grey, optional toe,
    a C1-continuous tanh shoulder from ``params.shoulder`` reaching 1 at ``params.white``
    (:func:`redframe.isp.pixel.filmic` on every value). float32 out."""
    x = np.asarray(x)
    x = x if x.dtype == np.float64 else x.astype(np.float32, copy=False)
    return filmic_np(x, tone_vector(params)).astype(np.float32, copy=False)


def tone_curve(rgb: np.ndarray, params: ToneParams) -> np.ndarray:
    """Apply :func:`filmic_curve` to linear Rec.2020 keeping hue: the curve runs on the
    pixel's max channel and scales the others by the same ratio; in the shoulder the
    colour moves toward white at constant Oklab hue, its lightness rising monotonically,
    so very bright colours desaturate to white as film and our eyes do, without a hue
    swing or a jump (:func:`redframe.isp.pixel.tone_rgb` on every pixel)."""
    return tone_rgb_np(np.asarray(rgb, dtype=np.float32), tone_vector(params))


#: The tone curve of the ``neutral`` look: decoded pictures (display light) are taken back
#: to scene light through its inverse (:func:`display_to_scene`) wherever scene light is
#: needed (a look, an exposure change), so the neutral rendering leaves them as they are.
NEUTRAL_TONE = ToneParams(contrast=1.0, shoulder=0.9, white=16.0)

_INVERSE_TABLES: dict = {}


def display_to_scene(rgb: np.ndarray, tone: ToneParams = NEUTRAL_TONE) -> np.ndarray:
    """Inverse of :func:`filmic_curve` on max(RGB), ratios kept (hue and saturation kept):
    display light [0, 1] -> scene light; the exact inverse of :func:`scene_to_display`.
    The curve is monotonic; it is inverted by interpolation in a dense table. (It is not
    the inverse of :func:`tone_curve`, which also desaturates toward white near white.)"""
    key = (tone.contrast, tone.shoulder, tone.white, tone.toe, tone.black)
    if key not in _INVERSE_TABLES:
        x = np.concatenate([[0.0], np.geomspace(1e-7, tone.white * 1.5, 8192)]).astype(np.float32)
        y = filmic_curve(x, tone).astype(np.float64)
        keep = np.concatenate([[True], np.diff(y) > 0])
        _INVERSE_TABLES[key] = (y[keep], x[keep].astype(np.float64))
    ys, xs = _INVERSE_TABLES[key]
    rgb = np.clip(np.asarray(rgb, np.float32), 0.0, 1.0)
    top = np.max(rgb, axis=-1)
    scene_top = np.interp(top, ys, xs).astype(np.float32)
    ratio = scene_top / np.maximum(top, np.float32(1e-12))
    return (rgb * ratio[..., None]).astype(np.float32)


def scene_to_display(rgb: np.ndarray, tone: ToneParams = NEUTRAL_TONE) -> np.ndarray:
    """:func:`filmic_curve` on max(RGB), ratios kept: scene light -> display light [0, 1],
    hue and saturation kept (no desaturation toward white); inverse of
    :func:`display_to_scene`."""
    rgb = np.maximum(np.asarray(rgb, np.float32), np.float32(0.0))
    top = np.max(rgb, axis=-1)
    ratio = filmic_curve(top, tone) / np.maximum(top, np.float32(1e-12))
    return np.minimum(rgb * ratio[..., None], np.float32(1.0)).astype(np.float32)


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return tone_curve(x, ctx.params.tone)


STAGE = Stage(
    name="tone_curve",
    params="tone",
    reads="linear Rec.2020 scene light",
    writes="display-referred linear Rec.2020 in [0, 1]",
    apply=_apply,
    cite="ours: a power contrast about mid-grey, a toe and a tanh shoulder on max(RGB) "
         "(hue kept); a path to white at constant Oklab hue (the idea of ACES 2.0 / OpenDRT)",
    enabled=lambda ctx: is_raw(ctx) and ctx.params.look is None and ctx.params.tone_curve,
)
