"""Small seed files, made once per process: tiny pictures of every format we decode (with
EXIF and an ICC profile where the format holds them), plus small raws from tests/data."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
#: small raws (truncated or cropped): LibRaw's parsers and our refusals
RAWS = (
    "tests/data/broken/nikon_d70_truncated.nef",
    "tests/data/broken/sony_a7iii_truncated.arw",
    "tests/data/broken/canon350d_truncated.cr2",
    "tests/data/broken/canon350d_truncated.dng",
    "tests/data/broken/panasonic_lx3_truncated.rw2",
)


def _exif() -> bytes:
    from PIL import Image

    ex = Image.Exif()
    ex[0x010F] = "FuzzCam"  # Make
    ex[0x0110] = "Model \u202e1"  # Model, with a bidi override
    ex[0x0112] = 6  # Orientation
    ex[0x0131] = "redframe-fuzz"
    ex[0x0132] = "2021:05:01 10:20:30"
    return ex.tobytes()


@functools.cache
def pictures() -> dict[str, bytes]:
    """name (with the extension to give it) -> bytes."""
    from PIL import Image, ImageCms

    rng = np.random.default_rng(13)
    rgb = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    im = Image.fromarray(rgb)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out: dict[str, bytes] = {}

    def save(name: str, image, fmt: str, **kw) -> None:
        buf = io.BytesIO()
        image.save(buf, fmt, **kw)
        out[name] = buf.getvalue()

    save("a.jpg", im, "JPEG", quality=80, exif=_exif(), icc_profile=icc)
    save("p.jpg", im, "JPEG", quality=60, progressive=True)
    save("a.png", im, "PNG", exif=_exif())
    save("g.png", im.convert("L"), "PNG")
    save("i.png", im.convert("P"), "PNG", transparency=0)
    save("a.tif", im, "TIFF", exif=_exif())
    save("a.webp", im, "WEBP", quality=50)
    save("a.gif", im.convert("P"), "GIF")
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, (rgb.astype(np.uint16) * 257), photometric="rgb")
    out["b16.tif"] = buf.getvalue()
    try:
        import pillow_heif

        heif = pillow_heif.from_pillow(im)
        buf = io.BytesIO()
        heif.save(buf, quality=30)
        out["a.heic"] = buf.getvalue()
    except Exception:  # noqa: BLE001 - no HEIF encoder in this build
        pass
    return out


@functools.cache
def raws() -> dict[str, bytes]:
    return {Path(p).name: (ROOT / p).read_bytes() for p in RAWS if (ROOT / p).is_file()}
