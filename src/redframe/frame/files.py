"""`read_for_frame`: decode a finished picture (JPEG, HEIC, PNG, TIFF, WebP) for framing.

Encoded pixels are framed as they are: no trip through linear light, so an 8-bit JPEG
comes out with its photo pixels unchanged apart from the final encode. The job runner
(:func:`redframe.jobs.execute`, what ``redframe frame`` runs) does:

1. metadata (EXIF, ICC profile) with :func:`redframe.io.decode.read_metadata`;
2. pixels decoded directly (Pillow / pillow-heif; 16-bit PNG and TIFF keep 16 bits;
   CMYK is converted to RGB through its ICC profile when it has one, and the output is
   then sRGB);
3. the EXIF orientation applied **once** (HEIC decoders already apply the container's
   rotation, so their EXIF orientation is ignored, as in :mod:`redframe.io.decode`);
4. (the runner) :func:`~redframe.frame.render.render_frame`;
5. (the runner) :func:`redframe.io.encode.write_image` with the source's EXIF
   (orientation reset to 1) and, where the encoder can carry it, the source's colour space.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from redframe.errors import InputError
from redframe.io.decode import (
    MAX_IMAGE_PIXELS,
    check_readable,
    encoding_space,
    picture_pixels,
    read_metadata,
    sniff,
)
from redframe.io.encode import apply_orientation
from redframe.io.metadata import Metadata

__all__ = ["read_for_frame", "FrameSource", "FRAMEABLE"]

log = logging.getLogger("redframe.frame")

#: Containers frame_file reads, and the output format each defaults to.
FRAMEABLE = {"jpeg": "jpeg", "png": "png", "tiff": "tiff", "heic": "heic", "webp": "jpeg"}


def _source_space(icc: bytes | None) -> tuple[str | None, str | None]:
    """(write_image colour space or None, note) for an RGB ICC profile."""
    if not icc:
        return "srgb", None
    if icc[16:20] != b"RGB ":
        return "srgb", "the source ICC profile is not an RGB profile; wrote sRGB"
    space, _, note = encoding_space(icc)
    if note:
        return None, note
    return space, None


def _pillow_rgb(im, icc: bytes | None) -> tuple[np.ndarray, bool]:
    """(RGB pixels uint8, converted-to-sRGB?) from a Pillow image of any mode."""
    from PIL import ImageCms

    if im.mode == "CMYK":
        if icc:
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                rgb = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                                outputMode="RGB")
                return np.asarray(rgb), True
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass
        return np.asarray(im.convert("RGB")), True
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA").convert("RGB")
    elif im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im), False


def _cv2_jpeg(path: str) -> np.ndarray | None:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    rgb = getattr(cv2, "IMREAD_COLOR_RGB", None)  # OpenCV >= 4.10
    flags = (rgb if rgb is not None else cv2.IMREAD_COLOR) | cv2.IMREAD_IGNORE_ORIENTATION
    array = cv2.imdecode(data, flags)  # orientation ignored: we apply it, once
    if array is None or array.ndim != 3:
        return None
    return array if rgb is not None else np.ascontiguousarray(array[..., ::-1])


def _decode(path: str, kind: str, meta: Metadata) -> tuple[np.ndarray, bool]:
    """Display-encoded pixels (H, W, 3) uint8/uint16 as stored (not yet oriented)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # checked below, with a clear message
    if kind == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise InputError(f"image claims {w}x{h} pixels; refusing more than "
                                 f"{MAX_IMAGE_PIXELS:,}", path=path)
            if kind in ("png", "tiff") and im.mode != "CMYK":
                array = picture_pixels(path, kind, im)  # keeps 16 bits; grey expanded
                converted = False
            elif kind == "jpeg" and im.mode in ("RGB", "L"):
                # libjpeg-turbo through OpenCV, straight to an RGB array: the same pixels
                # as Pillow's decode without its extra copy (a third faster on 12 MP)
                array = _cv2_jpeg(path)
                converted = False
                if array is None:
                    im.load()
                    array, converted = _pillow_rgb(im, meta.icc_profile)
            else:
                im.load()
                array, converted = _pillow_rgb(im, meta.icc_profile)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow, pillow-heif, tifffile raise many types
        text = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot decode {kind.upper()} ({text})", path=path) from None
    if array.dtype not in (np.uint8, np.uint16):  # float TIFF: to 16 bits, clipped
        array = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        array = np.rint(np.clip(array, 0, 1) * 65535).astype(np.uint16)
    return np.ascontiguousarray(array), converted


@dataclass
class FrameSource:
    """A finished picture as :func:`read_for_frame` decoded it, ready to be framed."""

    pixels: np.ndarray  # (H, W, 3) uint8/uint16 display-encoded, display-oriented
    meta: Metadata
    kind: str  # the container: jpeg, png, tiff, heic, webp
    default_format: str  # the output format a framed copy gets by default
    space: str  # the write_image colour space of the pixels
    icc_profile: bytes | None = None  # the source's own profile, kept when not ours
    notes: list[str] = field(default_factory=list)


def read_for_frame(src_path: str | os.PathLike) -> FrameSource:
    """Decode a finished picture for framing: metadata, encoded pixels, orientation once.

    Raises InputError (unreadable, raw, unsupported kind).
    """
    path = str(src_path)
    head = check_readable(path)
    kind = sniff(head)
    meta = read_metadata(path)
    if kind == "tiff" and any(k.endswith("DNGVersion") for k in meta.exif):
        kind = "dng"
    if kind not in FRAMEABLE:
        what = (kind or "unknown").upper()
        raise InputError(f"{what} files cannot be framed directly; for raws use "
                         f"`redframe develop --frame LAYOUT`", path=path)
    pixels, converted = _decode(path, kind, meta)
    orientation = 1 if kind == "heic" else (meta.orientation or 1)
    photo = np.ascontiguousarray(apply_orientation(pixels, orientation))
    space, note = ("srgb", None) if converted else _source_space(meta.icc_profile)
    icc = None
    if space is None:  # a profile we do not make ourselves: keep the source's bytes
        icc, space = meta.icc_profile, "srgb"
    meta = dataclasses.replace(meta, orientation=1)
    return FrameSource(photo, meta, kind, FRAMEABLE[kind], space, icc,
                       [note] if note else [])
