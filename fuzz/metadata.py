"""Target ``metadata``: EXIF/XMP text as exiv2 hands it to us.

:func:`redframe.io.metadata.clean_text` on the raw bytes and on their text, and
:func:`redframe.io.exif.metadata_from_exif` on a dictionary of exiv2 keys (every key it reads)
to fuzzed strings, then what consumers read from the result (``to_dict``, ``shutter_text``).
Input structure via :class:`atheris.FuzzedDataProvider`-like splitting: records separated by
``\\x00``: ``key-index-byte value``."""

from __future__ import annotations

import json
import unicodedata

from fuzz.harness import Target
from redframe.io.exif import metadata_from_exif, parse_rational
from redframe.io.metadata import Metadata, clean_text

INSTRUMENT = ("redframe", "tomllib")  # top-level packages (atheris matches those)
BIDI = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
KEYS = (
    "Exif.Image.Make", "Exif.Image.Model", "Exif.Image.UniqueCameraModel", "Exif.Photo.LensMake",
    "Exif.Photo.LensModel", "Exif.Canon.LensModel", "Exif.Pentax.LensType", "Xmp.aux.Lens",
    "Exif.Image.Software", "Exif.Image.Artist", "Exif.Image.Copyright",
    "Exif.Photo.FocalLength", "Exif.Image.FocalLength", "Exif.Photo.FocalLengthIn35mmFilm",
    "Exif.Photo.FNumber", "Exif.Photo.ApertureValue", "Exif.Photo.ExposureTime",
    "Exif.Photo.ISOSpeedRatings", "Exif.Photo.PhotographicSensitivity",
    "Exif.Photo.ExposureBiasValue", "Exif.Photo.DateTimeOriginal", "Exif.Image.DateTime",
    "Exif.Image.Orientation", "Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef",
    "Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef", "Exif.GPSInfo.GPSAltitude",
    "Exif.GPSInfo.GPSAltitudeRef", "Exif.Photo.PixelXDimension", "Exif.Photo.PixelYDimension",
    "Exif.Photo.FocalPlaneXResolution", "Exif.Photo.FocalPlaneYResolution",
    "Exif.Photo.FocalPlaneResolutionUnit",
)


def exif_dict(data: bytes) -> dict[str, str]:
    exif = {}
    for record in data.split(b"\x00"):
        if record:
            key = KEYS[record[0] % len(KEYS)]
            exif[key] = record[1:].decode("utf-8", errors="surrogateescape")
    return exif


def one(data: bytes) -> None:
    clean_text(data)
    clean_text(data.decode("utf-8", errors="surrogateescape"), limit=1 + data[0] if data else 8)
    exif = exif_dict(data)
    for value in exif.values():
        parse_rational(value)
    meta = metadata_from_exif(exif, Metadata(path="fuzz.jpg"))
    json.dumps(meta.to_dict())
    _ = meta.shutter_text
    for name in ("make", "model", "lens", "lens_make", "software", "artist", "copyright"):
        value = getattr(meta, name)
        assert value is None or (len(value) <= 256 and not any(
            unicodedata.category(ch) == "Cc" or ch in BIDI for ch in value)), (name, value)


def seeds() -> list[bytes]:
    def rec(key: str, value: str) -> bytes:
        return bytes([KEYS.index(key)]) + value.encode()

    samples = [
        [("Exif.Image.Make", "Canon"), ("Exif.Image.Model", "EOS R6\u202e"),
         ("Exif.Photo.FNumber", "28/10"), ("Exif.Photo.ExposureTime", "1/125"),
         ("Exif.Photo.ISOSpeedRatings", "400"), ("Exif.Photo.FocalLength", "500/10"),
         ("Exif.Photo.DateTimeOriginal", "2021:05:01 10:20:30"), ("Exif.Image.Orientation", "6")],
        [("Exif.GPSInfo.GPSLatitude", "52/1 30/1 1234/100"), ("Exif.GPSInfo.GPSLatitudeRef", "N"),
         ("Exif.GPSInfo.GPSLongitude", "13/1 24/1 0/1"), ("Exif.GPSInfo.GPSLongitudeRef", "W"),
         ("Exif.GPSInfo.GPSAltitude", "34/1"), ("Exif.GPSInfo.GPSAltitudeRef", "1")],
        [("Exif.Photo.FocalLength", "4.2"), ("Exif.Photo.FocalPlaneXResolution", "4000/1"),
         ("Exif.Photo.FocalPlaneYResolution", "4000/1"),
         ("Exif.Photo.FocalPlaneResolutionUnit", "2"), ("Exif.Photo.PixelXDimension", "4000"),
         ("Exif.Photo.PixelYDimension", "3000"), ("Exif.Photo.ApertureValue", "3/1")],
        [("Exif.Image.Artist", "a\tb\r\nc\x7f\u200dd"), ("Exif.Photo.LensModel", "12345"),
         ("Exif.Image.Copyright", "x" * 300)],
    ]
    return [b"\x00".join(rec(k, v) for k, v in s) for s in samples]


TARGET = Target("metadata", one, seeds, tokens=(
    b"/", b"/0", b"0/0", b"1/3", b"1e308", b"1e-400", b"1_000", b" ", b":", b"2021:05:01 ",
    b"10:20:30", b"S", b"W", b"9" * 400, b"1/1 1/1 1/1", b"\xe2\x80\x8d", b"\xf0\x9f\x98\x80",
), max_len=16 * 1024)
