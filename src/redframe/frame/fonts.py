"""Fonts for frames: the bundled OFL faces, user fonts, fallbacks and text at final size.

Bundled (``fonts/``, SIL Open Font License 1.1, licence texts beside them):

- Inter (Rasmus Andersson) Bold, Regular and Light: Latin, Greek (``α7R V``), Cyrillic,
  with tabular figures (OpenType ``tnum``) so exposure values line up;
- Noto Sans Hebrew and Noto Sans Arabic (Regular), as fallbacks for right-to-left text
  that hostile or localised EXIF carries.

A line is split into runs, each drawn with the first face whose character map has the
characters (read from the font's ``cmap`` table, see :func:`coverage`); characters that no
face has (emoji, CJK when no user font covers it) are dropped rather than drawn as empty
boxes. Shaping, kerning, bidi and features come from FreeType + HarfBuzz (Pillow's raqm
layout) when available, else Pillow's basic layout without features.

Text is always rasterised at its final pixel size (no scaled bitmaps): a line becomes an
8-bit coverage mask that the renderer blends into the canvas.
"""

from __future__ import annotations

import functools
import math
import re
import struct
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from redframe.errors import UsageError

__all__ = ["BUNDLED", "FALLBACKS", "Face", "face", "coverage", "LineText", "shape_line",
           "fit_text", "ELLIPSIS"]

ELLIPSIS = "\u2026"
_FONT_DIR = resources.files("redframe.frame").joinpath("fonts")
#: Bundled faces by the names layouts use.
BUNDLED = {"bold": "Inter-Bold.otf", "regular": "Inter-Regular.otf", "light": "Inter-Light.otf"}
#: Bundled fallback faces, tried in order for characters the main face lacks.
FALLBACKS = ("NotoSansHebrew-Regular.ttf", "NotoSansArabic-Regular.ttf")

_RAQM = features.check_feature("raqm")
_LAYOUT = ImageFont.Layout.RAQM if _RAQM else ImageFont.Layout.BASIC
# Optical sizing of spaces: below this size a thin space rounds to a pixel or two and the
# values run together, so it is set as a word space.
_THIN_MIN_PX = 28.0
# Characters that never need a glyph of their own: they ride along in the current run.
_RIDERS = {"\u200c", "\u200d", "\ufe0e", "\ufe0f"}


def _bundled(name: str) -> str:
    return str(_FONT_DIR.joinpath(name))


@functools.lru_cache(maxsize=64)
def coverage(path: str) -> frozenset[int] | None:
    """The code points a TrueType/OpenType font maps to glyphs (its ``cmap``), or ``None``.

    Reads the Windows Unicode subtables (format 4 for the BMP, format 12 for all planes);
    ``None`` means "could not tell" and the face is then trusted with every character.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        offset = 0
        if data[:4] == b"ttcf":  # a collection: the first font
            offset = struct.unpack_from(">I", data, 12)[0]
        num_tables = struct.unpack_from(">H", data, offset + 4)[0]
        cmap_at = None
        for i in range(num_tables):
            tag, _, table_offset, _ = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
            if tag == b"cmap":
                cmap_at = table_offset
        if cmap_at is None:
            return None
        count = struct.unpack_from(">H", data, cmap_at + 2)[0]
        subtables = {}
        for i in range(count):
            platform, encoding, sub = struct.unpack_from(">HHI", data, cmap_at + 4 + 8 * i)
            subtables[(platform, encoding)] = cmap_at + sub
        for key in ((3, 10), (0, 4), (0, 6), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0)):
            if key in subtables:
                codes = _read_cmap(data, subtables[key])
                if codes is not None:
                    return frozenset(codes)
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _read_cmap(data: bytes, at: int) -> set[int] | None:
    fmt = struct.unpack_from(">H", data, at)[0]
    codes: set[int] = set()
    if fmt == 4:
        seg2 = struct.unpack_from(">H", data, at + 6)[0]
        ends = struct.unpack_from(f">{seg2 // 2}H", data, at + 14)
        starts = struct.unpack_from(f">{seg2 // 2}H", data, at + 16 + seg2)
        deltas = struct.unpack_from(f">{seg2 // 2}h", data, at + 16 + 2 * seg2)
        ro_at = at + 16 + 3 * seg2
        offsets = struct.unpack_from(f">{seg2 // 2}H", data, ro_at)
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if start == 0xFFFF:
                continue
            for c in range(start, end + 1):
                if offsets[i] == 0:
                    glyph = (c + deltas[i]) & 0xFFFF
                else:
                    g_at = ro_at + 2 * i + offsets[i] + 2 * (c - start)
                    glyph = struct.unpack_from(">H", data, g_at)[0]
                    glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
                if glyph:
                    codes.add(c)
        return codes
    if fmt == 12:
        n = struct.unpack_from(">I", data, at + 12)[0]
        for i in range(n):
            start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * i)
            if glyph or start != end:
                codes.update(range(start, end + 1))
        return codes
    return None


@dataclass(frozen=True)
class Face:
    """A font file plus the fallbacks to try for characters it lacks."""

    path: str
    fallbacks: tuple[str, ...] = ()

    def chain(self) -> tuple[str, ...]:
        return (self.path, *self.fallbacks)


def face(name_or_path: str, *, fallbacks: tuple[str, ...] | None = None) -> Face:
    """A :class:`Face` for a bundled name (``bold``, ``regular``, ``light``) or a font file.

    Raises :class:`UsageError` when a user font is missing or is not a font FreeType can
    open, naming the file.
    """
    if fallbacks is None:
        fallbacks = tuple(_bundled(f) for f in FALLBACKS)
    if name_or_path in BUNDLED:
        return Face(_bundled(BUNDLED[name_or_path]), fallbacks)
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        known = ", ".join(BUNDLED)
        raise UsageError(f"font {str(name_or_path)!r} not found (a font file, or one of {known})")
    _check_font(str(path))
    return Face(str(path), fallbacks)


@functools.lru_cache(maxsize=32)
def _check_font(path: str) -> None:
    try:
        ImageFont.truetype(path, 12, layout_engine=_LAYOUT)
    except OSError as exc:
        raise UsageError(f"font {path!r} cannot be read ({exc}); use a .ttf or .otf file") from None


@functools.lru_cache(maxsize=256)
def _font(path: str, size_q: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size_q / 4, layout_engine=_LAYOUT)


def font(path: str, size: float) -> ImageFont.FreeTypeFont:
    """``path`` at ``size`` pixels (em), cached; sizes are quantised to 1/4 px."""
    return _font(path, max(1, round(size * 4)))


@functools.lru_cache(maxsize=64)
def cap_height(path: str) -> float:
    """Height of a capital H as a fraction of the em (0.727 for Inter)."""
    f = _font(path, 400)
    top = f.getbbox("H", anchor="ls")[1]
    return -top / 100.0 if top < 0 else 0.7


def _covers(path: str, ch: str) -> bool:
    codes = coverage(path)
    return codes is None or ord(ch) in codes


def split_runs(text: str, face_: Face) -> list[tuple[str, str]]:
    """``text`` as (font path, run) pieces; characters no face has are dropped."""
    runs: list[list[str]] = []  # [path, text]
    chain = face_.chain()
    for ch in text:
        if ch in _RIDERS or unicodedata.category(ch) in ("Mn", "Me"):
            if runs:
                runs[-1][1] += ch
            continue
        current = runs[-1][0] if runs else None
        if current is not None and (_covers(current, ch) or (ch.isspace() and ch == " ")):
            runs[-1][1] += ch
            continue
        target = next((p for p in chain if _covers(p, ch)), None)
        if target is None:
            if ch.isspace() and runs:
                runs[-1][1] += " "
            continue  # no face has it (emoji...): leave it out rather than draw a box
        if current == target:
            runs[-1][1] += ch
        else:
            runs.append([target, ch])
    out = [(p, re.sub(r"\s{2,}", " ", t)) for p, t in runs if t.strip()]
    for i in range(1, len(out)):  # one space where a run boundary met two
        if out[i - 1][1].endswith(" ") and out[i][1].startswith(" "):
            out[i] = (out[i][0], out[i][1].lstrip())
    if out:  # no dangling spaces where dropped characters were
        out[0] = (out[0][0], out[0][1].lstrip())
        out[-1] = (out[-1][0], out[-1][1].rstrip())
    return [(p, t) for p, t in out if t]


@dataclass
class LineText:
    """One line of text shaped at a size: runs, advance width and ink extents."""

    text: str
    runs: list[tuple[str, str]]
    size: float
    features: tuple[str, ...]
    tracking: float  # extra space after every character, px
    width: float  # advance width, px
    ink: tuple[float, float, float, float]  # (left, top, right, bottom) from the pen at baseline

    @property
    def empty(self) -> bool:
        return not self.runs


def _pieces(runs, tracking: float):
    """Yield (path, text) drawing units: whole runs, or characters when tracking."""
    for path, text in runs:
        if tracking and all(unicodedata.bidirectional(c) in ("L", "EN", "WS", "CS", "ES", "ET",
                                                            "ON") for c in text):
            for ch in text:
                yield path, ch, True
        else:
            yield path, text, False


def shape_line(text: str, face_: Face, size: float, *, features_: tuple[str, ...] = (),
               tracking: float = 0.0) -> LineText:
    """Measure ``text`` at ``size`` px: advance width and ink box, across fallback runs."""
    if size < _THIN_MIN_PX:
        text = text.replace("\u2009", " ")
    runs = split_runs(text, face_) if text else []
    feats = list(features_) if (_RAQM and features_) else None
    x = 0.0
    left = top = math.inf
    right = bottom = -math.inf
    track_px = tracking * size
    for path, piece, tracked in _pieces(runs, track_px):
        f = font(path, size)
        bx0, by0, bx1, by1 = f.getbbox(piece, anchor="ls", features=feats)
        if bx1 > bx0 and by1 > by0:
            left, top = min(left, x + bx0), min(top, by0)
            right, bottom = max(right, x + bx1), max(bottom, by1)
        x += f.getlength(piece, features=feats) + (track_px if tracked else 0.0)
    if tracking and runs:
        x -= track_px  # no tracking after the last character
    if left is math.inf:
        left = top = right = bottom = 0.0
    clean = "".join(t for _, t in runs)
    return LineText(clean, runs, size, tuple(features_), track_px, x, (left, top, right, bottom))


def render_line(line: LineText, origin: tuple[float, float]) -> tuple[np.ndarray, int, int]:
    """Rasterise ``line`` with its pen at canvas ``origin`` (x, baseline y), at final size.

    Returns (coverage mask uint8 (h, w), x0, y0): the mask's top-left in canvas pixels.
    """
    ox, oy = origin
    l, t, r, b = line.ink
    x0, y0 = math.floor(ox + l) - 1, math.floor(oy + t) - 1
    x1, y1 = math.ceil(ox + r) + 1, math.ceil(oy + b) + 1
    w, h = max(1, x1 - x0), max(1, y1 - y0)
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    feats = list(line.features) if (_RAQM and line.features) else None
    x = ox - x0
    for path, piece, tracked in _pieces(line.runs, line.tracking):
        f = font(path, line.size)
        draw.text((x, oy - y0), piece, font=f, fill=255, anchor="ls", features=feats)
        x += f.getlength(piece, features=feats) + (line.tracking if tracked else 0.0)
    return np.asarray(mask), x0, y0


def fit_text(text: str, face_: Face, size: float, max_width: float, *,
             features_: tuple[str, ...] = (), tracking: float = 0.0) -> LineText:
    """``text`` cut with an ellipsis so that its advance fits ``max_width`` (may be empty)."""
    full = shape_line(text, face_, size, features_=features_, tracking=tracking)
    if full.width <= max_width:
        return full
    chars = list(full.text)
    lo, hi = 0, len(chars)  # lo fits (0 chars = just the ellipsis, checked below)
    best = None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        candidate = "".join(chars[:mid]).rstrip(" \u2009·,;:-–—/|") + ELLIPSIS
        shaped = shape_line(candidate, face_, size, features_=features_, tracking=tracking)
        if shaped.width <= max_width:
            lo, best = mid, shaped
        else:
            hi = mid - 1
    if best is None:
        only = shape_line(ELLIPSIS, face_, size, features_=features_, tracking=tracking)
        return only if only.width <= max_width else shape_line("", face_, size)
    return best
