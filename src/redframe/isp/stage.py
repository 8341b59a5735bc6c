"""The stage protocol: what one develop stage declares about itself.

A stage is data (vkdt's modules, Halide's Funcs): its name, which attribute of
:class:`~redframe.isp.pipeline.DevelopParams` holds its parameters (declared with
:func:`redframe.params.param`), the colour space / encoding it reads and writes, how many
rows of context it needs on each side (its *halo*: strips overlap by the sum of the halos
of the stages that run), its reference implementation (plain NumPy / OpenCV, arrays in,
arrays out) and the paper or standard it follows. Optionally it makes a global decision
once per image on the analysis preview (``analyse``: a camera's 3A statistics) and says
whether the preview passes through it (``preview``).

The ordered list is :data:`redframe.isp.stages.STAGES`; :mod:`redframe.isp.compose`
iterates it for the full develop, the half-size proof and the analysis preview alike, and
:mod:`redframe.isp.fused` is a separate *schedule* of the same list (compiled kernels that
cover runs of consecutive stages). Adding a stage is one module that declares ``STAGE``
and one line in the list.

Every callable takes the :class:`Context` of the develop; ``apply(x, ctx, rows)`` gets the
array of rows ``rows = (a, b)`` of the frame ``ctx.scene`` (a strip with its overlap, or
the whole frame) and returns the stage's output for the same rows. It must not modify
``x`` in place (the composer may hand it the decoded scene's own memory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Stage", "Context", "Plan", "RAW_KINDS", "is_raw"]

#: Scene kinds whose pixels still need the raw stages (levels .. colour, denoise, tone):
#: a Bayer mosaic (``cfa``) or camera RGB (``camera``: X-Trans / linear DNG, or a mosaic
#: binned 2x2). ``rec2020`` is a decoded picture (JPEG, HEIC, PNG, TIFF): display light.
RAW_KINDS = ("cfa", "camera")


def _always(ctx: Context) -> bool:
    return True


def is_raw(ctx: Context) -> bool:
    """Whether the frame is raw sensor data (not a decoded, display-referred picture)."""
    return ctx.kind in RAW_KINDS


@dataclass(frozen=True)
class Stage:
    """One develop stage (see the module docstring)."""

    name: str
    #: the attribute of DevelopParams with this stage's parameters (None: it has none)
    params: str | None
    reads: str  # what the input is: space and encoding
    writes: str  # what the output is
    #: reference implementation, ``apply(x, ctx, rows) -> y``
    apply: Callable[[np.ndarray, Context, tuple[int, int]], np.ndarray]
    cite: str  # the paper / standard the method follows
    #: rows of context needed on each side: an int, or a function of the context
    halo: int | Callable[[Context], int] = 0
    #: row alignment the stage needs of a strip's first row (a CFA period is 2; the
    #: denoiser's 4x binning needs 4)
    grid: int = 1
    #: whether the stage runs for this develop (e.g. denoise only for raws, when on)
    enabled: Callable[[Context], bool] = _always
    #: a global decision on the analysis preview, ``analyse(ctx)``, writing ``ctx.plan``
    analyse: Callable[[Context], None] | None = None
    #: whether the analysis preview passes through this stage
    preview: bool = False
    #: True: runs once on the whole assembled frame after the strips (orientation)
    frame: bool = False

    def halo_rows(self, ctx: Context) -> int:
        return int(self.halo(ctx) if callable(self.halo) else self.halo)


@dataclass
class Plan:
    """Decisions made once per image on the preview, shared by every strip."""

    gains: np.ndarray | None = None  # white balance (R, G, B), G = 1
    clip: np.ndarray | None = None  # where each white-balanced channel clipped
    #: highlights: (3, 3) ratios channel c / channel k next to where c clipped (its hue
    #: there); <= 0 where none was measured
    highlight_ratio: np.ndarray | None = None
    matrix: np.ndarray | None = None  # white-balanced camera RGB -> linear Rec.2020
    exposure: float = 1.0  # linear gain
    demosaic: Any = None  # the DemosaicParams in effect
    sigma: float | None = None  # noise std in the denoiser's sqrt domain
    denoise_bias: np.ndarray | None = None  # (3,) linear light the denoiser takes away
    ltm: Any = None  # redframe.isp.local_tone.LocalToneMap or None
    preview_y: np.ndarray | None = None  # luminance of the preview before exposure
    lens: Any = None  # redframe.isp.lens.LensPlan: the lens corrections this develop applies
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What every stage sees: the parameters, the frame being rendered, the plan."""

    params: Any  # DevelopParams
    scene: Any  # redframe.io.scene.Scene: the frame the strips render
    kind: str  # "cfa" | "camera" | "rec2020"
    plan: Plan
    #: kernels that run runs of stages (redframe.isp.fused.SCHEDULE); () = reference engine
    schedule: tuple = ()
    #: the analysis preview (a Scene of levelled camera RGB, 2x2-binned), during analysis
    preview: Any = None
    #: the decoded scene (the analysis measures noise on it; differs from ``scene`` for the
    #: half-size proof)
    source: Any = None
    stages: tuple = ()  # the stage list this develop runs

    @property
    def calibration(self):
        return self.scene.calibration

    @property
    def shape(self) -> tuple[int, int]:
        return self.scene.shape
