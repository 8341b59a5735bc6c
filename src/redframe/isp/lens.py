"""Lens corrections: which ones a develop applies, and from where (the plan).

Two stages apply them (:mod:`redframe.isp.lens_shading` before demosaic,
:mod:`redframe.isp.lens_warp` after); this module holds their shared parameters
(``DevelopParams.lens``) and the decision made once per image (``analyse`` of the shading
stage, the first of the two in the list), kept as ``ctx.plan.lens``:

- ``mode = "auto"`` (default): the DNG's own opcode lists when it has any (Adobe DNG
  specification 1.4-1.7, ch. 6: the camera maker's measured corrections for this very
  capture), else the lensfun database matched from EXIF (camera, lens, focal length,
  aperture, distance), else none.
- ``opcodes`` / ``lensfun``: only that source; ``off``: none.
- ``vignetting``, ``distortion``, ``tca``, ``fixes`` switch single corrections off
  (``fixes``: the DNG's bad-pixel, MapTable/MapPolynomial and Delta/Scale per row/column
  opcodes).
- ``crop = "auto"``: a correction that would leave empty corners is scaled up about the
  optical centre until none are left (lensfun's autoscale; for DNG warps the same search
  on the frame's edges); ``none``: edges are extended instead.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace

import numpy as np

from redframe.errors import InputError
from redframe.io import dng_opcodes as ops
from redframe.params import param, validate

__all__ = ["LensParams", "LensPlan", "plan_lens", "describe_lens", "active_scale",
           "frame_position", "dng_source", "WARP_LIMIT"]


@dataclass
class LensParams:
    mode: str = param("auto", choices=("auto", "off", "opcodes", "lensfun"),
                      doc="where lens corrections come from: auto = the DNG's opcodes, "
                          "else lensfun, else none")
    crop: str = param("auto", choices=("auto", "none"),
                      doc="auto: scale up so corrections leave no empty corners; none: "
                          "extend the edges")
    vignetting: bool = param(True, doc="lens shading: DNG GainMap / FixVignetteRadial, "
                                       "lensfun vignetting")
    distortion: bool = param(True, doc="geometric distortion: DNG WarpRectilinear / "
                                       "WarpFisheye, lensfun distortion")
    tca: bool = param(True, doc="lateral (transverse) chromatic aberration: per-plane "
                                "warps, lensfun TCA")
    fixes: bool = param(True, doc="the DNG's bad-pixel, map and per-row/column opcodes")

    def __post_init__(self):
        validate(self, "lens")


#: a warp whose source positions leave the frame by more than this fraction of its
#: diagonal, or that folds over (source radius not increasing), is skipped with a warning
WARP_LIMIT = 0.25

_SHADING = (ops.GainMap, ops.FixVignetteRadial)
_FIXES = (ops.FixBadPixelsConstant, ops.FixBadPixelsList, ops.MapTable, ops.MapPolynomial,
          ops.PerRowColumn)
_WARPS = (ops.WarpRectilinear, ops.WarpFisheye)


@dataclass
class LensPlan:
    """The corrections of one develop. ``raw_ops``: (list number, opcode) applied before
    demosaic, in list order; ``warp``: a DNG warp opcode or None; ``lensfun``: the
    :class:`redframe.io.lensfun.LensfunMatch`; ``scale``: the crop's zoom (1 = none)."""

    source: str  # "opcodes" | "lensfun"
    raw_ops: list = field(default_factory=list)
    warp: object | None = None
    lensfun: object | None = None
    lensfun_distortion: bool = False
    lensfun_tca: bool = False
    scale: float = 1.0
    applied: list[str] = field(default_factory=list)
    _geometry: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def warps(self) -> bool:
        return self.warp is not None or self.lensfun_distortion or self.lensfun_tca

    def geometry(self, shape: tuple[int, int]):
        """lensfun's geometry for an image of ``shape`` (made once per size)."""
        with self._lock:
            if shape not in self._geometry:
                self._geometry[shape] = self.lensfun.geometry(
                    shape[1], shape[0], distortion=self.lensfun_distortion,
                    tca=self.lensfun_tca, autoscale=self.scale != 1.0)
            return self._geometry[shape]


def active_scale(ctx) -> tuple[float, float] | None:
    """Full-resolution pixels per pixel of the frame being rendered (1: the develop, 2:
    the half-size proof / analysis preview); None for a crop of the frame (the noise
    measurement's), which the lens stages leave alone."""
    src = ctx.source if ctx.source is not None else ctx.scene
    (h, w), (H, W) = ctx.shape, src.shape
    sy, sx = H / h, W / w
    if abs(sy - sx) > 0.02 * max(sy, sx) or (h, w) != (round(H / sy), round(W / sx)):
        return None
    if (h, w) != (H, W) and not (H // 2 <= h <= -(-H // 2) and W // 2 <= w <= -(-W // 2)):
        return None
    return sy, sx


def frame_position(i: np.ndarray, s: float) -> np.ndarray:
    """Full-resolution coordinate of pixel index ``i`` of a frame scaled by ``s``."""
    return (np.asarray(i, np.float64) + 0.5) * s - 0.5


# ----------------------------------------------------------------------------- DNG warps


def _poly_ratio(op, plane: int, r2: np.ndarray) -> np.ndarray:
    if isinstance(op, ops.WarpFisheye):
        r = np.sqrt(np.maximum(r2, 1e-24))
        t = np.arctan(r)
        t2 = t * t
        k = op.k[plane]
        f = t * (k[0] + t2 * (k[1] + t2 * (k[2] + t2 * k[3])))
        return np.where(r2 < 1e-12, 1.0, f / r)
    lo, hi = op.valid[plane]
    r2 = np.clip(r2, lo * lo, hi * hi)
    c = op.radial[plane]
    if not np.any(c[1::2]):  # even powers only (WarpRectilinear): Horner in r^2
        ce = c[0::2]
        m = int(np.max(np.nonzero(ce)[0])) + 1 if np.any(ce) else 1
        poly = np.full_like(r2, ce[m - 1])
        for j in range(m - 2, -1, -1):
            poly = poly * r2 + ce[j]
    else:
        r = np.sqrt(r2)
        m = int(np.max(np.nonzero(c)[0])) + 1
        poly = np.full_like(r2, c[m - 1])
        for i in range(m - 2, -1, -1):
            poly = poly * r + c[i]
    return 1.0 / poly if op.reciprocal else poly


def dng_source(op, plane: int, rows: np.ndarray, cols: np.ndarray, H: int, W: int,
               scale: float = 1.0, tangential: bool = True,
               grid: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Source (row, col) in full-resolution pixels of the destination pixels at ``rows``
    (column vector) x ``cols`` (row vector), per the DNG SDK 1.7
    (``dng_filter_warp::GetSrcPixelPosition``): centre ``(cx W, cy H)``, radius normalised
    by the largest centre-to-corner distance, ``r^2`` limited to 1. ``scale`` < 1 zooms
    the destination about the centre (the crop). ``grid=False``: ``rows`` and ``cols``
    are the coordinates of the same points."""
    p = min(plane, op.planes - 1)
    cxp, cyp = op.cx * W, op.cy * H
    R = math.hypot(max(cxp, W - cxp), max(cyp, H - cyp))
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    if grid:
        rows, cols = rows[:, None], cols[None, :]
    dy = (rows - cyp) * (scale / R)
    dx = (cols - cxp) * (scale / R)
    r2 = np.minimum(dx * dx + dy * dy, 1.0)
    ratio = _poly_ratio(op, p, r2)
    sx, sy = dx * ratio, dy * ratio
    if tangential and isinstance(op, ops.WarpRectilinear):
        kt0, kt1 = op.tangential[p]
        if kt0 or kt1:
            sy = sy + kt0 * (r2 + 2.0 * dy * dy) + 2.0 * kt1 * dx * dy
            sx = sx + kt1 * (r2 + 2.0 * dx * dx) + 2.0 * kt0 * dx * dy
    return cyp + R * sy, cxp + R * sx


def _warp_check(op, H: int, W: int, tangential: bool) -> str | None:
    """Why the warp cannot be applied (None: it can)."""
    diag = math.hypot(H, W)
    rows = np.linspace(0, H - 1, 33)
    cols = np.linspace(0, W - 1, 33)
    r = np.linspace(0.0, 1.0, 257)
    for plane in range(op.planes):
        ys, xs = dng_source(op, plane, rows, cols, H, W, tangential=tangential)
        if not (np.all(np.isfinite(ys)) and np.all(np.isfinite(xs))):
            return f"{op.name} gives non-finite source positions"
        out = max(float(np.max(-ys)), float(np.max(ys - (H - 1))), float(np.max(-xs)),
                  float(np.max(xs - (W - 1))), 0.0)
        if out > WARP_LIMIT * diag:
            return (f"{op.name} maps pixels {out:.0f} px outside the {W}x{H} image "
                    f"(limit {WARP_LIMIT:.0%} of its diagonal)")
        radius = r * _poly_ratio(op, plane, r * r)
        if not np.all(np.isfinite(radius)) or np.any(np.diff(radius) <= 0):
            return f"{op.name} folds the image over (its source radius is not increasing)"
    return None


def _dng_autoscale(op, H: int, W: int, tangential: bool) -> float:
    """The largest zoom <= 1 (about the optical centre) at which every edge pixel's source
    lies inside the image (half a pixel of slack)."""
    n = 65
    edges = [(np.zeros(1), np.linspace(0, W - 1, n)), (np.full(1, H - 1), np.linspace(0, W - 1, n)),
             (np.linspace(0, H - 1, n), np.zeros(1)), (np.linspace(0, H - 1, n), np.full(1, W - 1))]

    def inside(s: float) -> bool:
        for rows, cols in edges:
            for plane in range(op.planes):
                ys, xs = dng_source(op, plane, rows, cols, H, W, s, tangential)
                if (ys.min() < -0.5 or ys.max() > H - 0.5 or xs.min() < -0.5
                        or xs.max() > W - 0.5):
                    return False
        return True

    if inside(1.0):
        return 1.0
    lo, hi = 0.5, 1.0
    if not inside(lo):
        return lo
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if inside(mid) else (lo, mid)
    return lo


# ----------------------------------------------------------------------------- the plan


def plan_lens(ctx) -> LensPlan | None:
    """Decide this develop's corrections (see the module docstring); notes go to the plan.
    Raises :class:`InputError` when the file's opcode lists are malformed and the mode
    asks for them."""
    p: LensParams = ctx.params.lens
    if p.mode == "off" or ctx.kind not in ("cfa", "camera"):
        return None
    src = ctx.source if ctx.source is not None else ctx.scene
    cal = src.calibration
    notes = ctx.plan.notes
    lists = getattr(cal, "opcodes", None)
    H, W = src.shape
    if p.mode in ("auto", "opcodes") and lists:
        if lists.error:
            raise InputError(f"{lists.error} (--lens off develops the file without its "
                             "lens corrections)")
        notes.extend(lists.warnings)
        plan = _plan_opcodes(lists, p, H, W, notes)
        if plan is not None:
            return plan
    if p.mode == "opcodes":
        return None
    match = getattr(cal, "lensfun", None)
    if p.mode in ("auto", "lensfun") and match is not None:
        plan = LensPlan("lensfun", lensfun=match)
        has = match.has()
        if p.vignetting and has["vignetting"]:
            gains = match.vignetting_gains(W, H)
            if gains is not None:
                area = ops.AreaSpec(0, 0, H, W, 0, 3 if src.space == "camera" else 1, 1, 1)
                plan.raw_ops.append((0, ops.gain_map(gains, area)))
                plan.applied.append("vignetting")
        plan.lensfun_distortion = bool(p.distortion and has["distortion"])
        plan.lensfun_tca = bool(p.tca and has["tca"])
        if plan.lensfun_distortion:
            plan.applied.append("distortion")
        if plan.lensfun_tca:
            plan.applied.append("TCA")
        if p.crop == "auto" and plan.warps:
            plan.scale = 0.0  # lensfun's autoscale
        if plan.applied:
            notes.append(f"lens: lensfun {match.name} at {match.focal:g} mm f/"
                         f"{match.aperture:g}: {', '.join(plan.applied)}")
            return plan
    return None


def _plan_opcodes(lists, p: LensParams, H: int, W: int, notes: list[str]) -> LensPlan | None:
    plan = LensPlan("opcodes")
    for n, op in lists.all():
        if isinstance(op, ops.Unsupported):
            continue
        if n in (1, 2) and isinstance(op, _SHADING):
            if p.vignetting:
                plan.raw_ops.append((n, op))
                plan.applied.append(f"{op.name} (list {n})")
        elif n in (1, 2) and isinstance(op, _FIXES):
            if p.fixes:
                plan.raw_ops.append((n, op))
                plan.applied.append(f"{op.name} (list {n})")
        elif n == 3 and isinstance(op, _WARPS):
            if not p.distortion and not p.tca:
                continue
            if plan.warp is not None:
                notes.append(f"lens: a second {op.name} in OpcodeList3 skipped (one warp "
                             "is applied)")
                continue
            tangential = p.distortion
            why = _warp_check(op, H, W, tangential)
            if why:
                notes.append(f"lens: {why}; skipped")
                continue
            plan.warp = _restrict_warp(op, p)
            if plan.warp is None:
                continue
            plan.scale = (_dng_autoscale(plan.warp, H, W, tangential) if p.crop == "auto"
                          else 1.0)
            what = [w for w, on in (("distortion", p.distortion),
                                    ("lateral CA", p.tca and op.planes > 1)) if on]
            plan.applied.append(f"{op.name} ({', '.join(what)}, {op.planes} plane"
                                f"{'s' if op.planes > 1 else ''})")
        else:
            notes.append(f"lens: {op.name} in OpcodeList{n} is not applied (redframe applies "
                         "it only in "
                         f"{'list 3' if isinstance(op, _WARPS) else 'lists 1-2'}"
                         f"{'; the frame size is kept' if isinstance(op, ops.TrimBounds) else ''})")
    if not plan.applied:
        return None
    crop = f", zoom {1 / plan.scale:.4f} (crop)" if plan.scale < 1 else ""
    notes.append(f"lens: DNG opcodes: {', '.join(plan.applied)}{crop}")
    return plan


def _restrict_warp(op, p: LensParams):
    """The warp with only the switched-on parts: without ``tca`` every plane takes the
    middle (green) plane's coefficients; without ``distortion`` the common part is
    removed, keeping each plane's difference from green."""
    if op.planes == 1:
        return op if p.distortion else None
    g = op.planes // 2 if op.planes == 3 else 0
    if p.distortion and p.tca:
        return op
    if p.distortion:
        if isinstance(op, ops.WarpFisheye):
            return _replace(op, k=np.repeat(op.k[g : g + 1], op.planes, 0))
        return _replace(op, radial=np.repeat(op.radial[g : g + 1], op.planes, 0),
                        tangential=np.repeat(op.tangential[g : g + 1], op.planes, 0))
    if isinstance(op, ops.WarpFisheye):
        return None
    radial = op.radial - op.radial[g] + np.eye(1, 15)[0]
    return _replace(op, radial=radial, tangential=np.zeros_like(op.tangential))


def _replace(op, **kw):
    return replace(op, **kw)


def describe_lens(scene, params: LensParams | None = None) -> list[str]:
    """What lens corrections a develop of ``scene`` gets, and from where (for `redframe
    info`)."""
    p = params or LensParams()
    if scene.space not in ("cfa", "camera"):
        return ["none (not a raw)"]
    if p.mode == "off":
        return ["none (--lens off)"]
    cal = scene.calibration
    lists = getattr(cal, "opcodes", None)
    lines = []
    if lists:
        if lists.error:
            lines.append(f"DNG opcodes unreadable: {lists.error}")
        else:
            lines.append(f"DNG opcodes: {lists.summary()}")
            lines += lists.warnings
    match = getattr(cal, "lensfun", None)
    reason = getattr(cal, "lensfun_reason", "")
    if match is not None:
        has = [k for k, v in match.has().items() if v]
        lines.append(f"lensfun: {match.name} on {match.camera_name} "
                     f"({', '.join(has) or 'no models'})")
    elif reason:
        lines.append(f"lensfun: no match ({reason})")
    use = None
    if p.mode in ("auto", "opcodes") and lists and not lists.error:
        use = "DNG opcodes"
    elif p.mode in ("auto", "lensfun") and match is not None:
        use = "lensfun"
    lines.insert(0, f"applied: {use or 'none'} (--lens {p.mode})")
    return lines
