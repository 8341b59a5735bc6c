"""A watermark frame on a clip: the strip rendered once, composited on every frame.

The frame layouts (:mod:`redframe.frame`) draw a canvas from a photo by copying the photo
and alpha-blending margins, text and scrims over it, which is affine in the photo's code
values: ``canvas = A * photo + B`` per pixel. Drawing the plan once over a black photo
gives ``B`` and once over a white one gives ``A``; every frame is then ``A * frame + B``,
computed only in the 64-pixel tiles where ``A`` is not 1 or ``B`` not 0 (text over the
picture, an overlay's scrim); elsewhere the frame's planes are written straight into the
canvas and the margins are copied. The plan (text, fitting, ``auto`` colours against the
picture) is made on the clip's first developed frame, in display orientation; the canvas
is turned back to the stored orientation, and the clip's display matrix is kept.

Layouts whose backdrop is the picture itself (``blur``) follow every frame and are not
static: refused. The canvas is padded by one pixel of its own edge where needed so the
picture sits on the chroma grid and the sides are even (4:2:0 needs both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.errors import UsageError
from redframe.frame import frame_plan
from redframe.frame.draw import draw_frame
from redframe.frame.text import THIN
from redframe.video.kernel import Signal, rgb_to_yuv

__all__ = ["Overlay", "build_overlay", "exposure_line"]

_TILE = 64


def exposure_line(focal35: float | None, width: int, height: int, fps: str | None) -> str:
    """The strip's exposure line for a clip: ``26mm 3840×2160 30fps`` (what is known)."""
    parts = []
    if focal35 and 1 <= focal35 <= 10000:
        parts.append(f"{focal35:.0f}mm")
    parts.append(f"{width}\u00d7{height}")
    if fps:
        parts.append(f"{fps}fps")
    return THIN.join(parts)


@dataclass
class Overlay:
    """The static strip in the output signal: per plane the canvas outside the picture,
    the picture's place, and the tiles to blend."""

    width: int
    height: int
    box: tuple[int, int]  # (x0, y0) of the picture in the canvas (on the chroma grid)
    size: tuple[int, int]  # the picture's (w, h)
    static: list[np.ndarray]  # Y, Cb, Cr of the canvas with a black-level picture
    alpha: list[np.ndarray]  # per plane, float32
    offset: list[np.ndarray]  # per plane, float32: out = alpha * picture + offset
    tiles: list[list[tuple[slice, slice]]]  # per plane: where to blend

    def compose(self, planes: list[np.ndarray]) -> None:
        """``planes`` (the canvas, its picture area already written): blend the tiles."""
        for p, a, c, tiles in zip(planes, self.alpha, self.offset, self.tiles, strict=True):
            top = np.iinfo(p.dtype).max
            for sl in tiles:
                v = p[sl].astype(np.float32) * a[sl] + c[sl]
                p[sl] = np.clip(v + 0.5, 0, top).astype(p.dtype)

    def fill_margins(self, planes: list[np.ndarray], sub: tuple[int, int]) -> None:
        """Copy the static canvas outside the picture area into ``planes``."""
        for k, (p, s) in enumerate(zip(planes, self.static, strict=True)):
            sx, sy = (1, 1) if k == 0 else sub
            x0, y0 = self.box[0] // sx, self.box[1] // sy
            w, h = -(-self.size[0] // sx), -(-self.size[1] // sy)
            p[:y0] = s[:y0]
            p[y0 + h:] = s[y0 + h:]
            p[y0:y0 + h, :x0] = s[y0:y0 + h, :x0]
            p[y0:y0 + h, x0 + w:] = s[y0:y0 + h, x0 + w:]

    def picture_views(self, planes: list[np.ndarray], sub: tuple[int, int]) -> list[np.ndarray]:
        views = []
        for k, p in enumerate(planes):
            sx, sy = (1, 1) if k == 0 else sub
            x0, y0 = self.box[0] // sx, self.box[1] // sy
            w, h = -(-self.size[0] // sx), -(-self.size[1] // sy)
            views.append(p[y0:y0 + h, x0:x0 + w])
        return views


def _box_down(a: np.ndarray, sx: int, sy: int) -> np.ndarray:
    h, w = a.shape
    return a.reshape(h // sy, sy, w // sx, sx).mean(axis=(1, 3))


def build_overlay(first: np.ndarray, meta, layout: str, prepared, rotation: int,
                  sig: Signal, sub: tuple[int, int], dtype) -> Overlay:
    """The strip for a clip whose first developed frame is ``first`` (H, W, 3) uint8 R'G'B'
    in *stored* orientation; ``rotation``: counter-clockwise degrees the display turns it."""
    k = (rotation // 90) % 4
    shown = np.ascontiguousarray(np.rot90(first, k))
    plan = frame_plan(shown, meta, layout, prepared=prepared)
    if plan.background is None:
        raise UsageError(f"the {layout!r} layout's backdrop is the picture itself, which "
                         "changes every frame; choose a layout with a plain background")
    x0, y0, x1, y1 = plan.photo_box
    black = draw_frame(plan, np.zeros_like(shown)).astype(np.float32)
    white = draw_frame(plan, np.full_like(shown, 255)).astype(np.float32)
    mask = np.zeros(black.shape[:2], np.float32)
    mask[y0:y1, x0:x1] = 1.0
    black, white, mask = (np.ascontiguousarray(np.rot90(a, -k)) for a in (black, white, mask))
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    bx, by = int(cols[0]), int(rows[0])
    sx, sy = sub
    px, py = bx % sx, by % sy
    h, w = mask.shape
    pr, pb = (w + px) % 2, (h + py) % 2
    pad = ((py, pb), (px, pr))
    black = np.pad(black, pad + ((0, 0),), mode="edge")
    white = np.pad(white, pad + ((0, 0),), mode="edge")
    mask = np.pad(mask, pad, mode="constant")
    alpha = (white - black).mean(axis=-1) / 255.0
    if np.abs(alpha * (1.0 - mask)).max() > 1e-3:
        raise UsageError(f"the {layout!r} layout draws the picture outside its place; "
                         "it cannot be a static strip")
    alpha = np.clip(alpha, 0.0, 1.0) * mask
    yb, ub, vb = rgb_to_yuv(black / 255.0, sig)
    yoff, _, coff, _, _ = sig.scales()
    full = [yb - alpha * yoff, ub - alpha * coff, vb - alpha * coff]
    top = (1 << sig.bits) - 1
    static, alphas, offsets, tiles = [], [], [], []
    H, W = alpha.shape
    for i, c in enumerate(full):
        a = alpha if i == 0 else _box_down(alpha, sx, sy)
        c = c if i == 0 else _box_down(c, sx, sy)
        m = mask if i == 0 else _box_down(mask, sx, sy)
        static.append(np.clip(np.floor(c + 0.5), 0, top).astype(dtype))
        alphas.append(a.astype(np.float32))
        offsets.append(c.astype(np.float32))
        ident = (np.abs(a - 1.0) < 1e-6) & (np.abs(c) < 0.25)
        blend = (m > 0) & ~ident
        t = _TILE if i == 0 else _TILE // max(sx, sy)
        plane_tiles = []
        for r0 in range(0, blend.shape[0], t):
            for c0 in range(0, blend.shape[1], t):
                if blend[r0:r0 + t, c0:c0 + t].any():
                    plane_tiles.append((slice(r0, r0 + t), slice(c0, c0 + t)))
        tiles.append(plane_tiles)
    return Overlay(W, H, (bx + px, by + py), (first.shape[1], first.shape[0]), static, alphas,
                   offsets, tiles)
