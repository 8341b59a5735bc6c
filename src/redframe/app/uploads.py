"""What an upload may carry: its pictures (sniffed, limited, fsynced) and what the browser
said about the capture (checked field by field). Used by :mod:`redframe.app.routes.captures`.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from redframe.app.store import EXTENSIONS, new_id
from redframe.io.decode import sniff
from redframe.io.metadata import clean_text

__all__ = ["camera_label", "clean_capture_info", "receive", "UploadRefused"]


class UploadRefused(Exception):
    """An upload that cannot be stored: an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _number(value: Any, lo: float, hi: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and lo <= value <= hi else None


def camera_label(text: str) -> str | None:
    """A camera's label as a person would write it: Android's "camera2 0, facing back" ->
    "Back camera", USB ids dropped; labels that are paths (virtual cameras) are dropped."""
    label = clean_text(text, 64)
    if not label or "/" in label or "\\" in label:
        return None
    m = re.fullmatch(r"camera2? \d+, facing (back|front)", label, re.IGNORECASE)
    if m:
        return f"{m.group(1).capitalize()} camera"
    label = re.sub(r"\s*\([0-9a-f]{4}:[0-9a-f]{4}\)", "", label, flags=re.IGNORECASE).strip()
    return label or None


#: numeric capture fields: (name, lowest, highest, integer)
_NUMBERS = (("exposure_time", 1e-6, 60.0, False), ("iso", 1, 409600, False),
            ("width", 1, 100000, True), ("height", 1, 100000, True),
            # the track's settings (MediaStreamTrack.getSettings), where the device exposes them
            ("zoom", 1.0, 100.0, False),  # digital zoom ratio of the track
            ("focus_distance", 0.0, 10000.0, False),  # metres
            ("color_temperature", 1000, 20000, False),  # kelvin, manual white balance
            ("exposure_compensation", -10.0, 10.0, False),  # EV
            ("focal_length_35mm", 8, 1200, True),  # the framing chosen (street mode, zoom stops)
            # what the uploaded picture covers, 35 mm equivalent: a lens character crops
            # from it to its own focal length (redframe.looks.characters)
            ("native_focal_mm", 8, 1200, False))


def clean_capture_info(raw: str | None, limit: int) -> dict[str, Any]:
    """What the browser said about a capture, checked field by field (bad fields dropped)."""
    if not raw:
        return {}
    if len(raw) > limit:
        raise ValueError(f"meta is larger than {limit} bytes")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"meta is not JSON ({exc.msg})") from None
    except RecursionError:
        raise ValueError("meta is not JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError("meta must be a JSON object")
    out: dict[str, Any] = {}
    taken = data.get("taken")
    if isinstance(taken, str) and len(taken) <= 40:
        import datetime as dt

        try:
            dt.datetime.fromisoformat(taken)
            out["taken"] = taken
        except ValueError:
            pass
    if isinstance(data.get("device"), str) and camera_label(data["device"]):
        out["device"] = camera_label(data["device"])
    if isinstance(data.get("model"), str) and clean_text(data["model"], 64):
        out["model"] = clean_text(data["model"], 64)
    loc = data.get("location")
    if isinstance(loc, dict):
        lat, lon = _number(loc.get("lat"), -90, 90), _number(loc.get("lon"), -180, 180)
        if lat is not None and lon is not None:
            out["location"] = {"lat": lat, "lon": lon,
                               "alt": _number(loc.get("alt"), -12000, 20000)}
    for key, lo, hi, integer in _NUMBERS:
        v = _number(data.get(key), lo, hi)
        if v is not None:
            out[key] = int(round(v)) if integer else v
    source = data.get("source")
    if source in ("photo", "video"):  # takePhoto at the sensor's resolution, or a video frame
        out["source"] = source
    if isinstance(data.get("ev_bracket"), list) and len(data["ev_bracket"]) <= 16:
        evs = [_number(v, -10.0, 10.0) for v in data["ev_bracket"]]
        if all(v is not None for v in evs):
            out["ev_bracket"] = evs
    return out


def receive(uploads: list, tmp: Path, limits) -> tuple[list[Path], list[str], list[tuple]]:
    """Copy uploads to fsynced files in tmp, checking size, content and pixel count;
    raises :class:`UploadRefused` (nothing left behind)."""
    from PIL import Image

    paths, formats, sizes = [], [], []
    try:
        for up in uploads:
            path = tmp / f"{new_id()}.part"
            paths.append(path)
            size = 0
            head = b""
            with open(path, "wb") as out:
                up.file.seek(0)
                while chunk := up.file.read(1 << 20):
                    size += len(chunk)
                    if size > limits.max_file_bytes:
                        raise UploadRefused(413, f"a picture is larger than "
                                            f"{limits.max_file_bytes >> 20} MiB")
                    if len(head) < 64:
                        head += chunk[: 64 - len(head)]
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise UploadRefused(422, "empty picture")
            kind = sniff(head)
            if kind not in EXTENSIONS:
                found = kind.upper() if kind else "not a picture"
                raise UploadRefused(415, f"send JPEG, PNG or WebP (this is {found})")
            try:
                with Image.open(path) as im:
                    w, h = im.size
            except Image.DecompressionBombError:
                raise UploadRefused(413, "too many pixels") from None
            except Exception:  # noqa: BLE001 - unreadable header
                raise UploadRefused(422, f"cannot read this {kind.upper()}") from None
            if w * h > limits.max_pixels:
                raise UploadRefused(413, f"{w}x{h} is more than "
                                    f"{limits.max_pixels / 1e6:.0f} MP")
            if sum(a * b for a, b in sizes) + w * h > limits.max_request_pixels:
                raise UploadRefused(413, f"the burst is more than "
                                    f"{limits.max_request_pixels / 1e6:.0f} MP in all")
            formats.append(kind)
            sizes.append((w, h))
    except BaseException:
        for p in paths:
            p.unlink(missing_ok=True)
        raise
    return paths, formats, sizes
