"""Fast path of the look engine: a baked 3D LUT applied with tetrahedral interpolation,
fused with the input clean-up, the vignette and the grain in one kernel (compiled ahead
of time, Cython + OpenMP, in ``_fast.pyx``; the interpolation is ``tetra`` in
``_fast.pxd``, which :mod:`redframe.video` cimports too).

The math of a look is written once, in NumPy, in :mod:`redframe.looks.engine`; this module
is only its *schedule* (as :mod:`redframe.isp.fused` is for the develop stages): the
colour part of the look (everything but vignette and grain) is sampled on a lattice of
``n^3`` input colours and interpolated per pixel. Tetrahedral interpolation (Kasson,
Nin, Plouffe & Hafner 1995, "Performing color space conversions with three-dimensional
linear interpolation", J. Electronic Imaging 4(3), doi:10.1117/12.206551) uses 4 of the
8 lattice corners and keeps the grey axis exact (greys interpolate along the diagonal).

Scene light is unbounded, so the lattice is laid out on a *shaper* coordinate
``s = sqrt(c * x / (x + k))`` per channel: square-root-like spacing in the shadows,
about 7 lattice steps per stop around mid-grey with 65 points, and all of [0, inf)
mapped into [0, 1] (``c = 1`` for scene light; ``c = (X + k) / X`` for a bounded domain
[0, X]). ``tests/test_looks_engine.py`` checks this path against the reference.
"""

from __future__ import annotations

import math

import numpy as np

from redframe.color.dither import position_hash_np
from redframe.looks import _fast

__all__ = [
    "Shaper",
    "apply_lut",
    "tetrahedral",
    "tetrahedral_reference",
    "noise_plane",
    "noise_reference",
]

#: Largest scene value the engine distinguishes (float16's max); larger, +inf too, clamp.
XMAX = 65504.0


class Shaper:
    """Per-channel map from linear light [0, X] to lattice coordinates [0, 1]."""

    def __init__(self, k: float = 1.0, domain: float = math.inf):
        self.k = float(k)
        self.domain = float(domain)
        self.c = 1.0 if math.isinf(domain) else (domain + k) / domain
        self.xmax = min(self.domain, XMAX)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(np.nan_to_num(x, nan=0.0, posinf=self.xmax, neginf=0.0), 0.0, self.xmax)
        return np.sqrt(self.c * x / (x + self.k))

    def inverse(self, s: np.ndarray) -> np.ndarray:
        s2 = np.asarray(s, np.float64) ** 2
        with np.errstate(divide="ignore"):
            x = self.k * s2 / np.maximum(self.c - s2, 0.0)
        return np.minimum(x, self.xmax)


_EMPTY1 = np.zeros(2, np.float32)
_EMPTY2 = np.zeros((1, 1), np.float32)


def apply_lut(
    rgb: np.ndarray,
    lut: np.ndarray,
    shaper: Shaper,
    vignette: tuple[np.ndarray, float, np.ndarray, np.ndarray] | None = None,
    grain: tuple[np.ndarray, float] | None = None,
) -> np.ndarray:
    """One fused pass: clean up, vignette gain, shaper, tetrahedral LUT, grain, clip.

    ``vignette`` is ``(gain table over r^2, steps per unit r^2, ux^2 per column, vy^2 per
    row)``; ``grain`` is ``(noise plane (h, w), amount)``. Output float32 in [0, 1].
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    out = np.empty(rgb.shape, np.float32)
    vig_tab, vig_step, ux2, vy2 = vignette if vignette else (_EMPTY1, 0.0, _EMPTY1, _EMPTY1)
    noise, amount = grain if grain else (_EMPTY2, 0.0)
    n = lut.shape[0]
    if n < 2:
        raise ValueError(f"a 3D LUT needs at least 2 points per axis, got {n}")
    flat = np.ascontiguousarray(lut, np.float32).reshape(-1)
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    _fast.apply(rgb, out, flat, n, float(np.float32(shaper.k)), float(np.float32(shaper.c)),
                float(np.float32(shaper.xmax)), vignette is not None, f32(vig_tab),
                float(np.float32(vig_step)), f32(ux2), f32(vy2), grain is not None, f32(noise),
                float(np.float32(amount)))
    return out


def tetrahedral(coords: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Tetrahedral interpolation of ``lut`` (n, n, n, 3), indexed [r, g, b], at ``coords``
    (..., 3) in [0, 1] (clamped; NaN -> 0). float32, compiled kernel."""
    shape = coords.shape
    c = np.ascontiguousarray(np.asarray(coords, np.float32).reshape(-1, 3))
    out = np.empty(c.shape, np.float32)
    if lut.shape[0] < 2:
        raise ValueError(f"a 3D LUT needs at least 2 points per axis, got {lut.shape[0]}")
    _fast.tetra_image(c, np.ascontiguousarray(lut, np.float32).reshape(-1), lut.shape[0], out)
    return out.reshape(shape)


def tetrahedral_reference(coords: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """The same interpolation in NumPy (float64), to check the kernel against."""
    lut = np.asarray(lut, np.float64)
    n = lut.shape[0]
    x = np.clip(np.nan_to_num(np.asarray(coords, np.float64), nan=0.0), 0, 1) * (n - 1)
    i = np.minimum(x.astype(np.intp), n - 2)
    f = x - i
    fr, fg, fb = f[..., 0], f[..., 1], f[..., 2]
    ir, ig, ib = i[..., 0], i[..., 1], i[..., 2]

    def c(dr, dg, db):
        return lut[ir + dr, ig + dg, ib + db]

    cases = [  # (condition, corner a, corner b, weights)
        (
            (fr > fg) & (fg > fb), c(1, 0, 0), c(1, 1, 0), (1 - fr, fr - fg, fg - fb, fb)),
        ((fr > fg) & (fg <= fb) & (fr > fb), c(1, 0, 0), c(1, 0, 1),
         (1 - fr, fr - fb, fb - fg, fg)),
        ((fr > fg) & (fg <= fb) & (fr <= fb), c(0, 0, 1), c(1, 0, 1),
         (1 - fb, fb - fr, fr - fg, fg)),
        ((fr <= fg) & (fb > fg), c(0, 0, 1), c(0, 1, 1), (1 - fb, fb - fg, fg - fr, fr)),
        ((fr <= fg) & (fb <= fg) & (fb > fr), c(0, 1, 0), c(0, 1, 1),
         (1 - fg, fg - fb, fb - fr, fr)),
        ((fr <= fg) & (fb <= fg) & (fb <= fr), c(0, 1, 0), c(1, 1, 0),
         (1 - fg, fg - fr, fr - fb, fb)),
    ]
    out = np.zeros(x.shape, np.float64)
    c000, c111 = c(0, 0, 0), c(1, 1, 1)
    for cond, ca, cb, (w0, w1, w2, w3) in cases:
        v = (w0[..., None] * c000 + w1[..., None] * ca + w2[..., None] * cb
             + w3[..., None] * c111)
        out = np.where(cond[..., None], v, out)
    return out


# --- grain noise: a hash of (seed, row, column), so any strip gets the same values ---------


def noise_plane(row0: int, rows: int, width: int, seed: int) -> np.ndarray:
    """Unit-variance, zero-mean noise for rows [row0, row0 + rows) of a frame ``width``
    wide: the sum of the four bytes of a 32-bit hash of (seed, row, column) (Irwin-Hall,
    close to Gaussian). float32 (rows, width)."""
    out = np.empty((rows, width), np.float32)
    _fast.noise(int(row0), int(seed), out)
    return out


def noise_reference(row0: int, rows: int, width: int, seed: int) -> np.ndarray:
    """:func:`noise_plane` in NumPy (the definition; tests check the kernel against it)."""
    x = position_hash_np(row0, rows, width, seed)
    s = sum((x >> np.uint64(sh)) & np.uint64(255) for sh in (0, 8, 16, 24))
    return ((s.astype(np.float32) - np.float32(510.0)) * np.float32(np.sqrt(3.0) / 256.0))
