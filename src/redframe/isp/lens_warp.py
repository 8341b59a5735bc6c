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
import numba as nb
import numpy as np

from redframe.io import dng_opcodes as ops
from redframe.isp.lens import active_scale
from redframe.isp.stage import Stage, is_raw

__all__ = ["STAGE", "source_maps", "remap_planes"]

_SUB = 32.0  # OpenCV remap's sub-pixel grid (INTER_BITS = 5)
_REACH = 3  # rows the bicubic kernel reads beyond the source position, with rounding


@nb.njit(inline="always", fastmath=True)
def _fixed(v, lo, hi):
    """A position on OpenCV remap's fixed-point grid (1/32 pixel), limited to [lo, hi]."""
    q = np.floor(min(max(v, lo), hi) * 32.0 + 0.5)
    return int(q)


@nb.njit(parallel=True, cache=True, fastmath=True)
def _dng_maps(a, b, w, h, sy, sx, cxp, cyp, R, scale, coef, nterms, even, tan, valid, recip,
              fisheye, tangential, m1, m2):
    """Destination -> source for rows [a, b) of the frame being rendered, all planes, as
    :func:`redframe.isp.lens.dng_source` (the DNG SDK's GetSrcPixelPosition), written as
    OpenCV remap's fixed-point maps (``convertMaps`` to CV_16SC2: integer x, y (row
    relative to ``a``) and the 1/32-pixel fraction index ``fy * 32 + fx``)."""
    for i in nb.prange(b - a):
        yf = (a + i + 0.5) * sy - 0.5
        dy = (yf - cyp) * (scale / R)
        for j in range(w):
            xf = (j + 0.5) * sx - 0.5
            dx = (xf - cxp) * (scale / R)
            r2 = min(dx * dx + dy * dy, 1.0)
            for p in range(3):
                if fisheye:
                    if r2 < 1e-12:
                        ratio = 1.0
                    else:
                        r = np.sqrt(r2)
                        t = np.arctan(r)
                        t2 = t * t
                        ratio = t * (coef[p, 0] + t2 * (coef[p, 1] + t2 * (
                            coef[p, 2] + t2 * coef[p, 3]))) / r
                else:
                    lo, hi = valid[p, 0], valid[p, 1]
                    rc = min(max(r2, lo * lo), hi * hi)
                    if even:  # WarpRectilinear: kr0 + kr1 r^2 + kr2 r^4 + kr3 r^6
                        poly = coef[p, 6]
                        for k in range(4, -1, -2):
                            poly = poly * rc + coef[p, k]
                    else:
                        r = np.sqrt(rc)
                        poly = coef[p, nterms - 1]
                        for k in range(nterms - 2, -1, -1):
                            poly = poly * r + coef[p, k]
                    ratio = 1.0 / poly if recip else poly
                ux = dx * ratio
                uy = dy * ratio
                if tangential:
                    kt0, kt1 = tan[p, 0], tan[p, 1]
                    uy += kt0 * (r2 + 2.0 * dy * dy) + 2.0 * kt1 * dx * dy
                    ux += kt1 * (r2 + 2.0 * dx * dx) + 2.0 * kt0 * dx * dy
                ys = ((cyp + R * uy) + 0.5) / sy - 0.5
                xs = ((cxp + R * ux) + 0.5) / sx - 0.5
                iy = _fixed(ys, -64.0, h + 64.0) - 32 * a
                ix = _fixed(xs, -64.0, w + 64.0)
                m1[p, i, j, 0] = ix >> 5
                m1[p, i, j, 1] = iy >> 5
                m2[p, i, j] = (iy & 31) * 32 + (ix & 31)


@nb.njit(parallel=True, cache=True)
def _fixed_maps(xy, a, w, h, m1, m2):
    """lensfun's (rows, w, 3, 2) source positions as remap's fixed-point maps."""
    for i in nb.prange(xy.shape[0]):
        for j in range(xy.shape[1]):
            for p in range(3):
                ix = _fixed(np.float64(xy[i, j, p, 0]), -64.0, w + 64.0)
                iy = _fixed(np.float64(xy[i, j, p, 1]), -64.0, h + 64.0) - 32 * a
                m1[p, i, j, 0] = ix >> 5
                m1[p, i, j, 1] = iy >> 5
                m2[p, i, j] = (iy & 31) * 32 + (ix & 31)


def _warp_arrays(op):
    planes = op.planes
    idx = [min(p, planes - 1) for p in range(3)]
    if isinstance(op, ops.WarpFisheye):
        coef = np.zeros((3, 15))
        coef[:, :4] = op.k[idx]
        return coef, 4, False, np.zeros((3, 2)), np.tile([0.0, 1.0], (3, 1)), False, True
    coef = np.ascontiguousarray(op.radial[idx], np.float64)
    nz = np.nonzero(np.any(coef != 0, axis=0))[0]
    nterms = int(nz.max()) + 1 if nz.size else 1
    even = nterms <= 7 and not np.any(coef[:, 1::2])
    return (coef, nterms, bool(even), np.ascontiguousarray(op.tangential[idx], np.float64),
            np.ascontiguousarray(op.valid[idx], np.float64), bool(op.reciprocal), False)


def source_maps(ctx, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """For output rows [a, b) of the frame being rendered: per plane (R, G, B) where to read
    in that frame (rows relative to ``a``), as OpenCV remap's fixed-point maps on the
    1/32-pixel grid: (3, b - a, W, 2) int16 (x, y) and (3, b - a, W) uint16 fractions."""
    plan = ctx.plan.lens
    h, w = ctx.shape
    m1 = np.empty((3, b - a, w, 2), np.int16)
    m2 = np.empty((3, b - a, w), np.uint16)
    if plan.warp is not None:
        src = ctx.source if ctx.source is not None else ctx.scene
        H, W = src.shape
        sy, sx = active_scale(ctx)
        op = plan.warp
        cxp, cyp = op.cx * W, op.cy * H
        R = math.hypot(max(cxp, W - cxp), max(cyp, H - cyp))
        coef, nterms, even, tan, valid, recip, fisheye = _warp_arrays(op)
        _dng_maps(a, b, w, h, float(sy), float(sx), cxp, cyp, R, float(plan.scale), coef,
                  nterms, even, tan, valid, recip, fisheye, bool(ctx.params.lens.distortion),
                  m1, m2)
        return m1, m2
    xy = plan.geometry((h, w)).coords(a, b)  # (rows, w, 3, 2): x, y
    _fixed_maps(np.ascontiguousarray(xy, np.float32), a, w, h, m1, m2)
    return m1, m2


def source_rows(m1: np.ndarray, m2: np.ndarray, a: int) -> np.ndarray:
    """The source rows (frame coordinates, float) of maps from :func:`source_maps`."""
    return m1[..., 1].astype(np.float64) + (m2 // 32) / 32.0 + a


def remap_planes(x: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Sample each plane of ``x`` at the positions of :func:`source_maps` (bicubic)."""
    planes = cv2.split(np.ascontiguousarray(x, dtype=np.float32))
    out = [cv2.remap(planes[c], m1[c], m2[c], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REPLICATE) for c in range(3)]
    return cv2.merge(out)


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    """Rows near a strip's edge whose sources lie outside it read replicated rows; they
    are within the halo, which the composer discards."""
    a, b = rows
    m1, m2 = source_maps(ctx, a, b)
    return remap_planes(x, m1, m2)


def _vertical_reach(ctx) -> int:
    """The largest |source row - row| over the frame, in rows (sampled on every 16th row,
    and the first and last: the displacement is smooth and extremal at the edges)."""
    h = ctx.shape[0]
    best = 0.0
    for r in sorted({*range(0, h, 16), h - 1}):
        m1, m2 = source_maps(ctx, r, r + 1)
        best = max(best, float(np.max(np.abs(source_rows(m1, m2, r) - r))))
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
