"""The one composer: runs an ordered stage list on rows of a frame.

The full develop (strip by strip), the half-size proof (the same list on the 2x2-binned
raw), the analysis preview (:func:`preview_through`) and the noise measurement
(:func:`crop_through`) all go through :func:`run`. With a *schedule* (a tuple of
:class:`Kernel`, :data:`redframe.isp.fused.SCHEDULE`) runs of consecutive stages that a
kernel covers are executed by that kernel instead of stage by stage; stages no kernel
covers (a new stage, a look) run their reference ``apply``. Without one, every stage runs
its reference implementation: that is the ``reference`` engine.

Strips: the frame is cut into horizontal strips; each is computed with ``pad`` extra rows
on each side, the sum of the halos of the stages that run (:func:`strip_pad`), its first
row aligned to the coarsest row grid any of them needs (:func:`strip_grid`), so a strip
equals the same rows of the whole frame exactly. Before each stage (or kernel) the strip
is cut to the rows the stages from there on read (the output rows widened by the sum of
*their* halos, on their grid): a stage's halo rows are computed only by the stages before
it, not carried through the rest of the list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from redframe.isp.levels import LevelsParams
from redframe.isp.stage import Context, Stage

__all__ = [
    "Kernel",
    "Strip",
    "active_stages",
    "frame_stages",
    "strip_pad",
    "strip_grid",
    "source_rows",
    "run",
    "render_strip",
    "analyse",
    "preview_through",
    "crop_through",
]


@dataclass
class Strip:
    """Rows ``[a, b)`` of the frame being computed for the output rows ``[y0, y1)``."""

    a: int
    b: int
    y0: int
    y1: int
    out: np.ndarray | None = None  # the frame being assembled (kernels may write into it)
    source: np.ndarray | None = None  # the scene's own rows (never written in place)
    planar: bool = False  # the current data is (3, H, W) (a kernel's hand-over)
    luma: np.ndarray | None = None  # a kernel's hand-over: luma of the current data
    data: np.ndarray | None = None  # the data handed to a kernel (see take)

    def take(self) -> np.ndarray:
        """The data handed to a kernel, released here so the kernel holds the only
        reference (a strip's intermediate images are freed as soon as they are used)."""
        x, self.data = self.data, None
        return x


@dataclass(frozen=True)
class Kernel:
    """One step of a schedule: a compiled implementation of a run of consecutive stages.

    ``covers``: the stage names it can run (in list order); ``accepts(name, ctx)``: whether
    it can run that stage in this develop; ``take(names, ctx)``: given the leading run of
    active stages it covers, how many it runs (0: none); ``run(ctx, strip, names, rest)``
    computes them on ``strip.take()`` (``rest``: the names of the active stages after them)
    and returns the result, or ``None`` when it wrote the strip's output rows into
    ``strip.out``.
    """

    name: str
    covers: tuple[str, ...]
    take: Callable[[list[str], Context], int]
    run: Callable[..., np.ndarray | None]
    accepts: Callable[[str, Context], bool] = field(default=lambda name, ctx: True)


def active_stages(ctx: Context, stages=None) -> list[Stage]:
    """The strip stages of ``stages`` (default ``ctx.stages``) that run for this develop."""
    return [s for s in (ctx.stages if stages is None else stages)
            if not s.frame and s.enabled(ctx)]


def frame_stages(ctx: Context) -> list[Stage]:
    """The whole-frame stages (after the strips) that run for this develop."""
    return [s for s in ctx.stages if s.frame and s.enabled(ctx)]


def strip_grid(ctx: Context) -> int:
    """The row alignment every strip's first row keeps (lcm of the active stages' grids)."""
    g = 1
    for s in active_stages(ctx):
        g = math.lcm(g, int(s.grid))
    return g


def strip_pad(ctx: Context) -> int:
    """Rows of overlap on each side of a strip: the sum of the active stages' halos (each
    stage's output depends on that many rows of its input on each side), rounded up to the
    row grid."""
    g = strip_grid(ctx)
    pad = sum(s.halo_rows(ctx) for s in active_stages(ctx))
    return -(-pad // g) * g


def source_rows(ctx: Context, a: int, b: int) -> np.ndarray:
    """Rows ``[a, b)`` of the frame's pixels as decoded (mosaic or RGB)."""
    scene = ctx.scene
    return scene.mosaic[a:b] if ctx.kind == "cfa" else scene.rgb[a:b]


def _interleaved(x: np.ndarray, strip: Strip) -> np.ndarray:
    if strip.planar:
        x = np.ascontiguousarray(np.moveaxis(x, 0, -1))
        strip.planar = False
    strip.luma = None
    return x


def _needs(stages: list[Stage], ctx: Context) -> tuple[list[int], list[int]]:
    """Per position ``i`` of ``stages``: the rows of context stages ``i..`` need on each
    side of the output rows (the sum of their halos) and the row grid they keep (lcm)."""
    n = len(stages)
    after, grids = [0] * (n + 1), [1] * (n + 1)
    for i in range(n - 1, -1, -1):
        after[i] = after[i + 1] + stages[i].halo_rows(ctx)
        grids[i] = math.lcm(grids[i + 1], int(stages[i].grid))
    return after, grids


def _trim(x: np.ndarray, strip: Strip, need: int, grid: int) -> np.ndarray:
    """``x`` (rows ``[strip.a, strip.b)``) cut to the rows the remaining stages read: the
    output rows widened by ``need`` on each side, both ends on ``grid`` (a stage that bins
    rows, the denoiser, sees whole bins, as at the frame's own edges).
    Each stage's halo is spent where it is used: after a stage with a wide halo (the lens
    warp) the later stages compute only the rows *they* need, not the whole strip pad.
    Interleaved data only (a kernel's planar hand-over carries its luma along: kept)."""
    a = max(strip.a, (strip.y0 - need) // grid * grid)
    b = min(strip.b, -(-(strip.y1 + need) // grid) * grid)
    if (a == strip.a and b == strip.b) or strip.planar or strip.luma is not None:
        return x
    x = x[a - strip.a : b - strip.a]
    strip.a, strip.b = a, b
    return x


def run(stages: list[Stage], ctx: Context, strip: Strip, x: np.ndarray | None = None,
        schedule: tuple = ()) -> np.ndarray | None:
    """Run ``stages`` (already filtered to the active ones) on rows ``[strip.a, strip.b)``:
    from the scene's own pixels, or from ``x``. Kernels of ``schedule`` take the runs of
    stages they cover; the rest run their reference ``apply``."""
    if x is None:
        x = source_rows(ctx, strip.a, strip.b)
        strip.source = x
    names = [s.name for s in stages]
    after, grids = _needs(stages, ctx)
    i = 0
    while i < len(stages):
        x = _trim(x, strip, after[i], grids[i])
        rows = (strip.a, strip.b)
        for kernel in schedule:
            cand: list[str] = []
            for name in names[i:]:
                if name not in kernel.covers or not kernel.accepts(name, ctx):
                    break
                cand.append(name)
            n = kernel.take(cand, ctx) if cand else 0
            if n:
                strip.data, x = x, None  # the kernel gets the only reference
                x = kernel.run(ctx, strip, tuple(cand[:n]), tuple(names[i + n:]))
                i += n
                break
        else:
            x = stages[i].apply(_interleaved(x, strip), ctx, rows)
            i += 1
        if x is None:  # a kernel wrote the strip's output rows
            return None
    return x


def render_strip(ctx: Context, y0: int, y1: int, pad: int, out: np.ndarray) -> None:
    """Compute output rows ``[y0, y1)`` into ``out`` from rows padded by ``pad`` (the first
    one aligned down to the strip grid)."""
    h = ctx.shape[0]
    g = strip_grid(ctx)
    a = max(0, (y0 - pad) // g * g)
    b = min(h, y1 + pad)
    strip = Strip(a, b, y0, y1, out=out)
    x = run(active_stages(ctx), ctx, strip, schedule=ctx.schedule)
    if x is None:
        return
    x = _interleaved(x, strip)
    out[y0:y1] = x[y0 - strip.a : y1 - strip.a]  # (the strip may have been cut: its rows)


def analyse(ctx: Context) -> None:
    """The global decisions, stage by stage in list order (``stage.analyse(ctx)``), on the
    analysis preview ``ctx.preview``; decoded pictures (display light) need none."""
    if ctx.kind not in ("cfa", "camera"):
        return
    for stage in ctx.stages:
        if stage.analyse is not None:
            stage.analyse(ctx)


def _index(ctx: Context, name: str) -> int:
    for i, s in enumerate(ctx.stages):
        if s.name == name:
            return i
    raise KeyError(f"no stage {name!r} in this develop's stage list")


def preview_through(ctx: Context, name: str) -> np.ndarray:
    """The analysis preview (levelled camera RGB) through the preview stages before stage
    ``name``, with the decisions made so far, on this develop's schedule."""
    pctx = replace(ctx, params=replace(ctx.params, levels=LevelsParams()), scene=ctx.preview,
                   kind="camera")
    stages = [s for s in active_stages(pctx, ctx.stages[:_index(ctx, name)]) if s.preview]
    h = pctx.shape[0]
    return run(stages, pctx, Strip(0, h, 0, h), schedule=ctx.schedule)


def crop_through(ctx: Context, name: str, size: int = 256) -> np.ndarray:
    """A central ``size`` x ``size`` crop of the decoded scene developed by the reference
    stages before stage ``name`` (even offsets: the CFA phase is kept)."""
    src = ctx.source or ctx.scene
    h, w = src.shape
    ch, cw = min(h, size), min(w, size)
    y0 = ((h - ch) // 2) & ~1
    x0 = ((w - cw) // 2) & ~1
    sub = replace(
        src,
        mosaic=None if src.mosaic is None else src.mosaic[:, x0 : x0 + cw],
        rgb=None if src.rgb is None else src.rgb[:, x0 : x0 + cw],
        notes=[],
    )
    cctx = replace(ctx, scene=sub, kind=src.space, schedule=())
    stages = active_stages(cctx, ctx.stages[:_index(ctx, name)])
    return run(stages, cctx, Strip(y0, y0 + ch, y0, y0 + ch))
