"""Frame geometry: where every line, emblem, divider and imprint goes, before any pixel.

:func:`plan_frame` turns (photo size, metadata, layout) into a :class:`FramePlan`: the
canvas size, the photo's place, and a list of :class:`Element` boxes. It is pure geometry
(the overlay layout also reads the photo's pixels to choose a text colour), so tests can
check it and the renderer in :mod:`redframe.frame.draw` only paints what it says.

Width budget. Groups sit in bands (the top and bottom margins, or on the photo). When the
text does not fit a band it degrades in defined steps, never overlapping or overflowing:

1. all type (and emblem, gaps) shrinks together, in 6 % steps, down to the layout's
   ``min_scale`` (0.7 by default), if that alone makes the text fit;
2. otherwise the widest *secondary* line that sets its group's width is cut with an
   ellipsis (and so on until the band fits), at the largest type size for which every cut
   line keeps at least 8 characters: a 120-character lens name is cut, it does not shrink
   the whole frame first;
3. failing that, at ``min_scale``: ellipses on secondary then *primary* lines; then emblem,
   divider and imprint are dropped; then whole lines, secondary first;
4. lines whose type would fall under ``min_text_px`` are not drawn (tiny images), with a
   note.

Vertical metrics. A stack of lines is measured from the cap height of its first line to
the baseline of its last; consecutive baselines are ``line_gap + cap height`` apart. The
stack's *nominal* block (all its declared lines) is centred in its row, so two stacks with
the same styles share baselines, and a stack that lost a line (no lens) stays centred.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from redframe.color import LUMA_REC709, luminance, srgb_decode
from redframe.frame.emblem import Logo, dot_mask
from redframe.frame.fonts import (
    ELLIPSIS,
    Face,
    LineText,
    cap_height,
    face,
    fit_text,
    shape_line,
)
from redframe.frame.layout import Group, Item, Layout, Style, load_layout, parse_color
from redframe.frame.stamp import stamp_width
from redframe.frame.text import first_filled, format_template

__all__ = ["Element", "Scrim", "FramePlan", "plan_frame", "aspect_of", "contrast_ratio",
           "relative_luminance"]

_SCALE_STEP = 0.94
_MIN_DOT_PX = 3.0
_MIN_KEEP = 8  # characters a cut secondary line keeps before smaller type is tried
_BANDS = ("top", "bottom", "photo")


@dataclass
class Element:
    """One thing drawn on the canvas. ``box`` = (x0, y0, x1, y1), exclusive, holds every
    pixel it may change (ink, anti-aliasing and glow)."""

    kind: str  # text | emblem | logo | divider | stamp
    group: int
    row: int
    box: tuple[int, int, int, int]
    color: tuple[int, int, int]
    on_photo: bool = False
    text: str = ""
    style: str = ""
    role: str = ""
    line_id: str = ""
    line: int = 0  # index of the line in its stack
    origin: tuple[float, float] = (0.0, 0.0)  # text: pen at baseline; emblem: centre
    size: float = 0.0  # px: font size, emblem diameter, digit height
    shaped: LineText | None = None
    rect: tuple[int, int, int, int] | None = None  # divider / logo pixels
    glow: float = 0.0

    @property
    def baseline(self) -> float | None:
        return self.origin[1] if self.kind == "text" else None


@dataclass
class Scrim:
    """A soft darkening under on-photo text: ``factor`` in linear light inside ``box``,
    fading to 1 over ``feather`` px outside it."""

    box: tuple[int, int, int, int]
    factor: float
    feather: int


@dataclass
class FramePlan:
    layout: Layout
    canvas_size: tuple[int, int]  # (width, height)
    photo_box: tuple[int, int, int, int]  # (x0, y0, x1, y1)
    background: tuple[int, int, int] | None  # None: blurred backdrop
    elements: list[Element]
    scrims: list[Scrim] = field(default_factory=list)
    corner_radius: float = 0.0
    shadow: float = 0.0
    unit: float = 0.0  # px per layout unit (the photo's short side)
    scale: float = 1.0
    values: dict[str, str | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    logo: Logo | None = None


def aspect_of(width: int, height: int) -> str:
    """``square`` within 3 %, else ``landscape`` or ``portrait``."""
    if abs(width - height) <= 0.03 * max(width, height):
        return "square"
    return "landscape" if width > height else "portrait"


# ------------------------------------------------------------------------------ slots


@dataclass
class _Line:
    id: str
    style_name: str
    style: Style
    face: Face
    text: str  # resolved, before any cut
    literal: bool  # template had no field: decoration such as "Shot on"
    cap: float = 0.0  # cap height, em fraction
    hidden: bool = False
    cut_width: float | None = None
    shaped: LineText | None = None
    size: float = 0.0

    @property
    def visible(self) -> bool:
        return not self.hidden and self.shaped is not None and not self.shaped.empty


@dataclass
class _Slot:
    item: Item
    lines: list[_Line]
    text: str = ""  # stamp text
    hidden: bool = False
    # geometry at the current scale
    width: float = 0.0
    height: float = 0.0
    visible: bool = False


@dataclass
class _Group:
    index: int
    group: Group
    slots: list[_Slot]
    rows: list[list[_Slot]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    row_sizes: list[tuple[float, float]] = field(default_factory=list)  # (width, height)


class _Planner:
    def __init__(self, layout: Layout, photo_size: tuple[int, int], values: dict, *,
                 missing: str, templates: dict[str, Any], faces: dict[str, Face],
                 logo: Logo | None, emblem: bool, text_scale: float):
        self.layout = layout
        self.w, self.h = photo_size
        self.u = float(min(self.w, self.h))
        self.values = values
        self.missing = missing
        self.logo = logo
        self.text_scale = text_scale
        self._no_emblem = not emblem
        self.notes: list[str] = []
        top, right, bottom, left = (round(m * self.u) for m in layout.canvas.margin)
        self.margins = (top, right, bottom, left)
        self.W, self.H = self.w + left + right, self.h + top + bottom
        self.photo = (left, top, left + self.w, top + self.h)
        self.bands = {
            "top": (left, 0, left + self.w, top),
            "bottom": (left, top + self.h, left + self.w, self.H),
            "photo": self.photo,
        }
        used: set[str] = set()
        self.groups: list[_Group] = []
        for gi, g in enumerate(layout.groups):
            slots = []
            for it in g.items:
                if it.type == "text":
                    lines = [self._resolve(line, templates, faces, used) for line in it.lines]
                    slots.append(_Slot(it, lines))
                elif it.type == "stamp":
                    text = format_template(it.text, values, missing="hide")
                    slots.append(_Slot(it, [], text=text, hidden=not text))
                else:
                    hidden = it.type == "emblem" and not emblem
                    slots.append(_Slot(it, [], hidden=hidden))
            self.groups.append(_Group(gi, g, slots))

    def _resolve(self, line, templates, faces, used) -> _Line:
        style = self.layout.styles[line.style]
        options = templates.get(line.id, line.templates)
        options = [options] if isinstance(options, str) else list(options)
        literal = not any("{" in t.replace("{{", "") for t in options)
        text = ""
        if literal:
            text = options[0] if options else ""
        else:
            for template in options:
                candidate = first_filled(template, self.values, missing="hide")
                if candidate and candidate not in used:
                    text = candidate
                    break
            if not text and self.missing == "dash":
                text = first_filled(options, self.values, missing="dash")
            if text:
                used.add(text)
        if style.case == "upper":  # Latin letters only: "α7R" must not become "Α7R"
            text = "".join(c.upper() if c.isascii() else c for c in text)
        fc = faces.get(style.font) or face(style.font)
        return _Line(line.id, line.style, style, fc, text, literal, cap=cap_height(fc.path))

    # -------------------------------------------------------------- measuring

    def measure(self, s: float) -> None:
        for g in self.groups:
            for slot in g.slots:
                for line in slot.lines:
                    self._shape(line, s)
            self._group_geometry(g, s)

    def _shape(self, line: _Line, s: float) -> None:
        line.size = line.style.size * self.u * s * self.text_scale
        if line.hidden or not line.text or line.size < self.layout.min_text_px:
            line.shaped = None
            return
        kw = dict(features_=line.style.features, tracking=line.style.tracking)
        if line.cut_width is not None:
            line.shaped = fit_text(line.text, line.face, line.size, line.cut_width, **kw)
        else:
            line.shaped = shape_line(line.text, line.face, line.size, **kw)

    def _nominal(self, slot: _Slot, s: float, visible_only: bool) -> float:
        """Height of a text stack: first cap height to last baseline."""
        gap = self._group_of(slot).group.line_gap * self.u * s * self.text_scale
        lines = [ln for ln in slot.lines if ln.visible] if visible_only else slot.lines
        if not lines:
            return 0.0
        caps = [ln.cap * ln.style.size * self.u * s * self.text_scale for ln in lines]
        return sum(caps) + gap * (len(lines) - 1)

    def _group_of(self, slot: _Slot) -> _Group:
        for g in self.groups:
            if any(x is slot for x in g.slots):
                return g
        raise LookupError("slot not in any group")

    def _group_geometry(self, g: _Group, s: float) -> None:
        k = self.u * s * self.text_scale
        rows: dict[int, list[_Slot]] = {}
        for slot in g.slots:
            rows.setdefault(slot.item.row, []).append(slot)
        text_blocks = [self._nominal(x, s, False) for x in g.slots if x.item.type == "text"]
        fallback_block = max(text_blocks, default=0.03 * k)
        g.rows, g.row_sizes = [], []
        for r in sorted(rows):
            row = rows[r]
            informative = any(ln.visible and not ln.literal for x in row for ln in x.lines)
            blocks = [self._nominal(x, s, False) for x in row if x.item.type == "text"]
            block = max(blocks, default=0.0) or fallback_block
            for slot in row:
                it = slot.item
                slot.visible = False
                if slot.hidden:
                    continue
                if it.type == "text":
                    vis = [ln for ln in slot.lines
                           if ln.visible and (informative or not ln.literal)]
                    if vis:
                        slot.visible = True
                        slot.width = max(ln.shaped.width for ln in vis)
                        slot.height = self._nominal(slot, s, False)
                elif it.type == "emblem":
                    d = (block * it.height) if it.size == "block" else it.size * k
                    if d >= _MIN_DOT_PX:
                        slot.visible = True
                        if self.logo is not None:
                            lw, lh = self.logo.size_for(d)
                            slot.width, slot.height = float(lw), float(lh)
                        else:
                            slot.width = slot.height = d
                elif it.type == "divider":
                    slot.width = max(1.0, round(it.width * k))
                    slot.height = block * it.height
                    slot.visible = slot.height >= 3
                elif it.type == "stamp":
                    size = float(it.size) * k
                    if slot.text and size >= self.layout.min_text_px:
                        slot.visible = True
                        slot.width = stamp_width(slot.text, size)
                        slot.height = size
            # a divider shows only between two visible items
            for i, slot in enumerate(row):
                if slot.item.type == "divider" and slot.visible:
                    before = any(x.visible and x.item.type != "divider" for x in row[:i])
                    after = any(x.visible and x.item.type != "divider" for x in row[i + 1:])
                    slot.visible = before and after
            vis = [x for x in row if x.visible]
            if not vis:
                continue
            gap = g.group.gap * k
            width = sum(x.width for x in vis) + gap * (len(vis) - 1)
            height = max(x.height for x in vis)
            g.rows.append(vis)
            g.row_sizes.append((width, height))
        row_gap = g.group.row_gap * k
        g.width = max((w for w, _ in g.row_sizes), default=0.0)
        g.height = sum(h for _, h in g.row_sizes) + row_gap * max(0, len(g.row_sizes) - 1)

    # -------------------------------------------------------------- fitting

    def _x_interval(self, g: _Group) -> tuple[float, float]:
        bx0, _, bx1, _ = self.bands[g.group.band]
        inset = g.group.inset * self.u
        if g.group.align == "left":
            x0 = bx0 + inset
        elif g.group.align == "right":
            x0 = bx1 - inset - g.width
        else:
            x0 = (bx0 + bx1) / 2 - g.width / 2
        return x0, x0 + g.width

    def _y_interval(self, g: _Group) -> tuple[float, float]:
        _, by0, _, by1 = self.bands[g.group.band]
        inset = g.group.inset * self.u if g.group.band == "photo" else 0.0
        if g.group.valign == "top":
            y0 = by0 + inset
        elif g.group.valign == "bottom":
            y0 = by1 - inset - g.height
        else:
            y0 = (by0 + by1) / 2 - g.height / 2
        return y0, y0 + g.height

    def excess(self, band: str) -> tuple[float, bool]:
        """(horizontal excess in px, vertical overflow) of the groups in ``band``."""
        groups = [g for g in self.groups if g.group.band == band and g.rows]
        if not groups:
            return 0.0, False
        bx0, by0, bx1, by1 = self.bands[band]
        band_h = by1 - by0
        sep = 0.02 * self.u
        over = 0.0
        vertical = False
        spans = []
        for g in groups:
            x0, x1 = self._x_interval(g)
            over = max(over, bx0 - x0, x1 - bx1)
            y0, y1 = self._y_interval(g)
            if band == "photo":
                vertical |= y0 < by0 or y1 > by1
            else:
                # leave room above the caps and below the descenders
                vertical |= g.height > 0.8 * band_h - 2
            spans.append((x0, x1, y0, y1, g))
        for i, (a0, a1, ay0, ay1, ga) in enumerate(spans):
            for b0, b1, by0_, by1_, gb in spans[i + 1:]:
                if ay1 + sep <= by0_ or by1_ + sep <= ay0:
                    continue  # no vertical overlap
                needed = min(a1 + sep - b0, b1 + sep - a0)
                if needed > 0:
                    # a centred group stays centred: each side must give way twice over
                    centred = "center" in (ga.group.align, gb.group.align)
                    over = max(over, needed * (2 if centred else 1))
        return over, vertical

    def fits(self) -> tuple[bool, bool]:
        h_ok = v_ok = True
        for band in ("top", "bottom", "photo"):
            over, vertical = self.excess(band)
            h_ok &= over <= 0.5
            v_ok &= not vertical
        return h_ok, v_ok

    def _scales(self) -> list[float]:
        """Type scales to try, largest first: down to ``min_scale``, but not so small that
        a line would fall under ``min_text_px`` (that would "fit" by hiding it)."""
        sizes = [ln.style.size * self.u * self.text_scale for g in self.groups
                 for slot in g.slots for ln in slot.lines if ln.text]
        floor = max((self.layout.min_text_px / size for size in sizes), default=0.0)
        out, s = [], 1.0
        while s >= max(self.layout.min_scale, floor) - 1e-9:
            out.append(s)
            s *= _SCALE_STEP
        return out or [1.0]

    def _reset_cuts(self) -> None:
        for g in self.groups:
            for slot in g.slots:
                for ln in slot.lines:
                    ln.cut_width = None
                    ln.hidden = False
                if slot.item.type in ("divider", "stamp") or (
                        slot.item.type == "emblem" and not self._no_emblem):
                    slot.hidden = slot.item.type == "stamp" and not slot.text

    def fit(self) -> float:
        """The type scale, after cutting or dropping what must go (see the module doc)."""
        scales = self._scales()
        # 1. smaller type, if that alone makes everything fit
        for s in scales:
            self.measure(s)
            h_ok, v_ok = self.fits()
            if h_ok and v_ok:
                return s
        # 2. the secondary lines cut with an ellipsis (keeping a few characters), at the
        #    largest type that then fits
        for s in scales:
            self._reset_cuts()
            self.measure(s)
            if not self.fits()[1]:
                continue
            if all(self._cut(band, s, "secondary", _MIN_KEEP) for band in _BANDS):
                self.measure(s)
                if all(self.fits()):
                    return s
        # 3. at the smallest type: ellipses anywhere, then drop decorations and lines
        s = scales[-1]
        self._reset_cuts()
        self.measure(s)
        while not self.fits()[1] and s > 0.05:  # vertical overflow: only smaller type helps
            s *= _SCALE_STEP
            self.measure(s)
        for band in _BANDS:
            self._degrade(band, s)
        self.measure(s)
        return s

    def _band_lines(self, band: str) -> list[tuple[_Group, _Slot, _Line]]:
        return [(g, slot, ln) for g in self.groups if g.group.band == band
                for slot in g.slots for ln in slot.lines]

    def _over(self, band: str, s: float) -> float:
        for g in self.groups:
            if g.group.band == band:
                self._group_geometry(g, s)
        value, vertical = self.excess(band)
        return math.inf if vertical else value

    def _cut(self, band: str, s: float, role: str, min_keep: int) -> bool:
        """Cut ``role`` lines of ``band`` with ellipses until it fits; False if a cut line
        would keep fewer than ``min_keep`` characters (or nothing fits)."""
        excess = self._over(band, s)
        for _ in range(400):
            if excess <= 0.5:
                return True
            if excess == math.inf:
                return False
            candidates = [(slot, ln) for _, slot, ln in self._band_lines(band)
                          if ln.visible and not ln.literal and ln.style.role == role
                          and slot.visible and ln.shaped.width >= slot.width - 0.5
                          and ln.shaped.text != ELLIPSIS]
            if not candidates:
                return False
            slot, ln = max(candidates, key=lambda c: c[1].shaped.width)
            ln.cut_width = max(0.0, ln.shaped.width - excess - 1.0)
            self._shape(ln, s)
            kept = len(ln.shaped.text) - 1 if ln.shaped is not None else 0
            if ln.shaped is None or ln.shaped.empty:
                ln.hidden = True
                if min_keep:
                    return False
            elif kept < min(min_keep, len(ln.text)):
                return False
            excess = self._over(band, s)
        return excess <= 0.5

    def _degrade(self, band: str, s: float) -> None:
        if self._over(band, s) <= 0.5:
            return
        for role in ("secondary", "primary"):
            if self._cut(band, s, role, 0):
                return
        # decorations, then whole lines (secondary first, literal words before fields)
        for g in self.groups:
            if g.group.band == band:
                for slot in g.slots:
                    if slot.item.type in ("emblem", "divider", "stamp"):
                        slot.hidden = True
        excess = self._over(band, s)
        for role in ("secondary", "primary"):
            while excess > 0.5:
                lines = [ln for _, _, ln in self._band_lines(band)
                         if ln.visible and ln.style.role == role]
                if not lines:
                    break
                widest = max(lines, key=lambda ln: (not ln.literal, ln.shaped.width))
                widest.hidden = True
                excess = self._over(band, s)
        if excess > 0.5:
            for _, _, ln in self._band_lines(band):
                ln.hidden = True
            self._over(band, s)

    # -------------------------------------------------------------- placing

    def place(self, s: float) -> list[Element]:
        k = self.u * s * self.text_scale
        elements: list[Element] = []
        for g in self.groups:
            if not g.rows:
                continue
            gx0, _ = self._x_interval(g)
            gy0, _ = self._y_interval(g)
            on_photo = g.group.band == "photo"
            y = gy0
            gap = g.group.gap * k
            for r, (row, (rw, rh)) in enumerate(zip(g.rows, g.row_sizes, strict=True)):
                if g.group.align == "left":
                    x = gx0
                elif g.group.align == "right":
                    x = gx0 + g.width - rw
                else:
                    x = gx0 + (g.width - rw) / 2
                yc = y + rh / 2
                for slot in row:
                    elements.extend(self._place_slot(g, r, slot, x, yc, k, on_photo,
                                                     alone=len(row) == 1))
                    x += slot.width + gap
                y += rh + g.group.row_gap * k
        return elements

    def _place_slot(self, g: _Group, r: int, slot: _Slot, x: float, yc: float, k: float,
                    on_photo: bool, alone: bool) -> list[Element]:
        it = slot.item
        out: list[Element] = []
        if it.type == "text":
            informative = any(ln.visible and not ln.literal for x_ in g.rows[r]
                              for ln in x_.lines)
            vis = [ln for ln in slot.lines if ln.visible and (informative or not ln.literal)]
            gap = g.group.line_gap * k
            caps = [ln.cap * ln.size for ln in vis]
            block = sum(caps) + gap * (len(vis) - 1)
            baseline = yc - block / 2
            align = g.group.align if alone else "left"
            for i, ln in enumerate(vis):
                baseline += caps[i] + (gap if i else 0.0)
                lw = ln.shaped.width
                lx = x + {"left": 0.0, "center": (slot.width - lw) / 2,
                          "right": slot.width - lw}[align]
                l_, t_, r_, b_ = ln.shaped.ink
                box = (math.floor(lx + l_) - 1, math.floor(baseline + t_) - 1,
                       math.ceil(lx + r_) + 1, math.ceil(baseline + b_) + 1)
                color = (0, 0, 0) if ln.style.color == "auto" else \
                    self.layout.color(ln.style.color)
                out.append(Element("text", g.index, r, box, color, on_photo, ln.shaped.text,
                                   ln.style_name, ln.style.role, ln.id, slot.lines.index(ln),
                                   (lx, baseline), ln.size, ln.shaped))
        elif it.type == "emblem":
            color = self.layout.color(it.color)
            if self.logo is not None:
                lw, lh = int(slot.width), int(slot.height)
                x0, y0 = round(x), round(yc - lh / 2)
                rect = (x0, y0, x0 + lw, y0 + lh)
                out.append(Element("logo", g.index, r, rect, color, on_photo, rect=rect,
                                   size=float(lh)))
            else:
                radius = slot.width / 2
                cx, cy = x + radius, yc
                mask, mx, my = dot_mask(cx, cy, radius)
                box = (mx, my, mx + mask.shape[1], my + mask.shape[0])
                out.append(Element("emblem", g.index, r, box, color, on_photo,
                                   origin=(cx, cy), size=slot.width))
        elif it.type == "divider":
            w = int(slot.width)
            x0 = round(x + slot.width / 2 - w / 2)
            y0, y1 = round(yc - slot.height / 2), round(yc + slot.height / 2)
            rect = (x0, y0, x0 + w, y1)
            out.append(Element("divider", g.index, r, rect, self.layout.color(it.color),
                               on_photo, rect=rect))
        elif it.type == "stamp":
            size = slot.height
            pad = math.ceil(3 * _glow_sigma(size)) if it.glow else 0
            x0, y0 = math.floor(x), math.floor(yc - size / 2)
            w = math.ceil(slot.width) + 2
            h = math.ceil(size) + 2
            box = (x0 - pad, y0 - pad, x0 + w + pad, y0 + h + pad)
            out.append(Element("stamp", g.index, r, box, self.layout.color(it.color), on_photo,
                               text=slot.text, origin=(float(x0), float(y0)), size=size,
                               glow=it.glow))
        return out


def _glow_sigma(size: float) -> float:
    return max(0.6, 0.12 * size)


# ------------------------------------------------------------------------------ contrast


def relative_luminance(rgb: np.ndarray, max_value: float = 255.0) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB-encoded pixels (..., 3)."""
    c = np.asarray(rgb, dtype=np.float32) / np.float32(max_value)
    return luminance(srgb_decode(c), LUMA_REC709)


def contrast_ratio(l1: float, l2: float) -> float:
    """WCAG 2 contrast ratio of two relative luminances (1..21)."""
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


_AUTO_LIGHT = (255, 255, 255)
_AUTO_DARK = (18, 18, 18)


def _auto_colors(plan_elements: list[Element], planner: _Planner, photo: np.ndarray | None,
                 scrims: list[Scrim]) -> None:
    """Colour ``auto`` text for contrast with the photo beneath; add a scrim if needed."""
    px0, py0, _, _ = planner.photo
    max_value = 65535.0 if photo is not None and photo.dtype == np.uint16 else 255.0
    for g in planner.groups:
        auto = [e for e in plan_elements if e.group == g.index and e.kind == "text"
                and planner.layout.styles[e.style].color == "auto"]
        if not auto:
            continue
        x0 = min(e.box[0] for e in auto)
        y0 = min(e.box[1] for e in auto)
        x1 = max(e.box[2] for e in auto)
        y1 = max(e.box[3] for e in auto)
        if photo is None:
            lum = np.array([0.5], dtype=np.float32)
        else:
            region = photo[max(0, y0 - py0): max(0, y1 - py0), max(0, x0 - px0): max(0, x1 - px0)]
            lum = relative_luminance(region.reshape(-1, 3), max_value) if region.size else \
                np.array([0.5], dtype=np.float32)
        bright = float(np.percentile(lum, 99.5))  # what white text must stand out from
        dark = float(np.percentile(lum, 0.5))  # what dark text must stand out from
        need = g.group.min_contrast
        white = contrast_ratio(1.0, bright)
        black = contrast_ratio(float(relative_luminance(np.array(_AUTO_DARK))), dark)
        if white >= need or black >= need:
            color = _AUTO_LIGHT if white >= black else _AUTO_DARK
        else:
            color = _AUTO_LIGHT
            target = need * 1.04  # a little headroom over the threshold
            factor = max(0.0, (1.05 / target - 0.05) / max(bright, 1e-6))
            feather = max(2, round(1.2 * max(e.size for e in auto)))
            pad = max(1, round(0.3 * max(e.size for e in auto)))
            scrims.append(Scrim((x0 - pad, y0 - pad, x1 + pad, y1 + pad), min(1.0, factor),
                                feather))
            planner.notes.append("overlay text needed a scrim for contrast")
        for e in auto:
            e.color = color


# ------------------------------------------------------------------------------ entry


def plan_frame(photo_shape: tuple[int, ...], values: dict[str, str | None], layout: str | Layout,
               *, photo: np.ndarray | None = None, missing: str = "hide",
               templates: dict[str, Any] | None = None, faces: dict[str, Face] | None = None,
               logo: Logo | None = None, emblem: bool = True, variant: str | None = None,
               pad_to: str | None = None, palette: dict[str, str] | None = None,
               text_scale: float = 1.0) -> FramePlan:
    """Lay out a frame for a photo of ``photo_shape`` (H, W, ...) with field ``values``.

    ``photo`` (the pixels) is needed only by layouts with ``auto`` text colours.
    """
    h, w = int(photo_shape[0]), int(photo_shape[1])
    if h < 1 or w < 1:
        raise ValueError(f"photo must be at least 1x1 pixels, got {w}x{h}")
    if isinstance(layout, Layout):
        lay = layout
    else:
        lay = load_layout(layout, aspect=aspect_of(w, h), variant=variant)
    if palette:
        merged = dict(lay.palette)
        for key, value in palette.items():
            parse_color(value, what=f"palette option {key!r}")
            merged[key] = value
        lay = Layout(lay.name, lay.description, lay.canvas, merged, lay.styles, lay.groups,
                     lay.min_scale, lay.min_text_px, lay.raw)
    planner = _Planner(lay, (w, h), values, missing=missing, templates=templates or {},
                       faces=faces or {}, logo=logo, emblem=emblem, text_scale=text_scale)
    s = planner.fit()
    elements = planner.place(s)
    if any(ln.size < lay.min_text_px and ln.text for g in planner.groups for sl in g.slots
           for ln in sl.lines):
        planner.notes.append(f"the photo ({w}x{h}) is too small for legible frame text")
    if not any(e.kind == "text" for e in elements) and not any(
            ln.text for g in planner.groups for sl in g.slots for ln in sl.lines
            if not ln.literal):
        planner.notes.append("no camera metadata to show: the frame has no text")
    cut = [ln.text for g in planner.groups for sl in g.slots for ln in sl.lines
           if ln.cut_width is not None or (ln.hidden and ln.text)]
    if cut:
        planner.notes.append(f"shortened to fit: {', '.join(repr(c[:40]) for c in cut)}")
    scrims: list[Scrim] = []
    _auto_colors(elements, planner, photo, scrims)

    W, H = planner.W, planner.H
    dx = dy = 0
    ratio = lay.canvas.pad_to if pad_to is None else pad_to
    if ratio and ratio != "none":
        a, b = (float(v) for v in ratio.split(":"))
        target = a / b
        if W / H > target:
            H2 = round(W / target)
            dy = (H2 - H) // 2
            H = H2
        else:
            W2 = round(H * target)
            dx = (W2 - W) // 2
            W = W2
    if dx or dy:
        for e in elements:
            e.box = _shift(e.box, dx, dy)
            e.rect = _shift(e.rect, dx, dy) if e.rect else None
            e.origin = (e.origin[0] + dx, e.origin[1] + dy)
        for sc in scrims:
            sc.box = _shift(sc.box, dx, dy)
    px0, py0, px1, py1 = planner.photo
    background = None if lay.canvas.background == "blur" else lay.color(lay.canvas.background)
    return FramePlan(
        layout=lay, canvas_size=(W, H), photo_box=(px0 + dx, py0 + dy, px1 + dx, py1 + dy),
        background=background, elements=elements, scrims=scrims,
        corner_radius=lay.canvas.corner_radius * planner.u, shadow=lay.canvas.shadow * planner.u,
        unit=planner.u, scale=s, values=dict(values), notes=planner.notes, logo=logo)


def _shift(box, dx: int, dy: int):
    x0, y0, x1, y1 = box
    return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
