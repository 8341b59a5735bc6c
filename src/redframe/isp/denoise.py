"""Luma and chroma denoise, strength scaled by ISO and by the noise measured in the image.

Reads/writes linear Rec.2020 (H, W, 3) float32. Work happens in a square-root domain,
where shot noise has a roughly constant standard deviation (the idea of the Anscombe
transform, Anscombe 1948), split into luma and two chroma differences:

- chroma: a guided filter (He et al. 2013) steered by luma, fitted on a 2x-binned copy and
  applied at full resolution (He & Sun 2015) — colour noise is low-frequency blotches,
  and people tolerate chroma blur far more than luma blur;
- luma: a self-guided filter with a small radius whose edge threshold follows the measured
  noise (also fitted at half size), blended with the original by ``luma`` strength so
  fine texture survives.

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

from redframe.isp.filters import guided_coefficients, weighted_sum

__all__ = [
    "DenoiseParams",
    "estimate_noise_sigma",
    "strengths_for_iso",
    "denoise",
    "denoise_coefficients",
    "resolve",
]

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


def _upsample(low: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.resize(low, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def denoise_coefficients(z: np.ndarray, y: np.ndarray, sigma: float, luma_radius: int = 1):
    """Guided-filter coefficients for the three chroma differences and for luma, fitted on a
    2x-binned copy (fast guided filter, He & Sun 2015).

    ``z`` is the signed-sqrt image (H, W, 3), ``y`` its luma. Returns ``(a, b)`` of shape
    (ceil(H/2), ceil(W/2), 4): channels 0-2 chroma (guided by luma), 3 luma (self-guided).
    The filtered plane is ``up(a) * y + up(b)``, so edges follow the full-resolution luma.
    """
    h, w = y.shape
    hl, wl = (h + 1) // 2, (w + 1) // 2
    z_low = cv2.resize(z, (wl, hl), interpolation=cv2.INTER_AREA)
    y_low = weighted_sum(z_low, _LUMA)
    c_low = z_low - y_low[..., None]
    # binning 2x2 halves the noise std
    sigma_low = sigma / 2.0
    a = np.empty((hl, wl, 4), np.float32)
    b = np.empty((hl, wl, 4), np.float32)
    for ch in range(3):  # colour blotches are large: radius 4 at half size
        a[..., ch], b[..., ch] = guided_coefficients(
            y_low, np.ascontiguousarray(c_low[..., ch]), 4, (3.0 * sigma_low) ** 2
        )
    a[..., 3], b[..., 3] = guided_coefficients(y_low, y_low, luma_radius, (1.5 * sigma_low) ** 2)
    return a, b


def denoise(
    image: np.ndarray, params: DenoiseParams, iso: float | None = None, sigma: float | None = None
) -> np.ndarray:
    """Return a denoised copy of linear Rec.2020 ``image`` (reference implementation; the
    fused fast path in :mod:`redframe.isp.fused` computes the same)."""
    luma_s, chroma_s, sigma = resolve(params, iso, sigma, image)
    if luma_s <= 0 and chroma_s <= 0:
        return image
    z = np.sqrt(np.abs(image)) * np.sign(image)
    y = weighted_sum(z, _LUMA)
    c = z - y[..., None]
    a, b = denoise_coefficients(z, y, sigma)
    a, b = _upsample(a, y.shape), _upsample(b, y.shape)
    smooth = a * y[..., None] + b
    c += np.float32(chroma_s) * (smooth[..., :3] - c)
    y = y + np.float32(luma_s) * (smooth[..., 3] - y)
    z = c + y[..., None]
    return (z * np.abs(z)).astype(np.float32, copy=False)


def resolve(
    params: DenoiseParams, iso: float | None, sigma: float | None, image: np.ndarray | None = None
) -> tuple[float, float, float]:
    """(luma strength, chroma strength, sigma) after applying ISO defaults."""
    luma_s, chroma_s = strengths_for_iso(iso)
    luma_s = luma_s if params.luma is None else float(params.luma)
    chroma_s = chroma_s if params.chroma is None else float(params.chroma)
    sigma = params.sigma if params.sigma is not None else sigma
    if sigma is None:
        sigma = estimate_noise_sigma(image) if image is not None else 0.01
    return luma_s, chroma_s, max(float(sigma), 1e-4)
