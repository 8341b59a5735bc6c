"""The ``exposure`` stage: scene light scaled so mid-tones land where a camera puts them.

Reads and writes linear Rec.2020 scene light (float32, unclipped). The gain is decided once
on the analysis preview: the raw lift :data:`RAW_EXPOSURE_EV` plus the DNG
BaselineExposure plus the user's ``tone.exposure``; with ``tone.auto_exposure`` the scene
is metered instead, its log-average luminance brought to mid-grey (Reinhard, Stark,
Shirley, Ferwerda 2002, "Photographic tone reproduction for digital images", SIGGRAPH,
doi:10.1145/566654.566575).

A decoded picture (JPEG, HEIC, PNG, TIFF) holds display light, and a ``tone.exposure``
other than 0 changes it as light would: less exposure scales it (a clipped white becomes
grey: there was nothing above it to recover); more exposure takes it back to scene light
through the inverse of the develop's default highlight shoulder (:data:`PICTURE_TONE`),
scales it and renders it through that shoulder again (hue and saturation kept), so the
highlights roll off toward white instead of clipping. With 0 the stage does not run and
the picture is left as it is.
"""

from __future__ import annotations

import numpy as np

from redframe.isp.compose import preview_through
from redframe.isp.stage import Stage, is_raw
from redframe.isp.stats import quantile
from redframe.isp.tone import (
    MID_GREY,
    ToneParams,
    display_to_scene,
    luminance,
    scene_to_display,
)

__all__ = ["RAW_EXPOSURE_EV", "PICTURE_TONE", "exposure_gain", "auto_exposure_ev", "STAGE"]

#: Raws are exposed to protect highlights; a camera's rendering lifts them this much
#: (plus the DNG BaselineExposure). Same default as darktable's scene-referred workflow.
RAW_EXPOSURE_EV = 0.7


#: The shoulder a finished picture is taken to have been rendered with when more exposure
#: is asked of it: the develop's default (linear to 0.8 of white, white at 4x diffuse).
PICTURE_TONE = ToneParams()


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
    lo, hi = quantile(y, [0.01, 0.99])
    y = y[(y >= lo) & (y <= hi)]
    log_average = float(np.exp(np.mean(np.log(y))))
    return float(np.clip(np.log2(key / max(log_average, 1e-9)), -limit, limit))



def _analyse(ctx) -> None:
    params, plan = ctx.params, ctx.plan
    ev = RAW_EXPOSURE_EV + ctx.calibration.baseline_exposure + params.tone.exposure
    y = luminance(preview_through(ctx, "exposure"))
    if params.tone.auto_exposure:
        ev = params.tone.exposure + auto_exposure_ev(y)
    plan.exposure = float(2.0**ev)
    plan.preview_y = y  # the local tone map is fitted on it
    plan.notes.append(f"exposure: {ev:+.2f} EV")


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    if is_raw(ctx):
        return x * np.float32(ctx.plan.exposure)
    gain = exposure_gain(ctx.params.tone.exposure)  # a picture: display light
    if gain < 1:
        return np.minimum(np.maximum(x, 0.0), 1.0) * gain
    return scene_to_display(display_to_scene(x, PICTURE_TONE) * gain, PICTURE_TONE)


def _enabled(ctx) -> bool:
    return is_raw(ctx) or ctx.params.tone.exposure != 0


STAGE = Stage(
    name="exposure",
    params="tone",
    reads="linear Rec.2020 scene light (a picture: display light)",
    writes="linear Rec.2020 scene light, exposed (a picture: display light)",
    apply=_apply,
    cite="Reinhard et al. 2002 (auto exposure: log-average key), doi:10.1145/566654.566575",
    enabled=_enabled,
    analyse=_analyse,
)
