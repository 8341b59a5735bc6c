"""Frame layouts: declarative TOML templates, loaded and checked into plain dataclasses.

A layout is data (``layouts/*.toml``), so a new one needs no code. Lengths are fractions of
the photo's **short side** (``u``): the same file then gives the same proportions on a
landscape, portrait or square photo (a bar of ``0.11`` is 11 % of the height of a landscape
photo and shrinks relative to the height of a portrait one, as the reference frames do).

Schema (version 1)::

    version = 1
    description = "..."
    extends = "classic"                 # optional: start from another layout, then override

    [canvas]
    background = "background"           # a palette name, "#RRGGBB", or "blur"
    margin = { top = 0, right = 0, bottom = 0.11, left = 0 }   # u
    corner_radius = 0.0                 # u, rounds the photo's corners (blur layout)
    shadow = 0.0                        # u, blur radius of a drop shadow under the photo
    shadow_opacity = 0.45
    blur = 0.05                         # u, blur radius of the backdrop (background="blur")
    darken = 0.55                       # backdrop brightness factor (background="blur")
    pad_to = "none"                     # "1:1", "4:5", "9:16"...: grow the canvas to a ratio

    [palette]                           # names for colours used below
    background = "#FFFFFF"
    text = "#000000"

    [styles.primary]                    # a text style
    font = "bold"                       # bold | regular | light | path to a .ttf/.otf
    size = 0.032                        # em size, u
    color = "text"                      # palette name, "#RRGGBB", or "auto" (contrast)
    role = "primary"                    # "secondary" lines are cut with an ellipsis first
    features = ["tnum"]                 # OpenType features (tabular figures)
    tracking = 0.0                      # extra letter spacing, em
    case = "none"                       # "none" | "upper"

    [fit]
    min_scale = 0.7                     # type may shrink to this before ellipses
    min_text_px = 6                     # lines smaller than this are not drawn

    [[group]]                           # a block of items anchored in a band
    band = "bottom"                     # top | bottom (margins) | photo (on the image)
    align = "left"                      # left | center | right
    valign = "center"                   # center | top | bottom
    inset = 0.03                        # u from the band's sides (and top/bottom on "photo")
    gap = 0.02                          # u between items of a row
    line_gap = 0.011                    # u from a baseline to the next line's cap height
    row_gap = 0.012                     # u between rows
    min_contrast = 4.5                  # for color = "auto" (WCAG 2 contrast ratio)

      [[group.item]]
      type = "text"                     # text | emblem | divider | stamp
      row = 0                           # rows stack vertically within the group
      lines = [ { text = "{camera}", style = "primary" },
                { text = ["{lens}", "{datetime}"], style = "secondary" } ]
      # a line may carry id = "..." for the templates option (default: its first field)

Items: ``emblem`` (``size`` = "block", the text block height of its row, or u; ``color``;
replaced by the user's logo when one is given), ``divider`` (``width`` u, ``height`` as a
multiple of the block height, ``color``; drawn only between two visible items), ``stamp``
(a seven-segment date-back imprint: ``text``, ``size`` digit height u, ``color``, ``glow``).

``[portrait]``, ``[square]`` and ``[landscape]`` tables hold overrides merged over the layout
for photos of that aspect, ``[variants.NAME]`` overrides chosen with ``variant="NAME"``.
"""

from __future__ import annotations

import copy
import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from redframe.errors import UsageError, toml_problem
from redframe.frame.text import check_template

__all__ = ["Layout", "Canvas", "Style", "Group", "Item", "Line", "list_layouts", "load_layout",
           "parse_color", "LAYOUT_VERSION"]

LAYOUT_VERSION = 1
_LAYOUT_DIR = resources.files("redframe.frame").joinpath("layouts")
_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")


def parse_color(value: str, palette: dict[str, str] | None = None, *,
                what: str = "colour") -> tuple[int, int, int]:
    """``"#RRGGBB"`` or a palette name -> (r, g, b) 0-255."""
    text = str(value).strip()
    if palette and text in palette:
        text = str(palette[text]).strip()
    m = _HEX.match(text)
    if not m:
        raise UsageError(f"{what} must be '#RRGGBB' or a palette name, not {value!r}")
    h = m.group(1)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@dataclass(frozen=True)
class Style:
    font: str = "regular"
    size: float = 0.03
    color: str = "text"  # palette name, "#RRGGBB" or "auto"
    role: str = "primary"
    features: tuple[str, ...] = ("tnum",)
    tracking: float = 0.0
    case: str = "none"


@dataclass(frozen=True)
class Line:
    templates: tuple[str, ...]
    style: str
    id: str = ""  # for the ``templates`` option; defaults to the first field's name


@dataclass(frozen=True)
class Item:
    type: str
    row: int = 0
    lines: tuple[Line, ...] = ()
    size: float | str = "block"
    width: float = 0.003
    height: float = 1.1
    color: str = "accent"
    text: str = ""
    glow: float = 0.0


@dataclass(frozen=True)
class Group:
    band: str = "bottom"
    align: str = "left"
    valign: str = "center"
    inset: float = 0.03
    gap: float = 0.02
    line_gap: float = 0.011
    row_gap: float = 0.012
    min_contrast: float = 4.5
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Canvas:
    background: str = "background"
    margin: tuple[float, float, float, float] = (0.0, 0.0, 0.11, 0.0)  # top, right, bottom, left
    corner_radius: float = 0.0
    shadow: float = 0.0
    shadow_opacity: float = 0.45
    blur: float = 0.05
    darken: float = 0.55
    pad_to: str = "none"


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    canvas: Canvas
    palette: dict[str, str]
    styles: dict[str, Style]
    groups: tuple[Group, ...]
    min_scale: float = 0.7
    min_text_px: float = 6.0
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def color(self, name: str) -> tuple[int, int, int]:
        return parse_color(name, self.palette, what=f"layout {self.name!r} colour")


def list_layouts() -> list[str]:
    """Names of the bundled layouts, sorted."""
    return sorted(p.name[:-5] for p in _LAYOUT_DIR.iterdir() if p.name.endswith(".toml"))


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read(name_or_path: str) -> tuple[str, dict]:
    """(name, merged table) of a bundled layout or a ``.toml`` file (cached; files by mtime)."""
    path = Path(name_or_path).expanduser()
    if name_or_path.endswith(".toml") and (path.is_file() or path.parent != Path(".")):
        if not path.is_file():
            raise UsageError(f"layout file {name_or_path!r} not found")
        stat = path.stat()
        return _parse(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return _parse(name_or_path, 0, 0)


@functools.lru_cache(maxsize=64)
def _parse(name_or_path: str, _mtime: int, _size: int) -> tuple[str, dict]:
    path = Path(name_or_path)
    if _mtime or _size:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"layout file {name_or_path!r} cannot be read ({exc})") from None
        name = path.stem
    else:
        resource = _LAYOUT_DIR.joinpath(f"{name_or_path}.toml")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name_or_path) or not resource.is_file():
            raise UsageError(f"unknown layout {name_or_path!r}; choose one of "
                             f"{', '.join(list_layouts())} or give a .toml file")
        text, name = resource.read_text("utf-8"), name_or_path
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, Python's limits
        raise UsageError(f"layout {name!r} is not valid TOML ({toml_problem(exc)})") from None
    version = data.get("version", LAYOUT_VERSION)
    if version != LAYOUT_VERSION:
        raise UsageError(f"layout {name!r} has version {version!r}; this redframe reads "
                         f"version {LAYOUT_VERSION}")
    parent = data.pop("extends", None)
    if parent:
        parent = str(parent)
        if parent.endswith(".toml") and not Path(parent).is_absolute() and (_mtime or _size):
            parent = str(path.parent / parent)
        if parent in (name_or_path, name):
            raise UsageError(f"layout {name!r} extends itself")
        _, base = _read(parent)
        data = _merge(base, data)
    return name, data


def load_layout(name_or_path: str, *, aspect: str = "landscape",
                variant: str | None = None) -> Layout:
    """Load a bundled layout by name, or a ``.toml`` file, for a photo of ``aspect``.

    ``aspect`` is ``landscape``, ``portrait`` or ``square``; the layout's table of that name
    and then ``[variants.<variant>]`` are merged over it. Raises :class:`UsageError` (naming
    the file, for a layout file).
    """
    try:
        return _load_layout(str(name_or_path), aspect, variant)
    except UsageError as exc:
        if exc.path is None and str(name_or_path).endswith(".toml"):
            raise UsageError(exc.message, path=str(name_or_path)) from None
        raise


def _load_layout(name_or_path: str, aspect: str, variant: str | None) -> Layout:
    name, data = _read(name_or_path)
    data = copy.deepcopy(data)
    overrides = {k: data.pop(k, None) for k in ("landscape", "portrait", "square")}
    variants = data.pop("variants", {}) or {}
    if aspect not in overrides:
        raise UsageError(f"aspect must be landscape, portrait or square, not {aspect!r}")
    if overrides[aspect]:
        data = _merge(data, overrides[aspect])
    if variant:
        if variant not in variants:
            raise UsageError(f"layout {name!r} has no variant {variant!r}; it has: "
                             f"{', '.join(sorted(variants)) or 'none'}")
        data = _merge(data, variants[variant])
    return _build(name, data)


def _num(value: Any, what: str, lo: float = 0.0, hi: float = 10.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise UsageError(f"{what} must be a number in [{lo}, {hi}], not {value!r}")
    return float(value)


def _choice(value: Any, what: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise UsageError(f"{what} must be one of {', '.join(options)}, not {value!r}")
    return value


def _known(table: dict, keys: set[str], what: str) -> None:
    unknown = set(table) - keys
    if unknown:
        raise UsageError(f"{what}: unknown key(s) {', '.join(sorted(unknown))}")


def _build(name: str, data: dict) -> Layout:
    where = f"layout {name!r}"
    _known(data, {"version", "description", "canvas", "palette", "styles", "fit", "group"}, where)
    palette = {str(k): str(v) for k, v in (data.get("palette") or {}).items()}
    for key, value in palette.items():
        parse_color(value, what=f"{where} palette.{key}")

    c = data.get("canvas") or {}
    _known(c, {f.name for f in Canvas.__dataclass_fields__.values()}, f"{where} [canvas]")
    margin = c.get("margin", {})
    _known(margin, {"top", "right", "bottom", "left"}, f"{where} canvas.margin")
    canvas = Canvas(
        background=str(c.get("background", "background")),
        margin=tuple(_num(margin.get(k, 0.0), f"{where} canvas.margin.{k}", 0, 2)
                     for k in ("top", "right", "bottom", "left")),
        corner_radius=_num(c.get("corner_radius", 0.0), f"{where} canvas.corner_radius", 0, 0.5),
        shadow=_num(c.get("shadow", 0.0), f"{where} canvas.shadow", 0, 0.5),
        shadow_opacity=_num(c.get("shadow_opacity", 0.45), f"{where} canvas.shadow_opacity", 0, 1),
        blur=_num(c.get("blur", 0.05), f"{where} canvas.blur", 0, 1),
        darken=_num(c.get("darken", 0.55), f"{where} canvas.darken", 0, 1),
        pad_to=parse_ratio(c.get("pad_to", "none")),
    )
    if canvas.background != "blur":
        parse_color(canvas.background, palette, what=f"{where} canvas.background")

    styles: dict[str, Style] = {}
    for sname, s in (data.get("styles") or {}).items():
        w = f"{where} styles.{sname}"
        _known(s, {f for f in Style.__dataclass_fields__}, w)
        color = str(s.get("color", "text"))
        if color != "auto":
            parse_color(color, palette, what=f"{w}.color")
        feats = s.get("features", ["tnum"])
        if not isinstance(feats, list) or not all(re.fullmatch(r"-?[a-z0-9]{4}", str(f))
                                                  for f in feats):
            raise UsageError(f"{w}.features must be a list of 4-letter OpenType tags")
        styles[sname] = Style(
            font=str(s.get("font", "regular")),
            size=_num(s.get("size", 0.03), f"{w}.size", 0.001, 0.5),
            color=color,
            role=_choice(s.get("role", "primary"), f"{w}.role", ("primary", "secondary")),
            features=tuple(str(f) for f in feats),
            tracking=_num(s.get("tracking", 0.0), f"{w}.tracking", 0, 1),
            case=_choice(s.get("case", "none"), f"{w}.case", ("none", "upper")),
        )

    fit = data.get("fit") or {}
    _known(fit, {"min_scale", "min_text_px"}, f"{where} [fit]")
    groups = []
    seen = set()
    for gi, g in enumerate(data.get("group") or []):
        w = f"{where} group {gi + 1}"
        _known(g, {f for f in Group.__dataclass_fields__} | {"item"}, w)
        group_kw = dict(
            band=_choice(g.get("band", "bottom"), f"{w}.band", ("top", "bottom", "photo")),
            align=_choice(g.get("align", "left"), f"{w}.align", ("left", "center", "right")),
            valign=_choice(g.get("valign", "center"), f"{w}.valign", ("center", "top", "bottom")),
            inset=_num(g.get("inset", 0.03), f"{w}.inset", 0, 0.5),
            gap=_num(g.get("gap", 0.02), f"{w}.gap", 0, 0.5),
            line_gap=_num(g.get("line_gap", 0.011), f"{w}.line_gap", 0, 0.5),
            row_gap=_num(g.get("row_gap", 0.012), f"{w}.row_gap", 0, 0.5),
            min_contrast=_num(g.get("min_contrast", 4.5), f"{w}.min_contrast", 1, 21),
        )
        key = (group_kw["band"], group_kw["align"], group_kw["valign"])
        if key in seen:
            raise UsageError(f"{w}: two groups share band/align/valign {key}")
        seen.add(key)
        items = tuple(_item(it, f"{w} item {ii + 1}", styles, palette)
                      for ii, it in enumerate(g.get("item") or []))
        if not items:
            raise UsageError(f"{w} has no items")
        groups.append(Group(items=items, **group_kw))
    if not groups:
        raise UsageError(f"{where} has no [[group]]")
    return Layout(
        name=name,
        description=str(data.get("description", "")),
        canvas=canvas,
        palette=palette,
        styles=styles,
        groups=tuple(groups),
        min_scale=_num(fit.get("min_scale", 0.7), f"{where} fit.min_scale", 0.1, 1),
        min_text_px=_num(fit.get("min_text_px", 6), f"{where} fit.min_text_px", 1, 100),
        raw=data,
    )


def _item(it: dict, w: str, styles: dict[str, Style], palette: dict[str, str]) -> Item:
    kind = _choice(it.get("type"), f"{w}.type", ("text", "emblem", "divider", "stamp"))
    _known(it, {f for f in Item.__dataclass_fields__}, w)
    row = it.get("row", 0)
    if not isinstance(row, int) or not 0 <= row < 8:
        raise UsageError(f"{w}.row must be an integer 0..7")
    kw: dict[str, Any] = {"type": kind, "row": row}
    if kind == "text":
        lines = []
        for li, line in enumerate(it.get("lines") or []):
            lw = f"{w} line {li + 1}"
            if not isinstance(line, dict):
                raise UsageError(f"{lw} must be a table {{ text = ..., style = ... }}")
            _known(line, {"text", "style", "id"}, lw)
            templates = line.get("text", "")
            templates = [templates] if isinstance(templates, str) else list(templates)
            for t in templates:
                if not isinstance(t, str):
                    raise UsageError(f"{lw}.text must be a string or a list of strings")
                check_template(t)
            style = str(line.get("style", ""))
            if style not in styles:
                raise UsageError(f"{lw} uses undefined style {style!r}")
            lines.append(Line(tuple(templates), style, str(line.get("id") or _first_field(
                templates) or f"line{li + 1}")))
        if not lines:
            raise UsageError(f"{w} (text) has no lines")
        kw["lines"] = tuple(lines)
    elif kind == "stamp":
        kw["text"] = str(it.get("text", "{stamp}"))
        check_template(kw["text"])
        kw["size"] = _num(it.get("size", 0.035), f"{w}.size", 0.001, 0.5)
        kw["glow"] = _num(it.get("glow", 0.0), f"{w}.glow", 0, 2)
    else:
        size = it.get("size", "block")
        kw["size"] = size if size == "block" else _num(size, f"{w}.size", 0.001, 0.5)
        kw["width"] = _num(it.get("width", 0.003), f"{w}.width", 0, 0.1)
        kw["height"] = _num(it.get("height", 1.1), f"{w}.height", 0, 5)
    if kind != "text":
        kw["color"] = str(it.get("color", "accent" if kind != "divider" else "divider"))
        parse_color(kw["color"], palette, what=f"{w}.color")
    return Item(**kw)


def _first_field(templates: list[str]) -> str | None:
    for template in templates:
        m = re.search(r"{(\w+)", template)
        if m:
            return m.group(1)
    return None


def parse_ratio(value: Any) -> str:
    """Check a ``pad_to`` value: ``"none"`` or ``"W:H"`` with positive numbers."""
    text = str(value).strip().lower()
    if text in ("none", "", "0"):
        return "none"
    m = re.fullmatch(r"(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)", text)
    if not m or float(m.group(1)) <= 0 or float(m.group(2)) <= 0:
        raise UsageError(f"pad_to must be 'none' or a ratio such as '4:5', not {value!r}")
    ratio = float(m.group(1)) / float(m.group(2))
    if not 0.1 <= ratio <= 10:
        raise UsageError(f"pad_to ratio {value!r} is out of range (0.1 .. 10)")
    return text
