"""Demosaicing: interpolate the two missing colours at every site of a Bayer mosaic.

Reads a white-balanced, black-subtracted, normalised CFA mosaic in camera RGB, float32
(H, W); writes camera RGB (H, W, 3) float32, unclipped (negative noise and values above 1
survive, so highlight reconstruction and HDR merges downstream keep their data).

Methods
-------
``bilinear``
    Per-channel bilinear interpolation; the baseline.
``malvar2004``
    Malvar, He, Cutler 2004, "High-quality linear interpolation for demosaicing of
    Bayer-patterned color images", Proc. IEEE ICASSP, vol. 3, pp. 485-488,
    doi:10.1109/ICASSP.2004.1326587: bilinear plus a gradient (Laplacian) correction from
    the sampled channel, four fixed 5x5 kernels.
``menon2007``
    Menon, Andriani, Calvagno 2007, "Demosaicing With Directional Filtering and a
    posteriori Decision", IEEE TIP 16(1):132-141, doi:10.1109/TIP.2006.884928 (DDFAPD):
    horizontal and vertical green estimates, a decision on the local gradients of the
    colour differences, then red/blue from colour differences, and an optional refining
    step. This is the default: the best quality of the four.
``opencv-ea``
    OpenCV's edge-aware Bayer conversion (``cv2.COLOR_Bayer*2RGB_EA``), which needs 16-bit
    input: the mosaic is scaled and quantised to uint16, so negative values are clipped to
    0 and precision is 16 bits of the scale (see :func:`demosaic_opencv_ea`). Kept as a
    comparison point: with the conversions it is no faster than ``malvar2004`` here.

Borders: every method behaves as if the mosaic were extended by whole-sample symmetric
reflection (OpenCV ``BORDER_REFLECT_101``, SciPy ``mode="mirror"``), which keeps the Bayer
phase, so border pixels are interpolated from samples of the right colour.

Crops: a tile whose origin sits at odd coordinates has a different Bayer phase;
:func:`shift_pattern` gives it.

Implementation: :func:`demosaic_menon2007_reference` and :func:`demosaic_malvar2004_reference`
write the methods as whole-image convolutions and masks, in the order of the papers;
:func:`demosaic_menon2007`, :func:`demosaic_malvar2004` and :func:`demosaic_bilinear` are
fused, row-parallel kernels (Cython + OpenMP, compiled ahead of time in ``_demosaic.pyx``)
with the same signature and the same results (to float32 rounding), tested against the
references. 12 MP on 2 cores: Menon ~0.12 s, Malvar ~0.03 s (``benchmarks/demosaic.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from redframe.io.scene import CFA_PATTERNS, pattern_to_index
from redframe.isp import _demosaic
from redframe.isp.stage import Stage
from redframe.params import param, validate

__all__ = [
    "DemosaicParams",
    "DEMOSAIC_METHODS",
    "demosaic",
    "demosaic_bilinear",
    "demosaic_malvar2004",
    "demosaic_malvar2004_reference",
    "demosaic_menon2007",
    "demosaic_menon2007_reference",
    "demosaic_opencv_ea",
    "mosaic_rgb",
    "shift_pattern",
    "chosen_method",
    "STAGE",
]

#: Method names accepted by :class:`DemosaicParams`.
DEMOSAIC_METHODS = ("bilinear", "malvar2004", "menon2007", "opencv-ea")

_BORDER = cv2.BORDER_REFLECT_101


@dataclass
class DemosaicParams:
    """Parameters of the demosaic stage."""

    #: Interpolation method, one of :data:`DEMOSAIC_METHODS`: ``"menon2007"`` (best, default),
    #: ``"malvar2004"`` (linear, 1-2.5 dB lower PSNR, ~4x faster), ``"bilinear"`` (baseline) or
    #: ``"opencv-ea"`` (OpenCV on uint16: clips negatives; about bilinear quality, no faster
    #: than malvar2004 once the float conversions are counted; kept for comparison).
    method: str = param("menon2007", choices=DEMOSAIC_METHODS, doc="interpolation method")
    #: Menon 2007 only: run the paper's refining step, which re-estimates
    #: every interpolated value from smoothed colour differences along the chosen direction.
    #: Off: ~25% faster; PSNR changes by -0.15..+0.03 dB on our natural test images.
    refine: bool = param(True, doc="Menon 2007's refining step")
    #: Menon 2007 only: limit each directional green estimate to the range of the two
    #: greens it interpolates (dcraw's and LibRaw's AHD, ``ULIM`` in
    #: ``ahd_interpolate_green_h_and_v``). The estimates' Laplacian term copies the
    #: sampled red or blue channel's detail and noise into green at full amplitude, which
    #: is right for neutral colours and wrong for saturated ones (a red petal's green is a
    #: tenth of its red): there it overshoots into bright single-pixel dots and a maze
    #: pattern that the camera matrix then amplifies. Limited: +0.30..+0.86 dB PSNR on our
    #: natural test images, every CFA phase (+0.20..+0.75 without the refining step); the
    #: sample rose's speckle through the job runner (p95 dE00 against the 3x3 median in its
    #: saturated petals, test_rendering_scenes) 2.31 -> 1.66. Off: the paper's (and
    #: colour-demosaicing's) filter as published.
    limit_green: bool = param(True, doc="limit Menon's green estimates to their neighbours "
                                        "(as AHD does)")

    def __post_init__(self):
        validate(self, "demosaic")


# ----------------------------------------------------------------------------- helpers


def shift_pattern(pattern: str, dy: int, dx: int) -> str:
    """The Bayer pattern of a crop of a ``pattern`` mosaic whose origin is at ``(dy, dx)``.

    Parameters
    ----------
    pattern
        Pattern of the full mosaic, one of ``CFA_PATTERNS``.
    dy, dx
        Row and column of the crop's top-left pixel in the full mosaic (any integers;
        only their parity matters).

    Returns
    -------
    str
        The pattern of the crop.

    Examples
    --------
    >>> shift_pattern("RGGB", 0, 1)
    'GRBG'
    >>> shift_pattern("RGGB", 1, 1)
    'BGGR'
    """
    idx = pattern_to_index(pattern)
    return "".join("RGB"[idx[(r + dy) % 2, (c + dx) % 2]] for r in (0, 1) for c in (0, 1))


def mosaic_rgb(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Sample an RGB image (H, W, 3) with a Bayer CFA: the inverse of a perfect demosaic.

    Parameters
    ----------
    rgb
        Image (H, W, 3), any real dtype.
    pattern
        One of ``CFA_PATTERNS``: colours of the top-left 2x2 block, read row-wise.

    Returns
    -------
    numpy.ndarray
        Mosaic (H, W) float32 holding, at each pixel, the channel the CFA samples there.

    Examples
    --------
    >>> rgb = np.zeros((2, 2, 3), np.float32); rgb[..., 0] = 1; rgb[..., 2] = 3
    >>> mosaic_rgb(rgb, "BGGR")
    array([[3., 0.],
           [0., 1.]], dtype=float32)
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be an (H, W, 3) array, got shape {rgb.shape}")
    idx = pattern_to_index(pattern)
    cfa = np.empty(rgb.shape[:2], np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            cfa[dy::2, dx::2] = rgb[dy::2, dx::2, idx[dy, dx]]
    return cfa


def _prepare(cfa: np.ndarray, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a mosaic and its pattern; return C-contiguous float32 data and the 2x2 index."""
    if not isinstance(pattern, str) or pattern not in CFA_PATTERNS:
        raise ValueError(f"CFA pattern must be one of {CFA_PATTERNS}, got {pattern!r}")
    cfa = np.asarray(cfa)
    if cfa.ndim != 2:
        raise ValueError(f"cfa must be a 2-D (H, W) mosaic, got shape {cfa.shape}")
    if cfa.dtype.kind not in "fiu":  # bool, complex, object, strings...
        raise ValueError(f"cfa must have a real numeric dtype (float or integer), "
                         f"got {cfa.dtype}")
    if min(cfa.shape) < 2:
        raise ValueError(f"cfa must be at least 2x2 to hold a Bayer period, got shape {cfa.shape}")
    x = np.ascontiguousarray(cfa, dtype=np.float32)
    # A float32 sum is one fast pass and is non-finite iff some value is (or it overflows,
    # which the exact check below sorts out).
    if not np.isfinite(x.sum()):
        bad = ~np.isfinite(x)
        if bad.any():
            first = tuple(int(v) for v in np.argwhere(bad)[0])
            raise ValueError(f"cfa holds {int(bad.sum())} non-finite values (NaN or inf), "
                             f"the first at {first}: {x[first]}")
    return x, pattern_to_index(pattern).astype(np.int64)


def _masks(shape: tuple[int, int], idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Boolean R, G, B sampling masks of a mosaic of ``shape`` whose top-left 2x2 is ``idx``."""
    h, w = shape
    colour = np.tile(idx, ((h + 1) // 2, (w + 1) // 2))[:h, :w]
    return tuple(colour == c for c in range(3))


def _filter(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate ``x`` with ``kernel`` (taps at offsets from its centre), mirrored borders."""
    return cv2.filter2D(x, cv2.CV_32F, np.asarray(kernel, np.float32), borderType=_BORDER)


def _pad(x: np.ndarray, margin: int) -> np.ndarray:
    """Extend by ``margin`` (even, so the Bayer phase is kept) by whole-sample reflection."""
    return cv2.copyMakeBorder(x, margin, margin, margin, margin, _BORDER)


# ----------------------------------------------------------------------------- bilinear

_K_BILINEAR_G = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4
_K_BILINEAR_RB = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4


def _demosaic_bilinear_reference(cfa: np.ndarray, pattern: str) -> np.ndarray:
    """Bilinear demosaicing as masked convolutions (the readable form; tests compare)."""
    x, idx = _prepare(cfa, pattern)
    channels = []
    for c, kernel in enumerate((_K_BILINEAR_RB, _K_BILINEAR_G, _K_BILINEAR_RB)):
        sampled = np.zeros_like(x)
        for dy in (0, 1):
            for dx in (0, 1):
                if idx[dy, dx] == c:
                    sampled[dy::2, dx::2] = x[dy::2, dx::2]
        channels.append(_filter(sampled, kernel))
    return cv2.merge(channels)


def demosaic_bilinear(cfa: np.ndarray, pattern: str) -> np.ndarray:
    """Bilinear demosaicing: each channel interpolated from its own samples only.

    Parameters
    ----------
    cfa
        Mosaic (H, W), float32 (other real dtypes are converted), camera RGB.
    pattern
        One of ``CFA_PATTERNS``.

    Returns
    -------
    numpy.ndarray
        Camera RGB (H, W, 3) float32, unclipped.

    Notes
    -----
    Each channel is the mosaic masked to that channel, convolved with the tent kernel of
    its sampling lattice (the quincunx for green, the 2x2 lattice for red and blue):
    ``_demosaic_bilinear_reference``. This is the same arithmetic fused into one pass.

    Examples
    --------
    >>> demosaic_bilinear(np.full((4, 4), 0.25, np.float32), "RGGB")[2, 1]
    array([0.25, 0.25, 0.25], dtype=float32)
    """
    x, idx = _prepare(cfa, pattern)
    out = np.empty(x.shape + (3,), np.float32)
    _demosaic.bilinear(_pad(x, 2), idx, out)
    return out


# ----------------------------------------------------------------------------- Malvar 2004

# Malvar et al. 2004, Fig. 2, written as correlation kernels (they are point-symmetric, so
# correlation and convolution agree). Gain 1/8 each.
_K_MALVAR_G_AT_RB = np.array([[0, 0, -1, 0, 0],
                              [0, 0, 2, 0, 0],
                              [-1, 2, 4, 2, -1],
                              [0, 0, 2, 0, 0],
                              [0, 0, -1, 0, 0]], np.float32) / 8
# The colour sampled left/right of a green site (R at G in an R row, B at G in a B row).
_K_MALVAR_ROW_AT_G = np.array([[0, 0, 0.5, 0, 0],
                               [0, -1, 0, -1, 0],
                               [-1, 4, 5, 4, -1],
                               [0, -1, 0, -1, 0],
                               [0, 0, 0.5, 0, 0]], np.float32) / 8
# The colour sampled above/below a green site.
_K_MALVAR_COL_AT_G = np.ascontiguousarray(_K_MALVAR_ROW_AT_G.T)
# The colour sampled on the diagonals (B at R, R at B).
_K_MALVAR_DIAG = np.array([[0, 0, -1.5, 0, 0],
                           [0, 2, 0, 2, 0],
                           [-1.5, 0, 6, 0, -1.5],
                           [0, 2, 0, 2, 0],
                           [0, 0, -1.5, 0, 0]], np.float32) / 8


def demosaic_malvar2004_reference(cfa: np.ndarray, pattern: str) -> np.ndarray:
    """Malvar 2004 as four whole-image convolutions and a per-site choice (reference).

    Same signature and result as :func:`demosaic_malvar2004` (to float32 rounding);
    slower, written to be read. See :func:`demosaic_malvar2004` for the parameters.
    """
    x, idx = _prepare(cfa, pattern)
    r_m, g_m, b_m = _masks(x.shape, idx)
    rows_with_red = r_m.any(axis=1, keepdims=True)
    rows_with_blue = b_m.any(axis=1, keepdims=True)
    g_at_rb = _filter(x, _K_MALVAR_G_AT_RB)
    row_at_g = _filter(x, _K_MALVAR_ROW_AT_G)
    col_at_g = _filter(x, _K_MALVAR_COL_AT_G)
    diag = _filter(x, _K_MALVAR_DIAG)
    red = np.where(r_m, x, np.where(b_m, diag, np.where(rows_with_red, row_at_g, col_at_g)))
    green = np.where(g_m, x, g_at_rb)
    blue = np.where(b_m, x, np.where(r_m, diag, np.where(rows_with_blue, row_at_g, col_at_g)))
    return np.stack([red, green, blue], axis=-1)


def demosaic_malvar2004(cfa: np.ndarray, pattern: str) -> np.ndarray:
    """Malvar-He-Cutler high-quality linear demosaicing.

    Parameters
    ----------
    cfa
        Mosaic (H, W), float32 (other real dtypes are converted), camera RGB.
    pattern
        One of ``CFA_PATTERNS``.

    Returns
    -------
    numpy.ndarray
        Camera RGB (H, W, 3) float32, unclipped.

    Notes
    -----
    Bilinear interpolation corrected by the Laplacian of the channel sampled at the site,
    with the gains the paper optimised on the Kodak set (alpha = 1/2, beta = 5/8,
    gamma = 3/4); equivalently four 5x5 kernels (``_K_MALVAR_*``). One fused pass over
    the image; :func:`demosaic_malvar2004_reference` is the convolution form.

    References
    ----------
    H. S. Malvar, L.-W. He, R. Cutler, "High-quality linear interpolation for demosaicing
    of Bayer-patterned color images", Proc. IEEE ICASSP 2004, vol. 3, pp. 485-488,
    doi:10.1109/ICASSP.2004.1326587.

    Examples
    --------
    >>> demosaic_malvar2004(np.full((4, 4), 0.5, np.float32), "GBRG")[1, 2]
    array([0.5, 0.5, 0.5], dtype=float32)
    """
    x, idx = _prepare(cfa, pattern)
    out = np.empty(x.shape + (3,), np.float32)
    _demosaic.malvar2004(_pad(x, 2), idx, out)
    return out


# ----------------------------------------------------------------------------- Menon 2007

#: Every Menon 2007 output depends on mosaic samples at most this far away (Chebyshev):
#: 4 for the direction decision, +1 for each of the five interpolation/refining steps.
_MENON_MARGIN = 10

# Directional green: h0 + h1 of the paper, [0, 1/2, 0, 1/2, 0] + [-1/4, 0, 1/2, 0, -1/4].
_K_MENON_GREEN_H = np.array([[-0.25, 0.5, 0.5, 0.5, -0.25]], np.float32)
# Classifier window over the colour-difference gradients D(i, j) = |C(i, j) - C(i, j + 2)|:
# rows i-2..i+2 (centre row weighted 3), columns j-2..j, so that it sees C over j-2..j+2.
_K_MENON_CLASSIFIER_H = np.array([[1, 0, 1, 0, 0],
                                  [0, 1, 0, 0, 0],
                                  [3, 0, 3, 0, 0],
                                  [0, 1, 0, 0, 0],
                                  [1, 0, 1, 0, 0]], np.float32)
_K_HALF_PAIR = np.array([[0.5, 0, 0.5]], np.float32)
_K_MEAN3 = np.full((1, 3), 1 / 3, np.float32)


def _h(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Filter along rows with the (1, n) kernel ``k``."""
    return _filter(x, k)


def _v(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Filter along columns with the (1, n) kernel ``k``."""
    return _filter(x, np.ascontiguousarray(k.T))


def demosaic_menon2007_reference(cfa: np.ndarray, pattern: str, refine: bool = True,
                                 limit_green: bool = True) -> np.ndarray:
    """Menon 2007 (DDFAPD) as whole-image filters and masks, in the paper's order (reference).

    Same signature and result as :func:`demosaic_menon2007` (to float32 rounding and, very
    rarely, a tie in the direction decision); slower, written to be read. The mosaic is
    padded once (whole-sample reflection) so that every stage sees the same extension.
    """
    x, idx = _prepare(cfa, pattern)
    m = _MENON_MARGIN
    xp = _pad(x, m)
    r_m, g_m, b_m = _masks(xp.shape, idx)
    rb_m = ~g_m

    # 1. Directional green estimates at red and blue sites (limited: each within the range
    #    of the two greens it interpolates, DemosaicParams.limit_green).
    g_h = _h(xp, _K_MENON_GREEN_H)
    g_v = _v(xp, _K_MENON_GREEN_H)
    if limit_green:
        for axis, g in ((1, g_h), (0, g_v)):
            before, after = np.roll(xp, 1, axis), np.roll(xp, -1, axis)  # margin: no wrap
            np.clip(g, np.minimum(before, after), np.maximum(before, after), out=g)
    g_h = np.where(g_m, xp, g_h)
    g_v = np.where(g_m, xp, g_v)

    # 2. A posteriori decision: colour differences, their gradients along each
    #    direction, summed over a window; the smaller sum wins, ties go horizontal.
    c_h = np.where(rb_m, xp - g_h, 0)
    c_v = np.where(rb_m, xp - g_v, 0)
    d_h = np.abs(c_h - np.roll(c_h, -2, axis=1))  # wraps only inside the margin
    d_v = np.abs(c_v - np.roll(c_v, -2, axis=0))
    delta_h = _filter(d_h, _K_MENON_CLASSIFIER_H)
    delta_v = _filter(d_v, np.ascontiguousarray(_K_MENON_CLASSIFIER_H.T))
    horizontal = delta_v >= delta_h
    green = np.where(horizontal, g_h, g_v)

    # 3. Red and blue: at green sites from the colour difference to the two
    #    neighbours that sample the colour; at red/blue sites along the chosen direction.
    rows_with_red = r_m.any(axis=1, keepdims=True)
    rows_with_blue = b_m.any(axis=1, keepdims=True)
    red = np.where(r_m, xp, 0).astype(np.float32)
    blue = np.where(b_m, xp, 0).astype(np.float32)
    red = np.where(g_m & rows_with_red, green + _h(red, _K_HALF_PAIR) - _h(green, _K_HALF_PAIR),
                   red)
    red = np.where(g_m & rows_with_blue, green + _v(red, _K_HALF_PAIR) - _v(green, _K_HALF_PAIR),
                   red)
    blue = np.where(g_m & rows_with_blue,
                    green + _h(blue, _K_HALF_PAIR) - _h(green, _K_HALF_PAIR), blue)
    blue = np.where(g_m & rows_with_red,
                    green + _v(blue, _K_HALF_PAIR) - _v(green, _K_HALF_PAIR), blue)
    red = np.where(b_m, blue + np.where(horizontal,
                                        _h(red, _K_HALF_PAIR) - _h(blue, _K_HALF_PAIR),
                                        _v(red, _K_HALF_PAIR) - _v(blue, _K_HALF_PAIR)), red)
    blue = np.where(r_m, red + np.where(horizontal,
                                        _h(blue, _K_HALF_PAIR) - _h(red, _K_HALF_PAIR),
                                        _v(blue, _K_HALF_PAIR) - _v(red, _K_HALF_PAIR)), blue)

    if refine:
        red, green, blue = _menon2007_refine_reference(red, green, blue, r_m, g_m, b_m,
                                                        horizontal)
    rgb = np.stack([red, green, blue], axis=-1)[m:-m, m:-m]
    return np.ascontiguousarray(rgb, dtype=np.float32)


def _menon2007_refine_reference(red, green, blue, r_m, g_m, b_m, horizontal):
    """The refining step of Menon 2007, whole-image form."""

    def mean3(x):  # 3-tap mean along the direction chosen at each site
        return np.where(horizontal, _h(x, _K_MEAN3), _v(x, _K_MEAN3))

    # Green at red/blue sites from the smoothed R-G (B-G) difference.
    green = np.where(r_m, red - mean3(red - green), green)
    green = np.where(b_m, blue - mean3(blue - green), green)
    # Red and blue at green sites from the refined differences of the two neighbours.
    rows_with_red = r_m.any(axis=1, keepdims=True)
    rows_with_blue = b_m.any(axis=1, keepdims=True)
    r_g, b_g = red - green, blue - green
    red = np.where(g_m & rows_with_red, green + _h(r_g, _K_HALF_PAIR), red)
    red = np.where(g_m & rows_with_blue, green + _v(r_g, _K_HALF_PAIR), red)
    blue = np.where(g_m & rows_with_blue, green + _h(b_g, _K_HALF_PAIR), blue)
    blue = np.where(g_m & rows_with_red, green + _v(b_g, _K_HALF_PAIR), blue)
    # Red at blue sites and blue at red sites from the smoothed R-B difference.
    r_b = mean3(red - blue)
    red, blue = np.where(b_m, blue + r_b, red), np.where(r_m, red - r_b, blue)
    return red, green, blue


# The fast path: one row-parallel compiled kernel per stage (``_demosaic.pyx``), on the
# padded mosaic ``xp`` (Hp, Wp) and a scratch stack ``planes`` (3, Hp, Wp). Each stage
# computes a band that shrinks by its stencil radius; only the central (H, W) window is
# ever read back, and the margin is wide enough that it never depends on an unwritten
# value. In every stage a site writes only values that no other site of the same stage
# reads, so rows can run in parallel and the stages can work in place. Notation: in row
# y, ``a`` is the non-green colour (0 = R, 2 = B), ``b = 2 - a`` the other one, ``gc``
# the parity of green columns.


def demosaic_menon2007(cfa: np.ndarray, pattern: str, refine: bool = True,
                       limit_green: bool = True) -> np.ndarray:
    """Demosaicing with directional filtering and a posteriori decision (Menon 2007, DDFAPD).

    Parameters
    ----------
    cfa
        Mosaic (H, W), float32 (other real dtypes are converted), camera RGB.
    pattern
        One of ``CFA_PATTERNS``.
    refine
        Run the paper's refining step (see Notes, 4).
    limit_green
        Limit each directional green estimate to the range of the two greens it
        interpolates (see Notes, 1; :class:`DemosaicParams` says why). ``False``: the
        filter as published (colour-demosaicing's ``demosaicing_CFA_Bayer_Menon2007``).

    Returns
    -------
    numpy.ndarray
        Camera RGB (H, W, 3) float32, unclipped.

    Notes
    -----
    1. Green is interpolated at red/blue sites twice, along rows and along columns, with
       the filter [-1/4, 1/2, 1/2, 1/2, -1/4] (bilinear plus a Laplacian correction from
       the sampled channel); with ``limit_green``, each estimate is then limited to the
       range of its two green neighbours along that direction, as dcraw's AHD does.
    2. For each direction, the colour difference C = x - G is formed at red/blue sites and
       its gradient D(i, j) = |C(i, j) - C(i, j + 2)| is summed over a 5x5 window (centre
       row weighted 3); the direction with the smaller sum is chosen (ties: horizontal).
    3. Red and blue at green sites: G plus the mean colour difference of the two
       neighbours sampling that colour; blue at red sites (and red at blue) likewise along
       the chosen direction.
    4. Refining: green at red/blue sites from the 3-tap mean of the colour difference
       along the chosen direction; red/blue at green sites again from the refined
       differences; red at blue (blue at red) from the 3-tap mean of R - B.

    This follows colour-demosaicing's ``demosaicing_CFA_Bayer_Menon2007`` step for step
    (interior results agree to float32 rounding), computed in float32 by seven fused
    row-parallel passes (five without refining); :func:`demosaic_menon2007_reference` is
    the whole-image form. Scratch memory: about 5.3 float32 planes of the mosaic's size.

    References
    ----------
    D. Menon, S. Andriani, G. Calvagno, "Demosaicing With Directional Filtering and a
    posteriori Decision", IEEE Transactions on Image Processing 16(1):132-141, 2007,
    doi:10.1109/TIP.2006.884928.

    Examples
    --------
    >>> cfa = mosaic_rgb(np.full((6, 6, 3), [0.25, 0.5, 0.75], np.float32), "GRBG")
    >>> np.round(demosaic_menon2007(cfa, "GRBG")[3, 2], 6)  # the refining 1/3 rounds
    array([0.25, 0.5 , 0.75], dtype=float32)
    """
    x, idx = _prepare(cfa, pattern)
    m = _MENON_MARGIN
    xp = _pad(x, m)
    planes = np.empty((3,) + xp.shape, np.float32)
    horizontal = np.empty(xp.shape, np.uint8)
    cc = np.empty((2, xp.shape[0], xp.shape[1] // 2 + 1), np.float32)
    _demosaic.menon_chroma(xp, idx, cc, bool(limit_green))
    _demosaic.menon_decide(xp, idx, cc, planes, horizontal)
    del cc
    _demosaic.menon_rb_at_green(xp, idx, planes)
    _demosaic.menon_rb_at_rb(xp, idx, planes, horizontal)
    if refine:
        _demosaic.menon_refine_green(xp, idx, planes, horizontal)
        _demosaic.menon_rb_at_green(xp, idx, planes)
    out = np.empty(x.shape + (3,), np.float32)
    _demosaic.menon_output(xp, idx, planes, horizontal, m, bool(refine), out)
    return out


# ----------------------------------------------------------------------------- OpenCV EA


@functools.cache
def _opencv_ea_code(pattern: str) -> tuple[int, bool]:
    """The ``cvtColor`` code for ``pattern`` and whether its output channels come reversed.

    OpenCV names Bayer codes by a different 2x2 block than ours, and some versions have
    swapped the EA variants' channel order, so the mapping is probed once on a flat field.
    """
    probe = mosaic_rgb(np.broadcast_to(np.array([1000, 2000, 3000]), (8, 8, 3)), pattern)
    probe = probe.astype(np.uint16)
    for name in ("BG", "GB", "RG", "GR"):
        code = getattr(cv2, f"COLOR_Bayer{name}2RGB_EA")
        centre = tuple(int(v) for v in cv2.cvtColor(probe, code)[4, 4])
        if centre == (1000, 2000, 3000):
            return code, False
        if centre == (3000, 2000, 1000):
            return code, True
    raise RuntimeError(f"no OpenCV edge-aware Bayer code reproduces pattern {pattern}")


def demosaic_opencv_ea(cfa: np.ndarray, pattern: str, scale: float | None = None) -> np.ndarray:
    """OpenCV's edge-aware Bayer demosaicing, run on the mosaic scaled to 16-bit integers.

    Parameters
    ----------
    cfa
        Mosaic (H, W), float32 (other real dtypes are converted), camera RGB.
    pattern
        One of ``CFA_PATTERNS``.
    scale
        Multiplier from mosaic values to uint16 codes. Default ``65535 / max(1, cfa.max())``:
        [0, 1] maps onto the full 16-bit range, and brighter (HDR) data is compressed to fit.

    Returns
    -------
    numpy.ndarray
        Camera RGB (H, W, 3) float32, divided back by ``scale``.

    Notes
    -----
    ``cv2.cvtColor(..., COLOR_Bayer*2RGB_EA)`` takes only 8- or 16-bit input, so this path is
    the one stage that is not float-exact: values are rounded to multiples of
    ``1 / scale`` (1.5e-5 for [0, 1] data, below any sensor's noise), negatives (black
    level noise) are clipped to 0, values above ``65535 / scale`` to that ceiling, and the
    output cannot leave [0, 65535 / scale]. The mosaic is padded by 2 pixels (whole-sample
    reflection) before the call, because OpenCV fills its outermost pixels its own way and
    returns zeros for images under 3x3. On our linear-light test images the result is
    within 0.15 dB of bilinear PSNR; the conversion cost makes it no faster than
    :func:`demosaic_malvar2004`.

    Examples
    --------
    >>> demosaic_opencv_ea(np.full((8, 8), 0.5, np.float32), "BGGR")[4, 4]  # 32768 / 65535
    array([0.5000076, 0.5000076, 0.5000076], dtype=float32)
    """
    x, _ = _prepare(cfa, pattern)
    if scale is None:
        scale = 65535.0 / max(1.0, float(x.max()))
    elif not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    codes = cv2.multiply(x, 1.0, scale=float(scale), dtype=cv2.CV_16U)  # rounds, saturates
    # OpenCV fills its own 1-px border and returns zeros below 3x3; padding by 2 gives our
    # border convention (and the same result as any larger pad) on every size.
    code, reversed_channels = _opencv_ea_code(pattern)
    rgb16 = cv2.cvtColor(_pad(codes, 2), code)[2:-2, 2:-2]
    if reversed_channels:
        rgb16 = rgb16[..., ::-1]
    return np.multiply(rgb16, np.float32(1.0 / scale), dtype=np.float32)


# ----------------------------------------------------------------------------- dispatch


def demosaic(cfa: np.ndarray, params: DemosaicParams | None, pattern: str) -> np.ndarray:
    """The demosaic stage: camera-RGB mosaic (H, W) -> camera RGB (H, W, 3), float32.

    Parameters
    ----------
    cfa
        White-balanced, black-subtracted, normalised mosaic (H, W), float32 (other real
        dtypes are converted); any size from 2x2, odd sizes included.
    params
        :class:`DemosaicParams`; ``None`` for the defaults (Menon 2007 with refining).
    pattern
        The mosaic's Bayer phase, one of ``CFA_PATTERNS`` (use :func:`shift_pattern` for
        crops).

    Returns
    -------
    numpy.ndarray
        Camera RGB (H, W, 3) float32, unclipped.

    Raises
    ------
    ValueError
        Unknown method or pattern, an array that is not 2-D, not real-valued, smaller than
        2x2, or holds NaN/inf.

    Examples
    --------
    >>> cfa = np.full((4, 6), 0.5, np.float32)
    >>> demosaic(cfa, DemosaicParams(method="malvar2004"), "RGGB").shape
    (4, 6, 3)
    """
    params = DemosaicParams() if params is None else params
    method = params.method
    if method == "menon2007":
        return demosaic_menon2007(cfa, pattern, refine=params.refine,
                                  limit_green=params.limit_green)
    if method == "malvar2004":
        return demosaic_malvar2004(cfa, pattern)
    if method == "bilinear":
        return demosaic_bilinear(cfa, pattern)
    if method == "opencv-ea":
        return demosaic_opencv_ea(cfa, pattern)
    raise ValueError(f"demosaic method must be one of {DEMOSAIC_METHODS}, got {method!r}")


# ----------------------------------------------------------------------------- the stage

#: Rows of context each method needs on each side (measured: the smallest strip overlap
#: that gives the whole frame's result exactly).
_HALO = {"menon2007": 8, "malvar2004": 2, "bilinear": 2, "opencv-ea": 2}


def chosen_method(params) -> DemosaicParams:
    """The demosaic parameters a develop uses: its own, or Menon 2007 for quality "high"
    and Malvar 2004 for "fast"."""
    if params.demosaic is not None:
        return params.demosaic
    return DemosaicParams(method="menon2007" if params.quality == "high" else "malvar2004")


def _analyse(ctx) -> None:
    ctx.plan.demosaic = chosen_method(ctx.params)


def _halo(ctx) -> int:
    d = chosen_method(ctx.params)
    return 6 if d.method == "menon2007" and not d.refine else _HALO[d.method]


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return demosaic(x, ctx.plan.demosaic, shift_pattern(ctx.calibration.pattern, rows[0] % 2, 0))


STAGE = Stage(
    name="demosaic",
    params="demosaic",
    reads="white-balanced CFA mosaic (H, W), normalised camera signal",
    writes="camera RGB (H, W, 3), unclipped",
    apply=_apply,
    cite="Menon, Andriani, Calvagno 2007, doi:10.1109/TIP.2006.884928; Malvar, He, Cutler "
         "2004, doi:10.1109/ICASSP.2004.1326587",
    halo=_halo,
    grid=2,
    enabled=lambda ctx: ctx.kind == "cfa",
    analyse=_analyse,
)
