"""Paint a :class:`~redframe.frame.plan.FramePlan`: canvas, photo, backdrop and elements.

Works on display-referred sRGB-encoded ``uint8`` or ``uint16`` pixels and returns the same
dtype. The photo is copied, never resampled, so its pixels are bit-identical in the frame
except where a layout draws on it by design (overlay text and its scrim, the film
imprint, the blur layout's rounded corners), each inside an element or scrim box.

Text and shapes are blended in the encoded space with coverage masks rendered at final
size. The blurred backdrop is computed on a copy about 192 px on its short side (blur,
darkening and the soft shadow are all low-frequency), then upscaled once and dithered, so
its cost does not grow with the blur radius and it shows no banding.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from redframe.color import srgb_decode, srgb_encode
from redframe.frame.emblem import dot_mask
from redframe.frame.fonts import render_line
from redframe.frame.plan import Element, FramePlan, _glow_sigma
from redframe.frame.stamp import stamp_mask

__all__ = ["draw_frame"]

_BACKDROP_SHORT_SIDE = 192


def _scale(dtype) -> float:
    return 65535.0 if dtype == np.uint16 else 255.0


def _color(rgb: tuple[int, int, int], dtype) -> np.ndarray:
    return np.array(rgb, dtype=np.float32) * np.float32(_scale(dtype) / 255.0)


def _blend(canvas: np.ndarray, alpha: np.ndarray, x0: int, y0: int, color: np.ndarray,
           mode: str = "normal") -> None:
    """Blend ``color`` (3,) or per pixel (h, w, 3) into ``canvas`` through ``alpha``
    (float 0..1, (h, w)) placed with its top-left at canvas (x0, y0)."""
    H, W = canvas.shape[:2]
    h, w = alpha.shape[:2]
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(W, x0 + w), min(H, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    a = alpha[cy0 - y0: cy1 - y0, cx0 - x0: cx1 - x0].astype(np.float32)
    if color.ndim == 3:
        color = color[cy0 - y0: cy1 - y0, cx0 - x0: cx1 - x0]
    if a.ndim == 2:
        a = a[..., None]
    if not a.any():
        return
    region = canvas[cy0:cy1, cx0:cx1].astype(np.float32)
    top = _scale(canvas.dtype)
    if mode == "screen":  # light added to film: brightens, never darkens
        out = top - (top - region) * (1.0 - a * (color / top))
    else:
        out = region + (color - region) * a
    canvas[cy0:cy1, cx0:cx1] = np.clip(np.rint(out), 0, top).astype(canvas.dtype)


def _dither_tile(shape: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(20240517)
    return rng.uniform(-0.5, 0.5, size=(*shape, 1)).astype(np.float32)


def _backdrop(plan: FramePlan, photo: np.ndarray, dtype) -> np.ndarray:
    """The blurred, darkened, shadowed copy of the photo that fills the canvas."""
    W, H = plan.canvas_size
    k = _BACKDROP_SHORT_SIDE / min(W, H)
    sw, sh = max(2, round(W * k)), max(2, round(H * k))
    ph, pw = photo.shape[:2]
    cover = max(sw / pw, sh / ph)  # the photo scaled to cover the canvas, centred
    cw, ch = max(sw, math.ceil(pw * cover)), max(sh, math.ceil(ph * cover))
    small = cv2.resize(photo, (cw, ch), interpolation=cv2.INTER_AREA).astype(np.float32)
    ox, oy = (cw - sw) // 2, (ch - sh) // 2
    small = small[oy: oy + sh, ox: ox + sw] / np.float32(_scale(photo.dtype))
    sigma = max(0.5, plan.layout.canvas.blur * plan.unit * k)
    small = cv2.GaussianBlur(small, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    small *= np.float32(plan.layout.canvas.darken)
    if plan.shadow > 0:
        x0, y0, x1, y1 = plan.photo_box
        drop = 0.3 * plan.shadow
        mask = np.zeros((sh, sw), np.float32)
        cv2.rectangle(mask, (round(x0 * k), round((y0 + drop) * k)),
                      (round(x1 * k) - 1, round((y1 + drop) * k) - 1), 1.0, thickness=-1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, plan.shadow * k / 2))
        small *= (1.0 - plan.layout.canvas.shadow_opacity * mask)[..., None]
    # upscale once, at 16 bits (not float: 2 bytes a channel on 100 MP canvases)
    small16 = np.clip(np.rint(small * np.float32(65535)), 0, 65535).astype(np.uint16)
    big = cv2.resize(small16, (W, H), interpolation=cv2.INTER_CUBIC)
    if dtype == np.uint16:
        return big
    tile = _dither_tile((64, 64))
    out = np.empty((H, W, 3), dtype)
    row_noise = np.tile(tile, (1, math.ceil(W / 64), 3))[:, :W]
    # 8 bits: dithered so that smooth gradients do not band; only where the backdrop shows
    # (the photo covers the rest, except its corner squares when they are rounded)
    px0, py0, px1, py1 = plan.photo_box
    n = math.ceil(plan.corner_radius)
    for y in range(0, H, 64):
        y1 = min(H, y + 64)
        hidden = py0 + n <= y and y1 <= py1 - n
        spans = ((0, px0), (px1, W)) if hidden else ((0, W),)
        for x0, x1 in spans:
            if x1 > x0:
                strip = big[y:y1, x0:x1].astype(np.float32) * np.float32(1 / 257)
                noisy = strip + row_noise[: y1 - y, x0:x1]
                out[y:y1, x0:x1] = np.clip(np.rint(noisy), 0, 255)
    return out


def _corner_size(box, radius: float) -> tuple[float, int]:
    x0, y0, x1, y1 = box
    r = min(radius, (x1 - x0) / 2, (y1 - y0) / 2)
    return r, math.ceil(r) if r >= 1 else 0


def _corner_slices(box, n: int):
    x0, y0, x1, y1 = box
    for flip_y, flip_x in ((False, False), (False, True), (True, False), (True, True)):
        cy = y1 - n if flip_y else y0
        cx = x1 - n if flip_x else x0
        yield flip_y, flip_x, (slice(cy, cy + n), slice(cx, cx + n))


def _round_corners(canvas: np.ndarray, behind: list[np.ndarray], box, radius: float) -> None:
    """Round the photo's corners: blend each corner square with what lies ``behind`` it."""
    r, n = _corner_size(box, radius)
    if n < 1:
        return
    ys = np.arange(n, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(n, dtype=np.float32)[None, :] + 0.5
    # top-left corner square: coverage of the rounded rectangle, analytic
    d = np.sqrt((r - xs) ** 2 + (r - ys) ** 2)
    cov = np.where((xs < r) & (ys < r), np.clip(r - d + 0.5, 0, 1), 1.0).astype(np.float32)
    for (flip_y, flip_x, sl), back in zip(_corner_slices(box, n), behind, strict=True):
        a = cov[::-1] if flip_y else cov
        a = a[:, ::-1] if flip_x else a
        photo = canvas[sl].astype(np.float32)
        mixed = back.astype(np.float32) + (photo - back.astype(np.float32)) * a[..., None]
        canvas[sl] = np.rint(mixed).astype(canvas.dtype)


def _scrim(canvas: np.ndarray, plan: FramePlan) -> None:
    px0, py0, px1, py1 = plan.photo_box
    top = _scale(canvas.dtype)
    for sc in plan.scrims:
        x0, y0, x1, y1 = sc.box
        f = sc.feather
        ex0, ey0 = max(px0, x0 - f), max(py0, y0 - f)
        ex1, ey1 = min(px1, x1 + f), min(py1, y1 + f)
        if ex1 <= ex0 or ey1 <= ey0:
            continue
        xs = np.arange(ex0, ex1, dtype=np.float32) + 0.5
        ys = np.arange(ey0, ey1, dtype=np.float32) + 0.5
        dx = np.maximum(np.maximum(x0 - xs, xs - x1), 0) / f
        dy = np.maximum(np.maximum(y0 - ys, ys - y1), 0) / f
        t = np.clip(np.sqrt(dx[None, :] ** 2 + dy[:, None] ** 2), 0, 1)
        t = t * t * (3 - 2 * t)  # smoothstep
        gain = (sc.factor + (1.0 - sc.factor) * t)[..., None]
        region = canvas[ey0:ey1, ex0:ex1].astype(np.float32) / np.float32(top)
        enc = srgb_encode(srgb_decode(region) * gain)  # the scrim darkens light, not codes
        canvas[ey0:ey1, ex0:ex1] = np.clip(np.rint(enc * top), 0, top).astype(canvas.dtype)


def _element(canvas: np.ndarray, e: Element, plan: FramePlan) -> None:
    color = _color(e.color, canvas.dtype)
    if e.kind == "text" and e.shaped is not None:
        mask, x0, y0 = render_line(e.shaped, e.origin)
        _blend(canvas, mask.astype(np.float32) / 255.0, x0, y0, color)
    elif e.kind == "emblem":
        mask, x0, y0 = dot_mask(e.origin[0], e.origin[1], e.size / 2)
        _blend(canvas, mask, x0, y0, color)
    elif e.kind == "divider" and e.rect:
        x0, y0, x1, y1 = e.rect
        _blend(canvas, np.ones((y1 - y0, x1 - x0), np.float32), x0, y0, color)
    elif e.kind == "logo" and e.rect and plan.logo is not None:
        x0, y0, x1, y1 = e.rect
        rgba = plan.logo.render(x1 - x0, y1 - y0)
        alpha = rgba[..., 3].astype(np.float32) / 255.0
        rgb = rgba[..., :3].astype(np.float32) * np.float32(_scale(canvas.dtype) / 255.0)
        _blend(canvas, alpha, x0, y0, rgb)
    elif e.kind == "stamp":
        mask = stamp_mask(e.text, e.size)
        x0, y0 = int(e.origin[0]), int(e.origin[1])
        if e.glow:
            sigma = _glow_sigma(e.size)
            pad = e.box[2] - (x0 + mask.shape[1])
            padded = np.pad(mask, pad)
            halo = cv2.GaussianBlur(padded, (0, 0), sigma) * np.float32(e.glow)
            alpha = np.clip(1 - (1 - padded) * (1 - halo), 0, 1)
            _blend(canvas, alpha, x0 - pad, y0 - pad, color, mode="screen")
        else:
            _blend(canvas, mask, x0, y0, color, mode="screen")


def draw_frame(plan: FramePlan, photo: np.ndarray) -> np.ndarray:
    """The framed canvas for ``photo`` (H, W, 3) uint8/uint16, following ``plan``."""
    W, H = plan.canvas_size
    dtype = photo.dtype
    x0, y0, x1, y1 = plan.photo_box
    _, n = _corner_size(plan.photo_box, plan.corner_radius)
    if plan.background is None:
        canvas = _backdrop(plan, photo, dtype)
        behind = [canvas[sl].copy() for _, _, sl in _corner_slices(plan.photo_box, n)]
    else:
        canvas = np.empty((H, W, 3), dtype)
        color = _color(plan.background, dtype).astype(dtype)
        canvas[:y0] = color
        canvas[y1:] = color
        canvas[y0:y1, :x0] = color
        canvas[y0:y1, x1:] = color
        behind = [np.broadcast_to(color, (n, n, 3)) for _ in range(4)]
    canvas[y0:y1, x0:x1] = photo
    if n:
        _round_corners(canvas, behind, plan.photo_box, plan.corner_radius)
    if plan.scrims:
        _scrim(canvas, plan)
    for e in plan.elements:
        _element(canvas, e, plan)
    return canvas
