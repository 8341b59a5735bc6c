"""The ``local_tone_map`` stage: HDR compression by an edge-aware, smooth gain.

Reads and writes linear Rec.2020 scene light (float32): it rescales light, staying
scene-referred. It is the base/detail decomposition of Durand & Dorsey 2002 ("Fast
bilateral filtering for the display of high-dynamic-range images", SIGGRAPH,
doi:10.1145/566654.566574), their bilateral filter and its piecewise-linear acceleration
(:func:`base_layer`): the base layer (log2 luminance, smoothed edge-aware at low
resolution) is compressed toward mid-grey, details are kept. The per-pixel gain is
computed at low resolution and brought back to full resolution through the guided
filter's local linear model of gain against log luminance (He & Sun 2015), which keeps
strong edges free of halos.

Order of luminances: per pixel the output is ``Y * 2^(a log2 Y + b)``, a tone curve of the
pixel's own luminance whose log-log slope is ``1 + a``; it keeps brighter light brighter
(the monotonicity every global tone curve is held to, e.g. the non-negative node slopes
of Mantiuk, Daly & Kerofsky 2008, "Display adaptive tone mapping", ACM TOG 27(3)) while
``1 + a > 0``. The fit gives ``a`` near ``compression - 1`` (> -1) where the base layer
follows the luminance and near 0 on texture, but a least-squares slope may overshoot at
an edge, so :func:`bound_slope` holds ``1 + a >= MIN_OUTPUT_SLOPE``. (Measured on the
saturated-LED ramps of issue 12: ``a`` >= -0.26, so no ramp is changed by the bound; their
remaining L* drops come from elsewhere: ``docs/pipeline.md``.) Across a frame the gain
also varies with position (``b``), as a local operator's must: a sample may render darker
than a dimmer one next to a darker neighbourhood.

The gain model is fitted once, on the analysis preview's luminance; its strength is
``tone.local`` times the look's ``local_tone_mapping`` (how much of it the look wants:
``neutral`` wants none). Off without the tone curve (colorimetric renders).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from redframe.isp.filters import box, guided_coefficients, resize
from redframe.isp.stage import Stage, is_raw
from redframe.isp.stats import median, quantile
from redframe.isp.tone import ToneParams, luminance

__all__ = [
    "LocalToneMap",
    "LTM_PREVIEW",
    "HIGHLIGHT_CEILING",
    "noise_floor",
    "bound_lift",
    "base_layer",
    "bound_slope",
    "MIN_OUTPUT_SLOPE",
    "MAX_KEY_LIFT",
    "strength",
    "local_tone_map_prepare",
    "local_tone_map_apply",
    "STAGE",
]

#: Scene value (after exposure) that local tone mapping will not push highlights above:
#: the filmic shoulder maps it to ~0.89 display, texture still visible.
HIGHLIGHT_CEILING = 1.2

#: Long side (px) of the luminance preview the local tone map is fitted on: its base layer
#: and gain grid are this coarse; edges come from full-resolution luminance through the
#: guided model, so the grid only needs to resolve the scene's large areas.
LTM_PREVIEW = 512


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
#: Range sigma (EV) of the base layer's bilateral filter: texture of less goes to the
#: detail layer, edges of several sigma stay in the base layer unblurred.
BASE_SIGMA = 1.5

#: Linear display level the noise floor may be lifted to (sRGB ~7/255): shadows come up,
#: their noise does not become grey speckle.
NOISE_DISPLAY = 0.002

#: The least log-log slope of a pixel's output against its own luminance, ``1 + a`` of the
#: gain model (module docstring): above 0, a brighter patch in the same neighbourhood stays
#: brighter.
MIN_OUTPUT_SLOPE = 0.1

#: The most the local tone map may raise the scene's mean luminance, in EV: a night or
#: indoor scene keeps its mood ("less noise, not daylight"; ``--auto-exposure`` is the way
#: to meter a scene up). The mean of linear light is set by the large bright areas, so a
#: backlit scene's deep shadows may still come up; a dim room lit by a small lamp may not.
MAX_KEY_LIFT = 1.5
#: ... and the median pixel is never lifted past mid-grey (the darkest half of a low-key
#: scene stays in the lower half of the tone scale), unless the exposure put it there.
MEDIAN_CEILING = 0.18


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
    base = base_layer(log_y, radius)
    lo, hi = quantile(base, [0.005, 0.995])
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
    gain = bound_lift(log_y, np.minimum(target - log_y, np.float32(max_gain)))
    # model the gain as a local linear function of log luminance, fine radius
    fine = max(1, radius // 3)
    a, b = guided_coefficients(log_y, gain.astype(np.float32), fine, eps=0.05)
    a, b = bound_slope(log_y, a, b, fine)
    return LocalToneMap(a, b, full_shape, compression, base_range, floor, max_gain)


def bound_slope(log_y: np.ndarray, a: np.ndarray, b: np.ndarray,
                radius: int) -> tuple[np.ndarray, np.ndarray]:
    """The gain model ``(a, b)`` (log2 gain = a log2 Y + b, fitted over windows of
    ``radius`` on ``log_y``) with ``a >= MIN_OUTPUT_SLOPE - 1``: the output's log-log slope
    against the pixel's own luminance stays positive (module docstring). Where ``a`` is
    raised, ``b`` moves so that the gain at the window's mean log luminance is unchanged."""
    least = np.float32(MIN_OUTPUT_SLOPE - 1.0)
    low = a < least
    if not np.any(low):
        return a, b
    mean = box(log_y, radius)
    return np.maximum(a, least), np.where(low, b + (a - least) * mean, b).astype(np.float32)


def base_layer(log_y: np.ndarray, radius: int, sigma: float = BASE_SIGMA) -> np.ndarray:
    """The base layer of log2 luminance ``log_y`` (H, W) float32: Durand & Dorsey's
    bilateral filter (a box of ``radius`` px in space, a Gaussian of ``sigma`` EV in
    log luminance), by their piecewise-linear acceleration (section 5.1): the filter is
    computed exactly for intensity levels ``sigma`` apart - per level a normalised
    convolution, two box filters - and each pixel interpolates linearly between the two
    levels around its own value. Texture (a fraction of ``sigma``) goes to the detail
    layer; across an edge of several ``sigma`` nothing of the other side leaks into the
    base (the guided filter used before leaked 25 % of a 6 EV step within its window: a
    halo of 4 % next to a bright window)."""
    log_y = np.ascontiguousarray(log_y, np.float32)
    lo, hi = float(log_y.min()), float(log_y.max())
    n = int(np.ceil((hi - lo) / sigma)) + 1
    t = (log_y - np.float32(lo)) * np.float32(1.0 / sigma)  # position on the levels
    out = np.zeros_like(log_y)
    k = 2 * int(radius) + 1
    for level in range(n):
        d = t - np.float32(level)
        hat = np.float32(1.0) - np.abs(d)  # the level's share of each pixel
        if not np.any(hat > 0):
            continue
        g = np.exp(np.float32(-0.5) * d * d)  # range weight of each pixel at this level
        wsum = cv2.boxFilter(g, -1, (k, k), borderType=cv2.BORDER_REFLECT_101)
        vsum = cv2.boxFilter(g * log_y, -1, (k, k), borderType=cv2.BORDER_REFLECT_101)
        out += np.maximum(hat, np.float32(0.0)) * (vsum / np.maximum(wsum, np.float32(1e-30)))
    return out


def bound_lift(log_y: np.ndarray, gain: np.ndarray, iterations: int = 12) -> np.ndarray:
    """``gain`` (log2, per preview pixel) with its lifts (gain > 0) scaled by the largest
    factor in [0, 1] that raises the mean luminance by at most :data:`MAX_KEY_LIFT` EV
    and keeps the median at or below
    ``max(median before, MEDIAN_CEILING)`` (bisection; the key and median only grow with
    the factor). Compression of highlights (gain < 0) is kept as it is."""
    lift = np.maximum(gain, np.float32(0.0))
    if not np.any(lift > 0):
        return gain
    rest = gain - lift
    mean0 = float(np.mean(np.exp2(log_y, dtype=np.float32)))
    median_max = max(float(median(log_y)), float(np.log2(MEDIAN_CEILING)))

    def within(alpha: float) -> bool:
        out = log_y + rest + np.float32(alpha) * lift
        mean = float(np.mean(np.exp2(out, dtype=np.float32)))
        return (mean <= mean0 * 2.0**MAX_KEY_LIFT
                and float(median(out)) <= median_max + 1e-6)

    if within(1.0):
        return gain
    lo, hi = 0.0, 1.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if within(mid) else (lo, mid)
    return (rest + np.float32(lo) * lift).astype(np.float32)


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
    full_h, full_w = full_shape
    low_h = low.shape[0]
    y = (np.arange(rows.start, rows.stop, dtype=np.float64) + 0.5) * (low_h / full_h) - 0.5
    y = np.clip(y, 0, low_h - 1)
    y0 = np.floor(y).astype(np.intp)
    y1 = np.minimum(y0 + 1, low_h - 1)
    fy = (y - y0).astype(np.float32)[:, None]
    band = low[y0] * (1 - fy) + low[y1] * fy
    return cv2.resize(band, (full_w, band.shape[0]), interpolation=cv2.INTER_LINEAR)


def strength(params) -> float:
    """The local tone map's strength for these develop parameters: ``tone.local`` times
    the look's ``local_tone_mapping`` (1 when the look does not say)."""
    return float(params.tone.local) * float(getattr(params.look, "local_tone_mapping", 1.0))


def _analyse(ctx) -> None:
    params, plan = ctx.params, ctx.plan
    local = strength(params)
    if not (params.tone_curve and local > 0):
        return
    y = plan.preview_y
    scale = min(1.0, LTM_PREVIEW / max(y.shape))
    y_low = resize(y, (max(8, round(y.shape[0] * scale)), max(8, round(y.shape[1] * scale))))
    tone = params.tone if local == params.tone.local else replace(params.tone, local=local)
    plan.ltm = local_tone_map_prepare(
        y_low * np.float32(plan.exposure), ctx.shape, tone, noise_floor(plan.sigma)
    )
    if plan.ltm is not None:
        plan.notes.append(
            f"local tone mapping: base range {plan.ltm.base_range:.1f} EV, "
            f"compression x{plan.ltm.compression:.2f}"
        )


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return local_tone_map_apply(x, ctx.plan.ltm, rows=slice(*rows))


STAGE = Stage(
    name="local_tone_map",
    params="tone",
    reads="linear Rec.2020 scene light, exposed",
    writes="linear Rec.2020 scene light, range compressed",
    apply=_apply,
    cite="Durand & Dorsey 2002, doi:10.1145/566654.566574; guided filter: He, Sun, Tang "
         "2013, doi:10.1109/TPAMI.2012.213; He & Sun 2015, arXiv:1505.00996",
    enabled=lambda ctx: is_raw(ctx) and ctx.plan.ltm is not None,
    analyse=_analyse,
)
