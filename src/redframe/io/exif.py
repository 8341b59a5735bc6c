"""Read EXIF/XMP from any file exiv2 understands (raws of every make, JPEG, HEIC, PNG, TIFF).

We use pyexiv2 (bindings to exiv2) rather than piexif: piexif reads only JPEG/TIFF/WebP,
while exiv2 parses raw containers (CR2/CR3, NEF, ARW, RAF, RW2, DNG...) and their maker
notes, and writes JPEG, PNG and TIFF in place. Values come back as exiv2's strings
(``"80/10"``, ``"2021:05:01 10:20:30"``), parsed here into :class:`Metadata` fields.
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
import threading
from collections.abc import Mapping
from fractions import Fraction

from redframe.io.metadata import MAX_TEXT, Gps, Metadata, clean_text

#: one import of pyexiv2 at a time changes platform.architecture (pyexiv2_module)
_PLATFORM_LOCK = threading.Lock()

__all__ = ["read_exif", "metadata_from_exif", "parse_rational", "pyexiv2_module"]

# Where each field may live, in order of preference (exiv2 keys).
_LENS_KEYS = (
    "Exif.Photo.LensModel",
    "Exif.Canon.LensModel",
    "Exif.OlympusEq.LensModel",
    "Exif.Panasonic.LensType",
    "Exif.Pentax.LensType",
    "Exif.Image.LensModel",
    "Xmp.aux.Lens",
)
_ISO_KEYS = (
    "Exif.Photo.ISOSpeedRatings",
    "Exif.Photo.PhotographicSensitivity",
    "Exif.Photo.RecommendedExposureIndex",
    "Exif.Image.ISOSpeedRatings",
    "Exif.Nikon3.ISOSpeed",
)
_DATE_KEYS = ("Exif.Photo.DateTimeOriginal", "Exif.Image.DateTimeOriginal", "Exif.Image.DateTime")
# Sensor diagonal of a 35 mm frame, for the crop-factor estimate.
_FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)


def parse_rational(text: str | None) -> float | None:
    """``"80/10"`` -> 8.0, ``"400"`` -> 400.0, ``"1/0"``/garbage -> ``None``. First value only."""
    if text is None:
        return None
    token = str(text).strip().split(" ")[0]
    if not token:
        return None
    try:
        value = float(Fraction(token)) if "/" in token else float(token)
    except (ValueError, ZeroDivisionError, OverflowError):  # OverflowError: "9"*400 + "/1"
        return None
    return value if math.isfinite(value) else None


def _parse_datetime(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    text = str(text).strip().rstrip("\x00")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return _dt.datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
    return None


def _parse_gps(exif: Mapping[str, str]) -> Gps | None:
    def dms(key: str) -> float | None:
        parts = str(exif.get(key, "")).split()
        if len(parts) != 3:
            return None
        values = [parse_rational(p) for p in parts]
        if any(v is None for v in values):
            return None
        d, m, s = values
        return d + m / 60.0 + s / 3600.0

    lat, lon = dms("Exif.GPSInfo.GPSLatitude"), dms("Exif.GPSInfo.GPSLongitude")
    if lat is None or lon is None or not (0 <= lat <= 90 and 0 <= lon <= 180):
        return None
    if str(exif.get("Exif.GPSInfo.GPSLatitudeRef", "N")).strip().upper().startswith("S"):
        lat = -lat
    if str(exif.get("Exif.GPSInfo.GPSLongitudeRef", "E")).strip().upper().startswith("W"):
        lon = -lon
    alt = parse_rational(exif.get("Exif.GPSInfo.GPSAltitude"))
    if alt is not None and str(exif.get("Exif.GPSInfo.GPSAltitudeRef", "0")).strip() == "1":
        alt = -alt
    return Gps(lat, lon, alt)


def _in_range(value: float | None, lo: float, hi: float) -> float | None:
    return value if value is not None and lo <= value <= hi else None


def metadata_from_exif(exif: Mapping[str, str], meta: Metadata | None = None) -> Metadata:
    """Fill a :class:`Metadata` from exiv2 key/value strings; absurd values become ``None``."""
    meta = meta or Metadata()
    meta.exif = dict(exif)

    def text(*keys: str) -> str | None:
        for key in keys:
            raw = exif.get(key)
            value = clean_text(raw)
            if value is not None:
                if raw is not None and len(str(raw)) > MAX_TEXT:
                    meta.warnings.append(f"{key} is {len(str(raw))} characters long; cut")
                return value
        return None

    def number(*keys: str) -> float | None:
        for key in keys:
            value = parse_rational(exif.get(key))
            if value is not None:
                return value
        return None

    meta.make = text("Exif.Image.Make") or meta.make
    meta.model = text("Exif.Image.Model", "Exif.Image.UniqueCameraModel") or meta.model
    meta.lens_make = text("Exif.Photo.LensMake") or meta.lens_make
    meta.lens = text(*_LENS_KEYS) or meta.lens
    if meta.lens is not None and meta.lens.isdigit():  # numeric maker-note lens IDs
        meta.lens = None
    meta.software = text("Exif.Image.Software") or meta.software
    meta.artist = text("Exif.Image.Artist") or meta.artist
    meta.copyright = text("Exif.Image.Copyright") or meta.copyright

    meta.focal_length = (
        _in_range(number("Exif.Photo.FocalLength", "Exif.Image.FocalLength"), 0.1, 5000)
        or meta.focal_length
    )
    meta.focal_length_35mm = (
        _in_range(number("Exif.Photo.FocalLengthIn35mmFilm"), 1, 10000) or meta.focal_length_35mm
    )
    meta.f_number = (
        _in_range(number("Exif.Photo.FNumber", "Exif.Image.FNumber"), 0.5, 256) or meta.f_number
    )
    if meta.f_number is None:  # APEX aperture value: N = 2 ** (Av / 2)
        av = _in_range(number("Exif.Photo.ApertureValue"), -2, 20)
        meta.f_number = round(2 ** (av / 2), 2) if av is not None else None
    meta.exposure_time = (
        _in_range(number("Exif.Photo.ExposureTime", "Exif.Image.ExposureTime"), 1e-6, 86400)
        or meta.exposure_time
    )
    meta.iso = _in_range(number(*_ISO_KEYS), 1, 10_000_000) or meta.iso
    meta.exposure_bias = _in_range(number("Exif.Photo.ExposureBiasValue"), -20, 20)
    for key in _DATE_KEYS:
        date = _parse_datetime(exif.get(key))
        if date is not None:
            meta.datetime = date
            break
    orientation = number("Exif.Image.Orientation")
    if orientation is not None and int(orientation) == orientation and 1 <= orientation <= 8:
        meta.orientation = int(orientation)
    meta.gps = _parse_gps(exif)
    for axis, key in (
        ("width", "Exif.Photo.PixelXDimension"),
        ("height", "Exif.Photo.PixelYDimension"),
    ):
        if getattr(meta, axis) is None:
            value = _in_range(number(key), 1, 1_000_000)
            setattr(meta, axis, int(value) if value else None)

    if meta.focal_length_35mm is None and meta.focal_length is not None:
        meta.focal_length_35mm = _focal_35mm_from_sensor(exif, meta)
    return meta


def _focal_35mm_from_sensor(exif: Mapping[str, str], meta: Metadata) -> float | None:
    """35 mm equivalent from the focal-plane resolution tags (sensor size), when present."""
    xres = parse_rational(exif.get("Exif.Photo.FocalPlaneXResolution"))
    yres = parse_rational(exif.get("Exif.Photo.FocalPlaneYResolution")) or xres
    unit = parse_rational(exif.get("Exif.Photo.FocalPlaneResolutionUnit")) or 2
    mm_per_unit = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}.get(int(unit))
    width = parse_rational(exif.get("Exif.Photo.PixelXDimension")) or meta.width
    height = parse_rational(exif.get("Exif.Photo.PixelYDimension")) or meta.height
    if not (xres and yres and mm_per_unit and width and height):
        return None
    diagonal = math.hypot(width / xres * mm_per_unit, height / yres * mm_per_unit)
    if not 1.0 < diagonal < 100.0:
        return None
    return round(meta.focal_length * _FULL_FRAME_DIAGONAL_MM / diagonal)


def pyexiv2_module():
    """pyexiv2, imported without the subprocess its import starts: it checks
    ``platform.architecture()[0] == "64bit"``, which runs ``file`` on the Python binary
    (4.5-5 ms of every develop's process here, half of pyexiv2's import). The answer is
    this interpreter's pointer size, given while the import runs (a call with arguments,
    or from another thread, asks the original)."""
    import sys

    if "pyexiv2" in sys.modules:
        return sys.modules["pyexiv2"]
    import platform

    original = platform.architecture
    bits = f"{struct.calcsize('P') * 8}bit"

    def architecture(*args, **kwargs):
        if args or kwargs or threading.current_thread() is not caller:
            return original(*args, **kwargs)
        return bits, "ELF" if sys.platform.startswith("linux") else ""

    caller = threading.current_thread()
    with _PLATFORM_LOCK:
        platform.architecture = architecture
        try:
            import pyexiv2
        finally:
            platform.architecture = original
    return pyexiv2


def read_exif(path: str) -> tuple[dict[str, str], bytes | None, list[str]]:
    """Return (exif+xmp key/values, ICC profile or None, warnings) for ``path``.

    Never raises for damaged metadata: exiv2's complaint becomes a warning and the
    dictionaries come back empty.
    """
    pyexiv2 = pyexiv2_module()
    pyexiv2.set_log_level(4)  # exiv2 prints warnings itself otherwise
    warnings: list[str] = []
    try:
        with pyexiv2.Image(str(path)) as image:
            exif = dict(image.read_exif())
            try:
                exif.update({k: v for k, v in image.read_xmp().items() if isinstance(v, str)})
            except Exception:  # noqa: BLE001 - XMP is optional
                pass
            try:
                icc = image.read_icc() or None
            except Exception:  # noqa: BLE001
                icc = None
    except Exception as exc:  # noqa: BLE001 - exiv2 raises RuntimeError with many causes
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warnings.append(f"metadata unreadable ({first})")
        return {}, None, warnings
    exif = {k: v for k, v in exif.items() if isinstance(v, str)}
    return exif, icc, warnings
