"""The ``exposure`` stage: scene light scaled so mid-tones land where a camera puts them.

Reads and writes linear Rec.2020 scene light (float32, unclipped). The gain is decided once
on the analysis preview: the raw lift :data:`RAW_EXPOSURE_EV` plus the DNG
BaselineExposure plus the user's ``tone.exposure``; with ``tone.auto_exposure`` the scene
is metered instead, its log-average luminance brought to mid-grey (Reinhard, Stark,
Shirley, Ferwerda 2002, "Photographic tone reproduction for digital images", SIGGRAPH,
doi:10.1145/566654.566575).
"""

from __future__ import annotations

import numpy as np

from redframe.isp.compose import preview_through
from redframe.isp.stage import Stage, is_raw
from redframe.isp.tone import MID_GREY, luminance

__all__ = ["RAW_EXPOSURE_EV", "exposure_gain", "auto_exposure_ev", "STAGE"]

#: Raws are exposed to protect highlights; a camera's rendering lifts them this much
#: (plus the DNG BaselineExposure). Same default as darktable's scene-referred workflow.
RAW_EXPOSURE_EV = 0.7


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
    return x * np.float32(ctx.plan.exposure)


STAGE = Stage(
    name="exposure",
    params="tone",
    reads="linear Rec.2020 scene light",
    writes="linear Rec.2020 scene light, exposed",
    apply=_apply,
    cite="Reinhard et al. 2002 (auto exposure: log-average key), doi:10.1145/566654.566575",
    enabled=is_raw,
    analyse=_analyse,
)
