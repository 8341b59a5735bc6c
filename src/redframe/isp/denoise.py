"""Luma and chroma denoise, strength scaled by ISO and by the noise measured in the image.

Reads/writes linear Rec.2020 (H, W, 3) float32. Work happens in a square-root domain,
where shot noise has a roughly constant standard deviation (the idea of the Anscombe
transform, Anscombe 1948), split into luma and two chroma differences:

- chroma: a guided filter (He et al. 2013) steered by luma, fitted on a 4x-binned copy and
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

from redframe.color import LUMA_REC2020
from redframe.isp.compose import crop_through
from redframe.isp.filters import box, guided_coefficients, guided_coefficients_shared, weighted_sum
from redframe.isp.pixel import denoise_np, signed_sqrt_np
from redframe.isp.stage import Stage, is_raw
from redframe.isp.stats import median
from redframe.params import param, validate

__all__ = [
    "DenoiseParams",
    "estimate_noise_sigma",
    "strengths_for_iso",
    "denoise",
    "denoise_coefficients",
    "guide_share",
    "GUIDE_SHARE_FULL",
    "bin2x2",
    "resolve",
    "denoise_on",
    "STAGE",
]


@dataclass
class DenoiseParams:
    """Strengths 0 (off) .. 1 (full); ``None`` means "from ISO"."""

    luma: float | None = param(None, lo=0.0, hi=1.0,
                               doc="luma noise reduction strength; unset: from ISO")
    chroma: float | None = param(None, lo=0.0, hi=1.0,
                                 doc="colour noise reduction strength; unset: from ISO")
    sigma: float | None = param(None, lo=0.0, hi=1.0, unit="sqrt-domain std",
                                doc="noise level; unset: measured on the image")

    def __post_init__(self):
        validate(self, "denoise")


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
    if lap.size > 16384:  # every third row and column: the medians need no more samples.
        # An odd step: demosaiced noise differs between the CFA phases (measured or
        # interpolated sites), and a step of 2 would see one phase only (40 % off, measured)
        lap = np.ascontiguousarray(lap[::3, ::3])
    mad = float(median(np.abs(lap - median(lap))))
    return mad / 0.6745 / math.sqrt(20.0)


def _upsample(low: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.resize(low, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def bin2x2(image: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (ceil(H/2), ceil(W/2), C): the mean of each 2x2 block (of the pixels
    that exist, at an odd last row or column)."""
    h, w = image.shape[:2]
    hp, wp = h + h % 2, w + w % 2
    padded = np.pad(image, ((0, hp - h), (0, wp - w), (0, 0)), mode="edge")
    return padded.reshape(hp // 2, 2, wp // 2, 2, -1).mean(axis=(1, 3), dtype=np.float32)


#: The guide's share of the signal (:func:`guide_share`) from which the chroma model keeps
#: its full slope on luma; below it the slope is shrunk in proportion. Measured on the LED
#: ramps: the blue light 0.005-0.02 (fixed by any factor), the magenta light's darkest
#: LinearRaw samples 0.87-0.96, where the share itself as the factor made their drops
#: (their raw luminance is itself not monotonic) 0.1 L* larger; a quarter leaves those.
GUIDE_SHARE_FULL = 0.25


def guide_share(z: np.ndarray, y: np.ndarray, radius: int) -> np.ndarray:
    """How much of the signal the luma guide carries, per window of ``radius``: the mean
    of ``|y|`` over the mean of ``sum_c w_c |z_c|`` (Rec.2020 luma weights ``w``), in
    [0, 1]. It is exactly 1 wherever no channel is negative (every colour inside the
    working gamut); it falls toward 0 for a saturated light outside it, whose negative
    channel's signed square root cancels the others in ``y`` (a deep-blue LED through a
    camera matrix: ``y`` 0.0008 beside a blue ``z`` of 0.68). There the chroma model's
    slope on luma (``d = a y + b``, ``a`` near ``d / y``) is ill-conditioned: it multiplied
    the demosaic's detail in ``y`` by +-20 into chroma, and the squared-back light stepped
    up and down by 4 % between neighbouring samples of a smooth ramp (the LED ramps' L*
    drops of 0.4-0.75). Below :data:`GUIDE_SHARE_FULL` the chroma model's slope is shrunk
    in proportion, so such windows get a plain chroma mean (the guide cannot place an edge
    there anyway)."""
    share = box(np.abs(y), radius)
    total = box(weighted_sum(np.abs(z), LUMA_REC2020), radius)
    return np.where(total > share, share / np.maximum(total, np.float32(1e-30)),
                    np.float32(1.0)).astype(np.float32)


def denoise_coefficients(z_low: np.ndarray, sigma: float, luma_radius: int = 1):
    """Guided-filter coefficients for the three chroma differences and for luma, fitted on
    downsampled copies (fast guided filter, He & Sun 2015): luma on the 2x-binned image
    (self-guided, radius 1), chroma on a 4x-binned one (guided by luma, radius 2: colour
    blotches are large; He & Sun use the same factor 4 at a negligible loss), brought to the
    2x grid.

    ``z_low`` is the signed-sqrt image binned 2x2 (:func:`bin2x2`). Returns ``(a, b)``,
    planar (4, ceil(H/2), ceil(W/2)): planes 0-2 chroma (guided by luma), 3 luma
    (self-guided). The filtered plane is ``up(a) * y + up(b)`` with ``y`` the
    full-resolution luma, so edges follow it.
    """
    hl, wl = z_low.shape[:2]
    y_low = weighted_sum(z_low, LUMA_REC2020)
    a = np.empty((4, hl, wl), np.float32)
    b = np.empty((4, hl, wl), np.float32)
    # each 2x2 binning halves the noise std. Luma: eps keeps edges above ~1.5 noise stds at
    # the fitting scale. Chroma: eps (1.5 sigma)^2 (6 stds of the 4x-binned guide): a smaller
    # one removes a little more noise (+0.1 dB at ISO 3200) but darkens blue more, since
    # squaring back out of the sqrt domain loses the variance removed (-4.2 instead of -2.4
    # codes of mean blue at ISO 3200, colorimetric render)
    a[3], b[3] = guided_coefficients(y_low, y_low, luma_radius, (1.5 * sigma / 2) ** 2)
    hq, wq = (hl + 1) // 2, (wl + 1) // 2
    z_q = cv2.resize(z_low, (wq, hq), interpolation=cv2.INTER_AREA)
    y_q = weighted_sum(z_q, LUMA_REC2020)
    slope = np.minimum(guide_share(z_q, y_q, 2) * np.float32(1.0 / GUIDE_SHARE_FULL), 1.0)
    a_q, b_q = guided_coefficients_shared(y_q, z_q - y_q[..., None], 2, (1.5 * sigma) ** 2,
                                          slope_scale=slope)
    for k in range(3):  # straight into the planes (cv2 writes into contiguous views)
        cv2.resize(np.ascontiguousarray(a_q[..., k]), (wl, hl), dst=a[k],
                   interpolation=cv2.INTER_LINEAR)
        cv2.resize(np.ascontiguousarray(b_q[..., k]), (wl, hl), dst=b[k],
                   interpolation=cv2.INTER_LINEAR)
    return a, b


def denoise(
    image: np.ndarray,
    params: DenoiseParams,
    iso: float | None = None,
    sigma: float | None = None,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """Return a denoised copy of linear Rec.2020 ``image`` (reference implementation; the
    fused fast path in :mod:`redframe.isp.fused` computes the same).

    Squaring back out of the sqrt domain loses the noise variance the filter removed
    (E[z]^2 = x - Var z): flat areas come out darker, most in the noisiest channel (blue),
    by about a constant in linear light. ``bias`` (3,) is added back (a first-order
    unbiased inverse; cf. Makitalo & Foi 2011 for the Anscombe transform): the pipeline
    measures it per image (:func:`_analyse`). Measured on natural images at ISO 3200
    (colorimetric render, Menon with the green limit): mean blue -24 % without it, -1 % to
    +2 % with it."""
    luma_s, chroma_s, sigma = resolve(params, iso, sigma, image)
    if luma_s <= 0 and chroma_s <= 0:
        return image
    z = signed_sqrt_np(np.asarray(image, dtype=np.float32))
    y = weighted_sum(z, LUMA_REC2020)
    a, b = denoise_coefficients(bin2x2(z), sigma)
    a, b = (np.stack([_upsample(plane, y.shape) for plane in g], axis=-1) for g in (a, b))
    bias = np.zeros(3, np.float32) if bias is None else np.asarray(bias, np.float32)
    return denoise_np(z, y, a, b, np.float32(chroma_s), np.float32(luma_s), bias)


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


def denoise_on(params) -> bool:
    """Whether a develop denoises: quality "high" unless both strengths are 0; "fast" only
    when a strength is set."""
    d = params.denoise
    if params.quality == "high":
        return not (d.luma == 0 and d.chroma == 0)
    return bool(d.luma) or bool(d.chroma)


def _analyse(ctx) -> None:
    """Noise sigma on a central crop developed up to the denoiser (the same for every
    strip; the local tone map's noise floor uses it too), and the denoiser's bias there:
    the linear light it takes away per channel (see :func:`denoise`), with denoise on."""
    plan, params = ctx.plan, ctx.params
    crop = crop_through(ctx, "denoise")
    plan.sigma = sigma = estimate_noise_sigma(crop)  # green's
    if not denoise_on(params):
        return
    # the linear light the filter takes out of each channel, measured on the crop: the
    # mean before minus the mean after, uncorrected, per 16 x 16 block, and the median
    # block's. The median: in blocks of bright texture or edges the blur itself moves the
    # mean (a 14 EV scene's shadows would be lifted flat by the crop's mean). Before, a
    # model, sigma_c^2 cs (2 - cs) from each channel's noise estimate, gave back half of
    # what the filter took on flat grey at ISO 3200 (6.9e-3 of 13.8e-3: the demosaic
    # correlates neighbouring pixels' noise, which the estimate's Laplacian does not see)
    lost = crop - denoise(crop, params.denoise, ctx.scene.meta.iso, sigma)
    n = min(16, *lost.shape[:2])  # a frame smaller than a block is one block
    h, w = (k - k % n for k in lost.shape[:2])
    blocks = lost[:h, :w].reshape(h // n, n, w // n, n, 3).mean(axis=(1, 3), dtype=np.float64)
    bias = np.array([median(blocks[..., c].ravel()) for c in range(3)])
    plan.denoise_bias = np.where(np.isfinite(bias), np.maximum(bias, 0.0), 0.0).astype(np.float32)


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    plan = ctx.plan
    return denoise(x, ctx.params.denoise, ctx.scene.meta.iso, plan.sigma, plan.denoise_bias)


STAGE = Stage(
    name="denoise",
    params="denoise",
    reads="linear Rec.2020 scene light, exposed",
    writes="linear Rec.2020 scene light, denoised",
    apply=_apply,
    cite="guided filter: He, Sun, Tang 2013, doi:10.1109/TPAMI.2012.213; fast guided filter: "
         "He & Sun 2015, arXiv:1505.00996; sqrt domain: Anscombe 1948; noise estimate: "
         "Donoho & Johnstone 1994",
    # the chroma fit's reach on the 4x-binned grid (the guide share's and the statistics'
    # radius-2 boxes, then the coefficients' mean: 4 bins, 16 rows), its upsampling to the
    # 2x grid (4) and to full size (2), and the bins' alignment. 20 left strip edges a
    # float32 ulp off the whole frame's in one pixel of test_stages' raw, for some biases
    halo=24,
    grid=4,  # the 2x2-of-2x2 bins of a strip must be the frame's bins
    enabled=lambda ctx: is_raw(ctx) and denoise_on(ctx.params),
    analyse=_analyse,
)
