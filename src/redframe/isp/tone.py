"""Exposure, local tone mapping (HDR compression) and the global filmic tone curve.

Reads and writes linear Rec.2020 (float32). Local tone mapping stays scene-referred
(it rescales light by a smooth, edge-aware gain); the tone curve maps scene light to
display-referred linear light in [0, 1], ready for the output transform.

Local tone mapping is the base/detail decomposition of Durand & Dorsey 2002 ("Fast
bilateral filtering for the display of high-dynamic-range images", SIGGRAPH,
doi:10.1145/566654.566574) with the guided filter instead of the bilateral: the base
layer (log2 luminance, smoothed edge-aware at low resolution) is compressed toward
mid-grey, details are kept. The per-pixel gain is computed at low resolution and brought
back to full resolution through the guided filter's local linear model of gain against
log luminance (He & Sun 2015), which keeps strong edges free of halos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.isp.filters import guided_coefficients, weighted_sum
from redframe.params import param, validate

__all__ = [
    "ToneParams",
    "LocalToneMap",
    "luminance",
    "exposure_gain",
    "auto_exposure_ev",
    "local_tone_map_prepare",
    "local_tone_map_apply",
    "filmic_curve",
    "tone_curve",
]

#: Rec.2020 luminance weights (ITU-R BT.2020).
LUMA_2020 = np.array([0.2627, 0.6780, 0.0593], dtype=np.float32)
MID_GREY = 0.18
#: Scene value (after exposure) that local tone mapping will not push highlights above:
#: the filmic shoulder maps it to ~0.89 display, texture still visible.
HIGHLIGHT_CEILING = 1.2


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
    return weighted_sum(rgb, LUMA_2020) if rgb.ndim == 3 else rgb


def exposure_gain(ev: float) -> np.float32:
    return np.float32(2.0 ** float(ev))


def auto_exposure_ev(y_preview: np.ndarray, key: float = MID_GREY, limit: float = 4.0) -> float:
    """EV that brings the scene's log-average luminance to ``key`` (Reinhard et al. 2002,
    "Photographic tone reproduction for digital images", SIGGRAPH), ignoring the darkest
    and brightest 1 %. Clamped to +-``limit``."""
    y = y_preview[np.isfinite(y_preview)]
    y = y[y > 1e-6]
    if y.size < 16:
        return 0.0
    lo, hi = np.quantile(y, [0.01, 0.99])
    y = y[(y >= lo) & (y <= hi)]
    log_average = float(np.exp(np.mean(np.log(y))))
    return float(np.clip(np.log2(key / max(log_average, 1e-9)), -limit, limit))


@dataclass
class LocalToneMap:
    """Low-resolution gain model: log2 gain = a * log2(Y) + b, coefficients on a grid."""

    a: np.ndarray  # (h, w) float32
    b: np.ndarray
    full_shape: tuple[int, int]
    compression: float  # slope applied to the base layer (1 = none)
    base_range: float  # EV range of the base layer before compression
    floor: float = 2.0**-24  # luminance below this is noise: treated as this value
    max_gain: float = 24.0  # log2: no pixel is lifted more (keeps the noise floor dark)


_EPS_LOG = 2.0**-24
#: Linear display level the noise floor may be lifted to (sRGB ~7/255): shadows come up,
#: their noise does not become grey speckle.
NOISE_DISPLAY = 0.002


def noise_floor(sigma: float | None) -> float:
    """Luminance under which a pixel is noise, from the denoiser's sqrt-domain sigma: where
    the signal equals twice its own shot+read noise (x = 2 sqrt(x) sigma -> x = 4 sigma^2).
    Dark noise then neither widens the measured scene range nor gets amplified."""
    if sigma is None or not np.isfinite(sigma) or sigma <= 0:
        return _EPS_LOG
    return float(max(_EPS_LOG, 4.0 * sigma * sigma))


def local_tone_map_prepare(
    y_low: np.ndarray, full_shape: tuple[int, int], params: ToneParams, floor: float = 2.0**-24
) -> LocalToneMap | None:
    """Fit the gain model on a small luminance image (any size; ~0.3-1 MP is plenty)."""
    if params.local <= 0:
        return None
    floor = max(float(floor), _EPS_LOG)
    log_y = np.log2(np.maximum(y_low, floor)).astype(np.float32)
    h, w = log_y.shape
    radius = max(2, int(round(max(h, w) / 24)))
    # edges above ~1 EV survive in the base layer; texture goes to the detail layer
    base_a, base_b = guided_coefficients(log_y, log_y, radius, eps=1.0)
    base = base_a * log_y + base_b
    lo, hi = np.quantile(base, [0.005, 0.995])
    base_range = float(hi - lo)
    needed = min(1.0, params.target_range / max(base_range, 1e-6))
    compression = 1.0 - params.local * (1.0 - needed)
    # compress around the scene's highlights (capped at HIGHLIGHT_CEILING): bright areas
    # stay where the exposure put them and the shadows come up, as much as the range
    # requires and no more - a dark room with a bright window reads like what the eye saw
    # (highlights above the ceiling are pulled down only as far as the scene is compressed;
    # an ordinary scene's bright sky is the filmic shoulder's job)
    over = max(0.0, float(hi) - float(np.log2(HIGHLIGHT_CEILING)))
    pivot = np.float32(hi - over * min(1.0, 4.0 * (1.0 - compression)))
    detail = log_y - base
    target = (
        pivot
        + (base - np.float32(hi)) * np.float32(compression)
        + detail * np.float32(params.detail)
    )
    max_gain = float(np.log2(max(1.0, NOISE_DISPLAY / floor)))
    gain = np.minimum(target - log_y, np.float32(max_gain))
    # model the gain as a local linear function of log luminance, fine radius
    fine = max(1, radius // 3)
    a, b = guided_coefficients(log_y, gain.astype(np.float32), fine, eps=0.05)
    return LocalToneMap(a, b, full_shape, compression, base_range, floor, max_gain)


def local_tone_map_apply(
    rgb: np.ndarray, model: LocalToneMap | None, rows: slice | None = None
) -> np.ndarray:
    """Apply the gain to full-resolution linear RGB (or to the strip ``rows`` of it)."""
    if model is None:
        return rgb
    rows = rows or slice(0, model.full_shape[0])
    a = _upsample_rows(model.a, model.full_shape, rows)
    b = _upsample_rows(model.b, model.full_shape, rows)
    log_y = np.log2(np.maximum(luminance(rgb), np.float32(model.floor)))
    gain = np.exp2(np.minimum(a * log_y + b, np.float32(model.max_gain))).astype(np.float32)
    return rgb * gain[..., None]


def _upsample_rows(low: np.ndarray, full_shape: tuple[int, int], rows: slice) -> np.ndarray:
    """Rows ``rows`` of ``low`` bilinearly upsampled to ``full_shape`` (pixel centres aligned,
    as cv2.resize does), without building the full-resolution plane."""
    import cv2

    full_h, full_w = full_shape
    low_h = low.shape[0]
    y = (np.arange(rows.start, rows.stop, dtype=np.float64) + 0.5) * (low_h / full_h) - 0.5
    y = np.clip(y, 0, low_h - 1)
    y0 = np.floor(y).astype(np.intp)
    y1 = np.minimum(y0 + 1, low_h - 1)
    fy = (y - y0).astype(np.float32)[:, None]
    band = low[y0] * (1 - fy) + low[y1] * fy
    return cv2.resize(band, (full_w, band.shape[0]), interpolation=cv2.INTER_LINEAR)


def filmic_curve(x: np.ndarray, params: ToneParams) -> np.ndarray:
    """Scene value -> display value in [0, 1]: power contrast around mid-grey, optional toe,
    a C1-continuous tanh shoulder from ``params.shoulder`` reaching 1 at ``params.white``."""
    x = np.maximum(x, 0.0).astype(np.float32, copy=False)
    y = (
        x
        if params.contrast == 1.0
        else np.float32(MID_GREY) * np.power(x / np.float32(MID_GREY), np.float32(params.contrast))
    )
    if params.toe > 0:
        t = np.float32(MID_GREY / 2)
        y = np.where(y < t, t * np.power(y / t, np.float32(1 + params.toe)), y)
    s = np.float32(params.shoulder)
    white = (
        params.white
        if params.contrast == 1.0
        else MID_GREY * (params.white / MID_GREY) ** params.contrast
    )
    span = np.float32(1.0 - params.shoulder)
    # scale the tanh argument so that `white` lands at 0.999 of the range
    k = np.float32(np.arctanh(0.999) * span / max(white - params.shoulder, 1e-3))
    over = y > s
    y = np.where(over, s + span * np.tanh((y - s) * k / span), y)
    if params.black > 0:
        y = np.float32(params.black) + (1 - np.float32(params.black)) * y
    return np.clip(y, 0.0, 1.0).astype(np.float32, copy=False)


def tone_curve(rgb: np.ndarray, params: ToneParams) -> np.ndarray:
    """Apply :func:`filmic_curve` to linear Rec.2020 keeping hue: the curve runs on the
    pixel's max channel and scales the others by the same ratio; near white the result
    blends toward the per-channel curve so that very bright colours desaturate to white,
    as film and our eyes do."""
    norm = np.max(rgb, axis=2)
    mapped = filmic_curve(norm, params)
    ratio = mapped / np.maximum(norm, np.float32(1e-8))
    out = rgb * ratio[..., None]
    # desaturate only where the shoulder compresses strongly
    blend = np.clip((mapped - np.float32(params.shoulder)) / np.float32(1 - params.shoulder), 0, 1)
    blend = (blend * blend)[..., None]
    if np.any(blend > 0):
        per_channel = filmic_curve(rgb, params)
        out = out + blend * (per_channel - out)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
