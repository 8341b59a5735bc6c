"""Fast path of the look engine: a baked 3D LUT applied with tetrahedral interpolation,
fused with the input clean-up, the vignette and the grain in one numba kernel.

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

import numba as nb
import numpy as np

from redframe.color.dither import hash32, position_hash_np, row_key

__all__ = [
    "Shaper",
    "apply_lut",
    "tetrahedral",
    "tetrahedral_reference",
    "noise_plane",
    "noise_reference",
]

#: fastmath without "nnan"/"ninf": the kernels test for NaN and infinity on purpose.
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}

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


@nb.njit(inline="always")
def _tetra(lut, fr, fg, fb, n):  # pragma: no cover - compiled
    """Tetrahedral interpolation of ``lut`` ((n, n, n, 3) flattened, C order [r, g, b, c]) at
    lattice coordinates (fr, fg, fb) in [0, n - 1].

    With the fractional parts sorted f1 >= f2 >= f3, the tetrahedron walks from the cell's
    origin along the axis of f1, then of f2, to the far corner; the weights are 1 - f1,
    f1 - f2, f2 - f3 and f3. The axes are found by ranking (ties go to r, then g), without
    branches: a six-way branch on the fractions mispredicts on most pixels.
    """
    s1 = 3
    s2 = 3 * n
    s3 = 3 * n * n
    ir = min(int(fr), n - 2)
    ig = min(int(fg), n - 2)
    ib = min(int(fb), n - 2)
    fr -= ir
    fg -= ig
    fb -= ib
    base = ir * s3 + ig * s2 + ib * s1
    rg = np.int64(fr >= fg)
    gb = np.int64(fg >= fb)
    rb = np.int64(fr >= fb)
    rank_r = rg + rb
    rank_g = 1 - rg + gb
    rank_b = 2 - rb - gb
    first = s3 * (rank_r == 2) + s2 * (rank_g == 2) + s1 * (rank_b == 2)
    second = s3 * (rank_r == 1) + s2 * (rank_g == 1) + s1 * (rank_b == 1)
    f1 = max(fr, max(fg, fb))
    f3 = min(fr, min(fg, fb))
    f2 = fr + fg + fb - f1 - f3
    w0 = 1 - f1
    w1 = f1 - f2
    w2 = f2 - f3
    oa = base + first
    ob = oa + second
    top = base + s1 + s2 + s3
    o0 = w0 * lut[base] + w1 * lut[oa] + w2 * lut[ob] + f3 * lut[top]
    o1 = w0 * lut[base + 1] + w1 * lut[oa + 1] + w2 * lut[ob + 1] + f3 * lut[top + 1]
    o2 = w0 * lut[base + 2] + w1 * lut[oa + 2] + w2 * lut[ob + 2] + f3 * lut[top + 2]
    return o0, o1, o2


@nb.njit(parallel=True, cache=True, fastmath=_FAST)
def _apply(rgb, out, lut, n, k, c, xmax, vig_on, vig_tab, vig_step, ux2, vy2,
           grain_on, noise, amount):  # pragma: no cover - compiled
    h, w, _ = rgb.shape
    scale = np.float32(n - 1)
    last = vig_tab.shape[0] - 2
    zero = np.float32(0)
    one = np.float32(1)
    for i in nb.prange(h):
        # pass 1 over the row (vectorisable): clean-up, vignette gain, shaper
        row = rgb[i].reshape(w * 3)
        co = np.empty(w * 3, np.float32)
        if vig_on:
            gain = np.empty(w * 3, np.float32)
            for j in range(w):
                t = (ux2[j] + vy2[i]) * vig_step
                it = min(int(t), last)
                g = vig_tab[it] + (t - it) * (vig_tab[it + 1] - vig_tab[it])
                gain[3 * j] = g
                gain[3 * j + 1] = g
                gain[3 * j + 2] = g
            for q in range(w * 3):
                x = row[q]
                x = x * gain[q] if x > zero else zero  # NaN fails the test: 0
                x = x if x < xmax else xmax  # +inf clamps
                co[q] = math.sqrt(c * x / (x + k)) * scale
        else:
            for q in range(w * 3):
                x = row[q]
                x = x if x > zero else zero
                x = x if x < xmax else xmax
                co[q] = math.sqrt(c * x / (x + k)) * scale
        # pass 2: tetrahedral interpolation, grain, clip
        for j in range(w):
            o0, o1, o2 = _tetra(lut, co[3 * j], co[3 * j + 1], co[3 * j + 2], n)
            if grain_on:
                m = max(o0, max(o1, o2))
                f = 1 + amount * noise[i, j] * min(one, 4 * (1 - m))
                o0 *= f
                o1 *= f
                o2 *= f
            out[i, j, 0] = min(max(o0, zero), one)
            out[i, j, 1] = min(max(o1, zero), one)
            out[i, j, 2] = min(max(o2, zero), one)


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
    flat = np.ascontiguousarray(lut, np.float32).reshape(-1)
    _apply(rgb, out, flat, n, np.float32(shaper.k), np.float32(shaper.c), np.float32(shaper.xmax),
           vignette is not None, vig_tab, np.float32(vig_step), ux2, vy2,
           grain is not None, noise, np.float32(amount))
    return out


@nb.njit(parallel=True, cache=True, fastmath=_FAST)
def _tetra_image(coords, lut, n, out):  # pragma: no cover - compiled
    h, w, _ = coords.shape
    scale = np.float32(n - 1)
    for i in nb.prange(h):
        for j in range(w):
            r = coords[i, j, 0]
            g = coords[i, j, 1]
            b = coords[i, j, 2]
            r = min(r, np.float32(1)) if r >= 0 else np.float32(0)
            g = min(g, np.float32(1)) if g >= 0 else np.float32(0)
            b = min(b, np.float32(1)) if b >= 0 else np.float32(0)
            o0, o1, o2 = _tetra(lut, r * scale, g * scale, b * scale, n)
            out[i, j, 0] = o0
            out[i, j, 1] = o1
            out[i, j, 2] = o2


def tetrahedral(coords: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Tetrahedral interpolation of ``lut`` (n, n, n, 3), indexed [r, g, b], at ``coords``
    (..., 3) in [0, 1] (clamped; NaN -> 0). float32, numba kernel."""
    shape = coords.shape
    c = np.ascontiguousarray(np.asarray(coords, np.float32).reshape(-1, 1, 3))
    out = np.empty(c.shape, np.float32)
    _tetra_image(c, np.ascontiguousarray(lut, np.float32).reshape(-1), lut.shape[0], out)
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


@nb.njit(parallel=True, cache=True)
def _noise(row0, seed, out):  # pragma: no cover - compiled
    h, w = out.shape
    norm = np.float32(math.sqrt(3.0) / 256.0)
    for i in nb.prange(h):
        hy = row_key(row0 + i, seed)
        for j in range(w):
            x = hash32(np.uint64(j) + hy)
            s = (x & np.uint64(255)) + ((x >> np.uint64(8)) & np.uint64(255)) + (
                (x >> np.uint64(16)) & np.uint64(255)) + (x >> np.uint64(24))
            out[i, j] = (np.float32(s) - np.float32(510.0)) * norm


def noise_plane(row0: int, rows: int, width: int, seed: int) -> np.ndarray:
    """Unit-variance, zero-mean noise for rows [row0, row0 + rows) of a frame ``width``
    wide: the sum of the four bytes of a 32-bit hash of (seed, row, column) (Irwin-Hall,
    close to Gaussian). float32 (rows, width)."""
    out = np.empty((rows, width), np.float32)
    _noise(np.int64(row0), np.int64(seed), out)
    return out


def noise_reference(row0: int, rows: int, width: int, seed: int) -> np.ndarray:
    """:func:`noise_plane` in NumPy (the definition; tests check the kernel against it)."""
    x = position_hash_np(row0, rows, width, seed)
    s = sum((x >> np.uint64(sh)) & np.uint64(255) for sh in (0, 8, 16, 24))
    return ((s.astype(np.float32) - np.float32(510.0)) * np.float32(np.sqrt(3.0) / 256.0))
