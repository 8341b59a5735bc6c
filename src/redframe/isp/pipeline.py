"""The develop pipeline: a decoded :class:`Scene` -> an encoded, display-oriented image.

The pipeline is data: the ordered stage list :data:`redframe.isp.stages.STAGES` (levels
-> white balance -> demosaic -> highlight reconstruction -> camera RGB to linear
Rec.2020 -> exposure -> denoise -> local tone mapping -> look or tone curve -> output
transform (sRGB / Display P3) -> output sharpening -> quantisation -> orientation), each
stage one module that declares its parameters, colour spaces, halo and reference
implementation (:class:`redframe.isp.stage.Stage`). :func:`develop` hands it to the one
composer, :mod:`redframe.isp.compose`.

Global decisions (white balance estimate, exposure, the local tone map, the noise level)
are made once on a small *preview* - the 2x2-binned mosaic - as a camera's 3A statistics
are (each stage's ``analyse``, in list order); then the per-pixel stages run on horizontal
strips with an overlap of the sum of the stages' halos, so memory stays bounded and strips
run on all cores. The strip result equals the full-frame result (tests check it). The
``fused`` engine runs the same list through :data:`redframe.isp.fused.SCHEDULE` (compiled
kernels over runs of stages); the ``reference`` engine runs each stage's reference.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from redframe import _threads as kernel_threads
from redframe.errors import ParameterError
from redframe.io.metadata import Metadata
from redframe.io.scene import Scene, pattern_to_index
from redframe.isp import compose
from redframe.isp.demosaic import DemosaicParams
from redframe.isp.denoise import DenoiseParams
from redframe.isp.exposure import RAW_EXPOSURE_EV
from redframe.isp.filters import resize
from redframe.isp.fused import SCHEDULE, bin_preview
from redframe.isp.highlights import HighlightParams
from redframe.isp.lens import LensParams
from redframe.isp.levels import LevelsParams, black_white_levels
from redframe.isp.output import OutputParams
from redframe.isp.quantize import OUTPUT_DTYPES
from redframe.isp.sharpen import SharpenParams
from redframe.isp.stage import Context, Plan
from redframe.isp.stages import STAGES
from redframe.isp.tone import ToneParams
from redframe.isp.white_balance import WhiteBalanceParams
from redframe.params import param, validate

__all__ = ["DevelopParams", "Developed", "develop", "prepare", "preview_camera_rgb",
           "half_size_scene", "RAW_EXPOSURE_EV"]


@dataclass
class DevelopParams:
    """Every develop setting; each stage's parameters are the dataclass of its module."""

    quality: str = param("high", choices=("high", "fast"),
                         doc="high: Menon 2007 demosaic and denoise; fast: Malvar 2004, "
                             "no denoise")
    #: develop raws at half size: each 2x2 CFA quad becomes one RGB pixel (greens averaged),
    #: no demosaic interpolation - LibRaw's ``half_size``, dcraw ``-h``; the fast proof mode
    half_size: bool = param(False, doc="2x2 binning instead of demosaicing (the fast proof)")
    levels: LevelsParams = field(default_factory=LevelsParams)
    wb: WhiteBalanceParams = field(default_factory=WhiteBalanceParams)
    demosaic: DemosaicParams | None = param(None, doc="unset: chosen by quality")
    highlights: HighlightParams = field(default_factory=HighlightParams)
    lens: LensParams = field(default_factory=LensParams)
    denoise: DenoiseParams = field(default_factory=DenoiseParams)
    tone: ToneParams = field(default_factory=ToneParams)
    tone_curve: bool = param(True, doc="false: colorimetric (linear) rendering, for "
                                       "measurements")
    sharpen: SharpenParams = field(default_factory=SharpenParams)
    output: OutputParams = field(default_factory=OutputParams)
    #: optional look (``look.apply(rgb, rows=, full_shape=, display_referred=)``: linear
    #: Rec.2020 scene light -> display-referred linear Rec.2020); not a parameter: recipes
    #: name the look themselves
    look: Any = None
    orient: bool = param(True, doc="apply the EXIF orientation to the pixels, then write "
                                   "Orientation 1")
    output_bits: int | None = param(None, choices=(8, 16),
                                    doc="8: uint8 (dithered), 16: uint16; unset: float32")
    engine: str = param("fused", choices=("fused", "reference"),
                        doc="fused: compiled schedule; reference: NumPy stage by stage")
    strip_rows: int = param(768, lo=0, unit="rows", doc="rows per strip, 0 = the whole frame")
    threads: int = param(1, lo=0, doc="strips in parallel, 0 = all cores")

    def __post_init__(self):
        validate(self)


@dataclass
class Developed:
    image: np.ndarray  # (H, W, 3) encoded in params.output.space, display-oriented: float32
    # in [0, 1], or uint8/uint16 when params.output_bits asks for it
    meta: Metadata
    space: str
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def preview_camera_rgb(
    mosaic: np.ndarray,
    pattern: str,
    black: np.ndarray,
    white: float,
    levels: LevelsParams | None = None,
) -> np.ndarray:
    """Half-resolution camera RGB from a mosaic by 2x2 binning (greens averaged)."""
    h, w = (mosaic.shape[0] // 2) * 2, (mosaic.shape[1] // 2) * 2
    norm = black_white_levels(mosaic[:h, :w], black, white, levels)
    idx = pattern_to_index(pattern)
    out = np.zeros((h // 2, w // 2, 3), np.float32)
    for dy in range(2):
        for dx in range(2):
            c = idx[dy, dx]
            out[..., c] += norm[dy::2, dx::2] * (0.5 if c == 1 else 1.0)
    return out


def half_size_scene(scene: Scene, levels: LevelsParams | None = None) -> Scene:
    """The raw at half resolution as levelled camera RGB (``space="camera"``, black 0,
    white 1): a Bayer mosaic is 2x2-binned (one R, the mean of the two G, one B per output
    pixel: colour without interpolation); camera RGB (X-Trans, linear DNG) is
    area-averaged. Levels are applied here, so the calibration says black 0, white 1.
    This is both the analysis preview and the half-size proof's input."""
    cal = scene.calibration
    if scene.space == "cfa":
        lv = levels or LevelsParams()
        if lv.black is None and lv.white is None:
            rgb = bin_preview(
                scene.mosaic, pattern_to_index(cal.pattern), cal.black_level, cal.white_level
            )
        else:
            rgb = preview_camera_rgb(
                scene.mosaic, cal.pattern, cal.black_level, cal.white_level, lv
            )
    elif scene.space == "camera":
        h, w = scene.rgb.shape[:2]
        small = resize(scene.rgb, (max(1, h // 2), max(1, w // 2)), area=True)
        rgb = black_white_levels(small, cal.black_level, cal.white_level, levels)
    else:
        raise ValueError(f"half size applies to raws, not {scene.space!r} images")
    cal = replace(cal, pattern=None, black_level=np.zeros(3, np.float32), white_level=1.0)
    return replace(scene, mosaic=None, rgb=rgb, calibration=cal, space="camera",
                   notes=list(scene.notes))


def _check_look(look) -> None:
    if look is not None and not callable(getattr(look, "apply", None)):
        raise ParameterError(
            f"look must be a look (an object with apply(rgb, rows=, full_shape=, "
            f"display_referred=), e.g. redframe.looks.get_look(name)), got {type(look).__name__}",
            key="look", value=look,
        )


def prepare(scene: Scene, params: DevelopParams, stages: tuple | None = None) -> Context:
    """Validate ``params`` and make the develop's global decisions (each stage's
    ``analyse`` on the preview): the :class:`Context` the strips of ``scene`` are rendered
    with (for the half-size proof: the 2x2-binned raw)."""
    validate(params)
    _check_look(params.look)
    stages = STAGES if stages is None else tuple(stages)
    schedule = SCHEDULE if params.engine == "fused" else ()
    plan = Plan()
    raw = scene.space in ("cfa", "camera")
    half = half_size_scene(scene, params.levels) if raw else None
    ctx = Context(params, scene, scene.space, plan, schedule=schedule, preview=half,
                  source=scene, stages=stages)
    compose.analyse(ctx)
    plan.preview_y = None  # the analysis is done: no full preview plane kept while rendering
    if params.half_size and raw:
        # the full-size develop's decisions (its preview *is* the half-size image), so the
        # proof looks like the full develop scaled down; levels are in the binning
        if plan.ltm is not None:
            plan.ltm = replace(plan.ltm, full_shape=half.shape)
        ctx = replace(ctx, params=replace(params, levels=LevelsParams()), scene=half,
                      kind="camera")
        plan.notes.append(f"half size: {half.shape[1]}x{half.shape[0]} (2x2 binning)")
    return replace(ctx, preview=None)


#: Frames of fewer pixels develop with one kernel thread: their kernels take a few
#: milliseconds at most, and waking an idle core for a parallel region can cost more (on the
#: project's 2-core VM the first parallel regions of a process took 8-16 ms each while the
#: other vCPU came back). The bundled 0.4 MP sample, 15 interleaved runs each: whole
#: process 0.309 -> 0.287 s (median), warm in process 49.5 -> 43.2 ms.
SMALL_FRAME = 1_000_000


@contextmanager
def _kernel_threads(pixels: int):
    """One kernel thread in this thread while a frame of ``pixels`` develops, if it is
    small (:data:`SMALL_FRAME`); the count is restored after."""
    if pixels >= SMALL_FRAME:
        yield
        return
    before = kernel_threads.get_num_threads()
    kernel_threads.set_num_threads(1)
    try:
        yield
    finally:
        kernel_threads.set_num_threads(before)


def develop(scene: Scene, params: DevelopParams | None = None, *,
            stages: tuple | None = None, schedule=None) -> Developed:
    """Develop ``scene`` through the stage list (default :data:`STAGES`); ``params`` are
    validated first (a mutated field out of range is refused, naming it). ``schedule``:
    ``schedule(ctx) -> kernels`` replaces the engine's schedule for the strips (the
    analysis keeps the engine's; :mod:`redframe.isp.hdr` taps the strips this way)."""
    h, w = scene.shape[:2]
    with _kernel_threads(h * w):
        return _develop(scene, params, stages, schedule)


def _develop(scene: Scene, params: DevelopParams | None, stages: tuple | None,
             schedule) -> Developed:
    params = params or DevelopParams()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ctx = prepare(scene, params, stages)
    if schedule is not None:
        ctx = replace(ctx, schedule=tuple(schedule(ctx)))
    plan = ctx.plan
    timings["analysis"] = time.perf_counter() - t0

    h, w = ctx.shape
    out = np.empty((h, w, 3), OUTPUT_DTYPES[params.output_bits])
    grid = compose.strip_grid(ctx)
    rows = params.strip_rows if params.strip_rows > 0 else h
    rows = max(grid, -(-rows // grid) * grid)
    starts = list(range(0, h, rows))
    pad = compose.strip_pad(ctx) if len(starts) > 1 else 0

    def run(y0: int) -> None:
        compose.render_strip(ctx, y0, min(h, y0 + rows), pad, out)

    t1 = time.perf_counter()
    threads = params.threads or min(len(starts), os.cpu_count() or 1)
    if threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, starts))
    else:
        for y0 in starts:
            run(y0)
    for stage in compose.frame_stages(ctx):
        out = stage.apply(out, ctx, (0, h))
    timings["render"] = time.perf_counter() - t1
    return Developed(out, scene.meta, params.output.space, list(scene.notes) + plan.notes,
                     timings)
