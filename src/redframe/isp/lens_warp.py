"""Geometric lens corrections after demosaic: distortion and lateral chromatic aberration.

Reads/writes white-balanced linear camera RGB (H, W, 3), float32, unclipped.

Sources (chosen by :func:`redframe.isp.lens.plan_lens`):

- the DNG's ``WarpRectilinear`` / ``WarpRectilinear2`` (radial + tangential, one set of
  coefficients per colour plane: lateral CA) or ``WarpFisheye`` from OpcodeList3 (Adobe
  DNG specification 1.4-1.7, ch. 6; source positions exactly as the DNG SDK 1.7's
  ``dng_filter_warp::GetSrcPixelPosition``), evaluated here;
- lensfun's distortion (``poly3``/``poly5``/``ptlens``) and TCA models, whose per-pixel
  source positions lensfun itself computes (``apply_subpixel_geometry_distortion``).

Resampling: each output pixel of each plane is read at its source position with Keys'
bicubic convolution (OpenCV ``remap``, ``INTER_CUBIC``, a = -0.75; Keys 1981,
doi:10.1109/TASSP.1981.1163711) on a 1/32-pixel grid (positions are rounded to it here, so
a strip and the whole frame compute identical values), edges extended. The phone and
camera warps this is for change the local scale by a few per cent (Jacobian 0.9..1.1), where
a fixed bicubic kernel neither blurs nor aliases noticeably; a warp that compresses more
than 1.25x (a strong fisheye) is noted as aliasing. With ``--lens-crop auto`` the
destination is zoomed about the optical centre until no source position leaves the
frame.

Strips: the stage's halo is the largest vertical displacement of the warp over the frame
plus the kernel's reach, so a strip computes what the whole frame computes.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from redframe.isp.lens import active_scale, dng_source, frame_position
from redframe.isp.stage import Stage, is_raw

__all__ = ["STAGE", "source_positions", "remap_planes"]

_SUB = 32.0  # OpenCV remap's sub-pixel grid (INTER_BITS = 5)
_REACH = 3  # rows the bicubic kernel reads beyond the source position, with rounding


def source_positions(ctx, a: int, b: int, cols: np.ndarray | None = None):
    """For output rows [a, b) of the frame being rendered: per plane (R, G, B) the source
    (rows, cols) in that frame's pixels, float64 arrays (b - a, W)."""
    plan = ctx.plan.lens
    src = ctx.source if ctx.source is not None else ctx.scene
    H, W = src.shape
    h, w = ctx.shape
    sy, sx = active_scale(ctx)
    cols = np.arange(w) if cols is None else cols
    out = []
    if plan.warp is not None:
        rows_f = frame_position(np.arange(a, b), sy)
        cols_f = frame_position(cols, sx)
        tangential = ctx.params.lens.distortion
        for plane in range(3):
            ys, xs = dng_source(plan.warp, plane, rows_f, cols_f, H, W, plan.scale, tangential)
            out.append(((ys + 0.5) / sy - 0.5, (xs + 0.5) / sx - 0.5))
        return out
    geo = plan.geometry((h, w))
    xy = geo.coords(a, b).astype(np.float64)  # (rows, w, 3, 2)
    xy = xy[:, cols]
    for plane in range(3):
        out.append((xy[:, :, plane, 1], xy[:, :, plane, 0]))
    return out


def remap_planes(x: np.ndarray, positions, row0: int) -> np.ndarray:
    """Sample ``x`` (rows ``row0..`` of the frame) at ``positions`` (frame coordinates)."""
    out = np.empty((positions[0][0].shape[0], positions[0][0].shape[1], 3), np.float32)
    for c, (ys, xs) in enumerate(positions):
        my = (np.round(ys * _SUB) / _SUB - row0).astype(np.float32)
        mx = (np.round(xs * _SUB) / _SUB).astype(np.float32)
        plane = np.ascontiguousarray(x[..., c], dtype=np.float32)
        out[..., c] = cv2.remap(plane, mx, my, cv2.INTER_CUBIC,
                                borderMode=cv2.BORDER_REPLICATE)
    return out


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    """Rows near a strip's edge whose sources lie outside it read replicated rows; they
    are within the halo, which the composer discards."""
    a, b = rows
    return remap_planes(x, source_positions(ctx, a, b), a)


def _vertical_reach(ctx) -> int:
    """The largest |source row - row| over the frame, in rows (sampled densely enough:
    every row's displacement is a smooth function, extremal on the frame's edges)."""
    h, w = ctx.shape
    rows = np.unique(np.linspace(0, h - 1, min(h, 65)).round().astype(int))
    cols = np.unique(np.linspace(0, w - 1, min(w, 129)).round().astype(int))
    best = 0.0
    for r in rows:
        for ys, _ in source_positions(ctx, int(r), int(r) + 1, cols):
            best = max(best, float(np.max(np.abs(ys - r))))
    return int(math.ceil(best * 1.02)) + 1


def _halo(ctx) -> int:
    plan = ctx.plan.lens
    if plan is None or not plan.warps or active_scale(ctx) is None:
        return 0
    key = ("halo", ctx.shape)
    cache = plan._geometry
    with plan._lock:
        if key in cache:
            return cache[key]
    value = _vertical_reach(ctx) + _REACH
    with plan._lock:
        cache[key] = value
    return value


def _enabled(ctx) -> bool:
    plan = ctx.plan.lens
    return (is_raw(ctx) and plan is not None and plan.warps
            and active_scale(ctx) is not None)


STAGE = Stage(
    name="lens_warp",
    params="lens",
    reads="white-balanced linear camera RGB (H, W, 3)",
    writes="the same, distortion and lateral CA corrected (resampled), unclipped",
    apply=_apply,
    cite="Adobe DNG specification 1.4-1.7, ch. 6 (WarpRectilinear, WarpRectilinear2, "
         "WarpFisheye), DNG SDK 1.7; lensfun distortion/TCA models; bicubic: Keys 1981, "
         "doi:10.1109/TASSP.1981.1163711",
    halo=_halo,
    enabled=_enabled,
)
