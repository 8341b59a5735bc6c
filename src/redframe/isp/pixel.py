"""Per-pixel formulas of the develop stages, each written once, as scalar arithmetic.

The formulas are compiled ahead of time: each is one ``cdef inline`` C function in
``_pixel.pxd`` (this module's functions of the same name document them and call them one
value at a time). Both engines run those definitions: the fused kernels
(:mod:`redframe.isp.fused`, ``_fused.pyx``) inline them, and the NumPy reference stages run
them over arrays through the plain pixel loops of ``_pixel.pyx`` (``*_np`` below). A
formula changed there changes both engines; ``tests/test_stages.py`` checks that they
agree.

What is *not* here is schedule: how a kernel skips work where a formula is the identity
(below the filmic shoulder, inside the gamut), and how it evaluates ``pow``/``log2``/
``exp2`` on whole rows from the IEEE-754 bits (|relative error| < 3e-6); the formulas that
need a power take it as an argument (:func:`srgb_from_root`) so the curve itself stays
one definition.
"""

from __future__ import annotations

import numpy as np

from redframe.color.oklab import LMS_TO_OKLAB, LMS_TO_REC2020, OKLAB_TO_LMS, REC2020_TO_LMS
from redframe.color.transfer import (
    SRGB_GAMMA,
    SRGB_LINEAR_BREAK,
    SRGB_OFFSET,
    SRGB_SCALE,
    SRGB_SLOPE,
)
from redframe.isp import _pixel as _k

__all__ = [
    "MID_GREY",
    "filmic",
    "tone_rgb",
    "oklab",
    "oklab_rgb",
    "gamut_oklab",
    "srgb_from_root",
    "srgb_encode",
    "highlight_blend",
    "signed_sqrt",
    "denoise_px",
    "soft_threshold",
    "code_value",
    "filmic_np",
    "tone_rgb_np",
    "gamut_oklab_np",
    "srgb_encode_np",
    "highlight_blend_np",
    "signed_sqrt_np",
    "denoise_np",
    "soft_threshold_np",
    "code_value_np",
]

#: Scene mid-grey (18 % reflectance): the pivot of the tone curve's contrast.
MID_GREY = 0.18


def _check_constants() -> None:
    """The C constants of ``_pixel.pxd`` are the Python modules' (exact hexadecimal literals
    there: a change of the Python value without the C one is refused at import; a few ulps
    of difference are rounding, not a change)."""
    c = _k.constants()
    want = {
        "MID_GREY": [MID_GREY],
        "TO_LMS": np.ascontiguousarray(REC2020_TO_LMS, np.float64).ravel(),
        "TO_LAB": np.ascontiguousarray(LMS_TO_OKLAB, np.float64).ravel(),
        "FROM_LAB": np.ascontiguousarray(OKLAB_TO_LMS, np.float64).ravel(),
        "FROM_LMS": np.ascontiguousarray(LMS_TO_REC2020, np.float64).ravel(),
        "S_SLOPE": [np.float32(SRGB_SLOPE)],
        "S_SCALE": [np.float32(SRGB_SCALE)],
        "S_OFFSET": [np.float32(SRGB_OFFSET)],
        "S_BREAK": [np.float32(SRGB_LINEAR_BREAK)],
        "S_INV_GAMMA": [np.float32(1.0 / SRGB_GAMMA)],
    }
    for name, values in want.items():
        got, values = np.ravel(c[name]), np.asarray(values, np.float64)
        # Matrices derived in Python (np.linalg.inv) differ in the last bit between CPUs
        # and BLAS builds (AMD EPYC vs the machine the literals were printed on: 1.1e-16):
        # a few ulps are the same constant, a real change is far larger.
        tolerance = 8 * np.finfo(np.float64).eps * np.max(np.abs(values))
        if got.shape != values.shape or np.max(np.abs(got - values)) > tolerance:
            raise ImportError(f"redframe.isp._pixel: constant {name} differs from the Python "
                              "value; rebuild the kernels (pip install -e .)")


_check_constants()


# ----------------------------------------------------------------------------- tone curve
# The formulas run in C (``_pixel.pxd``); these are their Python entry points, one value at
# a time, in the formula's own types (float64 where the kernels compute in double).


def filmic(x, contrast, shoulder, span, k, toe, black):
    """Scene value -> display value in [0, 1] (:func:`redframe.isp.tone.filmic_curve`):
    power contrast about mid-grey, a toe below half of it, a C1 tanh shoulder from
    ``shoulder`` (``span = 1 - shoulder``, ``k`` from :func:`redframe.isp.tone.tone_vector`),
    then the display black level."""
    return _k.filmic_one(x, contrast, shoulder, span, k, toe, black)


def oklab(r, g, b):
    """Linear Rec.2020 -> Oklab (Ottosson 2020; :mod:`redframe.color.oklab`)."""
    return _k.oklab_one(r, g, b)


def oklab_rgb(lightness, a, b):
    """Oklab -> linear Rec.2020 (unclipped)."""
    return _k.oklab_rgb_one(lightness, a, b)


def tone_rgb(r, g, b, contrast, shoulder, span, k, toe, black):
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
    return _k.tone_rgb_one(r, g, b, contrast, shoulder, span, k, toe, black)


# ----------------------------------------------------------------------------- output


def gamut_oklab(r, g, b, table):
    """The output's gamut compression of one linear colour of the output space: the one
    gamut compression of :mod:`redframe.color.gamut` (constant Oklab hue, toward the grey at
    the hue's cusp lightness, rolled off from ``table``'s threshold; Ottosson 2020/2021,
    CIE 156:2004's CUSP direction), then clipped to [0, 1]. ``table``:
    :func:`redframe.isp.output.gamut_table`. Colours well inside are returned as they are
    (a cheap test first: most pixels never reach Oklab)."""
    return _k.gamut_oklab_one(r, g, b, np.ascontiguousarray(table, np.float64))


def srgb_from_root(v, root):
    """The sRGB curve (IEC 61966-2-1) of ``v`` in [0, 1] given ``root = v ** (1 / 2.4)``
    (the engines compute the power their own way)."""
    return _k.srgb_from_root_one(v, root)


def srgb_encode(v):
    """sRGB encoding of linear ``v``, clipped to [0, 1]."""
    return _k.srgb_encode_one(v)


# ----------------------------------------------------------------------------- raw stages
# ``_repair`` (in _pixel.pxd): one channel ``x`` near its clip (weight ``w``), from the two
# others ``o1``, ``o2`` (their own clip weights ``w1``, ``w2``) and the ratios
# ``q1 = x / o1``, ``q2 = x / o2`` measured next to the clipped areas (<= 0: not measured):
# each other channel that is still measured predicts ``x`` as ``o * q``; the predictions
# are averaged, weighted by how far each is from its own clip and by its signal. With no
# prediction (no ratio measured) the neutral guess ``max(o1, o2)``. Never lowered. A
# clipped predictor still bounds x from below (its true value is at least what it read):
# it keeps a small weight, so the estimate never falls back as it clips too.


def highlight_blend(r, g, b, ur, ug, ub, q):
    """Repair each channel by its own clip weight, a smoothstep over the last third of its
    position ``ur``, ``ug``, ``ub`` in [0, 1] along the neutral blend's span of its clip
    level (:func:`redframe.isp.highlights.weight_from_fraction`), from the still-measured
    ones and the (3, 3) ratios ``q[c, k]`` = channel c / channel k measured around the
    clipped areas (``_repair`` in ``_pixel.pxd``); where all three near their clip no colour
    is left to trust and the pixel moves to a neutral at its largest value, by a smoothstep
    of the least position times the largest repair weight (:mod:`redframe.isp.highlights`)."""
    return _k.highlight_blend_one(r, g, b, ur, ug, ub, q)


def signed_sqrt(x):
    """sign(x) sqrt|x|: the denoiser's variance-stabilising domain (after Anscombe 1948)."""
    return _k.signed_sqrt_one(x)


def denoise_px(zr, zg, zb, y, ar, ag, ab, ay, br, bg, bb, by, chroma_s, luma_s):  # noqa: PLR0913
    """One pixel of the denoiser: chroma differences ``z - y`` and luma ``y`` (sqrt domain)
    moved toward their guided-filter models ``a * y + b`` by the strengths, then squared
    back to linear light (:func:`redframe.isp.denoise.denoise`; the bias is added after)."""
    return _k.denoise_px_one(zr, zg, zb, y, ar, ag, ab, ay, br, bg, bb, by, chroma_s, luma_s)


def soft_threshold(d, t):
    """Output sharpening's detail with ``t`` taken off its magnitude (no step where the
    mask switches on)."""
    return _k.soft_threshold_one(d, t)


def code_value(v, maxval, noise):
    """Encoded ``v`` as a code value of ``maxval`` (255, 65535) plus a half, with the dither
    ``noise`` (LSB) added except on exact black and white: the caller rounds down and
    clips to 0..maxval (the result is in (-0.5, maxval + 1.5))."""
    return _k.code_value_one(v, maxval, noise)


# ----------------------------------------------------------------------------- NumPy entry points
# The reference stages call these on arrays: plain loops over the pixels (``_pixel.pyx``)
# calling the formulas above.


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
    _k.filmic_loop(flat, np.asarray(tv, np.float64), out)
    return out.reshape(x.shape)


def tone_rgb_np(rgb, tv) -> np.ndarray:
    """:func:`tone_rgb` of every pixel of (..., 3) float32 ``rgb``."""
    rgb = np.asarray(rgb)
    flat = _flat(rgb, np.float32, 3)
    out = np.empty_like(flat)
    _k.tone_rgb_loop(flat, np.asarray(tv, np.float64), out)
    return out.reshape(rgb.shape)


def gamut_oklab_np(rgb, table) -> np.ndarray:
    """:func:`gamut_oklab` of every pixel of (..., 3) float32 ``rgb``."""
    rgb = np.asarray(rgb)
    flat = _flat(rgb, np.float32, 3)
    out = np.empty_like(flat)
    _k.gamut_oklab_loop(flat, np.ascontiguousarray(table, np.float64), out)
    return out.reshape(rgb.shape)


def srgb_encode_np(x) -> np.ndarray:
    """:func:`srgb_encode` of every value (float32)."""
    x = np.asarray(x)
    flat = _flat(x)
    out = np.empty_like(flat)
    _k.srgb_loop(flat, out)
    return out.reshape(x.shape)


def highlight_blend_np(rgb, weight, rho) -> np.ndarray:
    """:func:`highlight_blend` of every pixel of (..., 3) ``rgb`` with (..., 3) per-channel
    repair positions ``weight`` and the (3, 3) ratios ``rho``."""
    rgb = np.asarray(rgb)
    flat = _flat(rgb, np.float32, 3)
    out = np.empty_like(flat)
    _k.highlight_loop(flat, _flat(weight, np.float32, 3), np.ascontiguousarray(rho, np.float32),
                      out)
    return out.reshape(rgb.shape)


def signed_sqrt_np(x) -> np.ndarray:
    """:func:`signed_sqrt` of every value (float32)."""
    x = np.asarray(x)
    flat = _flat(x)
    out = np.empty_like(flat)
    _k.signed_sqrt_loop(flat, out)
    return out.reshape(x.shape)


def denoise_np(z, y, a, b, chroma_s, luma_s, bias) -> np.ndarray:
    """:func:`denoise_px` of every pixel: ``z`` (..., 3), ``y`` (...), guided-filter
    coefficients ``a``, ``b`` (..., 4); plus ``bias`` (3,)."""
    z = np.asarray(z)
    flat = _flat(z, np.float32, 3)
    out = np.empty_like(flat)
    _k.denoise_loop(flat, _flat(y), _flat(a, np.float32, 4), _flat(b, np.float32, 4),
                    np.float32(chroma_s), np.float32(luma_s),
                    np.ascontiguousarray(bias, np.float32), out)
    return out.reshape(z.shape)


def soft_threshold_np(d, t) -> np.ndarray:
    """:func:`soft_threshold` of every value (float32)."""
    d = np.asarray(d)
    flat = _flat(d)
    out = np.empty_like(flat)
    _k.soft_threshold_loop(flat, np.float32(t), out)
    return out.reshape(d.shape)


def code_value_np(v, maxval, noise) -> np.ndarray:
    """:func:`code_value` of every value of ``v`` with ``noise`` (broadcast to ``v``)."""
    v = np.asarray(v)
    flat = _flat(v)
    out = np.empty_like(flat)
    _k.code_value_loop(flat, np.float32(maxval), _flat(np.broadcast_to(noise, v.shape)), out)
    return out.reshape(v.shape)
