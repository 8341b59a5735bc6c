"""Highlight reconstruction for channels that clipped on the sensor.

Reads/writes white-balanced, demosaiced linear camera RGB (H, W, 3), float32, where channel
c clipped on the sensor at ``clip[c]`` (= its white-balance gain, since levels map the
sensor's white to 1). After white balance the three channels clip at different levels, so
a blown highlight turns magenta (green clips first) unless it is repaired.

Method (after darktable's "inpaint opposed" highlight reconstruction, H. Schwalm 2022, on
an idea of dcraw's "blend"): a clipped channel has lost only its own value; the other two
were still measured. So each channel is repaired by its *own* weight, a smoothstep from
``threshold`` to 1 of its own clip level (the 3x3 neighbourhood decides, so demosaic
fringes are caught too): each other channel predicts it as its own value times the ratio
the two had in the pixels around the clipped areas (measured once per image on the
analysis preview, :func:`highlight_ratios`); the predictions are averaged, weighted by how
far each predictor is from its own clip and by its signal
(:func:`redframe.isp.pixel.highlight_blend`), and never lower what was read. A blown blue
light keeps its blue and keeps brightening with its measured channels; a blown white
gets a neutral green instead of turning magenta. Where all three channels near their
clip no colour is left to trust and the pixel moves to a neutral at its largest value,
brighter than 1.0; the tone curve's path to white (:func:`redframe.isp.pixel.tone_rgb`)
takes it from there: no hard edge between repaired and measured pixels.

That neutral blend spans :data:`NEUTRAL_SPAN` times the per-channel repair's range (from
0.7 of the clip at the default threshold 0.9: a smoothstep of the least-clipped channel's
position), and only where a channel is being repaired (times the largest repair weight),
so colours measured below ``threshold`` stay exact. Where the three channels clip close
together (a magenta light: all raw channels near equal), the light reaches its neutral
over half a stop instead of 0.15 EV: through the ``authentic`` look, which keeps such a
light saturated up to its clip, a ramp of it stepped 12.6 L* between samples 3 % apart
(now 4.0; 4.2 through ``vibrant``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.isp import _pixel
from redframe.isp.compose import preview_through
from redframe.isp.pixel import highlight_blend_np
from redframe.isp.stage import Stage, is_raw
from redframe.isp.stats import median
from redframe.params import param, validate

__all__ = ["HighlightParams", "reconstruct_highlights", "clip_weight", "weight_from_fraction",
           "neutral_start", "highlight_ratios", "NEUTRAL_SPAN", "STAGE"]

#: The neutral blend's span of the clip level over each channel's own repair's (1 -
#: threshold); the kernels' ``RF_HL_SPAN`` (checked at import).
NEUTRAL_SPAN = 3.0
if _pixel.constants()["HL_SPAN"] != NEUTRAL_SPAN:
    raise ImportError("redframe.isp._pixel: RF_HL_SPAN differs from highlights.NEUTRAL_SPAN; "
                      "rebuild the kernels")


@dataclass
class HighlightParams:
    mode: str = param("reconstruct", choices=("reconstruct", "clip", "off"),
                      doc="repair clipped channels, clip all at the lowest clip, or nothing")
    threshold: float = param(0.9, lo=0.5, hi=0.99, unit="of the clip level",
                             doc="where a channel's repair starts (the neutral blend where "
                                 "all clip starts three times as far from the clip)")

    def __post_init__(self):
        validate(self, "highlights")


def neutral_start(threshold: float) -> float:
    """The fraction of the clip level where the neutral blend starts: :data:`NEUTRAL_SPAN`
    times further from the clip than ``threshold`` (0.7 at the default 0.9)."""
    return 1.0 - NEUTRAL_SPAN * (1.0 - threshold)


def clip_weight(image: np.ndarray, clip: np.ndarray, threshold: float) -> np.ndarray | None:
    """Per-pixel, per-channel repair positions (H, W, 3) in [0, 1] (None when no channel
    reaches ``threshold``, where nothing is repaired): :func:`weight_from_fraction` of each
    channel's fraction of its clip level."""
    frac = image * (1.0 / np.asarray(clip, np.float64)).astype(np.float32)
    if not np.any(frac > np.float32(threshold)):
        return None
    return weight_from_fraction(frac, threshold)


def weight_from_fraction(frac: np.ndarray, threshold: float) -> np.ndarray:
    """Repair positions from the per-channel fractions of the clip level (H, W, 3): the 3x3
    maximum (demosaicing mixes a clipped neighbour into the pixels around a blown area,
    which otherwise keep a coloured fringe), then linear from :func:`neutral_start` (0) to
    the clip (1). :func:`redframe.isp.pixel.highlight_blend` makes both weights of it: the
    channel's own repair, a smoothstep over the last 1 / :data:`NEUTRAL_SPAN` of the span
    (from ``threshold``), and the neutral blend, a smoothstep over all of it."""
    import cv2

    t0 = np.float32(neutral_start(threshold))
    frac = cv2.dilate(np.ascontiguousarray(frac, np.float32), np.ones((3, 3), np.uint8),
                      borderType=cv2.BORDER_REFLECT_101)
    return np.clip((frac - t0) * (np.float32(1.0) / (np.float32(1.0) - t0)), 0.0, 1.0)


#: A channel counts as clipped on the preview from this fraction of its clip level (the
#: 2x2-binned preview averages a clipped site with unclipped ones).
PREVIEW_CLIPPED = 0.97
#: Fewest unclipped pixels around a channel's clipped areas for its ratio to be measured.
MIN_SAMPLES = 16


def highlight_ratios(rgb: np.ndarray, clip: np.ndarray, threshold: float) -> np.ndarray:
    """(3, 3) ratios ``q[c, k]`` = channel c / channel k, measured (median) on the pixels of
    white-balanced (H, W, 3) ``rgb`` within a ring around the areas where channel c
    clipped, where c is still measured (bright enough to trust) and k unclipped: the hue
    the clipped area most likely has (darktable's "inpaint opposed" measures its chroma
    correction on the same pixels). -1 where c did not clip or fewer than
    :data:`MIN_SAMPLES` pixels qualify (that prediction is then not used)."""
    import cv2

    rgb = np.asarray(rgb, np.float32)
    inv = (1.0 / np.asarray(clip, np.float64)).astype(np.float32)
    ratios = np.full((3, 3), -1.0, np.float32)
    radius = max(8, round(max(rgb.shape[:2]) / 32))
    # the fraction of its clip level, one plane at a time and in the rings only: a frame's
    # worth of fractions (36 MB on a 12 MP frame's preview) was fresh memory every develop
    plane = np.empty(rgb.shape[:2], np.float32)
    for c in range(3):
        np.multiply(rgb[..., c], inv[c], out=plane)
        clipped = plane >= np.float32(PREVIEW_CLIPPED)
        if not clipped.any():
            continue
        # the pixels within `radius` of a clipped one: the exact Euclidean distance
        # transform (Felzenszwalb & Huttenlocher 2012, OpenCV's DIST_MASK_PRECISE) is linear
        # in the pixels; a dilation by a disc of this radius (125 px on a 12 MP frame's
        # preview) took 0.28 s per clipped channel
        far = cv2.distanceTransform((~clipped).astype(np.uint8), cv2.DIST_L2,
                                    cv2.DIST_MASK_PRECISE)
        ring = far <= np.float32(radius)
        x = rgb[ring]
        f = x * inv
        measured = (f[:, c] < np.float32(0.95)) & (f[:, c] > np.float32(0.5 * threshold))
        for k in range(3):
            if k == c:
                continue
            ok = measured & (f[:, k] < np.float32(threshold)) & (x[:, k] > np.float32(1e-4))
            if np.count_nonzero(ok) >= MIN_SAMPLES:
                ratios[c, k] = float(median(x[ok, c] / x[ok, k]))
    return ratios


def reconstruct_highlights(
    image: np.ndarray, clip: np.ndarray, params: HighlightParams | None = None,
    ratios: np.ndarray | None = None,
) -> np.ndarray:
    """Repair clipped channels; returns a new float32 (H, W, 3) array (unclipped above 1).
    ``ratios``: :func:`highlight_ratios` of the image (None: neutral repair)."""
    params = params or HighlightParams()
    clip = np.asarray(clip, dtype=np.float32).reshape(3)
    if params.mode == "off":
        return image
    if params.mode == "clip":
        return np.minimum(image, np.float32(clip.min()))
    if params.mode != "reconstruct":
        raise ValueError(f"highlight mode must be reconstruct, clip or off, got {params.mode!r}")
    if not 0.5 <= params.threshold < 1.0:
        raise ValueError(f"highlight threshold must be in [0.5, 1), got {params.threshold}")
    weight = clip_weight(image, clip, params.threshold)
    if weight is None:
        return image
    rho = np.full((3, 3), -1.0, np.float32) if ratios is None else ratios
    return highlight_blend_np(np.asarray(image, dtype=np.float32), weight, rho)


def _analyse(ctx) -> None:
    plan = ctx.plan
    if ctx.params.highlights.mode != "reconstruct":
        return
    pv = preview_through(ctx, "highlights")
    plan.highlight_ratio = highlight_ratios(pv, plan.clip, ctx.params.highlights.threshold)
    q = plan.highlight_ratio
    measured = [f"{a}/{b} {q[i, j]:.2f}" for i, a in enumerate("RGB")
                for j, b in enumerate("RGB") if q[i, j] > 0]
    if measured:
        plan.notes.append("highlights: clipped channels rebuilt at " + ", ".join(measured))


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return reconstruct_highlights(x, ctx.plan.clip, ctx.params.highlights,
                                  ctx.plan.highlight_ratio)


STAGE = Stage(
    name="highlights",
    params="highlights",
    reads="white-balanced linear camera RGB (H, W, 3)",
    writes="linear camera RGB, clipped channels repaired toward neutral (above 1 kept)",
    apply=_apply,
    cite="after darktable's 'inpaint opposed' (H. Schwalm 2022): clipped channels from the "
         "unclipped ones at their ratio around the clipped areas; neutral where all clip",
    halo=1,  # the 3x3 neighbourhood of the repair weight
    enabled=lambda ctx: is_raw(ctx) and ctx.params.highlights.mode != "off",
    analyse=_analyse,
    preview=True,
)
