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

Positions: the DNG warp's are evaluated exactly at the nodes of a 16-pixel grid over the
output frame (and its last row and column) and interpolated bilinearly between them, when
that is within 0.01 px of the exact positions (:data:`GRID_TOLERANCE`, measured per
develop at every cell's centre and edge midpoints, :func:`grid_error`; the phone warp of
docs/lens.md: 0.005 px); else an 8- or 4-pixel grid, else every position exactly. The
radial models are smooth polynomials in ``r^2``: the bilinear error is ``step^2 / 8``
times their second derivative. lensfun's positions come from lensfun, per pixel.

Kernels: the positions and the resampling are compiled ahead of time in ``_lens_warp.pyx``
(Cython + OpenMP, parallel over rows). The stage computes each output row's source
positions (all planes) into per-thread rows and reads the bicubic from planar rows of
the input that each thread de-interleaves as its output rows reach them (a ring of about
one output row's span of source rows, ~5 MB a thread at 12 MP), in the same pass, with no
maps of the frame; :func:`source_maps` +
:func:`remap_planes` compute the same values (the resampling taken separably: it differs
from ``cv2.remap``'s 16 products of its 2-D table by float32 rounding only).

Strips: the stage's halo is how far the warp reads beyond the rows it must get right at
the strips' edges inside the frame (where the rows are cut: the displacement there, not
the largest over the frame, which is at its top and bottom edges), plus the kernel's
reach, so a strip computes what the whole frame computes (:func:`_rows_needed`).
"""

from __future__ import annotations

import math

import numpy as np

from redframe.io import dng_opcodes as ops
from redframe.isp import _lens_warp as _k
from redframe.isp import compose
from redframe.isp.lens import active_scale
from redframe.isp.stage import Stage, is_raw

__all__ = ["STAGE", "source_maps", "remap_planes", "dng_warp_args", "position_grid",
           "grid_error", "GRID_TOLERANCE"]

_SUB = 32.0  # OpenCV remap's sub-pixel grid (INTER_BITS = 5)
#: the grids tried for the DNG warp's source positions, coarsest first (pixels between nodes)
STEPS = (16, 8, 4)
#: how far (pixels) interpolated positions may be from the exact ones (the 1/32 grid they
#: are rounded to is 0.031 px)
GRID_TOLERANCE = 0.01
_NO_GRID = np.zeros((1, 3, 2, 1))
_REACH = 3  # rows the bicubic kernel reads beyond the source position, with rounding


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


def _positions(ctx, a: int, b: int):
    """What the kernels need for output rows [a, b): ("dng", arguments of
    ``_lens_warp.dng_maps`` after the rows) or ("xy", lensfun's (rows, w, 3, 2) float32
    source positions)."""
    plan = ctx.plan.lens
    h, w = ctx.shape
    if plan.warp is not None:
        src = ctx.source if ctx.source is not None else ctx.scene
        warp = dng_warp_args(plan.warp, (h, w), src.shape, active_scale(ctx), plan.scale,
                             bool(ctx.params.lens.distortion))
        return "dng", warp + _grid(plan, warp)
    xy = plan.geometry((h, w)).coords(a, b)  # (rows, w, 3, 2): x, y
    return "xy", np.ascontiguousarray(xy, np.float32)


def dng_warp_args(op, shape: tuple[int, int], source_shape: tuple[int, int] | None = None,
                  frame_scale: tuple[float, float] = (1.0, 1.0), scale: float = 1.0,
                  tangential: bool = True) -> tuple:
    """The kernels' description of DNG warp ``op`` for an output frame of ``shape`` (rows,
    cols) whose pixels are ``frame_scale`` (rows, cols) pixels of the ``source_shape``
    image the opcode describes (default: the same), zoomed by ``scale`` (the crop)."""
    h, w = shape
    H, W = source_shape if source_shape is not None else shape
    sy, sx = frame_scale
    cxp, cyp = op.cx * W, op.cy * H
    R = math.hypot(max(cxp, W - cxp), max(cyp, H - cyp))
    coef, nterms, even, tan, valid, recip, fisheye = _warp_arrays(op)
    return (w, h, float(sy), float(sx), float(cxp), float(cyp), float(R), float(scale), coef,
            nterms, even, tan, valid, recip, fisheye, bool(tangential))


def grid_error(warp: tuple, step: int, grid: np.ndarray) -> float:
    """The largest distance (pixels) between the positions interpolated from ``grid``
    (:func:`_lens_warp.dng_grid` of ``warp`` at ``step``) and the exact ones, over every
    cell's centre and the midpoints of its edges (where a smooth field's bilinear error
    peaks) of every plane."""
    w, h = warp[0], warp[1]

    def probes(n: int) -> np.ndarray:
        nodes = np.minimum(np.arange((n - 2) // step + 2) * step, n - 1)
        # sorted and distinct (np.unique would import numpy.ma: redframe.isp.stats)
        both = np.concatenate([nodes, (nodes[:-1] + nodes[1:]) // 2])
        return np.array(sorted(set(both.tolist())), dtype=np.intp)

    err = _k.dng_grid_error(probes(h), probes(w), *warp, step, grid)
    return float(err.max()) if err.size else 0.0


def position_grid(warp: tuple) -> tuple[int, np.ndarray]:
    """(step, grid): the coarsest grid of :data:`STEPS` whose interpolated positions are
    within :data:`GRID_TOLERANCE` of the exact ones (:func:`grid_error`); step 1 (every
    position exact) when none is."""
    w, h = warp[0], warp[1]
    for step in STEPS:
        if w < 2 * step or h < 2 * step:
            continue
        grid = _k.dng_grid(*warp, step)
        if grid_error(warp, step, grid) <= GRID_TOLERANCE:
            return step, grid
    return 1, _NO_GRID


def _grid(plan, warp: tuple) -> tuple:
    """:func:`position_grid`, made once per frame size."""
    key = ("grid", warp[:2], warp[2:4], warp[7])
    with plan._lock:
        if key in plan._geometry:
            return plan._geometry[key]
    value = position_grid(warp)
    with plan._lock:
        plan._geometry[key] = value
    return value


def source_maps(ctx, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """For output rows [a, b) of the frame being rendered: per plane (R, G, B) where to read
    in that frame (rows relative to ``a``), as OpenCV remap's fixed-point maps on the
    1/32-pixel grid: (3, b - a, W, 2) int16 (x, y) and (3, b - a, W) uint16 fractions."""
    h, w = ctx.shape
    m1 = np.empty((3, b - a, w, 2), np.int16)
    m2 = np.empty((3, b - a, w), np.uint16)
    kind, args = _positions(ctx, a, b)
    if kind == "dng":
        _k.dng_maps(a, b, *args, m1, m2)
    else:
        _k.fixed_maps(args, a, w, h, m1, m2)
    return m1, m2


def source_rows(m1: np.ndarray, m2: np.ndarray, a: int) -> np.ndarray:
    """The source rows (frame coordinates, float) of maps from :func:`source_maps`."""
    return m1[..., 1].astype(np.float64) + (m2 // 32) / 32.0 + a


def remap_planes(x: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Sample each plane of ``x`` at the positions of :func:`source_maps` (bicubic, as
    OpenCV's ``remap`` with ``INTER_CUBIC`` and ``BORDER_REPLICATE``)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty((m1.shape[1], m1.shape[2], 3), np.float32)
    _k.remap_fixed(x, np.ascontiguousarray(m1, np.int16), np.ascontiguousarray(m2, np.uint16),
                   out)
    return out


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    """Rows within the halo of a strip's inner edge (where the frame goes on) are not
    resampled: the stage's output is right only ``halo`` rows inside such an edge (what a
    halo says), so those rows repeat the nearest resampled row, and the composer cuts them
    before the next stage. (Positions and resampling in one pass: what
    :func:`remap_planes` of :func:`source_maps` computes.)"""
    a, b = rows
    h, w = ctx.shape
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty((b - a, w, 3), np.float32)
    halo = STAGE.halo_rows(ctx)
    c0 = a + halo if a > 0 else a
    c1 = b - halo if b < h else b
    if c1 <= c0:
        c0, c1 = a, b
    kind, args = _positions(ctx, c0, c1)
    part = out[c0 - a : c1 - a]
    if kind == "dng":
        _k.dng_warp(x, a, *args, part, c0)
    else:
        _k.fixed_warp(x, args, a, w, h, part)
    out[: c0 - a] = out[c0 - a]
    out[c1 - a :] = out[c1 - a - 1]
    return out


def _extent(ctx, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each output row of ``rows``: the smallest and largest (source row - row) over
    its columns and planes (frame rows, on the 1/32 grid)."""
    rows = np.ascontiguousarray(rows, np.intp)
    kind, args = _positions(ctx, 0, 1)
    lo, hi = np.empty(rows.size), np.empty(rows.size)
    if kind == "dng":
        _k.dng_extent(rows, *args, lo, hi)
        return lo, hi
    for i, r in enumerate(rows):
        m1, m2 = source_maps(ctx, int(r), int(r) + 1)
        d = source_rows(m1, m2, int(r)) - r
        lo[i], hi[i] = d.min(), d.max()
    return lo, hi


def _strips(ctx) -> list[tuple[int, int]]:
    """The output rows of each strip of this develop (as :func:`redframe.isp.pipeline.develop`
    cuts the frame)."""
    h = ctx.shape[0]
    grid = compose.strip_grid(ctx)
    rows = ctx.params.strip_rows if ctx.params.strip_rows > 0 else h
    rows = max(grid, -(-rows // grid) * grid)
    return [(y0, min(h, y0 + rows)) for y0 in range(0, h, rows)]


def _rows_needed(ctx) -> float:
    """How far (in rows) the warp reads beyond the rows it must get right, at the strips'
    edges inside the frame. A strip's warp must be right for its output rows widened by
    the halos of the stages after it, ``[p, q) = [y0 - after, y1 + after)``, and has input
    rows ``[p - halo, q + halo)``; so ``halo >= p - (r + lo(r))`` and
    ``(r + hi(r)) - (q - 1)`` for its rows ``r``. Sampled at ``p``, ``q - 1`` (where a warp
    that does not fold attains these) and every 16th row between. With one strip (or a
    frame edge) nothing outside is read: the frame's edge rows are extended, as the whole
    frame's are."""
    h = ctx.shape[0]
    strips = _strips(ctx)
    stages = compose.active_stages(ctx)
    names = [st.name for st in stages]
    after = sum(st.halo_rows(ctx) for st in stages[names.index(STAGE.name) + 1:])
    need = 0.0
    for y0, y1 in strips if len(strips) > 1 else ():
        p, q = y0 - after, y1 + after
        a, b = max(0, p), min(h, q)
        rows = np.array(sorted({a, b - 1, *range(a, b, 16)}), np.intp)
        lo, hi = _extent(ctx, rows)
        if y0 > 0:
            need = max(need, float(np.max((p - rows) - lo)))
        if y1 < h:
            need = max(need, float(np.max(hi - (q - 1 - rows))))
    return need


def _halo(ctx) -> int:
    plan = ctx.plan.lens
    if plan is None or not plan.warps or active_scale(ctx) is None:
        return 0
    key = ("halo", ctx.shape, ctx.params.strip_rows)
    cache = plan._geometry
    with plan._lock:
        if key in cache:
            return cache[key]
    value = int(math.ceil(_rows_needed(ctx) * 1.02)) + 1 + _REACH
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
