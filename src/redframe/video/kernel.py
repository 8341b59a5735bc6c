"""The per-frame kernel: Y'CbCr planes in -> a baked 3D LUT on R'G'B' codes -> Y'CbCr out.

One numba pass per frame, row blocks in parallel, no intermediate RGB image: each chroma
block (2x2 pixels in 4:2:0, 2x1 in 4:2:2, 1x1 in 4:4:4) is read once, its pixels turned into
non-linear R'G'B' with the input's matrix and range (ITU-R BT.709-6 / BT.601-7 / BT.2020-2
Y'CbCr equations, "narrow" (limited) or full range as in ITU-T H.273), looked up in the
LUT with tetrahedral interpolation (:func:`redframe.looks.fast._tetra`, the kernel the
still-image look uses), and written back as BT.709 Y'CbCr; the block's output chroma is the
mean of its pixels' (a box filter, co-sited with the input's chroma block).

The LUT's lattice is uniform in *code values* of the clip's encoding (as a .cube file is),
so 8- and 10-bit inputs index it directly. :func:`apply_reference` is the same mathematics
in NumPy (float64), which the tests check the kernel against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from redframe.looks.fast import _tetra, tetrahedral_reference

__all__ = ["Matrix", "MATRICES", "Signal", "apply_lut_yuv", "apply_reference",
           "rgb_to_yuv", "yuv_to_rgb", "table8"]


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


_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}


@nb.njit(parallel=True, cache=True, fastmath=_FAST)
def _kernel(yi, ui, vi, yo, uo, vo, lut, n, sx, sy, pin, pout):  # pragma: no cover
    yoff, ysc, coff, csc, kr, kb = pin[0], pin[1], pin[2], pin[3], pin[4], pin[5]
    zoff, zsc, doff, dsc, lr, lb, top = (pout[0], pout[1], pout[2], pout[3], pout[4],
                                         pout[5], pout[6])
    kg = 1.0 - kr - kb
    lg = 1.0 - lr - lb
    cr_r = 2.0 * (1.0 - kr)
    cb_b = 2.0 * (1.0 - kb)
    cb_g = -cb_b * kb / kg
    cr_g = -cr_r * kr / kg
    ncb = 1.0 / (2.0 * (1.0 - lb))
    ncr = 1.0 / (2.0 * (1.0 - lr))
    scale = np.float32(n - 1)
    hc, wc = ui.shape
    h, w = yi.shape
    inv_y = 1.0 / ysc
    inv_c = 1.0 / csc
    for bi in nb.prange(hc):
        for bj in range(wc):
            cb = (np.float32(ui[bi, bj]) - coff) * inv_c
            cr = (np.float32(vi[bi, bj]) - coff) * inv_c
            acc_b = np.float32(0.0)
            acc_r = np.float32(0.0)
            count = 0
            for di in range(sy):
                i = bi * sy + di
                if i >= h:
                    continue
                for dj in range(sx):
                    j = bj * sx + dj
                    if j >= w:
                        continue
                    yy = (np.float32(yi[i, j]) - yoff) * inv_y
                    r = yy + cr_r * cr
                    g = yy + cb_g * cb + cr_g * cr
                    b = yy + cb_b * cb
                    r = min(max(r, np.float32(0.0)), np.float32(1.0)) * scale
                    g = min(max(g, np.float32(0.0)), np.float32(1.0)) * scale
                    b = min(max(b, np.float32(0.0)), np.float32(1.0)) * scale
                    o0, o1, o2 = _tetra(lut, r, g, b, n)
                    y2 = lr * o0 + lg * o1 + lb * o2
                    acc_b += (o2 - y2) * ncb
                    acc_r += (o0 - y2) * ncr
                    count += 1
                    q = y2 * zsc + zoff + np.float32(0.5)
                    yo[i, j] = min(max(q, np.float32(0.0)), top)
            inv = np.float32(1.0) / np.float32(count)
            q = acc_b * inv * dsc + doff + np.float32(0.5)
            uo[bi, bj] = min(max(q, np.float32(0.0)), top)
            q = acc_r * inv * dsc + doff + np.float32(0.5)
            vo[bi, bj] = min(max(q, np.float32(0.0)), top)


@nb.njit(parallel=True, cache=True, fastmath=_FAST)
def _build_table8(table, lut, n, pin, pout):  # pragma: no cover - compiled
    """table[cb, cr, y] = (Y', Cb, Cr) output codes of the input codes (y, cb, cr), 8-bit:
    the per-pixel mathematics of :func:`_kernel`, evaluated at all 2^24 inputs."""
    yoff, ysc, coff, csc, kr, kb = pin[0], pin[1], pin[2], pin[3], pin[4], pin[5]
    zoff, zsc, doff, dsc, lr, lb, top = (pout[0], pout[1], pout[2], pout[3], pout[4],
                                         pout[5], pout[6])
    kg = 1.0 - kr - kb
    lg = 1.0 - lr - lb
    cr_r = 2.0 * (1.0 - kr)
    cb_b = 2.0 * (1.0 - kb)
    cb_g = -cb_b * kb / kg
    cr_g = -cr_r * kr / kg
    ncb = 1.0 / (2.0 * (1.0 - lb))
    ncr = 1.0 / (2.0 * (1.0 - lr))
    scale = np.float32(n - 1)
    for u in nb.prange(256):
        cb = (np.float32(u) - coff) / csc
        for v in range(256):
            cr = (np.float32(v) - coff) / csc
            for y in range(256):
                yy = (np.float32(y) - yoff) / ysc
                r = yy + cr_r * cr
                g = yy + cb_g * cb + cr_g * cr
                b = yy + cb_b * cb
                r = min(max(r, np.float32(0.0)), np.float32(1.0)) * scale
                g = min(max(g, np.float32(0.0)), np.float32(1.0)) * scale
                b = min(max(b, np.float32(0.0)), np.float32(1.0)) * scale
                o0, o1, o2 = _tetra(lut, r, g, b, n)
                y2 = lr * o0 + lg * o1 + lb * o2
                q0 = y2 * zsc + zoff + np.float32(0.5)
                q1 = (o2 - y2) * ncb * dsc + doff + np.float32(0.5)
                q2 = (o0 - y2) * ncr * dsc + doff + np.float32(0.5)
                table[u, v, y, 0] = min(max(q0, np.float32(0.0)), top)
                table[u, v, y, 1] = min(max(q1, np.float32(0.0)), top)
                table[u, v, y, 2] = min(max(q2, np.float32(0.0)), top)


@nb.njit(parallel=True, cache=True)
def _apply_table8(yi, ui, vi, yo, uo, vo, table, sx, sy):  # pragma: no cover - compiled
    hc, wc = ui.shape
    h, w = yi.shape
    for bi in nb.prange(hc):
        for bj in range(wc):
            row = table[ui[bi, bj], vi[bi, bj]]
            acc_b = 0
            acc_r = 0
            count = 0
            for di in range(sy):
                i = bi * sy + di
                if i >= h:
                    continue
                for dj in range(sx):
                    j = bj * sx + dj
                    if j >= w:
                        continue
                    e = row[yi[i, j]]
                    yo[i, j] = e[0]
                    acc_b += e[1]
                    acc_r += e[2]
                    count += 1
            uo[bi, bj] = (acc_b + count // 2) // count
            vo[bi, bj] = (acc_r + count // 2) // count


_TABLES: dict = {}


def table8(lut: np.ndarray, sig_in: Signal, sig_out: Signal) -> np.ndarray:
    """The whole 8-bit mapping as a (256, 256, 256, 3) uint8 table [Cb, Cr, Y'] (48 MiB,
    built in about a third of a second on 2 cores, cached for the last LUT): a frame is then
    one gather per pixel, about 7x faster than interpolating. Each pixel's output is the
    interpolating kernel's, rounded; the 4:2:0 chroma is the mean of its pixels' rounded
    chroma (within half a code of the kernel's)."""
    key = (lut.ctypes.data, lut.shape, float(lut.reshape(-1)[::997].sum()), sig_in, sig_out)
    hit = _TABLES.get(key)
    if hit is None:
        hit = np.empty((256, 256, 256, 3), np.uint8)
        _build_table8(hit, np.ascontiguousarray(lut, np.float32).reshape(-1), lut.shape[0],
                      _params(sig_in), _params(sig_out, True))
        _TABLES.clear()
        _TABLES[key] = hit
    return hit


def _params(sig: Signal, with_top: bool = False) -> np.ndarray:
    yoff, ysc, coff, csc, top = sig.scales()
    vals = [yoff, ysc, coff, csc, sig.matrix.kr, sig.matrix.kb] + ([top] if with_top else [])
    return np.asarray(vals, np.float32)


def apply_lut_yuv(planes_in, planes_out, lut: np.ndarray, sub: tuple[int, int],
                  sig_in: Signal, sig_out: Signal, table: bool = True) -> None:
    """``planes_out`` (Y, Cb, Cr arrays, written in place; any strides) = the LUT applied to
    ``planes_in`` (uint8 or uint16). ``sub`` = (sx, sy) chroma subsampling; ``lut`` (n, n, n,
    3) float32 [r, g, b] on input codes, giving output codes in [0, 1]. 8-bit in and out
    go through :func:`table8` unless ``table`` is False."""
    yi, ui, vi = planes_in
    yo, uo, vo = planes_out
    if table and sig_in.bits == 8 and sig_out.bits == 8 and yi.dtype == np.uint8 \
            and yo.dtype == np.uint8:
        _apply_table8(yi, ui, vi, yo, uo, vo, table8(lut, sig_in, sig_out), int(sub[0]),
                      int(sub[1]))
        return
    flat = np.ascontiguousarray(lut, np.float32).reshape(-1)
    _kernel(yi, ui, vi, yo, uo, vo, flat, lut.shape[0], int(sub[0]), int(sub[1]),
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
