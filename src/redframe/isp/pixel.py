"""Per-pixel formulas of the develop stages, each written once, as scalar arithmetic.

Both engines call these: the fused kernels (:mod:`redframe.isp.fused`) inline them
(``numba.njit(inline="always")``), and the NumPy reference stages run them over arrays
through the plain pixel loops at the bottom of this module (``*_np``). A formula changed
here changes both engines; ``tests/test_stages.py`` checks that they agree.

What is *not* here is schedule: how a kernel skips work where a formula is the identity
(below the filmic shoulder, inside the gamut), and how it evaluates ``pow``/``log2``/
``exp2`` on whole rows from the IEEE-754 bits (|relative error| < 3e-6); the formulas that
need a power take it as an argument (:func:`srgb_from_root`) so the curve itself stays
one definition.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from redframe.color.oklab import LMS_TO_OKLAB, LMS_TO_REC2020, OKLAB_TO_LMS, REC2020_TO_LMS
from redframe.color.transfer import (
    SRGB_GAMMA,
    SRGB_LINEAR_BREAK,
    SRGB_OFFSET,
    SRGB_SCALE,
    SRGB_SLOPE,
)

__all__ = [
    "MID_GREY",
    "filmic",
    "tone_rgb",
    "oklab",
    "oklab_rgb",
    "gamut_distance",
    "gamut_rgb",
    "srgb_from_root",
    "srgb_encode",
    "highlight_blend",
    "signed_sqrt",
    "denoise_px",
    "soft_threshold",
    "code_value",
    "filmic_np",
    "tone_rgb_np",
    "gamut_rgb_np",
    "srgb_encode_np",
    "highlight_blend_np",
    "signed_sqrt_np",
    "denoise_np",
    "soft_threshold_np",
    "code_value_np",
]

#: Scene mid-grey (18 % reflectance): the pivot of the tone curve's contrast.
MID_GREY = 0.18

_jit = nb.njit(inline="always")
# Oklab's matrices as compile-time constants of the kernels
_TO_LMS = np.ascontiguousarray(REC2020_TO_LMS)
_TO_LAB = np.ascontiguousarray(LMS_TO_OKLAB)
_FROM_LAB = np.ascontiguousarray(OKLAB_TO_LMS)
_FROM_LMS = np.ascontiguousarray(LMS_TO_REC2020)
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
# sRGB in float32, so rows vectorise at full width
_S_SLOPE = np.float32(SRGB_SLOPE)
_S_SCALE = np.float32(SRGB_SCALE)
_S_OFFSET = np.float32(SRGB_OFFSET)
_S_BREAK = np.float32(SRGB_LINEAR_BREAK)


# ----------------------------------------------------------------------------- tone curve


@_jit
def filmic(x, contrast, shoulder, span, k, toe, black):  # pragma: no cover - compiled
    """Scene value -> display value in [0, 1] (:func:`redframe.isp.tone.filmic_curve`):
    power contrast about mid-grey, a toe below half of it, a C1 tanh shoulder from
    ``shoulder`` (``span = 1 - shoulder``, ``k`` from :func:`redframe.isp.tone.tone_vector`),
    then the display black level."""
    if x < 0.0:
        x = 0.0
    y = x
    if contrast != 1.0:
        y = MID_GREY * math.pow(x / MID_GREY, contrast)
    if toe > 0.0 and y < MID_GREY / 2:
        y = MID_GREY / 2 * math.pow(y / (MID_GREY / 2), 1.0 + toe)
    if y > shoulder:
        y = shoulder + span * math.tanh((y - shoulder) * k / span)
    if black > 0.0:
        y = black + (1.0 - black) * y
    return min(max(y, 0.0), 1.0)


@_jit
def _cbrt(v):  # pragma: no cover - compiled
    return math.copysign(math.pow(abs(v), 1.0 / 3.0), v)


@_jit
def oklab(r, g, b):  # pragma: no cover - compiled
    """Linear Rec.2020 -> Oklab (Ottosson 2020; :mod:`redframe.color.oklab`)."""
    m = _TO_LMS
    l_ = _cbrt(m[0, 0] * r + m[0, 1] * g + m[0, 2] * b)
    m_ = _cbrt(m[1, 0] * r + m[1, 1] * g + m[1, 2] * b)
    s_ = _cbrt(m[2, 0] * r + m[2, 1] * g + m[2, 2] * b)
    n = _TO_LAB
    return (n[0, 0] * l_ + n[0, 1] * m_ + n[0, 2] * s_,
            n[1, 0] * l_ + n[1, 1] * m_ + n[1, 2] * s_,
            n[2, 0] * l_ + n[2, 1] * m_ + n[2, 2] * s_)


@_jit
def oklab_rgb(lightness, a, b):  # pragma: no cover - compiled
    """Oklab -> linear Rec.2020 (unclipped)."""
    n = _FROM_LAB
    l_ = n[0, 0] * lightness + n[0, 1] * a + n[0, 2] * b
    m_ = n[1, 0] * lightness + n[1, 1] * a + n[1, 2] * b
    s_ = n[2, 0] * lightness + n[2, 1] * a + n[2, 2] * b
    l_, m_, s_ = l_ * l_ * l_, m_ * m_ * m_, s_ * s_ * s_
    m = _FROM_LMS
    return (m[0, 0] * l_ + m[0, 1] * m_ + m[0, 2] * s_,
            m[1, 0] * l_ + m[1, 1] * m_ + m[1, 2] * s_,
            m[2, 0] * l_ + m[2, 1] * m_ + m[2, 2] * s_)


@_jit
def tone_rgb(r, g, b, contrast, shoulder, span, k, toe, black):  # pragma: no cover
    """The tone curve on one pixel, hue kept, with a path to white.

    :func:`filmic` of max(RGB) scales all three channels (the chromaticity is kept). Above
    the shoulder the colour then moves toward the display white of its own max channel by
    ``s = t^2``, ``t`` how far the curve is into its shoulder (0 at ``shoulder``, 1 at
    white): its Oklab lightness becomes that of the linear-light mix ``(1 - s) c + s grey``
    (so lightness rises monotonically with the scene value, and reaches white), its Oklab
    chroma is scaled by ``1 - s`` at constant Oklab hue (Ottosson 2020), so a bright blue
    light turns a lighter, paler blue and then white, never purple or cyan. This is the
    idea of a hue-preserving "path to white" of ACES 2.0's output transform and of
    OpenDRT (J. Smith), on our filmic curve; per-channel clipping never decides a colour.
    """
    norm = max(r, max(g, b))
    mapped = filmic(norm, contrast, shoulder, span, k, toe, black)
    ratio = mapped / max(norm, 1e-8)
    r2 = max(r * ratio, 0.0)
    g2 = max(g * ratio, 0.0)
    b2 = max(b * ratio, 0.0)
    t = min(max((mapped - shoulder) / span, 0.0), 1.0)
    s = t * t
    if s > 0.0:
        lw, _, _ = oklab(r2 + s * (mapped - r2), g2 + s * (mapped - g2), b2 + s * (mapped - b2))
        _, a0, b0 = oklab(r2, g2, b2)
        r2, g2, b2 = oklab_rgb(lw, a0 * (1.0 - s), b0 * (1.0 - s))
    return min(max(r2, 0.0), 1.0), min(max(g2, 0.0), 1.0), min(max(b2, 0.0), 1.0)


# ----------------------------------------------------------------------------- output


@_jit
def gamut_distance(d, t, scale, p):  # pragma: no cover - compiled
    """ACES-RGC-style compression of one distance from the achromatic axis (Academy
    S-2021-001): ``d`` below ``t`` untouched, above it compressed so that the limit lands
    on the gamut boundary; at most 1 (the boundary)."""
    if d <= t:
        return d
    x = (d - t) / scale
    if p == 1.0:
        return min(t + scale * x / (1.0 + x), 1.0)
    return min(t + scale * x / math.pow(1.0 + math.pow(x, p), 1.0 / p), 1.0)


@_jit
def gamut_rgb(r, g, b, t, scale, p):  # pragma: no cover - compiled
    """Compress one pixel's out-of-gamut (negative) components toward its largest one
    (:func:`gamut_distance` of each ``(max - c) / max``), then clip at 0."""
    top = max(r, max(g, b))
    if top > 0.0 and min(r, min(g, b)) < top * (1.0 - t):
        r = top - gamut_distance((top - r) / top, t, scale, p) * top
        g = top - gamut_distance((top - g) / top, t, scale, p) * top
        b = top - gamut_distance((top - b) / top, t, scale, p) * top
    return max(r, 0.0), max(g, 0.0), max(b, 0.0)


@_jit
def srgb_from_root(v, root):  # pragma: no cover - compiled
    """The sRGB curve (IEC 61966-2-1) of ``v`` in [0, 1] given ``root = v ** (1 / 2.4)``
    (the engines compute the power their own way)."""
    return _S_SLOPE * v if v <= _S_BREAK else _S_SCALE * root - _S_OFFSET


@_jit
def srgb_encode(v):  # pragma: no cover - compiled
    """sRGB encoding of linear ``v``, clipped to [0, 1]."""
    v = min(max(v, _F0), _F1)
    return srgb_from_root(v, v ** np.float32(1.0 / SRGB_GAMMA))


# ----------------------------------------------------------------------------- raw stages


@_jit
def _repair(x, w, o1, w1, q1, o2, w2, q2):  # pragma: no cover - compiled
    """One channel ``x`` near its clip (weight ``w``), from the two others ``o1``, ``o2``
    (their own clip weights ``w1``, ``w2``) and the ratios ``q1 = x / o1``, ``q2 = x / o2``
    measured next to the clipped areas (<= 0: not measured): each other channel that is
    still measured predicts ``x`` as ``o * q``; the predictions are averaged, weighted by
    how far each is from its own clip and by its signal. With no prediction (no ratio
    measured) the neutral guess ``max(o1, o2)``. Never lowered."""
    # a clipped predictor still bounds x from below (its true value is at least what it
    # read): it keeps a small weight, so the estimate never falls back as it clips too
    t1 = (1.001 - w1) * max(o1, 0.0) if q1 > 0.0 else 0.0
    t2 = (1.001 - w2) * max(o2, 0.0) if q2 > 0.0 else 0.0
    if t1 + t2 > 1e-12:
        est = (t1 * o1 * q1 + t2 * o2 * q2) / (t1 + t2)
    else:
        est = max(o1, o2)
    return x + w * (max(x, est) - x)


@_jit
def highlight_blend(r, g, b, wr, wg, wb, q):  # pragma: no cover - compiled
    """Repair each channel by its own clip weight (``wr``, ``wg``, ``wb`` in [0, 1]) from
    the still-measured ones and the (3, 3) ratios ``q[c, k]`` = channel c / channel k
    measured around the clipped areas (:func:`_repair`); where all three are near their
    clip no colour is left to trust and the pixel moves to a neutral at its largest value
    (:mod:`redframe.isp.highlights`)."""
    r2 = _repair(r, wr, g, wg, q[0, 1], b, wb, q[0, 2])
    g2 = _repair(g, wg, r, wr, q[1, 0], b, wb, q[1, 2])
    b2 = _repair(b, wb, r, wr, q[2, 0], g, wg, q[2, 1])
    wn = min(wr, min(wg, wb))
    if wn > 0.0:
        top = max(r2, max(g2, b2))
        r2 += wn * (top - r2)
        g2 += wn * (top - g2)
        b2 += wn * (top - b2)
    return r2, g2, b2


@_jit
def signed_sqrt(x):  # pragma: no cover - compiled
    """sign(x) sqrt|x|: the denoiser's variance-stabilising domain (after Anscombe 1948)."""
    return math.copysign(math.sqrt(abs(x)), x)


@_jit
def denoise_px(zr, zg, zb, y, ar, ag, ab, ay, br, bg, bb, by, chroma_s, luma_s):  # noqa: PLR0913 # pragma: no cover
    """One pixel of the denoiser: chroma differences ``z - y`` and luma ``y`` (sqrt domain)
    moved toward their guided-filter models ``a * y + b`` by the strengths, then squared
    back to linear light (:func:`redframe.isp.denoise.denoise`; the bias is added after)."""
    cr = zr - y
    cg = zg - y
    cb = zb - y
    cr += chroma_s * (ar * y + br - cr)
    cg += chroma_s * (ag * y + bg - cg)
    cb += chroma_s * (ab * y + bb - cb)
    y = y + luma_s * (ay * y + by - y)
    zr = cr + y
    zg = cg + y
    zb = cb + y
    return zr * abs(zr), zg * abs(zg), zb * abs(zb)


@_jit
def soft_threshold(d, t):  # pragma: no cover - compiled
    """Output sharpening's detail with ``t`` taken off its magnitude (no step where the
    mask switches on)."""
    return math.copysign(max(abs(d) - t, _F0), d)


@_jit
def code_value(v, maxval, noise):  # pragma: no cover - compiled
    """Encoded ``v`` as a code value of ``maxval`` (255, 65535) plus a half, with the dither
    ``noise`` (LSB) added except on exact black and white: the caller rounds down and
    clips to 0..maxval (the result is in (-0.5, maxval + 1.5))."""
    v = min(max(v, _F0), _F1)
    return v * maxval + (noise if (v > _F0 and v < _F1) else _F0) + _HALF


# ----------------------------------------------------------------------------- NumPy entry points
# The reference stages call these on arrays: plain loops over the pixels calling the
# formulas above (compiled once per dtype and cached on disk, as the kernels are).

_loop = nb.njit(cache=True)


@_loop
def _filmic_loop(x, tv, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = filmic(x[i], tv[0], tv[1], tv[2], tv[3], tv[4], tv[5])


@_loop
def _tone_rgb_loop(x, tv, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i, 0], out[i, 1], out[i, 2] = tone_rgb(x[i, 0], x[i, 1], x[i, 2], tv[0], tv[1],
                                                   tv[2], tv[3], tv[4], tv[5])


@_loop
def _gamut_rgb_loop(x, g, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i, 0], out[i, 1], out[i, 2] = gamut_rgb(x[i, 0], x[i, 1], x[i, 2], g[0], g[1], g[2])


@_loop
def _srgb_loop(x, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = srgb_encode(x[i])


@_loop
def _highlight_loop(x, w, rho, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i, 0], out[i, 1], out[i, 2] = highlight_blend(
            x[i, 0], x[i, 1], x[i, 2], w[i, 0], w[i, 1], w[i, 2], rho)


@_loop
def _signed_sqrt_loop(x, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = signed_sqrt(x[i])


@_loop
def _denoise_loop(z, y, a, b, chroma_s, luma_s, bias, out):  # pragma: no cover - compiled
    for i in range(z.shape[0]):
        r, g, bl = denoise_px(z[i, 0], z[i, 1], z[i, 2], y[i], a[i, 0], a[i, 1], a[i, 2],
                              a[i, 3], b[i, 0], b[i, 1], b[i, 2], b[i, 3], chroma_s, luma_s)
        out[i, 0] = r + bias[0]
        out[i, 1] = g + bias[1]
        out[i, 2] = bl + bias[2]


@_loop
def _soft_threshold_loop(d, t, out):  # pragma: no cover - compiled
    for i in range(d.shape[0]):
        out[i] = soft_threshold(d[i], t)


@_loop
def _code_value_loop(v, maxval, noise, out):  # pragma: no cover - compiled
    for i in range(v.shape[0]):
        out[i] = code_value(v[i], maxval, noise[i])


def _flat(x, dtype=np.float32, channels: int = 0) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=dtype)
    return x.reshape(-1, channels) if channels else x.reshape(-1)


def _real(x) -> np.dtype:
    return np.float64 if np.asarray(x).dtype == np.float64 else np.float32


def filmic_np(x, tv) -> np.ndarray:
    """:func:`filmic` of every value of ``x`` (float32, or float64 for float64 input)."""
    x = np.asarray(x)
    flat = _flat(x, _real(x))
    out = np.empty_like(flat)
    _filmic_loop(flat, np.asarray(tv, np.float64), out)
    return out.reshape(x.shape)


def tone_rgb_np(rgb, tv) -> np.ndarray:
    """:func:`tone_rgb` of every pixel of (..., 3) float32 ``rgb``."""
    rgb = np.asarray(rgb)
    flat = _flat(rgb, np.float32, 3)
    out = np.empty_like(flat)
    _tone_rgb_loop(flat, np.asarray(tv, np.float64), out)
    return out.reshape(rgb.shape)


def gamut_rgb_np(rgb, g) -> np.ndarray:
    """:func:`gamut_rgb` of every pixel of (..., 3) float32 ``rgb``."""
    rgb = np.asarray(rgb)
    flat = _flat(rgb, np.float32, 3)
    out = np.empty_like(flat)
    _gamut_rgb_loop(flat, np.asarray(g, np.float64), out)
    return out.reshape(rgb.shape)


def srgb_encode_np(x) -> np.ndarray:
    """:func:`srgb_encode` of every value (float32)."""
    x = np.asarray(x)
    flat = _flat(x)
    out = np.empty_like(flat)
    _srgb_loop(flat, out)
    return out.reshape(x.shape)


def highlight_blend_np(rgb, weight, rho) -> np.ndarray:
    """:func:`highlight_blend` of every pixel of (..., 3) ``rgb`` with (..., 3) per-channel
    ``weight`` and the (3, 3) ratios ``rho``."""
    rgb = np.asarray(rgb)
    flat = _flat(rgb, np.float32, 3)
    out = np.empty_like(flat)
    _highlight_loop(flat, _flat(weight, np.float32, 3), np.asarray(rho, np.float32), out)
    return out.reshape(rgb.shape)


def signed_sqrt_np(x) -> np.ndarray:
    """:func:`signed_sqrt` of every value (float32)."""
    x = np.asarray(x)
    flat = _flat(x)
    out = np.empty_like(flat)
    _signed_sqrt_loop(flat, out)
    return out.reshape(x.shape)


def denoise_np(z, y, a, b, chroma_s, luma_s, bias) -> np.ndarray:
    """:func:`denoise_px` of every pixel: ``z`` (..., 3), ``y`` (...), guided-filter
    coefficients ``a``, ``b`` (..., 4); plus ``bias`` (3,)."""
    z = np.asarray(z)
    flat = _flat(z, np.float32, 3)
    out = np.empty_like(flat)
    _denoise_loop(flat, _flat(y), _flat(a, np.float32, 4), _flat(b, np.float32, 4),
                  np.float32(chroma_s), np.float32(luma_s), np.asarray(bias, np.float32), out)
    return out.reshape(z.shape)


def soft_threshold_np(d, t) -> np.ndarray:
    """:func:`soft_threshold` of every value (float32)."""
    d = np.asarray(d)
    flat = _flat(d)
    out = np.empty_like(flat)
    _soft_threshold_loop(flat, np.float32(t), out)
    return out.reshape(d.shape)


def code_value_np(v, maxval, noise) -> np.ndarray:
    """:func:`code_value` of every value of ``v`` with ``noise`` (broadcast to ``v``)."""
    v = np.asarray(v)
    flat = _flat(v)
    out = np.empty_like(flat)
    _code_value_loop(flat, np.float32(maxval), _flat(np.broadcast_to(noise, v.shape)), out)
    return out.reshape(v.shape)
