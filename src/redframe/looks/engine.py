"""The look engine: linear Rec.2020 scene light -> display-referred linear Rec.2020.

Reads float32 (H, W, 3) linear Rec.2020 *scene* light (mid-grey 0.18, highlights above 1,
as the develop pipeline has it after exposure, denoise and local tone mapping) and writes
display-referred linear Rec.2020 in [0, 1] for :func:`redframe.isp.output.output_transform`.
With ``display_referred=True`` the input is already display light (a decoded JPEG/PNG/HEIC):
it is first taken back to scene light through the inverse of the ``neutral`` tone curve
(:data:`redframe.isp.tone.NEUTRAL_TONE`), so the neutral look leaves such a picture as it is.

Order (reference math, :func:`render_colour`, then the spatial stages of :class:`Look`):

1. clean-up: NaN -> 0, +inf -> 65504, negatives -> 0 (nothing non-finite gets through);
2. vignette: a gain on scene light by position in the *full* frame (EV at the corner);
3. white-balance bias (Bradford, mired/Duv) and exposure (EV), one 3x3 matrix;
4. black point ``x -> x^2 / (x + bp)``: deep blacks without clipping;
5. monochrome: a filtered mix of the channels (B&W film filters), before the curve as
   on film;
6. filmic tone curve: :func:`redframe.isp.tone.tone_curve` (contrast about mid-grey, toe,
   lift, tanh shoulder to ``white``, hue kept on max(RGB), desaturation near white);
7. in Oklab LCh (Ottosson 2020): saturation and vibrance, per-hue-range hue/chroma/
   lightness, all partly undone on skin tones; split toning;
8. gamut compression: colours beyond ``threshold`` of the way to the gamut boundary
   (toward the grey at the hue's cusp lightness) roll off smoothly toward it, so
   saturated gradients never flatten (:func:`redframe.color.gamut.compress_oklab`, the
   one implementation the develop's output transform also runs);
9. grain: luminance-only, multiplicative, fading out toward white; deterministic for
   (seed, pixel position), so strips of a frame get the grain of the whole frame.

Steps 1 and 3-8 are a pure function of the pixel's colour: the fast path bakes them into a
3D LUT (:mod:`redframe.looks.fast`) and runs 1-9 as one compiled kernel.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from redframe.color import LUMA_REC2020
from redframe.color.gamut import compress_oklab
from redframe.isp.tone import (
    MID_GREY,
    ToneParams,
    display_to_scene,
    tone_curve,
)
from redframe.looks import fast
from redframe.looks.oklab import (
    oklab_to_rec2020,
    rec2020_to_oklab,
    white_balance_bias,
)
from redframe.looks.params import FILTERS, Grain, LookParams, Tone, Vignette

__all__ = [
    "Look",
    "render_colour",
    "vignette_gain",
    "grain_field",
    "mono_weights",
]

#: Oklab L of display mid-grey (0.18): the split-toning crossover with balance 0.
_L_MID = float(np.cbrt(MID_GREY))
#: Oklab chroma where vibrance has half its effect.
_VIBRANCE_C = 0.08


def tone_params(t: Tone) -> ToneParams:
    return ToneParams(contrast=t.contrast, shoulder=t.shoulder, white=t.white, toe=t.toe,
                      black=t.lift)


def _sanitize(rgb: np.ndarray, top: float = fast.XMAX) -> np.ndarray:
    x = np.nan_to_num(np.asarray(rgb, np.float32), nan=0.0, posinf=top, neginf=0.0)
    return np.clip(x, 0.0, top).astype(np.float32, copy=False)


def mono_weights(p: LookParams) -> np.ndarray:
    """Channel weights of the monochrome mix: luminance seen through the filter, scaled so
    that a neutral keeps its value (the filter factor is compensated, as a meter does)."""
    m = p.monochrome
    if m.mix is not None:
        w = np.asarray(m.mix, np.float64)
    else:
        t = np.asarray(FILTERS[m.filter], np.float64)
        t = 1.0 - m.filter_strength * (1.0 - t)
        w = LUMA_REC2020.astype(np.float64) * t
    return w / w.sum()


def _hue_window(h_deg: np.ndarray, center: float, width: float) -> np.ndarray:
    d = np.abs((h_deg - center + 180.0) % 360.0 - 180.0)
    half = width / 2.0
    return np.where(d < half, 0.5 * (1.0 + np.cos(np.pi * d / half)), 0.0)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def render_colour(rgb: np.ndarray, p: LookParams, display_referred: bool = False) -> np.ndarray:
    """Steps 1 and 3-8 of the module docstring (no vignette, no grain): the reference math.

    ``rgb`` (..., 3) linear Rec.2020; returns float32 display-referred linear Rec.2020 in
    [0, 1] of the same shape.
    """
    shape = np.shape(rgb)
    x = _sanitize(rgb).reshape(-1, 1, 3)
    if display_referred:
        x = display_to_scene(x)
    m = white_balance_bias(p.white_balance.warmth, p.white_balance.tint)
    m = m * 2.0 ** p.tone.exposure
    if not np.allclose(m, np.eye(3), atol=0, rtol=0):
        x = np.clip(x @ m.T.astype(np.float32), 0.0, fast.XMAX)
    bp = np.float32(p.tone.black_point)
    if bp > 0:
        x = x * x / (x + bp)
    mono = p.monochrome.enabled
    if mono:
        y = x @ mono_weights(p).astype(np.float32)
        x = np.repeat(y[..., None], 3, axis=-1)
    d = tone_curve(np.ascontiguousarray(x, np.float32), tone_params(p.tone))
    st = p.split_toning
    toned = st.shadows_amount > 0 or st.highlights_amount > 0
    if mono and not toned:
        return d.reshape(shape)
    lab = rec2020_to_oklab(d)
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    c0 = np.hypot(a, b)
    h_deg = np.degrees(np.arctan2(b, a)) % 360.0
    if not mono:
        c, h_deg, lightness = _colour_adjust(c0, h_deg, lightness, p)
        a = c * np.cos(np.radians(h_deg))
        b = c * np.sin(np.radians(h_deg))
    if toned:
        pivot = _L_MID * (1.0 + 0.5 * st.balance)
        ws = np.clip(1.0 - lightness / pivot, 0.0, 1.0) ** 2
        wh = np.clip((lightness - pivot) / (1.0 - pivot), 0.0, 1.0) ** 2
        for amount, hue, w in ((st.shadows_amount, st.shadows_hue, ws),
                               (st.highlights_amount, st.highlights_hue, wh)):
            if amount > 0:
                a = a + amount * w * math.cos(math.radians(hue))
                b = b + amount * w * math.sin(math.radians(hue))
    lightness = np.clip(lightness, 0.0, 1.0)
    lightness, a, b = compress_oklab(lightness, a, b, p.gamut.space, p.gamut.threshold)
    out = oklab_to_rec2020(np.stack([lightness, a, b], axis=-1))
    return np.clip(out, 0.0, 1.0).astype(np.float32).reshape(shape)


def _colour_adjust(c0, h_deg, lightness, p: LookParams):
    """Saturation, vibrance and per-hue adjustments, protected on skin tones."""
    col, skin = p.color, p.skin
    gain = col.saturation * (1.0 + col.vibrance / (1.0 + (c0 / _VIBRANCE_C) ** 2))
    dh = np.zeros_like(c0)
    dl = np.zeros_like(c0)
    chromatic = _smoothstep(0.0, 0.04, c0)  # no lightness changes on greys
    for r in p.hue:
        w = _hue_window(h_deg, r.center, r.width)
        gain = gain * (1.0 + (r.chroma - 1.0) * w)
        dh = dh + r.hue * w
        dl = dl + (r.lightness / 100.0) * w * chromatic
    if skin.protect > 0:
        s = _hue_window(h_deg, skin.hue, skin.width)
        # skin has some colour: near-greys are not skin (their hue is noise), and the
        # protection fades in from a quarter to half of ``chroma``
        s = s * _smoothstep(0.25 * skin.chroma, 0.5 * skin.chroma, c0)
        s = s * (1.0 - _smoothstep(skin.chroma, 1.6 * skin.chroma, c0))
        keep = 1.0 - skin.protect * s
        gain = skin.saturation + (gain - skin.saturation) * keep
        dh = dh * keep
        dl = dl * keep
    return c0 * gain, h_deg + dh, lightness + dl


# --- spatial stages -----------------------------------------------------------------------

_VIG_TABLE = 1024


def _vignette_axes(rows: tuple[int, int], full_shape: tuple[int, int], roundness: float):
    """Squared normalised distances per column and per row (r^2 = ux2[j] + vy2[i]; 1 at the
    frame's corner): circular (roundness 1) or following the frame's aspect (0)."""
    h, w = full_shape
    xc = np.arange(w, dtype=np.float64) + 0.5 - w / 2.0
    yc = np.arange(rows[0], rows[1], dtype=np.float64) + 0.5 - h / 2.0
    diag = math.hypot(w / 2.0, h / 2.0)
    sx = (1 - roundness) / (math.sqrt(2.0) * w / 2.0) + roundness / diag
    sy = (1 - roundness) / (math.sqrt(2.0) * h / 2.0) + roundness / diag
    corner = (sx * w / 2.0) ** 2 + (sy * h / 2.0) ** 2
    return (xc * sx) ** 2 / corner, (yc * sy) ** 2 / corner


def _vignette_ev(r2: np.ndarray, v: Vignette) -> np.ndarray:
    t = np.clip((np.sqrt(np.maximum(r2, 0.0)) - v.radius) / (1.0 - v.radius), 0.0, 1.0)
    return v.amount * t * t


def vignette_gain(rows: tuple[int, int], full_shape: tuple[int, int], v: Vignette) -> np.ndarray:
    """Gain on scene light for rows [a, b) of a ``full_shape`` frame: 2^(amount * t^2), t
    the distance beyond ``radius`` as a fraction of the way to the corner (cos^4-like)."""
    ux2, vy2 = _vignette_axes(rows, full_shape, v.roundness)
    return np.exp2(_vignette_ev(vy2[:, None] + ux2[None, :], v)).astype(np.float32)


def _vignette_kernel_args(rows, full_shape, v: Vignette):
    ux2, vy2 = _vignette_axes(rows, full_shape, v.roundness)
    r2 = np.linspace(0.0, 1.0, _VIG_TABLE + 1)
    tab = np.exp2(_vignette_ev(r2, v)).astype(np.float32)
    tab = np.append(tab, tab[-1])  # one spare entry: r^2 may round to just above 1
    return tab, float(_VIG_TABLE), ux2.astype(np.float32), vy2.astype(np.float32)


def grain_field(rows: tuple[int, int], full_shape: tuple[int, int], g: Grain,
                normalise: bool = True) -> np.ndarray | tuple[np.ndarray, float]:
    """Unit-variance grain for rows [a, b) of the frame: hashed noise at absolute pixel
    positions, blurred by a Gaussian of sigma = size / 2 (rows outside the strip are
    generated as needed, so strips equal the whole frame). With ``normalise=False``:
    (the blurred noise, the factor that makes it unit-variance), saving a pass."""
    import cv2

    h, w = full_shape
    a, b = rows
    sigma = g.size / 2.0
    rad = max(1, math.ceil(3 * sigma))
    a0, b0 = max(0, a - rad), min(h, b + rad)
    noise = fast.noise_plane(a0, b0 - a0, w, g.seed)
    k = cv2.getGaussianKernel(2 * rad + 1, sigma, cv2.CV_32F)
    norm = float((k.astype(np.float64) ** 2).sum())
    blurred = cv2.sepFilter2D(noise, cv2.CV_32F, k, k, borderType=cv2.BORDER_REFLECT_101)
    blurred = blurred[a - a0 : a - a0 + (b - a)]
    if not normalise:
        return blurred, 1.0 / norm
    return blurred * np.float32(1.0 / norm)


# --- the Look object ----------------------------------------------------------------------

_BAKED: OrderedDict = OrderedDict()
_BAKE_LOCK = threading.Lock()
_BAKE_CACHE = 12


def bake_function(fn, size: int = 65, display_referred: bool = False):
    """(lut (n, n, n, 3) float32 indexed [r, g, b], shaper): ``fn`` (linear Rec.2020 ->
    display linear Rec.2020, (..., 3) arrays) sampled on the shaper's lattice."""
    shaper = fast.Shaper(k=1.0, domain=1.0 if display_referred else math.inf)
    x = shaper.inverse(np.linspace(0.0, 1.0, size)).astype(np.float32)
    grid = np.stack(np.meshgrid(x, x, x, indexing="ij"), axis=-1)
    return np.ascontiguousarray(fn(grid), np.float32), shaper


def bake(p: LookParams, size: int = 65, display_referred: bool = False):
    """The baked colour part of ``p`` (cached: a dozen looks at most are kept)."""
    key = (p.without_spatial(), size, display_referred)
    with _BAKE_LOCK:
        hit = _BAKED.get(key)
        if hit is not None:
            _BAKED.move_to_end(key)
            return hit
    baked = bake_function(lambda x: render_colour(x, p, display_referred), size,
                          display_referred)
    with _BAKE_LOCK:
        _BAKED[key] = baked
        while len(_BAKED) > _BAKE_CACHE:
            _BAKED.popitem(last=False)
    return baked


def _rows_of(rgb: np.ndarray, rows, full_shape) -> tuple[tuple[int, int], tuple[int, int]]:
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a look takes an (H, W, 3) image, got shape {rgb.shape}")
    if rows is None:
        if full_shape is not None and tuple(full_shape) != rgb.shape[:2]:
            raise ValueError("rows is needed when full_shape differs from the image's shape")
        return (0, rgb.shape[0]), rgb.shape[:2]
    if isinstance(rows, slice):
        start = rows.start or 0
        rows = (start, rows.stop if rows.stop is not None else start + rgb.shape[0])
    a, b = int(rows[0]), int(rows[1])
    if full_shape is None:
        raise ValueError("full_shape is needed with rows")
    full = (int(full_shape[0]), int(full_shape[1]))
    if b - a != rgb.shape[0] or a < 0 or b > full[0] or full[1] != rgb.shape[1]:
        raise ValueError(f"rows {a}:{b} of a {full} frame do not match an image of shape "
                         f"{rgb.shape[:2]}")
    return (a, b), full


class Look:
    """A look: parameters for the engine, with a name, a description and its file.

    ``look.apply(rgb)`` (or ``look(rgb)``) renders scene light to display light and is
    usable as ``DevelopParams.look``. For strips of a frame, pass ``rows=(a, b)`` and
    ``full_shape=(H, W)`` so that the vignette and the grain are those of the whole frame.
    """

    def __init__(self, params: LookParams | None = None, *, name: str = "custom",
                 description: str = "", path: Path | str | None = None, version: int = 1,
                 lut_size: int = 65):
        self.params = params or LookParams()
        self.name = name
        self.description = description
        self.path = None if path is None else Path(path)
        self.version = version
        self.lut_size = lut_size

    def __repr__(self) -> str:
        return f"Look({self.name!r}, {self.description!r})"

    @property
    def local_tone_mapping(self) -> float:
        """How much of the develop's local tone mapping this look asks for, 0..1 (the look
        protocol's optional attribute; the pipeline scales its strength by it): 0 for
        ``neutral``, whose tones are the measured scene's."""
        return self.params.tone.local_tone_mapping

    def without_spatial(self) -> Look:
        """This look without vignette and grain (what a 3D LUT file can carry)."""
        return Look(self.params.without_spatial(), name=self.name, path=self.path,
                    description=self.description, version=self.version,
                    lut_size=self.lut_size)

    def colour(self, rgb: np.ndarray, display_referred: bool = False) -> np.ndarray:
        """The colour part only (no vignette, no grain), reference math, any (..., 3)."""
        return render_colour(rgb, self.params, display_referred)

    def apply(self, rgb: np.ndarray, *, rows=None, full_shape=None,
              display_referred: bool = False, engine: str = "lut") -> np.ndarray:
        """Render ``rgb`` (H, W, 3) linear Rec.2020 -> display linear Rec.2020 in [0, 1].

        rows, full_shape: the image is rows [a, b) of a frame of shape (H, W) (a strip);
        None: the image is the whole frame.
        display_referred: the input is display light (decoded JPEG/PNG/HEIC), not scene
        light; it is taken back through the inverse neutral curve first.
        engine: "lut" (baked 3D LUT, fused compiled kernel) or "reference" (NumPy math).
        """
        rgb = np.asarray(rgb)
        rows, full = _rows_of(rgb, rows, full_shape)
        p = self.params
        vig, grain = p.vignette, p.grain
        if engine == "reference":
            top = 1.0 if display_referred else fast.XMAX
            x = _sanitize(rgb, top)
            if vig.amount != 0.0:
                x = np.minimum(x * vignette_gain(rows, full, vig)[..., None], np.float32(top))
            out = render_colour(x, p, display_referred)
            if grain.amount > 0:
                n = grain_field(rows, full, grain)
                wgt = np.minimum(1.0, 4.0 * (1.0 - out.max(axis=-1)))
                out = out * (1.0 + np.float32(grain.amount / 100.0) * n * wgt)[..., None]
            return np.clip(out, 0.0, 1.0).astype(np.float32)
        if engine != "lut":
            raise ValueError(f"engine must be 'lut' or 'reference', got {engine!r}")
        lut, shaper = bake(p, self.lut_size, display_referred)
        vargs = _vignette_kernel_args(rows, full, vig) if vig.amount != 0.0 else None
        gargs = None
        if grain.amount > 0:
            noise, scale = grain_field(rows, full, grain, normalise=False)
            gargs = (noise, grain.amount / 100.0 * scale)
        return fast.apply_lut(rgb, lut, shaper, vargs, gargs)

    __call__ = apply
