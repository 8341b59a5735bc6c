"""Luma / luminance weights of the RGB primaries we work in.

- Rec.2020: (0.2627, 0.6780, 0.0593), ITU-R BT.2020-2 Table 4 (the Y row of the Rec.2020
  RGB -> XYZ matrix, rounded as the standard gives it). The pipeline's working space is
  linear Rec.2020, so this is its luminance.
- Rec.709 / sRGB: (0.2126, 0.7152, 0.0722), ITU-R BT.709-6 Part 1 item 3.2 (also WCAG 2's
  relative luminance of sRGB after decoding).

Applied to linear light these give relative luminance Y; applied to encoded values (as
output sharpening does) they give luma Y'.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LUMA_REC2020", "LUMA_REC709", "luminance"]


def _weights(values) -> np.ndarray:
    w = np.array(values, dtype=np.float32)
    w.setflags(write=False)
    return w


#: ITU-R BT.2020 luma weights (R, G, B), float32, read-only.
LUMA_REC2020 = _weights([0.2627, 0.6780, 0.0593])
#: ITU-R BT.709 luma weights (R, G, B), float32, read-only.
LUMA_REC709 = _weights([0.2126, 0.7152, 0.0722])


def luminance(rgb: np.ndarray, weights: np.ndarray = LUMA_REC2020) -> np.ndarray:
    """Weighted sum of the last axis: relative luminance of linear RGB (..., 3).

    Parameters
    ----------
    rgb : array_like
        (..., 3) RGB. Linear light for luminance, encoded values for luma.
    weights : array_like, optional
        (3,) weights, default :data:`LUMA_REC2020` (the working space); use
        :data:`LUMA_REC709` for sRGB / Rec.709.

    Returns
    -------
    numpy.ndarray
        (...) in float32 for float32 or integer input, float64 for float64 input.

    Examples
    --------
    >>> round(float(luminance(np.ones(3))), 6)  # the weights sum to 1
    1.0
    """
    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"luminance needs (..., 3) RGB, got shape {rgb.shape}")
    dtype = np.float64 if rgb.dtype == np.float64 else np.float32
    return rgb @ np.asarray(weights, dtype=dtype)
