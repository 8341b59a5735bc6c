"""Render every layout on a set of photos: the docs gallery, and a quick visual check.

    python -m redframe.frame.gallery OUT_DIR PHOTO [PHOTO...] [--width 560]

Each photo is decoded as ``frame_file`` does (encoded pixels, EXIF orientation applied
once), scaled to ``--width`` pixels wide (the *input* is scaled; the frame is rendered at
that final size), and framed with every layout; one PNG per layout and photo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from redframe.frame.files import _decode
from redframe.frame.layout import list_layouts
from redframe.frame.render import render_frame
from redframe.io.decode import read_metadata, sniff
from redframe.io.encode import apply_orientation

__all__ = ["load_photo", "make_gallery"]


def load_photo(path: str | Path, width: int | None = None):
    """(display-oriented uint8/uint16 pixels, Metadata) of an image file."""
    path = str(path)
    meta = read_metadata(path)
    with open(path, "rb") as fh:
        kind = sniff(fh.read(64)) or "jpeg"
    pixels, _ = _decode(path, kind, meta)
    photo = np.ascontiguousarray(apply_orientation(pixels, 1 if kind == "heic" else
                                                   meta.orientation or 1))
    if width and photo.shape[1] > width:
        height = round(photo.shape[0] * width / photo.shape[1])
        photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    return photo, meta


def make_gallery(out_dir: str | Path, photos: list[str | Path], *, width: int = 560,
                 layouts: list[str] | None = None, **options) -> list[Path]:
    """Frame each photo with each layout into ``out_dir``; returns the PNG paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for photo_path in photos:
        photo, meta = load_photo(photo_path, width)
        for layout in layouts or list_layouts():
            canvas = render_frame(photo, meta, layout, **options)
            target = out / f"{layout}_{Path(photo_path).stem}.png"
            Image.fromarray(canvas).save(target, optimize=True)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render every frame layout on photos.")
    parser.add_argument("out_dir")
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--width", type=int, default=560)
    parser.add_argument("--layout", action="append")
    args = parser.parse_args(argv)
    for path in make_gallery(args.out_dir, args.photos, width=args.width, layouts=args.layout):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
