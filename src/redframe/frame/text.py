"""Frame text from :class:`~redframe.io.metadata.Metadata`: field values and templates.

Two jobs, both pure functions of the metadata:

1. **Fields.** :func:`fields` turns metadata into display strings: the make normalised
   (``"NIKON CORPORATION"`` -> ``Nikon``), the model prettified (``ILCE-7RM5`` -> ``α7R V``,
   ``NIKON Z 6_2`` -> ``Z 6II``, ``E-M1MarkII`` -> ``E-M1 Mark II``, code names such as
   Xiaomi's ``2304FPN6DC`` looked up in ``cameras.toml``), the lens without a repeated
   camera name, the focal length (the 35 mm equivalent on phones and compacts, whose real
   focal length means nothing to a reader), ``f/1.63``, ``1/120``, ``ISO50`` and the date.
   Values that are absent *or absurd* (focal 0, ISO 10^9, NaN) are ``None``: nothing is
   invented and ``"None"`` is never printed.
2. **Templates.** :func:`format_template` fills a user-editable string such as
   ``"{camera} · {focal}mm f/{fnumber} {shutter}s ISO{iso}"``. A white-space separated
   word that needs a missing field is hidden (``missing="hide"``, the default) or shown as
   an en dash (``missing="dash"``); separators left dangling (``·``, ``|``) go with it, and a
   line whose every field is missing is empty, so a layout can hide its slot.

Typography (see REFERENCES.md, "Watermark frames"): exposure values are separated by thin
spaces (U+2009) and written ``23mm f/1.63 1/120s ISO50``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
import string
import tomllib
from collections.abc import Mapping
from importlib import resources

from redframe.errors import UsageError
from redframe.io.metadata import Metadata, clean_text

__all__ = [
    "FIELDS", "THIN", "DASH", "EXPOSURE_TEMPLATE", "fields", "format_template",
    "first_filled", "check_template", "pretty_make", "pretty_camera", "pretty_lens",
]

THIN = "\u2009"  # thin space, between exposure values
DASH = "\u2013"  # en dash, for missing values under missing="dash"
ELLIPSIS = "\u2026"

#: The exposure line, as the camera we emulate writes it.
EXPOSURE_TEMPLATE = f"{{focal}}mm{THIN}f/{{fnumber}}{THIN}{{shutter}}s{THIN}ISO{{iso}}"
DEFAULT_DATE_FORMAT = "%Y.%m.%d %H:%M"

#: Every field a template may use, with what it holds.
FIELDS: dict[str, str] = {
    "camera": "brand and model as people say it: 'Nikon Z 6II', 'iPhone 13 Pro Max'",
    "make": "the brand, normalised: 'Nikon', 'Olympus', 'OM System'",
    "model": "the model without a repeated brand: 'Z 6II', 'α7R V', 'EOS R5'",
    "lens": "the lens name, without the camera name some phones repeat in it",
    "focal": "focal length in mm: the 35 mm equivalent on phones/compacts, else the real one",
    "focal35": "35 mm equivalent focal length in mm",
    "focal_real": "real focal length in mm",
    "fnumber": "f-number: '1.63', '2.8', '11'",
    "shutter": "exposure time: '1/120', '0.5', '30'",
    "iso": "ISO sensitivity: '50'",
    "exposure": "the whole exposure line: '23mm f/1.63 1/120s ISO50'",
    "date": "date: '2024.05.17'",
    "time": "time: '18:32'",
    "datetime": "date and time, per the date_format option (default '2024.05.17 18:32')",
    "year": "year: '2024'",
    "stamp": "film date-back imprint: \"'24 5 17\"",
    "location": "GPS position (only with the show_location option): '52°27′35″N 13°19′18″E'",
    "artist": "EXIF Artist",
    "copyright": "EXIF Copyright",
}

_FORMATTER = string.Formatter()
_WORDS = re.compile(r"(\s+)")
_SEPARATOR = re.compile(r"^[·•|/\\,;:\-–—]+$")


# ----------------------------------------------------------------------------- templates


@functools.lru_cache(maxsize=256)
def _parse_word(word: str) -> tuple[tuple[str, str | None, str | None], ...]:
    """The (literal, field, conversion) pieces of one white-space-free template word."""
    try:
        pieces = list(_FORMATTER.parse(word))
    except ValueError as exc:
        raise UsageError(f"bad frame template {word!r}: {exc}") from None
    out = []
    for literal, name, spec, conversion in pieces:
        if name is not None:
            if name not in FIELDS:
                raise UsageError(f"unknown field {{{name}}} in frame template; "
                                 f"known: {', '.join(sorted(FIELDS))}")
            if spec:
                raise UsageError(f"format spec ':{spec}' not supported in frame templates "
                                 f"(field {{{name}}})")
            if conversion not in (None, "s", "u", "l"):
                raise UsageError(f"conversion '!{conversion}' not supported in frame templates; "
                                 "use !u (upper case) or !l (lower case)")
        out.append((literal, name, conversion))
    return tuple(out)


def check_template(template: str) -> None:
    """Raise :class:`UsageError` if ``template`` uses an unknown field or bad syntax."""
    for word in _WORDS.split(str(template)):
        if word and not word.isspace():
            _parse_word(word)


def format_template(template: str, values: Mapping[str, str | None], *,
                    missing: str = "hide") -> str:
    """Fill ``template`` from ``values``; words whose fields are missing are hidden or dashed.

    Returns ``""`` when the template has fields and none of them has a value, so that the
    caller hides the slot (a literal such as "Shot on" never stands alone).
    """
    if missing not in ("hide", "dash"):
        raise UsageError(f"missing must be 'hide' or 'dash', not {missing!r}")
    parts = _WORDS.split(str(template))
    words: list[list] = []  # [leading white space, text, kind]
    space = ""
    any_field = any_value = False
    for part in parts:
        if not part:
            continue
        if part.isspace():
            space += part
            continue
        pieces = _parse_word(part)
        names = [name for _, name, _ in pieces if name is not None]
        if not names:
            words.append([space, part, "literal"])
        else:
            any_field = True
            if all(values.get(n) for n in names):
                any_value = True
                text = "".join(lit + (_convert(values[name], conv) if name else "")
                               for lit, name, conv in pieces)
                words.append([space, text, "field"])
            elif missing == "dash":
                words.append([space, DASH, "dash"])
            # else: hidden, and its leading space goes with it
        space = ""
    if any_field and not any_value:
        return ""
    # drop separators that no longer separate anything
    changed = True
    while changed:
        changed = False
        for i, w in enumerate(words):
            if w[2] != "literal" or not _SEPARATOR.match(w[1]):
                continue
            before = words[i - 1] if i > 0 else None
            after = words[i + 1] if i + 1 < len(words) else None
            if (before is None or after is None or _is_sep(before) or _is_sep(after)):
                del words[i]
                changed = True
                break
    if not words:
        return ""
    return words[0][1] + "".join(w[0] + w[1] for w in words[1:])


def _is_sep(word: list) -> bool:
    return word[2] == "literal" and bool(_SEPARATOR.match(word[1]))


def _convert(value: str, conversion: str | None) -> str:
    if conversion == "u":
        return value.upper()
    if conversion == "l":
        return value.lower()
    return value


def first_filled(templates: str | list[str], values: Mapping[str, str | None], *,
                 missing: str = "hide") -> str:
    """The first of ``templates`` that is not empty once filled (``""`` if none is).

    With ``missing="dash"`` a later alternative is still preferred over a line of dashes.
    """
    options = [templates] if isinstance(templates, str) else list(templates)
    for template in options:
        text = format_template(template, values, missing="hide")
        if text:
            if missing == "dash":
                return format_template(template, values, missing="dash")
            return text
    if missing == "dash" and options:
        return format_template(options[0], values, missing="dash") or DASH
    return ""


# ----------------------------------------------------------------------------- makes, models


@functools.lru_cache(maxsize=1)
def _cameras() -> dict:
    data = resources.files("redframe.frame").joinpath("cameras.toml").read_text("utf-8")
    table = tomllib.loads(data)
    return {
        "makes": {k.lower(): v for k, v in table.get("makes", {}).items()},
        "standalone": [s.lower() for s in table.get("standalone_lines", [])],
        "models": {brand.lower(): {code.lower(): name for code, name in codes.items()}
                   for brand, codes in table.get("models", {}).items()},
    }


_MAKE_SUFFIXES = {
    "corporation", "corp", "co", "ltd", "limited", "company", "inc", "gmbh", "ag", "sa", "llc",
    "imaging", "camera", "electronics", "optical", "digital", "solutions", "technologies",
    "technology", "mobile", "international", "kk", "k.k", "plc", "bv", "group",
}
_ROMAN = {1: "", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII", 9: "IX"}


def pretty_make(make: str | None) -> str | None:
    """``"NIKON CORPORATION"`` -> ``Nikon``; ``"OLYMPUS IMAGING CORP."`` -> ``Olympus``."""
    make = clean_text(make, 64)
    if not make:
        return None
    makes = _cameras()["makes"]
    words = [w for w in re.split(r"[\s,.]+", make) if w]
    while words:
        key = " ".join(words).lower()
        if key in makes:
            return makes[key]
        if len(words) > 1 and words[-1].lower().strip(".") in _MAKE_SUFFIXES:
            words.pop()
            continue
        break
    name = " ".join(words) or make
    if name.isupper() and len(name) > 4 and name.isalpha():
        name = name.title()
    return name


def _known_brand(word: str) -> str | None:
    return _cameras()["makes"].get(word.lower())


def _strip_prefix(text: str, prefix: str | None) -> str:
    if prefix and text.lower().startswith(prefix.lower() + " "):
        return text[len(prefix) + 1:].lstrip()
    if prefix and text.lower().startswith(prefix.lower() + "-") and len(prefix) > 2:
        return text[len(prefix) + 1:].lstrip()
    return text


def _sony(model: str) -> str:
    m = re.fullmatch(r"ILC[EA]-(\d+)([A-Z]*?)(?:M(\d))?(A?)", model)
    if m:
        num, letters, mark, suffix = m.groups()
        roman = _ROMAN.get(int(mark), mark) if mark else ""
        return f"α{num}{letters}" + (f" {roman}" if roman else "") + suffix
    m = re.fullmatch(r"DSC-([A-Z]+\d+[A-Z]*?)(?:M(\d))?", model)
    if m:
        name, mark = m.groups()
        roman = _ROMAN.get(int(mark), mark) if mark else ""
        return name + (f" {roman}" if roman else "")
    return model


def _roman_suffix(model: str) -> str:
    """Nikon's ``Z 6_2`` -> ``Z 6II``."""
    return re.sub(r"_(\d)$", lambda m: _ROMAN.get(int(m.group(1)), m.group(1)), model)


def _mark(model: str) -> str:
    """Olympus's ``E-M1MarkII`` -> ``E-M1 Mark II``."""
    return re.sub(r"(?<=\S)\s*Mark\s*(IV|V?I{0,3})\b", r" Mark \1", model)


def _panasonic(model: str) -> tuple[str | None, str]:
    m = re.fullmatch(r"(?:DC|DMC)-([A-Z]+\d+[A-Z]*?)(?:M(\d))?", model)
    if not m:
        return None, model
    name, mark = m.groups()
    return "Lumix", name + (_ROMAN.get(int(mark), mark) if mark else "")


def _title_shouting(model: str) -> str:
    """``LEITZ PHONE 2`` -> ``Leitz Phone 2``; short codes (``EOS``, ``GFX``) stay."""
    return " ".join(w.title() if w.isalpha() and w.isupper() and len(w) >= 5 else w
                    for w in model.split(" "))


@functools.lru_cache(maxsize=512)
def pretty_camera(make: str | None, model: str | None) -> tuple[str | None, str | None,
                                                                  str | None]:
    """(brand, model, camera) for display; each ``None`` when unknown.

    ``camera`` is what people call the camera: the brand and model, without repeating the
    brand (``Canon EOS R5``, not ``Canon Canon EOS R5``) and without it before product lines
    that stand alone (``iPhone 13 Pro Max``, ``Redmi Note 8 Pro``).
    """
    brand = pretty_make(make)
    raw = clean_text(model, 256)
    if not raw:
        return brand, None, brand
    cams = _cameras()
    model_name = raw
    for key in filter(None, [(brand or "").lower(), (make or "").lower()]):
        table = cams["models"].get(key)
        if table and raw.lower() in table:
            model_name = table[raw.lower()]
            break
    # a model that starts with a brand ("Canon EOS R5", "PENTAX K-1", "Nokia X71")
    first = model_name.split(" ", 1)[0]
    first_brand = _known_brand(first)
    if first_brand is None and make:
        for prefix in (make, clean_text(make, 64) or ""):
            if prefix and model_name.lower().startswith(prefix.lower() + " "):
                first_brand, first = brand, model_name[: len(prefix)]
                break
    if first_brand is not None:
        brand = first_brand
        rest = model_name[len(first):].strip()
        # keep "Xiaomi 13 Ultra", "Nokia 8.3 5G": a bare number is no name
        if rest and not rest[0].isdigit():
            model_name = rest
        else:
            model_name = f"{first_brand} {rest}".strip()
    key = (brand or "").lower()
    if key == "sony":
        model_name = _sony(model_name)
    elif key == "nikon":
        model_name = _roman_suffix(model_name)
    elif key in ("olympus", "om system"):
        model_name = _mark(model_name)
    elif key == "panasonic":
        line, model_name = _panasonic(model_name)
        brand = line or brand
    model_name = _title_shouting(model_name)
    low = model_name.lower()
    if brand is None or low.startswith(brand.lower()) or any(
            low.startswith(s) for s in cams["standalone"]):
        camera = model_name
    else:
        camera = f"{brand} {model_name}"
    return brand, model_name, camera


_JUNK_LENS = re.compile(r"^(-+|unknown|n/?a|none|0+(\.0+)?\s*mm.*|\(?0+\)?)$", re.I)


def pretty_lens(lens: str | None, make: str | None = None, model: str | None = None) -> str | None:
    """The lens name without the brand/model some phones repeat in it, or ``None``.

    ``"HUAWEI P30 Rear Main Camera"`` -> ``Rear Main Camera``;
    ``"iPhone 13 Pro Max back triple camera 5.7mm f/1.5"`` -> ``Back triple camera 5.7mm f/1.5``.
    """
    text = clean_text(lens, 256)
    if not text or _JUNK_LENS.match(text):
        return None
    brand, model_name, camera = pretty_camera(make, model)
    prefixes = [p for p in (camera, clean_text(model, 256), model_name, clean_text(make, 64),
                            brand) if p]
    stripped = text
    for _ in range(3):
        before = stripped
        for prefix in sorted(prefixes, key=len, reverse=True):
            stripped = _strip_prefix(stripped, prefix)
        if stripped == before:
            break
    if stripped != text and stripped:
        stripped = stripped[0].upper() + stripped[1:]
    return stripped or text


# ----------------------------------------------------------------------------- numbers


def _finite(value, lo: float, hi: float) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and lo <= v <= hi else None


def _mm(value: float) -> str:
    if value >= 10:
        return str(round(value))
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fnumber(value: float) -> str:
    return (f"{value:.2f}" if value < 10 else f"{value:.1f}").rstrip("0").rstrip(".")


def _shutter(t: float) -> str:
    if t >= 0.3:
        return f"{t:.1f}".rstrip("0").rstrip(".")
    return f"1/{round(1 / t)}"


def _dms(value: float, positive: str, negative: str) -> str:
    hemisphere = positive if value >= 0 else negative
    total = round(abs(value) * 3600)
    d, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{d}°{m:02d}′{s:02d}″{hemisphere}"


def _is_phone_like(focal: float | None, focal35: float | None) -> bool:
    """Phones and compacts: a crop factor above 2.5, where the real focal length misleads."""
    if focal35 is None:
        return False
    return focal is None or focal35 / focal > 2.5


def fields(meta: Metadata | None, *, date_format: str = DEFAULT_DATE_FORMAT,
           show_location: bool = False, exposure_template: str = EXPOSURE_TEMPLATE,
           missing: str = "hide", overrides: Mapping[str, str | None] | None = None,
           ) -> dict[str, str | None]:
    """Display strings for every name in :data:`FIELDS` (``None`` where unknown or absurd).

    ``overrides`` replaces fields by hand (``{"camera": "My camera"}``), before the
    composite ``exposure`` line is built.
    """
    meta = meta if meta is not None else Metadata()
    brand, model, camera = pretty_camera(meta.make, meta.model)
    focal = _finite(meta.focal_length, 0.1, 5000)
    focal35 = _finite(meta.focal_length_35mm, 1, 10000)
    fnum = _finite(meta.f_number, 0.5, 256)
    t = _finite(meta.exposure_time, 1e-6, 86400)
    iso = _finite(meta.iso, 1, 10_000_000)
    when = meta.datetime if isinstance(meta.datetime, _dt.datetime) else None
    values: dict[str, str | None] = {
        "camera": camera,
        "make": brand,
        "model": model,
        "lens": pretty_lens(meta.lens, meta.make, meta.model),
        "focal": _mm(focal35 if _is_phone_like(focal, focal35) else focal)
        if (focal or focal35) else None,
        "focal35": _mm(focal35) if focal35 else None,
        "focal_real": _mm(focal) if focal else None,
        "fnumber": _fnumber(fnum) if fnum else None,
        "shutter": _shutter(t) if t else None,
        "iso": str(round(iso)) if iso else None,
        "date": when.strftime("%Y.%m.%d") if when else None,
        "time": when.strftime("%H:%M") if when else None,
        "datetime": None,
        "year": str(when.year) if when else None,
        "stamp": f"'{when.year % 100:02d} {when.month} {when.day}" if when else None,
        "location": None,
        "artist": clean_text(meta.artist, 128),
        "copyright": clean_text(meta.copyright, 128),
    }
    if when:
        try:
            values["datetime"] = clean_text(when.strftime(date_format), 64)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"bad date_format {date_format!r}: {exc}") from None
    gps = meta.gps
    if show_location and gps is not None:
        lat = _finite(gps.latitude, -90, 90)
        lon = _finite(gps.longitude, -180, 180)
        if lat is not None and lon is not None:
            values["location"] = f"{_dms(lat, 'N', 'S')} {_dms(lon, 'E', 'W')}"
    for name, value in (overrides or {}).items():
        if name not in FIELDS:
            raise UsageError(f"unknown frame field {name!r}; known: {', '.join(sorted(FIELDS))}")
        values[name] = clean_text(value, 256)
    if not (overrides and "exposure" in overrides):
        values["exposure"] = format_template(exposure_template, values, missing=missing) or None
    return values
