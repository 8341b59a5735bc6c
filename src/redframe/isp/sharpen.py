"""Output sharpening: unsharp mask on luma of the *encoded* (display) image.

Reads/writes display-encoded RGB (H, W, 3) float32 in [0, 1]. The luma difference is
added to all three channels, so edges sharpen without colour fringes; a small threshold
keeps flat areas (and their noise) untouched. Sharpening in the encoded domain follows
common practice (e.g. Fraser & Schewe, "Real World Image Sharpening", 2009): halos are
perceptually symmetric there, unlike in linear light.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from redframe.color import LUMA_REC709
from redframe.isp.filters import weighted_sum
from redframe.isp.pixel import soft_threshold_np
from redframe.isp.stage import Stage, is_raw
from redframe.params import param, validate

__all__ = ["SharpenParams", "sharpen", "blur_radius", "STAGE"]


@dataclass
class SharpenParams:
    amount: float = param(0.5, lo=0.0, hi=2.0, doc="output sharpening strength")
    radius: float = param(0.8, lo=0.3, hi=3.0, unit="px",
                          doc="Gaussian sigma of the unsharp mask, in output pixels")
    threshold: float = param(0.01, lo=0.0, hi=0.2, unit="encoded",
                             doc="luma differences below this are left alone")

    def __post_init__(self):
        validate(self, "sharpen")


def sharpen(image: np.ndarray, params: SharpenParams) -> np.ndarray:
    if params.amount <= 0:
        return image
    y = weighted_sum(image, LUMA_REC709)
    blur = cv2.GaussianBlur(y, (0, 0), params.radius, borderType=cv2.BORDER_REFLECT_101)
    detail = y - blur
    t = np.float32(params.threshold)
    if t > 0:  # soft threshold: no step where the mask switches on
        detail = soft_threshold_np(detail, t)
    out = image + (np.float32(params.amount) * detail)[..., None]
    return np.clip(out, 0.0, 1.0, out=out)


def blur_radius(sigma: float) -> int:
    """Half the kernel size OpenCV's GaussianBlur uses for a float image of ``sigma``."""
    return (int(round(float(sigma) * 8 + 1)) | 1) // 2


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return sharpen(x, ctx.params.sharpen)


STAGE = Stage(
    name="sharpen",
    params="sharpen",
    reads="encoded RGB in [0, 1]",
    writes="encoded RGB in [0, 1], sharpened on luma",
    apply=_apply,
    cite="unsharp mask on encoded luma: Fraser & Schewe, 'Real World Image Sharpening', 2009",
    halo=lambda ctx: blur_radius(ctx.params.sharpen.radius),
    enabled=lambda ctx: is_raw(ctx) and ctx.params.sharpen.amount > 0,
)
