"""Transfer functions: the non-linear encodings of light, and their inverses.

- sRGB (IEC 61966-2-1:1999, also Display P3's curve): a linear toe of slope 12.92 below
  0.0031308 and ``1.055 x^(1/2.4) - 0.055`` above (encoded break 0.04045).
- BT.1886 display gamma 2.4 with zero black (ITU-R BT.1886, 2011: the Rec.709 reference
  display), here as ``x^(1/2.4)`` / ``v^2.4`` on [0, 1].
- Camera log encodings of scene light (reflectance, mid grey 0.18): Sony S-Log3 (Sony,
  "Technical Summary for S-Gamut3.Cine/S-Log3 and S-Gamut3/S-Log3", 2014), ARRI LogC3 at
  EI 800 (ARRI, "ALEXA Log C Curve - Usage in VFX", 2017) and ACEScct (Academy S-2016-001,
  2016). These keep values above 1 (highlights) and are not clipped.

The sRGB functions work in float32 and clip to [0, 1] on the way out (they are output /
display transforms); the log functions work in float64 on unclipped scene light.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SRGB_GAMMA", "SRGB_OFFSET", "SRGB_SCALE", "SRGB_SLOPE", "SRGB_LINEAR_BREAK",
    "SRGB_ENCODED_BREAK", "srgb_encode", "srgb_decode", "gamma24_encode", "gamma24_decode",
    "slog3_encode", "slog3_decode", "LOGC3_EI800", "logc3_encode", "logc3_decode", "acescct_encode",
    "acescct_decode",
]

# --- sRGB, IEC 61966-2-1:1999 section 5.2 ----------------------------------------------------

#: Exponent of the power segment.
SRGB_GAMMA = 2.4
#: Offset of the power segment: ``V = SRGB_SCALE * L^(1/2.4) - SRGB_OFFSET``.
SRGB_OFFSET = 0.055
#: ``1 + SRGB_OFFSET``.
SRGB_SCALE = 1.055
#: Slope of the linear toe: ``V = 12.92 L``.
SRGB_SLOPE = 12.92
#: Linear light at which the toe ends.
SRGB_LINEAR_BREAK = 0.0031308
#: Encoded value at which the toe ends (the standard's 0.04045).
SRGB_ENCODED_BREAK = 0.04045


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """sRGB encoding (IEC 61966-2-1), linear light -> non-linear code values.

    Parameters
    ----------
    linear : array_like
        Linear light, any shape. Values outside [0, 1] are clipped: this is an output
        transform.

    Returns
    -------
    numpy.ndarray
        float32, same shape, in [0, 1].

    Examples
    --------
    >>> [round(float(v), 4) for v in srgb_encode([0.0, 0.18, 1.0])]
    [0.0, 0.4614, 1.0]
    """
    x = np.clip(linear, 0.0, 1.0, dtype=np.float32)
    return np.where(x <= SRGB_LINEAR_BREAK, SRGB_SLOPE * x,
                    SRGB_SCALE * np.power(x, 1 / SRGB_GAMMA) - SRGB_OFFSET).astype(np.float32)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_encode`: non-linear code values -> linear light, float32.

    Parameters
    ----------
    encoded : array_like
        Code values, nominally [0, 1] (not clipped).

    Returns
    -------
    numpy.ndarray
        float32, same shape.

    Examples
    --------
    >>> [round(float(v), 4) for v in srgb_decode([0.0, 0.5, 1.0])]
    [0.0, 0.214, 1.0]
    """
    x = np.asarray(encoded, dtype=np.float32)
    return np.where(x <= SRGB_ENCODED_BREAK, x / SRGB_SLOPE,
                    np.power((x + SRGB_OFFSET) / SRGB_SCALE, SRGB_GAMMA)).astype(np.float32)


# --- BT.1886 gamma 2.4 ------------------------------------------------------------------------

def gamma24_decode(v):
    """BT.1886 EOTF with zero black level: ``clip(v, 0, 1) ** 2.4``."""
    return np.power(np.clip(v, 0.0, 1.0), 2.4)


def gamma24_encode(x):
    """Inverse of :func:`gamma24_decode`: ``clip(x, 0, 1) ** (1 / 2.4)``."""
    return np.power(np.clip(x, 0.0, 1.0), 1 / 2.4)


# --- Sony S-Log3 --------------------------------------------------------------------------------

def slog3_decode(v):
    """Sony S-Log3 code value (0..1 of 10-bit full range) -> scene reflectance."""
    c = v * 1023.0
    return np.where(c >= 171.2102946929, np.power(10.0, (c - 420.0) / 261.5) * 0.19 - 0.01,
                    (c - 95.0) * 0.01125 / (171.2102946929 - 95.0))


def slog3_encode(x):
    """Scene reflectance -> Sony S-Log3 code value (mid grey 0.18 -> 420 / 1023)."""
    x = np.asarray(x, np.float64)
    lg = np.log10((np.maximum(x, 0.01125) + 0.01) / 0.19) * 261.5 + 420.0
    return np.where(x >= 0.01125, lg, x * (171.2102946929 - 95.0) / 0.01125 + 95.0) / 1023.0


# --- ARRI LogC3 (EI 800) --------------------------------------------------------------------

#: ARRI, "ALEXA Log C Curve - Usage in VFX" (2017), the EI 800 parameters.
LOGC3_EI800 = dict(cut=0.010591, a=5.555556, b=0.052272, c=0.247190, d=0.385537, e=5.367655,
                   f=0.092809)


def logc3_decode(t):
    """ARRI LogC3 (EI 800) code value -> scene reflectance."""
    k = LOGC3_EI800
    return np.where(t > k["e"] * k["cut"] + k["f"],
                    (np.power(10.0, (t - k["d"]) / k["c"]) - k["b"]) / k["a"],
                    (t - k["f"]) / k["e"])


def logc3_encode(x):
    """Scene reflectance -> ARRI LogC3 (EI 800) code value (mid grey -> 0.391)."""
    k = LOGC3_EI800
    x = np.asarray(x, np.float64)
    lg = k["c"] * np.log10(np.maximum(k["a"] * x + k["b"], 1e-12)) + k["d"]
    return np.where(x > k["cut"], lg, k["e"] * x + k["f"])


# --- ACEScct ------------------------------------------------------------------------------------

_CCT_A, _CCT_B = 10.5402377416545, 0.0729055341958355  # Academy S-2016-001, toe


def acescct_decode(t):
    """ACEScct code value -> linear AP1 light (Academy S-2016-001)."""
    return np.where(t <= 0.155251141552511, (t - _CCT_B) / _CCT_A,
                    np.power(2.0, np.minimum(t, 1.4679964) * 17.52 - 9.72))


def acescct_encode(x):
    """Linear AP1 light -> ACEScct code value (mid grey 0.18 -> 0.4135)."""
    x = np.asarray(x, np.float64)
    lg = (np.log2(np.maximum(x, 2.0**-16)) + 9.72) / 17.52
    return np.where(x <= 0.0078125, _CCT_A * x + _CCT_B, lg)
