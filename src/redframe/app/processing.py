"""Developing one capture: decode (or night-merge a burst), look, frame, EXIF, thumbnail.

:func:`render_capture` takes a plain :class:`Job` and returns a plain dict, so it runs the
same in a worker thread or in a worker process. Reads the originals, writes only
``renders/ID.jpg`` and ``thumbs/ID.jpg`` (atomically); never touches the originals.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from redframe.io.metadata import Gps, Metadata, clean_text

__all__ = ["Job", "render_capture", "capture_metadata", "write_thumbnail", "THUMB_SIZE"]

#: long side of thumbnails, pixels
THUMB_SIZE = 480


@dataclass
class Job:
    id: str
    kind: str  # "photo" | "burst"
    originals: list[str]
    look: str
    frame: str | None
    render_path: str
    thumb_path: str
    capture: dict[str, Any] = field(default_factory=dict)
    quality: int = 92


def capture_metadata(meta: Metadata, info: dict[str, Any]) -> Metadata:
    """Fill what the file does not say from what the browser said (validated upstream).

    ``taken`` (ISO 8601 with offset) -> DateTimeOriginal (+ OffsetTimeOriginal); ``model``
    (the phone model, from client hints) -> Model; ``device`` (the camera's label, e.g.
    "Back Camera") -> LensModel, as phones name their camera modules there; ``location``
    (only when the user allowed it) -> GPS; ``exposure_time``/``iso`` when the browser
    exposes them. Nothing is invented: a missing value stays missing.
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
    if meta.gps is None and isinstance(loc, dict):
        meta.gps = Gps(float(loc["lat"]), float(loc["lon"]),
                       None if loc.get("alt") is None else float(loc["alt"]))
    if meta.exposure_time is None and info.get("exposure_time"):
        meta.exposure_time = float(info["exposure_time"])
    if meta.iso is None and info.get("iso"):
        meta.iso = float(info["iso"])
    meta.exif = exif
    return meta


def _atomic_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    from PIL import Image

    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        Image.fromarray(image).save(tmp, format="JPEG", quality=quality)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _shrink(image: np.ndarray, long_side: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1:
        return np.ascontiguousarray(image)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def write_thumbnail(source: str | os.PathLike | np.ndarray, path: str | os.PathLike,
                    long_side: int = THUMB_SIZE) -> Path:
    """A JPEG thumbnail of pixels (uint8 RGB) or of a picture file (EXIF orientation applied)."""
    path = Path(path)
    if isinstance(source, np.ndarray):
        image = source if source.dtype == np.uint8 else (source >> 8).astype(np.uint8)
    else:
        from PIL import Image, ImageOps

        with Image.open(source) as im:
            im.draft("RGB", (long_side, long_side))
            image = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    _atomic_jpeg(path, _shrink(image, long_side), 82)
    return path


def render_capture(job: Job) -> dict[str, Any]:
    """Develop ``job`` into its render and thumbnail; returns size, merge state and notes.

    Raises :class:`redframe.errors.RedframeError` (or anything else, for bugs): the caller
    records the failure and keeps the original.
    """
    from redframe.app.integrations import develop_look, merge_burst
    from redframe.io.decode import read_image
    from redframe.io.encode import write_image
    from redframe.isp.pipeline import DevelopParams, develop

    notes: list[str] = []
    merged = None
    paths = [Path(p) for p in job.originals]
    if job.kind == "burst":
        scene, merged, merge_notes = merge_burst(paths)
        notes += merge_notes
    else:
        scene = read_image(paths[0])
    scene.meta = capture_metadata(scene.meta, job.capture)
    # strip_rows=0: the whole frame at once, so a look's vignette is the frame's
    params = DevelopParams(look=develop_look(job.look), output_bits=8, strip_rows=0)
    developed = develop(scene, params)
    image = developed.image
    if job.frame:
        from redframe.frame import render_frame

        image = render_frame(image, developed.meta, job.frame)
    write_image(job.render_path, image, format="jpeg", meta=developed.meta,
                color_space=developed.space, quality=job.quality, overwrite=True)
    write_thumbnail(image, job.thumb_path)
    notes += [n for n in developed.notes if not n.startswith(("exposure", "white balance"))]
    return {"width": int(image.shape[1]), "height": int(image.shape[0]), "merged": merged,
            "notes": notes[:20]}
