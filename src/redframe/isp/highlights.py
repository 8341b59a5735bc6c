"""Highlight reconstruction for channels that clipped on the sensor.

Reads/writes white-balanced, demosaiced linear camera RGB (H, W, 3), float32, where channel
c clipped on the sensor at ``clip[c]`` (= its white-balance gain, since levels map the
sensor's white to 1). After white balance the three channels clip at different levels, so
a blown highlight turns magenta (green clips first) unless it is repaired.

Method (ours; the same idea as darktable's "clip highlights" with a soft transition and
dcraw's "blend"): where a pixel approaches clipping, each clipped channel is raised to the
largest white-balanced value of the pixel, i.e. we assume the unknown part of a blown
highlight is neutral and at least as bright as what was still measured. The repair fades
in smoothly from ``threshold`` of the clip level, so the edge of a blown area keeps its
measured colour (the 3x3 neighbourhood decides, so demosaic fringes are caught too) and the
core becomes a neutral white brighter than 1.0, which the tone
curve rolls off: no magenta, no hard edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.isp.pixel import highlight_blend_np
from redframe.isp.stage import Stage, is_raw
from redframe.params import param, validate

__all__ = ["HighlightParams", "reconstruct_highlights", "clip_weight", "weight_from_fraction",
           "STAGE"]


@dataclass
class HighlightParams:
    mode: str = param("reconstruct", choices=("reconstruct", "clip", "off"),
                      doc="repair clipped channels, clip all at the lowest clip, or nothing")
    threshold: float = param(0.9, lo=0.5, hi=0.99, unit="of the clip level",
                             doc="where the highlight repair starts")

    def __post_init__(self):
        validate(self, "highlights")


def clip_weight(image: np.ndarray, clip: np.ndarray, threshold: float) -> np.ndarray | None:
    """Per-pixel repair weight in [0, 1] (None when nothing is near clipping).

    How close each pixel is to clipping, in fractions of its channels' clip levels, taken
    as the maximum over its 3x3 neighbourhood: demosaicing mixes a clipped neighbour into
    the pixels around a blown area, which otherwise keep a magenta fringe.
    """
    inv = (1.0 / np.asarray(clip, np.float64)).astype(np.float32)
    # elementwise maxima of the channel planes: np.max(axis=2) is ~10x slower here
    frac = np.maximum(np.maximum(image[..., 0] * inv[0], image[..., 1] * inv[1]),
                      image[..., 2] * inv[2])
    if not np.any(frac > np.float32(threshold)):
        return None
    return weight_from_fraction(frac, threshold)


def weight_from_fraction(frac: np.ndarray, threshold: float) -> np.ndarray:
    """Repair weight from the per-pixel fraction of the clip level: 3x3 maximum, then a
    smoothstep from ``threshold`` to 1 (no visible edge)."""
    import cv2

    t0 = np.float32(threshold)
    frac = cv2.dilate(frac, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REFLECT_101)
    weight = np.clip((frac - t0) / (np.float32(1.0) - t0), 0.0, 1.0)
    return weight * weight * (3.0 - 2.0 * weight)


def reconstruct_highlights(
    image: np.ndarray, clip: np.ndarray, params: HighlightParams | None = None
) -> np.ndarray:
    """Repair clipped channels; returns a new float32 (H, W, 3) array (unclipped above 1)."""
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
    return highlight_blend_np(np.asarray(image, dtype=np.float32), weight)


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return reconstruct_highlights(x, ctx.plan.clip, ctx.params.highlights)


STAGE = Stage(
    name="highlights",
    params="highlights",
    reads="white-balanced linear camera RGB (H, W, 3)",
    writes="linear camera RGB, clipped channels repaired toward neutral (above 1 kept)",
    apply=_apply,
    cite="ours; the idea of darktable's 'clip highlights' with a soft transition and "
         "dcraw's 'blend'",
    halo=1,  # the 3x3 neighbourhood of the repair weight
    enabled=lambda ctx: is_raw(ctx) and ctx.params.highlights.mode != "off",
    preview=True,
)
