"""Transfer functions: the non-linear encodings of light, and their inverses.

- sRGB (IEC 61966-2-1:1999, also Display P3's curve): a linear toe of slope 12.92 below
  0.0031308 and ``1.055 x^(1/2.4) - 0.055`` above (encoded break 0.04045).
- BT.1886 display gamma 2.4 with zero black (ITU-R BT.1886, 2011: the Rec.709 reference
  display), here as ``x^(1/2.4)`` / ``v^2.4`` on [0, 1].
- Camera log encodings of scene light (reflectance, mid grey 0.18): Sony S-Log3 (Sony,
  "Technical Summary for S-Gamut3.Cine/S-Log3 and S-Gamut3/S-Log3", 2014), ARRI LogC3 at
  EI 800 (ARRI, "ALEXA Log C Curve - Usage in VFX", 2017), ACEScct (Academy S-2016-001,
  2016) and Apple Log (Apple, "Apple Log Profile", white paper, 2023). These keep values
  above 1 (highlights) and are not clipped.
- HDR video signals (ITU-R BT.2100-2, 2018): HLG (the scene-referred OETF, ARIB STD-B67)
  and PQ (SMPTE ST 2084, absolute display light). Both are read as scene light with the
  diffuse (reference) white of ITU-R BT.2408-5 at 1.0: HLG signal 0.75, PQ 203 cd/m^2, so
  mid grey lands near 0.18 and highlights go above 1 as in a raw.

The sRGB functions work in float32 and clip to [0, 1] on the way out (they are output /
display transforms); the log functions work in float64 on unclipped scene light.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SRGB_GAMMA", "SRGB_OFFSET", "SRGB_SCALE", "SRGB_SLOPE", "SRGB_LINEAR_BREAK",
    "SRGB_ENCODED_BREAK", "srgb_encode", "srgb_decode", "gamma24_encode", "gamma24_decode",
    "slog3_encode", "slog3_decode", "LOGC3_EI800", "logc3_encode", "logc3_decode", "acescct_encode",
    "acescct_decode", "applelog_encode", "applelog_decode", "hlg_encode", "hlg_decode",
    "HLG_REFERENCE_WHITE", "pq_encode", "pq_decode", "PQ_REFERENCE_WHITE",
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


# --- Apple Log ----------------------------------------------------------------------------------

# Apple, "Apple Log Profile" white paper (2023): R0, Rt, c, beta, gamma, delta
_AL_R0, _AL_RT, _AL_C = -0.05641088, 0.01, 47.28711236
_AL_B, _AL_G, _AL_D = 0.00964052, 0.08550479, 0.69336945
_AL_PT = _AL_C * (_AL_RT - _AL_R0) ** 2  # code value where the log segment starts


def applelog_encode(x):
    """Scene reflectance -> Apple Log code value (mid grey 0.18 -> 0.488)."""
    x = np.asarray(x, np.float64)
    lg = _AL_G * np.log2(np.maximum(x, _AL_RT) + _AL_B) + _AL_D
    toe = _AL_C * (np.clip(x, _AL_R0, _AL_RT) - _AL_R0) ** 2
    return np.where(x >= _AL_RT, lg, toe)


def applelog_decode(p):
    """Apple Log code value -> scene reflectance (codes below 0 -> R0)."""
    p = np.asarray(p, np.float64)
    lg = np.exp2((p - _AL_D) / _AL_G) - _AL_B
    toe = np.sqrt(np.maximum(p, 0.0) / _AL_C) + _AL_R0
    return np.where(p >= _AL_PT, lg, toe)


# --- HLG, ITU-R BT.2100 table 5 ---------------------------------------------------------------

_HLG_A = 0.17883277
_HLG_B = 1.0 - 4.0 * _HLG_A
_HLG_C = 0.5 - _HLG_A * np.log(4.0 * _HLG_A)
#: HLG scene light (OETF input, 0..1) of the 75 % signal, BT.2408's reference white.
HLG_REFERENCE_WHITE = float((np.exp((0.75 - _HLG_C) / _HLG_A) + _HLG_B) / 12.0)


def hlg_decode(v):
    """HLG signal (0..1) -> scene light with BT.2408 reference white (signal 0.75) at 1.0
    (the inverse OETF of BT.2100, scaled; signal 1.0 -> 3.78)."""
    v = np.clip(np.asarray(v, np.float64), 0.0, 1.0)
    e = np.where(v <= 0.5, v * v / 3.0,
                 (np.exp((np.maximum(v, 0.5) - _HLG_C) / _HLG_A) + _HLG_B) / 12.0)
    return e / HLG_REFERENCE_WHITE


def hlg_encode(x):
    """Scene light (reference white 1.0) -> HLG signal (the BT.2100 OETF), clipped to 0..1."""
    e = np.clip(np.asarray(x, np.float64) * HLG_REFERENCE_WHITE, 0.0, 1.0)
    return np.where(e <= 1.0 / 12.0, np.sqrt(3.0 * e),
                    _HLG_A * np.log(np.maximum(12.0 * e - _HLG_B, 1e-12)) + _HLG_C)


# --- PQ, SMPTE ST 2084 / ITU-R BT.2100 table 4 ------------------------------------------------

_PQ_M1, _PQ_M2 = 2610 / 16384, 2523 / 4096 * 128
_PQ_C1, _PQ_C2, _PQ_C3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
#: cd/m^2 read as 1.0 (BT.2408 HDR reference white).
PQ_REFERENCE_WHITE = 203.0


def pq_decode(v):
    """PQ signal (0..1) -> light with 203 cd/m^2 at 1.0 (the ST 2084 EOTF; 1.0 -> 49.3)."""
    p = np.power(np.clip(np.asarray(v, np.float64), 0.0, 1.0), 1.0 / _PQ_M2)
    y = np.power(np.maximum(p - _PQ_C1, 0.0) / (_PQ_C2 - _PQ_C3 * p), 1.0 / _PQ_M1)
    return y * (10000.0 / PQ_REFERENCE_WHITE)


def pq_encode(x):
    """Light (203 cd/m^2 at 1.0) -> PQ signal (the ST 2084 inverse EOTF), 0..1."""
    y = np.clip(np.asarray(x, np.float64) * (PQ_REFERENCE_WHITE / 10000.0), 0.0, 1.0)
    yp = np.power(y, _PQ_M1)
    return np.power((_PQ_C1 + _PQ_C2 * yp) / (1.0 + _PQ_C3 * yp), _PQ_M2)
