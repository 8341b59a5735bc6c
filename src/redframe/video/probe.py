"""Opening a clip: checks, stream facts and the metadata a frame strip is written from.

:func:`open_clip` refuses, with one line naming the file (:class:`~redframe.errors.InputError`),
what is not a video we can develop: a missing, empty or unreadable file, bytes FFmpeg
cannot demux (a truncated MP4 whose index is gone, random bytes), a still image under a
video name (FFmpeg's image demuxers), a container without a video stream (audio only), a
codec this FFmpeg build cannot decode, and frames beyond :data:`MAX_SIDE` pixels a side.

The clip's metadata is read from the container tags QuickTime/MP4 writers use (ISO/IEC
14496-12 ``mvhd``/``udta``, Apple's ``com.apple.quicktime.*`` keys, Android's
``com.android.*``): device, lens and 35 mm focal length where known, creation date
(local time when the file says it), location (ISO 6709 text), frame rate and size. It
feeds :class:`redframe.io.metadata.Metadata`, which the frame layouts read.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import stat
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from redframe.errors import InputError, UsageError
from redframe.io.metadata import Gps, Metadata, clean_text

__all__ = ["Clip", "open_clip", "require_av", "MAX_SIDE", "VIDEO_EXTENSIONS",
           "clip_metadata", "parse_iso6709"]

#: Largest frame side accepted (8K DCI is 8192).
MAX_SIDE = 8192
#: File name endings ``redframe video`` collects from folders.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mts", ".m2ts", ".3gp",
                    ".mxf")
#: FFmpeg demuxers that read still images, not clips.
_IMAGE_DEMUXERS = re.compile(r"(_pipe|^image2|^apng|^gif|^webp|^jpegxl|^ico)")


def require_av():
    """PyAV, the [video] extra, imported on first use (importing it costs ~0.3 s, which
    every other command would pay at start-up); a UsageError when it is not installed."""
    try:
        import av
        import av.error
    except ImportError:
        raise UsageError("video needs PyAV: pip install 'redframe[video]'") from None
    return av


@dataclass
class Clip:
    """An opened clip: the container, its video stream and what it says about itself."""

    path: str
    container: object  # av.container.InputContainer
    video: object  # av.video.stream.VideoStream
    audio: list = field(default_factory=list)
    width: int = 0
    height: int = 0
    pix_fmt: str = ""
    bits: int = 8
    frames: int = 0  # from the container's index (0: unknown)
    fps: Fraction | None = None
    duration: float | None = None  # seconds
    rotation: int = 0  # counter-clockwise degrees the display turns the stored frames
    metadata: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        self.container.close()


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc)
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    text = re.sub(r":\s*'[^']*'$", "", text)
    return text.strip() or type(exc).__name__


def open_clip(path: str | os.PathLike) -> Clip:
    """Open ``path`` and check it is a clip we can develop (see the module docstring)."""
    av = require_av()
    src = os.fspath(path)
    try:
        st = os.stat(src)
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=src) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file", path=src)
    if st.st_size == 0:
        raise InputError("empty file (0 bytes)", path=src)
    try:
        container = av.open(src, "r", metadata_errors="replace")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise InputError(f"not a video FFmpeg can read ({_reason(exc)}; truncated or not a "
                         "video file?)", path=src) from None
    try:
        return _check(src, container)
    except BaseException:
        container.close()
        raise


def _check(src: str, container) -> Clip:
    av = require_av()
    fmt = container.format.name or ""
    if _IMAGE_DEMUXERS.search(fmt):
        raise InputError(f"a still image ({fmt.replace('_pipe', '')}), not a video", path=src)
    videos = [s for s in container.streams.video
              if not (s.disposition & av.stream.Disposition.attached_pic)]
    audio = list(container.streams.audio)
    if not videos:
        what = "audio only" if audio else "no audio either"
        raise InputError(f"no video stream ({what})", path=src)
    video = max(videos, key=lambda s: (s.codec_context.width or 0) * (s.codec_context.height or 0))
    ctx = video.codec_context
    name = video.codec_context.name if video.codec_context else "unknown"
    if ctx is None or not ctx.width or not ctx.height or ctx.format is None:
        raise InputError(f"video stream of codec {name!r} that this FFmpeg cannot decode",
                         path=src)
    if ctx.width > MAX_SIDE or ctx.height > MAX_SIDE:
        raise InputError(f"frames of {ctx.width}x{ctx.height}; at most {MAX_SIDE} pixels a "
                         "side are developed", path=src)
    fmt_name = ctx.format.name
    bits = max((c.bits for c in ctx.format.components), default=8)
    fps = video.average_rate or video.guessed_rate or video.base_rate
    fps = Fraction(fps) if fps else None
    duration = None
    if video.duration is not None and video.time_base:
        duration = float(video.duration * video.time_base)
    elif container.duration:
        duration = container.duration / 1_000_000
    meta = {str(k): str(v) for k, v in container.metadata.items()}
    for k, v in video.metadata.items():
        meta.setdefault(str(k), str(v))
    return Clip(src, container, video, audio, ctx.width, ctx.height, fmt_name, bits,
                int(video.frames or 0), fps, duration, 0, meta)


# --- metadata -----------------------------------------------------------------------------

_KEYS = {
    "make": ("com.apple.quicktime.make", "com.android.manufacturer", "make"),
    "model": ("com.apple.quicktime.model", "com.android.model", "model"),
    "lens": ("com.apple.quicktime.camera.lens_model", "lens_model", "lens"),
    "focal35": ("com.apple.quicktime.camera.focal_length.35mm_equivalent",),
    "date": ("com.apple.quicktime.creationdate", "creation_time", "date"),
    "location": ("com.apple.quicktime.location.ISO6709", "location"),
    "software": ("com.apple.quicktime.software", "software"),
}

_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS.*)?/?$")


def parse_iso6709(text: str | None) -> Gps | None:
    """``+52.4597+013.3217+035.000/`` (ISO 6709 decimal degrees, as phones write it) -> Gps."""
    if not text:
        return None
    m = _ISO6709.match(text.strip())
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    alt = float(m.group(3)) if m.group(3) else None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (alt is not None
                                                         and not math.isfinite(alt)):
        return None
    return Gps(lat, lon, alt)


def _first(meta: dict[str, str], key: str) -> str | None:
    for k in _KEYS[key]:
        for name, value in meta.items():
            if name.lower() == k.lower() and value and value.strip():
                return value.strip()
    return None


def _date(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        when = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.year < 1971:  # an unset QuickTime date (1904 / 1970 epochs)
        return None
    if when.tzinfo is not None and not re.search(r"[+-]\d\d:?\d\d$", text.strip()):
        when = when.astimezone()  # UTC (creation_time): shown in local time
    return when.replace(tzinfo=None)


def _float(text: str | None) -> float | None:
    try:
        v = float(text) if text is not None else None
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) else None


def clip_metadata(clip: Clip) -> Metadata:
    """The clip's :class:`Metadata` (device, lens, date, location, stored size)."""
    m = clip.metadata
    return Metadata(
        path=clip.path, format="video", width=clip.width, height=clip.height,
        make=clean_text(_first(m, "make")), model=clean_text(_first(m, "model")),
        lens=clean_text(_first(m, "lens")), focal_length_35mm=_float(_first(m, "focal35")),
        datetime=_date(_first(m, "date")), gps=parse_iso6709(_first(m, "location")),
        software=clean_text(_first(m, "software")),
    )


def fps_text(fps: Fraction | None) -> str | None:
    """``30``, ``29.97``, ``59.94``: the rate as people write it."""
    if not fps or fps <= 0:
        return None
    v = float(fps)
    return f"{v:.0f}" if abs(v - round(v)) < 0.005 else f"{v:.2f}".rstrip("0").rstrip(".")


def source_name(path: str) -> str:
    return Path(path).name
