"""`render_frame`: a photo and its metadata in, the framed canvas out (same dtype).

Options (keyword arguments of :func:`render_frame` and :func:`frame_plan`, and the
``options`` mapping of :func:`redframe.frame.frame_file`):

=================  ==========================================================================
missing            ``"hide"`` (default) hides a missing field's word; ``"dash"`` shows "–"
variant            a layout variant, e.g. ``"black"`` for ``border``
pad_to             ``"1:1"``, ``"4:5"``, ``"9:16"``...: grow the canvas to that ratio
templates          ``{line id: template or [templates]}``, e.g. ``{"exposure": "{shutter}s"}``
fields             ``{field: text}`` replacing values from EXIF, e.g. ``{"camera": "My cam"}``
exposure_template  how ``{exposure}`` is built (default ``{focal}mm f/{fnumber} {shutter}s
                   ISO{iso}`` with thin spaces)
date_format        strftime format of ``{datetime}`` (default ``%Y.%m.%d %H:%M``)
show_location      put the GPS position in ``{location}`` (default off: privacy)
font, font_bold    user .ttf/.otf files: ``font`` for regular/light text (and bold when
                   ``font_bold`` is not given); bundled faces remain the fallbacks
logo               a PNG or SVG file drawn instead of the red-dot emblem, aspect kept
emblem             ``False`` leaves the emblem out
palette            ``{name: "#RRGGBB"}`` overriding the layout's colours
text_scale         multiplies every type size (0.5..2)
=================  ==========================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from redframe.errors import UsageError
from redframe.frame.draw import draw_frame
from redframe.frame.emblem import Logo, load_logo
from redframe.frame.fonts import BUNDLED, Face, face
from redframe.frame.layout import Layout, parse_ratio
from redframe.frame.plan import FramePlan, plan_frame
from redframe.frame.text import EXPOSURE_TEMPLATE, check_template, fields
from redframe.io.metadata import Metadata

__all__ = ["render_frame", "frame_plan", "OPTIONS", "prepare_options", "Prepared"]

log = logging.getLogger("redframe.frame")

OPTIONS = ("missing", "variant", "pad_to", "templates", "fields", "exposure_template",
           "date_format", "show_location", "font", "font_bold", "logo", "emblem", "palette",
           "text_scale")


class Prepared(dict):
    """Options checked once (fonts and logos opened), reusable across a batch."""


def prepare_options(options: Mapping[str, Any] | None) -> Prepared:
    """Check options and open user fonts/logos once; raises :class:`UsageError`."""
    if isinstance(options, Prepared):
        return options
    if options is not None and not isinstance(options, Mapping):
        raise UsageError("frame options must be a mapping of option names to values")
    opts = dict(options or {})
    unknown = set(opts) - set(OPTIONS)
    if unknown:
        raise UsageError(f"unknown frame option(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(OPTIONS)}")
    out = Prepared()
    missing = opts.get("missing", "hide")
    if missing not in ("hide", "dash"):
        raise UsageError(f"missing must be 'hide' or 'dash', not {missing!r}")
    out["missing"] = missing
    variant = opts.get("variant")
    out["variant"] = str(variant) if variant else None
    out["pad_to"] = parse_ratio(opts["pad_to"]) if opts.get("pad_to") is not None else None
    templates = opts.get("templates") or {}
    if not isinstance(templates, Mapping):
        raise UsageError("templates must map line ids to template strings")
    for key, value in templates.items():
        for t in [value] if isinstance(value, str) else list(value):
            if not isinstance(t, str):
                raise UsageError(f"template for {key!r} must be a string")
            check_template(t)
    out["templates"] = dict(templates)
    overrides = opts.get("fields") or {}
    if not isinstance(overrides, Mapping):
        raise UsageError("fields must map field names to text")
    out["fields"] = dict(overrides)
    exposure = opts.get("exposure_template", EXPOSURE_TEMPLATE)
    check_template(str(exposure))
    out["exposure_template"] = str(exposure)
    out["date_format"] = str(opts.get("date_format") or "%Y.%m.%d %H:%M")
    out["show_location"] = bool(opts.get("show_location", False))
    out["emblem"] = bool(opts.get("emblem", True))
    palette = opts.get("palette") or {}
    if not isinstance(palette, Mapping):
        raise UsageError("palette must map colour names to '#RRGGBB'")
    out["palette"] = {str(k): str(v) for k, v in palette.items()}
    scale = opts.get("text_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0.5 <= scale <= 2:
        raise UsageError(f"text_scale must be a number in [0.5, 2], not {scale!r}")
    out["text_scale"] = float(scale)
    out["faces"] = _faces(opts.get("font"), opts.get("font_bold"))
    logo = opts.get("logo")
    out["logo"] = logo if isinstance(logo, Logo) else load_logo(logo)
    return out


def _faces(font: str | None, font_bold: str | None) -> dict[str, Face]:
    """Style font names -> user faces, with the bundled face of that weight as fallback."""
    faces: dict[str, Face] = {}
    for weight in BUNDLED:
        user = font_bold if (weight == "bold" and font_bold) else font
        if user:
            bundled = face(weight)
            checked = face(str(user))
            faces[weight] = Face(checked.path, (bundled.path, *bundled.fallbacks))
    return faces


def _check_photo(photo: np.ndarray) -> np.ndarray:
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3:
        raise ValueError(f"photo must be (H, W, 3) pixels, got shape {photo.shape}")
    if photo.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"photo must be uint8 or uint16 sRGB-encoded pixels, not {photo.dtype}")
    if photo.shape[0] < 1 or photo.shape[1] < 1:
        raise ValueError(f"photo is empty ({photo.shape[1]}x{photo.shape[0]})")
    return photo


def frame_plan(photo: np.ndarray, meta: Metadata | None, layout: str | Layout = "classic", *,
               prepared: Prepared | None = None, **options: Any) -> FramePlan:
    """The geometry of the frame (canvas size, photo place, every element's box).

    ``prepared`` (from :func:`prepare_options`) replaces ``options`` in batches, so that
    fonts and logos are opened once.
    """
    photo = _check_photo(photo)
    opts = prepared if prepared is not None else prepare_options(options)
    values = fields(meta, date_format=opts["date_format"], show_location=opts["show_location"],
                    exposure_template=opts["exposure_template"], missing=opts["missing"],
                    overrides=opts["fields"])
    plan = plan_frame(photo.shape, values, layout, photo=photo, missing=opts["missing"],
                      templates=opts["templates"], faces=opts["faces"], logo=opts["logo"],
                      emblem=opts["emblem"], variant=opts["variant"], pad_to=opts["pad_to"],
                      palette=opts["palette"], text_scale=opts["text_scale"])
    for note in plan.notes:
        log.debug("%s: %s", getattr(meta, "path", None) or "frame", note)
    return plan


def render_frame(photo: np.ndarray, meta: Metadata | None, layout: str | Layout = "classic", *,
                 prepared: Prepared | None = None, **options: Any) -> np.ndarray:
    """Frame ``photo`` with text from ``meta`` in ``layout``; returns the canvas.

    Parameters
    ----------
    photo : (H, W, 3) uint8 or uint16 sRGB-encoded pixels, display-oriented.
    meta : the photo's :class:`~redframe.io.metadata.Metadata` (``None``: no text).
    layout : a bundled layout name (:func:`redframe.frame.list_layouts`) or a ``.toml`` path.
    **options : see the module docstring.

    Returns
    -------
    The framed canvas, same dtype. The photo's pixels are copied unchanged (bit-identical)
    except where the layout draws on the photo (overlay, film imprint, rounded corners).

    Raises
    ------
    UsageError for an unknown layout or option, or a missing/broken user font or logo;
    ValueError for pixels of the wrong shape or dtype.
    """
    plan = frame_plan(photo, meta, layout, prepared=prepared, **options)
    return draw_frame(plan, np.asarray(photo))
