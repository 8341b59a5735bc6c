"""Lens characters: a focal length (a centred crop) and a lens's rendering, as TOML data.

A lens character is what a prime lens adds to a picture besides its colour: its field of
view and how it draws. Each is one TOML file in ``redframe/looks/characters/`` for the one
engine here (``documentary-35``, ``swirl-50``, ``portrait-75``, ``soft-90``), applied by
the job runner after the develop and the look and before the frame (recipe key
``character = "NAME"``, ``--lens-character NAME``), and approximated live by the web
camera's preview shader from :func:`list_characters`.

Schema (every section optional; ranges are checked, a bad key is a one-line error naming
it, as looks are)::

    version = 1
    title = "35 mm documentary"
    description = "..."
    focal_mm = 35.0     # 35 mm-equivalent focal length: crop factor = focal / native  20..200
    look = "bw-natural" # optional: the look the develop uses instead of the recipe's

    [mono]            enabled              # equal R = G = B from the luminance
    [micro_contrast]  amount, radius       # local log-luminance contrast gain, its scale
    [swirl]           amount, start, focus # tangential blur growing with radius, on what
                                           # the local-sharpness estimate calls out of focus
    [falloff]         amount, radius, subject  # sharpness falloff away from the subject
    [glow]            amount, threshold, radius, haze  # halation of highlights, veil
    [vignette]        amount, radius, roundness    # EV at the corner, as looks' vignette
    [grain]           amount, size, seed   # luminance grain from the position hash

The native field of view is the camera's (a phone's main camera: 23-28 mm equivalent):
``native_focal_mm`` of the capture metadata, else :data:`NATIVE_FOCAL_MM` (26 mm). A
character longer than that crops the centre to ``1 / crop factor`` of each side; one
shorter or equal keeps the whole frame (a crop cannot widen it).

Colour space. The rendering works on *display-referred linear light* of the output space
(sRGB or Display P3 primaries, the encoded picture decoded through the sRGB curve, float32),
after the develop's look and output transform, not on the pipeline's linear Rec.2020
scene light. Why: the crop must be in display orientation and before the frame, which
only exists after the develop; the same code then renders raws, night merges, HDR bracket
merges and finished JPEGs (``redframe frame``, which has no develop) alike; and a
lens's blur, halation and vignette mix light, which any linear RGB does equally (they are
per-channel linear operations; only ``mono`` and the luminance-driven steps use the
space's luminance weights). The price: highlights have been rolled off by the look's
shoulder to at most display white, so the glow's threshold is on display light. When a
character is set the develop quantises to 16 bits, the character renders, and the result
is quantised once more to the output's depth (8 bits TPDF-dithered, as the develop does;
a monochrome character dithers its one channel, so R = G = B exactly in the file).

Methods, each a few NumPy/OpenCV operations (references cited where they follow one):

- mono: ``Y`` of the output space (SMPTE RP 177 from its primaries), copied to R, G, B;
- micro-contrast: the log-luminance detail above a Gaussian base (radius ``radius`` of
  the short side) scaled by ``1 + amount``, as a gain on all channels (hue kept): the
  base/detail split of Durand & Dorsey 2002, doi:10.1145/566654.566574, at a small scale;
- out-of-focus estimate: the ratio of the finest band's local energy to that of the
  next band (a difference-of-Gaussians sharpness measure, after the band-energy focus
  measures reviewed by Pertuz, Puig, Garcia 2013, doi:10.1016/j.patcog.2012.11.011) on
  the square root of luminance; flat areas count as out of focus;
- swirl: a tangential box blur of angular width ``amount`` radians (so its length is
  ``amount * r``, growing with the radius ``r``): the average of 2^k copies rotated about
  the centre, made by k symmetric doublings, blended in by ``smoothstep(start, 1, r / R)``
  x the out-of-focus estimate (the Petzval "swirly bokeh" of lenses such as the
  Helios 44; its optics: Kingslake, "A History of the Photographic Lens", 1989, ch. 4);
- falloff: a blur whose sigma grows from 0 at ``radius`` (of the centre-to-corner
  distance) around the subject to ``amount`` x the short side at the corner, between
  precomputed Gaussian levels; the subject is the sharpest region near the centre
  (``subject = "auto"``) or the frame's centre;
- glow: the highlights above ``threshold`` (display luminance) are taken out and added
  back blurred by a Gaussian of ``radius`` x the short side (``amount`` of them), plus a
  veil: ``haze`` of all light spread the same way; both conserve energy (the blur keeps
  the sum), so light moves from the core to the tail of the point-spread function, as a
  soft-focus lens's spherical aberration does;
- vignette: :func:`redframe.looks.engine.vignette_gain` (EV at the corner);
- grain: Gaussian noise from :func:`redframe.color.dither.position_hash_np` (Box-Muller
  on its two 16-bit halves), blurred to ``size`` pixels, multiplicative on luminance and
  fading toward white: a pixel's grain depends only on its place in the output, so
  reruns and strips are identical.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources as _resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from redframe.color.dither import position_hash_np
from redframe.color.primaries import rgb_to_xyz_matrix
from redframe.color.transfer import srgb_decode, srgb_encode
from redframe.errors import ParameterError, UsageError, toml_problem
from redframe.isp.quantize import quantize_reference
from redframe.looks.engine import vignette_gain
from redframe.looks.params import Vignette as _LookVignette
from redframe.params import from_dict, param, to_dict

__all__ = [
    "CHARACTER_VERSION",
    "NATIVE_FOCAL_MM",
    "BUNDLED_CHARACTERS",
    "CharacterParams",
    "Character",
    "get_character",
    "load_character",
    "list_characters",
    "out_of_focus",
    "crop_box",
]

CHARACTER_VERSION = 1

#: The native field of view assumed when the capture does not say (a phone's main camera).
NATIVE_FOCAL_MM = 26.0

#: Bundled characters, in the order they are listed.
BUNDLED_CHARACTERS = ("documentary-35", "swirl-50", "portrait-75", "soft-90")


# --- parameters -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mono:
    enabled: bool = param(False, doc="black and white: R = G = B = the luminance")


@dataclass(frozen=True)
class MicroContrast:
    amount: float = param(0.0, lo=0.0, hi=2.0, unit="gain",
                          doc="extra gain of the local log-luminance detail")
    radius: float = param(0.004, lo=0.0005, hi=0.05, unit="of the short side",
                          doc="scale of the detail (Gaussian sigma)")


@dataclass(frozen=True)
class Swirl:
    amount: float = param(0.0, lo=0.0, hi=0.25, unit="radians",
                          doc="angular width of the tangential blur (length = amount x radius)")
    start: float = param(0.3, lo=0.0, hi=0.95, unit="of centre-to-corner",
                         doc="radius where the swirl starts fading in")
    focus: float = param(1.0, lo=0.0, hi=1.0, unit="fraction",
                         doc="how much the out-of-focus estimate gates it (0: everywhere)")


@dataclass(frozen=True)
class Falloff:
    amount: float = param(0.0, lo=0.0, hi=0.05, unit="of the short side",
                          doc="blur sigma at the corner")
    radius: float = param(0.35, lo=0.0, hi=0.95, unit="of centre-to-corner",
                          doc="sharp zone around the subject")
    subject: str = param("auto", choices=("auto", "centre"),
                         doc="subject position: the sharpest region near the centre, or "
                             "the frame's centre")


@dataclass(frozen=True)
class Glow:
    amount: float = param(0.0, lo=0.0, hi=1.0, unit="fraction",
                          doc="share of the highlights' light spread into the halo")
    threshold: float = param(0.6, lo=0.0, hi=0.99, unit="display luminance",
                             doc="where highlights start")
    radius: float = param(0.01, lo=0.001, hi=0.1, unit="of the short side",
                          doc="Gaussian sigma of the halo")
    haze: float = param(0.0, lo=0.0, hi=0.5, unit="fraction",
                        doc="share of all light spread the same way (veiling glare)")


@dataclass(frozen=True)
class CharVignette:
    amount: float = param(0.0, lo=-2.0, hi=1.0, unit="EV at the corner",
                          doc="negative darkens the corners")
    radius: float = param(0.0, lo=0.0, hi=0.95, unit="of centre-to-corner",
                          doc="where the fall-off starts")
    roundness: float = param(1.0, lo=0.0, hi=1.0, doc="1: circular; 0: the frame's aspect")


@dataclass(frozen=True)
class CharGrain:
    amount: float = param(0.0, lo=0.0, hi=20.0, unit="percent RMS",
                          doc="grain at mid-tones, fading toward white")
    size: float = param(1.0, lo=0.5, hi=4.0, unit="pixels", doc="grain size (sigma = size/2)")
    seed: int = param(0, lo=0, hi=2**31 - 1, doc="any integer")


@dataclass(frozen=True)
class CharacterParams:
    """The rendering of a lens character; the defaults change nothing."""

    mono: Mono = field(default_factory=Mono)
    micro_contrast: MicroContrast = field(default_factory=MicroContrast)
    swirl: Swirl = field(default_factory=Swirl)
    falloff: Falloff = field(default_factory=Falloff)
    glow: Glow = field(default_factory=Glow)
    vignette: CharVignette = field(default_factory=CharVignette)
    grain: CharGrain = field(default_factory=CharGrain)


@dataclass(frozen=True)
class _Header:
    focal_mm: float = param(35.0, lo=20.0, hi=200.0, unit="mm (35 mm equivalent)",
                            doc="focal length the crop gives")


_TOP_KEYS = ("version", "title", "description", "focal_mm", "look",
             *(f.name for f in CharacterParams.__dataclass_fields__.values()))


# --- geometry ---------------------------------------------------------------------------------

def crop_box(shape: tuple[int, int], factor: float) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the centred crop of an (H, W) frame by ``factor`` (>= 1): each
    side divided by it, rounded to whole pixels, centred (odd remainders: the extra pixel
    goes to the bottom/right margin)."""
    h, w = int(shape[0]), int(shape[1])
    if factor <= 1.0:
        return 0, h, 0, w
    ch, cw = max(1, int(round(h / factor))), max(1, int(round(w / factor)))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return y0, y0 + ch, x0, x0 + cw


def _radius_map(h: int, w: int, cy: float, cx: float) -> np.ndarray:
    """Distance from (cy, cx) in pixels, over the half-diagonal: 1 at a corner of a centred
    frame (float32)."""
    yy = (np.arange(h, dtype=np.float32) + 0.5 - cy)[:, None]
    xx = (np.arange(w, dtype=np.float32) + 0.5 - cx)[None, :]
    return np.sqrt(yy * yy + xx * xx) / np.float32(math.hypot(h / 2.0, w / 2.0))


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / max(e1 - e0, 1e-6), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


# --- building blocks --------------------------------------------------------------------------

def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of sigma ``sigma`` pixels (reflected borders); large sigmas are blurred
    on a downscaled copy (area-averaged, so the mean is kept) and scaled back up."""
    if img.ndim == 3 and img.shape[2] == 1:  # OpenCV returns one channel as (H, W)
        return _blur(img[..., 0], sigma)[..., None]
    if sigma <= 0.05:
        return img.copy()
    h, w = img.shape[:2]
    f = 1
    while sigma / (2 * f) >= 3.0 and min(h, w) // (2 * f) >= 16:
        f *= 2
    if f == 1:
        return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    small = cv2.resize(img, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    # the area average and the bilinear upsampling each blur by about f/2 pixels' worth
    s = math.sqrt(max((sigma / f) ** 2 - 0.5, 0.25))
    small = cv2.GaussianBlur(small, (0, 0), s, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _luma_weights(space: str) -> np.ndarray:
    space = "srgb" if space in (None, "", "srgb") else space
    return np.asarray(rgb_to_xyz_matrix(space)[1], dtype=np.float32)


def out_of_focus(y: np.ndarray, *, floor: float = 2e-4) -> np.ndarray:
    """The out-of-focus estimate in [0, 1] (1: blurred or flat) of linear luminance ``y``
    (H, W): the local energy of the finest band (below sigma s1) against that of the next
    band (s1..4 s1), on sqrt(y), pooled over a window of about 1 % of the short side.

    In focus, the finest band holds a good share of the local detail (a sharp edge ~0.3 of
    it, sharp texture more); blurred by a few pixels it holds almost none. ``floor`` is the
    energy below which there is no detail to speak of (noise of a dark, flat area)."""
    v = np.sqrt(np.maximum(y, 0.0)).astype(np.float32)
    short = min(v.shape)
    s1 = max(1.0, short / 3000.0)
    g1 = cv2.GaussianBlur(v, (0, 0), s1, borderType=cv2.BORDER_REFLECT)
    g2 = cv2.GaussianBlur(g1, (0, 0), s1 * math.sqrt(15.0), borderType=cv2.BORDER_REFLECT)
    window = max(6.0 * s1, 0.01 * short)
    e1 = _blur((v - g1) ** 2, window)
    e2 = _blur((g1 - g2) ** 2, window)
    ratio = e1 / (e1 + e2 + np.float32(floor))
    return (1.0 - _smoothstep(0.012, 0.035, ratio)).astype(np.float32)


def _tangential_blur(img: np.ndarray, width: float, cy: float, cx: float) -> np.ndarray:
    """Box blur along circles about (cy, cx) of angular width ``width`` radians: 2^k copies
    rotated by steps of width / 2^k (at most ~1 pixel apart at the farthest corner), made
    with 2k rotations by k symmetric doublings."""
    h, w = img.shape[:2]
    far = math.hypot(max(cx, w - cx), max(cy, h - cy))
    k = max(1, math.ceil(math.log2(max(2.0, far * width))))
    step = width / 2**k
    out = img
    for j in range(k):
        half = math.degrees(step * 2**j / 2.0)
        acc = None
        for sign in (1.0, -1.0):
            m = cv2.getRotationMatrix2D((cx - 0.5, cy - 0.5), sign * half, 1.0)
            r = cv2.warpAffine(out, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
            acc = r if acc is None else (acc + r) * np.float32(0.5)
        out = acc
    return out


#: The swirl's blur is computed on a copy at most this many pixels wide (halved until it
#: fits, then scaled back up): where it shows (blur lengths of tens of pixels, on what is
#: out of focus already) the halved resolution is not seen, and it costs a quarter.
SWIRL_WORK_SIZE = 1600


def _swirled(x: np.ndarray, width: float) -> np.ndarray:
    if x.ndim == 3 and x.shape[2] == 1:  # OpenCV returns one channel as (H, W)
        return _swirled(x[..., 0], width)[..., None]
    h, w = x.shape[:2]
    f = 1
    while max(h, w) / f > SWIRL_WORK_SIZE:
        f *= 2
    if f == 1:
        return _tangential_blur(x, width, h / 2.0, w / 2.0)
    sw, sh = max(1, round(w / f)), max(1, round(h / f))
    small = cv2.resize(x, (sw, sh), interpolation=cv2.INTER_AREA)
    small = _tangential_blur(small, width, sh / 2.0, sw / 2.0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _grain_noise(h: int, w: int, size: float, seed: int) -> np.ndarray:
    """Unit-variance Gaussian noise from the position hash (Box-Muller on its two 16-bit
    halves), blurred to grains of ``size`` pixels (sigma = size / 2)."""
    x = position_hash_np(0, h, w, seed)
    u1 = ((x & np.uint64(0xFFFF)).astype(np.float32) + 0.5) / 65536.0
    u2 = ((x >> np.uint64(16)).astype(np.float32) + 0.5) / 65536.0
    n = (np.sqrt(-2.0 * np.log(u1)) * np.cos(np.float32(2 * np.pi) * u2)).astype(np.float32)
    sigma = size / 2.0
    rad = max(1, math.ceil(3 * sigma))
    k = cv2.getGaussianKernel(2 * rad + 1, sigma, cv2.CV_32F)
    norm = float((k.astype(np.float64) ** 2).sum())  # the 2-D kernel's sum of squares is norm^2
    blurred = cv2.sepFilter2D(n, cv2.CV_32F, k, k, borderType=cv2.BORDER_REFLECT_101)
    return blurred * np.float32(1.0 / norm)


def _subject_centre(y: np.ndarray) -> tuple[float, float]:
    """(cy, cx) in pixels: the centroid of local sharpness (1 - out_of_focus) under a
    Gaussian prior about the frame's centre, kept within its middle 60 %."""
    h, w = y.shape
    scale = min(1.0, 1024.0 / max(h, w))
    small = y if scale == 1.0 else cv2.resize(y, (max(8, round(w * scale)),
                                                  max(8, round(h * scale))),
                                              interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    sharp = 1.0 - out_of_focus(small)
    yy = (np.arange(sh, dtype=np.float32) + 0.5) / sh - 0.5
    xx = (np.arange(sw, dtype=np.float32) + 0.5) / sw - 0.5
    prior = np.exp(-(yy[:, None] ** 2 + xx[None, :] ** 2) / (2 * 0.25**2))
    wgt = sharp * sharp * prior
    total = float(wgt.sum())
    if total < 1e-6:
        return h / 2.0, w / 2.0
    fy = float((wgt.sum(axis=1) * (yy + 0.5)).sum() / total)
    fx = float((wgt.sum(axis=0) * (xx + 0.5)).sum() / total)
    return float(np.clip(fy, 0.2, 0.8)) * h, float(np.clip(fx, 0.2, 0.8)) * w


# --- the character ----------------------------------------------------------------------------

class Character:
    """A lens character: ``focal_mm`` (the crop), an optional ``look``, and ``params`` (the
    rendering). :meth:`render` works on display-referred linear RGB, :meth:`apply_picture`
    on an encoded developed picture."""

    def __init__(self, params: CharacterParams | None = None, *, name: str = "custom",
                 title: str = "", description: str = "", focal_mm: float = NATIVE_FOCAL_MM,
                 look: str | None = None, path: str | Path | None = None):
        self.params = params or CharacterParams()
        self.name = name
        self.title = title or name
        self.description = description
        self.focal_mm = float(focal_mm)
        self.look = look
        self.path = None if path is None else Path(path)

    def __repr__(self) -> str:
        return f"Character({self.name!r}, {self.focal_mm:g} mm)"

    def crop_factor(self, native_focal_mm: float | None = None) -> float:
        """focal / native (1 when the character is not longer than the native lens)."""
        native = float(native_focal_mm or NATIVE_FOCAL_MM)
        return max(1.0, self.focal_mm / native)

    # the rendering, on display-referred linear light --------------------------------------

    def render(self, rgb: np.ndarray, space: str = "srgb") -> np.ndarray:
        """(H, W, 3) display-referred linear RGB of ``space`` -> the same, rendered by this
        character (no crop), float32 in [0, 1]."""
        out = self._render(rgb, space)
        return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out

    def _render(self, rgb: np.ndarray, space: str) -> np.ndarray:
        """:meth:`render`, a monochrome character's result as one (H, W, 1) plane."""
        rgb = np.asarray(rgb, dtype=np.float32)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"a lens character renders (H, W, 3) RGB, got shape {rgb.shape}")
        p = self.params
        x = np.clip(np.nan_to_num(rgb, nan=0.0, posinf=1.0, neginf=0.0), 0.0, None)
        wts = _luma_weights(space)
        h, w = x.shape[:2]
        short = min(h, w)
        cy, cx = h / 2.0, w / 2.0

        def luma(a: np.ndarray) -> np.ndarray:
            if a.shape[2] == 1:
                return np.ascontiguousarray(a[..., 0], dtype=np.float32)
            return np.ascontiguousarray(a @ wts, dtype=np.float32)

        if p.mono.enabled:  # one plane from here on: R = G = B exactly
            x = luma(x)[..., None]
        if p.micro_contrast.amount > 0:
            ly = np.log2(luma(x) + np.float32(1e-4))
            detail = np.clip(ly - _blur(ly, p.micro_contrast.radius * short), -1.0, 1.0)
            x = x * np.exp2(np.float32(p.micro_contrast.amount) * detail)[..., None]
        if p.swirl.amount > 0:
            ramp = _smoothstep(p.swirl.start, 1.0, _radius_map(h, w, cy, cx))
            oof = out_of_focus(luma(x))
            wgt = ramp * (1.0 - np.float32(p.swirl.focus) * (1.0 - oof))
            swirled = _swirled(x, p.swirl.amount)
            x = x + (swirled - x) * wgt[..., None]
        if p.falloff.amount > 0:
            sy, sx = (_subject_centre(luma(x)) if p.falloff.subject == "auto" else (cy, cx))
            t = _smoothstep(p.falloff.radius, 1.0, _radius_map(h, w, sy, sx))
            x = _graded_blur(x, t, p.falloff.amount * short)
        if p.glow.amount > 0 or p.glow.haze > 0:
            sigma = p.glow.radius * short
            g = p.glow
            if g.amount > 0:
                y = luma(x)
                share = np.clip((y - g.threshold) / (1.0 - g.threshold), 0.0, 1.0)
                high = x * (np.float32(g.amount) * share)[..., None]
                x = x - high + _blur(high, sigma)
            if g.haze > 0:
                x = x + (_blur(x, sigma) - x) * np.float32(g.haze)
        if p.vignette.amount != 0:
            v = _LookVignette(amount=p.vignette.amount, radius=p.vignette.radius,
                              roundness=p.vignette.roundness)
            x = x * vignette_gain((0, h), (h, w), v)[..., None]
        if p.grain.amount > 0:
            n = _grain_noise(h, w, p.grain.size, p.grain.seed)
            y = luma(x)
            fade = np.clip(4.0 * (1.0 - y), 0.0, 1.0)
            x = x * (1.0 + np.float32(p.grain.amount / 100.0) * n * fade)[..., None]
        return np.clip(x, 0.0, 1.0).astype(np.float32)

    # on a developed picture ---------------------------------------------------------------

    def apply_picture(self, image: np.ndarray, space: str = "srgb", *,
                      native_focal_mm: float | None = None, dtype=None,
                      gain: np.ndarray | None = None):
        """Crop and render an encoded (sRGB curve) picture: ``image`` (H, W, 3) uint8 or
        uint16 code values of ``space``; returns (the picture as ``dtype`` (default: the
        input's), the gain cropped alike or None, the crop box (y0, y1, x0, x1))."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"a lens character takes an (H, W, 3) uint8/uint16 picture, got "
                             f"{image.dtype} {image.shape}")
        dtype = np.dtype(dtype or image.dtype)
        box = crop_box(image.shape[:2], self.crop_factor(native_focal_mm))
        y0, y1, x0, x1 = box
        codes = image[y0:y1, x0:x1]
        linear = srgb_decode(codes.astype(np.float32) / np.float32(np.iinfo(image.dtype).max))
        encoded = srgb_encode(self._render(linear, space))
        if encoded.shape[2] == 1:  # monochrome: one dither for the three channels, R = G = B
            one = quantize_reference(np.repeat(encoded, 3, axis=2), dtype)[..., :1]
            out = np.ascontiguousarray(np.repeat(one, 3, axis=2))
        else:
            out = quantize_reference(encoded, dtype)
        if gain is not None:
            gain = np.ascontiguousarray(gain[y0:y1, x0:x1])
        return out, gain, box

    def preview(self) -> dict[str, Any]:
        """What a live preview shader needs, JSON-serialisable (see :func:`list_characters`)."""
        p = self.params
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "focal_mm": self.focal_mm,
            "crop": round(self.crop_factor(), 4),
            "look": self.look,
            "mono": p.mono.enabled,
            "micro_contrast": p.micro_contrast.amount,
            "micro_radius": p.micro_contrast.radius,
            "grain": p.grain.amount,
            "grain_size": p.grain.size,
            "vignette": p.vignette.amount,
            "vignette_radius": p.vignette.radius,
            "glow": p.glow.amount,
            "glow_threshold": p.glow.threshold,
            "glow_radius": p.glow.radius,
            "haze": p.glow.haze,
            "swirl": p.swirl.amount,
            "swirl_start": p.swirl.start,
            "falloff": p.falloff.amount,
            "falloff_radius": p.falloff.radius,
            "params": to_dict(p),
        }


def _graded_blur(x: np.ndarray, t: np.ndarray, sigma_max: float) -> np.ndarray:
    """A blur of sigma ``t * sigma_max`` per pixel (t in [0, 1]), interpolated between four
    Gaussian levels; t = 0 keeps the pixel exactly."""
    levels = 4
    pos = np.clip(t, 0.0, 1.0).astype(np.float32) * levels
    out = np.zeros_like(x)
    for j in range(levels + 1):
        wj = np.clip(1.0 - np.abs(pos - j), 0.0, 1.0)  # hat weights: they sum to 1
        if not wj.any():
            continue
        level = x if j == 0 else _blur(x, sigma_max * j / levels)
        out += level * wj[..., None]
    return out


# --- files ------------------------------------------------------------------------------------

def _bundled_dir() -> Path:
    return Path(str(_resources.files("redframe.looks").joinpath("characters")))


def _catalogue() -> dict[str, Path]:
    bundled = _bundled_dir()
    found = {name: bundled / f"{name}.toml" for name in BUNDLED_CHARACTERS}
    for path in sorted(bundled.glob("*.toml")):
        found.setdefault(path.stem, path)
    return found


def load_character(path: str | os.PathLike, name: str | None = None) -> Character:
    """A character from a ``.toml`` file, strictly checked: a syntax error, an unknown key,
    a wrong type or a value out of range is a one-line :class:`UsageError` naming the file
    and the key."""
    path = Path(path).expanduser()
    src = str(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise UsageError("lens character file not found", path=src) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read lens character ({exc})", path=src) from None
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"not valid TOML ({toml_problem(exc)})", path=src) from None
    for key in data:
        if key not in _TOP_KEYS:
            close = difflib.get_close_matches(key, _TOP_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(f"unknown key {key!r}{hint}; allowed: {', '.join(_TOP_KEYS)}",
                                 path=src, key=key)
    version = data.get("version")
    if isinstance(version, bool) or version != CHARACTER_VERSION:
        raise ParameterError(f"version = {version!r}: this redframe reads lens characters of "
                             f"version {CHARACTER_VERSION}", path=src, key="version")
    for key in ("title", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ParameterError(f"{key} must be a non-empty string", path=src, key=key)
    look = data.get("look")
    if look is not None and (not isinstance(look, str) or not look.strip()):
        raise ParameterError(f"look must be a look name or file, not {look!r}", path=src,
                             key="look")
    header = from_dict(_Header, {k: data[k] for k in ("focal_mm",) if k in data}, path=src)
    rendering = {k: v for k, v in data.items()
                 if k not in ("version", "title", "description", "focal_mm", "look")}
    params = from_dict(CharacterParams, rendering, path=src)
    return Character(params, name=name or path.stem, title=data["title"].strip(),
                     description=data["description"].strip(), focal_mm=header.focal_mm,
                     look=look, path=path)


def get_character(name_or_path: str | os.PathLike) -> Character:
    """A bundled character by name, or one from a ``.toml`` path. Unknown -> UsageError."""
    text = os.fspath(name_or_path)
    if text.lower().endswith(".toml") or os.sep in text or (os.altsep and os.altsep in text):
        return load_character(text)
    catalogue = _catalogue()
    path = catalogue.get(text)
    if path is None:
        close = difflib.get_close_matches(text, list(catalogue), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown lens character {text!r}{hint}; choose one of "
                         f"{', '.join(catalogue)}, or give a .toml file")
    return load_character(path, name=text)


def list_characters() -> list[dict[str, Any]]:
    """Every bundled character with its preview parameters (plain, JSON-serialisable): name,
    title, description, focal_mm, crop (from :data:`NATIVE_FOCAL_MM`), look, mono,
    micro_contrast (+ micro_radius, of the short side), grain (percent RMS, + grain_size in
    pixels), vignette (EV at the corner, + vignette_radius), glow (+ glow_threshold,
    glow_radius of the short side, haze), swirl (radians, + swirl_start), falloff (sigma at
    the corner, of the short side, + falloff_radius) and ``params`` (every setting)."""
    return [get_character(name).preview() for name in _catalogue()]
