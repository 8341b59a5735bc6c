"""Fast path of the develop pipeline: the same per-pixel math as the NumPy reference stages,
fused into a few numba kernels that run on all cores without full-size temporaries.

This is the Halide camera_pipe idea (Ragan-Kelley et al. 2013, "Halide: a language and
compiler for optimizing parallelism, locality, and recomputation in image processing
pipelines", PLDI): the algorithm of each stage stays readable in its own module
(levels, white_balance, highlights, color, denoise, tone, output, sharpen), while this
module is only a *schedule* of it: which runs of stages of
:data:`redframe.isp.stages.STAGES` each kernel computes (:data:`SCHEDULE`), tiled in rows
and vectorised. The per-pixel formulas are not repeated here: the kernels inline the
scalar functions of :mod:`redframe.isp.pixel`, the same ones the reference stages run over
arrays. ``tests/test_stages.py`` checks, stage by stage, that both engines agree.
"""

from __future__ import annotations

import math

import cv2
import numba as nb
import numpy as np

from redframe.color import LUMA_REC709, LUMA_REC2020, rgb_to_rgb_matrix
from redframe.color.dither import DITHER_SEED, hash32, row_key, tpdf
from redframe.color.transfer import SRGB_GAMMA
from redframe.io.scene import pattern_to_index
from redframe.isp.compose import Kernel
from redframe.isp.denoise import denoise_coefficients, resolve
from redframe.isp.filters import weighted_sum
from redframe.isp.highlights import weight_from_fraction
from redframe.isp.output import OUTPUT_SPACES, gamut_vector
from redframe.isp.pixel import (
    code_value,
    denoise_px,
    gamut_rgb,
    highlight_blend,
    signed_sqrt,
    soft_threshold,
    srgb_from_root,
    tone_rgb,
)
from redframe.isp.quantize import OUTPUT_DTYPES
from redframe.isp.sharpen import SharpenParams
from redframe.isp.tone import tone_vector

__all__ = ["levels_wb", "highlights_matrix", "finish", "finish_denoise_only", "sharpen_apply",
           "sharpen_quantize", "denoise_domain", "bin_preview", "clip_weight", "SCHEDULE"]

_LUMA_709 = LUMA_REC709  # as redframe.isp.sharpen
# the luma weights as float32 scalars: numba freezes module globals into the kernels
_Y0, _Y1, _Y2 = LUMA_REC2020
_W0, _W1, _W2 = LUMA_REC709


@nb.njit(parallel=True, cache=True, fastmath=True)
def _levels_wb(mosaic, black, scale, row0, out):  # pragma: no cover - compiled
    h, w = mosaic.shape
    for i in nb.prange(h):
        sy = (i + row0) & 1
        for j in range(w):
            sx = j & 1
            out[i, j] = (np.float32(mosaic[i, j]) - black[sy, sx]) * scale[sy, sx]


def levels_wb(
    mosaic: np.ndarray, black: np.ndarray, white: float, gains_site: np.ndarray, row0: int = 0
) -> np.ndarray:
    """Fused :func:`black_white_levels` + :func:`white_balance` on a mosaic (or strip of it
    starting at full-frame row ``row0``). ``gains_site`` is the gain per CFA site (2, 2)."""
    black = np.ascontiguousarray(black, dtype=np.float32)
    scale = (
        np.asarray(gains_site, np.float32) / np.maximum(np.float32(white) - black, 1.0)
    ).astype(np.float32)
    out = np.empty(mosaic.shape, np.float32)
    _levels_wb(mosaic, black, scale, row0, out)
    return out


@nb.njit(parallel=True, cache=True, fastmath=True)
def _clip_fraction(rgb, gain, inv_clip, frac, row_max):  # pragma: no cover - compiled
    """frac = rgb * gain / clip per pixel and channel (how close to clipping), and the row
    maxima of its largest channel."""
    h, w, _ = rgb.shape
    k0, k1, k2 = gain[0] * inv_clip[0], gain[1] * inv_clip[1], gain[2] * inv_clip[2]
    for i in nb.prange(h):
        m = np.float32(0.0)
        for j in range(w):
            f0 = rgb[i, j, 0] * k0
            f1 = rgb[i, j, 1] * k1
            f2 = rgb[i, j, 2] * k2
            frac[i, j, 0] = f0
            frac[i, j, 1] = f1
            frac[i, j, 2] = f2
            m = max(m, max(f0, max(f1, f2)))
        row_max[i] = m


@nb.njit(inline="always", fastmath=True)
def _repair_matrix(rgb, i, j, gain, weight, rho, reconstruct, m):  # pragma: no cover
    """White balance, highlight repair and the colour matrix for one pixel."""
    r = rgb[i, j, 0] * gain[0]
    g = rgb[i, j, 1] * gain[1]
    b = rgb[i, j, 2] * gain[2]
    if reconstruct:
        w0 = weight[i, j, 0]
        w1 = weight[i, j, 1]
        w2 = weight[i, j, 2]
        if max(w0, max(w1, w2)) > 0:
            r, g, b = highlight_blend(r, g, b, w0, w1, w2, rho)
    return (
        m[0, 0] * r + m[0, 1] * g + m[0, 2] * b,
        m[1, 0] * r + m[1, 1] * g + m[1, 2] * b,
        m[2, 0] * r + m[2, 1] * g + m[2, 2] * b,
    )


@nb.njit(parallel=True, cache=True, fastmath=True)
def _highlights_matrix(rgb, gain, weight, rho, reconstruct, m, out):  # pragma: no cover
    h, w, _ = rgb.shape
    for i in nb.prange(h):
        for j in range(w):
            out[i, j, 0], out[i, j, 1], out[i, j, 2] = _repair_matrix(
                rgb, i, j, gain, weight, rho, reconstruct, m
            )


_NO_WEIGHT = np.zeros((1, 1, 3), np.float32)


def _ratios(rho) -> np.ndarray:
    return (np.full((3, 3), -1.0, np.float32) if rho is None
            else np.ascontiguousarray(rho, np.float32))


def clip_weight(
    rgb: np.ndarray, clip: np.ndarray, threshold: float, gain: np.ndarray | None = None
) -> np.ndarray | None:
    """:func:`redframe.isp.highlights.clip_weight` of ``rgb * gain`` (one kernel for the
    common case where nothing is near clipping)."""
    gain = np.ones(3, np.float32) if gain is None else np.asarray(gain, np.float32)
    inv = (1.0 / np.asarray(clip, np.float64)).astype(np.float32)
    frac = np.empty(rgb.shape, np.float32)
    row_max = np.empty(rgb.shape[0], np.float32)
    _clip_fraction(rgb, gain, inv, frac, row_max)
    if not np.any(row_max > np.float32(threshold)):
        return None
    return weight_from_fraction(frac, threshold)


def highlights_matrix(
    rgb: np.ndarray,
    clip: np.ndarray,
    threshold: float,
    reconstruct: bool,
    matrix: np.ndarray,
    gain: np.ndarray | None = None,
    out: np.ndarray | None = None,
    rho: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`reconstruct_highlights` (with the ratios ``rho``) then ``matrix @ rgb``
    (colour + exposure), of ``rgb * gain`` (white balance, when not applied yet), into
    ``out`` (default: in place)."""
    gain = np.ones(3, np.float32) if gain is None else np.asarray(gain, np.float32)
    weight = clip_weight(rgb, clip, threshold, gain) if reconstruct else None
    out = rgb if out is None else out
    _highlights_matrix(
        rgb,
        gain,
        weight if weight is not None else _NO_WEIGHT,
        _ratios(rho),
        weight is not None,
        np.ascontiguousarray(matrix, dtype=np.float32),
        out,
    )
    return out


def axis_map(n_dst: int, n_src: int, start: int = 0, n_full: int | None = None):
    """Source indices and weights of cv2.resize INTER_LINEAR along one axis, for destination
    pixels ``start .. start + n_dst`` of a full axis of ``n_full`` (default ``n_dst``)."""
    n_full = n_dst if n_full is None else n_full
    f = (np.arange(start, start + n_dst, dtype=np.float64) + 0.5) * (n_src / n_full) - 0.5
    f = np.clip(f, 0.0, n_src - 1)
    i0 = np.floor(f).astype(np.int64)
    i0 = np.minimum(i0, n_src - 1)
    i1 = np.minimum(i0 + 1, n_src - 1)
    return i0, i1, (f - i0).astype(np.float32)


@nb.njit(inline="always", fastmath=True)
def _bilinear(grid, k, y0, y1, fy, x0, x1, fx):  # pragma: no cover - compiled
    top = grid[k, y0, x0] + (grid[k, y0, x1] - grid[k, y0, x0]) * fx
    bot = grid[k, y1, x0] + (grid[k, y1, x1] - grid[k, y1, x0]) * fx
    return top + (bot - top) * fy


@nb.njit(inline="always", fastmath=True)
def _log2_bits(bits):  # pragma: no cover - compiled
    """log2 of a positive normal float32 given its IEEE-754 bits: exponent + a degree-6
    least-squares polynomial of log2(1 + f) on the mantissa (|error| < 3e-6).

    libm's frexp/ldexp were the single largest cost of the finish pass (15x slower)."""
    e = np.float32(((bits >> 23) & 255) - 127)
    f = np.float32(bits & 0x7FFFFF) * np.float32(1.0 / 8388608.0)
    p = np.float32(2.12374089e-06) + f * (
        np.float32(1.44247531)
        + f
        * (
            np.float32(-0.717557872)
            + f
            * (
                np.float32(0.455527088)
                + f
                * (
                    np.float32(-0.274623258)
                    + f * (np.float32(0.119298238) + f * np.float32(-0.0251232033))
                )
            )
        )
    )
    return e + p


@nb.njit(inline="always", fastmath=True)
def _exp2_parts(y):  # pragma: no cover - compiled
    """2**y as (mantissa in [1, 2), exponent bits to add): degree-5 fit, |rel error| < 2e-7."""
    n = math.floor(y)
    f = np.float32(y - n)
    p = np.float32(0.9999999) + f * (
        np.float32(0.69315462)
        + f
        * (
            np.float32(0.24014077)
            + f
            * (np.float32(0.05586328) + f * (np.float32(0.00894621) + f * np.float32(0.00189511)))
        )
    )
    return p, np.int32(n) << 23


@nb.njit(parallel=True, cache=True, fastmath=True)
def _finish(
    rgb,
    yz,
    dn,
    sqrt_in,
    ca,
    cb,
    chroma_s,
    luma_s,
    bias,
    cmy,
    cmx,
    ta,
    tb,
    tmy,
    ltm_lim,
    tone_on,
    tv,
    mout,
    gamut,
    out,
    want_luma,
    luma,
):  # pragma: no cover - compiled
    h, w, _ = rgb.shape
    th = ta.shape[0]  # ta, tb: the local tone map's grid rows, already interpolated along x
    cy0, cy1, cfy = cmy
    cx0, cx1, cfx = cmx
    ty0, ty1, tfy = tmy
    gt, gs, gp = gamut[0], gamut[1], gamut[2]
    shoulder = tv[1]
    lum0 = _Y0
    lum1 = _Y1
    lum2 = _Y2
    nc = ca.shape[2]
    for i in nb.prange(h):
        # interpolate the coefficient grids along y once per row; per pixel only along x
        cx = np.empty((8, w if dn else 1), np.float32)  # coefficients of this row, per pixel
        if dn:
            crow = np.empty((8, nc), np.float32)
            a0, a1, fa = cy0[i], cy1[i], cfy[i]
            for k in range(4):
                for x in range(nc):
                    crow[k, x] = ca[k, a0, x] + (ca[k, a1, x] - ca[k, a0, x]) * fa
                    crow[4 + k, x] = cb[k, a0, x] + (cb[k, a1, x] - cb[k, a0, x]) * fa
            if w == 2 * nc:  # the 2x grid: pixels 2q+1, 2q+2 sit at 1/4, 3/4 of cell q
                for k in range(8):
                    cx[k, 0] = crow[k, 0]
                    for q in range(nc - 1):
                        lo = crow[k, q]
                        d = crow[k, q + 1] - lo
                        cx[k, 2 * q + 1] = lo + np.float32(0.25) * d
                        cx[k, 2 * q + 2] = lo + np.float32(0.75) * d
                    cx[k, w - 1] = crow[k, nc - 1]
            else:
                for k in range(8):
                    for j in range(w):
                        b0, b1, fb = cx0[j], cx1[j], cfx[j]
                        cx[k, j] = crow[k, b0] + (crow[k, b1] - crow[k, b0]) * fb
        rr = np.empty(w, np.float32)
        gg = np.empty(w, np.float32)
        bb = np.empty(w, np.float32)
        lrow = np.empty(w, np.float32)
        grow = np.empty(w, np.float32)
        for j in range(w):
            r = rgb[i, j, 0]
            g = rgb[i, j, 1]
            b = rgb[i, j, 2]
            if dn:
                if not sqrt_in:  # else already sign(x) sqrt|x| (see denoise_domain)
                    r, g, b = signed_sqrt(r), signed_sqrt(g), signed_sqrt(b)
                r, g, b = denoise_px(r, g, b, yz[i, j], cx[0, j], cx[1, j], cx[2, j],
                                     cx[3, j], cx[4, j], cx[5, j], cx[6, j], cx[7, j],
                                     chroma_s, luma_s)
                r += bias[0]
                g += bias[1]
                b += bias[2]
            rr[j] = r
            gg[j] = g
            bb[j] = b
        if th > 0:  # local tone map gain, bit-level log2/exp2 on row buffers
            lbits = lrow.view(np.int32)
            for j in range(w):
                lrow[j] = max(
                    lum0 * rr[j] + lum1 * gg[j] + lum2 * bb[j], ltm_lim[0]
                )
            gbits = grow.view(np.int32)
            t0, t1, ft = ty0[i], ty1[i], tfy[i]
            for j in range(w):
                ga = ta[t0, j] + (ta[t1, j] - ta[t0, j]) * ft
                gb = tb[t0, j] + (tb[t1, j] - tb[t0, j]) * ft
                mant, ebits = _exp2_parts(min(ga * _log2_bits(lbits[j]) + gb, ltm_lim[1]))
                grow[j] = mant
                gbits[j] += ebits
            for j in range(w):
                rr[j] *= grow[j]
                gg[j] *= grow[j]
                bb[j] *= grow[j]
        # the common case, branch-free so it vectorises: below the filmic shoulder with the
        # default curve the tone map is max(x, 0), and most pixels are inside the gamut.
        # Pixels that need more (shoulder, other curves, gamut compression) are flagged and
        # done one by one after.
        linear_below = tv[0] == 1.0 and tv[4] == 0.0 and tv[5] == 0.0
        floor = np.float32(0.0) if tone_on else np.float32(-3.0e38)
        if not tone_on:
            special_above = np.float32(3.0e38)
        elif linear_below:
            special_above = np.float32(shoulder)
        else:
            special_above = np.float32(-3.0e38)
        knee = np.float32(1.0 - gt)
        o0b = np.empty(w, np.float32)
        o1b = np.empty(w, np.float32)
        o2b = np.empty(w, np.float32)
        flag = np.empty(w, np.uint8)
        for j in range(w):
            r = rr[j]
            g = gg[j]
            b = bb[j]
            norm = max(r, max(g, b))
            r = max(r, floor)
            g = max(g, floor)
            b = max(b, floor)
            o0 = mout[0, 0] * r + mout[0, 1] * g + mout[0, 2] * b
            o1 = mout[1, 0] * r + mout[1, 1] * g + mout[1, 2] * b
            o2 = mout[2, 0] * r + mout[2, 1] * g + mout[2, 2] * b
            top = max(o0, max(o1, o2))
            out_of_gamut = (top > 0.0) & (min(o0, min(o1, o2)) < top * knee)
            flag[j] = (norm > special_above) | out_of_gamut
            o0b[j] = o0
            o1b[j] = o1
            o2b[j] = o2
        for j in range(w):
            if not flag[j]:
                continue
            r = rr[j]
            g = gg[j]
            b = bb[j]
            if tone_on:
                norm = max(r, max(g, b))
                if linear_below and norm <= shoulder:  # the curve is the identity here
                    r = max(r, np.float32(0.0))
                    g = max(g, np.float32(0.0))
                    b = max(b, np.float32(0.0))
                else:
                    r, g, b = tone_rgb(r, g, b, tv[0], tv[1], tv[2], tv[3], tv[4], tv[5])
            o0 = mout[0, 0] * r + mout[0, 1] * g + mout[0, 2] * b
            o1 = mout[1, 0] * r + mout[1, 1] * g + mout[1, 2] * b
            o2 = mout[2, 0] * r + mout[2, 1] * g + mout[2, 2] * b
            o0, o1, o2 = gamut_rgb(o0, o1, o2, gt, gs, gp)
            o0b[j] = o0
            o1b[j] = o1
            o2b[j] = o2
        rr, gg, bb = o0b, o1b, o2b
        _encode_row(rr, lrow, grow, out[0, i])
        _encode_row(gg, lrow, grow, out[1, i])
        _encode_row(bb, lrow, grow, out[2, i])
        if want_luma:  # Rec.709 luma of the encoded row, for output sharpening
            for j in range(w):
                luma[i, j] = (_W0 * out[0, i, j] + _W1 * out[1, i, j]
                              + _W2 * out[2, i, j])


@nb.njit(inline="always", fastmath=True)
def _encode_row(x, lg, ex, out):  # pragma: no cover - compiled
    """sRGB encoding (IEC 61966-2-1) of a row buffer into ``out``, as flat loops the compiler
    vectorises: x**(1/2.4) = 2**(log2(x) / 2.4) from the IEEE-754 bits (|rel. error| < 2e-6;
    a lookup table needs a gather per value). ``lg``/``ex`` are scratch rows."""
    n = x.shape[0]
    xbits = x.view(np.int32)
    ebits = ex.view(np.int32)
    for j in range(n):
        x[j] = min(max(x[j], np.float32(0.0)), np.float32(1.0))
    for j in range(n):
        lg[j] = _log2_bits(xbits[j]) * np.float32(1.0 / SRGB_GAMMA)
    for j in range(n):
        mant, e = _exp2_parts(lg[j])
        ex[j] = mant
        ebits[j] += e
    for j in range(n):
        out[j] = srgb_from_root(x[j], ex[j])


_EMPTY4 = np.zeros((4, 1, 1), np.float32)
_EMPTY2 = np.zeros((1, 1), np.float32)
_EMPTY_T = np.zeros((0, 0), np.float32)


def finish(
    rgb: np.ndarray,
    *,
    denoise=None,
    ltm=None,
    ltm_row0: int = 0,
    tone=None,
    space: str = "srgb",
    sqrt_input: bool = False,
    luma: np.ndarray | None = None,
    planar: bool = False,
) -> np.ndarray:
    """Denoise (coefficients precomputed) -> local tone map -> tone curve -> output
    transform -> encode, in one pass. Returns encoded float32 (H, W, 3). With
    ``sqrt_input`` (and ``denoise``), ``rgb`` is already in the denoiser's domain
    (:func:`denoise_domain`). ``luma`` (H, W) float32, if given, receives the Rec.709 luma
    of the encoded result (what output sharpening works on). ``planar``: return (3, H, W)
    instead of (H, W, 3) (what :func:`sharpen_quantize` reads fastest).

    ``denoise`` is ``(yz, (a, b), chroma_s, luma_s, bias)`` (see denoise_coefficients and
    :func:`redframe.isp.denoise.denoise` for the bias, None for none) or None;
    ``ltm`` is a :class:`redframe.isp.tone.LocalToneMap` or None; ``tone`` a ToneParams or
    None (no curve).
    """
    if space not in OUTPUT_SPACES:
        raise ValueError(f"output space must be one of {OUTPUT_SPACES}, got {space!r}")
    h, w, _ = rgb.shape
    out = np.empty((3, h, w), np.float32)  # planar: every row store is contiguous
    if denoise is not None:
        yz, (ca, cb), chroma_s, luma_s, bias = denoise
        dn = True
    else:
        yz, ca, cb, chroma_s, luma_s, dn, bias = _EMPTY2, _EMPTY4, _EMPTY4, 0.0, 0.0, False, None
    bias = np.zeros(3, np.float32) if bias is None else np.asarray(bias, np.float32)
    if ltm is not None:
        # the grid rows this strip needs, interpolated along x once (as cv2.resize does):
        # per pixel only a lerp between two contiguous rows is left
        t0, t1, ft = axis_map(h, ltm.a.shape[0], ltm_row0, ltm.full_shape[0])
        r0, r1 = int(t0.min()), int(t1.max()) + 1
        ta, tb = (
            cv2.resize(np.ascontiguousarray(g[r0:r1], np.float32), (w, r1 - r0),
                       interpolation=cv2.INTER_LINEAR).reshape(r1 - r0, w)
            for g in (ltm.a, ltm.b)
        )
        tmy = (t0 - r0, t1 - r0, ft)
        ltm_lim = np.array([ltm.floor, ltm.max_gain], np.float32)
    else:
        ta = tb = _EMPTY_T
        tmy = axis_map(h, 1)
        ltm_lim = np.array([2.0**-24, 24.0], np.float32)
    tv = tone_vector(tone) if tone is not None else np.zeros(6)
    mout = rgb_to_rgb_matrix("rec2020", space).astype(np.float32)
    gamut = gamut_vector()
    cmy, cmx = axis_map(h, ca.shape[1]), axis_map(w, ca.shape[2])
    _finish(
        rgb,
        yz,
        dn,
        dn and sqrt_input,
        ca,
        cb,
        np.float32(chroma_s),
        np.float32(luma_s),
        bias,
        cmy,
        cmx,
        ta,
        tb,
        tmy,
        ltm_lim,
        tone is not None,
        tv,
        mout,
        gamut,
        out,
        luma is not None,
        _EMPTY2 if luma is None else luma,
    )
    return out if planar else np.ascontiguousarray(np.moveaxis(out, 0, -1))


@nb.njit(parallel=True, cache=True, fastmath=True)
def _sharpen_apply(img, y, blur, amount, t):  # pragma: no cover - compiled
    h, w, _ = img.shape
    for i in nb.prange(h):
        for j in range(w):
            d = soft_threshold(y[i, j] - blur[i, j], t) * amount
            for c in range(3):
                img[i, j, c] = min(max(img[i, j, c] + d, np.float32(0.0)), np.float32(1.0))


def sharpen_apply(img: np.ndarray, params) -> np.ndarray:
    """In place: :func:`redframe.isp.sharpen.sharpen` with the final add fused."""
    if params.amount <= 0:
        return img
    y = weighted_sum(img, _LUMA_709)
    blur = cv2.GaussianBlur(y, (0, 0), params.radius, borderType=cv2.BORDER_REFLECT_101)
    _sharpen_apply(img, y, blur, np.float32(params.amount), np.float32(params.threshold))
    return img


@nb.njit(parallel=True, cache=True, fastmath=True)
def _denoise_domain(rgb, gain, weight, rho, reconstruct, m, z, y, z_low):  # pragma: no cover
    """Per pixel: :func:`_repair_matrix`, then sign(x) sqrt|x| into ``z``, its Rec.2020 luma
    into ``y``, and ``z`` binned 2x2 into ``z_low`` (an odd last row/column counts twice)."""
    h, w, _ = rgb.shape
    hl, wl, _ = z_low.shape
    l0, l1, l2 = _Y0, _Y1, _Y2
    for i2 in nb.prange(hl):
        rows = 2 if 2 * i2 + 1 < h else 1
        acc = np.zeros((wl, 3), np.float32)
        for i in range(2 * i2, 2 * i2 + rows):
            for j in range(w):
                r, g, b = _repair_matrix(rgb, i, j, gain, weight, rho, reconstruct, m)
                zr = signed_sqrt(r)
                zg = signed_sqrt(g)
                zb = signed_sqrt(b)
                z[i, j, 0] = zr
                z[i, j, 1] = zg
                z[i, j, 2] = zb
                y[i, j] = l0 * zr + l1 * zg + l2 * zb
                jj = j >> 1
                acc[jj, 0] += zr
                acc[jj, 1] += zg
                acc[jj, 2] += zb
        scale = np.float32(0.25 if rows == 2 else 0.5)
        for jj in range(wl):
            edge = np.float32(2.0) if (w % 2 == 1 and jj == wl - 1) else np.float32(1.0)
            for c in range(3):
                z_low[i2, jj, c] = acc[jj, c] * scale * edge


def denoise_domain(
    rgb: np.ndarray,
    clip: np.ndarray | None = None,
    threshold: float = 0.9,
    matrix: np.ndarray | None = None,
    gain: np.ndarray | None = None,
    rho: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The denoiser's working domain in one pass over ``rgb``: optionally white balance
    (``gain``), highlight repair (when ``clip`` is given) and ``matrix`` first (as
    :func:`highlights_matrix`), then ``z = sign(x) sqrt|x|`` (H, W, 3), its Rec.2020 luma
    (H, W) and ``z`` binned 2x2 (:func:`redframe.isp.denoise.bin2x2`)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    h, w, _ = rgb.shape
    gain = np.ones(3, np.float32) if gain is None else np.asarray(gain, np.float32)
    weight = clip_weight(rgb, clip, threshold, gain) if clip is not None else None
    m = np.eye(3, dtype=np.float32) if matrix is None else np.asarray(matrix, np.float32)
    z = np.empty((h, w, 3), np.float32)
    y = np.empty((h, w), np.float32)
    z_low = np.empty(((h + 1) // 2, (w + 1) // 2, 3), np.float32)
    _denoise_domain(
        rgb,
        gain,
        weight if weight is not None else _NO_WEIGHT,
        _ratios(rho),
        weight is not None,
        np.ascontiguousarray(m),
        z,
        y,
        z_low,
    )
    return z, y, z_low


def finish_denoise_only(rgb: np.ndarray, dn, sqrt_input: bool = False) -> np.ndarray:
    """Apply only the denoise part of :func:`finish`, returning linear light (for looks)."""
    h, w, _ = rgb.shape
    yz, (ca, cb), chroma_s, luma_s, bias = dn
    bias = np.zeros(3, np.float32) if bias is None else np.asarray(bias, np.float32)
    out = np.empty_like(rgb)
    cmy, cmx = axis_map(h, ca.shape[1]), axis_map(w, ca.shape[2])
    _denoise_only(rgb, yz, ca, cb, np.float32(chroma_s), np.float32(luma_s), cmy, cmx,
                  bool(sqrt_input), bias, out)
    return out


@nb.njit(parallel=True, cache=True, fastmath=True)
def _denoise_only(rgb, yz, ca, cb, chroma_s, luma_s, cmy, cmx, sqrt_in, bias, out):  # noqa: E501 # pragma: no cover
    h, w, _ = rgb.shape
    cy0, cy1, cfy = cmy
    cx0, cx1, cfx = cmx
    for i in nb.prange(h):
        for j in range(w):
            a0, a1, fa = cy0[i], cy1[i], cfy[i]
            b0, b1, fb = cx0[j], cx1[j], cfx[j]
            r, g, b = rgb[i, j, 0], rgb[i, j, 1], rgb[i, j, 2]
            if not sqrt_in:
                r, g, b = signed_sqrt(r), signed_sqrt(g), signed_sqrt(b)
            r, g, b = denoise_px(
                r, g, b, yz[i, j],
                _bilinear(ca, 0, a0, a1, fa, b0, b1, fb), _bilinear(ca, 1, a0, a1, fa, b0, b1, fb),
                _bilinear(ca, 2, a0, a1, fa, b0, b1, fb), _bilinear(ca, 3, a0, a1, fa, b0, b1, fb),
                _bilinear(cb, 0, a0, a1, fa, b0, b1, fb), _bilinear(cb, 1, a0, a1, fa, b0, b1, fb),
                _bilinear(cb, 2, a0, a1, fa, b0, b1, fb), _bilinear(cb, 3, a0, a1, fa, b0, b1, fb),
                chroma_s, luma_s,
            )
            out[i, j, 0] = r + bias[0]
            out[i, j, 1] = g + bias[1]
            out[i, j, 2] = b + bias[2]


@nb.njit(parallel=True, cache=True, fastmath=True)
def _bin_preview(mosaic, black, scale, site, out):  # pragma: no cover - compiled
    """``site`` (4, 2): (dy, dx) of R, G1, G2, B in the 2x2 quad; ``black``/``scale`` (4,)."""
    hl, wl, _ = out.shape
    ry, rx, g1y, g1x = site[0, 0], site[0, 1], site[1, 0], site[1, 1]
    g2y, g2x, by, bx = site[2, 0], site[2, 1], site[3, 0], site[3, 1]
    half = np.float32(0.5)
    for i in nb.prange(hl):
        r_row = mosaic[2 * i + ry]
        g1_row = mosaic[2 * i + g1y]
        g2_row = mosaic[2 * i + g2y]
        b_row = mosaic[2 * i + by]
        for j in range(wl):
            out[i, j, 0] = (np.float32(r_row[2 * j + rx]) - black[0]) * scale[0]
            out[i, j, 1] = half * (
                (np.float32(g1_row[2 * j + g1x]) - black[1]) * scale[1]
                + (np.float32(g2_row[2 * j + g2x]) - black[2]) * scale[2]
            )
            out[i, j, 2] = (np.float32(b_row[2 * j + bx]) - black[3]) * scale[3]


def bin_preview(
    mosaic: np.ndarray, pattern_index: np.ndarray, black: np.ndarray, white: float
) -> np.ndarray:
    """Fused :func:`redframe.isp.pipeline.preview_camera_rgb` (2x2 binning + levels)."""
    black = np.asarray(black, dtype=np.float32).reshape(2, 2)
    scale = (1.0 / np.maximum(np.float32(white) - black, 1.0)).astype(np.float32)
    idx = np.asarray(pattern_index)
    greens = [(dy, dx) for dy in range(2) for dx in range(2) if idx[dy, dx] == 1]
    (ry, rx), (by, bx) = (
        next((dy, dx) for dy in range(2) for dx in range(2) if idx[dy, dx] == c) for c in (0, 2)
    )
    site = np.array([(ry, rx), greens[0], greens[1], (by, bx)], np.int64)
    out = np.empty((mosaic.shape[0] // 2, mosaic.shape[1] // 2, 3), np.float32)
    _bin_preview(
        mosaic,
        np.ascontiguousarray(black[site[:, 0], site[:, 1]]),
        np.ascontiguousarray(scale[site[:, 0], site[:, 1]]),
        site,
        out,
    )
    return out


@nb.njit(parallel=True, cache=True, fastmath=True)
def _sharpen_quantize(img, y, blur, amount, t, row0, out, maxval, dither):  # pragma: no cover
    _, h, w = img.shape
    imax = np.int32(maxval)
    for i in nb.prange(h):
        # row buffers keep the per-pixel loop free of branches
        detail = np.zeros(w, np.float32)
        if amount > 0:
            for j in range(w):
                detail[j] = soft_threshold(y[i, j] - blur[i, j], t) * amount
        n0 = np.zeros(w, np.float32)
        n1 = np.zeros(w, np.float32)
        n2 = np.zeros(w, np.float32)
        if dither:
            hy = row_key(i + row0, DITHER_SEED)
            for j in range(w):
                hx = hash32(np.uint64(j) + hy)
                n0[j] = tpdf(hx, 0)
                n1[j] = tpdf(hx, 1)
                n2[j] = tpdf(hx, 2)
        for j in range(w):  # int() truncates: as floor where it matters (>= 0, then clipped)
            d = detail[j]
            out[i, j, 0] = min(max(np.int32(code_value(img[0, i, j] + d, maxval, n0[j])), 0), imax)
            out[i, j, 1] = min(max(np.int32(code_value(img[1, i, j] + d, maxval, n1[j])), 0), imax)
            out[i, j, 2] = min(max(np.int32(code_value(img[2, i, j] + d, maxval, n2[j])), 0), imax)


def sharpen_quantize(
    img: np.ndarray,
    params,
    out: np.ndarray,
    offset: int = 0,
    row0: int = 0,
    dither: bool | None = None,
    luma: np.ndarray | None = None,
    planar: bool = False,
) -> np.ndarray:
    """:func:`redframe.isp.sharpen.sharpen` then quantisation into ``out`` (uint8/uint16),
    with triangular (TPDF) dither of +-1 LSB for 8-bit output, seeded by pixel position so
    strips and reruns give identical files (Lipshitz, Wannamaker, Vanderkooy 1992,
    "Quantization and dither: a theoretical survey", J. AES 40(5)).

    ``img`` may be a padded strip: rows ``offset .. offset + len(out)`` are written, and
    ``row0`` is the full-frame row of ``out[0]`` (for the dither pattern). ``luma``: the
    Rec.709 luma of ``img`` when already known (see :func:`finish`). ``planar``: ``img`` is
    (3, H, W) (as :func:`finish` returns it with ``planar=True``); ``out`` is (H, W, 3).
    """
    n = out.shape[0]
    maxval = np.float32(np.iinfo(out.dtype).max)
    if dither is None:
        dither = out.dtype == np.uint8
    if not planar:
        img = np.ascontiguousarray(np.moveaxis(img, -1, 0), dtype=np.float32)
    if params.amount > 0:
        if luma is not None:
            y = luma
        else:
            k = _LUMA_709
            y = k[0] * img[0] + k[1] * img[1] + k[2] * img[2]
        blur = cv2.GaussianBlur(y, (0, 0), params.radius, borderType=cv2.BORDER_REFLECT_101)
        y, blur = y[offset : offset + n], blur[offset : offset + n]
    else:
        y = blur = np.zeros((1, 1), np.float32)
    _sharpen_quantize(
        img[:, offset : offset + n],
        y,
        blur,
        np.float32(max(params.amount, 0.0)),
        np.float32(params.threshold),
        int(row0),
        out,
        maxval,
        bool(dither),
    )
    return out


# ----------------------------------------------------------------------------- the schedule
# Kernels over runs of consecutive stages of redframe.isp.stages.STAGES (see
# redframe.isp.compose.Kernel). A stage no kernel covers runs its reference implementation.

_NO_SHARPEN = SharpenParams(amount=0.0)


def _levels_wb_take(names, ctx) -> int:
    return 2 if ctx.kind == "cfa" and names[:2] == ["levels", "white_balance"] else 0


def _levels_wb_run(ctx, strip, names, rest):
    """Levels and white balance on the mosaic, one pass."""
    x = strip.take()
    cal, lv = ctx.calibration, ctx.params.levels
    black = cal.black_level if lv.black is None else np.full((2, 2), lv.black, np.float32)
    white = cal.white_level if lv.white is None else lv.white
    return levels_wb(x, black, white, ctx.plan.gains[pattern_to_index(cal.pattern)],
                     row0=strip.a)


#: the stages the render kernel can run, in list order
_RENDER = ("white_balance", "highlights", "color", "exposure", "denoise", "local_tone_map",
           "tone_curve", "output")
_MATRIX = ("white_balance", "highlights", "color", "exposure")


def _render_accepts(name: str, ctx) -> bool:
    if name == "exposure":  # a gain in the matrix; a decoded picture's runs its reference
        return ctx.kind != "rec2020"
    if name == "white_balance":  # on RGB (a mosaic is balanced per CFA site, above)
        return ctx.kind == "camera"
    if name == "highlights":
        return ctx.params.highlights.mode == "reconstruct"
    return True


def _render_take(names, ctx) -> int:
    if "output" in names:  # the finish pass: linear light in, encoded out
        return names.index("output") + 1
    # linear light out: the matrix pass (and the denoiser) only
    n = 0
    while n < len(names) and names[n] in (*_MATRIX, "denoise"):
        n += 1
    return n


def _render_run(ctx, strip, names, rest):
    """White balance (camera RGB), highlight repair, the colour matrix and exposure in one
    pass (:func:`highlights_matrix`, or :func:`denoise_domain` into the denoiser's sqrt
    domain); then denoise, local tone map, tone curve, output transform and encoding in
    one more (:func:`finish`), or the denoiser alone when linear light is wanted."""
    plan, params = ctx.plan, ctx.params
    rgb = np.ascontiguousarray(strip.take(), dtype=np.float32)
    dn = None
    if any(n in names for n in _MATRIX) or "denoise" in names:
        gain = plan.gains if "white_balance" in names else None
        reconstruct = "highlights" in names
        m = np.asarray(plan.matrix if "color" in names else np.eye(3), np.float64)
        if "exposure" in names:
            m = m * plan.exposure
        threshold = params.highlights.threshold
        if "denoise" in names:
            luma_s, chroma_s, sigma = resolve(params.denoise, ctx.scene.meta.iso, plan.sigma)
            rgb, yz, z_low = denoise_domain(rgb, plan.clip if reconstruct else None,
                                            threshold, m, gain, rho=plan.highlight_ratio)
            dn = (yz, denoise_coefficients(z_low, sigma), chroma_s, luma_s, plan.denoise_bias)
        else:
            shared = strip.source is not None and np.may_share_memory(rgb, strip.source)
            rgb = highlights_matrix(
                rgb, plan.clip, threshold, reconstruct, m, gain=gain, rho=plan.highlight_ratio,
                out=np.empty(rgb.shape, np.float32) if (gain is not None or shared) else None,
            )
    if "output" not in names:
        return rgb if dn is None else finish_denoise_only(rgb, dn, sqrt_input=True)
    # hand-over to the quantiser kernel: planar rows, and the luma sharpening needs
    to_quantizer = rest[:1] == ("quantize",) or rest[:2] == ("sharpen", "quantize")
    luma = (np.empty(rgb.shape[:2], np.float32)
            if to_quantizer and rest[0] == "sharpen" else None)
    enc = finish(
        rgb,
        denoise=dn,
        ltm=plan.ltm if "local_tone_map" in names else None,
        ltm_row0=strip.a,
        tone=params.tone if "tone_curve" in names else None,
        space=params.output.space,
        sqrt_input=dn is not None,
        luma=luma,
        planar=to_quantizer,
    )
    strip.planar, strip.luma = to_quantizer, luma
    return enc


def _sharpen_quantize_take(names, ctx) -> int:
    return len(names)


def _sharpen_quantize_run(ctx, strip, names, rest):
    """Output sharpening and quantisation into the frame's rows, one pass; or sharpening
    alone, in place (float output)."""
    x = strip.take()
    sharp = ctx.params.sharpen if "sharpen" in names else _NO_SHARPEN
    if "quantize" in names:
        if not rest and strip.out is not None:  # straight into the frame's rows
            sharpen_quantize(x, sharp, strip.out[strip.y0 : strip.y1],
                             offset=strip.y0 - strip.a, row0=strip.y0, luma=strip.luma,
                             planar=strip.planar)
            return None
        h, w = x.shape[1:] if strip.planar else x.shape[:2]
        out = np.empty((h, w, 3), OUTPUT_DTYPES[ctx.params.output_bits])
        sharpen_quantize(x, sharp, out, row0=strip.a, luma=strip.luma, planar=strip.planar)
        strip.planar, strip.luma = False, None
        return out
    if strip.planar:
        x = np.ascontiguousarray(np.moveaxis(x, 0, -1))
        strip.planar, strip.luma = False, None
    elif strip.source is not None and np.may_share_memory(x, strip.source):
        x = np.array(x, dtype=np.float32)
    return sharpen_apply(np.ascontiguousarray(x, dtype=np.float32), sharp)


#: The fused schedule of the stage list (tried in this order at each stage).
SCHEDULE = (
    Kernel("levels_wb", ("levels", "white_balance"), _levels_wb_take, _levels_wb_run),
    Kernel("render", _RENDER, _render_take, _render_run, _render_accepts),
    Kernel("sharpen_quantize", ("sharpen", "quantize"), _sharpen_quantize_take,
           _sharpen_quantize_run),
)
