"""`frame_file`: frame an image file (JPEG, HEIC, PNG, TIFF, WebP) and write the result.

Encoded pixels are framed as they are: no trip through linear light, so an 8-bit JPEG
comes out with its photo pixels unchanged apart from the final encode. Steps:

1. metadata (EXIF, ICC profile) with :func:`redframe.io.decode.read_metadata`;
2. pixels decoded directly (Pillow / pillow-heif; 16-bit PNG and TIFF keep 16 bits;
   CMYK is converted to RGB through its ICC profile when it has one, and the output is
   then sRGB);
3. the EXIF orientation applied **once** (HEIC decoders already apply the container's
   rotation, so their EXIF orientation is ignored, as in :mod:`redframe.io.decode`);
4. :func:`~redframe.frame.render.render_frame`;
5. :func:`redframe.io.encode.write_image` with the source's EXIF (orientation reset to 1)
   and, where the encoder can carry it, the source's colour space.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from redframe.errors import InputError, OutputError
from redframe.frame.layout import load_layout
from redframe.frame.render import frame_plan, prepare_options
from redframe.io.metadata import Metadata

__all__ = ["frame_file", "FRAMEABLE"]

log = logging.getLogger("redframe.frame")

#: Containers frame_file reads, and the output format each defaults to.
FRAMEABLE = {"jpeg": "jpeg", "png": "png", "tiff": "tiff", "heic": "heic", "webp": "jpeg"}


def _source_space(icc: bytes | None) -> tuple[str | None, str | None]:
    """(write_image colour space or None, note) for an RGB ICC profile."""
    if not icc:
        return "srgb", None
    if icc[16:20] != b"RGB ":
        return "srgb", "the source ICC profile is not an RGB profile; wrote sRGB"
    from redframe.io.decode import encoding_space  # the same reading decode uses

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

    from redframe.io.decode import MAX_IMAGE_PIXELS, picture_pixels

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


def frame_file(src_path: str | os.PathLike, out_dir: str | os.PathLike, *,
               layout: str = "classic", format: str | None = None, quality: int = 92,
               overwrite: bool = False, strip_gps: bool = False,
               options: Mapping[str, Any] | None = None,
               notes: list[str] | None = None) -> Path:
    """Frame one image file into ``out_dir``; returns the written path.

    The output is ``out_dir/<stem>.<ext>`` in ``format`` (default: the input's kind; WebP
    becomes JPEG). ``options`` are :func:`render_frame`'s (checked before decoding, so a bad
    font or logo fails fast). Notes (no metadata, text shortened, colour space changed) are
    appended to ``notes`` when given, and logged on ``redframe.frame``.

    Raises InputError (unreadable, raw, unsupported), UsageError (bad layout/option/format),
    OutputError (exists without ``overwrite``, cannot write).
    """
    from redframe.io.decode import check_readable, read_metadata, sniff
    from redframe.io.encode import apply_orientation, output_path, write_image

    path = str(src_path)
    prepared = prepare_options(options)
    load_layout(layout)  # fail fast on an unknown layout
    head = check_readable(path)
    kind = sniff(head)
    meta = read_metadata(path)
    if kind == "tiff" and any(k.endswith("DNGVersion") for k in meta.exif):
        kind = "dng"
    if kind not in FRAMEABLE:
        what = (kind or "unknown").upper()
        raise InputError(f"{what} files cannot be framed directly; for raws use "
                         f"`redframe develop --frame {layout}`", path=path)
    fmt = format or FRAMEABLE[kind]
    target = output_path(out_dir, path, fmt)
    if not overwrite and target.exists():
        raise OutputError("exists; use --overwrite", path=str(target))

    pixels, converted = _decode(path, kind, meta)
    orientation = 1 if kind == "heic" else (meta.orientation or 1)
    photo = np.ascontiguousarray(apply_orientation(pixels, orientation))
    plan = frame_plan(photo, meta, layout, prepared=prepared)
    from redframe.frame.draw import draw_frame

    canvas = draw_frame(plan, photo)

    space, note = ("srgb", None) if converted else _source_space(meta.icc_profile)
    collected = list(plan.notes)
    kwargs: dict[str, Any] = {}
    if space is None:  # a profile we do not make ourselves: keep the source's bytes
        kwargs["icc_profile"] = meta.icc_profile
        space = "srgb"
    out_meta = dataclasses.replace(meta, orientation=1, width=canvas.shape[1],
                                   height=canvas.shape[0])
    written = write_image(target, canvas, format=fmt, meta=out_meta, color_space=space,
                          quality=quality, overwrite=overwrite, strip_gps=strip_gps, **kwargs)
    for text in collected:
        level = logging.INFO if text.startswith(("shortened", "overlay")) else logging.WARNING
        log.log(level, "%s: %s", path, text)
    if notes is not None:
        notes.extend(collected)
    return written
