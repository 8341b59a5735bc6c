"""The per-frame kernel: Y'CbCr planes in -> a baked 3D LUT on R'G'B' codes -> Y'CbCr out.

One compiled pass per frame (Cython + OpenMP, ahead of time, in ``_kernel.pyx``; 8- and
10-bit codes through one fused-type implementation), row blocks in parallel, no
intermediate RGB image: each chroma block (2x2 pixels in 4:2:0, 2x1 in 4:2:2, 1x1 in 4:4:4)
is read once, its pixels turned into non-linear R'G'B' with the input's matrix and range
(ITU-R BT.709-6 / BT.601-7 / BT.2020-2 Y'CbCr equations, "narrow" (limited) or full range
as in ITU-T H.273), looked up in the LUT with tetrahedral interpolation (``tetra`` of
``redframe/looks/_fast.pxd``, the function the still-image look's kernel uses), and
written back as BT.709 Y'CbCr; the block's output chroma is the mean of its pixels' (a box
filter, co-sited with the input's chroma block).

The LUT's lattice is uniform in *code values* of the clip's encoding (as a .cube file is),
so 8- and 10-bit inputs index it directly. :func:`apply_reference` is the same mathematics
in NumPy (float64), which the tests check the kernel against.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from redframe.looks.fast import tetrahedral_reference
from redframe.video import _kernel

__all__ = ["Matrix", "MATRICES", "Signal", "apply_lut_yuv", "apply_reference",
           "rgb_to_yuv", "yuv_to_rgb", "table8", "Table8"]


@dataclass(frozen=True)
class Matrix:
    """Luma coefficients of a Y'CbCr matrix (Kr, Kb; Kg = 1 - Kr - Kb)."""

    name: str
    kr: float
    kb: float


#: H.273 MatrixCoefficients code point -> matrix (1 BT.709, 5/6 BT.601, 9 BT.2020 NCL).
MATRICES = {
    1: Matrix("bt709", 0.2126, 0.0722),
    5: Matrix("bt601", 0.299, 0.114),
    6: Matrix("bt601", 0.299, 0.114),
    9: Matrix("bt2020nc", 0.2627, 0.0593),
}


@dataclass(frozen=True)
class Signal:
    """How code values hold Y'CbCr: bit depth, range and matrix."""

    bits: int
    full: bool
    matrix: Matrix

    def scales(self) -> tuple[float, float, float, float, float]:
        """(y offset, y scale, c offset, c scale, max code) of this signal."""
        k = float(1 << (self.bits - 8))
        top = float((1 << self.bits) - 1)
        if self.full:
            return 0.0, top, 128.0 * k, top, top
        return 16.0 * k, 219.0 * k, 128.0 * k, 224.0 * k, top


class Table8:
    """The whole 8-bit mapping of a LUT as a (256, 256, 256, 3) uint8 table [Cb, Cr, Y']
    (48 MiB), filled as frames need it: a frame is then one gather per pixel, about 5x
    faster than interpolating. The 256 luma entries of a chroma pair are computed the first
    time a frame holds that pair (``_kernel.fill_table8``: one pass over the chroma planes,
    the new rows in parallel), so a clip's first frame does not wait for all 2^24 entries
    (0.3 s on 2 cores; a clip uses a few thousand of the 65536 pairs, and memory is only
    touched where it is written). Each entry is the interpolating kernel's output,
    rounded; the 4:2:0 chroma is the mean of its pixels' rounded chroma (within half a code
    of the kernel's). Threads may develop frames through one table at once: filling is
    one at a time (a row is flagged before it is computed)."""

    def __init__(self, lut: np.ndarray, sig_in: Signal, sig_out: Signal):
        self.lut = np.ascontiguousarray(lut, np.float32).reshape(-1)
        self.n = lut.shape[0]
        self.pin, self.pout = _params(sig_in), _params(sig_out, True)
        self.table = np.empty((256, 256, 256, 3), np.uint8)
        self.built = np.zeros(65536, np.uint8)
        self.rows = 0
        self._todo = np.empty(65536, np.int32)
        self._lock = threading.Lock()

    def fill(self, ui: np.ndarray, vi: np.ndarray) -> np.ndarray:
        """The table, with every chroma pair of the planes ``ui``, ``vi`` (uint8) built."""
        if self.rows < 65536:
            with self._lock:
                self.rows += _kernel.fill_table8(ui, vi, self.table, self.built, self._todo,
                                                 self.lut, self.n, self.pin, self.pout)
        return self.table

    def full(self) -> np.ndarray:
        """The table with all 2^24 entries."""
        with self._lock:
            if self.rows < 65536:
                _kernel.build_table8(self.table, self.lut, self.n, self.pin, self.pout)
                self.built[:] = 1
                self.rows = 65536
        return self.table


_TABLES: dict = {}
_TABLES_LOCK = threading.Lock()


def _table8(lut: np.ndarray, sig_in: Signal, sig_out: Signal) -> Table8:
    """The :class:`Table8` of ``lut`` (cached for the last LUT: the clips of a batch)."""
    key = (lut.ctypes.data, lut.shape, float(lut.reshape(-1)[::997].sum()), sig_in, sig_out)
    with _TABLES_LOCK:  # the frames of one clip, developed on several threads, share it
        hit = _TABLES.get(key)
        if hit is None or hit[0] is not lut:
            hit = (lut, Table8(lut, sig_in, sig_out))
            _TABLES.clear()
            _TABLES[key] = hit
    return hit[1]


def table8(lut: np.ndarray, sig_in: Signal, sig_out: Signal) -> np.ndarray:
    """The whole 8-bit mapping of ``lut`` (:class:`Table8`, all entries built)."""
    return _table8(lut, sig_in, sig_out).full()


def _params(sig: Signal, with_top: bool = False) -> np.ndarray:
    yoff, ysc, coff, csc, top = sig.scales()
    vals = [yoff, ysc, coff, csc, sig.matrix.kr, sig.matrix.kb] + ([top] if with_top else [])
    return np.asarray(vals, np.float32)


def apply_lut_yuv(planes_in, planes_out, lut: np.ndarray, sub: tuple[int, int],
                  sig_in: Signal, sig_out: Signal, table: bool = True) -> None:
    """``planes_out`` (Y, Cb, Cr arrays, written in place; any strides) = the LUT applied to
    ``planes_in`` (uint8 or uint16). ``sub`` = (sx, sy) chroma subsampling; ``lut`` (n, n, n,
    3) float32 [r, g, b] on input codes, giving output codes in [0, 1]. 8-bit in and out
    go through the :class:`Table8` of the LUT unless ``table`` is False."""
    yi, ui, vi = planes_in
    yo, uo, vo = planes_out
    if table and sig_in.bits == 8 and sig_out.bits == 8 and yi.dtype == np.uint8 \
            and yo.dtype == np.uint8:
        table = _table8(lut, sig_in, sig_out).fill(ui, vi)
        _kernel.apply_table8(yi, ui, vi, yo, uo, vo, table, int(sub[0]), int(sub[1]))
        return
    if lut.shape[0] < 2:
        raise ValueError(f"a 3D LUT needs at least 2 points per axis, got {lut.shape[0]}")
    flat = np.ascontiguousarray(lut, np.float32).reshape(-1)
    _kernel.frame(yi, ui, vi, yo, uo, vo, flat, lut.shape[0], int(sub[0]), int(sub[1]),
                  _params(sig_in), _params(sig_out, True))


def yuv_to_rgb(y, u, v, sig: Signal) -> np.ndarray:
    """Y'CbCr codes (chroma already at luma resolution) -> R'G'B' in [0, 1], float64."""
    yoff, ysc, coff, csc, _ = sig.scales()
    kr, kb = sig.matrix.kr, sig.matrix.kb
    kg = 1 - kr - kb
    yy = (np.asarray(y, np.float64) - yoff) / ysc
    cb = (np.asarray(u, np.float64) - coff) / csc
    cr = (np.asarray(v, np.float64) - coff) / csc
    r = yy + 2 * (1 - kr) * cr
    b = yy + 2 * (1 - kb) * cb
    g = (yy - kr * r - kb * b) / kg
    return np.clip(np.stack([r, g, b], -1), 0.0, 1.0)


def rgb_to_yuv(rgb, sig: Signal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R'G'B' in [0, 1] (..., 3) -> Y', Cb, Cr as float code values (not rounded)."""
    yoff, ysc, coff, csc, _ = sig.scales()
    kr, kb = sig.matrix.kr, sig.matrix.kb
    rgb = np.asarray(rgb, np.float64)
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb = (rgb[..., 2] - y) / (2 * (1 - kb))
    cr = (rgb[..., 0] - y) / (2 * (1 - kr))
    return y * ysc + yoff, cb * csc + coff, cr * csc + coff


def apply_reference(planes_in, lut, sub, sig_in: Signal, sig_out: Signal):
    """:func:`apply_lut_yuv` in NumPy (float64): the definition the kernel is tested on.
    Returns (Y, Cb, Cr) code arrays of the input planes' dtype."""
    yi, ui, vi = (np.asarray(p) for p in planes_in)
    sx, sy = sub
    h, w = yi.shape
    up = lambda c: np.repeat(np.repeat(c, sy, 0), sx, 1)[:h, :w]  # noqa: E731
    rgb = yuv_to_rgb(yi, up(ui), up(vi), sig_in)
    out = tetrahedral_reference(rgb, lut)
    y, cb, cr = rgb_to_yuv(out, sig_out)
    hc, wc = ui.shape
    pad = lambda c: np.pad(c, ((0, hc * sy - h), (0, wc * sx - w)), mode="edge")  # noqa: E731
    cnt = np.ones((h, w))
    box = lambda c: pad(c).reshape(hc, sy, wc, sx).sum((1, 3))  # noqa: E731
    n = box(cnt) if (hc * sy, wc * sx) == (h, w) else _count(h, w, sx, sy, hc, wc)
    top = (1 << sig_out.bits) - 1
    q = lambda c: np.clip(np.floor(c + 0.5), 0, top).astype(yi.dtype)  # noqa: E731
    return q(y), q(_box_mean(cb, sx, sy, hc, wc, n)), q(_box_mean(cr, sx, sy, hc, wc, n))


def _count(h, w, sx, sy, hc, wc):
    n = np.zeros((hc, wc))
    for i in range(h):
        for j in range(w):
            n[i // sy, j // sx] += 1
    return n


def _box_mean(c, sx, sy, hc, wc, n):
    s = np.zeros((hc, wc))
    h, w = c.shape
    for di in range(sy):
        for dj in range(sx):
            part = c[di::sy, dj::sx]
            s[: part.shape[0], : part.shape[1]] += part
    return s / n
