"""The HDR rendition beside the SDR one: one develop, two rendering intents, one gain.

Reads the develop's scene-referred light where the tone curve (or the look) takes it -
linear Rec.2020 scene light after exposure and local tone mapping - and writes a per-pixel
*gain* ``G >= 1`` (display-oriented, (H, W) float32) such that the HDR rendition, in the
linear light of the output colour space with SDR white = 1, is::

    HDR = SDR * G           (SDR: the develop's own output, decoded to linear light)

The SDR picture is the develop's output, untouched: :func:`develop_hdr` runs the very same
stages and kernels (:func:`redframe.isp.pipeline.develop` with a *tapping* schedule: each
kernel and stage is called exactly as in a plain develop, the tap only reads), so the SDR
pixels are bit-identical to ``develop()``'s whatever the tone curve or the look becomes.

The gain follows the look's own curve, extended above white. ``F`` is the SDR curve on
neutral scene values ``m`` (the tone stage's, or the look's colour rendering, sampled on a
grey ramp through its public functions, so it is whatever those are). The HDR curve
``H`` is ``F`` up to the knee ``m0`` where ``F`` reaches 0.8 of its white, and above it the
same kind of tanh shoulder as :mod:`redframe.isp.tone`'s, C1-continuous at the knee,
but rolling off toward ``2**headroom`` times SDR white instead of 1 (the HDR display's
headroom: ``--hdr-headroom``, default 3 stops = 8x)::

    H(m) = d0 + (h - d0) tanh(F'(m0) (m - m0) / (h - d0)),   d0 = F(m0), h = 2**headroom * F(inf)

and ``G = max(1, H(m) / F(m))`` with ``m`` the pixel's largest Rec.2020 component (what the
filmic shoulder is applied to). Below the knee ``G = 1`` exactly: mid-tones and shadows
are the SDR picture's; what the sensor captured above SDR white comes back in the HDR
rendition instead of being rolled off. The gain is a function of the scene value, so the
hue and saturation of the HDR rendition are the SDR's (a single-channel gain map carries
it exactly, up to its 8-bit quantisation).

Where the fused engine's render kernel runs the tone curve inside one compiled pass (no
scene-light array exists), that pass computes the gain itself, row by row, from the light
it hands the tone curve and the same before its local tone map (denoised, as the SDR
pixels: :func:`redframe.isp.fused.finish` with ``gain``, the compiled twin of
:func:`gain_rows` on the tables of :func:`kernel_table`). With a look, or with the
reference engine, the tap reads the look/tone stage's own input and runs :func:`gain_rows`.

Method: two rendering intents of one scene-referred image as in ISO 21496-1 (gain map
metadata, 2025) and Adobe's Gain Map Specification 1.0; the shoulder of
:mod:`redframe.isp.tone` extended to the HDR white.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from redframe.color.transfer import srgb_decode
from redframe.io.encode import apply_orientation
from redframe.io.ultrahdr import GainMap, GainMapMetadata, encode_gain_map
from redframe.isp.compose import Kernel
from redframe.isp.pipeline import Developed, DevelopParams, develop
from redframe.isp.stage import is_raw
from redframe.isp.tone import tone_curve

__all__ = ["DEFAULT_HEADROOM", "KNEE", "HdrDeveloped", "sdr_curve", "gain_table",
           "kernel_table", "gain_rows", "develop_hdr", "hdr_rendition", "make_gain_map",
           "pad_gain", "resize_gain", "decode_linear"]

#: Stops of highlight headroom above SDR white the HDR rendition keeps by default (8x).
DEFAULT_HEADROOM = 3.0
#: Display value (fraction of the SDR curve's white) where the HDR curve leaves the SDR one.
KNEE = 0.8
_GRID = np.geomspace(2.0**-14, 2.0**16, 1537)  # neutral scene values the curves are sampled at


@dataclass
class HdrDeveloped:
    """The SDR develop and the gain that makes its HDR rendition."""

    sdr: Developed
    gain: np.ndarray  # (H, W) float32 >= 1, display-oriented like sdr.image
    headroom: float  # stops
    notes: list[str] = field(default_factory=list)


def sdr_curve(params: DevelopParams) -> tuple[np.ndarray, np.ndarray]:
    """(neutral scene values, the display value the SDR rendering gives each): the look's
    colour rendering (or its whole ``apply`` on a one-row ramp), else the tone curve."""
    grey = np.repeat(_GRID.astype(np.float32)[:, None], 3, axis=1)[None]
    look = params.look
    if look is not None:
        colour = getattr(look, "colour", None)
        if callable(colour):
            out = colour(grey)
        else:
            out = look.apply(grey, rows=(0, 1), full_shape=grey.shape[:2])
    else:
        out = tone_curve(grey, params.tone)
    f = np.clip(np.asarray(out, np.float64)[0].max(axis=1), 0.0, 1.0)
    return _GRID.copy(), np.maximum.accumulate(f)  # a curve: never decreasing


def gain_table(params: DevelopParams, headroom: float = DEFAULT_HEADROOM
               ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(knee m0, log2 m grid, log2 F, log2 H on it): the SDR and HDR curves of the module
    docstring, sampled on neutral scene values."""
    m, f = sdr_curve(params)
    fmax = float(f[-1])
    d0 = KNEE * fmax
    i = int(np.searchsorted(f, d0))
    i = min(max(i, 1), len(m) - 2)
    m0 = float(np.interp(d0, f[i - 1:i + 1], m[i - 1:i + 1]))
    slope = float((f[i + 1] - f[i - 1]) / (m[i + 1] - m[i - 1]))
    h = fmax * 2.0 ** float(headroom)
    span = max(h - d0, 1e-6)
    hcurve = np.where(m <= m0, f, d0 + span * np.tanh(max(slope, 1e-6) * (m - m0) / span))
    hcurve = np.clip(np.maximum(hcurve, f), 0.0, h)
    tiny = 1e-12
    return (m0, np.log2(m), np.log2(np.maximum(f, tiny)), np.log2(np.maximum(hcurve, tiny)))


def kernel_table(table) -> tuple[np.ndarray, np.ndarray]:
    """The gain table of :func:`gain_table` as the compiled pass takes it
    (:func:`redframe.isp.fused.finish`): (log2 F and log2 H stacked (2, n), float64;
    (knee, first log2 m, 1 / log2 m step)) - the grid is uniform in log2 m."""
    m0, log_m, log_f, log_h = table
    step = (float(log_m[-1]) - float(log_m[0])) / (len(log_m) - 1)
    return (np.ascontiguousarray(np.stack([log_f, log_h]), np.float64),
            np.array([m0, float(log_m[0]), 1.0 / step], np.float64))


class _Tap:
    """Collects the gain rows of each strip (output rows only), thread-safe."""

    def __init__(self, shape: tuple[int, int], table):
        self.gain = np.ones(shape, np.float32)
        self.table = table
        self.kernel_table = kernel_table(table)
        self.lock = threading.Lock()
        self.rows = 0

    def put(self, strip, gain: np.ndarray) -> None:
        """The gain of the strip's rows [a, b), computed by a kernel: its output rows kept."""
        rows = gain[strip.y0 - strip.a: strip.y1 - strip.a]
        with self.lock:
            self.gain[strip.y0:strip.y1] = rows
            self.rows += strip.y1 - strip.y0

    def record(self, strip, scene_light: np.ndarray, before_ltm: np.ndarray | None = None
               ) -> None:
        """Gain rows of the strip's output rows from the light the tone curve gets and
        (optionally) the light before the local tone map (see :func:`gain_rows`)."""
        y0, y1, a = strip.y0, strip.y1, strip.a
        pre = None if before_ltm is None else _top(before_ltm[y0 - a: y1 - a])
        rows = gain_rows(_top(scene_light[y0 - a: y1 - a]), pre, self.table)
        with self.lock:
            self.gain[y0:y1] = rows
            self.rows += y1 - y0


def _top(x: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])


def gain_rows(m_sdr: np.ndarray, m_pre: np.ndarray | None, table) -> np.ndarray:
    """G per pixel from ``m_sdr`` (the largest component the tone curve gets) and
    ``m_pre`` (the same before the local tone map, or None). Where the local tone map
    pulled a highlight down, the HDR rendition takes it back toward where the exposure
    put it: its scene value is ``m_sdr * (m_pre / m_sdr) ** w``, ``w`` rising from 0 at the
    knee to 1 one stop above it (in ``m_pre``), so G is continuous and 1 below the knee."""
    m0, log_m, log_f, log_h = table
    m_h = m_sdr
    if m_pre is not None:
        w = np.clip(np.log2(np.maximum(m_pre, 1e-12) / np.float32(m0)), 0.0, 1.0)
        ratio = np.maximum(m_pre, 1e-12) / np.maximum(m_sdr, 1e-12)
        m_h = m_sdr * np.maximum(ratio, 1.0) ** w
    out = np.ones(m_sdr.shape, np.float32)
    above = m_h > np.float32(m0)
    if np.any(above):
        lh = np.interp(np.log2(np.maximum(m_h[above], 1e-12)), log_m, log_h)
        lf = np.interp(np.log2(np.maximum(m_sdr[above], 1e-12)), log_m, log_f)
        out[above] = np.exp2(np.maximum(lh - lf, 0.0)).astype(np.float32)
    return out


def _interleaved(x: np.ndarray, strip) -> np.ndarray:
    if strip.planar:
        x = np.ascontiguousarray(np.moveaxis(x, 0, -1))
        strip.planar = False
    strip.luma = None
    return x


def _tapping(schedule: tuple, tap: _Tap, stages) -> tuple:
    """``schedule`` with every kernel that runs the tone curve asked for the gain too (the
    fused render kernel computes it in its finish pass), plus a kernel that
    runs [local tone map,] look or tone stage by their reference ``apply`` in order (as the
    composer would) after reading their input."""
    by_name = {s.name: s for s in stages}
    tone = ("look", "tone_curve")

    def tone_take(names, ctx) -> int:
        if names[:1] == ["local_tone_map"] and names[1:2] and names[1] in tone:
            return 2
        return 1 if names[:1] and names[0] in tone else 0

    def tone_run(ctx, strip, names, rest):
        rows = (strip.a, strip.b)
        x = _interleaved(strip.take(), strip)
        pre = None
        if names[0] == "local_tone_map":
            pre, x = x, by_name["local_tone_map"].apply(x, ctx, rows)
        tap.record(strip, x, pre)
        return by_name[names[-1]].apply(x, ctx, rows)

    out = [Kernel("hdr_tap", ("local_tone_map", *tone), tone_take, tone_run)]
    for kernel in schedule:
        if "tone_curve" not in kernel.covers:
            out.append(kernel)
            continue

        def run(ctx, strip, names, rest, _k=kernel):
            if "tone_curve" not in names:
                return _k.run(ctx, strip, names, rest)
            x = strip.data
            h, w = x.shape[1:] if strip.planar else x.shape[:2]
            gain = np.empty((h, w), np.float32)
            out = _k.run(ctx, strip, names, rest, hdr_gain=(tap.kernel_table, gain))
            tap.put(strip, gain)
            return out

        out.append(replace(kernel, run=run))
    return tuple(out)


def develop_hdr(scene, params: DevelopParams | None = None,
                headroom: float = DEFAULT_HEADROOM) -> HdrDeveloped:
    """Develop ``scene`` (SDR exactly as :func:`develop`) and the HDR rendition's gain."""
    params = params or DevelopParams()
    notes: list[str] = []
    holder: dict = {}

    def schedule(ctx):
        table = gain_table(ctx.params, headroom)
        tap = _Tap(ctx.shape, table)
        holder["tap"], holder["ctx"] = tap, ctx
        return _tapping(ctx.schedule, tap, ctx.stages)

    raw = scene.space in ("cfa", "camera")
    if not raw:
        sdr = develop(scene, params)
        gain = np.ones(sdr.image.shape[:2], np.float32)
        notes.append("hdr: a finished picture holds no light above SDR white: gain map 1")
        return HdrDeveloped(sdr, gain, float(headroom), notes)
    sdr = develop(scene, params, schedule=schedule)
    tap, ctx = holder["tap"], holder["ctx"]
    gain = tap.gain
    if tap.rows == 0:
        notes.append("hdr: this develop has no tone curve (colorimetric): gain map 1")
    if ctx.params.orient and is_raw(ctx) and scene.meta.orientation not in (None, 1):
        gain = np.ascontiguousarray(apply_orientation(gain, scene.meta.orientation))
    if gain.shape != sdr.image.shape[:2]:  # the half-size proof: the gain of its own grid
        gain = cv2.resize(gain, (sdr.image.shape[1], sdr.image.shape[0]),
                          interpolation=cv2.INTER_LINEAR)
    over = float(np.mean(gain > 1.0))
    notes.append(f"hdr: {over:.1%} of the pixels above the knee, boosted up to "
                 f"{np.log2(float(gain.max())):.2f} of {headroom:g} stops")
    return HdrDeveloped(sdr, gain, float(headroom), notes)


_DECODE8 = srgb_decode(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
_DECODE16 = None


def decode_linear(codes: np.ndarray) -> np.ndarray:
    """sRGB-encoded uint8/uint16 (or float) pixels -> linear light (IEC 61966-2-1)."""
    global _DECODE16
    codes = np.asarray(codes)
    if codes.dtype == np.uint8:
        return _DECODE8[codes]
    if codes.dtype == np.uint16:
        if _DECODE16 is None:
            _DECODE16 = srgb_decode(np.arange(65536, dtype=np.float64) / 65535.0
                                    ).astype(np.float32)
        return _DECODE16[codes]
    return srgb_decode(np.clip(codes, 0, 1)).astype(np.float32)


def hdr_rendition(sdr_codes: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """The HDR rendition: linear light of the output colour space, SDR white = 1."""
    return decode_linear(sdr_codes) * np.asarray(gain, np.float32)[..., None]


def resize_gain(gain: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The gain resized to (H, W) (in log2, area-averaged when shrinking)."""
    if gain.shape[:2] == tuple(shape):
        return gain
    shrink = shape[0] < gain.shape[0]
    log_g = np.log2(np.maximum(gain, 1e-6)).astype(np.float32)
    log_g = cv2.resize(log_g, (shape[1], shape[0]),
                       interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.exp2(log_g).astype(np.float32)


def pad_gain(gain: np.ndarray, canvas: tuple[int, int], box: tuple[int, int, int, int],
             keep: np.ndarray | None = None) -> np.ndarray:
    """The gain of a framed picture: 1 over the frame (canvas (H, W)), the photo's gain
    resized into ``box`` (x0, y0, x1, y1); where ``keep`` (the box's shape) is False - text
    or marks drawn on the photo - 1 as well."""
    out = np.ones(canvas, np.float32)
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(canvas[1], x1), min(canvas[0], y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return out
    inner = resize_gain(gain, (y1 - y0, x1 - x0))
    if keep is not None:
        inner = np.where(keep, inner, np.float32(1.0))
    out[cy0:cy1, cx0:cx1] = inner[cy0 - y0: cy1 - y0, cx0 - x0: cx1 - x0]
    return out


def make_gain_map(sdr_codes: np.ndarray, gain: np.ndarray, headroom: float,
                  scale: int = 1, quality: int = 95) -> GainMap:
    """The Ultra HDR gain map of the SDR picture ``sdr_codes`` and its ``gain``, optionally
    ``scale`` times smaller per axis (the decoder upsamples it bilinearly). The map is
    :func:`redframe.io.ultrahdr.encode_gain_map` of the two renditions' largest components;
    at full size it is computed only where ``gain > 1`` (elsewhere the boost is exactly 1,
    code 0: GainMapMin is 0 since the HDR rendition is never darker)."""
    codes = np.asarray(sdr_codes)
    top = np.maximum(np.maximum(codes[..., 0], codes[..., 1]), codes[..., 2])
    gain = np.asarray(gain, np.float32)
    if scale > 1 or codes.dtype != np.uint8:
        sdr = decode_linear(top)
        hdr = sdr * gain
        if scale > 1:
            h, w = sdr.shape
            size = (max(1, w // scale), max(1, h // scale))
            sdr = cv2.resize(sdr, size, interpolation=cv2.INTER_AREA)
            hdr = cv2.resize(hdr, size, interpolation=cv2.INTER_AREA)
        gm = encode_gain_map(sdr, hdr, capacity_max=None)
        gm.quality = int(quality)
        return gm
    k = np.float32(1.0 / 64)
    flat = gain.ravel()
    idx = np.flatnonzero(flat > 1.0)
    out = np.zeros(top.size, np.uint8)
    hi = 1.0 / 64
    if idx.size:
        sdr = _DECODE8[top.ravel()[idx]]
        log_g = np.log2((sdr * flat[idx] + k) / (sdr + k))
        hi = max(hi, float(log_g.max()))
    hi = float(np.ceil(hi * (1 << 20)) / (1 << 20))  # as the ISO fractions store it
    if idx.size:
        out[idx] = np.rint(np.clip(log_g / np.float32(hi), 0.0, 1.0) * 255.0).astype(np.uint8)
    meta = GainMapMetadata(0.0, hi, 1.0, float(k), float(k), 0.0, hi)
    meta.check()
    return GainMap(out.reshape(top.shape), meta, int(quality))
