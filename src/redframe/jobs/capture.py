"""What a browser said about a capture, filled into the picture's :class:`Metadata`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from redframe.io.metadata import Gps, Metadata, clean_text

__all__ = ["capture_metadata"]


def capture_metadata(meta: Metadata, info: Mapping[str, Any]) -> Metadata:
    """Fill what the file does not say from what the browser said (validated upstream).

    ``taken`` (ISO 8601 with offset) -> DateTimeOriginal (+ OffsetTimeOriginal); ``model``
    (the phone model, from client hints) -> Model; ``device`` (the camera's label, e.g.
    "Back Camera") -> LensModel, as phones name their camera modules there; ``location``
    (only when the user allowed it) -> GPS; ``exposure_time``/``iso`` when the browser
    exposes them; the track's ``zoom`` -> DigitalZoomRatio, ``focus_distance`` (m) ->
    SubjectDistance, ``exposure_compensation`` -> ExposureBiasValue, a manual
    ``color_temperature`` -> WhiteBalance manual, the framing chosen
    (``focal_length_35mm``) -> FocalLengthIn35mmFilm. Nothing is invented: a missing value
    stays missing.
    """
    exif = dict(meta.exif or {})
    taken = info.get("taken")
    if meta.datetime is None and isinstance(taken, str):
        try:
            when = dt.datetime.fromisoformat(taken)
        except ValueError:
            when = None
        if when is not None:
            meta.datetime = when.replace(tzinfo=None, microsecond=0)
            offset = when.utcoffset()
            if offset is not None:
                minutes = int(offset.total_seconds() // 60)
                sign = "+" if minutes >= 0 else "-"
                exif["Exif.Photo.OffsetTimeOriginal"] = (
                    f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    if meta.model is None and info.get("model"):
        meta.model = clean_text(info["model"], 64)
    if meta.lens is None and info.get("device"):
        meta.lens = clean_text(info["device"], 64)
    loc = info.get("location")
    if meta.gps is None and isinstance(loc, Mapping):
        meta.gps = Gps(float(loc["lat"]), float(loc["lon"]),
                       None if loc.get("alt") is None else float(loc["alt"]))
    if meta.exposure_time is None and info.get("exposure_time"):
        meta.exposure_time = float(info["exposure_time"])
    if meta.iso is None and info.get("iso"):
        meta.iso = float(info["iso"])
    # the camera track's settings, where the device exposes them (MediaStreamTrack)
    zoom = info.get("zoom")
    if zoom and "Exif.Photo.DigitalZoomRatio" not in exif:
        exif["Exif.Photo.DigitalZoomRatio"] = f"{round(float(zoom) * 100)}/100"
    distance = info.get("focus_distance")
    if distance is not None and "Exif.Photo.SubjectDistance" not in exif:
        exif["Exif.Photo.SubjectDistance"] = f"{round(float(distance) * 1000)}/1000"
    if info.get("color_temperature") and "Exif.Photo.WhiteBalance" not in exif:
        exif["Exif.Photo.WhiteBalance"] = "1"  # manual white balance
    ev = info.get("exposure_compensation")
    if ev is not None and "Exif.Photo.ExposureBiasValue" not in exif:
        exif["Exif.Photo.ExposureBiasValue"] = f"{round(float(ev) * 100)}/100"
    if meta.focal_length_35mm is None and info.get("focal_length_35mm"):
        meta.focal_length_35mm = float(info["focal_length_35mm"])
    meta.exif = exif
    return meta
