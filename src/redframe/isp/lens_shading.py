"""Lens shading and the DNG's pixel opcodes, on the raw data before demosaic.

Reads/writes white-balanced linear camera signal (CFA mosaic (H, W), or camera RGB
(H, W, 3): a linear DNG, or the 2x2-binned mosaic of the half-size proof and the analysis
preview), float32, unclipped.

Applies, in list order, the opcodes of the DNG's OpcodeList1 and OpcodeList2 (Adobe DNG
specification 1.4-1.7, ch. 6; positions, interpolation and normalisation as the DNG SDK
1.7 computes them) and lensfun's vignetting (Kaiser et al., the ``pa`` model, as a gain
grid):

- ``GainMap``: per area / CFA phase (``Top/Left/RowPitch/ColPitch``), a map of gains
  interpolated bilinearly at the pixel's centre ``((row + 0.5) / H, (col + 0.5) / W)``;
- ``FixVignetteRadial``: ``1 + k0 r^2 + ... + k4 r^10``;
- ``ScalePerRow/Column``, ``DeltaPerRow/Column``, ``MapPolynomial``, ``MapTable``;
- ``FixBadPixelsConstant/List``: a defective site becomes the mean of its good
  same-colour neighbours (distance 2; for green also the four diagonals).

White balance is a gain per CFA site and commutes with the multiplicative opcodes; for
the others the pixel is brought to the list's own domain first (list 2: levelled,
``x / wb``; list 1: raw DN / 65535) and back. Values are not clipped at 1 (the DNG SDK
clips; redframe keeps scene light, and the highlight repair later treats a shaded-up value
above a channel's clip level as clipped). On the binned image each channel's correction is
the mean of its CFA sites' (exact for R and B, and for green when its two sites agree).

Kernel: when every opcode is such a gain (the phone case), the mosaic is shaded in one
compiled pass per strip (``_lens_shading.shade``: each gain per pixel as
:func:`gain_map_values` computes it, no gain plane of the frame); otherwise the opcodes
run here in NumPy, one by one.
"""

from __future__ import annotations

import math

import numpy as np

from redframe.io import dng_opcodes as ops
from redframe.io.scene import pattern_to_index
from redframe.isp import _lens_shading as _k
from redframe.isp.lens import active_scale, frame_position, plan_lens
from redframe.isp.stage import Stage, is_raw

__all__ = ["STAGE", "apply_ops", "gain_map_values", "mosaic_gains"]

_MULTIPLICATIVE = (ops.GainMap, ops.FixVignetteRadial)
_BAD = (ops.FixBadPixelsConstant, ops.FixBadPixelsList)


def gain_map_values(op: ops.GainMap, rows: np.ndarray, cols: np.ndarray, plane: int,
                    H: int, W: int) -> np.ndarray:
    """The map's gains at full-resolution positions ``rows`` x ``cols`` (float32)."""
    g = op.gains[:, :, min(plane, op.gains.shape[2] - 1)].astype(np.float64)
    pv, ph = g.shape

    def weights(pos, size, origin, spacing, n):
        f = ((np.asarray(pos, np.float64) + 0.5) / size - origin) / spacing
        f = np.clip(f, 0.0, n - 1)
        i0 = np.minimum(np.floor(f).astype(np.intp), max(n - 2, 0))
        return i0, np.minimum(i0 + 1, n - 1), f - i0

    r0, r1, fr = weights(rows, H, op.origin[0], op.spacing[0], pv)
    c0, c1, fc = weights(cols, W, op.origin[1], op.spacing[1], ph)
    t = g[r0] * (1.0 - fr)[:, None] + g[r1] * fr[:, None]  # (rows, ph)
    out = t[:, c0] * (1.0 - fc) + t[:, c1] * fc
    return out.astype(np.float32)


def _vignette_values(op: ops.FixVignetteRadial, rows, cols, H: int, W: int) -> np.ndarray:
    cxp, cyp = op.cx * W, op.cy * H
    R = math.hypot(max(cyp, H - cyp), max(cxp, W - cxp))
    dy = ((np.asarray(rows, np.float64) + 0.5 - cyp) / R)[:, None]
    dx = ((np.asarray(cols, np.float64) + 0.5 - cxp) / R)[None, :]
    r2 = dx * dx + dy * dy
    s = np.zeros_like(r2)
    for k in reversed(op.k):
        s = r2 * (k + s)
    return (1.0 + s).astype(np.float32)


def _lattice(pos: np.ndarray, lo: int, hi: int, pitch: int) -> np.ndarray:
    """Which positions lie on the area's lattice (fractional positions: inside only)."""
    pos = np.asarray(pos, np.float64)
    inside = (pos >= lo - 1e-9) & (pos < hi - 1e-9)
    if pitch > 1:
        k = np.round(pos)
        inside &= (np.abs(pos - k) < 1e-6) & ((k - lo) % pitch == 0)
    return inside


def _apply_one(op, v: np.ndarray, rows, cols, plane: int, H: int, W: int) -> np.ndarray:
    """``op`` on the values ``v`` (2-D, in the list's domain) at ``rows`` x ``cols``."""
    if isinstance(op, ops.FixVignetteRadial):
        return v * _vignette_values(op, rows, cols, H, W)
    area = op.area
    if not area.plane <= plane < area.plane + area.planes:
        return v
    rm = _lattice(rows, area.top, area.bottom, area.row_pitch)
    cm = _lattice(cols, area.left, area.right, area.col_pitch)
    if not rm.any() or not cm.any():
        return v
    whole = rm.all() and cm.all()
    sub = v if whole else v[np.ix_(rm, cm)]
    r, c = np.asarray(rows)[rm], np.asarray(cols)[cm]
    if isinstance(op, ops.GainMap):
        sub = sub * gain_map_values(op, r, c, plane, H, W)
    elif isinstance(op, ops.PerRowColumn):
        if op.per_row:
            idx = np.clip(((np.round(r) - area.top) // area.row_pitch).astype(np.intp), 0,
                          op.values.size - 1)
            val = op.values[idx][:, None]
        else:
            idx = np.clip(((np.round(c) - area.left) // area.col_pitch).astype(np.intp), 0,
                          op.values.size - 1)
            val = op.values[idx][None, :]
        sub = sub * val if op.scale else sub + val
    elif isinstance(op, ops.MapPolynomial):
        acc = np.zeros(sub.shape, np.float64)
        for coef in reversed(op.coefficients):
            acc = acc * sub + coef
        sub = acc.astype(np.float32)
    elif isinstance(op, ops.MapTable):
        table = op.table.astype(np.float32) / np.float32(65535.0)
        n = table.size
        if n == 1:
            sub = np.full_like(sub, table[0])
        else:
            sub = np.interp(np.clip(sub, 0.0, 1.0) * (n - 1), np.arange(n), table)
            sub = sub.astype(np.float32)
    if whole:
        return sub.astype(np.float32, copy=False)
    out = v.copy()
    out[np.ix_(rm, cm)] = sub
    return out


def apply_ops(v: np.ndarray, op_list, rows, cols, plane: int, H: int, W: int,
              domain) -> np.ndarray:
    """Apply ``op_list`` ((list number, opcode), ...) to one view ``v`` of white-balanced
    values; ``domain(n)`` gives the affine ``(scale, offset)`` into list ``n``'s domain."""
    for n, op in op_list:
        if isinstance(op, _BAD):
            continue
        if isinstance(op, _MULTIPLICATIVE) and n != 1:
            v = _apply_one(op, v, rows, cols, plane, H, W)
            continue
        s, o = domain(n)
        u = v * np.float32(s) + np.float32(o)
        u = _apply_one(op, u, rows, cols, plane, H, W)
        v = ((u - np.float32(o)) * np.float32(1.0 / s)).astype(np.float32)
    return v


def _fix_bad_pixels(x: np.ndarray, ctx, rows, plan_ops, idx: np.ndarray) -> np.ndarray:
    """Defective CFA sites (FixBadPixelsConstant on the stored values, FixBadPixelsList)
    -> the mean of their good same-colour neighbours."""
    a, b = rows
    h, w = x.shape
    bad = np.zeros((h, w), bool)
    raw = ctx.scene.mosaic[a:b]
    for _, op in plan_ops:
        if isinstance(op, ops.FixBadPixelsConstant):
            bad |= raw == op.constant
        elif isinstance(op, ops.FixBadPixelsList):
            pts = np.asarray(op.points, np.int64).reshape(-1, 2)
            inside = (pts[:, 0] >= a) & (pts[:, 0] < b) & (pts[:, 1] >= 0) & (pts[:, 1] < w)
            bad[pts[inside, 0] - a, pts[inside, 1]] = True  # vectorised: lists may be huge
            for t, lft, bt, rt in op.rects:
                t0, t1 = max(t, a), min(bt, b)
                if t0 < t1:
                    bad[t0 - a : t1 - a, max(lft, 0) : max(min(rt, w), 0)] = True
    if not bad.any():
        return x
    green = np.tile(idx == 1, ((h + 3) // 2, (w + 1) // 2))
    green = green[a % 2 : a % 2 + h, :w]
    pad = np.pad(x, 2)
    good = np.pad(~bad, 2)
    total = np.zeros((h, w), np.float64)
    count = np.zeros((h, w), np.float64)
    for dy, dx, only_green in ((-2, 0, False), (2, 0, False), (0, -2, False), (0, 2, False),
                               (-1, -1, True), (-1, 1, True), (1, -1, True), (1, 1, True)):
        g = good[2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w]
        if only_green:
            g = g & green
        total += np.where(g, pad[2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w], 0.0)
        count += g
    out = x.copy()
    fix = bad & (count > 0)
    out[fix] = (total[fix] / count[fix]).astype(np.float32)
    return out


def _multiplicative(plan) -> bool:
    """Every opcode is a gain in the levelled domain (GainMap, FixVignetteRadial in list 2;
    lensfun's vignetting), so their product can be taken once per pixel."""
    return all(isinstance(op, _MULTIPLICATIVE) and n != 1 for n, op in plan.raw_ops)


def _pack(plan, H: int, W: int, plane: int = 0):
    """The multiplicative opcodes as the arguments of ``_lens_shading.shade`` for ``plane``
    (see its docstring); cached in the plan."""
    key = ("packed", plane)
    with plan._lock:
        if key in plan._geometry:
            return plan._geometry[key]
    kind, area, par, gains = [], [], [], []
    offset = 0
    for _, op in plan.raw_ops:
        if isinstance(op, ops.FixVignetteRadial):
            cxp, cyp = op.cx * W, op.cy * H
            R = math.hypot(max(cyp, H - cyp), max(cxp, W - cxp))
            kind.append(1)
            area.append((0, 0, H, W, 1, 1))
            par.append((cxp, cyp, R, *op.k))
            continue
        a = op.area
        if not a.plane <= plane < a.plane + a.planes:
            continue
        g = op.gains[:, :, min(plane, op.gains.shape[2] - 1)].astype(np.float64)
        kind.append(0)
        area.append((a.top, a.left, a.bottom, a.right, a.row_pitch, a.col_pitch))
        par.append((op.origin[0], op.origin[1], op.spacing[0], op.spacing[1], *g.shape,
                    offset, 0.0))
        gains.append(g.ravel())
        offset += g.size
    packed = (np.array(kind, np.int32), np.array(area, np.int64).reshape(-1, 6),
              np.array(par, np.float64).reshape(-1, 8),
              np.concatenate(gains) if gains else np.zeros(1))
    with plan._lock:
        plan._geometry[key] = packed
    return packed


def _gain_planes(ctx, plan) -> dict | None:
    """Linear camera RGB at full resolution (a LinearRaw DNG), when every opcode is
    multiplicative: the gains' product per channel, once per frame; None otherwise (the
    ops then run one by one). (A mosaic and its binned image are shaded by the kernel.)"""
    if not _multiplicative(plan):
        return None
    with plan._lock:
        if "gains" in plan._geometry:
            return plan._geometry["gains"]
    src = ctx.source if ctx.source is not None else ctx.scene
    H, W = src.shape
    planes = {}
    r, c = np.arange(H), np.arange(W)
    for ch in range(3):
        g = np.ones((H, W), np.float32)
        planes[ch] = apply_ops(g, plan.raw_ops, r, c, ch, H, W, None)
    with plan._lock:
        plan._geometry["gains"] = planes
    return planes


def _binned_gains(ctx, plan, src) -> np.ndarray:
    """(h, w, 3) gains of the 2x2-binned mosaic: per channel the mean of its CFA sites'
    gains (computed once per size by the kernel, in one pass: ``_lens_shading.binned_gains``,
    each site's gains as ``shade`` computes them)."""
    key = ("binned", *ctx.shape)
    with plan._lock:
        if key in plan._geometry:
            return plan._geometry[key]
    H2, W2 = ctx.shape
    H, W = src.shape
    idx = np.ascontiguousarray(pattern_to_index(src.calibration.pattern), np.int32)
    binned = np.empty((H2, W2, 3), np.float32)
    _k.binned_gains(binned, idx, H, W, *_pack(plan, H, W))
    with plan._lock:
        plan._geometry[key] = binned
    return binned


def mosaic_gains(ctx) -> tuple | None:
    """``(H, W, kind, area, par, gains)``: the arguments of the one-pass shading of the
    full-resolution mosaic (``_lens_shading.shade``, and ``levels_shade``, which the fused
    schedule runs with levels and white balance), when this develop shades one and every
    opcode is a gain; None otherwise."""
    plan = ctx.plan.lens
    if not _enabled(ctx) or not _multiplicative(plan):
        return None
    src = ctx.source if ctx.source is not None else ctx.scene
    if src.space != "cfa" or ctx.shape != src.shape:
        return None
    H, W = src.shape
    return (H, W, *_pack(plan, H, W))


def _apply_gains(x: np.ndarray, ctx, rows, plan) -> np.ndarray | None:
    a, b = rows
    src = ctx.source if ctx.source is not None else ctx.scene
    H, W = src.shape
    out = np.empty(x.shape, np.float32)
    if x.ndim == 2:  # the full-resolution mosaic: gains per pixel, in one pass
        x = np.ascontiguousarray(x, np.float32)
        _k.shade(x, out, a, 1, 0, 1, *mosaic_gains(ctx))
        return out
    if src.space == "cfa" and ctx.shape != src.shape:  # binned
        return np.multiply(x, _binned_gains(ctx, plan, src)[a:b], out=out)
    if src.space == "camera" and ctx.shape == src.shape:
        planes = _gain_planes(ctx, plan)
        for c in range(3):
            out[..., c] = x[..., c] * planes[c][a:b]
        return out
    return None


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    plan = ctx.plan.lens
    if _multiplicative(plan):
        y = _apply_gains(x, ctx, rows, plan)
        if y is not None:
            return y
    src = ctx.source if ctx.source is not None else ctx.scene
    H, W = src.shape
    cal = src.calibration
    sy, sx = active_scale(ctx)
    a, b = rows
    gains = np.asarray(ctx.plan.gains if ctx.plan.gains is not None else np.ones(3))
    lv = ctx.params.levels
    black = np.asarray(cal.black_level, np.float64)
    white = float(lv.white if lv.white is not None else cal.white_level)

    def domain_for(c: int, site: tuple[int, int] | None):
        if site is not None and black.shape == (2, 2):
            bl = black[site] if lv.black is None else lv.black
        else:
            bl = float(black.ravel()[min(c, black.size - 1)]) if lv.black is None else lv.black
        wb = float(gains[c])

        def domain(n: int):
            if n == 1:
                return (white - bl) / (wb * 65535.0), bl / 65535.0
            return 1.0 / wb, 0.0

        return domain

    raw_ops = plan.raw_ops
    if x.ndim == 2:  # the full-resolution mosaic
        idx = pattern_to_index(cal.pattern)
        if any(isinstance(op, _BAD) for _, op in raw_ops):
            x = _fix_bad_pixels(x, ctx, rows, raw_ops, idx)
        out = np.empty_like(x, dtype=np.float32)
        cols_all = np.arange(x.shape[1])
        for dy in range(2):
            py = (dy - a) % 2
            r = np.arange(a + py, b, 2)
            for dx in range(2):
                c = idx[dy, dx]
                v = x[py::2, dx::2]
                out[py::2, dx::2] = apply_ops(v, raw_ops, r, cols_all[dx::2], 0, H, W,
                                              domain_for(c, (dy, dx)))
        return out
    out = np.empty(x.shape, np.float32)
    n, w = x.shape[:2]
    if src.space == "cfa":  # binned: each channel is the mean over its CFA sites
        idx = pattern_to_index(cal.pattern)
        for c in range(3):
            sites = [(dy, dx) for dy in range(2) for dx in range(2) if idx[dy, dx] == c]
            acc = None
            for dy, dx in sites:
                r = 2 * np.arange(a, b) + dy
                cc = 2 * np.arange(w) + dx
                v = apply_ops(x[..., c], raw_ops, r, cc, 0, H, W, domain_for(c, (dy, dx)))
                acc = v if acc is None else acc + v
            out[..., c] = acc * np.float32(1.0 / len(sites))
        return out
    r = frame_position(np.arange(a, b), sy)
    cc = frame_position(np.arange(w), sx)
    for c in range(3):
        out[..., c] = apply_ops(x[..., c], raw_ops, r, cc, c, H, W, domain_for(c, None))
    return out


def _analyse(ctx) -> None:
    ctx.plan.lens = plan_lens(ctx)


def _enabled(ctx) -> bool:
    plan = ctx.plan.lens
    return (is_raw(ctx) and plan is not None and bool(plan.raw_ops)
            and active_scale(ctx) is not None)


def _halo(ctx) -> int:
    plan = ctx.plan.lens
    if plan is not None and any(isinstance(op, _BAD) for _, op in plan.raw_ops):
        return 2
    return 0


STAGE = Stage(
    name="lens_shading",
    params="lens",
    reads="white-balanced linear camera signal: CFA mosaic (H, W) or camera RGB (H, W, 3)",
    writes="the same, lens shading corrected (DNG OpcodeList1/2, lensfun vignetting), "
           "unclipped",
    apply=_apply,
    cite="Adobe DNG specification 1.4-1.7, ch. 6 (GainMap, FixVignetteRadial, "
         "FixBadPixels*, Map*, Delta/ScalePer*), DNG SDK 1.7; lensfun 'pa' vignetting",
    halo=_halo,
    grid=2,
    enabled=_enabled,
    analyse=_analyse,
    preview=True,
)
