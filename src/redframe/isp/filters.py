"""Edge-aware filters shared by stages (float32, OpenCV box filters: O(1) per pixel).

Guided filter: He, Sun, Tang 2013, "Guided Image Filtering", IEEE TPAMI 35(6):1397-1409,
doi:10.1109/TPAMI.2012.213. Its local linear coefficients (a, b) can be computed on a
downsampled image and upsampled (He & Sun 2015, "Fast Guided Filter", arXiv:1505.00996):
that is how local tone mapping and chroma denoise stay halo-free and cheap.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "box",
    "guided_coefficients",
    "guided_coefficients_shared",
    "guided_filter",
    "resize",
    "weighted_sum",
]


def box(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, mirrored borders."""
    k = 2 * int(radius) + 1
    return cv2.boxFilter(image, cv2.CV_32F, (k, k), borderType=cv2.BORDER_REFLECT_101)


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float):
    """Mean coefficients (a, b) such that the filtered ``src`` is ``a * guide + b``.

    ``guide`` and ``src`` are (H, W) float32; ``eps`` is in the guide's units squared: edges
    whose contrast exceeds ~sqrt(eps) are kept.
    """
    a, b = guided_coefficients_shared(guide, src[..., None], radius, eps)
    return a[..., 0], b[..., 0]


def guided_coefficients_shared(guide: np.ndarray, src: np.ndarray, radius: int, eps: float,
                               slope_scale: np.ndarray | None = None):
    """:func:`guided_coefficients` for the C channels of ``src`` (H, W, C) with one guide
    (H, W): the guide's mean and variance are computed once. Returns (a, b), (H, W, C).
    ``slope_scale`` (H, W) in [0, 1], if given, shrinks each window's slope ``a`` (its
    intercept follows, so the window's mean is kept): 0 makes the window a plain mean."""
    guide = guide.astype(np.float32, copy=False)
    src = np.ascontiguousarray(src, dtype=np.float32)
    mean_i = box(guide, radius)
    var_i = box(guide * guide, radius) - mean_i * mean_i
    mean_p = box(src, radius).reshape(src.shape)
    cov_ip = box(src * guide[..., None], radius).reshape(src.shape) - mean_i[..., None] * mean_p
    a = cov_ip / (var_i + np.float32(eps))[..., None]
    if slope_scale is not None:
        a *= np.asarray(slope_scale, np.float32)[..., None]
    b = mean_p - a * mean_i[..., None]
    return box(a, radius).reshape(src.shape), box(b, radius).reshape(src.shape)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` steered by ``guide`` (both (H, W) float32)."""
    a, b = guided_coefficients(guide, src, radius, eps)
    return a * guide + b


def resize(image: np.ndarray, shape: tuple[int, int], area: bool | None = None) -> np.ndarray:
    """Resize to (H, W): area averaging when shrinking, bilinear when growing."""
    h, w = shape
    if area is None:
        area = h < image.shape[0]
    interp = cv2.INTER_AREA if area else cv2.INTER_LINEAR
    return cv2.resize(image, (int(w), int(h)), interpolation=interp)


def weighted_sum(rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W): sum of channels times ``weights`` (e.g. luma), float32."""
    w = np.asarray(weights, dtype=np.float32).reshape(1, 3)
    out = cv2.transform(np.ascontiguousarray(rgb, dtype=np.float32), w)
    return out.reshape(rgb.shape[:2])
