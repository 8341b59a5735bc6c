"""Night mode: merge a handheld burst into one cleaner frame that develops like a single raw.

Reads: N decoded frames (:class:`~redframe.io.scene.Scene`) of one constant-exposure
burst - raw CFA mosaics (any Bayer phase), or linear RGB (JPEG/HEIC frames decoded to
linear Rec.2020, or raws LibRaw demosaiced). Writes: one :class:`Scene` of the same kind:

- raw bursts: a float32 mosaic in the frames' raw DN (same black and white levels, same
  calibration; values unclipped and unquantised - the merge has more precision than the
  ADC had), which :func:`redframe.isp.pipeline.develop` develops exactly as it develops
  one raw, and :func:`write_merged_dng` stores as a 16-bit CFA DNG with the levels scaled
  up (4x for a 14-bit sensor: two more bits of precision);
- RGB bursts: float32 linear RGB in the frames' colour space.

Steps (Hasinoff et al. 2016, doi:10.1145/2980179.2980254): check the burst
(:func:`check_burst`); compare small thumbnails to catch frames of another scene; pick the
reference - the sharpest of the first frames; align every other frame to it by tiles
(:mod:`redframe.burst.align`); merge robustly on the reference grid
(:mod:`redframe.burst.merge`). A frame that matches too little of the reference is dropped
with a warning; with nothing left to merge the result is the reference frame alone, with a
warning - never a silent wrong merge.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from redframe.burst.align import AlignParams, TileAlignment, align_frame, build_pyramid, sharpness
from redframe.burst.merge import (
    FrameContribution,
    FramePlanes,
    MergeParams,
    RobustMerger,
    grey_from_mosaic,
)
from redframe.burst.noise import noise_profile_of
from redframe.color import LUMA_REC2020
from redframe.errors import InputError, UsageError
from redframe.io.dng import write_dng
from redframe.io.scene import Scene

__all__ = [
    "BurstParams",
    "BurstResult",
    "merge_burst",
    "align_and_merge",
    "check_burst",
    "select_reference",
    "dng_data",
    "write_merged_dng",
]

Progress = Callable[[str, int, int], None]


@dataclass
class BurstParams:
    """How to merge a burst. Defaults follow Hasinoff et al. 2016 / Monod et al. 2021."""

    align: AlignParams = field(default_factory=AlignParams)
    merge: MergeParams = field(default_factory=MergeParams)
    reference: int | None = None  # index of the reference frame; None = sharpest of ...
    candidates: int = 3  # ... the first `candidates` frames (Hasinoff et al.: first 3)
    #: frames whose thumbnail correlates less than this with the reference's (after a
    #: global shift, noise accounted for) show another scene: dropped with a warning
    min_similarity: float = 0.5
    #: frames whose exposure (time x ISO) differs by more than this are refused: the merge
    #: averages, it does not fuse brackets
    max_exposure_mismatch: float = 0.05


@dataclass
class BurstResult:
    """The merged scene and everything that led to it, for inspection and measurement."""

    scene: Scene
    reference: int
    frames: int  # frames given
    merged: list[int]  # indices of the frames that went into the merge (reference first)
    dropped: dict[int, str]  # index -> why it was left out
    alignments: dict[int, TileAlignment]  # index -> its tile alignment to the reference
    contributions: dict[int, FrameContribution]
    weight_sum: np.ndarray | None  # (H', W') sum of the alternate frames' weights
    noise_profile: tuple[float, float] | None
    noise_source: str
    effective_frames: float  # mean over pixels of 1 + the weights: ~N where all agreed
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _name(scene: Scene, index: int) -> str:
    path = scene.meta.path if scene.meta is not None else None
    return f"frame {index + 1} ({Path(path).name})" if path else f"frame {index + 1}"


def _kind(scene: Scene) -> str:
    if scene.mosaic is not None:
        return "cfa"
    if scene.rgb is not None:
        return scene.space
    return "empty"


def check_burst(scenes: Sequence[Scene], params: BurstParams | None = None) -> str:
    """Refuse bursts that cannot be merged; return their kind ("cfa" or the RGB space).

    Raises :class:`UsageError` for no frames and :class:`InputError` (naming the frame)
    for frames of different kinds, sizes, cameras, CFA patterns, orientations or
    exposures, and for frames with non-finite pixels.
    """
    params = params or BurstParams()
    if not scenes:
        raise UsageError("night mode needs at least one frame")
    first = scenes[0]
    kind = _kind(first)
    if kind == "empty":
        raise InputError(f"{_name(first, 0)} has no pixels")
    for i, s in enumerate(scenes):
        if not isinstance(s, Scene):
            raise UsageError(f"frame {i + 1} is a {type(s).__name__}, not a decoded Scene")
        k = _kind(s)
        name = _name(s, i)
        if k != kind:
            raise InputError(
                f"{name} is {'a raw mosaic' if k == 'cfa' else k + ' RGB'} but "
                f"{_name(first, 0)} is {'a raw mosaic' if kind == 'cfa' else kind + ' RGB'}; "
                "a burst must be all raws or all pictures of one kind"
            )
        if s.shape != first.shape:
            raise InputError(
                f"{name} is {s.shape[1]}x{s.shape[0]} but {_name(first, 0)} is "
                f"{first.shape[1]}x{first.shape[0]}; the frames of a burst must be the same size"
            )
        a, b = first.meta, s.meta
        for attr, what in (("make", "make"), ("model", "model")):
            va, vb = getattr(a, attr), getattr(b, attr)
            if va and vb and va.strip().lower() != vb.strip().lower():
                raise InputError(
                    f"{name} comes from another camera ({what} {vb!r}, not {va!r}); "
                    "a burst must come from one camera"
                )
        if (a.orientation or 1) != (b.orientation or 1):
            raise InputError(f"{name} has orientation {b.orientation}, not {a.orientation}")
        if kind == "cfa":
            ca, cb = first.calibration, s.calibration
            if cb is None or cb.pattern is None:
                raise InputError(f"{name} has a mosaic but no CFA calibration")
            if cb.pattern != ca.pattern:
                raise InputError(
                    f"{name} has CFA pattern {cb.pattern}, not {ca.pattern}; "
                    "a burst must share one sensor layout"
                )
        ea, eb = _exposure(a), _exposure(b)
        if ea and eb and abs(eb / ea - 1) > params.max_exposure_mismatch:
            raise InputError(
                f"{name} is exposed {eb / ea:.2f}x as much as {_name(first, 0)} "
                "(exposure time x ISO); night mode merges constant-exposure bursts"
            )
        data = s.mosaic if kind == "cfa" else s.rgb
        if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
            raise InputError(f"{name} has non-finite pixel values (NaN or infinity)")
    return kind


def _exposure(meta) -> float | None:
    if meta is None or not meta.exposure_time or not meta.iso:
        return None
    value = float(meta.exposure_time) * float(meta.iso)
    return value if np.isfinite(value) and value > 0 else None


def _frame_planes(scene: Scene, kind: str) -> FramePlanes:
    """The frame's planes as stored (raw DN quads for mosaics), with how to normalise them."""
    if kind == "cfa":
        cal = scene.calibration
        return FramePlanes.from_mosaic(scene.mosaic, cal.black_level, cal.white_level)
    data = np.ascontiguousarray(scene.rgb, np.float32)
    black, scale = np.zeros(3, np.float32), np.ones(3, np.float32)
    if scene.calibration is not None and kind != "rec2020":
        cal = scene.calibration
        black = np.broadcast_to(np.asarray(cal.black_level, np.float32).ravel()[:3], (3,))
        black = np.ascontiguousarray(black, np.float32)
        scale[:] = 1.0 / max(float(cal.white_level) - float(black.max()), 1e-6)
    return FramePlanes(data, black, scale)


#: RGB frames at least this large (short side) align on their 2x2-binned luma, as raws do
#: on their Bayer quads: a quarter of the work, and the sub-pixel step recovers the rest
RGB_BIN_MIN = 128


def _grey(scene: Scene, kind: str) -> np.ndarray:
    """The grey image frames are aligned on: the normalised mean of each Bayer quad, or
    the luma of RGB (2x2-binned when the frame is large enough, see :data:`RGB_BIN_MIN`)."""
    if kind == "cfa":
        cal = scene.calibration
        return grey_from_mosaic(scene.mosaic, cal.black_level, cal.white_level)
    frame = _frame_planes(scene, kind)
    # the grey RGB frames are aligned on: Rec.2020 luma
    luma = (frame.data @ (LUMA_REC2020 * frame.scale)).astype(np.float32)
    luma -= np.float32(np.dot(frame.black * frame.scale, LUMA_REC2020))
    if min(luma.shape) >= RGB_BIN_MIN:
        h, w = luma.shape[0] // 2, luma.shape[1] // 2
        luma = cv2.resize(luma[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)
    return luma


def _grey_scale(scene: Scene, kind: str) -> int:
    """Frame pixels per grey pixel."""
    return 2 if kind == "cfa" or min(scene.shape) >= RGB_BIN_MIN else 1


def _on_planes(alignment: TileAlignment, kind: str) -> TileAlignment:
    """The alignment in the merge's plane pixels: a raw's planes are its Bayer quads (the
    grey's own grid); an RGB frame's planes are its pixels (grey pixel i = pixels 2i, 2i+1)."""
    if kind == "cfa" or alignment.scale == 1:
        return alignment
    s, off = alignment.scale, 0.5 * (alignment.scale - 1)
    return dataclasses.replace(
        alignment,
        displacement=alignment.displacement * np.float32(s),
        centres_y=alignment.centres_y * s + off,
        centres_x=alignment.centres_x * s + off,
        scale=1,
    )


def _thumbnail(grey: np.ndarray, size: int = 64) -> tuple[np.ndarray, float]:
    """A ~``size`` px thumbnail (box-averaged) and how many grey pixels each one averages."""
    h, w = grey.shape
    f = max(1, max(h, w) // size)
    th, tw = max(1, h // f), max(1, w // f)
    return cv2.resize(grey[: th * f, : tw * f], (tw, th), interpolation=cv2.INTER_AREA), f * f


def _similarity(a: np.ndarray, b: np.ndarray, noise_var: float) -> float:
    """Correlation of two thumbnails after the best global shift, corrected for noise;
    1.0 when there is too little detail to tell (a flat frame cannot be judged)."""
    if a.shape[0] < 8 or a.shape[1] < 8:
        return 1.0
    win = cv2.createHanningWindow((a.shape[1], a.shape[0]), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32), win)
    limit = 0.25 * min(a.shape)
    if abs(dx) > limit or abs(dy) > limit:
        dx = dy = 0.0
    shifted = cv2.warpAffine(
        b, np.float32([[1, 0, -dx], [0, 1, -dy]]), (b.shape[1], b.shape[0]),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101,
    )
    my, mx = max(1, a.shape[0] // 8), max(1, a.shape[1] // 8)
    x = a[my:-my, mx:-mx].astype(np.float64).ravel()
    y = shifted[my:-my, mx:-mx].astype(np.float64).ravel()
    x, y = x - x.mean(), y - y.mean()
    vx, vy = np.mean(x * x) - noise_var, np.mean(y * y) - noise_var
    if min(vx, vy) <= 2.0 * noise_var or min(vx, vy) <= 1e-12:
        return 1.0  # (almost) featureless: nothing to compare
    return float(np.mean(x * y) / np.sqrt(vx * vy))


def select_reference(
    greys: Sequence[np.ndarray], candidates: int = 3, eligible: Sequence[bool] | None = None
) -> int:
    """Index of the sharpest (gradient energy) of the first ``candidates`` eligible frames."""
    eligible = list(eligible) if eligible is not None else [True] * len(greys)
    pool = [i for i in range(len(greys)) if eligible[i]][: max(1, candidates)]
    if not pool:
        return 0
    return max(pool, key=lambda i: sharpness(greys[i]))


def _copy_scene(scene: Scene, **changes) -> Scene:
    meta = dataclasses.replace(scene.meta, warnings=list(scene.meta.warnings))
    cal = dataclasses.replace(scene.calibration) if scene.calibration is not None else None
    base = dict(meta=meta, mosaic=scene.mosaic, rgb=scene.rgb, calibration=cal,
                space=scene.space, notes=list(scene.notes))
    base.update(changes)
    return Scene(**base)


def align_and_merge(
    scenes: Sequence[Scene], params: BurstParams | None = None, progress: Progress | None = None
) -> BurstResult:
    """Merge a burst (see the module docstring); returns the scene and the details."""
    params = params or BurstParams()
    kind = check_burst(scenes, params)
    n = len(scenes)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    warnings: list[str] = []
    if n == 1:
        msg = "night mode got a single frame: nothing to merge, the result is that frame"
        out = _copy_scene(scenes[0])
        out.notes.append(f"warning: {msg}")
        return BurstResult(out, 0, 1, [0], {}, {}, {}, None, None, "", 1.0, [msg], timings)

    # thumbnails and sharpness: cheap, from each frame's grey image
    greys, thumbs = [], []
    for s in scenes:
        grey = _grey(s, kind)
        greys.append(grey)
        thumbs.append(_thumbnail(grey))
    noise, noise_source = noise_profile_of(scenes[0], lambda: _frame_planes(scenes[0], kind))
    thumb_noise = [(noise[0] * max(float(t.mean()), 0.0) + noise[1]) / (4.0 * area if kind == "cfa"
                   else area) for t, area in thumbs]
    sim = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            v = _similarity(thumbs[i][0], thumbs[j][0], max(thumb_noise[i], thumb_noise[j]))
            sim[i, j] = sim[j, i] = v
    if params.reference is not None:
        if not 0 <= params.reference < n:
            raise UsageError(f"reference frame index {params.reference} is not in 0..{n - 1}")
        ref = params.reference
    else:
        if n >= 3:
            typical = np.array([np.median(np.delete(sim[i], i)) for i in range(n)])
            eligible = typical >= params.min_similarity
        else:
            eligible = np.array([True, sim[0, 1] >= params.min_similarity])
        ref = select_reference(greys, params.candidates, eligible)
    timings["reference"] = time.perf_counter() - t0

    ref_planes = _frame_planes(scenes[ref], kind).to_float()
    if ref != 0:
        noise, noise_source = noise_profile_of(scenes[ref], lambda: ref_planes)
    pyramid = build_pyramid(greys[ref], params.align)
    merger = RobustMerger(ref_planes, noise, params.merge)
    scale = _grey_scale(scenes[ref], kind)
    alignments: dict[int, TileAlignment] = {}
    contributions: dict[int, FrameContribution] = {}
    dropped: dict[int, str] = {}
    merged = [ref]
    t_align = t_merge = 0.0
    others = [i for i in range(n) if i != ref]
    # the frame most like the reference calibrates the statistics (see RobustMerger.calibrate)
    calibration_note = None
    calibrate = params.merge.calibrate == "always" or (
        params.merge.calibrate == "auto" and noise_source == "estimated"
    )
    if calibrate and others:
        best = max(others, key=lambda i: sim[ref, i])
        if sim[ref, best] >= params.min_similarity:
            ta = time.perf_counter()
            alignments[best] = align_frame(pyramid, greys[best], params.align, scale=scale)
            z_f, q_f = merger.calibrate(_frame_planes(scenes[best], kind),
                                        _on_planes(alignments[best], kind))
            timings["calibrate"] = time.perf_counter() - ta
            calibration_note = (
                f"noise statistics calibrated on {_name(scenes[best], best)}: window x"
                f"{1 / z_f:.2f}, pixel x{1 / q_f:.2f} the modelled variance"
            )
    for done, i in enumerate(others):
        if progress is not None:
            progress("align+merge", done, len(others))
        name = _name(scenes[i], i)
        if sim[ref, i] < params.min_similarity:
            dropped[i] = f"does not show the reference's scene (similarity {sim[ref, i]:.2f})"
            warnings.append(f"{name} {dropped[i]}; left out")
            continue
        ta = time.perf_counter()
        alignment = alignments.get(i) or align_frame(pyramid, greys[i], params.align, scale=scale)
        tb = time.perf_counter()
        contribution = merger.add(_frame_planes(scenes[i], kind), _on_planes(alignment, kind))
        t_align += tb - ta
        t_merge += time.perf_counter() - tb
        alignments[i] = alignment
        contributions[i] = contribution
        if contribution.accepted:
            merged.append(i)
        else:
            dropped[i] = (
                f"matches only {contribution.mean_weight:.0%} of the reference "
                "(another scene, a corrupt frame, or too much motion)"
            )
            warnings.append(f"{name} {dropped[i]}; left out")
        greys[i] = None  # type: ignore[call-overload]
    if progress is not None:
        progress("align+merge", len(others), len(others))
    timings["align"], timings["merge"] = t_align, t_merge
    t1 = time.perf_counter()
    wsum = merger.wsum
    effective = float(1.0 + wsum.mean())
    if len(merged) == 1:  # exactly the reference (no rounding residue of frames taken out)
        warnings.append(
            f"no frame matched the reference ({_name(scenes[ref], ref)}): the result is that "
            "frame alone, not a merge"
        )
        effective = 1.0
        scene = _copy_scene(scenes[ref])
        data = scene.mosaic if kind == "cfa" else scene.rgb
        setattr(scene, "mosaic" if kind == "cfa" else "rgb", data.astype(np.float32))
    else:
        scene = _assemble(scenes[ref], kind, merger, noise, effective)
    scene.notes.append(
        f"night: merged {len(merged)} of {n} frames on {_name(scenes[ref], ref)}, "
        f"{effective:.1f} frames per pixel on average (noise model: {noise_source})"
    )
    if calibration_note:
        scene.notes.append(calibration_note)
    scene.notes.extend(f"warning: {w}" for w in warnings)
    timings["assemble"] = time.perf_counter() - t1
    timings["total"] = time.perf_counter() - t0
    return BurstResult(
        scene=scene,
        reference=ref,
        frames=n,
        merged=merged,
        dropped=dropped,
        alignments=alignments,
        contributions=contributions,
        weight_sum=wsum,
        noise_profile=noise,
        noise_source=noise_source,
        effective_frames=effective,
        warnings=warnings,
        timings=timings,
    )


def _assemble(ref: Scene, kind: str, merger: RobustMerger, noise, effective: float) -> Scene:
    """The merged planes as a Scene like the reference (float32, unclipped)."""
    if kind == "cfa":
        cal = ref.calibration
        mosaic = np.empty(ref.mosaic.shape, np.float32)
        h, w = (mosaic.shape[0] // 2) * 2, (mosaic.shape[1] // 2) * 2
        if h < mosaic.shape[0] or w < mosaic.shape[1]:  # odd last row/column: the reference's
            mosaic[h:] = ref.mosaic[h:]
            mosaic[:, w:] = ref.mosaic[:, w:]
        merger.result_mosaic(cal.black_level, cal.white_level, mosaic)
        out = _copy_scene(ref, mosaic=mosaic, rgb=None)
        out.calibration.noise_profile = (noise[0] / effective, noise[1] / effective)
        return out
    rgb, _ = merger.result()
    cal = ref.calibration
    if cal is not None and kind != "rec2020":
        black = np.broadcast_to(np.asarray(cal.black_level, np.float32).ravel()[:3], (3,))
        span = np.float32(max(float(cal.white_level) - float(black.max()), 1e-6))
        rgb = rgb * span + black
    return _copy_scene(ref, rgb=rgb.astype(np.float32, copy=False), mosaic=None)


def merge_burst(scenes: Sequence[Scene], params: BurstParams | None = None) -> Scene:
    """Merge a handheld burst into one :class:`Scene` that develops like a single frame.

    Raw bursts give a float32 CFA mosaic in raw DN (same calibration, unclipped), RGB
    bursts float32 linear RGB. Warnings (frames left out, single frame) are in
    ``scene.notes`` prefixed ``"warning: "``; :func:`align_and_merge` returns the details.
    """
    return align_and_merge(scenes, params).scene


def dng_data(scene: Scene) -> tuple[np.ndarray, np.ndarray, int]:
    """(uint16 mosaic, black level (2, 2), white level) to store a merged raw as a DNG.

    The float mosaic's levels are scaled by the largest power of two that keeps the white
    level within 16 bits (4x for 14-bit raws, 16x for 12-bit ones): the merge's extra
    precision survives in the file, and readers normalise by the levels as usual.
    """
    if scene.mosaic is None or scene.calibration is None or scene.calibration.pattern is None:
        raise UsageError("only a merged raw (CFA mosaic) can be written as a DNG")
    cal = scene.calibration
    white = float(cal.white_level)
    k = 1
    while white * k * 2 <= 65535 and k < 16:
        k *= 2
    black = np.broadcast_to(np.asarray(cal.black_level, np.float64), (2, 2)) * k
    data = np.clip(np.rint(scene.mosaic.astype(np.float32) * np.float32(k)), 0, 65535)
    return data.astype(np.uint16), black, int(round(white * k))


def write_merged_dng(path: str | Path, scene: Scene) -> Path:
    """Write a merged raw (from :func:`merge_burst`) as a 16-bit CFA DNG."""
    cal = scene.calibration
    data, black, white = dng_data(scene)
    if cal.xyz_to_camera is None or cal.as_shot_neutral is None:
        raise UsageError("cannot write a DNG: the frames carry no colour matrix or neutral")
    return write_dng(
        path,
        data,
        pattern=cal.pattern,
        black_level=black,
        white_level=white,
        xyz_to_camera=np.asarray(cal.xyz_to_camera),
        as_shot_neutral=np.asarray(cal.as_shot_neutral),
        meta=scene.meta,
        noise_profile=cal.noise_profile,
        baseline_exposure=cal.baseline_exposure,
    )
