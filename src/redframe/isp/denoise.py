"""Luma and chroma denoise, strength scaled by ISO and by the noise measured in the image.

Reads/writes linear Rec.2020 (H, W, 3) float32. Work happens in a square-root domain,
where shot noise has a roughly constant standard deviation (the idea of the Anscombe
transform, Anscombe 1948), split into luma and two chroma differences:

- chroma: a guided filter (He et al. 2013) steered by luma with a wide radius — colour
  noise is low-frequency blotches, and people tolerate chroma blur far more than luma blur;
- luma: a self-guided filter with a small radius whose edge threshold follows the measured
  noise, blended with the original by ``luma`` strength so fine texture survives.

The noise level is measured on the image itself (median absolute deviation of a
high-pass, Donoho & Johnstone 1994) — robust whatever the camera or the file says — and
the strength defaults from ISO: photographers keep fine grain at base ISO and want it gone
at ISO 6400.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from redframe.isp.filters import guided_filter, weighted_sum

__all__ = ["DenoiseParams", "estimate_noise_sigma", "strengths_for_iso", "denoise"]

_LUMA = np.array([0.2627, 0.6780, 0.0593], dtype=np.float32)


@dataclass
class DenoiseParams:
    """Strengths 0 (off) .. 1 (full); ``None`` means "from ISO"."""

    luma: float | None = None
    chroma: float | None = None
    sigma: float | None = None  # noise std in the sqrt domain; None = measure it


def strengths_for_iso(iso: float | None) -> tuple[float, float]:
    """(luma, chroma) default strengths: gentle at base ISO, full by ~ISO 6400."""
    if iso is None or not math.isfinite(iso) or iso <= 0:
        return 0.3, 0.6
    stops = math.log2(max(iso, 50) / 100.0)
    luma = float(np.clip(0.15 + stops * 0.14, 0.1, 0.9))
    chroma = float(np.clip(0.5 + stops * 0.1, 0.4, 1.0))
    return luma, chroma


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Std of the noise of the sqrt-encoded green/luma plane, via MAD of a Laplacian."""
    plane = image[..., 1] if image.ndim == 3 else image
    z = np.sqrt(np.maximum(plane, 0)).astype(np.float32)
    lap = cv2.Laplacian(z, cv2.CV_32F, ksize=1)  # [0 1 0; 1 -4 1; 0 1 0]: noise gain sqrt(20)
    mad = float(np.median(np.abs(lap - np.median(lap))))
    return mad / 0.6745 / math.sqrt(20.0)


def denoise(image: np.ndarray, params: DenoiseParams, iso: float | None = None,
            sigma: float | None = None) -> np.ndarray:
    """Return a denoised copy of linear Rec.2020 ``image``."""
    luma_s, chroma_s = strengths_for_iso(iso)
    luma_s = luma_s if params.luma is None else float(params.luma)
    chroma_s = chroma_s if params.chroma is None else float(params.chroma)
    if luma_s <= 0 and chroma_s <= 0:
        return image
    sigma = params.sigma if params.sigma is not None else sigma
    if sigma is None:
        sigma = estimate_noise_sigma(image)
    sigma = max(float(sigma), 1e-4)
    # sqrt domain keeps sign for the (rare) negative values left by demosaic/matrix
    z = np.sqrt(np.abs(image)) * np.sign(image)
    y = weighted_sum(z, _LUMA)
    c = z - y[..., None]  # three chroma differences (they sum to ~0 with luma weights)
    if chroma_s > 0:
        radius = 4
        eps = (3.0 * sigma) ** 2
        for ch in range(3):
            smooth = guided_filter(y, np.ascontiguousarray(c[..., ch]), radius, eps)
            c[..., ch] += np.float32(chroma_s) * (smooth - c[..., ch])
    if luma_s > 0:
        smooth = guided_filter(y, y, 2, (1.5 * sigma) ** 2)
        y = y + np.float32(luma_s) * (smooth - y)
    z = c + y[..., None]
    return (z * np.abs(z)).astype(np.float32, copy=False)
