"""`Metadata`: what a file says about how it was made, with missing fields left as ``None``.

Text fields are sanitised once, here, so that every consumer (CLI, frames, EXIF writer) sees
printable, bounded strings: control characters and bidirectional overrides are removed and
strings are cut to :data:`MAX_TEXT` characters (hostile EXIF is common in the wild).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

__all__ = ["Metadata", "Gps", "clean_text", "MAX_TEXT"]

#: Longest text we keep from a file's metadata (characters).
MAX_TEXT = 256

# Bidirectional embedding/override/isolate controls can reorder what a user reads.
_BIDI_CONTROLS = dict.fromkeys(
    [0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
)
_SPACES = re.compile(r"\s+")


def clean_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Return ``value`` as printable single-line text, or ``None`` when nothing is left.

    Removes control characters (Unicode category Cc/Cf except joiners used in emoji), bidi
    overrides and NULs, folds white space, and cuts to ``limit`` characters with an ellipsis.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).translate(_BIDI_CONTROLS)
    text = "".join(
        ch if ch in "\u200c\u200d" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
        else " "
        for ch in text
    )
    text = _SPACES.sub(" ", text).strip()
    if not text:
        return None
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


@dataclass(frozen=True)
class Gps:
    """A position in decimal degrees (WGS 84) and metres above sea level."""

    latitude: float
    longitude: float
    altitude: float | None = None


@dataclass
class Metadata:
    """How an image was made. Every field is ``None`` when the file does not say.

    Units: ``focal_length`` and ``focal_length_35mm`` in mm, ``exposure_time`` in seconds,
    ``orientation`` as the EXIF Orientation code 1..8 of the *stored* pixels.
    Raw calibration (levels, matrices, CFA) lives in :class:`redframe.io.raw.RawCalibration`.
    """

    path: str | None = None
    format: str | None = None  # "raw", "dng", "jpeg", "heic", "png", "tiff"
    width: int | None = None  # stored pixels, before orientation
    height: int | None = None
    make: str | None = None
    model: str | None = None
    lens_make: str | None = None
    lens: str | None = None
    focal_length: float | None = None
    focal_length_35mm: float | None = None
    f_number: float | None = None
    exposure_time: float | None = None
    iso: float | None = None
    exposure_bias: float | None = None
    datetime: _dt.datetime | None = None
    orientation: int | None = None
    gps: Gps | None = None
    software: str | None = None
    artist: str | None = None
    copyright: str | None = None
    #: as-shot white balance: the camera-RGB value of a neutral (DNG AsShotNeutral)
    as_shot_neutral: tuple[float, float, float] | None = None
    #: the file's embedded ICC profile (JPEG/HEIC/PNG/TIFF inputs)
    icc_profile: bytes | None = field(default=None, repr=False)
    #: the source EXIF as exiv2 keys -> strings, used to copy tags into outputs
    exif: dict[str, str] = field(default_factory=dict, repr=False)
    #: messages about fields that were present but unusable (hostile or out of range)
    warnings: list[str] = field(default_factory=list, repr=False)

    @property
    def shutter_text(self) -> str | None:
        """Exposure time as photographers write it: ``1/120``, ``0.6``, ``2``, ``30``."""
        t = self.exposure_time
        if t is None or not math.isfinite(t) or t <= 0:
            return None
        if t >= 0.3:
            return f"{t:.1f}".rstrip("0").rstrip(".")
        return f"1/{round(1 / t)}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the user-facing fields (no EXIF dump, no ICC bytes)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("exif", "icc_profile", "warnings"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, _dt.datetime):
                v = v.isoformat()
            elif isinstance(v, Gps):
                v = dataclasses.asdict(v)
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, Fraction):
                v = float(v)
            out[f.name] = v
        out["icc_profile"] = len(self.icc_profile) if self.icc_profile else None
        return out
