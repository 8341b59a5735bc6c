"""The develop pipeline: a decoded :class:`Scene` -> an encoded, display-oriented image.

Order (DESIGN.md): levels -> white balance -> demosaic -> highlight reconstruction ->
camera RGB to linear Rec.2020 -> exposure -> denoise -> local tone mapping -> look / tone
curve -> output transform (sRGB / Display P3) -> output sharpening -> orientation.

Global decisions (white balance estimate, exposure, the local tone map, the noise level)
are made once on a small *preview* - the 2x2-binned mosaic - as a camera's 3A statistics
are; then the per-pixel stages run on horizontal strips with an overlap wide enough for
every neighbourhood operation, so memory stays bounded and strips run on all cores. The
strip result equals the full-frame result (tests check it).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from redframe.io.metadata import Metadata
from redframe.io.scene import Scene, pattern_to_index
from redframe.isp.color import apply_matrix, camera_to_working_matrix
from redframe.isp.demosaic import DemosaicParams, demosaic
from redframe.isp.denoise import DenoiseParams, denoise, estimate_noise_sigma, resolve
from redframe.isp.filters import resize
from redframe.isp.highlights import HighlightParams, reconstruct_highlights
from redframe.isp.levels import LevelsParams, black_white_levels
from redframe.isp.output import OutputParams, output_transform
from redframe.isp.sharpen import SharpenParams, sharpen
from redframe.isp.tone import (
    LocalToneMap,
    ToneParams,
    auto_exposure_ev,
    local_tone_map_apply,
    local_tone_map_prepare,
    luminance,
    noise_floor,
    tone_curve,
)
from redframe.isp.white_balance import WhiteBalanceParams, white_balance, white_balance_gains
from redframe.params import param, validate

__all__ = ["DevelopParams", "Developed", "develop", "preview_camera_rgb", "RAW_EXPOSURE_EV"]

#: Raws are exposed to protect highlights; a camera's rendering lifts them this much
#: (plus the DNG BaselineExposure). Same default as darktable's scene-referred workflow.
RAW_EXPOSURE_EV = 0.7

#: Long side (px) of the luminance preview the local tone map is fitted on: its base layer
#: and gain grid are this coarse; edges come from full-resolution luminance through the
#: guided model, so the grid only needs to resolve the scene's large areas.
LTM_PREVIEW = 512

#: Extra rows around each strip, so a strip equals the same rows of the whole frame:
#: Menon's passes (7) + the denoise fit (two radius-2 boxes at quarter size: 16, plus the
#: 2x2 binning and upsampling) + sharpening (3); kept even so the CFA phase is unchanged.
STRIP_PAD = 32


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
                        doc="fused: numba schedule; reference: NumPy stage by stage")
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


@dataclass
class _Plan:
    """Everything the strips need, decided once on the preview."""

    kind: str  # "cfa" | "camera" | "rec2020"
    gains: np.ndarray | None = None
    clip: np.ndarray | None = None
    matrix: np.ndarray | None = None
    exposure: float = 1.0
    sigma: float | None = None
    denoise_bias: np.ndarray | None = None  # (3,) linear light the denoiser takes away
    ltm: LocalToneMap | None = None
    demosaic: DemosaicParams | None = None


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
    area-averaged. Levels are applied here, so the calibration says black 0, white 1."""
    cal = scene.calibration
    if scene.space == "cfa":
        lv = levels or LevelsParams()
        if lv.black is None and lv.white is None:
            from redframe.isp.fused import bin_preview

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


def _plan(
    scene: Scene, params: DevelopParams, notes: list[str], preview: np.ndarray | None = None
) -> _Plan:
    """``preview``: levelled camera RGB to analyse (default: :func:`half_size_scene`)."""
    cal = scene.calibration
    if scene.space == "rec2020":
        return _Plan("rec2020")
    if preview is None:  # the 2x2-binned raw, as a camera's 3A statistics see it
        preview = half_size_scene(scene, params.levels).rgb
    gains, wb_note = white_balance_gains(params.wb, cal.xyz_to_camera, cal.as_shot_neutral, preview)
    notes.append(f"white balance: {wb_note}")
    matrix = camera_to_working_matrix(cal.xyz_to_camera, 1.0 / gains.astype(np.float64))
    ev = RAW_EXPOSURE_EV + cal.baseline_exposure + params.tone.exposure
    plan = _Plan(scene.space, gains=gains, clip=gains.copy(), matrix=matrix)
    if params.engine == "fused" and params.highlights.mode == "reconstruct":
        from redframe.isp.fused import highlights_matrix

        preview = np.ascontiguousarray(preview, dtype=np.float32)
        preview = highlights_matrix(
            preview, plan.clip, params.highlights.threshold, True, matrix, gain=gains,
            out=np.empty_like(preview),
        )
    else:
        preview = np.ascontiguousarray(preview * gains, dtype=np.float32)
        preview = reconstruct_highlights(preview, plan.clip, params.highlights)
        preview = apply_matrix(preview, matrix)
    y = luminance(preview)
    if params.tone.auto_exposure:
        ev = params.tone.exposure + auto_exposure_ev(y)
    plan.exposure = float(2.0**ev)
    notes.append(f"exposure: {ev:+.2f} EV")
    plan.demosaic = params.demosaic or DemosaicParams(
        method="menon2007" if params.quality == "high" else "malvar2004"
    )
    plan.sigma, plan.denoise_bias = _measure_noise(scene, plan, params)
    # a look may ask for less of the local tone mapping (neutral: none, tones as measured)
    ltm = params.tone.local * float(getattr(params.look, "local_tone_mapping", 1.0))
    if params.tone_curve and ltm > 0:
        long_side = max(y.shape)
        scale = min(1.0, LTM_PREVIEW / long_side)
        y_low = resize(y, (max(8, round(y.shape[0] * scale)), max(8, round(y.shape[1] * scale))))
        plan.ltm = local_tone_map_prepare(
            y_low * np.float32(plan.exposure), scene.shape, replace(params.tone, local=ltm),
            noise_floor(plan.sigma),
        )
        if plan.ltm is not None:
            notes.append(
                f"local tone mapping: base range {plan.ltm.base_range:.1f} EV, "
                f"compression x{plan.ltm.compression:.2f}"
            )
    return plan


def _linear_strip(scene: Scene, plan: _Plan, params: DevelopParams, y0: int, y1: int) -> np.ndarray:
    """Rows [y0, y1) of the scene as exposed linear Rec.2020 (before denoise)."""
    cal = scene.calibration
    if plan.kind == "rec2020":
        return scene.rgb[y0:y1]
    if plan.kind == "cfa":
        from redframe.isp.demosaic import shift_pattern

        raw = black_white_levels(
            scene.mosaic[y0:y1], cal.black_level, cal.white_level, params.levels, origin=(y0, 0)
        )
        raw = white_balance(raw, plan.gains, cal.pattern, origin=(y0, 0))
        rgb = demosaic(raw, plan.demosaic, shift_pattern(cal.pattern, y0 % 2, 0))
    else:
        rgb = black_white_levels(scene.rgb[y0:y1], cal.black_level, cal.white_level, params.levels)
        rgb = white_balance(rgb, plan.gains)
    rgb = reconstruct_highlights(rgb, plan.clip, params.highlights)
    rgb = apply_matrix(rgb, plan.matrix * np.float32(plan.exposure))
    return rgb


def _render_strip_fused(
    scene: Scene, plan: _Plan, params: DevelopParams, y0: int, y1: int, pad: int, out
) -> None:
    """The same as :func:`_render_strip`, scheduled through :mod:`redframe.isp.fused`."""
    from redframe.isp import fused
    from redframe.isp.demosaic import shift_pattern
    from redframe.isp.denoise import denoise_coefficients, resolve

    cal = scene.calibration
    h = scene.shape[0]
    a, b = max(0, y0 - pad), min(h, y1 + pad)
    dn = None
    if plan.kind == "rec2020":
        rgb = scene.rgb[a:b]
    else:
        if plan.kind == "cfa":
            idx = pattern_to_index(cal.pattern)
            black = (
                cal.black_level
                if params.levels.black is None
                else np.full((2, 2), params.levels.black, np.float32)
            )
            white = cal.white_level if params.levels.white is None else params.levels.white
            raw = fused.levels_wb(scene.mosaic[a:b], black, white, plan.gains[idx], row0=a)
            rgb = demosaic(raw, plan.demosaic, shift_pattern(cal.pattern, a % 2, 0))
            rgb = np.ascontiguousarray(rgb, dtype=np.float32)
            gain = None
        else:  # camera RGB: levels here, white balance inside the highlights kernel
            rgb = scene.rgb[a:b]
            if _levels_identity(cal, params.levels):
                rgb = np.ascontiguousarray(rgb, dtype=np.float32)
            else:
                rgb = black_white_levels(rgb, cal.black_level, cal.white_level, params.levels)
            gain = plan.gains
        hl = params.highlights
        m = plan.matrix * plan.exposure
        clip = plan.clip
        if hl.mode != "reconstruct":
            if gain is not None:
                rgb, gain = white_balance(rgb, plan.gains), None
            rgb = np.ascontiguousarray(reconstruct_highlights(rgb, plan.clip, hl), np.float32)
            clip = None
        if _denoise_on(params):
            # highlights, colour and the denoiser's sqrt domain in one pass: rgb becomes z
            luma_s, chroma_s, sigma = resolve(params.denoise, scene.meta.iso, plan.sigma)
            rgb, yz, z_low = fused.denoise_domain(rgb, clip, hl.threshold, m, gain)
            dn = (yz, denoise_coefficients(z_low, sigma), chroma_s, luma_s, plan.denoise_bias)
        else:
            rgb = fused.highlights_matrix(
                rgb, plan.clip, hl.threshold, clip is not None, m, gain=gain,
                out=None if gain is None else np.empty(rgb.shape, np.float32),
            )
    raw_like = plan.kind != "rec2020"
    luma = None
    if params.look is not None:  # a look is arbitrary code: finish with the reference stages
        if dn is not None:
            rgb = fused.finish_denoise_only(rgb, dn, sqrt_input=True)
        if raw_like:
            rgb = local_tone_map_apply(rgb, plan.ltm, rows=slice(a, b))
        rgb = _apply_look(params.look, rgb, scene, a, b, plan.kind == "rec2020")
        enc = output_transform(rgb, params.output)
    else:
        if raw_like and params.sharpen.amount > 0 and out.dtype != np.float32:
            luma = np.empty(rgb.shape[:2], np.float32)
        enc = fused.finish(
            rgb,
            denoise=dn,
            ltm=plan.ltm if raw_like else None,
            ltm_row0=a,
            tone=params.tone if (raw_like and params.tone_curve) else None,
            space=params.output.space,
            sqrt_input=dn is not None,
            luma=luma,
            planar=out.dtype != np.float32,
        )
    sharp = params.sharpen if raw_like else SharpenParams(amount=0.0)
    if out.dtype == np.float32:
        if raw_like:
            fused.sharpen_apply(enc, sharp)
        out[y0:y1] = enc[y0 - a : y0 - a + (y1 - y0)]
    else:
        fused.sharpen_quantize(enc, sharp, out[y0:y1], offset=y0 - a, row0=y0, luma=luma,
                               planar=params.look is None)


def _levels_identity(cal, levels: LevelsParams) -> bool:
    """Whether black/white levels leave this RGB scene as it is (black 0, white 1)."""
    return (
        levels.black is None
        and levels.white is None
        and cal.white_level == 1.0
        and not np.any(np.asarray(cal.black_level))
    )


def _apply_look(look, rgb: np.ndarray, scene: Scene, a: int, b: int, display: bool):
    """Call a look on rows [a, b) of the frame: looks with an ``apply`` method (redframe's
    Look and CubeLook) get the strip position (vignette, grain) and whether the input is
    display light (decoded JPEG/HEIC/PNG) or scene light (raws)."""
    if hasattr(look, "apply"):
        return look.apply(rgb, rows=(a, b), full_shape=scene.shape, display_referred=display)
    return look(rgb)


def _denoise_on(params: DevelopParams) -> bool:
    d = params.denoise
    if params.quality == "high":
        return not (d.luma == 0 and d.chroma == 0)
    return bool(d.luma) or bool(d.chroma)


def _render_strip(
    scene: Scene, plan: _Plan, params: DevelopParams, y0: int, y1: int, pad: int, out
) -> None:
    """Render rows [y0, y1) (computed with ``pad`` extra rows each side) into ``out``."""
    if params.engine == "fused":
        return _render_strip_fused(scene, plan, params, y0, y1, pad, out)
    h = scene.shape[0]
    a, b = max(0, y0 - pad), min(h, y1 + pad)
    rgb = _linear_strip(scene, plan, params, a, b)
    if plan.kind != "rec2020":
        if _denoise_on(params):
            rgb = denoise(rgb, params.denoise, scene.meta.iso, plan.sigma, plan.denoise_bias)
        rgb = local_tone_map_apply(rgb, plan.ltm, rows=slice(a, b))
        if params.look is not None:
            rgb = _apply_look(params.look, rgb, scene, a, b, False)
        elif params.tone_curve:
            rgb = tone_curve(rgb, params.tone)
    elif params.look is not None:
        rgb = _apply_look(params.look, rgb, scene, a, b, True)
    enc = output_transform(rgb, params.output)
    if plan.kind != "rec2020":
        enc = sharpen(enc, params.sharpen)
    enc = enc[y0 - a : y0 - a + (y1 - y0)]
    if out.dtype == np.float32:
        out[y0:y1] = enc
    else:
        from redframe.isp.fused import quantize_reference

        out[y0:y1] = quantize_reference(enc, out.dtype, row0=y0)


def develop(scene: Scene, params: DevelopParams | None = None) -> Developed:
    """Develop ``scene``; see the module docstring for the stage order."""
    params = validate(params or DevelopParams())
    notes = list(scene.notes)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if params.half_size and scene.space in ("cfa", "camera"):
        half = half_size_scene(scene, params.levels)
        # the full-size develop's decisions (its preview *is* the half-size image), so the
        # proof looks like the full develop scaled down
        plan = _plan(scene, params, notes, preview=half.rgb)
        plan.kind = "camera"
        if plan.ltm is not None:
            plan.ltm = replace(plan.ltm, full_shape=half.shape)
        scene, params = half, replace(params, levels=LevelsParams())  # levels: in the binning
        notes.append(f"half size: {scene.shape[1]}x{scene.shape[0]} (2x2 binning)")
    else:
        plan = _plan(scene, params, notes)
    timings["analysis"] = time.perf_counter() - t0

    h, w = scene.shape
    dtype = {None: np.float32, 8: np.uint8, 16: np.uint16}.get(params.output_bits)
    if dtype is None:
        raise ValueError(f"output_bits must be None, 8 or 16, got {params.output_bits!r}")
    out = np.empty((h, w, 3), dtype)
    rows = params.strip_rows if params.strip_rows > 0 else h
    rows = max(2, rows + rows % 2)
    starts = list(range(0, h, rows))
    pad = STRIP_PAD if len(starts) > 1 else 0

    def run(y0: int) -> None:
        y1 = min(h, y0 + rows)
        _render_strip(scene, plan, params, y0, y1, pad, out)

    t1 = time.perf_counter()
    threads = params.threads or min(len(starts), os.cpu_count() or 1)
    if threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, starts))
    else:
        for y0 in starts:
            run(y0)
    timings["render"] = time.perf_counter() - t1

    meta = scene.meta
    if params.orient and meta.orientation not in (None, 1):
        from redframe.io.encode import apply_orientation

        out = np.ascontiguousarray(apply_orientation(out, meta.orientation))
        notes.append(f"orientation {meta.orientation} applied to the pixels")
    return Developed(out, meta, params.output.space, notes, timings)


def _measure_noise(
    scene: Scene, plan: _Plan, params: DevelopParams
) -> tuple[float, np.ndarray | None]:
    """Noise sigma on a central crop developed up to the denoiser (same for every strip),
    and the denoiser's bias there: the linear light it takes away per channel (see
    :func:`redframe.isp.denoise.denoise`), or None with denoise off."""
    h, w = scene.shape
    ch, cw = min(h, 256), min(w, 256)
    y0 = ((h - ch) // 2) & ~1
    x0 = ((w - cw) // 2) & ~1
    sub = Scene(
        meta=scene.meta,
        calibration=scene.calibration,
        space=scene.space,
        mosaic=None if scene.mosaic is None else scene.mosaic[:, x0 : x0 + cw],
        rgb=None if scene.rgb is None else scene.rgb[:, x0 : x0 + cw],
    )
    crop = _linear_strip(sub, plan, params, y0, y0 + ch)
    sigma = estimate_noise_sigma(crop)  # green's
    if not _denoise_on(params) or plan.kind == "rec2020":
        return sigma, None
    # the variance the chroma filter takes out of each channel's noise, in linear light:
    # sigma_c^2 (sqrt domain, so about constant over the image) x cs (2 - cs)
    _, chroma_s, _ = resolve(params.denoise, scene.meta.iso, sigma)
    sigma_c = np.array([estimate_noise_sigma(crop[..., 0]), sigma,
                        estimate_noise_sigma(crop[..., 2])])
    bias = sigma_c**2 * chroma_s * (2.0 - chroma_s)
    return sigma, bias.astype(np.float32)
