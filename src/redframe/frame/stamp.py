"""A film date-back imprint ("'24 5 17") drawn as slanted seven-segment digits.

Cameras of the 1980s-90s exposed the date onto the film through a seven-segment LED
display: orange digits, slightly italic, with a soft halo where the light spread in the
emulsion. We draw the segments as vector polygons at 4x and box-filter them down to the
final size (no bitmap font, no upscaling); the halo is added by the renderer.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["stamp_width", "stamp_mask", "STAMP_CHARS"]

_SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abged", "3": "abgcd", "4": "fgbc", "5": "afgcd",
    "6": "afgedc", "7": "abc", "8": "abcdefg", "9": "abcdfg", "-": "g",
}
STAMP_CHARS = set(_SEGMENTS) | {"'", " "}
_WIDTH = 0.56  # digit cell width / height
_PITCH = 0.78  # advance per digit / height
_SPACE = 0.55  # advance of a space / height
_TICK = 0.30  # advance of the apostrophe / height
_SLANT = math.tan(math.radians(7.0))
_SS = 4  # supersampling factor


def _advance(ch: str) -> float:
    return {" ": _SPACE, "'": _TICK}.get(ch, _PITCH)


def stamp_width(text: str, height: float) -> float:
    """Advance width in px of ``text`` with digits ``height`` px tall (slant included)."""
    chars = [c for c in text if c in STAMP_CHARS]
    if not chars:
        return 0.0
    return (sum(_advance(c) for c in chars[:-1]) + (_WIDTH if chars[-1] not in " '" else 0.1)
            + _SLANT) * height


def _segment_polys(ch: str, x: float, h: float) -> list[list[tuple[float, float]]]:
    t = 0.13 * h  # stroke
    w = _WIDTH * h
    g = 0.025 * h  # gap between segments
    half = t / 2
    top, mid, bot = half, h / 2, h - half
    left, right = x + half, x + w - half

    def hseg(y, x0, x1):
        return [(x0 + g, y), (x0 + g + half, y - half), (x1 - g - half, y - half), (x1 - g, y),
                (x1 - g - half, y + half), (x0 + g + half, y + half)]

    def vseg(xc, y0, y1):
        return [(xc, y0 + g), (xc + half, y0 + g + half), (xc + half, y1 - g - half),
                (xc, y1 - g), (xc - half, y1 - g - half), (xc - half, y0 + g + half)]

    table = {
        "a": hseg(top, left, right), "g": hseg(mid, left, right), "d": hseg(bot, left, right),
        "f": vseg(left, top, mid), "b": vseg(right, top, mid),
        "e": vseg(left, mid, bot), "c": vseg(right, mid, bot),
    }
    if ch == "'":
        return [vseg(x + half, 0.0, 0.36 * h)]
    return [table[s] for s in _SEGMENTS.get(ch, "")]


def stamp_mask(text: str, height: float) -> np.ndarray:
    """Coverage (float32 0..1, shape (ceil(h)+2, ceil(w)+2)) of ``text``, 1 px padded."""
    chars = [c for c in text if c in STAMP_CHARS]
    width = stamp_width(text, height)
    W, H = math.ceil(width) + 2, math.ceil(height) + 2
    image = Image.new("L", (W * _SS, H * _SS), 0)
    draw = ImageDraw.Draw(image)
    x = 0.0
    for ch in chars:
        for poly in _segment_polys(ch, x, height):
            # slant: shift each point right by its height above the baseline
            pts = [((px + (height - py) * _SLANT + 1) * _SS, (py + 1) * _SS) for px, py in poly]
            draw.polygon(pts, fill=255)
        x += _advance(ch) * height
    small = image.reduce(_SS)
    return np.asarray(small, dtype=np.float32) / 255.0
