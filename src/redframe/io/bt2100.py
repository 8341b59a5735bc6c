"""The HDR rendition as a BT.2100 picture (PQ or HLG): signal, colour description, light levels.

Input: the HDR rendition of :mod:`redframe.isp.hdr` - the SDR picture (sRGB-curve codes of
the output colour space) times the per-pixel gain ``G`` - i.e. *display* light of the
output colour space with SDR white = 1 (:class:`HdrPicture` holds the SDR codes' gain; the
codes are the picture :func:`redframe.io.encode.write_image` gets). Output: non-linear
BT.2100 signal values in [0, 1] (:func:`bt2100_signal`) and their ITU-T H.273 colour
description (``nclx``), which :func:`redframe.io.encode.write_image` writes as a 10-bit
HEIC (``hdr=``). :func:`bt2100_linear` is the inverse, for readers and the tests.

Colour container (H.273 ColourPrimaries / MatrixCoefficients):

- ``srgb`` pictures go into BT.2020 primaries (9; matrix 9, BT.2020 non-constant
  luminance: BT.2100's own container; sRGB colours are inside it, the conversion is exact);
- ``rec2020``: the same;
- ``display-p3``: P3-D65 primaries (12; matrix 6, BT.601, what our SDR HEICs carry).

Transfer (H.273 TransferCharacteristics), SDR white placed as ITU-R BT.2408 says:

- ``pq`` (16, SMPTE ST 2084, absolute): SDR white = 203 cd/m^2 (BT.2408's HDR reference
  white), so ``2**headroom`` x SDR white is ``203 * 2**headroom`` cd/m^2 (3 stops: 1624).
  PQ's 10000 cd/m^2 top is 49.3x SDR white (5.62 stops): light above it would clip; a pixel
  whose largest component exceeds it is scaled down as a whole (hue kept).
- ``hlg`` (18, ARIB STD-B67 / BT.2100, relative): SDR white at the 75 % signal
  (BT.2408) on the nominal 1000 cd/m^2 display, through BT.2100's inverse OOTF (system
  gamma 1.2, Lw 1000, Lb 0): ``E = Fd * Yd ** ((1 - gamma) / gamma)`` with ``Fd`` the
  display light / Lw and ``Yd`` its luminance. The 1000 cd/m^2 peak is 4.93x SDR white
  (2.30 stops): HLG cannot carry more headroom at BT.2408's reference white; a pixel
  above it is scaled down as a whole in scene light (hue kept).

Light levels (PQ only; CTA-861.3, :func:`light_levels`, from the stored codes): MaxCLL =
the largest component of any pixel in cd/m^2, MaxFALL = the mean over the picture of each
pixel's largest component; the HEIF ``ndwt`` box (nominal diffuse white luminance,
ISO/IEC 23008-12) says 203 cd/m^2.

:func:`bt2100_signal` is the definition (float64, :mod:`redframe.color.transfer`'s
curves); :func:`bt2100_codes` is the writers' fast path (float32 blocks), tested against
it.

References: ITU-R BT.2100-2 (2018) tables 4 and 5 (PQ, HLG, OOTF); ITU-R BT.2408-7 (2023)
section 2 (reference white 203 cd/m^2, HLG 75 %); SMPTE ST 2084:2014; ITU-T H.273 (2021);
CTA-861.3-A (2015).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.color.primaries import rgb_to_rgb_matrix
from redframe.color.transfer import (
    HLG_REFERENCE_WHITE,
    PQ_REFERENCE_WHITE,
    hlg_decode,
    hlg_encode,
    pq_decode,
    pq_encode,
    srgb_decode,
)

__all__ = ["HdrPicture", "TRANSFERS", "DEFAULT_TRANSFER", "HLG_PEAK", "PQ_PEAK",
           "container", "nclx", "hdr_linear", "bt2100_signal", "bt2100_codes", "bt2100_linear",
           "light_levels"]

#: transfer name -> ITU-T H.273 TransferCharacteristics.
TRANSFERS = {"pq": 16, "hlg": 18}
#: PQ: it carries the default 3-stop headroom (and up to 5.6) at BT.2408's reference white.
DEFAULT_TRANSFER = "pq"
HLG_DISPLAY_PEAK = 1000.0  # cd/m^2, BT.2100's nominal HLG display (Lw)
HLG_GAMMA = 1.2  # BT.2100 system gamma at Lw = 1000 cd/m^2
#: the largest display light (SDR white = 1) each transfer holds with SDR white where
#: BT.2408 puts it.
PQ_PEAK = 10000.0 / PQ_REFERENCE_WHITE
HLG_PEAK = HLG_DISPLAY_PEAK / PQ_REFERENCE_WHITE
# output colour space -> (H.273 primaries, matrix, the container's primaries name)
_CONTAINERS = {"srgb": (9, 9, "rec2020"), "rec2020": (9, 9, "rec2020"),
               "display-p3": (12, 6, "display-p3")}
_Y2020 = np.array([0.2627, 0.6780, 0.0593])  # BT.2100 luminance of BT.2020 RGB


@dataclass(frozen=True)
class HdrPicture:
    """What write_image needs besides the SDR codes for an HDR file.

    gain : (H, W) float32 >= 1, the HDR rendition over the SDR picture (display-oriented
        like it; :func:`redframe.isp.hdr.develop_hdr`).
    headroom : stops above SDR white the rendition was made for (``--hdr-headroom``).
    transfer : ``"pq"`` (default) or ``"hlg"``.
    """

    gain: np.ndarray
    headroom: float = 3.0
    transfer: str = DEFAULT_TRANSFER


def container(space: str) -> tuple[int, int, str]:
    """(H.273 ColourPrimaries, MatrixCoefficients, container primaries' name) for an
    output colour space; ValueError for one an HDR picture is not written in."""
    if space not in _CONTAINERS:
        raise ValueError(f"an HDR picture is written from srgb, display-p3 or rec2020, "
                         f"not {space!r}")
    return _CONTAINERS[space]


def nclx(space: str, transfer: str) -> dict[str, int]:
    """The nclx colour description of an HDR picture (full range)."""
    if transfer not in TRANSFERS:
        raise ValueError(f"HDR transfer must be one of {', '.join(TRANSFERS)}, not {transfer!r}")
    primaries, matrix, _ = container(space)
    return {"color_primaries": primaries, "transfer_characteristics": TRANSFERS[transfer],
            "matrix_coefficients": matrix, "full_range_flag": 1}


_SRGB16: np.ndarray | None = None


def hdr_linear(sdr_codes: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """The HDR rendition (H, W, 3) float32: display light of the output colour space, SDR
    white = 1, from sRGB-curve codes (uint8/uint16, or float in [0, 1]) and the gain."""
    global _SRGB16
    codes = np.asarray(sdr_codes)
    if codes.dtype == np.uint16:
        if _SRGB16 is None:
            _SRGB16 = srgb_decode(np.arange(65536) / 65535.0).astype(np.float32)
        lin = _SRGB16[codes]
    elif codes.dtype == np.uint8:
        lin = srgb_decode(np.arange(256) / 255.0).astype(np.float32)[codes]
    else:
        lin = srgb_decode(np.clip(codes, 0.0, 1.0)).astype(np.float32)
    gain = np.asarray(gain, np.float32)
    if gain.shape != lin.shape[:2]:
        raise ValueError(f"gain of shape {gain.shape} for a picture of {lin.shape[:2]}")
    return lin * gain[..., None]


def _luminance(rgb: np.ndarray, primaries: str) -> np.ndarray:
    y = _Y2020 @ rgb_to_rgb_matrix(primaries, "rec2020")
    return rgb @ y.astype(rgb.dtype)


def _to_container(linear: np.ndarray, space: str) -> tuple[np.ndarray, str]:
    _, _, prim = container(space)
    if prim != space:
        m = rgb_to_rgb_matrix(space, prim).astype(np.float32)
        linear = linear @ m.T
    return np.maximum(linear, 0.0), prim


def bt2100_signal(linear: np.ndarray, space: str, transfer: str = DEFAULT_TRANSFER
                  ) -> tuple[np.ndarray, float]:
    """(signal values (H, W, 3) in [0, 1] in the container's primaries, the fraction of
    pixels scaled down to fit the transfer's peak) of HDR display light ``linear`` (SDR
    white = 1) of output colour space ``space``."""
    nclx(space, transfer)  # checks both
    x, prim = _to_container(np.asarray(linear, np.float32), space)
    top = x.max(axis=-1)
    if transfer == "pq":
        over = top > PQ_PEAK
        if over.any():
            x = np.where(over[..., None], x * (PQ_PEAK / np.maximum(top, 1e-12))[..., None], x)
        return pq_encode(x).astype(np.float32), float(over.mean())
    # HLG: display light -> scene light by BT.2100's inverse OOTF, then the OETF
    fd = x * np.float32(PQ_REFERENCE_WHITE / HLG_DISPLAY_PEAK)
    yd = np.maximum(_luminance(fd, prim), 1e-12)
    e = fd * (yd ** np.float32((1.0 - HLG_GAMMA) / HLG_GAMMA))[..., None]
    top = e.max(axis=-1)
    over = top > 1.0
    if over.any():
        e = np.where(over[..., None], e / np.maximum(top, 1e-12)[..., None], e)
    return hlg_encode(e / np.float32(HLG_REFERENCE_WHITE)).astype(np.float32), \
        float(over.mean())


_PQ_CONSTANTS = (2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32,
                 2392 / 4096 * 32)  # m1, m2, c1, c2, c3 (ST 2084)
_ROWS = 64  # rows per block of :func:`bt2100_codes`


def _pq_encode32(x: np.ndarray) -> np.ndarray:
    """:func:`redframe.color.transfer.pq_encode` in float32 with OpenCV's vectorised pow
    (ten times faster than NumPy's float64; within 0.5 of a 16-bit code of it, tested)."""
    import cv2

    m1, m2, c1, c2, c3 = (np.float32(c) for c in _PQ_CONSTANTS)
    y = np.clip(x * np.float32(PQ_REFERENCE_WHITE / 10000.0), 0.0, 1.0)
    yp = cv2.pow(np.ascontiguousarray(y), float(m1))
    return cv2.pow((c1 + c2 * yp) / (np.float32(1.0) + c3 * yp), float(m2))


def bt2100_codes(sdr_codes: np.ndarray, gain: np.ndarray, space: str,
                 transfer: str = DEFAULT_TRANSFER, bits: int = 10) -> np.ndarray:
    """``round(signal * (2**bits - 1))`` as uint16 of :func:`bt2100_signal` of the HDR
    rendition ``hdr_linear(sdr_codes, gain)``, block by block of rows (PQ in float32: see
    :func:`_pq_encode32`); the writers' fast path."""
    import cv2

    nclx(space, transfer)
    scale = np.float32((1 << bits) - 1)
    out = np.empty(np.shape(sdr_codes), np.uint16)
    _, _, prim = container(space)
    m = None if prim == space else rgb_to_rgb_matrix(space, prim).astype(np.float32)
    for top in range(0, out.shape[0], _ROWS):
        rows = slice(top, top + _ROWS)
        lin = hdr_linear(sdr_codes[rows], gain[rows])
        if transfer == "pq":
            if m is not None:  # sRGB in [0, 1] stays in [0, 1] in BT.2020: <= the gain
                lin = np.maximum(cv2.transform(lin, m), 0.0)
            if float(gain[rows].max()) > PQ_PEAK:
                peak = lin.max(axis=-1)
                lin *= (PQ_PEAK / np.maximum(peak, PQ_PEAK))[..., None]
            signal = _pq_encode32(lin)
        else:
            signal, _ = bt2100_signal(lin, space, transfer)
        out[rows] = np.rint(signal * scale)
    return out


def bt2100_linear(signal: np.ndarray, primaries: int, transfer: int) -> np.ndarray:
    """Display light (SDR white = 203 cd/m^2 = 1) in the file's own primaries from BT.2100
    signal values, by the colour description's numbers (H.273 ColourPrimaries 9 or 12,
    TransferCharacteristics 16 or 18): PQ's EOTF, or HLG's inverse OETF and OOTF on the
    1000 cd/m^2 nominal display."""
    prim = {9: "rec2020", 12: "display-p3"}.get(int(primaries))
    if prim is None:
        raise ValueError(f"ColourPrimaries {primaries} is not BT.2020 (9) or P3 (12)")
    v = np.asarray(signal, np.float64)
    if int(transfer) == 16:
        return pq_decode(v).astype(np.float32)
    if int(transfer) != 18:
        raise ValueError(f"TransferCharacteristics {transfer} is not PQ (16) or HLG (18)")
    e = hlg_decode(v) * HLG_REFERENCE_WHITE  # scene light, 0..1
    ys = _luminance(e, prim)
    fd = e * np.maximum(ys, 0.0)[..., None] ** (HLG_GAMMA - 1.0)
    return (fd * (HLG_DISPLAY_PEAK / PQ_REFERENCE_WHITE)).astype(np.float32)


def light_levels(codes: np.ndarray, bits: int) -> tuple[int, int]:
    """(MaxCLL, MaxFALL) in cd/m^2 (CTA-861.3: the largest component of any pixel; the mean
    of each pixel's largest component) of PQ ``codes`` of ``bits`` bits: what the file
    holds, decoded by the ST 2084 EOTF."""
    top = np.asarray(codes).max(axis=-1).ravel()
    nits = pq_decode(np.arange(1 << bits) / ((1 << bits) - 1)) * PQ_REFERENCE_WHITE
    counts = np.bincount(top, minlength=1 << bits)
    return int(np.ceil(nits[int(top.max())])), int(np.ceil(counts @ nits / max(1, top.size)))
