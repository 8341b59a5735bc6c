"""Output transform: linear Rec.2020 (display-referred, [0, 1]) -> encoded sRGB or
Display P3.

Colours outside the output gamut are brought in by desaturating toward the pixel's own
luminance just enough that no channel is negative (hue is kept, unlike a per-channel
clip), then the sRGB transfer curve (IEC 61966-2-1; Display P3 uses the same) encodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.isp.color import apply_matrix
from redframe.isp.colorspaces import rgb_to_rgb_matrix, srgb_encode

__all__ = ["OutputParams", "output_transform", "OUTPUT_SPACES"]

OUTPUT_SPACES = ("srgb", "display-p3")


@dataclass
class OutputParams:
    space: str = "srgb"  # "srgb" | "display-p3"


def output_transform(rgb2020: np.ndarray, params: OutputParams) -> np.ndarray:
    if params.space not in OUTPUT_SPACES:
        raise ValueError(f"output space must be one of {OUTPUT_SPACES}, got {params.space!r}")
    rgb = apply_matrix(rgb2020, rgb_to_rgb_matrix("rec2020", params.space))
    low = rgb.min(axis=2)
    if np.any(low < 0):
        w = np.array([0.2126, 0.7152, 0.0722] if params.space == "srgb" else
                     [0.2290, 0.6917, 0.0793], dtype=np.float32)
        y = np.maximum(rgb @ w, 0)[..., None]
        # smallest t in [0, 1] with y + (rgb - y) * t >= 0 for every channel
        denom = y[..., 0] - low
        t = np.where(low < 0, y[..., 0] / np.maximum(denom, 1e-12), 1.0).astype(np.float32)
        rgb = y + (rgb - y) * t[..., None]
    return srgb_encode(rgb)
