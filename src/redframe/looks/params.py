"""Look parameters: the schema of a look file, with units and ranges, and its strict reader.

A look is a TOML file (version 1) of parameters for the one engine in
:mod:`redframe.looks.engine`; a new look needs no code. Every key is optional except
``version`` and ``description``; missing keys take the defaults below, which render the
scene colorimetrically (the ``neutral`` look, which also asks the develop for no local
tone mapping: ``tone.local_tone_mapping = 0``). ``extends = "name"`` starts from another
look (a bundled name, a user look, or a ``.toml`` path relative to this file) and
overrides it key by key (``[[hue]]`` lists are replaced, not merged).

Schema, with units (Oklab hue angles and chroma are those of Ottosson 2020)::

    version = 1
    description = "..."
    extends = "authentic"          # optional

    [tone]            # scene light -> display light, redframe.isp.tone.filmic_curve
    exposure = 0.0    # EV added before the curve                               -4..4
    contrast = 1.0    # log-log slope at mid-grey (0.18)                         0.5..2
    black_point = 0.0 # scene value pulled to black: x -> x^2 / (x + bp)         0..0.05
    toe = 0.0         # extra shadow compression below 0.09 (filmic toe)         0..1
    lift = 0.0        # display black level (fraction of white)                  0..0.05
    shoulder = 0.9    # display value where the highlight roll-off starts        0.5..0.98
    white = 16.0      # scene value (x diffuse white) rendered as display white  1..64
    local_tone_mapping = 1.0
                      # how much of the develop's local tone mapping (its base-layer
                      # range compression, before the look) the look asks for:
                      # 1 all of it, 0 none: tones as measured (``neutral``)     0..1

    [white_balance]   # a bias on top of the camera's white balance (Bradford)
    warmth = 0.0      # mired; + renders warmer (as if the light were bluer)     -80..80
    tint = 0.0        # Duv x 1000; + renders more magenta, - greener            -20..20

    [color]           # in Oklab LCh, after the tone curve
    saturation = 1.0  # chroma multiplier                                        0..2
    vibrance = 0.0    # extra chroma gain at zero chroma, half of it at C = 0.08 -1..1

    [skin]            # skin-tone protection
    protect = 0.0     # fraction of chroma/hue/lightness changes undone on skin  0..1
    hue = 48.0        # centre of the skin hue window, Oklab degrees             0..360
    width = 50.0      # full width of the window (raised cosine), degrees        10..180
    chroma = 0.10     # Oklab chroma up to which a colour counts as skin         0.02..0.3
                      # (fading in from 0.25 to 0.5 x this, so near-greys are not skin,
                      # and out by 1.6 x this, so saturated oranges are not skin)
    saturation = 1.0  # chroma multiplier skin gets instead of the look's (protect = 1)
                      #                                                          0.5..1.5

    [[hue]]           # per-hue-range adjustment, up to 12 tables
    center = 20.0     # Oklab hue, degrees                                       0..360
    width = 60.0      # full width of the raised-cosine window, degrees          10..180
    hue = 0.0         # hue rotation at the centre, degrees                      -30..30
    chroma = 1.0      # chroma multiplier at the centre                          0..2
    lightness = 0.0   # Oklab L shift at the centre, percent of white            -20..20

    [split_toning]    # tint added in Oklab a/b, by display lightness
    shadows_hue = 60.0       # degrees                                           0..360
    shadows_amount = 0.0     # Oklab chroma added at black                       0..0.1
    highlights_hue = 220.0   # degrees                                           0..360
    highlights_amount = 0.0  # Oklab chroma added at white                       0..0.1
    balance = 0.0            # moves the crossover from mid-grey (- darker)      -1..1

    [monochrome]
    enabled = false
    filter = "none"          # none | yellow | orange | red | green | blue
    filter_strength = 1.0    # 0 (no filter) .. 1 (a full #8/#21/#25/#11/#47)    0..1
    mix = [r, g, b]          # optional: own channel weights (linear Rec.2020)   0..1 each

    [vignette]        # applied to scene light, by position in the full frame
    amount = 0.0      # EV at the frame's corner (negative darkens)              -2..1
    radius = 0.0      # where the fall-off starts, fraction of centre->corner    0..0.95
    roundness = 1.0   # 1: circular; 0: elliptical, following the frame's aspect 0..1

    [grain]           # luminance grain, deterministic for (seed, pixel position)
    amount = 0.0      # RMS of the grain at mid-tones, percent of the value      0..20
    size = 1.0        # grain size in pixels (Gaussian sigma = size / 2)         0.5..4
    seed = 0          # any integer                                              0..2^31-1

    [gamut]           # soft chroma compression at constant Oklab L and hue
    space = "display-p3"     # srgb | display-p3 | rec2020
    threshold = 0.85  # fraction of the boundary chroma where compression starts 0.5..1

Errors (syntax, unknown key, wrong type, out-of-range value) raise
:class:`redframe.errors.UsageError` naming the file, the key and the allowed range.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redframe.errors import UsageError, toml_problem
from redframe.params import param

__all__ = [
    "LOOK_VERSION",
    "Tone",
    "WhiteBalanceBias",
    "Color",
    "Skin",
    "HueRange",
    "SplitToning",
    "Monochrome",
    "Vignette",
    "Grain",
    "Gamut",
    "LookParams",
    "FILTERS",
    "parse_look_table",
    "read_toml",
]

LOOK_VERSION = 1
MAX_HUE_RANGES = 12


def _p(default, lo=None, hi=None, unit: str = "", choices: tuple | None = None):
    """A parameter with its allowed range (or choices) and unit: :func:`redframe.params.param`
    (the one declaration of develop and look parameters), positionally."""
    return param(default, lo=lo, hi=hi, unit=unit, choices=choices)


@dataclass(frozen=True)
class Tone:
    exposure: float = _p(0.0, -4.0, 4.0, "EV")
    contrast: float = _p(1.0, 0.5, 2.0, "log-log slope at mid-grey")
    black_point: float = _p(0.0, 0.0, 0.05, "scene value")
    toe: float = _p(0.0, 0.0, 1.0, "")
    lift: float = _p(0.0, 0.0, 0.05, "display black level")
    shoulder: float = _p(0.9, 0.5, 0.98, "display value")
    white: float = _p(16.0, 1.0, 64.0, "x diffuse white")
    local_tone_mapping: float = _p(1.0, 0.0, 1.0, "fraction of the develop's local tone mapping")


@dataclass(frozen=True)
class WhiteBalanceBias:
    warmth: float = _p(0.0, -80.0, 80.0, "mired")
    tint: float = _p(0.0, -20.0, 20.0, "Duv x 1000")


@dataclass(frozen=True)
class Color:
    saturation: float = _p(1.0, 0.0, 2.0, "chroma multiplier")
    vibrance: float = _p(0.0, -1.0, 1.0, "chroma gain at zero chroma")


@dataclass(frozen=True)
class Skin:
    protect: float = _p(0.0, 0.0, 1.0, "fraction")
    hue: float = _p(48.0, 0.0, 360.0, "Oklab degrees")
    width: float = _p(50.0, 10.0, 180.0, "degrees")
    chroma: float = _p(0.10, 0.02, 0.3, "Oklab chroma")
    saturation: float = _p(1.0, 0.5, 1.5, "chroma multiplier")


@dataclass(frozen=True)
class HueRange:
    center: float = _p(0.0, 0.0, 360.0, "Oklab degrees")
    width: float = _p(60.0, 10.0, 180.0, "degrees")
    hue: float = _p(0.0, -30.0, 30.0, "degrees")
    chroma: float = _p(1.0, 0.0, 2.0, "chroma multiplier")
    lightness: float = _p(0.0, -20.0, 20.0, "percent of white")


@dataclass(frozen=True)
class SplitToning:
    shadows_hue: float = _p(60.0, 0.0, 360.0, "Oklab degrees")
    shadows_amount: float = _p(0.0, 0.0, 0.1, "Oklab chroma")
    highlights_hue: float = _p(220.0, 0.0, 360.0, "Oklab degrees")
    highlights_amount: float = _p(0.0, 0.0, 0.1, "Oklab chroma")
    balance: float = _p(0.0, -1.0, 1.0, "")


#: Colour filters of black-and-white film work as transmittances of the linear Rec.2020
#: channels (broad approximations of Kodak Wratten #8 yellow, #21 orange, #25 red,
#: #11 yellow-green and #47 blue). A filter darkens what it does not pass.
FILTERS = {
    "none": (1.0, 1.0, 1.0),
    "yellow": (1.0, 0.92, 0.22),
    "orange": (1.0, 0.55, 0.06),
    "red": (1.0, 0.16, 0.02),
    "green": (0.35, 1.0, 0.30),
    "blue": (0.12, 0.35, 1.0),
}


@dataclass(frozen=True)
class Monochrome:
    enabled: bool = _p(False)
    filter: str = _p("none", choices=tuple(FILTERS))
    filter_strength: float = _p(1.0, 0.0, 1.0, "fraction")
    mix: tuple | None = _p(None, 0.0, 1.0, "channel weight")


@dataclass(frozen=True)
class Vignette:
    amount: float = _p(0.0, -2.0, 1.0, "EV at the corner")
    radius: float = _p(0.0, 0.0, 0.95, "fraction of centre-to-corner")
    roundness: float = _p(1.0, 0.0, 1.0, "")


@dataclass(frozen=True)
class Grain:
    amount: float = _p(0.0, 0.0, 20.0, "percent RMS")
    size: float = _p(1.0, 0.5, 4.0, "pixels")
    seed: int = _p(0, 0, 2**31 - 1, "")


@dataclass(frozen=True)
class Gamut:
    space: str = _p("display-p3", choices=("srgb", "display-p3", "rec2020"))
    threshold: float = _p(0.85, 0.5, 1.0, "fraction of the boundary chroma")


_SECTIONS = {
    "tone": Tone,
    "white_balance": WhiteBalanceBias,
    "color": Color,
    "skin": Skin,
    "split_toning": SplitToning,
    "monochrome": Monochrome,
    "vignette": Vignette,
    "grain": Grain,
    "gamut": Gamut,
}
_TOP_KEYS = ("version", "description", "extends", "hue", *_SECTIONS)


@dataclass(frozen=True)
class LookParams:
    """Every control of the engine; the defaults are the colorimetric ``neutral`` look."""

    tone: Tone = field(default_factory=Tone)
    white_balance: WhiteBalanceBias = field(default_factory=WhiteBalanceBias)
    color: Color = field(default_factory=Color)
    skin: Skin = field(default_factory=Skin)
    hue: tuple[HueRange, ...] = ()
    split_toning: SplitToning = field(default_factory=SplitToning)
    monochrome: Monochrome = field(default_factory=Monochrome)
    vignette: Vignette = field(default_factory=Vignette)
    grain: Grain = field(default_factory=Grain)
    gamut: Gamut = field(default_factory=Gamut)

    def without_spatial(self) -> LookParams:
        """The same look without vignette and grain (what a 3D LUT can carry)."""
        return dataclasses.replace(self, vignette=Vignette(), grain=Grain())

    @property
    def spatial(self) -> bool:
        return self.vignette.amount != 0.0 or self.grain.amount > 0.0


def _allowed(f: dataclasses.Field) -> str:
    choices = f.metadata.get("choices")
    if choices:
        return "one of " + ", ".join(repr(c) for c in choices)
    lo, hi = f.metadata.get("range", (None, None))
    if f.type in ("bool",) or isinstance(f.default, bool):
        return "true or false"
    unit = f.metadata.get("unit") or ""
    if lo is None:
        return unit
    return f"{lo:g}..{hi:g}" + (f" ({unit})" if unit else "")


def _unknown(key: str, allowed, where: str, src: str) -> UsageError:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UsageError(
        f"unknown key {where}{key!r}{hint}; allowed: {', '.join(allowed)}", path=src
    )


def _number(value: Any, key: str, f: dataclasses.Field, src: str, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "an integer" if integer else "a number"
        raise UsageError(f"{key} must be {kind} ({_allowed(f)}), got {value!r}", path=src)
    if integer and not isinstance(value, int):
        raise UsageError(f"{key} must be an integer ({_allowed(f)}), got {value!r}", path=src)
    lo, hi = f.metadata["range"]
    if value != value or not (lo <= value <= hi):
        raise UsageError(f"{key} = {value!r} is out of range; allowed {_allowed(f)}", path=src)
    return int(value) if integer else float(value)


def _section(cls, table: Any, name: str, src: str):
    if not isinstance(table, dict):
        raise UsageError(f"{name} must be a table ([{name}]), got {table!r}", path=src)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in fields:
            raise _unknown(key, fields, f"{name}.", src)
        f, full = fields[key], f"{name}.{key}"
        if isinstance(f.default, bool):
            if not isinstance(value, bool):
                raise UsageError(f"{full} must be true or false, got {value!r}", path=src)
            values[key] = value
        elif f.metadata.get("choices"):
            if value not in f.metadata["choices"]:
                raise UsageError(f"{full} = {value!r} is not allowed; allowed "
                                 f"{_allowed(f)}", path=src)
            values[key] = value
        elif key == "mix":
            if not isinstance(value, list) or len(value) != 3:
                raise UsageError(f"{full} must be a list of 3 numbers (0..1 each, the weights "
                                 f"of linear R, G, B), got {value!r}", path=src)
            mix = tuple(_number(v, f"{full}[{i}]", f, src) for i, v in enumerate(value))
            if sum(mix) <= 0:
                raise UsageError(f"{full} must have a positive weight", path=src)
            values[key] = mix
        else:
            values[key] = _number(value, full, f, src, integer=isinstance(f.default, int))
    return cls(**values)


def parse_look_table(data: dict, src: str) -> tuple[str, LookParams]:
    """(description, params) from a TOML table (``extends`` already resolved). Strict."""
    for key in data:
        if key not in _TOP_KEYS:
            raise _unknown(key, _TOP_KEYS, "", src)
    version = data.get("version")
    if version is None:
        raise UsageError(f"missing key 'version' (this redframe reads version {LOOK_VERSION})",
                         path=src)
    if isinstance(version, bool) or version != LOOK_VERSION:
        raise UsageError(f"version = {version!r} is not supported; this redframe reads "
                         f"version {LOOK_VERSION}", path=src)
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise UsageError("description must be a non-empty string", path=src)
    kwargs = {}
    for name, cls in _SECTIONS.items():
        if name in data:
            kwargs[name] = _section(cls, data[name], name, src)
    if "hue" in data:
        hues = data["hue"]
        if not isinstance(hues, list) or not all(isinstance(h, dict) for h in hues):
            raise UsageError("hue must be an array of tables ([[hue]]), got "
                             f"{hues!r}", path=src)
        if len(hues) > MAX_HUE_RANGES:
            raise UsageError(f"at most {MAX_HUE_RANGES} [[hue]] tables, got {len(hues)}",
                             path=src)
        kwargs["hue"] = tuple(
            _section(HueRange, h, f"hue[{i}]", src) for i, h in enumerate(hues)
        )
    return description.strip(), LookParams(**kwargs)


def read_toml(path: Path) -> dict:
    """The table of a TOML file; syntax errors and unreadable files -> UsageError."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read look file ({exc})", path=str(path)) from None
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, Python's limits
        raise UsageError(f"not valid TOML ({toml_problem(exc)})", path=str(path)) from None
