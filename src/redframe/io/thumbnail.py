"""Small JPEG previews of pictures (the camera's gallery), written atomically."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import cv2
import numpy as np

__all__ = ["write_thumbnail", "THUMB_SIZE", "shrink"]

#: long side of thumbnails, pixels
THUMB_SIZE = 480


def shrink(image: np.ndarray, long_side: int) -> np.ndarray:
    """``image`` scaled down (area filter) so its long side is at most ``long_side``."""
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1:
        return np.ascontiguousarray(image)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _atomic_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    from PIL import Image  # (imported on use: a develop without thumbnails never needs it)

    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")  # unique per writer
    try:
        Image.fromarray(image).save(tmp, format="JPEG", quality=quality)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_thumbnail(source: str | os.PathLike | np.ndarray, path: str | os.PathLike,
                    long_side: int = THUMB_SIZE) -> Path:
    """A JPEG thumbnail of pixels (uint8/uint16 RGB, display-oriented) or of a picture file
    (EXIF orientation applied)."""
    path = Path(path)
    if isinstance(source, np.ndarray):
        image = source if source.dtype == np.uint8 else (source >> 8).astype(np.uint8)
    else:
        from PIL import Image, ImageOps

        with Image.open(source) as im:
            im.draft("RGB", (long_side, long_side))
            image = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    _atomic_jpeg(path, shrink(image, long_side), 82)
    return path
