"""HDR bracket merge: an exposure bracket of raw frames -> one linear scene of extended range.

Reads: 2-9 decoded raw frames (:class:`~redframe.io.scene.Scene`, CFA mosaics of one
camera) of different exposures - exposure time x ISO read from EXIF (aperture too when
it differs) - taken handheld. Writes: one :class:`Scene` holding a float32 CFA mosaic of
*relative radiance* (0 = black, 1 = the brightest value measured; the reference frame's
exposure kept through the DNG BaselineExposure), which
:func:`redframe.isp.pipeline.develop` develops like a raw (its local tone mapping takes the
range to SDR) and :func:`write_bracket_dng` stores as a 32-bit float CFA DNG.

Steps:

1. **Reference**: among the middle exposures (all but the shortest and the longest when
   there are at least three), the frame with the fewest clipped pixels (``reference=N``
   overrides).
2. **Alignment**: each frame is aligned to the reference with the night-mode aligner
   (:func:`redframe.burst.align.align_frame`: coarse-to-fine tiles, sub-pixel refinement,
   a similarity fitted over the frame, local motion kept where it is significant) on the
   Bayer-quad grey images brought to a common exposure and clipped to the range both
   frames measured, in a square-root domain (so the dark and the bright count alike);
   frames nearest the reference's exposure first, each aligned to the already aligned
   (resampled) frame nearest its own exposure, so every step compares frames that measured
   a wide common range.
3. **Radiance estimate** per Bayer plane sample, Debevec & Malik 1997 ("Recovering high
   dynamic range radiance maps from photographs", SIGGRAPH, doi:10.1145/258734.258884)
   on a linear sensor: ``E = sum_i w_i v_i / e_i / sum_i w_i``, with ``v_i`` the frame's
   normalised raw value resampled on the reference grid, ``e_i`` its relative exposure and
   ``w_i`` the inverse variance of ``v_i / e_i`` from the noise model (shot + read:
   ``Var v = S v + O``, the DNG NoiseProfile), so longer exposures dominate the shadows
   (Granados et al. 2010, "Optimal HDR reconstruction with linear digital cameras", CVPR,
   doi:10.1109/CVPR.2010.5540208); a sample is left out (smoothly, from 90 % of the clip
   level) where any site of its Bayer quad nears clipping.
4. **Deghosting**: a frame's sample counts only where it agrees with the reference's own
   estimate within its noise (the normalised squared difference averaged over a 5x5 window,
   weight 1 below ``t_lo``, 0 above ``t_hi``: the robustness test of the night merge,
   :mod:`redframe.burst.merge`); where the reference clipped, the shorter frames are
   compared with the shortest one that measured the pixel. The reference itself always
   counts where it measured: a moving object appears as the reference saw it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from redframe.burst import _bracket
from redframe.burst.align import AlignParams, align_frame, build_pyramid
from redframe.burst.files import write_dng_atomically
from redframe.burst.merge import flow_maps, grey_from_mosaic, planes_from_mosaic
from redframe.errors import InputError, UsageError
from redframe.io.dng import write_dng
from redframe.io.scene import Scene

__all__ = ["BracketParams", "BracketResult", "merge_bracket", "relative_exposures",
           "choose_reference", "radiance", "radiance_reference", "write_bracket_dng",
           "write_bracket_dng_atomically", "MAX_FRAMES"]

MAX_FRAMES = 9
Progress = Callable[[str, int, int], None]
_SITES = ((0, 0), (0, 1), (1, 0), (1, 1))


@dataclass
class BracketParams:
    align: AlignParams = field(default_factory=AlignParams)
    reference: int | None = None  # index of the reference frame; None: chosen (step 1)
    clip: float = 0.9  # fraction of the clip level where a sample starts to be left out
    t_lo: float = 4.0  # deghosting: normalised squared difference counted fully below
    t_hi: float = 16.0  # ... and not at all above
    radius: int = 2  # deghosting window (2 r + 1)^2 plane pixels


@dataclass
class BracketResult:
    scene: Scene
    reference: int
    exposures: list[float]  # relative to the reference
    weights: np.ndarray  # (F, H', W') each frame's share of the estimate
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _exposure(meta) -> float | None:
    if meta is None or not meta.exposure_time or not meta.iso:
        return None
    value = float(meta.exposure_time) * float(meta.iso)
    if meta.f_number:
        value /= float(meta.f_number) ** 2
    return value if np.isfinite(value) and value > 0 else None


def relative_exposures(scenes: Sequence[Scene]) -> list[float]:
    """Each frame's exposure (time x ISO / N^2, from its metadata) relative to the first;
    InputError when a frame does not say it."""
    values = []
    for i, s in enumerate(scenes):
        e = _exposure(s.meta)
        if e is None:
            raise InputError(f"frame {i + 1} does not say its exposure time and ISO; an HDR "
                             "bracket is merged by them")
        values.append(e)
    return [v / values[0] for v in values]


def _check(scenes: Sequence[Scene]) -> None:
    if not 2 <= len(scenes) <= MAX_FRAMES:
        raise UsageError(f"an HDR bracket is 2 to {MAX_FRAMES} frames, not {len(scenes)}")
    first = scenes[0]
    for i, s in enumerate(scenes):
        if s.mosaic is None or s.calibration is None or s.calibration.pattern is None:
            raise InputError(f"frame {i + 1} is not a raw CFA mosaic; redframe hdr merges "
                             "raw brackets")
        if s.shape != first.shape:
            raise InputError(f"frame {i + 1} is {s.shape[1]}x{s.shape[0]}, frame 1 "
                             f"{first.shape[1]}x{first.shape[0]}: one sensor, one size")
        if s.calibration.pattern != first.calibration.pattern:
            raise InputError(f"frame {i + 1} has another CFA pattern")
        data = s.mosaic
        if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
            raise InputError(f"frame {i + 1} has non-finite pixel values")


def _planes(scene: Scene) -> np.ndarray:
    cal = scene.calibration
    return planes_from_mosaic(scene.mosaic, cal.black_level, cal.white_level)


def _clip_weight(planes: np.ndarray, clip: float) -> np.ndarray:
    """1 where no site of the quad nears clipping, 0 at clipping, smooth between; a
    clipped quad also spoils its neighbours (3x3 min)."""
    w = np.empty(planes.shape[:2], np.float32)
    _bracket.clip_weight(np.ascontiguousarray(planes, np.float32), float(clip), w)
    return cv2.erode(w, np.ones((3, 3), np.uint8))


def choose_reference(scenes: Sequence[Scene], exposures: Sequence[float],
                     clip: float = 0.9) -> int:
    """The frame with the fewest clipped pixels among the middle exposures."""
    order = sorted(range(len(scenes)), key=lambda i: exposures[i])
    middle = order[1:-1] if len(order) >= 3 else order
    def clipped(i):
        cal = scenes[i].calibration
        g = grey_from_mosaic(scenes[i].mosaic, cal.black_level, cal.white_level)
        return float(np.mean(g > clip))
    return min(middle, key=lambda i: (clipped(i), -exposures[i]))


def _noise(scene: Scene) -> tuple[float, float]:
    prof = scene.calibration.noise_profile
    if prof is not None and all(np.isfinite(prof)) and prof[0] > 0:
        return float(prof[0]), float(max(prof[1], 1e-12))
    # unknown: a phone sensor's at base ISO scaled by the ISO (redframe.sim.sensor's)
    iso = float(scene.meta.iso or 100.0)
    full = 6000.0 * 50.0 / max(iso, 50.0)
    return 1.0 / full, (2.5 / full) ** 2


def _align_grey(planes: np.ndarray, e: float, ceiling: float) -> np.ndarray:
    """Quad grey at the reference's exposure, clipped to the shared range, sqrt domain."""
    out = np.empty(planes.shape[:2], np.float32)
    _bracket.align_grey(np.ascontiguousarray(planes, np.float32), float(e), float(ceiling),
                        out)
    return out


def _anchor_order(e: Sequence[float]) -> list[int]:
    """The frames shorter than the reference, shortest first: where the reference clipped,
    the first of them that measured a sample is what the others are checked against."""
    return [i for i in sorted(range(len(e)), key=lambda j: e[j]) if e[i] < 1.0]


def _agreement(z: np.ndarray, params: BracketParams) -> np.ndarray:
    """Deghosting weight from the normalised squared difference ``z`` (H, W): averaged
    over the window, 1 below t_lo, 0 above t_hi, and a 3x3 min."""
    k = 2 * params.radius + 1
    z = cv2.blur(z, (k, k), borderType=cv2.BORDER_REFLECT_101)
    agree = np.clip((params.t_hi - z) / (params.t_hi - params.t_lo), 0.0, 1.0)
    return cv2.erode(agree.astype(np.float32), np.ones((3, 3), np.uint8))


def radiance_reference(warped: Sequence[np.ndarray], valid: Sequence[np.ndarray],
                       e: Sequence[float], noise: Sequence[tuple[float, float]], ref: int,
                       params: BracketParams, mosaic_shape: tuple[int, int]
                       ) -> tuple[np.ndarray, np.ndarray, float]:
    """Steps 3-4 of the module docstring in NumPy (the definition :func:`radiance`
    computes): (the estimate as a CFA mosaic of ``mosaic_shape``, each frame's share
    (F, H', W'), the largest estimate). ``warped``: each frame's (H', W', 4) planes on the
    reference grid; ``valid``: their clipping/coverage weights (H', W')."""
    n = len(warped)
    shape = warped[ref].shape[:2]
    radiance = [np.maximum(w, 0) / np.float32(ei) for w, ei in zip(warped, e, strict=True)]
    inv_var = []
    for i in range(n):
        s, o = noise[i]
        var = (s * np.maximum(warped[i], 0) + o) / np.float32(e[i] ** 2)
        inv_var.append((1.0 / var).astype(np.float32))
    # the estimate each frame is checked against: the reference where it measured, else
    # the shortest frames' (they see what the reference clipped)
    anchor = radiance[ref].copy()
    anchor_iv = inv_var[ref] * valid[ref][..., None]
    for i in _anchor_order(e):
        need = (valid[ref] < 0.5)[..., None] & (anchor_iv <= 0)
        use = need & (valid[i] > 0.5)[..., None]
        anchor = np.where(use, radiance[i], anchor)
        anchor_iv = np.where(use, inv_var[i], anchor_iv)
    num = np.zeros(warped[ref].shape, np.float32)
    den = np.zeros(warped[ref].shape, np.float32)
    shares = np.zeros((n, *shape), np.float32)
    for i in range(n):
        w = inv_var[i] * valid[i][..., None]
        if i != ref:
            d = radiance[i] - anchor
            var = 1.0 / inv_var[i] + np.where(anchor_iv > 0, 1.0 / np.maximum(anchor_iv, 1e-30),
                                              0.0)
            w = w * _agreement((d * d / var).mean(axis=2), params)[..., None]
        num += w * radiance[i]
        den += w
        shares[i] = w.mean(axis=2)
    empty = den <= 0
    if np.any(empty):  # nothing measured it (a sun clipped in every frame): the shortest
        short = int(np.argmin(e))
        num = np.where(empty, radiance[short], num)
        den = np.where(empty, 1.0, den)
    est = num / den
    mosaic = np.zeros(mosaic_shape, np.float32)
    for c, (dy, dx) in enumerate(_SITES):
        mosaic[dy: 2 * shape[0]: 2, dx: 2 * shape[1]: 2] = est[..., c]
    return mosaic, shares, float(est.max()) if est.size else 0.0


def radiance(warped: Sequence[np.ndarray], valid: Sequence[np.ndarray], e: Sequence[float],
             noise: Sequence[tuple[float, float]], ref: int, params: BracketParams,
             mosaic_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`radiance_reference` by the compiled kernels (``_bracket.pyx``): one pass for
    the deghosting differences, OpenCV's box blur and erosion of them, one pass for the
    estimate, written into the mosaic."""
    n = len(warped)
    h, w = warped[ref].shape[:2]
    warped = [np.ascontiguousarray(x, np.float32) for x in warped]
    valid = [np.ascontiguousarray(x, np.float32) for x in valid]
    e = [float(x) for x in e]
    noise = [(float(s), float(o)) for s, o in noise]
    z = np.empty((n - 1, h, w), np.float32)
    _bracket.deghost_z(warped, valid, e, noise, ref, _anchor_order(e), z)
    others = [i for i in range(n) if i != ref]
    agree: list[np.ndarray | None] = [None] * n
    for slot, i in enumerate(others):
        agree[i] = _agreement(z[slot], params)
    del z
    mosaic = np.zeros(mosaic_shape, np.float32)
    shares = np.empty((n, h, w), np.float32)
    row_max = np.empty(h, np.float32)
    _bracket.radiance(warped, valid, agree, e, noise, ref, int(np.argmin(e)), mosaic,
                      shares, row_max)
    return mosaic, shares, float(row_max.max()) if h and w else 0.0


def merge_bracket(scenes: Sequence[Scene], params: BracketParams | None = None,
                  progress: Progress | None = None) -> BracketResult:
    """Merge an exposure bracket (see the module docstring)."""
    params = params or BracketParams()
    _check(scenes)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    rel = relative_exposures(scenes)
    n = len(scenes)
    if params.reference is not None:
        if not 0 <= params.reference < n:
            raise UsageError(f"--reference must be 1..{n}")
        ref = params.reference
    else:
        ref = choose_reference(scenes, rel, params.clip)
    e = [r / rel[ref] for r in rel]  # exposures relative to the reference
    if max(e) / min(e) < 1.5:
        raise InputError("the frames are exposed alike (within 1.5x): that is a burst for "
                         "`redframe night`, not an HDR bracket")
    planes = [_planes(s) for s in scenes]
    clipw = [_clip_weight(p, params.clip) for p in planes]
    shape = planes[ref].shape[:2]
    timings["prepare"] = time.perf_counter() - t0

    # alignment of every frame to the reference, on the range both measured
    t = time.perf_counter()
    warped: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    valid: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    warped[ref], valid[ref] = planes[ref], clipw[ref]
    # frames nearest the reference's exposure first; each is aligned to the frame already
    # on the reference grid whose exposure is nearest its own (the range both measured is
    # widest there: a chain across the bracket, each step on the reference's pixel grid)
    order = sorted((j for j in range(n) if j != ref), key=lambda j: abs(np.log2(e[j])))
    done = [ref]
    for k, i in enumerate(order):
        if progress is not None:
            progress("align+merge", k, n - 1)
        j = min(done, key=lambda d: abs(np.log2(e[i] / e[d])))
        ceiling = float(min(1.0 / e[i], 1.0 / e[j])) * params.clip
        pyr = build_pyramid(_align_grey(warped[j], e[j], ceiling), params.align)
        alignment = align_frame(pyr, _align_grey(planes[i], e[i], ceiling), params.align)
        mx, my = flow_maps(alignment, shape)
        inside = ((mx >= 0) & (mx <= shape[1] - 1) & (my >= 0) & (my <= shape[0] - 1))
        warped[i] = cv2.remap(planes[i], mx, my, cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)  # the 4 planes at once
        valid[i] = cv2.remap(clipw[i], mx, my, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0.0) * inside
        done.append(i)
    if progress is not None:
        progress("align+merge", n - 1, n - 1)
    timings["align"] = time.perf_counter() - t

    # radiance: inverse-variance weights, clipping, deghosting against the reference
    t = time.perf_counter()
    noise = [_noise(s) for s in scenes]
    mosaic, shares, top = radiance(warped, valid, e, noise, ref, params,
                                   scenes[ref].mosaic.shape)
    del warped, valid
    top = max(top, 1e-6)
    np.divide(mosaic, np.float32(top), out=mosaic)  # relative radiance: 1 the brightest
    timings["merge"] = time.perf_counter() - t

    cal = dataclasses.replace(scenes[ref].calibration,
                              black_level=np.zeros((2, 2), np.float32), white_level=1.0,
                              baseline_exposure=float(
                                  scenes[ref].calibration.baseline_exposure + np.log2(top)))
    # the merge's noise: shot noise as the reference's (the bright parts come from frames
    # near it), the read-noise floor the longest frame's (the shadows come from it)
    s_ref, o_ref = noise[ref]
    cal.noise_profile = (s_ref / top, o_ref / (top * max(e)) ** 2)
    meta = dataclasses.replace(scenes[ref].meta, warnings=list(scenes[ref].meta.warnings))
    # the darkest 1 %: on every k-th sample (k odd: every site; ~1 M samples)
    step = max(1, int(np.sqrt(mosaic.size / 1e6))) | 1
    sample = mosaic[::step, ::step]
    sample = sample[sample > 0]
    span = float(np.log2(1.0 / max(float(np.quantile(sample, 0.01)), 1e-12))) \
        if sample.size else 0.0
    note = (f"hdr: merged {n} frames (exposures {', '.join(f'{v:g}x' for v in e)} of frame "
            f"{ref + 1}), {span:.1f} EV from the 1 % darkest to the brightest")
    scene = Scene(meta=meta, mosaic=mosaic, calibration=cal, space="cfa",
                  notes=list(scenes[ref].notes) + [note])
    timings["total"] = time.perf_counter() - t0
    return BracketResult(scene, ref, e, shares, timings, [note])


def write_bracket_dng(path: str | Path, scene: Scene) -> Path:
    """Store a merged bracket as a 32-bit float CFA DNG (white level 1; the reference's
    exposure in BaselineExposure)."""
    cal = scene.calibration
    return write_dng(path, np.ascontiguousarray(scene.mosaic, np.float32),
                     pattern=cal.pattern, black_level=0.0, white_level=1,
                     xyz_to_camera=np.asarray(cal.xyz_to_camera),
                     as_shot_neutral=np.asarray(cal.as_shot_neutral), meta=scene.meta,
                     noise_profile=cal.noise_profile, baseline_exposure=cal.baseline_exposure)


def write_bracket_dng_atomically(path: Path, scene: Scene, overwrite: bool,
                                 then: Callable[[], object] | None = None) -> Path:
    """:func:`write_bracket_dng` under a temporary name, moved into place after ``then()``
    (the picture it goes with) succeeded: both appear, or neither (as the night DNG,
    :func:`redframe.burst.files.write_dng_atomically`)."""
    return write_dng_atomically(path, scene, overwrite, then, write=write_bracket_dng)
